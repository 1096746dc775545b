"""`ember.utils`, as `torch.utils`."""

from . import dlpack  # noqa: F401
