"""``torch.cpu``: the CPU as a device module (always available, one device)."""

import contextlib


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    pass


def set_device(device):
    pass


class Stream:
    """A CPU stream: work runs in order, so waiting is a no-op."""

    def __init__(self, priority=-1):
        self.priority = priority

    def wait_stream(self, stream):
        pass

    def synchronize(self):
        pass

    def query(self):
        return True


_STREAM = Stream()


def current_stream(device=None):
    return _STREAM


@contextlib.contextmanager
def stream(stream):
    yield


class StreamContext(contextlib.nullcontext):
    pass
