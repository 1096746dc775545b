"""``torch.backends.mkl``: MKL is not used by Ember."""


def is_available():
    return False
