"""Tensor methods and ``ember.*`` functions made from Ember's op tables and from the methods
``_C.Tensor`` defines, so an op exists as ``x.op()``, ``x.op_()`` and ``ember.op(x)`` with no
binding code per op (PyTorch generates its bindings from ``native_functions.yaml`` likewise).
"""

from . import _C

Tensor = _C.Tensor


def _unary_method(code, name):
    def method(self):
        return _C._unary(self, code)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Elementwise ``{name}`` (Ember's unary op table)."
    return method


def _unary_inplace(code, name):
    def method(self):
        return _C._unary_(self, code)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` in place."
    return method


def _binary_method(code, name):
    def method(self, other):
        return _C._binary(self, other, code)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Elementwise ``{name}`` with broadcasting (Ember's binary op table)."
    return method


def _binary_inplace(code, name):
    def method(self, other):
        return _C._binary_(self, other, code)

    method.__name__ = method.__qualname__ = name + "_"
    return method


def _write_out(out, result):
    """PyTorch's ``out=``: the result lands in ``out`` (resized when its shape differs), which is
    returned. Outputs that take part in autograd are refused, as torch refuses them."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"out= must be a tuple of {len(result)} tensors")
        for o, r in zip(out, result):
            _write_out(o, r)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")
    if out.requires_grad or result.requires_grad and _C.is_grad_enabled():
        raise RuntimeError("functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    if out.dtype != result.dtype and not (out.dtype.is_floating_point or not result.dtype.is_floating_point):
        raise RuntimeError(f"result type {_C._scalar_type_name(result.dtype)} can't be cast to the desired "
                           f"output type {_C._scalar_type_name(out.dtype)}")
    if out.shape == result.shape:
        out.copy_(result)
    else:
        out.data = result.to(out.dtype).contiguous()
    return out


def _function_of(name):
    """``ember.name(input, *args, **kwargs)`` as ``input.name(*args, **kwargs)``; ``out=`` as
    torch's."""

    def function(input, *args, out=None, **kwargs):
        if not isinstance(input, Tensor):
            input = _C.tensor(input)
        result = getattr(input, name)(*args, **kwargs)
        return result if out is None else _write_out(out, result)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``ember.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return function


# Binary-table methods whose PyTorch name differs from the Rust method's.
_RENAMED = {"pow_tensor": None}

# PyTorch's aliases: alias -> method.
_ALIASES = {
    "absolute": "abs", "negative": "neg", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2", "fix": "trunc",
    "multiply": "mul", "subtract": "sub", "divide": "div", "true_divide": "div", "sgn": "sign",
    "clip": "clamp", "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
    "not_equal": "ne", "concat": None,
}

# Methods that are also module functions (``ember.sum(x, 1)``).
_FUNCTIONS = """
sum nansum mean prod max min amax amin argmax argmin var std logsumexp softmax log_softmax cumsum
all any reshape flatten unflatten permute transpose swapaxes swapdims t unsqueeze squeeze narrow
select split chunk unbind tril triu flip index_select gather scatter_add index_add masked_fill
masked_select clamp clip nonzero matmul mm bmm mv dot outer add sub mul div pow
logical_and logical_or logical_xor logical_not isnan isinf isfinite eq ne lt le gt ge
maximum minimum broadcast_to expand_as detach clone square rsqrt
sort argsort msort topk kthvalue median nanmedian mode cummax cummin unique unique_consecutive take
take_along_dim count_nonzero aminmax argwhere multinomial bernoulli isclose allclose equal bincount
diagonal diag diag_embed diagflat trace kron addmm addmv baddbmm addcmul addcdiv lerp roll rot90 movedim
moveaxis repeat_interleave tile fliplr flipud scatter scatter_reduce index_fill index_copy masked_scatter hypot
fmod copysign heaviside nan_to_num sinc cumprod logcumsumexp diff nanmean histc index_put
""".split()


def _compare(op):
    def method(self, other):
        return getattr(self, op)(other)

    return method


def _adjoint(self):
    """``mH`` / ``adjoint()``: the conjugate transpose of each matrix (Ember's dtypes are real,
    so the transpose of the last two dims)."""
    if self.dim() == 0:
        return self
    if self.dim() < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.dim()}-D tensor.")
    return self.mT


def _conj_t(self):
    if self.dim() != 2 and self.dim() != 0:
        hint = ". For batches of matrices, consider using tensor.mH" if self.dim() > 2 else "."
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.dim()}-D tensor{hint}")
    return self.t()


def _set_(self, source=None, storage_offset=0, size=None, stride=None):
    """``Tensor.set_(source)``: this tensor now shares ``source``'s data, shape and strides (an
    in-place edit, so refused on a leaf that requires grad while grad mode is on)."""
    if self.requires_grad and self.is_leaf and _C.is_grad_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if source is self:
        return self
    if source is None:
        source = _C.empty(0, dtype=self.dtype)
    elif not isinstance(source, Tensor):
        raise TypeError(f"set_(): argument 'source' must be Tensor, not {type(source).__name__}")
    if size is not None:
        source = source.as_strided(size, stride if stride is not None else _C.empty(size).stride(), storage_offset)
    self.data = source
    return self


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` over every dim but ``dim``, shaped to broadcast against ``v``
    (``dim=-1``: the norm of all of ``v``)."""
    if dim == -1:
        return v.norm(pow)
    keep = [d for d in range(v.dim()) if d != dim]
    return v.norm(pow, dim=keep, keepdim=True) if keep else v.abs()


def _weight_norm(v, g, dim=0):
    """``v * (g / ||v||)`` with the norm over every dim but ``dim`` (weight normalisation)."""
    return v * (g / norm_except_dim(v, 2, dim))


def _round_decimals(round_half_even):
    """``round(decimals=d)`` as torch computes it: ``round(x * 10^d) / 10^d`` (for ``d < 0``,
    ``round(x / 10^-d) * 10^-d``)."""

    def round(self, *, decimals=0):
        if decimals == 0:
            return round_half_even(self)
        scale = 10.0 ** abs(decimals)
        if decimals > 0:
            return round_half_even(self * scale) / scale
        return round_half_even(self / scale) * scale

    round.__doc__ = "Rounds half to even, to ``decimals`` decimal places."
    return round


# Table ops that torch offers only under ``torch.special`` (``ember.special`` binds them).
SPECIAL_ONLY = frozenset("""
bessel_j0 bessel_j1 bessel_y0 bessel_y1 modified_bessel_i0 modified_bessel_i1 modified_bessel_k0
modified_bessel_k1 scaled_modified_bessel_k0 scaled_modified_bessel_k1 airy_ai spherical_bessel_j0
ndtri log_ndtr erfcx entr zeta xlog1py chebyshev_polynomial_t chebyshev_polynomial_u
chebyshev_polynomial_v chebyshev_polynomial_w shifted_chebyshev_polynomial_t
shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w
hermite_polynomial_h hermite_polynomial_he laguerre_polynomial_l legendre_polynomial_p
""".split())


def install(namespace):
    """Adds the table ops and aliases to ``Tensor`` and the module namespace."""
    for name, code in _C.unary_ops():
        if name in SPECIAL_ONLY:
            continue
        if not hasattr(Tensor, name):
            setattr(Tensor, name, _unary_method(code, name))
        if not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", _unary_inplace(code, name))
        namespace.setdefault(name, _function_of(name))
    for name, code in _C.binary_ops():
        if name in _RENAMED or name in SPECIAL_ONLY:
            continue
        if not hasattr(Tensor, name):
            setattr(Tensor, name, _binary_method(code, name))
        if not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", _binary_inplace(code, name))
        namespace.setdefault(name, _function_of(name))
    for name, dunder in [("eq", "__eq__"), ("ne", "__ne__"), ("lt", "__lt__"), ("le", "__le__"),
                         ("gt", "__gt__"), ("ge", "__ge__")]:
        setattr(Tensor, name, _compare(dunder))
    for name in ("mul", "div"):
        if not hasattr(Tensor, name + "_"):
            code = dict(_C.binary_ops())[name]
            setattr(Tensor, name + "_", _binary_inplace(code, name))
    Tensor.pow_ = lambda self, exponent: self.__ipow__(exponent) or self
    for name in _FUNCTIONS:
        namespace.setdefault(name, _function_of(name))
    for alias, target in _ALIASES.items():
        if target is None:
            continue
        if hasattr(Tensor, target) and not hasattr(Tensor, alias):
            setattr(Tensor, alias, getattr(Tensor, target))
        namespace.setdefault(alias, _function_of(target))
    Tensor.round = _round_decimals(Tensor.round)
    from . import special
    Tensor.polygamma = lambda self, n: special.polygamma(n, self)
    Tensor.logit = special.logit
    Tensor.xlogy = special.xlogy
    for name in ("polygamma", "logit", "xlogy"):
        namespace.setdefault(name, getattr(special, name))
    Tensor.renorm = lambda self, p, dim, maxnorm: _C._renorm(self, float(p), dim, float(maxnorm))
    namespace.setdefault("renorm", Tensor.renorm)
    Tensor.mH = property(_adjoint)
    Tensor.H = property(_conj_t)
    Tensor.adjoint = _adjoint
    Tensor.set_ = _set_
    namespace.setdefault("adjoint", _adjoint)
    Tensor.vdot = lambda self, other: self.dot(other)
    namespace.setdefault("vdot", lambda input, other, *, out=None: input.dot(other) if out is None else _write_out(out, input.dot(other)))
    namespace.setdefault("norm_except_dim", norm_except_dim)
    namespace.setdefault("_weight_norm", _weight_norm)
    Tensor.__module__ = "ember"
