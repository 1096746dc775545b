"""``torch.special``: the special functions under their ``special`` names."""

from . import _C


def gammaln(input):
    return input.lgamma()


def digamma(input):
    return input.digamma()


psi = digamma


def polygamma(n, input, *, out=None):
    """``polygamma(n, x)``, the n-th derivative of digamma (differentiable)."""
    r = _C._polygamma(input, int(n))
    return r if out is None else out.copy_(r) or out


def erf(input):
    return input.erf()


def erfinv(input):
    return input.erfinv()


def expit(input):
    return input.sigmoid()


def logit(input, eps=None):
    x = input if eps is None else input.clamp(eps, 1 - eps)
    return (x / (1 - x)).log()


def xlogy(input, other):
    if not isinstance(other, _C.Tensor):
        other = _C.tensor(float(other), dtype=input.dtype)
    return _C.where(input == 0, _C.zeros((), dtype=(input * other).dtype), input * other.log())


def log_softmax(input, dim, dtype=None):
    return input.log_softmax(dim) if dtype is None else input.to(dtype).log_softmax(dim)


def softmax(input, dim, dtype=None):
    return input.softmax(dim) if dtype is None else input.to(dtype).softmax(dim)


def i0(input):
    return input.i0()


def i1(input):
    return input.i1()


def i0e(input):
    """``exp(-|x|) I_0(x)``, finite for every x (an op of the table: it has a gradient)."""
    return input.i0e()


def i1e(input):
    """``exp(-|x|) I_1(x)``."""
    return input.i1e()


def multigammaln(input, p):
    """``log Γ_p(x) = p (p - 1) / 4 log π + Σ_j lgamma(x - j / 2)``."""
    import math
    from . import arange
    j = arange(p, dtype=input.dtype) / 2
    return (input.unsqueeze(-1) - j).lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
