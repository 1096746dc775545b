"""``torch.backends.opt_einsum``: the opt_einsum package is not used."""

enabled = False
strategy = None


def is_available():
    return False
