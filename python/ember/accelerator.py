"""``ember.accelerator``: what pytorch/examples ask first. Ember runs on the CPU, so it answers
as a CPU-only torch build does."""


def is_available():
    return False


def current_accelerator(check_available=False):
    return None


def device_count():
    return 0


def current_device_index():
    return -1


def set_device_index(device):
    raise RuntimeError("No accelerator is available in Ember (CPU only)")


def synchronize(device=None):
    """Nothing to wait for on the CPU."""
