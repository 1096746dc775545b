"""``torch.backends.openmp``: Ember's threads are its own pool, not OpenMP."""


def is_available():
    return False
