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


def math_sdp_enabled():
    return _SDP["math"]


def enable_math_sdp(enabled):
    _SDP["math"] = bool(enabled)


def flash_sdp_enabled():
    return _SDP["flash"]


def enable_flash_sdp(enabled):
    _SDP["flash"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _SDP["mem_efficient"]


def enable_mem_efficient_sdp(enabled):
    _SDP["mem_efficient"] = bool(enabled)


def cudnn_sdp_enabled():
    return _SDP["cudnn"]


def enable_cudnn_sdp(enabled):
    _SDP["cudnn"] = bool(enabled)


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
