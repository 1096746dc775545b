"""``torch.special``: the special functions under their ``special`` names."""

from . import _C


def gammaln(input):
    return input.lgamma()


def digamma(input):
    return input.digamma()


psi = digamma


def polygamma(n, input):
    """``polygamma(n, x)``: ``digamma`` for n = 0, trigamma for n = 1."""
    if n == 0:
        return input.digamma()
    if n == 1:
        return input.trigamma()
    raise NotImplementedError(f"polygamma(n={n}) is implemented for n = 0 and 1 only")


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
