"""``torch.nn.attention``: choosing the kernel behind ``F.scaled_dot_product_attention``.
Ember has two, as torch's CPU build: the fused (flash-style, blocked online softmax) kernel,
``SDPBackend.FLASH_ATTENTION``, and the unfused composition, ``SDPBackend.MATH``. The
memory-efficient and cuDNN kernels are CUDA-only; enabling only those leaves no kernel, which
is torch's error."""

import contextlib
import enum

from ... import backends as _backends

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_FLAGS = {
    SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash", SDPBackend.EFFICIENT_ATTENTION: "mem_efficient",
    SDPBackend.CUDNN_ATTENTION: "cudnn", SDPBackend.OVERRIDEABLE: "overrideable",
}


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Only the given backends may run inside the block; the previous choice comes back after."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
                             f"{type(backends).__name__}")
    backends = [backends] if isinstance(backends, SDPBackend) else list(dict.fromkeys(backends))
    previous = dict(_backends._SDP)
    try:
        for backend, flag in _FLAGS.items():
            _backends._SDP[flag] = backend in backends
        yield {}
    finally:
        _backends._SDP.update(previous)
