"""``torch.linalg``: norms (``vector_norm``, ``matrix_norm`` for "fro", 1, -1, inf, -inf,
``norm``), ``cross``, ``matrix_power``, and the decompositions built on ``faer``: ``inv``,
``solve``, ``det``, ``slogdet``, ``cholesky`` (batched, differentiable). ``qr``, ``svd``,
``eigh``, ``lstsq``, ``pinv``, ``matrix_rank`` are not built yet; they raise
``NotImplementedError`` naming themselves."""

import math

from . import _C


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    if dtype is not None:
        x = x.to(dtype)
    r = _C._vector_norm(x, float(ord), dim, keepdim)
    return r if out is None else out.copy_(r) or out


def _ord_name(ord):
    if ord == "fro" or ord == "nuc":
        return ord
    if ord in (math.inf, -math.inf):
        return "inf" if ord > 0 else "-inf"
    return str(int(ord)) if float(ord) == int(ord) else str(ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    if dtype is not None:
        A = A.to(dtype)
    r = _C._matrix_norm(A, _ord_name(ord), dim[0], dim[1], keepdim)
    return r if out is None else out.copy_(r) or out


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """``vector_norm`` for 1-D (or ``dim`` an int / ``ord`` None), ``matrix_norm`` for 2 dims."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A if dim is not None or A.dim() <= 2 else A.flatten(), 2, dim, keepdim, dtype=dtype, out=out)
    if dim is None:
        dim = tuple(range(A.dim())) if A.dim() <= 2 else None
        if dim is None:
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D")
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype, out=out)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype, out=out)


def cross(input, other, *, dim=-1, out=None):
    r = _C._cross(input, other, dim=dim)
    return r if out is None else out.copy_(r) or out


def matrix_power(A, n, *, out=None):
    r = _C._matrix_power(inv(A), -n) if n < 0 else _C._matrix_power(A, n)
    return r if out is None else out.copy_(r) or out


LinAlgError = _C._LinAlgError  # a RuntimeError, raised for singular / indefinite input


def inv(A, *, out=None):
    r = _C._inv(A)
    return r if out is None else out.copy_(r) or out


def solve(A, B, *, left=True, out=None):
    if not left:
        # X A = B  <=>  A^T X^T = B^T
        r = _C._solve(A.mT, B.mT).mT
    else:
        r = _C._solve(A, B)
    return r if out is None else out.copy_(r) or out


def det(A, *, out=None):
    r = _C._det(A)
    return r if out is None else out.copy_(r) or out


def slogdet(A, *, out=None):
    from .return_types import slogdet as _slogdet
    return _slogdet(*_C._slogdet(A))


def cholesky(A, *, upper=False, out=None):
    r = _C._cholesky(A, upper)
    return r if out is None else out.copy_(r) or out


def _missing(name):
    def f(*args, **kwargs):
        raise NotImplementedError(f"torch.linalg.{name} is not implemented in Ember yet (decompositions are planned on faer)")
    f.__name__ = name
    return f


for _name in ("lstsq", "qr", "svd", "svdvals", "eigh", "eigvalsh", "pinv", "matrix_rank"):
    globals()[_name] = _missing(_name)
