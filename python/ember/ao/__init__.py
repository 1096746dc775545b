"""``ember.ao``, as ``torch.ao``: post-training dynamic quantisation (``ao.quantization.
quantize_dynamic``) and its quantised modules (``ao.nn.quantized.dynamic``)."""

from . import nn, quantization  # noqa: F401
