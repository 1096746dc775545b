"""How the profiler sees ops: while a session records, the public functions of ``ember``,
``ember.nn.functional``, ``ember.linalg`` and ``ember.special`` and the op methods and operators
of ``ember.Tensor`` are replaced by timing wrappers (restored when it stops, so nothing is
paid outside a profile); backward nodes are timed by the Rust autograd engine
(``_C._profiler_*``) on the same clock. Events are named as PyTorch's profiler names them
(``aten::add``, ``autograd::engine::evaluate_function: MulBackward0``); spans nest by time on
each thread, which gives every event its children and self time."""

import contextlib
import functools
import threading
import traceback
import types

from .. import _C

_now = _C._profiler_now_ns

# Public names that are not ops (metadata, state, conversions): never wrapped.
_NOT_OPS = frozenset("""
size dim ndimension numel nelement stride storage_offset is_contiguous is_floating_point is_complex
is_signed element_size data_ptr tolist numpy get_device backward register_hook
register_post_accumulate_grad_hook retain_grad requires_grad_ type storage untyped_storage is_shared
share_memory_ is_pinned dim_order has_names is_inference is_set_to is_nonzero manual_seed seed initial_seed
set_num_threads get_num_threads set_num_interop_threads get_num_interop_threads set_default_dtype
get_default_dtype set_default_device get_default_device is_tensor is_storage is_grad_enabled
is_inference_mode_enabled set_grad_enabled compile load save set_printoptions use_deterministic_algorithms
are_deterministic_algorithms_enabled get_rng_state set_rng_state typename promote_types result_type
can_cast broadcast_shapes set_flush_denormal get_float32_matmul_precision set_float32_matmul_precision
is_anomaly_enabled is_anomaly_check_nan_enabled set_anomaly_enabled is_warn_always_enabled
set_warn_always is_autocast_enabled set_autocast_enabled get_autocast_dtype from_numpy from_dlpack
to_dlpack is_same_size is_conj is_neg is_meta is_sparse is_quantized is_cuda
""".split())

# Tensor operators and the op each is, by PyTorch's name.
_OPERATORS = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub", "__rsub__": "rsub",
    "__isub__": "sub_", "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul_", "__truediv__": "div",
    "__rtruediv__": "div", "__itruediv__": "div_", "__floordiv__": "floor_divide",
    "__rfloordiv__": "floor_divide", "__mod__": "remainder", "__pow__": "pow", "__rpow__": "pow",
    "__matmul__": "matmul", "__rmatmul__": "matmul", "__neg__": "neg", "__abs__": "abs",
    "__and__": "bitwise_and", "__or__": "bitwise_or", "__xor__": "bitwise_xor", "__invert__": "bitwise_not",
    "__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge",
    "__getitem__": "index", "__setitem__": "index_put_",
}

_CALLABLE_KINDS = (types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType,
                   types.WrapperDescriptorType)


class Recorder:
    """The spans of one recording: ``(name, start_ns, end_ns, thread, shapes, stack,
    is_user_annotation)``."""

    def __init__(self, record_shapes=False, with_stack=False):
        self.record_shapes = record_shapes
        self.with_stack = with_stack
        self.spans = []
        self.lock = threading.Lock()

    def add(self, name, start, end, args=None, kwargs=None, annotation=False):
        shapes = _shapes(args, kwargs) if self.record_shapes and args is not None else []
        stack = _stack() if self.with_stack and not annotation else []
        with self.lock:
            self.spans.append((name, start, end, _thread_id(), shapes, stack, annotation))


_state = threading.local()
_active = None  # the recording Recorder, or None
_patched = []  # (owner, attribute name, original or _MISSING)
_MISSING = object()


def _thread_id():
    tid = getattr(_state, "tid", None)
    if tid is None:
        tid = _state.tid = _C._profiler_thread_id()
    return tid


def _shapes(args, kwargs):
    from .. import Tensor
    values = list(args) + list((kwargs or {}).values())
    return [list(v.shape) if isinstance(v, Tensor) else [] for v in values]


def _stack():
    # Innermost first, as PyTorch lists it; frames inside Ember are left out.
    frames = traceback.extract_stack()[:-3]
    return [f"{f.filename}({f.lineno}): {f.name}" for f in reversed(frames) if "/ember/" not in f.filename]


def _wrap(fn, name):
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        rec = _active
        if rec is None:
            return fn(*args, **kwargs)
        start = _now()
        try:
            return fn(*args, **kwargs)
        finally:
            rec.add(name, start, _now(), args, kwargs)
    timed._ember_profiled = True
    return timed


def _targets():
    """(owner, attribute, event name) of everything the profiler times."""
    from .. import Tensor, linalg, special
    from ..nn import functional
    import ember
    out = []
    for module in (ember, functional, linalg, special):
        for name, value in list(vars(module).items()):
            if name.startswith("_") or name in _NOT_OPS or not isinstance(value, _CALLABLE_KINDS):
                continue
            out.append((module, name, "aten::" + name))
    for name, value in list(vars(Tensor).items()):
        if name in _OPERATORS:
            out.append((Tensor, name, "aten::" + _OPERATORS[name]))
        elif not name.startswith("_") and name not in _NOT_OPS and isinstance(value, _CALLABLE_KINDS):
            out.append((Tensor, name, "aten::" + name))
    return out


def start(recorder):
    """Begins recording into ``recorder`` (one recording at a time)."""
    global _active
    if _active is not None:
        raise RuntimeError("Profiler is already enabled on this thread")
    for owner, name, event in _targets():
        original = vars(owner).get(name, _MISSING)
        if getattr(original, "_ember_profiled", False):
            continue
        setattr(owner, name, _wrap(getattr(owner, name), event))
        _patched.append((owner, name, original))
    _C._profiler_set(True)
    _active = recorder


def stop():
    """Ends the recording; returns the Rust engine's spans, as ``Recorder`` spans."""
    global _active
    rec, _active = _active, None
    _C._profiler_set(False)
    while _patched:
        owner, name, original = _patched.pop()
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    backward = _C._profiler_take()
    if rec is not None:
        with rec.lock:
            rec.spans.extend((name, s, e, tid, [], [], False) for name, s, e, tid in backward)
    return rec


class record_function(contextlib.ContextDecorator):
    """Labels a block (``with record_function("name"):``) or a function (as a decorator) in the
    profile: its span appears as an event of that name, with the ops inside as children. Costs
    nothing when no profiler records."""

    def __init__(self, name, args=None):
        self.name = name
        self.args = args
        self._start = None

    def __enter__(self):
        self._start = _now() if _active is not None else None
        return self

    def __exit__(self, *exc):
        rec = _active
        if rec is not None and self._start is not None:
            rec.add(self.name, self._start, _now(), annotation=True)
        self._start = None
        return False
