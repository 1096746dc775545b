"""``ember.backends``: the flags scripts read and set (``torch.backends.cudnn.benchmark = True``,
``torch.backends.mps.is_available()``, ...), answering as a CPU-only torch build."""


class _Unavailable:
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def is_built():
        return False


mps = _Unavailable()


class cudnn:  # noqa: N801  (PyTorch's name)
    enabled = True
    benchmark = False
    deterministic = False
    allow_tf32 = True

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def version():
        return None


class _Matmul:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


# Which scaled_dot_product_attention kernels may run (``torch.backends.cuda.*_sdp``, also set by
# ``torch.nn.attention.sdpa_kernel``): Ember's fused kernel answers to ``flash``, the unfused
# composition to ``math``; the others exist only on CUDA.
_SDP = {"math": True, "flash": True, "mem_efficient": True, "cudnn": True, "overrideable": True}


def _sdp_flag(name):
    return staticmethod(lambda: _SDP[name]), staticmethod(lambda enabled: _SDP.__setitem__(name, bool(enabled)))


class cuda:  # noqa: N801
    matmul = _Matmul()
    math_sdp_enabled, enable_math_sdp = _sdp_flag("math")
    flash_sdp_enabled, enable_flash_sdp = _sdp_flag("flash")
    mem_efficient_sdp_enabled, enable_mem_efficient_sdp = _sdp_flag("mem_efficient")
    cudnn_sdp_enabled, enable_cudnn_sdp = _sdp_flag("cudnn")

    @staticmethod
    def is_built():
        return False

    @staticmethod
    def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
        """The deprecated spelling of ``torch.nn.attention.sdpa_kernel``."""
        import contextlib

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


class mkldnn:  # noqa: N801
    enabled = False

    @staticmethod
    def is_available():
        return False


class mkl:  # noqa: N801
    @staticmethod
    def is_available():
        return False


class openmp:  # noqa: N801
    @staticmethod
    def is_available():
        return False


class opt_einsum:  # noqa: N801
    enabled = False
    strategy = None

    @staticmethod
    def is_available():
        return False


class cpu:  # noqa: N801
    @staticmethod
    def get_cpu_capability():
        import os
        flags = ""
        try:
            with open("/proc/cpuinfo") as f:
                flags = f.read()
        except OSError:
            pass
        if os.environ.get("EMBER_ISA", "").lower() == "avx2":
            return "AVX2"
        if " avx512f" in flags:
            return "AVX512"
        if " avx2" in flags:
            return "AVX2"
        return "DEFAULT"
