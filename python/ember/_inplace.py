"""In-place variants (``x.op_(...)``) of out-of-place methods, and the in-place view ops that
change a tensor's shape (``unsqueeze_``, ``t_``, ``resize_``, ...).

A value in-place op computes ``op(old)`` and writes it into ``x`` through the core's in-place
rules (``_C._update_``): the version counter moves, a leaf that requires grad is refused while
recording, the result must keep ``x``'s shape and may not turn an integer tensor into a float
one, and autograd's history is rewritten. ``keep_old`` says whether the gradient needs the old
value of ``x`` (``lerp_`` does, ``index_add_`` does not); when it does, the core differentiates
through a copy of it, as PyTorch saves ``original_self``.
"""

from . import _C

Tensor = _C.Tensor

# name -> whether the op's gradient needs the old value of self.
_VALUE_OPS = {
    "index_add": False, "scatter_add": False, "addcmul": False, "addcdiv": False, "addmm": False,
    "addmv": False, "addbmm": False, "baddbmm": False, "addr": False, "lerp": True,
    "eq": False, "ne": False, "lt": False, "le": False, "gt": False, "ge": False,
    "logical_and": False, "logical_or": False, "logical_xor": False, "logical_not": False,
    "cumsum": False, "cumprod": True, "tril": False, "triu": False, "nan_to_num": True,
    "fmod": True, "hypot": True, "copysign": True, "heaviside": False, "xlogy": True, "logit": True,
    "sinc": True, "exp2": True, "deg2rad": False, "rad2deg": False, "renorm": True,
    "polygamma": True, "mvlgamma": True, "ldexp": True, "bitwise_not": False, "erfc": True,
    "put": False, "index_reduce": True,
    "nextafter": False, "float_power": True, "sigmoid": True, "relu": True,
}

# PyTorch's in-place aliases: alias_ -> the in-place op it names.
_INPLACE_ALIASES = {
    "absolute_": "abs_", "negative_": "neg_", "arcsin_": "asin_", "arccos_": "acos_",
    "arctan_": "atan_", "arcsinh_": "asinh_", "arccosh_": "acosh_", "arctanh_": "atanh_",
    "arctan2_": "atan2_", "fix_": "trunc_", "multiply_": "mul_", "subtract_": "sub_",
    "divide_": "div_", "true_divide_": "div_", "sgn_": "sign_", "clip_": "clamp_",
    "greater_": "gt_", "greater_equal_": "ge_", "less_": "lt_", "less_equal_": "le_",
    "not_equal_": "ne_", "swapaxes_": "transpose_", "swapdims_": "transpose_",
}


def _tensors_in(args, kwargs):
    return [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]


def _value_inplace(name, keep_old):
    def method(self, *args, **kwargs):
        return _C._update_(self, name + "_", _tensors_in(args, kwargs),
                           lambda old: getattr(old, name)(*args, **kwargs), keep_old)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` in place: ``self`` holds ``self.{name}(...)`` afterwards."
    return method


def _float_power_(self, exponent):
    if self.dtype != _C.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_C._scalar_type_name(self.dtype)} but the "
                           "operation's result requires dtype Double")
    return _C._update_(self, "float_power_", _tensors_in((exponent,), {}), lambda old: old.float_power(exponent), True)


def _reshaping_inplace(name):
    """``x.op_(...)`` for a view op: ``x`` becomes the view (same storage, new shape and
    strides). A tensor with autograd history cannot be reshaped in place here (PyTorch rewrites
    that history; Ember asks for the out-of-place form instead)."""
    def method(self, *args, **kwargs):
        view = getattr(self, name)(*args, **kwargs)
        _refuse_history(self, name + "_")
        self.data = view
        return self

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` in place: ``self`` becomes ``self.{name}(...)`` (a view of the same data)."
    return method


def _refuse_history(self, op):
    if self.grad_fn is not None and _C.is_grad_enabled():
        raise RuntimeError(f"{op}: Ember cannot change the shape of a tensor with autograd history in place; "
                           f"write x = x.{op[:-1]}(...) instead")


def _sizes(args):
    if len(args) == 1 and not isinstance(args[0], int):
        return [int(s) for s in args[0]]
    return [int(s) for s in args]


def _resize_(self, *sizes, memory_format=None):
    """``x.resize_(*sizes)``: the first elements of ``x`` in the new shape (a view of the same
    data when it shrinks; grown elements are zero, where torch leaves them uninitialised)."""
    del memory_format
    shape = _sizes(sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {shape}")
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    n = 1
    for s in shape:
        n *= s
    flat = self.detach().reshape(-1)
    if n <= flat.numel():
        new = flat[:n].view(shape)
    else:
        new = _C.cat([flat, _C.zeros(n - flat.numel(), dtype=self.dtype)]).view(shape)
    self.data = new
    return self


def _resize_as_(self, other, memory_format=None):
    return _resize_(self, tuple(other.shape), memory_format=memory_format)


def install(namespace):
    """Adds the in-place variants to ``Tensor`` (and ``ember.op_`` functions where torch has them)."""
    for name, keep_old in _VALUE_OPS.items():
        if hasattr(Tensor, name) and not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", _value_inplace(name, keep_old))
    Tensor.float_power_ = _float_power_
    for name in ("unsqueeze", "squeeze", "t", "transpose", "as_strided"):
        setattr(Tensor, name + "_", _reshaping_inplace(name))
    for alias, target in _INPLACE_ALIASES.items():
        if not hasattr(Tensor, alias) and hasattr(Tensor, target):
            setattr(Tensor, alias, getattr(Tensor, target))
    Tensor.resize_ = _resize_
    Tensor.resize_as_ = _resize_as_
    # torch.op_(x, ...) for the in-place ops torch exports as functions.
    for name in ("abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "clamp", "clamp_max",
                 "clamp_min", "clip", "cos", "cosh", "deg2rad", "erf", "erfc", "exp", "exp2", "expm1", "fix",
                 "floor", "frac", "gcd", "i0", "lcm", "ldexp", "log", "log10", "log1p", "log2", "logit",
                 "nan_to_num", "neg", "negative", "rad2deg", "reciprocal", "relu", "round", "rsqrt", "sigmoid",
                 "sin", "sinc", "sinh", "sqrt", "square", "tan", "tanh", "trunc", "xlogy", "zero", "fill",
                 "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "index_put", "selu", "celu",
                 "rrelu", "threshold", "dropout", "alpha_dropout", "feature_alpha_dropout", "feature_dropout"):
        method = getattr(Tensor, name + "_", None)
        if method is not None:
            namespace.setdefault(name + "_", _function_of_inplace(name + "_", method))


def _function_of_inplace(name, method):
    def function(input, *args, **kwargs):
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    return function
