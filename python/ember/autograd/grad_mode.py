"""Grad mode (thread-local, as PyTorch's): ``no_grad``, ``enable_grad``, ``set_grad_enabled`` and
``inference_mode``, each a context manager and a decorator."""

import functools

from .. import _C


class _GradMode:
    """Sets grad mode to ``self._mode`` inside ``with`` and around decorated functions."""

    _mode = False

    def __enter__(self):
        self._prev = _C._set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _C._set_grad_enabled(self._mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _C._set_grad_enabled(prev)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradMode):  # noqa: N801  (PyTorch's name)
    """Disables gradient recording."""

    _mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Enables gradient recording."""

    _mode = True


class inference_mode(_GradMode):  # noqa: N801
    """Inference: no recording (as ``no_grad``)."""

    def __init__(self, mode=True):
        self._mode = not mode


class set_grad_enabled(_GradMode):  # noqa: N801
    """``set_grad_enabled(False)`` turns recording off now; as a context manager it restores
    the previous mode on exit."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = _C._set_grad_enabled(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev)
        return False


def _decorate(cls):
    """``@no_grad`` without parentheses works too."""
    orig_new = cls.__new__

    def __new__(klass, *args, **kwargs):
        if klass is cls and len(args) == 1 and callable(args[0]) and not kwargs and not isinstance(args[0], bool):
            return cls()(args[0])
        return orig_new(klass) if orig_new is object.__new__ else orig_new(klass, *args, **kwargs)

    cls.__new__ = __new__
    return cls


no_grad = _decorate(no_grad)
enable_grad = _decorate(enable_grad)
