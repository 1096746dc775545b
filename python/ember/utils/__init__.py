"""``ember.utils``, as ``torch.utils``: ``data`` (datasets, samplers, ``DataLoader``) and
``dlpack``."""

from . import data, dlpack  # noqa: F401
