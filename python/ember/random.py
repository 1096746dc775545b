"""``torch.random``: the global generator's seeding and state, and ``fork_rng``."""

import contextlib

from . import _C

manual_seed = _C.manual_seed
get_rng_state = _C.get_rng_state
set_rng_state = _C.set_rng_state
initial_seed = _C.initial_seed


def seed():
    from . import seed as _seed
    return _seed()


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """Draws inside the block leave the global generator as it was before (CPU only: there
    are no device generators to fork)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def __getattr__(name):
    if name == "default_generator":
        from . import default_generator
        return default_generator
    raise AttributeError(f"module 'ember.random' has no attribute '{name}'")
