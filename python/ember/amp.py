"""``ember.amp``: mixed precision as scripts spell it. ``autocast`` is accepted and runs the
block in the tensors' own dtypes (Ember's bf16 paths are chosen by casting the model, e.g.
``model.bfloat16()``); ``GradScaler`` scales nothing (no fp16 gradients underflow on the CPU
paths) but keeps torch's methods, so training loops written for AMP run unchanged."""

import functools


class autocast:
    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        self.device_type = device_type
        self.fast_dtype = dtype
        self._enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
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
