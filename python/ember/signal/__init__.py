"""``ember.signal``, as ``torch.signal``: window functions (``ember.signal.windows``)."""

from . import windows  # noqa: F401
