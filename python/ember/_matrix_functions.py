"""Matrix functions composed from Ember's differentiable ops, so their gradients come from
autograd: ``matrix_exp`` (Padé approximant with scaling and squaring, Higham 2005) and
``householder_product`` (``orgqr``: the first columns of a product of Householder
reflectors). Also ``geqrf`` (LAPACK's compact QR, not differentiable, as in torch) from NumPy's
LAPACK binding. ``nn.utils.parametrizations.orthogonal`` is built on these."""

import numpy as np

from . import _C
from .return_types import _make

geqrf_result = _make("geqrf", ["a", "tau"])

# Higham (2005), "The scaling and squaring method for the matrix exponential revisited":
# Padé degree m and the 1-norm up to which it is accurate to unit roundoff.
_PADE = {
    3: [120.0, 60.0, 12.0, 1.0],
    5: [30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0],
    7: [17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0],
    9: [17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0, 110880.0,
        3960.0, 90.0, 1.0],
    13: [64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
         129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
         40840800.0, 960960.0, 16380.0, 182.0, 1.0],
}
_THETA_F64 = [(3, 1.495585217958292e-2), (5, 2.539398330063230e-1), (7, 9.504178996162932e-1),
              (9, 2.097847961257068e0), (13, 5.371920351148152e0)]
_THETA_F32 = [(3, 4.258730016922831e-1), (5, 1.880152677804762e0), (7, 3.925724783138660e0)]


def _eye_like(A):
    n = A.shape[-1]
    return _C.eye(n, dtype=A.dtype).expand(*A.shape)


def _pade(A, m):
    """Numerator and denominator of the degree-``m`` Padé approximant of exp(A)."""
    b = _PADE[m]
    eye = _eye_like(A)
    A2 = A @ A
    if m == 13:
        A4 = A2 @ A2
        A6 = A4 @ A2
        U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
        V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye
        return U, V
    powers = [eye, A2]
    while len(powers) <= m // 2:
        powers.append(powers[-1] @ A2)
    U = A @ sum(b[2 * j + 1] * powers[j] for j in range(m // 2 + 1))
    V = sum(b[2 * j] * powers[j] for j in range(m // 2 + 1))
    return U, V


def matrix_exp(A):
    """``torch.linalg.matrix_exp``: exp of each square matrix of ``A`` (``[*, n, n]``)."""
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_exp: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.dim() >= 2 else 1} by {A.shape[-1] if A.dim() >= 1 else 1} matrices")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.matrix_exp: Expected a floating point tensor, got {A.dtype}")
    if A.numel() == 0:
        return A.clone()
    # The 1-norm (largest column sum) of the largest matrix of the batch picks one degree and
    # one scaling for the batch: a smaller matrix is then approximated at least as accurately.
    norm = float(A.detach().abs().sum(-2).amax())
    table = _THETA_F64 if A.dtype == _C.float64 else _THETA_F32
    for m, theta in table:
        if norm <= theta:
            U, V = _pade(A, m)
            return _C._solve(V - U, V + U)
    m, theta = table[-1]
    s = max(0, int(np.ceil(np.log2(norm / theta))))
    U, V = _pade(A / (2.0 ** s), m)
    X = _C._solve(V - U, V + U)
    for _ in range(s):
        X = X @ X
    return X


def householder_product(A, tau, *, out=None):
    """``torch.linalg.householder_product``: the first ``n`` columns of ``H_1 ... H_k`` where
    ``H_i = I - tau_i v_i v_i^T`` and ``v_i`` is column ``i`` of ``A`` below the diagonal with a
    1 on it (``A``: ``[*, m, n]``, ``tau``: ``[*, k]``, ``k <= n <= m``)."""
    if A.dim() < 2:
        raise RuntimeError("torch.linalg.householder_product: input must have at least 2 dimensions.")
    m, n = A.shape[-2], A.shape[-1]
    k = tau.shape[-1] if tau.dim() > 0 else 1
    if m < n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if n < k:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if A.dim() - tau.dim() != 1 or tuple(A.shape[:-2]) != tuple(tau.shape[:-1]):
        raise RuntimeError(f"torch.linalg.householder_product: Expected batch dimensions of tau to be equal to "
                           f"input.shape[:-2], but got {tuple(tau.shape[:-1])}")
    if A.dtype != tau.dtype:
        raise RuntimeError(f"torch.linalg.householder_product: tau dtype {tau.dtype} does not match input dtype "
                           f"{A.dtype}")
    # Columns of V are the reflectors' vectors: the strict lower triangle plus a unit diagonal.
    V = A.tril(-1) + _C.eye(m, n, dtype=A.dtype)
    Q = _C.eye(m, n, dtype=A.dtype).expand(*A.shape)
    # Q = H_1 (H_2 (... (H_k I))): apply the reflectors right to left, each a rank-1 update
    # Q - tau_i v_i (v_i^T Q) costing O(m n).
    for i in reversed(range(k)):
        v = V[..., :, i:i + 1]                        # [*, m, 1]
        w = v.mT @ Q                                  # [*, 1, n]
        Q = Q - tau[..., i:i + 1].unsqueeze(-1) * (v @ w)
    return Q if out is None else out.copy_(Q) or out


def geqrf(input, *, out=None):
    """``torch.geqrf``: LAPACK's compact QR (R on and above the diagonal, the Householder
    vectors below it, and their scales ``tau``). Not differentiable, as in torch."""
    if input.dim() < 2:
        raise RuntimeError("geqrf: input must have at least 2 dimensions.")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"geqrf: Expected a floating point tensor, got {input.dtype}")
    if input.requires_grad and _C.is_grad_enabled():
        raise RuntimeError("the derivative for 'geqrf' is not implemented.")
    x = input.detach().numpy()
    m, n = x.shape[-2], x.shape[-1]
    flat = x.reshape(-1, m, n)
    a = np.empty_like(flat)
    tau = np.empty((flat.shape[0], min(m, n)), dtype=flat.dtype)
    for i, mat in enumerate(flat):
        # NumPy's raw mode is LAPACK's geqrf output, transposed (Fortran order).
        h, t = np.linalg.qr(mat, mode="raw")
        a[i], tau[i] = h.T, t
    res = geqrf_result(_C.from_numpy(a.reshape(x.shape).copy()),
                       _C.from_numpy(tau.reshape(*x.shape[:-2], min(m, n)).copy()))
    if out is not None:
        out[0].copy_(res.a)
        out[1].copy_(res.tau)
        return geqrf_result(*out)
    return res
