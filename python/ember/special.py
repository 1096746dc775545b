"""``torch.special``: the special functions under their ``special`` names.

Each is an entry of the core's elementwise op tables (forward in f64 per element, the gradient
PyTorch defines, or none where PyTorch marks the function non-differentiable: the Airy and
spherical Bessel functions, the scaled ``K``, the orthogonal polynomials)."""

import math

from . import _C
from ._tensor_methods import _write_out

_UNARY = dict(_C.unary_ops())
_BINARY = dict(_C.binary_ops())


def _as_tensor(value, name, arg):
    if isinstance(value, _C.Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return _C.tensor(value)
    raise TypeError(f"special_{name}(): argument '{arg}' must be Tensor, not {type(value).__name__}")


def _unary(name, method=None):
    """``special.name`` as unary table op ``name``, or as Tensor method ``method``."""
    code = None if method else _UNARY[name]

    def function(input, *, out=None):
        x = _as_tensor(input, name, "input")
        result = getattr(x, method)() if method else _C._unary(x, code)
        return result if out is None else _write_out(out, result)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.special.{name}(input, *, out=None)``."
    return function


def _binary(name, first="input", second="other", table_name=None):
    code = _BINARY[table_name or name]

    def function(*args, out=None, **kwargs):
        if len(args) + len(kwargs) != 2:
            raise TypeError(f"special_{name}() takes 2 arguments ({first}, {second}), got {len(args) + len(kwargs)}")
        values = list(args) + [kwargs.pop(k) for k in (first, second) if k in kwargs]
        if kwargs or len(values) != 2:
            raise TypeError(f"special_{name}() got an unexpected keyword argument {next(iter(kwargs), '')!r}")
        a, b = values
        if not isinstance(a, _C.Tensor) and not isinstance(b, _C.Tensor):
            raise TypeError(f"special_{name}() received an invalid combination of arguments: "
                            f"at least one of ({first}, {second}) must be a Tensor")
        result = _C._binary(_as_tensor(a, name, first), b, code)
        return result if out is None else _write_out(out, result)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.special.{name}({first}, {second}, *, out=None)``."
    return function


# ---- Bessel, Airy and the normal distribution (unary table entries)
bessel_j0 = _unary("bessel_j0")
bessel_j1 = _unary("bessel_j1")
bessel_y0 = _unary("bessel_y0")
bessel_y1 = _unary("bessel_y1")
modified_bessel_i0 = _unary("modified_bessel_i0")
modified_bessel_i1 = _unary("modified_bessel_i1")
modified_bessel_k0 = _unary("modified_bessel_k0")
modified_bessel_k1 = _unary("modified_bessel_k1")
scaled_modified_bessel_k0 = _unary("scaled_modified_bessel_k0")
scaled_modified_bessel_k1 = _unary("scaled_modified_bessel_k1")
airy_ai = _unary("airy_ai")
spherical_bessel_j0 = _unary("spherical_bessel_j0")
ndtri = _unary("ndtri")
log_ndtr = _unary("log_ndtr")
erfcx = _unary("erfcx")
entr = _unary("entr")
i0 = _unary("i0", "i0")
i0e = _unary("i0e", "i0e")
i1 = _unary("i1", "i1")
i1e = _unary("i1e", "i1e")
erf = _unary("erf", "erf")
erfc = _unary("erfc", "erfc")
erfinv = _unary("erfinv", "erfinv")
expm1 = _unary("expm1", "expm1")
log1p = _unary("log1p", "log1p")
gammaln = _unary("gammaln", "lgamma")
digamma = _unary("digamma", "digamma")
psi = digamma
expit = _unary("expit", "sigmoid")
sinc = _unary("sinc", "sinc")

# ---- two-argument functions (binary table entries, broadcasting, a number on either side)
zeta = _binary("zeta", "input", "other")
gammainc = _binary("gammainc", "input", "other", "igamma")
gammaincc = _binary("gammaincc", "input", "other", "igammac")
xlog1py = _binary("xlog1py", "input", "other")
chebyshev_polynomial_t = _binary("chebyshev_polynomial_t", "input", "n")
chebyshev_polynomial_u = _binary("chebyshev_polynomial_u", "input", "n")
chebyshev_polynomial_v = _binary("chebyshev_polynomial_v", "input", "n")
chebyshev_polynomial_w = _binary("chebyshev_polynomial_w", "input", "n")
shifted_chebyshev_polynomial_t = _binary("shifted_chebyshev_polynomial_t", "input", "n")
shifted_chebyshev_polynomial_u = _binary("shifted_chebyshev_polynomial_u", "input", "n")
shifted_chebyshev_polynomial_v = _binary("shifted_chebyshev_polynomial_v", "input", "n")
shifted_chebyshev_polynomial_w = _binary("shifted_chebyshev_polynomial_w", "input", "n")
hermite_polynomial_h = _binary("hermite_polynomial_h", "input", "n")
hermite_polynomial_he = _binary("hermite_polynomial_he", "input", "n")
laguerre_polynomial_l = _binary("laguerre_polynomial_l", "input", "n")
legendre_polynomial_p = _binary("legendre_polynomial_p", "input", "n")


def ndtr(input, *, out=None):
    """``Φ(x) = erfc(-x / sqrt 2) / 2``, exact in the lower tail."""
    result = erfc(_as_tensor(input, "ndtr", "input") * (-1 / math.sqrt(2))) * 0.5
    return result if out is None else _write_out(out, result)


def polygamma(n, input, *, out=None):
    """``polygamma(n, x)``, the n-th derivative of digamma (differentiable)."""
    r = _C._polygamma(input, int(n))
    return r if out is None else _write_out(out, r)


def exp2(input, *, out=None):
    result = 2 ** _as_tensor(input, "exp2", "input")
    return result if out is None else _write_out(out, result)


def round(input, *, decimals=0, out=None):
    result = _as_tensor(input, "round", "input").round(decimals=decimals)
    return result if out is None else _write_out(out, result)


def logit(input, eps=None, *, out=None):
    x = input if eps is None else input.clamp(eps, 1 - eps)
    result = (x / (1 - x)).log()
    return result if out is None else _write_out(out, result)


def xlogy(input, other, *, out=None):
    if not isinstance(other, _C.Tensor):
        other = _C.tensor(float(other), dtype=input.dtype)
    if not isinstance(input, _C.Tensor):
        input = _C.tensor(float(input), dtype=other.dtype)
    result = _C.where(input == 0, _C.zeros((), dtype=(input * other).dtype), input * other.log())
    result = _C.where(other.isnan(), other.to(result.dtype), result)
    return result if out is None else _write_out(out, result)


def logsumexp(input, dim, keepdim=False, *, out=None):
    result = input.logsumexp(dim, keepdim=keepdim)
    return result if out is None else _write_out(out, result)


def log_softmax(input, dim, *, dtype=None):
    return input.log_softmax(dim) if dtype is None else input.to(dtype).log_softmax(dim)


def softmax(input, dim, *, dtype=None):
    return input.softmax(dim) if dtype is None else input.to(dtype).softmax(dim)


def multigammaln(input, p, *, out=None):
    """``log Γ_p(x) = p (p - 1) / 4 log π + Σ_j lgamma(x - j / 2)``."""
    from . import arange
    j = arange(p, dtype=input.dtype) / 2
    result = (input.unsqueeze(-1) - j).lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return result if out is None else _write_out(out, result)
