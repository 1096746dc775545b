"""``ember.ao.nn.quantized``: modules with low-precision weights (``dynamic``)."""

from . import dynamic  # noqa: F401
