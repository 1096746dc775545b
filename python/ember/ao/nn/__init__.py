"""``ember.ao.nn``: quantised modules."""

from . import quantized  # noqa: F401
