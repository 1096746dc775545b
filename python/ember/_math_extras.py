"""Math and structure functions of ``torch`` composed from Ember's differentiable ops:
``deg2rad``, ``exp2``, ``fmax``, ``float_power``, ``isin``, ``inner``, ``cov``, ``quantile``,
``tril_indices``, ``cartesian_prod``, ``block_diag``, window functions, ``trapezoid``, the
``*_scatter`` functions, ``index_reduce``, ``put``, and the small predicates scripts ask
(``is_signed``, ``is_cpu``, ...). Each follows PyTorch's documented signature and result
dtype; gradients come from the ops they are made of.
"""

import builtins
import math
import sys

from . import _C

Tensor = _C.Tensor
E = _C  # the ember module once install() ran (its functions include the Python-made ones)
_LN2 = math.log(2.0)


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return E.tensor(x, dtype=like.dtype) if like is not None and isinstance(x, (int, float)) and like.dtype.is_floating_point else E.tensor(x)


def _float(x):
    """``x`` itself when floating, else converted to the default float dtype (torch's unary float
    ops promote integers)."""
    return x if x.dtype.is_floating_point else x.to(E.get_default_dtype())


# ---- elementwise
def deg2rad(input):
    return _float(input) * (math.pi / 180.0)


def rad2deg(input):
    return _float(input) * (180.0 / math.pi)


def exp2(input):
    return (_float(input) * _LN2).exp()


def logaddexp2(input, other):
    return E.logaddexp(input * _LN2, _t(other, input) * _LN2) / _LN2


def ldexp(input, other):
    return _float(input) * E.pow(2.0, _float(_t(other)))


def fmax(input, other):
    """The larger of each pair, ignoring a NaN (``torch.fmax``); a tie splits the gradient."""
    other = _t(other, input)
    return E.where(other.isnan(), input, E.where(input.isnan(), other, E.maximum(input, other)))


def fmin(input, other):
    other = _t(other, input)
    return E.where(other.isnan(), input, E.where(input.isnan(), other, E.minimum(input, other)))


def float_power(input, exponent):
    """``input ** exponent`` in float64 (``torch.float_power``)."""
    base = input.double() if isinstance(input, Tensor) else E.tensor(float(input), dtype=E.float64)
    exp = exponent.double() if isinstance(exponent, Tensor) else float(exponent)
    return base.pow(exp)


def signbit(input):
    if input.dtype.is_floating_point:
        return E.copysign(E.ones_like(input), input) < 0
    return input < 0


def isposinf(input):
    return input.isinf() & (input > 0) if input.dtype.is_floating_point else E.zeros_like(input, dtype=E.bool)


def isneginf(input):
    return input.isinf() & (input < 0) if input.dtype.is_floating_point else E.zeros_like(input, dtype=E.bool)


def isreal(input):
    return E.ones_like(input, dtype=E.bool)


def positive(input):
    if input.dtype == E.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def frexp(input):
    """Mantissa in [0.5, 1) and integer exponent with ``input = mantissa * 2**exponent``."""
    import numpy as np
    from .return_types import frexp as _frexp
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = np.frexp(input.detach().numpy())
    return _frexp(E.tensor(m, dtype=input.dtype), E.tensor(e.astype(np.int32)))


def nextafter(input, other):
    import numpy as np
    other = _t(other, input)
    r = np.nextafter(input.detach().numpy(), other.detach().to(input.dtype).numpy())
    return E.tensor(r, dtype=input.dtype)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of ``elements`` occurs in ``test_elements`` (binary search in the
    sorted test values)."""
    del assume_unique
    e = elements if isinstance(elements, Tensor) else E.tensor(elements)
    s = test_elements if isinstance(test_elements, Tensor) else E.tensor(test_elements)
    s = s.detach().reshape(-1)
    if s.numel() == 0:
        found = E.zeros_like(e, dtype=E.bool)
    else:
        dtype = promote_types(e.dtype, s.dtype)
        e_, s_ = e.detach().to(dtype), s.to(dtype).sort().values
        pos = E.searchsorted(s_, e_.reshape(-1)).clamp(max=s_.numel() - 1)
        found = (s_[pos] == e_.reshape(-1)).reshape(e.shape)
    return ~found if invert else found


# ---- products and statistics
def inner(input, other):
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return E.tensordot(input, other, dims=([-1], [-1]))


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    if vec1.dim() != 1 or vec2.dim() != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.dim()}-D" if vec1.dim() != 1
                           else f"addr: Expected 1-D argument vec2, but got {vec2.dim()}-D")
    prod = vec1.outer(vec2)
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return prod.expand_as(input) * 1 if input.shape != prod.shape else prod
    return (input if beta == 1 else input * beta) + prod


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    prod = batch1.bmm(batch2).sum(0)
    prod = prod if alpha == 1 else prod * alpha
    return prod if beta == 0 else (input if beta == 1 else input * beta) + prod


def dist(input, other, p=2):
    return (input - other).norm(p)


def cross(input, other, dim=None):
    """``torch.cross``: without ``dim``, the first dim of size 3 (torch's deprecated default)."""
    from . import linalg
    if dim is None:
        shape = E.broadcast_shapes(input.shape, other.shape)
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise RuntimeError(f"no dimension of size 3 in input")
        dim = dims[0]
    return linalg.cross(input, other, dim=dim)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of ``input`` (observations in columns)."""
    if input.dim() > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an input with {input.dim()} dimensions")
    x = _float(input)
    x = x.reshape(1, -1) if x.dim() < 2 else x
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        mean = x.mean(1, keepdim=True)
        norm = n - correction
        xc = x - mean
        c = xc.matmul(xc.t()) / norm
    else:
        wsum = w.sum()
        mean = (x * w).sum(1, keepdim=True) / wsum
        if correction == 0:
            norm = wsum
        elif aweights is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * (w * aweights.to(x.dtype)).sum() / wsum
        xc = x - mean
        c = (xc * w).matmul(xc.t()) / norm
    return c.squeeze() if input.dim() < 2 else c


def corrcoef(input):
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal()
    stddev = d.sqrt()
    c = c / stddev.unsqueeze(1)
    c = c / stddev.unsqueeze(0)
    return c.clamp(-1, 1)


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor)
    qt = E.tensor(q, dtype=input.dtype) if scalar_q else q.to(input.dtype)
    if qt.dim() > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if ((qt < 0) | (qt > 1)).any():
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}" if scalar_q
                           else f"{name}() q values must be in the range [0, 1]")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. Found '{interpolation}'")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else dim % builtins.max(x.dim(), 1)
    if x.dim() == 0:
        x = x.reshape(1)
    x = x.movedim(d, -1)
    n = x.shape[-1]
    if n == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    srt = x.sort(-1).values  # NaNs sort last
    nan = x.isnan()
    count = (~nan).sum(-1, keepdim=True).to(x.dtype) if ignore_nan else E.full(x.shape[:-1] + (1,), float(n), dtype=x.dtype)
    qs = qt.reshape(-1)
    # [.., 1] * [nq] -> [.., nq] ranks
    rank = qs * (count - 1).clamp(min=0)
    if interpolation == "lower":
        rank = rank.floor()
    elif interpolation == "higher":
        rank = rank.ceil()
    elif interpolation == "nearest":
        rank = rank.round()
    lo = rank.floor().long().clamp(0, n - 1)
    hi = rank.ceil().long().clamp(0, n - 1)
    vlo, vhi = srt.gather(-1, lo), srt.gather(-1, hi)
    if interpolation == "midpoint":
        frac = E.where(hi > lo, E.full_like(rank, 0.5), E.zeros_like(rank))
    else:
        frac = rank - lo.to(x.dtype)
    out = vlo + (vhi - vlo) * frac
    if ignore_nan:
        out = E.where(count == 0, E.full_like(out, float("nan")), out)
    else:
        out = E.where(nan.any(-1, keepdim=True), E.full_like(out, float("nan")), out)
    # [.., nq] -> [nq, ..]
    out = out.movedim(-1, 0)
    if keepdim:
        if dim is None:
            out = out.reshape((qs.numel(),) + (1,) * input.dim())
        else:
            out = out.unsqueeze(d + 1)
    if scalar_q or qt.dim() == 0:
        out = out.squeeze(0)
    return out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """``(hist, bin_edges)``: counts (or weight sums) of ``input`` in ``bins`` equal bins over
    ``range`` (default: min to max), or in the bins between the edges of a tensor ``bins``."""
    from .return_types import histogram as _histogram
    x = input.detach().reshape(-1)
    if isinstance(bins, Tensor):
        edges = bins.to(x.dtype)
    else:
        lo, hi = range if range is not None else ((x.min().item(), x.max().item()) if x.numel() else (0.0, 0.0))
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = E.linspace(lo, hi, bins + 1, dtype=x.dtype)
    nb = edges.numel() - 1
    idx = E.searchsorted(edges, x, right=True) - 1
    idx = E.where(x == edges[-1], E.full_like(idx, nb - 1), idx)
    inside = (idx >= 0) & (idx < nb)
    w = weight.detach().reshape(-1).to(x.dtype) if weight is not None else E.ones_like(x)
    hist = E.zeros(nb, dtype=x.dtype).index_add(0, idx[inside], w[inside])
    if density:
        hist = hist / (hist.sum() * (edges[1:] - edges[:-1]))
    return _histogram(hist, edges)


# ---- index helpers and structure
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    del device, layout
    r = E.arange(row).unsqueeze(1).expand(row, col)
    c = E.arange(col).unsqueeze(0).expand(row, col)
    keep = (c - r) <= offset
    return E.stack([r[keep], c[keep]]).to(dtype or E.int64)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    del device, layout
    r = E.arange(row).unsqueeze(1).expand(row, col)
    c = E.arange(col).unsqueeze(0).expand(row, col)
    keep = (c - r) >= offset
    return E.stack([r[keep], c[keep]]).to(dtype or E.int64)


def cartesian_prod(*tensors):
    for t in tensors:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = E.meshgrid(*tensors, indexing="ij")
    return E.stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """Every length-``r`` combination of the elements of the 1-D ``input``, as rows."""
    import itertools
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    n = input.shape[0]
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(gen(range(n), r))
    if r == 0:
        return E.empty(0, dtype=input.dtype)
    if not rows:
        return E.empty(0, r, dtype=input.dtype)
    idx = E.tensor(rows, dtype=E.int64)
    return input[idx.reshape(-1)].reshape(len(rows), r)


def block_diag(*tensors):
    """The tensors (0-, 1- or 2-D) placed along the diagonal of one matrix."""
    mats = []
    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has {t.dim()} dimensions")
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not mats:
        return E.empty(1, 0)
    dtype = mats[0].dtype
    for m in mats[1:]:
        dtype = promote_types(dtype, m.dtype)
    cols = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        right = cols - left - m.shape[1]
        rows.append(E.cat([E.zeros(m.shape[0], left, dtype=dtype), m.to(dtype), E.zeros(m.shape[0], right, dtype=dtype)], 1))
        left += m.shape[1]
    return E.cat(rows, 0)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    del layout, device
    d = dtype or E.get_default_dtype()
    exps = E.linspace(start, end, steps, dtype=E.float64)
    r = E.pow(float(base), exps).to(d)
    if out is not None:
        out.data = r
        return out
    return r.requires_grad_(requires_grad) if requires_grad else r


def vander(x, N=None, increasing=False):
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    powers = E.arange(n)
    if not increasing:
        powers = powers.flip(0)
    xx = x if x.dtype.is_floating_point or x.dtype == E.int64 else x.long()
    return xx.unsqueeze(1).pow(powers.to(xx.dtype).unsqueeze(0)) if n else E.empty(x.shape[0], 0, dtype=xx.dtype)


def unravel_index(indices, shape):
    """The coordinates in ``shape`` of each flat index, as a tuple of tensors."""
    idx = indices if isinstance(indices, Tensor) else E.tensor(indices)
    if idx.dtype.is_floating_point or idx.dtype == E.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {idx.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    total = 1
    for s in shape:
        total *= s
    if ((idx < -total) | (idx >= total)).any():
        raise ValueError("'indices' must be in range [-{0}, {0})".format(total))
    rest = E.where(idx < 0, idx + total, idx).long()
    out = []
    for s in reversed(shape):
        out.append(rest % s)
        rest = rest // s
    return tuple(reversed(out))


def trapezoid(y, x=None, *, dx=None, dim=-1):
    n = y.shape[dim]
    if n == 0:
        return y.sum(dim) * 0
    left, right = y.narrow(dim, 0, n - 1), y.narrow(dim, 1, n - 1)
    if x is None:
        return (left + right).sum(dim) * ((1.0 if dx is None else dx) / 2)
    if not isinstance(x, Tensor):
        return (left + right).sum(dim) * (float(x) / 2)
    d = x.diff(dim=-1 if x.dim() == 1 else dim)
    if x.dim() == 1:
        shape = [1] * y.dim()
        shape[dim] = n - 1
        d = d.reshape(shape)
    return ((left + right) * d).sum(dim) / 2


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    n = y.shape[dim]
    left, right = y.narrow(dim, 0, builtins.max(n - 1, 0)), y.narrow(dim, 1, builtins.max(n - 1, 0)) if n else y
    if x is None or not isinstance(x, Tensor):
        step = (1.0 if dx is None else dx) if x is None else float(x)
        return ((left + right) * (step / 2)).cumsum(dim)
    d = x.diff(dim=-1 if x.dim() == 1 else dim)
    if x.dim() == 1:
        shape = [1] * y.dim()
        shape[dim] = n - 1
        d = d.reshape(shape)
    return ((left + right) * d / 2).cumsum(dim)


# ---- scatter-style writes (differentiable, out of place)
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    n = input.shape[dim]
    idx = E.arange(n)[slice(start, end, step)]
    return input.index_copy(dim, idx, src)


def select_scatter(input, src, dim, index):
    n = input.shape[dim]
    i = index + n if index < 0 else index
    if not 0 <= i < n:
        raise IndexError(f"select_scatter(): index {index} out of range for tensor of size {list(input.shape)} at dimension {dim}")
    return input.index_copy(dim, E.tensor([i]), src.unsqueeze(dim))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """``input`` with ``src`` written on its diagonal (``torch.diagonal_scatter``): a scatter at
    the flat positions that ``input.diagonal(offset, dim1, dim2)`` reads."""
    pos = E.arange(input.numel()).reshape(input.shape).diagonal(offset, dim1, dim2)
    if tuple(pos.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(pos.shape)}")
    return input.reshape(-1).scatter(0, pos.reshape(-1), src.reshape(-1).to(input.dtype)).reshape(input.shape)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``input`` with the rows of ``source`` reduced (``prod``, ``mean``, ``amax``, ``amin``) into
    the rows ``index`` of ``dim`` (``Tensor.index_reduce``)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    d = dim % builtins.max(input.dim(), 1)
    shape = [1] * source.dim()
    shape[d] = -1
    idx = index.reshape(shape).expand(source.shape)
    return input.scatter_reduce(d, idx, source, reduce, include_self=include_self)


def put(input, index, source, accumulate=False):
    """``input`` with ``source`` written (or added) at flat positions ``index``."""
    flat = input.reshape(-1)
    n = flat.numel()
    i = index.reshape(-1)
    if ((i < -n) | (i >= n)).any():
        raise IndexError(f"out of range: tried to access index {i[(i < -n) | (i >= n)][0].item()} on a tensor of {n} elements.")
    i = E.where(i < 0, i + n, i)
    src = source.reshape(-1).to(input.dtype)
    if accumulate:
        return flat.index_add(0, i, src).reshape(input.shape)
    return flat.index_put((i,), src).reshape(input.shape)


def _sum_to(x, shape):
    lead = x.dim() - len(shape)
    if lead < 0:
        raise RuntimeError(f"size {{{', '.join(map(str, shape))}}} is not expandable to size {{{', '.join(map(str, x.shape))}}}.")
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1]
    for i, s in enumerate(shape):
        if s != 1 and s != x.shape[lead + i]:
            raise RuntimeError(f"size {{{', '.join(map(str, shape))}}} is not expandable to size {{{', '.join(map(str, x.shape))}}}.")
    r = x.sum(dims, keepdim=True) if dims else x
    return r.reshape(shape)


# ---- windows (torch.signal-style helpers at top level)
def _window(n, periodic, dtype, requires_grad, f):
    if n < 0:
        raise RuntimeError(f"window_length must be non-negative, got {n}")
    d = dtype or E.get_default_dtype()
    if n == 0:
        return E.empty(0, dtype=d)
    if n == 1:
        return E.ones(1, dtype=d)
    m = n + 1 if periodic else n
    k = E.arange(m, dtype=E.float64)
    w = f(k, m)[:n].to(d)
    return w.requires_grad_() if requires_grad else w


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window(window_length, periodic, dtype, requires_grad,
                   lambda k, m: 0.5 - 0.5 * (2 * math.pi * k / (m - 1)).cos())


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False):
    return _window(window_length, periodic, dtype, requires_grad,
                   lambda k, m: alpha - beta * (2 * math.pi * k / (m - 1)).cos())


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window(window_length, periodic, dtype, requires_grad,
                   lambda k, m: 0.42 - 0.5 * (2 * math.pi * k / (m - 1)).cos() + 0.08 * (4 * math.pi * k / (m - 1)).cos())


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window(window_length, periodic, dtype, requires_grad,
                   lambda k, m: 1 - (2 * k / (m - 1) - 1).abs())


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window(window_length, periodic, dtype, requires_grad,
                   lambda k, m: E.i0(beta * (1 - (2 * k / (m - 1) - 1) ** 2).clamp(min=0).sqrt()) / E.i0(E.tensor(float(beta), dtype=E.float64)))


# ---- torch-level odds and ends
def rsub(input, other, *, alpha=1):
    return _t(other, input) - (input * alpha if alpha != 1 else input)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False, requires_grad=False):
    t = E.tensor(s, dtype=dtype or E.get_default_dtype())
    return t.requires_grad_() if requires_grad else t


def chain_matmul(*matrices, out=None):
    from . import linalg
    r = matrices[0] if len(matrices) == 1 else linalg.multi_dot(list(matrices))
    if out is not None:
        out.data = r
        return out
    return r


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """A tensor from ``obj``, sharing memory with a tensor or NumPy array when it can (``copy=None``)."""
    del device
    if isinstance(obj, Tensor):
        r = obj if dtype is None or obj.dtype == dtype else obj.to(dtype)
        if copy:
            r = r.clone()
    elif copy is False or copy is None:
        try:
            r = E.as_tensor(obj, dtype=dtype)
        except (TypeError, ValueError):
            r = E.tensor(obj, dtype=dtype)
    else:
        r = E.tensor(obj, dtype=dtype)
    return r.requires_grad_() if requires_grad else r


def promote_types(type1, type2):
    return E.result_type(E.empty(1, dtype=type1), E.empty(1, dtype=type2))


def can_cast(from_, to):
    """Whether torch's casting rules allow ``from_`` to become ``to`` (float to integer and any
    type to bool are not allowed; bool and integer widen)."""
    def kind(d):
        return 0 if d == E.bool else (1 if not d.is_floating_point else 2)
    return kind(from_) <= kind(to)


def is_complex(input):
    return False


def is_signed(input):
    return input.dtype.is_signed


def is_same_size(input, other):
    return input.shape == other.shape


def is_conj(input):
    return False


def is_neg(input):
    return False


def nonzero_static(input, *, size, fill_value=-1):
    nz = input.nonzero()
    n = nz.shape[0]
    if n >= size:
        return nz[:size]
    pad = E.full((size - n, input.dim()), fill_value, dtype=E.int64)
    return E.cat([nz, pad], 0)


_FUNCTIONS = [deg2rad, rad2deg, exp2, logaddexp2, ldexp, fmax, fmin, float_power, signbit, isposinf, isneginf,
              isreal, positive, frexp, nextafter, isin, inner, addr, addbmm, dist, cross, cov, corrcoef, quantile,
              nanquantile, histogram, tril_indices, triu_indices, cartesian_prod, combinations, block_diag,
              logspace, vander, unravel_index, trapezoid, cumulative_trapezoid, slice_scatter, select_scatter,
              diagonal_scatter, index_reduce, put, hann_window, hamming_window, blackman_window, bartlett_window,
              kaiser_window, rsub, scalar_tensor, chain_matmul, asarray, promote_types, can_cast, is_complex,
              is_signed, is_same_size, is_conj, is_neg, nonzero_static]

# Functions that are also Tensor methods (``x.deg2rad()``).
_METHODS = ["deg2rad", "rad2deg", "exp2", "logaddexp2", "ldexp", "fmax", "fmin", "float_power", "signbit",
            "isposinf", "isneginf", "isreal", "positive", "frexp", "nextafter", "inner", "addr", "addbmm",
            "dist", "cross", "cov", "corrcoef", "quantile", "nanquantile", "histogram", "slice_scatter",
            "select_scatter", "diagonal_scatter", "index_reduce", "put", "is_signed", "is_same_size", "is_conj",
            "is_neg", "nonzero_static", "vander"]


def _format(self, spec):
    """``f"{t}"`` / ``f"{loss:.4f}"``: a 0-d tensor formats as its number, as torch's does."""
    if self.dim() == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


def _identity(self):
    return self


def _imag(self):
    raise TypeError("imag is not implemented for tensors with non-complex dtypes.")


def install(namespace):
    """Adds the functions to the ``ember`` namespace and the methods to ``Tensor``."""
    global E
    E = sys.modules[__package__]
    for f in _FUNCTIONS:
        namespace.setdefault(f.__name__, f)
    namespace.setdefault("trapz", trapezoid)
    namespace.setdefault("as_strided", lambda input, size, stride, storage_offset=None:
                         input.as_strided(size, stride, storage_offset))
    namespace.setdefault("ger", namespace["outer"])
    for name in _METHODS:
        if not hasattr(Tensor, name):
            setattr(Tensor, name, namespace[name])
    Tensor.__format__ = _format
    Tensor.ger = Tensor.outer
    Tensor.sum_to_size = _sum_to_size_method
    Tensor.ravel = lambda self: self.reshape(-1)
    namespace.setdefault("ravel", Tensor.ravel)
    Tensor.split_with_sizes = lambda self, split_sizes, dim=0: self.split(list(split_sizes), dim)
    Tensor.unsafe_split = Tensor.split
    Tensor.unsafe_chunk = Tensor.chunk
    Tensor.unsafe_split_with_sizes = Tensor.split_with_sizes
    for name in ("split_with_sizes", "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes"):
        namespace.setdefault(name, getattr(Tensor, name))
    Tensor.narrow_copy = lambda self, dim, start, length: self.narrow(dim, start, length).clone()
    namespace.setdefault("narrow_copy", Tensor.narrow_copy)
    from . import special
    Tensor.mvlgamma = lambda self, p: special.multigammaln(self, p)
    namespace.setdefault("mvlgamma", lambda input, p: special.multigammaln(input, p))
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg"):
        if not hasattr(Tensor, name):
            setattr(Tensor, name, _identity)
        namespace.setdefault(name, _identity)
    Tensor.real = property(_identity)
    Tensor.imag = property(_imag)
    Tensor.is_cpu = property(lambda self: True)
    Tensor.get_device = lambda self: -1
    Tensor.is_pinned = lambda self, device=None: False
    Tensor.pin_memory = lambda self, device=None: self
    Tensor.is_inference = lambda self: False


def _sum_to_size_method(self, *size):
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    return _sum_to(self, shape)
