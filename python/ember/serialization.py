"""``ember.save`` / ``ember.load`` in PyTorch's zip format, both ways between torch and Ember,
without ever running code a file names.

A file is a zip archive: ``<name>/data.pkl`` (a pickle of the object; storages are persistent
ids ``('storage', torch.FloatStorage, key, 'cpu', numel)``), ``<name>/data/<key>`` (raw
little-endian bytes, 64-byte aligned), and small records (``version``, ``byteorder``). Ember
writes the globals torch writes (``torch._utils._rebuild_tensor_v2``, ``torch.nn.modules.
linear.Linear``, ...), so torch reads Ember's files, and maps them back to its own functions and
classes when loading.

Loading uses a pickle VM whose globals come only from a fixed table, from the program's
already-imported ``nn.Module`` subclasses (``weights_only=False``), or from
``add_safe_globals``; it never imports a module, and it calls nothing but its own rebuild
functions and container types (``REDUCE`` of anything else is refused), so a hostile pickle
(``os.system``, ``eval``, ``__reduce__`` tricks) fails with an error naming the global.
"""

import _compat_pickle
import io
import os
import pickle
import sys
import tempfile
import types
import zipfile
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from . import _C, _utils
from ._size import Size

Tensor = _C.Tensor

DEFAULT_PROTOCOL = 2
_ALIGN = 64

# ---- storage types: torch's name -> (Ember dtype, NumPy dtype of the raw bytes)

_STORAGES = {
    "FloatStorage": ("float32", "<f4"), "DoubleStorage": ("float64", "<f8"), "HalfStorage": ("float16", "<f2"),
    "BFloat16Storage": ("bfloat16", "<u2"), "LongStorage": ("int64", "<i8"), "IntStorage": ("int32", "<i4"),
    "ShortStorage": ("int16", "<i2"), "CharStorage": ("int8", "i1"), "ByteStorage": ("uint8", "u1"),
    "BoolStorage": ("bool", "?"),
}


class _StorageType:
    """Stands for ``torch.FloatStorage`` and friends in pickles."""

    def __init__(self, name):
        self.name = name
        self.dtype, self.np_dtype = _STORAGES[name]

    def __repr__(self):
        return f"torch.{self.name}"


_STORAGE_TYPES = {name: _StorageType(name) for name in _STORAGES}
_STORAGE_OF_DTYPE = {"float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
                     "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
                     "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage"}


def _dtype_name(dtype):
    return str(dtype).replace("torch.", "")


class _Storage:
    """A storage read from a file: its elements as a flat NumPy array (bf16 as raw ``u2``)."""

    def __init__(self, array, dtype):
        self.array = array
        self.dtype = dtype


# ---- safe globals

_safe_globals = {}


def add_safe_globals(safe_globals):
    """Allows these classes/functions (or ``(obj, "module.name")`` pairs) in ``load``."""
    for g in safe_globals:
        obj, name = g if isinstance(g, tuple) else (g, f"{g.__module__}.{g.__qualname__}")
        _safe_globals[name] = obj
        torch_name = _torch_class_name(obj) if isinstance(obj, type) else None
        if torch_name is not None:  # Ember's layers also under the name torch writes
            _safe_globals[torch_name] = obj


def get_safe_globals():
    return list(_safe_globals.values())


def clear_safe_globals():
    _safe_globals.clear()


@contextmanager
def safe_globals(globals_list):
    saved = dict(_safe_globals)
    add_safe_globals(globals_list)
    try:
        yield
    finally:
        _safe_globals.clear()
        _safe_globals.update(saved)


def _encode(text, encoding="latin1"):
    """``_codecs.encode`` as protocol 2 pickles ``bytes``: only str -> bytes."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is only allowed on (str, 'latin1')")
    return text.encode("latin1")


def _device(*args):
    return _C.device("cpu")


def _rebuild_from_type_v2(func, new_type, args, state):
    t = func(*args)
    if new_type is not Tensor and new_type is not type(t):
        from .nn.parameter import Parameter
        if new_type is Parameter:
            t = Parameter(t, t.requires_grad)
    return t


def _table():
    """torch's global names -> Ember's objects that ``load`` may use (and ``save`` writes)."""
    from .nn.parameter import Parameter
    t = {
        "torch._utils._rebuild_tensor_v2": _rebuild_from_storage,
        "torch._utils._rebuild_tensor": _rebuild_from_storage,
        "torch._utils._rebuild_parameter": _utils._rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _utils._rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.Tensor": Tensor,
        "torch.nn.parameter.Parameter": Parameter,
        "collections.OrderedDict": OrderedDict,
        "builtins.set": set, "builtins.frozenset": frozenset, "builtins.slice": slice, "builtins.complex": complex,
        "builtins.bytearray": bytearray, "builtins.range": range,
        "_codecs.encode": _encode,
        "torch.Size": Size,
        "torch.device": _device,
    }
    for name, st in _STORAGE_TYPES.items():
        t["torch." + name] = st
    for name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
                 "float", "double", "half", "long", "int", "short"):
        t["torch." + name] = getattr(_C, name)
    return t


_CALLABLE_OK = None


def _callables():
    global _CALLABLE_OK
    if _CALLABLE_OK is None:
        table = _table()
        _CALLABLE_OK = {id(v) for k, v in table.items() if callable(v) and not isinstance(v, _StorageType)
                        and k not in ("torch.Tensor", "torch.nn.parameter.Parameter")}
    return _CALLABLE_OK


def _ember_module_class(module, name):
    """An Ember layer class for torch's ``torch.nn.modules.<file>.<Name>`` (or Ember's own)."""
    from . import nn
    if not (module.startswith("torch.nn.modules.") or module == "torch.nn" or module.startswith("ember.nn")):
        return None
    cls = getattr(nn, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, nn.Module) else None


def _ember_function(module, name):
    from .nn import functional
    if module in ("torch.nn.functional", "ember.nn.functional") or module.startswith("ember.nn.functional."):
        fn = getattr(functional, name, None)
        return fn if callable(fn) else None
    return None


def _program_class(module, name):
    """A class the running program already defines (``sys.modules`` only: nothing is imported)
    that is an ``nn.Module`` subclass."""
    from .nn import Module
    obj = sys.modules.get(module)
    for part in name.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) and issubclass(obj, Module) else None


def _refused(module, name, weights_only):
    if weights_only:
        return pickle.UnpicklingError(
            "Weights only load failed. Re-running `ember.load` with `weights_only` set to `False` rebuilds the "
            "program's own nn.Module classes (Ember still never imports modules or runs functions named by the "
            f"file).\n Unsupported global: GLOBAL {module}.{name} was not an allowed global by default. Please use "
            f"`ember.serialization.add_safe_globals([{name}])` or the `ember.serialization.safe_globals([{name}])` "
            "context manager to allowlist this global if you trust this class/function.")
    return pickle.UnpicklingError(
        f"ember.load refused GLOBAL {module}.{name}: Ember never imports modules or calls functions named by a file; "
        "it rebuilds only tensors, containers, Ember's modules and nn.Module subclasses this program defines (or "
        "globals allow-listed with ember.serialization.add_safe_globals)")


class _Unpickler(pickle._Unpickler):
    """Python's pickle VM with the globals restricted and ``REDUCE`` limited to the rebuild
    functions and containers of ``_table``; storages come from the archive."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, read_record, prefix, weights_only, map_location):
        super().__init__(file, encoding="utf-8")
        self._read_record = read_record
        self._prefix = prefix
        self._weights_only = weights_only
        self._map_location = map_location
        self._storages = {}
        self._table = _table()
        self._allowed_calls = set(_callables())

    def find_class(self, module, name):
        if self.proto < 3 and self.fix_imports:
            # Protocol 2 names Python 2's modules (``__builtin__.set``); as pickle's own mapping.
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        key = f"{module}.{name}"
        if key in self._table:
            return self._table[key]
        if key in _safe_globals:
            obj = _safe_globals[key]
            if callable(obj) and not isinstance(obj, type):
                self._allowed_calls.add(id(obj))
            return obj
        if not self._weights_only:
            found = _ember_module_class(module, name) or _program_class(module, name)
            if found is not None:
                return found
            fn = _ember_function(module, name)
            if fn is not None:
                return fn
        raise _refused(module, name, self._weights_only)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {stype!r}")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"malformed storage reference {pid!r}")
        if key not in self._storages:
            raw = self._read_record(f"{self._prefix}data/{key}")
            itemsize = np.dtype(stype.np_dtype).itemsize
            if len(raw) < numel * itemsize:
                raise pickle.UnpicklingError(f"storage {key} holds {len(raw)} bytes, fewer than {numel} elements of "
                                             f"{stype.name}")
            arr = np.frombuffer(raw, dtype=stype.np_dtype, count=numel)
            storage = _Storage(arr, stype.dtype)
            if callable(self._map_location):
                out = self._map_location(storage, location)
                storage = out if isinstance(out, _Storage) else storage
            self._storages[key] = storage
        return self._storages[key]

    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if id(func) not in self._allowed_calls and func is not OrderedDict:
            name = getattr(func, "__qualname__", type(func).__name__)
            raise pickle.UnpicklingError(f"ember.load refused to call {getattr(func, '__module__', '?')}.{name}: "
                                         "only Ember's rebuild functions and container types are called")
        if not isinstance(args, tuple):
            raise pickle.UnpicklingError("REDUCE arguments must be a tuple")
        self.stack[-1] = func(*args)

    dispatch[pickle.REDUCE[0]] = load_reduce

    def _refuse_instantiation(self):
        raise pickle.UnpicklingError("ember.load refused a protocol 0/1 class instantiation (INST/OBJ)")

    dispatch[pickle.INST[0]] = _refuse_instantiation
    dispatch[pickle.OBJ[0]] = _refuse_instantiation

    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        from .nn import Module
        if not isinstance(cls, type) or not (issubclass(cls, Module) or cls in _safe_globals.values()
                                             or cls is OrderedDict or cls in (set, frozenset, dict, list)):
            raise pickle.UnpicklingError(f"ember.load refused to create an instance of {cls!r}")
        self.append(cls.__new__(cls, *args))

    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, _StorageType) or callable(inst) and not hasattr(inst, "__dict__"):
            raise pickle.UnpicklingError(f"ember.load refused to set state on {type(inst).__name__}")
        setstate = getattr(inst, "__setstate__", None)
        if setstate is not None and not isinstance(inst, (OrderedDict, dict)):
            setstate(state)
            return
        slotstate = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slotstate = state
        if state:
            if not isinstance(state, dict):
                raise pickle.UnpicklingError("BUILD state must be a dict")
            for k, v in state.items():
                inst.__dict__[sys.intern(k)] = v
        if slotstate:
            for k, v in slotstate.items():
                setattr(inst, k, v)

    dispatch[pickle.BUILD[0]] = load_build


def _rebuild_from_storage(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                          metadata=None):
    """``_rebuild_tensor_v2`` over a file storage: bounds checked before any view is made."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("_rebuild_tensor_v2 expects a storage")
    size, stride = tuple(size), tuple(stride)
    n = storage.array.shape[0]
    if not isinstance(storage_offset, int) or storage_offset < 0 or len(size) != len(stride) \
            or any(not isinstance(s, int) or s < 0 for s in size + stride):
        raise pickle.UnpicklingError(f"invalid tensor geometry: offset {storage_offset}, size {size}, stride {stride}")
    numel = 1
    for s in size:
        numel *= s
    if numel:
        last = storage_offset + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= n:
            raise pickle.UnpicklingError(f"tensor of size {size}, stride {stride} at offset {storage_offset} reads "
                                         f"past its storage of {n} elements")
    item = storage.array.itemsize
    if numel == 0:
        view = np.zeros(size, dtype=storage.array.dtype)
    else:
        view = np.lib.stride_tricks.as_strided(storage.array[storage_offset:], size, tuple(s * item for s in stride),
                                               writeable=False)
    arr = np.array(view, order="C")  # a copy (0-d stays 0-d)
    if storage.dtype == "bfloat16":
        t = _C.from_numpy((arr.astype(np.uint32) << 16).view(np.float32).copy()).to(_C.bfloat16)
    else:
        t = _C.from_numpy(arr) if arr.ndim else _C.tensor(arr.item())
        if _dtype_name(t.dtype) != storage.dtype:
            t = t.to(getattr(_C, storage.dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _open(f, mode):
    if isinstance(f, (str, os.PathLike)):
        return open(f, mode), True
    return f, False


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Loads what ``torch.save``/``ember.save`` wrote (tensors, state dicts, nested containers;
    whole modules with ``weights_only=False``). ``map_location`` is accepted (everything is on
    the CPU); a callable is called with each storage, as torch does."""
    if weights_only is None:
        weights_only = os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0") in ("0", "")
    fh, owned = _open(f, "rb")
    try:
        data = fh.read()
    finally:
        if owned:
            fh.close()
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise RuntimeError("ember.load supports PyTorch's zip format (torch.save since 1.6); this file is not a zip "
                           "archive (the legacy tar/pickle format is not read, since it cannot be read safely)")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        pkl = [n for n in z.namelist() if n.endswith("data.pkl") and n.count("/") <= 1]
        if not pkl:
            raise RuntimeError("invalid PyTorch file: no data.pkl record")
        prefix = pkl[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in z.namelist() and z.read(byteorder).strip() not in (b"little", b""):
            raise RuntimeError("big-endian PyTorch files are not supported")

        def read_record(name):
            try:
                return z.read(name)
            except KeyError:
                raise pickle.UnpicklingError(f"missing record {name} in the archive") from None

        up = _Unpickler(io.BytesIO(z.read(pkl[0])), read_record, prefix, bool(weights_only), map_location)
        try:
            return up.load()
        except (EOFError, IndexError, KeyError, AttributeError) as e:
            raise pickle.UnpicklingError(f"malformed pickle in {pkl[0]}: {type(e).__name__}: {e}") from None


# ---- saving


class _StorageRef:
    """A storage being written: its type, record name and element count."""

    def __init__(self, stype, key, numel):
        self.stype, self.key, self.numel = stype, key, numel


class _Pickler(pickle._Pickler):
    """Python's pickler writing torch's globals for Ember objects and storages as persistent
    ids, collected for the archive."""

    def __init__(self, file, protocol):
        super().__init__(file, protocol=protocol)
        self.records = []
        self._keys = {}
        self._names = {}
        for k, v in _table().items():
            if not isinstance(v, _C.dtype):
                self._names.setdefault(id(v), k)
        self._names[id(_utils._rebuild_parameter)] = "torch._utils._rebuild_parameter"
        self._names[id(OrderedDict)] = "collections.OrderedDict"

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            return ("storage", obj.stype, obj.key, "cpu", obj.numel)
        return None

    def _storage_of(self, t):
        t = t.detach()
        key = (t.data_ptr(), _dtype_name(t.dtype), tuple(t.shape), t.stride())
        if key not in self._keys:
            c = t.contiguous()
            if c.dtype == _C.bfloat16:
                raw = (c.float().numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
            else:
                raw = np.ascontiguousarray(c.numpy()).tobytes() if c.dim() else c.reshape(1).numpy().tobytes()
            name = str(len(self.records))
            self.records.append((name, raw))
            self._keys[key] = (name, c.numel())
        return self._keys[key]

    def reducer_override(self, obj):
        from .nn.parameter import Parameter
        if isinstance(obj, Parameter):
            return (_utils._rebuild_parameter, (obj.detach(), obj.requires_grad, OrderedDict()))
        if isinstance(obj, Tensor):
            stype = _STORAGE_TYPES[_STORAGE_OF_DTYPE[_dtype_name(obj.dtype)]]
            name, numel = self._storage_of(obj)
            shape = tuple(obj.shape)
            stride, acc = [], 1
            for s in reversed(shape):
                stride.append(acc)
                acc *= s
            return (_rebuild_from_storage, (_StorageRef(stype, name, numel), 0, shape, tuple(reversed(stride)),
                                            obj.requires_grad, OrderedDict()))
        if isinstance(obj, Size):
            return (Size, (tuple(obj),))
        if isinstance(obj, _C.device):
            return (_device, ("cpu",))
        return NotImplemented

    def save_global(self, obj, name=None):
        if isinstance(obj, _StorageType):
            return self._write_global("torch", obj.name, obj)
        key = self._names.get(id(obj))
        if key is None and isinstance(obj, type):
            key = _torch_class_name(obj)
        if key is None and callable(obj) and getattr(obj, "__module__", "").startswith("ember.nn.functional"):
            key = "torch.nn.functional." + obj.__name__
        if key is None:
            return super().save_global(obj, name)
        module, _, qual = key.rpartition(".")
        self._write_global(module, qual, obj)

    def _write_global(self, module, name, obj):
        self.write(pickle.GLOBAL + bytes(f"{module}\n{name}\n", "utf-8"))
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    # Functions dispatch straight to the base class's save_global; route them to ours.
    dispatch[types.FunctionType] = lambda self, obj: self.save_global(obj)
    dispatch[types.BuiltinFunctionType] = lambda self, obj: self.save_global(obj)
    dispatch[_StorageType] = lambda self, obj: self.save_global(obj)
    # A dtype is the global ``torch.<name>``, as torch pickles it.
    dispatch[_C.dtype] = lambda self, obj: self._write_global("torch", _dtype_name(obj), obj)


def _torch_class_name(cls):
    """torch's import path for an Ember layer class (``torch.nn.modules.linear.Linear``)."""
    from . import nn
    mod = getattr(cls, "__module__", "")
    if mod.startswith("ember.nn.modules.") and issubclass(cls, nn.Module):
        # Ember's layer files mirror torch's (torch.nn.modules.batchnorm, ...).
        return "torch.nn.modules." + mod.rsplit(".", 1)[1] + "." + cls.__qualname__
    if mod == "ember.nn.parallel" and issubclass(cls, nn.Module):
        return "torch.nn.parallel.data_parallel." + cls.__qualname__
    if mod.startswith("ember.nn.parameter"):
        return "torch.nn.parameter." + cls.__qualname__
    return None


def _zip_bytes(prefix, pickled, records):
    """The archive: records stored (not compressed), each storage 64-byte aligned."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        def write(name, data, align=False):
            info = zipfile.ZipInfo(prefix + name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            if align:
                header = 30 + len(info.filename.encode("utf-8"))
                pad = (-(buf.tell() + header + 4)) % _ALIGN
                info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
            z.writestr(info, data)
        write("data.pkl", pickled)
        write(".format_version", b"1")
        write(".storage_alignment", b"64")
        write("byteorder", b"little")
        for name, raw in records:
            write(f"data/{name}", raw, align=True)
        write("version", b"3\n")
        write(".data/serialization_id", os.urandom(20).hex().encode())
    return buf.getvalue()


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Writes ``obj`` in PyTorch's zip format. A path is written atomically (a temporary file
    in the same folder, then renamed), so an interrupted save never leaves a partial file."""
    out = io.BytesIO()
    pickler = _Pickler(out, pickle_protocol)
    pickler.dump(obj)
    if isinstance(f, (str, os.PathLike)):
        prefix = os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
    else:
        prefix = "archive"
    data = _zip_bytes(prefix + "/", out.getvalue(), pickler.records)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:
        f.write(data)
