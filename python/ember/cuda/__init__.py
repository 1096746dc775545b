"""``ember.cuda``: Ember runs on CPUs; scripts that ask get ``False`` and zero devices, seeding
calls are accepted, and anything that needs a GPU raises torch's CPU-build error."""


def _no_cuda(*args, **kwargs):
    raise AssertionError("Torch not compiled with CUDA enabled")


def is_available():
    return False


def is_initialized():
    return False


def device_count():
    return 0


def manual_seed(seed):
    """No CUDA generator exists; accepted so seeding code runs unchanged."""


def manual_seed_all(seed):
    """As :func:`manual_seed`."""


def seed():
    pass


def seed_all():
    pass


def synchronize(device=None):
    """Nothing to wait for on the CPU."""


def empty_cache():
    """No GPU memory to release."""


def is_bf16_supported(including_emulation=True):
    return False


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def reset_peak_memory_stats(device=None):
    pass


current_device = get_device_name = get_device_properties = get_device_capability = set_device = _no_cuda
init = _no_cuda


class device:
    """``torch.cuda.device(i)`` as a context manager: entering it fails, as on a CPU build."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        _no_cuda()

    def __exit__(self, *exc):
        return False


from . import amp  # noqa: E402,F401  (``torch.cuda.amp``, a submodule as in torch)
