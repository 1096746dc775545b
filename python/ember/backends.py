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


class cuda:  # noqa: N801
    matmul = _Matmul()

    @staticmethod
    def is_built():
        return False


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
