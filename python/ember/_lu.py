"""``torch.linalg``'s LU family and the ``_ex`` variants: ``lu_factor``, ``lu_factor_ex``,
``lu``, ``lu_solve``, ``inv_ex``, ``solve_ex``, ``cholesky_ex`` (the factorisations run in the
Rust core on ``faer``), plus ``tensorinv``, ``tensorsolve`` and ``vander``; and the older
top-level spellings ``torch.lu``, ``torch.lu_solve``, ``torch.lu_unpack`` with their Tensor
methods.

An ``_ex`` function reports a singular (or indefinite) matrix in ``info`` instead of raising,
unless ``check_errors=True``; ``info`` is the 1-based index of the first zero pivot (of the
first non-positive-definite leading minor for Cholesky), ``0`` where the matrix is fine."""

import math
import warnings

from . import _C


def _out(r, out):
    if out is None:
        return r
    if isinstance(r, tuple):
        for o, v in zip(out, r):
            o.copy_(v)
        return type(r)(*out)
    return out.copy_(r) or out


def _factor_ex(A, pivot):
    if hasattr(A, "dtype") and not A.dtype.is_floating_point and A.dim() >= 2:
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{A.type()[6:-6]}'")
    return _C._lu_factor_ex(A, pivot)


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    from .return_types import linalg_lu_factor_ex
    r = linalg_lu_factor_ex(*_factor_ex(A, pivot))
    if check_errors and bool((r.info != 0).any()):
        lu_factor(A, pivot=pivot)  # raises torch's error naming the pivot
    return _out(r, out)


def lu_factor(A, *, pivot=True, out=None):
    from .return_types import linalg_lu_factor
    LU, pivots, info = _factor_ex(A, pivot)
    bad = (info != 0).flatten().nonzero()
    if bad.numel():
        b = int(bad[0, 0])
        i = int(info.flatten()[b])
        which = f"(Batch element {b}): " if A.dim() > 2 else ""
        raise RuntimeError(
            f"torch.linalg.lu_factor: {which}U[{i},{i}] is zero and using it on lu_solve would result in a division "
            "by zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) or "
            "linalg.lu_factor_ex(A, pivot)")
    return _out(linalg_lu_factor(LU, pivots), out)


def lu(A, *, pivot=True, out=None):
    from .return_types import linalg_lu
    LU, pivots, _ = _factor_ex(A, pivot)
    return _out(linalg_lu(*_C._lu_unpack(LU, pivots)), out)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    return _out(_C._lu_solve(LU, pivots, B, left=left, adjoint=adjoint), out)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    from . import empty
    from .return_types import lu_unpack as _lu_unpack_t
    P, L, U = _C._lu_unpack(LU_data, LU_pivots)
    if not unpack_data:
        L = U = empty(0, dtype=LU_data.dtype)
    if not unpack_pivots:
        P = empty(0, dtype=LU_data.dtype)
    return _out(_lu_unpack_t(P, L, U), out)


def _identity_like(A):
    from . import eye
    n = A.shape[-1]
    return eye(n, dtype=A.dtype).expand(*A.shape[:-2], n, n)


def inv_ex(A, *, check_errors=False, out=None):
    from .linalg import inv
    from .return_types import linalg_inv_ex
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        return inv(A)  # torch's shape error
    LU, pivots, info = _factor_ex(A, True)
    if check_errors and bool((info != 0).any()):
        raise _C._LinAlgError(f"linalg.inv_ex: The diagonal element {int(info.flatten()[(info.flatten() != 0).nonzero()[0, 0]])} "
                              "is zero, the inversion could not be completed because the input matrix is singular.")
    # One factorisation for both the inverse and info (a singular matrix gives LAPACK's inf/NaN).
    return _out(linalg_inv_ex(_C._lu_solve(LU, pivots, _identity_like(A)), info), out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    from .linalg import solve
    from .return_types import linalg_solve_ex
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        return solve(A, B, left=left)  # torch's shape error
    LU, pivots, info = _factor_ex(A, True)
    if check_errors and bool((info != 0).any()):
        solve(A, B, left=left)  # raises torch's error naming the pivot
    vector = B.dim() == 1 or (left and B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    X = _C._lu_solve(LU, pivots, Bm, left=left, adjoint=False)
    return _out(linalg_solve_ex(X.squeeze(-1) if vector else X, info), out)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    from .linalg import cholesky
    from .return_types import linalg_cholesky_ex
    if check_errors:
        L = cholesky(A, upper=upper)
        from . import zeros, int32
        return _out(linalg_cholesky_ex(L, zeros(A.shape[:-2], dtype=int32)), out)
    return _out(linalg_cholesky_ex(*_C._cholesky_ex(A, upper)), out)


def tensorinv(A, ind=2, *, out=None):
    from .linalg import inv
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    m, n = math.prod(rows), math.prod(cols)
    if m != n:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == prod(self.shape[:ind]), "
                           f"but got {n} != {m}")
    return _out(inv(A.reshape(m, n)).reshape(*cols, *rows), out)


def tensorsolve(A, B, dims=None, *, out=None):
    from .linalg import solve
    if dims is not None:
        nd = A.dim()
        dims = [d % nd for d in dims]
        A = A.permute(*[d for d in range(nd) if d not in dims], *dims)
    rest = tuple(A.shape[B.dim():])
    m, n = B.numel(), math.prod(rest)
    if math.prod(A.shape[:B.dim()]) != m or tuple(A.shape[:B.dim()]) != tuple(B.shape) or m != n:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), "
                           f"but got {n} != {math.prod(A.shape[:B.dim()])}")
    return _out(solve(A.reshape(m, n), B.reshape(m)).reshape(*rest), out)


def vander(x, *, N=None):
    from . import cat, ones, bool as bool_
    if x.dtype == bool_:
        raise NotImplementedError("linalg.vander supports floating point, complex, and integer tensors, but got Bool")
    if x.dim() < 1:
        raise RuntimeError("N must be greater than 1.")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    # Integers compute in int64, as torch's. Columns x^0, x^1, ..., x^(N-1) as a cumulative
    # product, as torch computes them.
    x = x if x.dtype.is_floating_point else x.long()
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return cat([ones(*x.shape, 1, dtype=powers.dtype), powers], -1)


def _install(torch, Tensor):
    """``torch.lu`` (deprecated, still used), ``torch.lu_solve``, ``torch.lu_unpack`` and their
    Tensor methods."""

    def lu_old(A, pivot=True, get_infos=False, out=None):
        warnings.warn("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be "
                      "removed in a future PyTorch release.", UserWarning, stacklevel=2)
        from .return_types import _lu_with_info
        LU, pivots, info = lu_factor_ex(A, pivot=pivot, check_errors=not get_infos)
        return _lu_with_info(LU, pivots, info) if get_infos else (LU, pivots)

    def lu_solve_old(b, LU_data, LU_pivots, *, out=None):
        return lu_solve(LU_data, LU_pivots, b, out=out)

    torch.lu, torch.lu_solve, torch.lu_unpack = lu_old, lu_solve_old, lu_unpack
    Tensor.lu = lambda self, pivot=True, get_infos=False: lu_old(self, pivot, get_infos)
    Tensor.lu_solve = lambda self, LU_data, LU_pivots: lu_solve(LU_data, LU_pivots, self)
