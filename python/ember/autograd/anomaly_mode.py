"""``torch.autograd.detect_anomaly`` / ``set_detect_anomaly``: while on, the backward pass
checks each function's input gradients and stops at the first that produced a NaN, naming it
("Function 'MulBackward0' returned nan values in its 0th output."), instead of letting the
NaN reach the parameters."""

import warnings

from .. import _C


def is_anomaly_enabled():
    return _C._anomaly_mode()[0]


def is_anomaly_check_nan_enabled():
    return _C._anomaly_mode()[1]


class detect_anomaly:
    """Context manager (and decorator) turning anomaly detection on."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev = _C._anomaly_mode()
        _C._set_anomaly_mode(True, self.check_nan)

    def __exit__(self, *exc):
        _C._set_anomaly_mode(*self.prev)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Sets anomaly detection on or off (as a function call or a context manager)."""

    def __init__(self, mode, check_nan=True):
        self.prev = _C._anomaly_mode()
        _C._set_anomaly_mode(bool(mode), check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _C._set_anomaly_mode(*self.prev)
