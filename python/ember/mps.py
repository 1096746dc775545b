"""``ember.mps``: Apple's Metal backend is not available in Ember."""


def is_available():
    return False


def manual_seed(seed):
    pass


def synchronize():
    pass


def empty_cache():
    pass
