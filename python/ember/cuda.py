"""``ember.cuda``: Ember runs on CPUs; scripts that ask get ``False`` and zero devices."""


def is_available():
    return False


def device_count():
    return 0


def manual_seed(seed):
    """No CUDA generator exists; accepted so seeding code runs unchanged."""


def manual_seed_all(seed):
    """As :func:`manual_seed`."""


def synchronize(device=None):
    """Nothing to wait for on the CPU."""
