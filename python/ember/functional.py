"""``torch.functional``'s helpers, written over Ember's tensor ops as PyTorch writes them over
its own: ``meshgrid``, ``broadcast_tensors``, ``broadcast_shapes``, the stacking and splitting
shorthands (``hstack vstack dstack column_stack row_stack tensor_split hsplit vsplit dsplit``)
and ``atleast_1d/2d/3d``. ``einsum``, ``tensordot`` and ``cdist`` are in ``ember._C``."""

from . import _C

Tensor = _C.Tensor


def _tensors(args, name):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    for a in args:
        if not isinstance(a, Tensor):
            raise TypeError(f"{name}(): expected Tensors, got {type(a).__name__}")
    return args


def broadcast_shapes(*shapes):
    """The shape all of ``shapes`` broadcast to (``torch.broadcast_shapes``)."""
    from ._size import Size
    out = []
    for s in shapes:
        s = (s,) if isinstance(s, int) else tuple(s)
        if len(s) > len(out):
            out = [1] * (len(s) - len(out)) + out
        for i, d in enumerate(s, start=len(out) - len(s)):
            if d != out[i] and d != 1 and out[i] != 1:
                raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape, got {shapes}")
            out[i] = d if out[i] == 1 else out[i]
    return Size(out)


def broadcast_tensors(*tensors):
    """Views of ``tensors`` expanded to their common shape (``torch.broadcast_tensors``)."""
    tensors = _tensors(tensors, "broadcast_tensors")
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors (``torch.meshgrid``; ``indexing`` is ``"ij"`` or
    ``"xy"``)."""
    tensors = _tensors(tensors, "meshgrid")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list")
    ts = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.numel() for t in ts]
    n = len(ts)
    out = [t.reshape([-1 if i == j else 1 for j in range(n)]).expand(shape) for i, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def atleast_1d(*tensors):
    ts = _tensors(tensors, "atleast_1d")
    out = tuple(t.reshape(1) if t.dim() == 0 else t for t in ts)
    return out[0] if len(out) == 1 else out


def atleast_2d(*tensors):
    ts = _tensors(tensors, "atleast_2d")
    out = tuple(t.reshape(1, -1) if t.dim() < 2 else t for t in ts)
    return out[0] if len(out) == 1 else out


def atleast_3d(*tensors):
    ts = _tensors(tensors, "atleast_3d")

    def three(t):
        if t.dim() == 0:
            return t.reshape(1, 1, 1)
        if t.dim() == 1:
            return t.reshape(1, -1, 1)
        if t.dim() == 2:
            return t.unsqueeze(-1)
        return t
    out = tuple(three(t) for t in ts)
    return out[0] if len(out) == 1 else out


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def hstack(tensors, *, out=None):
    ts = _as_tuple(atleast_1d(*_tensors((tensors,), "hstack")))
    r = _C.cat(ts, 0 if ts[0].dim() == 1 else 1)
    return r if out is None else _resize(out, r)


def vstack(tensors, *, out=None):
    r = _C.cat(_as_tuple(atleast_2d(*_tensors((tensors,), "vstack"))), 0)
    return r if out is None else _resize(out, r)


row_stack = vstack


def dstack(tensors, *, out=None):
    r = _C.cat(_as_tuple(atleast_3d(*_tensors((tensors,), "dstack"))), 2)
    return r if out is None else _resize(out, r)


def column_stack(tensors, *, out=None):
    ts = _tensors((tensors,), "column_stack")
    ts = [t.reshape(-1, 1) if t.dim() <= 1 else t for t in ts]
    r = _C.cat(ts, 1)
    return r if out is None else _resize(out, r)


def _resize(out, r):
    out.data = r
    return out


def tensor_split(input, indices_or_sections, dim=0):
    """Splits into ``n`` nearly equal parts (the first ``size % n`` one longer) or at the given
    indices (``torch.tensor_split``)."""
    size = input.shape[dim]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds, start = [], 0
        for i in range(n):
            end = start + q + (1 if i < r else 0)
            bounds.append((start, end))
            start = end
    else:
        idx = indices_or_sections.tolist() if isinstance(indices_or_sections, Tensor) else list(indices_or_sections)
        edges = [0] + [min(max(i + size if i < 0 else i, 0), size) for i in idx] + [size]
        bounds = [(a, max(a, b)) for a, b in zip(edges, edges[1:])]
    return tuple(input.narrow(dim, a, b - a) for a, b in bounds)


def _split_sections(name, input, sections, dim):
    if isinstance(sections, int) and input.shape[dim] % sections != 0:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input, indices_or_sections):
    return _split_sections("hsplit", input, indices_or_sections, 0 if input.dim() == 1 else 1)


def vsplit(input, indices_or_sections):
    if input.dim() < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with {input.dim()} dimensions!")
    return _split_sections("vsplit", input, indices_or_sections, 0)


def dsplit(input, indices_or_sections):
    if input.dim() < 3:
        raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with {input.dim()} dimensions!")
    return _split_sections("dsplit", input, indices_or_sections, 2)


def install(cls):
    """The methods torch has for these (``x.tensor_split(...)``, ``x.hsplit(...)``)."""
    cls.tensor_split = tensor_split
    cls.hsplit = hsplit
    cls.vsplit = vsplit
    cls.dsplit = dsplit


def std_mean(input, dim=None, *, correction=1, keepdim=False):
    """``(std, mean)`` over ``dim`` (``torch.std_mean``)."""
    return input.std(dim, correction=correction, keepdim=keepdim), input.mean(dim, keepdim=keepdim) if dim is not None else input.mean()


def var_mean(input, dim=None, *, correction=1, keepdim=False):
    """``(var, mean)`` over ``dim`` (``torch.var_mean``)."""
    return input.var(dim, correction=correction, keepdim=keepdim), input.mean(dim, keepdim=keepdim) if dim is not None else input.mean()
