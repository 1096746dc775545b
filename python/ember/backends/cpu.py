"""``torch.backends.cpu``: the instruction set the kernels use."""


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
