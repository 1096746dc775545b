"""``torch.backends.cuda``: matmul precision flags and the scaled-dot-product-attention kernel
switches (``flash`` is Ember's fused kernel, ``math`` the unfused composition)."""

import contextlib

from . import _SDP


class _Matmul:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _Matmul()


def is_built():
    return False


def _sdp_flag(name):
    """The getter and setter of one kernel switch."""
    def enabled():
        return _SDP[name]

    def enable(on):
        _SDP[name] = bool(on)
    return enabled, enable


math_sdp_enabled, enable_math_sdp = _sdp_flag("math")
flash_sdp_enabled, enable_flash_sdp = _sdp_flag("flash")
mem_efficient_sdp_enabled, enable_mem_efficient_sdp = _sdp_flag("mem_efficient")
cudnn_sdp_enabled, enable_cudnn_sdp = _sdp_flag("cudnn")


def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """The deprecated spelling of ``torch.nn.attention.sdpa_kernel``."""

    @contextlib.contextmanager
    def scope():
        previous = dict(_SDP)
        _SDP.update(flash=bool(enable_flash), math=bool(enable_math), mem_efficient=bool(enable_mem_efficient),
                    cudnn=bool(enable_cudnn))
        try:
            yield {}
        finally:
            _SDP.update(previous)
    return scope()
