"""What older and probing scripts call at ``torch.`` level: the legacy typed constructors
(``torch.LongTensor([1, 2])``, ``torch.FloatTensor(2, 3)``, ``isinstance(x, torch.FloatTensor)``),
``finfo``/``iinfo``, print options, determinism and matmul-precision flags, default device,
``compile`` (returns the model: Ember runs eagerly), ``randint_like`` and ``empty_strided``."""

import math

from . import _C

Tensor = _C.Tensor


class _LegacyMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls._dtype

    def __call__(cls, *args, **kwargs):
        dtype = cls._dtype
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor):
                return data.to(dtype)
            return _C.tensor(data, dtype=dtype)
        if not args:
            return _C.empty(0, dtype=dtype)
        return _C.zeros(*args, dtype=dtype)


def _legacy(name, dtype):
    return _LegacyMeta(name, (), {"_dtype": dtype, "__module__": "ember", "__qualname__": name})


FloatTensor = _legacy("FloatTensor", _C.float32)
DoubleTensor = _legacy("DoubleTensor", _C.float64)
HalfTensor = _legacy("HalfTensor", _C.float16)
BFloat16Tensor = _legacy("BFloat16Tensor", _C.bfloat16)
LongTensor = _legacy("LongTensor", _C.int64)
IntTensor = _legacy("IntTensor", _C.int32)
ShortTensor = _legacy("ShortTensor", _C.int16)
CharTensor = _legacy("CharTensor", _C.int8)
ByteTensor = _legacy("ByteTensor", _C.uint8)
BoolTensor = _legacy("BoolTensor", _C.bool)


class finfo:
    """Machine limits of a floating dtype (``torch.finfo``)."""

    _TABLE = {
        "float32": (32, 1.1920928955078125e-07, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-06),
        "float64": (64, 2.220446049250313e-16, 1.7976931348623157e308, 2.2250738585072014e-308, 1e-15),
        "float16": (16, 0.0009765625, 65504.0, 6.103515625e-05, 0.001),
        "bfloat16": (16, 0.0078125, 3.3895313892515355e38, 1.1754943508222875e-38, 0.01),
    }

    def __init__(self, type=None):
        dtype = type if type is not None else _C.get_default_dtype()
        name = str(dtype).replace("torch.", "")
        if name not in self._TABLE:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{type}'")
        self.bits, self.eps, self.max, self.smallest_normal, self.resolution = self._TABLE[name]
        self.min = -self.max
        self.tiny = self.smallest_normal
        self.dtype = name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``torch.iinfo``)."""

    _TABLE = {"int64": (64, -(2 ** 63), 2 ** 63 - 1), "int32": (32, -(2 ** 31), 2 ** 31 - 1), "int16": (16, -(2 ** 15), 2 ** 15 - 1),
              "int8": (8, -128, 127), "uint8": (8, 0, 255),
              "bool": (8, 0, 1)}

    def __init__(self, type):
        name = str(type).replace("torch.", "")
        if name not in self._TABLE:
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle '{type}'")
        self.bits, self.min, self.max = self._TABLE[name]
        self.dtype = name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


_print_options = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Accepted and remembered; Ember prints as torch's default profile."""
    for k, v in dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth).items():
        if v is not None:
            _print_options[k] = v
    _print_options["sci_mode"] = sci_mode


_deterministic = [False]
_matmul_precision = ["highest"]


_warn_only = [False]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Ember's kernels are deterministic already (results do not depend on the thread count)."""
    _deterministic[0] = bool(mode)
    _warn_only[0] = bool(warn_only)


def is_deterministic_algorithms_warn_only_enabled():
    return _warn_only[0]


def get_deterministic_debug_mode():
    """0 (off), 1 (warn) or 2 (error), from ``use_deterministic_algorithms``."""
    return 0 if not _deterministic[0] else 1 if _warn_only[0] else 2


def set_deterministic_debug_mode(debug_mode):
    names = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in names:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def are_deterministic_algorithms_enabled():
    return _deterministic[0]


def set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision}")
    _matmul_precision[0] = precision


def get_float32_matmul_precision():
    return _matmul_precision[0]


def set_default_device(device):
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"Ember runs on the CPU; cannot set the default device to {device}")


def get_default_device():
    return _C.device("cpu")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    """``torch.compile``: Ember runs eagerly, so the model or function is returned as is."""
    if model is None:
        return lambda m: m
    return model


def randint_like(input, low=0, high=None, *, dtype=None, generator=None):
    if high is None:
        low, high = 0, low
    return _C.randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, generator=generator)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False):
    return _C.empty(*size, dtype=dtype, requires_grad=requires_grad) if size else _C.empty((), dtype=dtype)


def _clamp_min(self, min):
    return self.clamp(min=min)


def _clamp_max(self, max):
    return self.clamp(max=max)


def _clamp_min_(self, min):
    return self.clamp_(min=min)


def _clamp_max_(self, max):
    return self.clamp_(max=max)


def _to_dense(self, dtype=None, *, masked_grad=None):
    """A dense tensor is its own dense form (torch's ``Tensor.to_dense``)."""
    return self if dtype is None else self.to(dtype)


def install(namespace):
    if not hasattr(Tensor, "to_dense"):
        Tensor.to_dense = _to_dense
    Tensor.clamp_min = _clamp_min
    Tensor.clamp_max = _clamp_max
    Tensor.clamp_min_ = _clamp_min_
    Tensor.clamp_max_ = _clamp_max_
    namespace.setdefault("clamp_min", _clamp_min)
    namespace.setdefault("clamp_max", _clamp_max)
    namespace["e"] = math.e
    namespace["pi"] = math.pi
    namespace["inf"] = math.inf
    namespace["nan"] = math.nan
