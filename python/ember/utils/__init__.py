"""``ember.utils``, as ``torch.utils``: ``data`` (datasets, samplers, ``DataLoader``) and
``dlpack``, ``checkpoint``."""

from . import checkpoint, data, dlpack  # noqa: F401
