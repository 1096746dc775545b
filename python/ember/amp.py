"""``ember.amp``: mixed precision as scripts spell it. ``autocast`` is accepted and runs the
block in the tensors' own dtypes (Ember's bf16 paths are chosen by casting the model, e.g.
``model.bfloat16()``); ``GradScaler`` scales nothing (no fp16 gradients underflow on the CPU
paths) but keeps torch's methods, so training loops written for AMP run unchanged."""

import functools


# Whether code runs inside an enabled ``autocast`` block, per device type (what
# ``torch.is_autocast_enabled(device)`` reports), and each device's autocast dtype.
_ACTIVE = {}
_DTYPES = {}


class autocast:
    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        self.device_type = device_type
        self.fast_dtype = dtype if dtype is not None else get_autocast_dtype(device_type)
        self._enabled = enabled

    def __enter__(self):
        self._prev = (_ACTIVE.get(self.device_type, False), _DTYPES.get(self.device_type))
        _ACTIVE[self.device_type] = bool(self._enabled)
        _DTYPES[self.device_type] = self.fast_dtype
        return self

    def __exit__(self, *exc):
        _ACTIVE[self.device_type], _DTYPES[self.device_type] = self._prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return wrapper


def is_autocast_available(device_type):
    return device_type == "cpu"


def custom_fwd(fwd=None, *, device_type="cpu", cast_inputs=None):
    return fwd if fwd is not None else (lambda f: f)


def custom_bwd(bwd=None, *, device_type="cpu"):
    return bwd if bwd is not None else (lambda f: f)


class GradScaler:
    """torch's ``GradScaler`` interface with a scale of 1: ``scale(loss)`` is the loss,
    ``step(optimizer)`` steps it, ``update()`` does nothing."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._enabled = enabled
        self._init_scale = init_scale
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval

    def is_enabled(self):
        return False

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        pass

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        pass

    def get_scale(self):
        return 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def get_growth_interval(self):
        return self._growth_interval

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        pass


def is_autocast_enabled(device_type=None):
    """Inside an enabled ``autocast`` block for ``device_type`` (no argument: CUDA, as torch)."""
    return _ACTIVE.get(device_type or "cuda", False)


def get_autocast_dtype(device_type):
    import ember
    default = ember.bfloat16 if device_type == "cpu" else ember.float16
    return _DTYPES.get(device_type) or default


def set_autocast_enabled(device_type, enabled=None):
    if enabled is None:  # the old one-argument form names CUDA
        device_type, enabled = "cuda", device_type
    _ACTIVE[device_type] = bool(enabled)


def set_autocast_dtype(device_type, dtype):
    _DTYPES[device_type] = dtype
