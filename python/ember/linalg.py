"""``torch.linalg``: norms (``vector_norm``, ``matrix_norm``, ``norm``, ``cond``), ``cross``,
``matrix_power``, ``multi_dot``, ``vecdot``, and the decompositions built on ``faer``: ``inv``,
``solve``, ``solve_triangular``, ``det``, ``slogdet``, ``cholesky``, ``qr``, ``svd``,
``svdvals``, ``eigh``, ``eigvalsh``, ``lstsq``, ``pinv``, ``matrix_rank`` (batched, real,
differentiable where torch is); ``matrix_exp`` and ``householder_product`` composed from
them. Also the older top-level spellings (``torch.svd``, ``torch.qr``, ``torch.pinverse``,
``torch.logdet``, ``torch.cholesky_solve``, ``torch.geqrf``, ...) and their Tensor methods."""

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


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    r = _C._solve_triangular(A, B, upper=upper, left=left, unitriangular=unitriangular)
    return r if out is None else out.copy_(r) or out


def qr(A, mode="reduced", *, out=None):
    from .return_types import linalg_qr
    return linalg_qr(*_C._qr(A, mode))


def svd(A, full_matrices=True, *, driver=None, out=None):
    from .return_types import linalg_svd
    return linalg_svd(*_C._svd(A, full_matrices))


def svdvals(A, *, driver=None, out=None):
    r = _C._svdvals(A)
    return r if out is None else out.copy_(r) or out


def eigh(A, UPLO="L", *, out=None):
    from .return_types import linalg_eigh
    return linalg_eigh(*_C._eigh(A, UPLO))


def eigvalsh(A, UPLO="L", *, out=None):
    r = _C._eigvalsh(A, UPLO)
    return r if out is None else out.copy_(r) or out


def _tolerances(atol, rtol, rcond=None):
    if rcond is not None:
        rtol = rcond
    as_float = lambda v: None if v is None else float(v)
    return as_float(atol), as_float(rtol)


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None, rcond=None):
    atol, rtol = _tolerances(atol, rtol, rcond)
    if hermitian:
        # From the eigendecomposition: 1/L where |L| is above the tolerance.
        L, V = eigh(A)
        absl = L.abs()
        eps = 2.220446049250313e-16 if A.dtype.itemsize == 8 else 1.1920928955078125e-07
        r_tol = rtol if rtol is not None else (0.0 if atol is not None and atol > 0 else eps * A.shape[-1])
        tol = (absl.amax(-1, keepdim=True) * r_tol).clamp(min=atol or 0.0)
        keep = absl > tol
        inv_l = keep.to(L.dtype) / L.where(keep, L.new_ones(()))
        r = (V * inv_l.unsqueeze(-2)) @ V.mT
    else:
        r = _C._pinv(A, atol, rtol)
    return r if out is None else out.copy_(r) or out


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _tolerances(atol, rtol)
    if hermitian:
        s = eigvalsh(A).abs().sort(-1, descending=True).values
        eps = 2.220446049250313e-16 if A.dtype.itemsize == 8 else 1.1920928955078125e-07
        r_tol = rtol if rtol is not None else (0.0 if atol is not None and atol > 0 else eps * A.shape[-1])
        tol_t = (s[..., :1] * r_tol).clamp(min=atol or 0.0)
        r = (s > tol_t).sum(-1)
    else:
        r = _C._matrix_rank(A, atol, rtol)
    return r if out is None else out.copy_(r) or out


def lstsq(A, B, rcond=None, *, driver=None):
    """``(solution, residuals, rank, singular_values)`` as torch's CPU drivers fill them:
    ``gelsy`` (the default) gives the rank; ``gelsd``/``gelss`` also the singular values; all
    but ``gelsy`` give the residuals when A is tall and full rank."""
    from .return_types import linalg_lstsq
    from . import empty, int64
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    X = _C._lstsq(A, B)
    m, n = A.shape[-2], A.shape[-1]
    empty_f = empty(0, dtype=X.dtype)
    rank = matrix_rank(A.detach(), rtol=rcond) if driver != "gels" else empty(0, dtype=int64)
    sv = svdvals(A.detach()) if driver in ("gelsd", "gelss") else empty_f
    if driver != "gelsy" and m > n and bool((matrix_rank(A.detach()) == n).all()):
        vec = B.dim() == A.dim() - 1
        R = A @ (X.unsqueeze(-1) if vec else X) - (B.unsqueeze(-1) if vec else B)
        res = (R * R).sum(-2)
    else:
        res = empty_f
    return linalg_lstsq(X, res, rank, sv)


def cond(A, p=None, *, out=None):
    if p is None or p == 2 or p == -2:
        s = svdvals(A)
        r = s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    else:
        r = matrix_norm(A, p) * matrix_norm(inv(A), p)
    return r if out is None else out.copy_(r) or out


def multi_dot(tensors, *, out=None):
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0], tensors[-1]
    ts = [first.unsqueeze(0) if first.dim() == 1 else first] + list(tensors[1:-1]) + [last.unsqueeze(-1) if last.dim() == 1 else last]
    r = ts[0]
    for t in ts[1:]:
        r = r @ t
    if first.dim() == 1:
        r = r.squeeze(0)
    if last.dim() == 1:
        r = r.squeeze(-1)
    return r if out is None else out.copy_(r) or out


def vecdot(x, y, *, dim=-1, out=None):
    r = (x * y).sum(dim)
    return r if out is None else out.copy_(r) or out


def matmul(input, other, *, out=None):
    r = input @ other
    return r if out is None else out.copy_(r) or out


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


from ._matrix_functions import householder_product, matrix_exp  # noqa: E402
from ._lu import (cholesky_ex, inv_ex, lu, lu_factor, lu_factor_ex, lu_solve, solve_ex, tensorinv,  # noqa: E402, F401
                  tensorsolve, vander)


def _install(torch, Tensor):
    """The top-level spellings torch kept from before ``torch.linalg``, and their methods."""
    from .return_types import svd as _svd_t

    def svd_old(input, some=True, compute_uv=True):
        U, S, Vh = _C._svd(input, not some)
        if not compute_uv:
            from . import zeros
            m, n = input.shape[-2], input.shape[-1]
            U = zeros(*input.shape[:-2], m, m if not some else min(m, n), dtype=input.dtype)
            V = zeros(*input.shape[:-2], n, n if not some else min(m, n), dtype=input.dtype)
            return _svd_t(U, S.detach(), V)
        return _svd_t(U, S, Vh.mT)

    def qr_old(input, some=True):
        # Removed in torch 2.x: the same error, so programs learn the replacement.
        raise RuntimeError(
            "This function was deprecated since version 1.9 and is now removed. `torch.qr` is deprecated in favor of "
            "`torch.linalg.qr` and the boolean parameter `some` has been replaced with a string parameter `mode`.\n\n"
            "Q, R = torch.qr(A) should be replaced with:\nQ, R = torch.linalg.qr(A, mode='reduced')\n\nand\n\n"
            "Q, R = torch.qr(A, some=False) should be replaced with:\nQ, R = torch.linalg.qr(A, mode='complete')\n\n"
            f"Since `some` was set to {some}, use mode='{'reduced' if some else 'complete'}'."
        )

    def cholesky_solve(B, L, upper=False):
        # A = L L^T (or U^T U): two triangular solves.
        if upper:
            Y = solve_triangular(L.mT, B, upper=False)
            return solve_triangular(L, Y, upper=True)
        Y = solve_triangular(L, B, upper=False)
        return solve_triangular(L.mT, Y, upper=True)

    def cholesky_inverse(L, upper=False):
        from . import eye
        return cholesky_solve(eye(L.shape[-1], dtype=L.dtype), L, upper)

    def logdet(input):
        # log|det| where det > 0, NaN where it is negative (-inf at 0 comes from log|det|).
        sign, logabs = slogdet(input)
        return logabs.masked_fill(sign < 0, float("nan"))

    fns = {
        "svd": svd_old, "qr": qr_old, "pinverse": lambda input, rcond=1e-15: pinv(input, rtol=rcond),
        "logdet": logdet, "slogdet": slogdet, "cholesky_solve": cholesky_solve,
        "cholesky_inverse": cholesky_inverse, "matrix_power": matrix_power,
    }
    from ._matrix_functions import geqrf
    fns.update({"matrix_exp": matrix_exp, "geqrf": geqrf, "orgqr": householder_product})
    for name, f in fns.items():
        setattr(torch, name, f)
        setattr(Tensor, name, f)
    from . import _lu
    _lu._install(torch, Tensor)
