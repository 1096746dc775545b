"""``torch.backends.mps``: Apple's Metal backend, not available."""


def is_available():
    return False


def is_built():
    return False
