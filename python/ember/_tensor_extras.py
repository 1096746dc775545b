"""More of ``torch``'s surface, composed from Ember's ops: memory formats (``torch.channels_last``
and the strides it means), ``torch.gradient``, ``histogramdd``, ``bitwise_not``, ``angle``,
``fill_diagonal_``, ``Tensor.new``, ``apply_``/``map_``/``map2_``, ``torch.range``,
``torch.frombuffer``, ``torch.newaxis``, ``torch.default_generator``, the deprecated
``triangular_solve``/``nuclear_norm``/``frobenius_norm``, and torch's errors for the functions
it removed (``torch.solve``, ``lstsq``, ``symeig``, ``eig``, ``matrix_rank``)."""

import builtins
import math
import sys
import warnings

E = None  # the ``ember`` package, set by ``install``


class memory_format:
    """``torch.memory_format``: how a dense tensor's elements are ordered in memory."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def _channels_last_order(ndim, fmt):
    """The dims from outermost to innermost in memory for ``fmt``, or None for row-major."""
    if fmt is channels_last:
        if ndim != 4:
            raise RuntimeError("required rank 4 tensor to use channels_last format")
        return (0, 2, 3, 1)
    if fmt is channels_last_3d:
        if ndim != 5:
            raise RuntimeError("required rank 5 tensor to use channels_last_3d format")
        return (0, 2, 3, 4, 1)
    if fmt is None or fmt is contiguous_format or fmt is preserve_format or isinstance(fmt, str):
        return None
    raise TypeError(f"memory_format must be torch.memory_format, not {type(fmt).__name__}")


def _is_contiguous_in(t, order):
    """Whether ``t``'s strides are those of a dense tensor laid out in ``order`` (size-1 dims
    may have any stride, as torch's check allows)."""
    expected = 1
    for d in reversed(order):
        size = t.shape[d]
        if size != 1 and t.stride(d) != expected:
            return False
        expected *= size
    return True


def _in_format(t, order, copy):
    """``t`` laid out in ``order`` (a copy when ``copy``, else only when it must move)."""
    inverse = [order.index(d) for d in builtins.range(len(order))]
    p = t.permute(*order)
    return (p.clone() if copy else p.contiguous()).permute(*inverse)


def _install_memory_formats(Tensor):
    rust_contiguous, rust_is_contiguous, rust_clone, rust_to = (
        Tensor.contiguous, Tensor.is_contiguous, Tensor.clone, Tensor.to)

    def is_contiguous(self, memory_format=contiguous_format):
        if memory_format is channels_last or memory_format is channels_last_3d:
            rank = 4 if memory_format is channels_last else 5
            return self.dim() == rank and _is_contiguous_in(self, _channels_last_order(rank, memory_format))
        return rust_is_contiguous(self)

    def contiguous(self, memory_format=contiguous_format):
        order = _channels_last_order(self.dim(), memory_format)
        if order is None:
            return rust_contiguous(self)
        return self if _is_contiguous_in(self, order) else _in_format(self, order, copy=False)

    def clone(self, *, memory_format=preserve_format):
        order = _channels_last_order(self.dim(), memory_format)
        if order is None and memory_format is preserve_format and self.dim() in (4, 5) and not rust_is_contiguous(self):
            # preserve_format keeps a channels-last tensor channels-last.
            cl = (0, 2, 3, 1) if self.dim() == 4 else (0, 2, 3, 4, 1)
            order = cl if _is_contiguous_in(self, cl) else None
        return rust_clone(self) if order is None else _in_format(self, order, copy=True)

    def to(self, *args, memory_format=preserve_format, **kwargs):
        r = rust_to(self, *args, **kwargs)
        order = _channels_last_order(r.dim(), memory_format)
        if order is None or _is_contiguous_in(r, order):
            return r
        return _in_format(r, order, copy=False)

    Tensor.is_contiguous = is_contiguous
    Tensor.contiguous = contiguous
    Tensor.clone = clone
    Tensor.to = to


def bitwise_not(input, *, out=None):
    if input.dtype.is_floating_point:
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{input.type()[6:-6]}'")
    r = ~input
    return r if out is None else out.copy_(r) or out


def _bitwise_not_(self):
    return self.copy_(bitwise_not(self))


def _fill_diagonal_(self, fill_value, wrap=False):
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    n = self.shape[0]
    if self.dim() > 2 and any(s != n for s in self.shape):
        raise RuntimeError("all dimensions of input must be of equal length")
    # The diagonal's flat positions in a row-major tensor: steps of sum of row-major strides.
    step = sum(math.prod(self.shape[d + 1:]) for d in range(self.dim()))
    count = min(self.shape)
    if self.dim() == 2 and wrap and self.shape[0] > self.shape[1]:
        # Tall matrices continue the diagonal every (cols + 1) rows, as NumPy's fill_diagonal.
        count = (self.numel() + step - 1) // step
    positions = E.arange(count) * step
    positions = positions[positions < self.numel()]
    if self.is_contiguous():
        self.view(-1).index_fill_(0, positions, fill_value)
    else:
        self.copy_(self.contiguous().view(-1).index_fill(0, positions, fill_value).view(self.shape))
    return self


def _new(self, *args, **kwargs):
    """``Tensor.new(...)`` (legacy): a tensor of this dtype from data, or uninitialised of a size."""
    dtype = kwargs.pop("dtype", self.dtype)
    kwargs.pop("device", None)
    if len(args) == 1 and not isinstance(args[0], int) and not isinstance(args[0], E.Size):
        return E.tensor(args[0], dtype=dtype)
    sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], E.Size) else args
    return E.empty(*sizes, dtype=dtype)


def _apply_(self, callable):
    """Applies a Python function to each element in place (slow; as torch, CPU only)."""
    vals = [callable(v) for v in self.flatten().tolist()]
    return self.copy_(E.tensor(vals, dtype=self.dtype).reshape(self.shape))


def _map_(self, tensor, callable):
    other = tensor.expand(self.shape).flatten().tolist()
    vals = [callable(a, b) for a, b in zip(self.flatten().tolist(), other)]
    return self.copy_(E.tensor(vals, dtype=self.dtype).reshape(self.shape))


def _map2_(self, x, y, callable):
    xs, ys = x.expand(self.shape).flatten().tolist(), y.expand(self.shape).flatten().tolist()
    vals = [callable(a, b, c) for a, b, c in zip(self.flatten().tolist(), xs, ys)]
    return self.copy_(E.tensor(vals, dtype=self.dtype).reshape(self.shape))


def _range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """``torch.range`` (deprecated): like ``arange`` but including ``end``."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    n = int(math.floor((end - start) / step)) + 1
    r = (E.arange(n, dtype=E.float64) * step + start).to(dtype or E.get_default_dtype())
    r.requires_grad_(requires_grad)
    return r if out is None else out.copy_(r) or out


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over the bytes of a Python buffer: sharing them when the buffer is writable
    (as torch does), a copy of a read-only one."""
    import numpy as np
    view = memoryview(buffer).cast("B")
    item = E.empty(0, dtype=dtype).element_size()
    if offset < 0 or offset > len(view):
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({len(view)} bytes) minus 1")
    avail = (len(view) - offset) // item
    if count > 0 and count > avail:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset ({offset} bytes) must not be "
                         f"greater than actual buffer length ({len(view)} bytes)")
    if len(view) == 0:
        raise ValueError("both buffer length (0) and count (-1) must not be 0")
    n = avail if count < 0 else count
    t = None
    if not view.readonly:
        # Shares the buffer's memory, as torch does (when it is aligned for the dtype).
        try:
            t = E._C._adopt_bytes(np.frombuffer(view, dtype=np.uint8, count=n * item, offset=offset), dtype)
        except ValueError:
            t = None
    if t is None:
        raw = view[offset:offset + n * item].tobytes()
        if dtype == E.bool:  # any non-zero byte is True
            t = E.from_numpy(np.frombuffer(raw, dtype=np.uint8) != 0)
        else:
            t = E.from_numpy(np.frombuffer(raw, dtype=E.empty(0, dtype=dtype).numpy().dtype).copy())
    return t.requires_grad_(requires_grad) if requires_grad else t


def _gradient_dims(input, spacing, dim, edge_order):
    if dim is None:
        dims = list(builtins.range(input.dim()))
    elif isinstance(dim, int):
        dims = [dim]
    else:
        dims = list(dim)
    dims = [d % input.dim() for d in dims]
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    if spacing is None:
        spacing = [1.0] * len(dims)
    elif isinstance(spacing, (int, float)):
        spacing = [spacing] * len(dims)
    elif isinstance(spacing, E.Tensor) and spacing.dim() == 0:
        spacing = [spacing.item()] * len(dims)
    else:
        spacing = list(spacing)
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length {len(spacing)} "
                               f"and a dim argument of length {len(dims)}.")
    return dims, spacing


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """``torch.gradient``: second-order central differences inside, first- or second-order
    one-sided differences at the edges, along each of ``dim``; ``spacing`` a scalar (uniform)
    or per-dim scalars or coordinate tensors (non-uniform)."""
    dims, spacing = _gradient_dims(input, spacing, dim, edge_order)
    f = input if input.dtype.is_floating_point else input.to(E.get_default_dtype())
    out = []
    for d, h in zip(dims, spacing):
        n = f.shape[d]
        at = lambda s, length: f.narrow(d, s, length)  # noqa: E731
        shape = [1] * f.dim()
        shape[d] = -1
        if isinstance(h, E.Tensor) and h.dim() > 0:
            x = h.to(f.dtype)
            dx = (x[1:] - x[:-1])
            hl, hr = dx[:-1].reshape(shape), dx[1:].reshape(shape)
            inner = (hl * hl * at(2, n - 2) - hr * hr * at(0, n - 2) + (hr * hr - hl * hl) * at(1, n - 2)) \
                / (hl * hr * (hl + hr))
            d0, d1, e0, e1 = dx[0], dx[1] if n > 2 else dx[0], dx[-1], dx[-2] if n > 2 else dx[-1]
        else:
            h = float(h)
            inner = (at(2, n - 2) - at(0, n - 2)) / (2 * h)
            d0 = d1 = e0 = e1 = h
        if edge_order == 1:
            first = (at(1, 1) - at(0, 1)) / d0
            last = (at(n - 1, 1) - at(n - 2, 1)) / e0
        else:
            # Second-order one-sided differences through three points (NumPy's formulas).
            a, b, c = -(2 * d0 + d1) / (d0 * (d0 + d1)), (d0 + d1) / (d0 * d1), -d0 / (d1 * (d0 + d1))
            first = a * at(0, 1) + b * at(1, 1) + c * at(2, 1)
            a, b, c = e0 / (e1 * (e1 + e0)), -(e0 + e1) / (e1 * e0), (2 * e0 + e1) / (e0 * (e1 + e0))
            last = a * at(n - 3, 1) + b * at(n - 2, 1) + c * at(n - 1, 1)
        out.append(E.cat([first, inner, last], d))
    return tuple(out)


def angle(input, *, out=None):
    """The argument of each element: 0 for non-negative reals (and -0), pi for negative ones,
    NaN for NaN (integers compute in the default float dtype)."""
    x = input if input.dtype.is_floating_point else input.to(E.get_default_dtype())
    r = E.where(x < 0, E.full_like(x, math.pi), E.zeros_like(x)).masked_fill(x.isnan(), math.nan)
    return r if out is None else out.copy_(r) or out


def _imag(input):
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def nuclear_norm(input, dim=None, keepdim=False, *, out=None):
    r = E.linalg.matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim), keepdim=keepdim)
    return r if out is None else out.copy_(r) or out


def frobenius_norm(input, dim=(-2, -1), keepdim=False, *, out=None):
    r = E.linalg.vector_norm(input, 2, dim=dim, keepdim=keepdim)
    return r if out is None else out.copy_(r) or out


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """The deprecated ``torch.triangular_solve(b, A)``: ``(solution, cloned_coefficient)``."""
    warnings.warn("torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular and will be "
                  "removed in a future PyTorch release.", UserWarning, stacklevel=2)
    from .return_types import triangular_solve as _result
    M = A.mT if transpose else A
    x = E.linalg.solve_triangular(M, b, upper=upper != transpose, unitriangular=unitriangular)
    return _result(x, A.clone())


def _removed(name, replacement):
    def removed(*args, **kwargs):
        raise RuntimeError(f"This function was deprecated since version 1.9 and is now removed. `torch.{name}` is "
                           f"deprecated in favor of `{replacement}`.")
    removed.__name__ = name
    return removed


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """The histogram of the points ``input [..., D]`` over a ``D``-dimensional grid of bins
    (counts per dim, or edge tensors per dim), with optional weights and density."""
    from .return_types import histogramdd as _result
    if input.dim() < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    d = input.shape[-1]
    pts = input.reshape(-1, d)
    if isinstance(bins, int):
        bins = [bins] * d
    edges = []
    for k, b in enumerate(bins):
        if isinstance(b, E.Tensor):
            edges.append(b.to(pts.dtype))
            continue
        if range is not None:
            lo, hi = float(range[2 * k]), float(range[2 * k + 1])
        else:
            col = pts[:, k]
            lo, hi = (float(col.min()), float(col.max())) if col.numel() else (0.0, 0.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges.append(E.linspace(lo, hi, int(b) + 1, dtype=pts.dtype))
    flat = E.zeros(pts.shape[0], dtype=E.int64)
    keep = E.ones(pts.shape[0], dtype=E.bool)
    stride = 1
    for k in builtins.range(d - 1, -1, -1):
        e, col = edges[k], pts[:, k]
        n = e.numel() - 1
        idx = E.bucketize(col, e, right=True) - 1
        idx = E.where(col == e[-1], E.full_like(idx, n - 1), idx)  # the last edge closes the last bin
        keep &= (idx >= 0) & (idx < n)
        flat += idx.clamp(0, max(n - 1, 0)) * stride
        stride *= n
    w = E.ones(pts.shape[0], dtype=pts.dtype) if weight is None else weight.reshape(-1).to(pts.dtype)
    w = w * keep.to(pts.dtype)
    shape = [e.numel() - 1 for e in edges]
    hist = E.zeros(stride, dtype=pts.dtype).index_add(0, flat, w).reshape(shape)
    if density:
        volume = None
        for k, e in enumerate(edges):
            width = (e[1:] - e[:-1]).reshape([-1 if i == k else 1 for i in builtins.range(d)])
            volume = width if volume is None else volume * width
        hist = hist / (hist.sum() * volume)
    return _result(hist, tuple(edges))


def cond(pred, true_fn, false_fn, operands=()):
    """``torch.cond``: ``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)`` (eager)."""
    if isinstance(pred, E.Tensor):
        if pred.numel() != 1:
            raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
        pred = bool(pred.item())
    return true_fn(*operands) if pred else false_fn(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """``torch.while_loop``: applies ``body_fn`` to the carried values while ``cond_fn`` holds."""
    values = tuple(carried_inputs)
    while bool(cond_fn(*values)):
        values = tuple(body_fn(*values))
    return values


def _dim_order(self, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory (by decreasing stride; ties keep order)."""
    strides = self.stride()
    return tuple(sorted(builtins.range(self.dim()), key=lambda d: -strides[d]))


_PROBES = {
    # What the build has (``torch.has_*``): linear algebra (faer), no MKL, no OpenMP, no FFT.
    "has_lapack": True, "has_mkl": False, "has_openmp": False, "has_spectral": False,
    "compiled_with_cxx11_abi": lambda: True,
    "get_num_interop_threads": lambda: 1, "set_num_interop_threads": lambda n: None,
    "init_num_threads": lambda: None, "set_flush_denormal": lambda mode: False,
    "is_inference_mode_enabled": lambda: False,
    "get_device_module": lambda device=None: E.cpu,
}


def _warn_always():
    state = {"on": False}
    return (lambda b: state.update(on=bool(b))), (lambda: state["on"])


def install(namespace, Tensor):
    global E
    E = sys.modules[__package__]
    for name in ("contiguous_format", "preserve_format", "channels_last", "channels_last_3d", "memory_format"):
        namespace[name] = globals()[name]
    namespace["legacy_contiguous_format"] = contiguous_format
    _install_memory_formats(Tensor)
    namespace["default_generator"] = E._C.Generator._global()
    namespace.update(cond=cond, while_loop=while_loop, **_PROBES)
    from . import _legacy, amp
    for name in ("is_deterministic_algorithms_warn_only_enabled", "get_deterministic_debug_mode",
                 "set_deterministic_debug_mode"):
        namespace[name] = getattr(_legacy, name)
    for name in ("is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled", "set_autocast_dtype"):
        namespace[name] = getattr(amp, name)
    namespace.update(is_autocast_cpu_enabled=lambda: amp.is_autocast_enabled("cpu"),
                     get_autocast_cpu_dtype=lambda: amp.get_autocast_dtype("cpu"),
                     get_autocast_gpu_dtype=lambda: amp.get_autocast_dtype("cuda"))
    namespace["set_warn_always"], namespace["is_warn_always_enabled"] = _warn_always()
    Tensor.dim_order = _dim_order
    namespace.update(angle=angle, nuclear_norm=nuclear_norm, frobenius_norm=frobenius_norm, histogramdd=histogramdd,
                     triangular_solve=triangular_solve, real=lambda input: input, imag=_imag)
    for name, replacement in (("solve", "torch.linalg.solve"), ("lstsq", "torch.linalg.lstsq"),
                              ("symeig", "torch.linalg.eigh"), ("eig", "torch.linalg.eig"),
                              ("matrix_rank", "torch.linalg.matrix_rank")):
        namespace[name] = _removed(name, replacement)
        setattr(Tensor, name, namespace[name])
    Tensor.angle = angle
    Tensor.triangular_solve = lambda self, A, upper=True, transpose=False, unitriangular=False: triangular_solve(
        self, A, upper, transpose, unitriangular)
    namespace.update(bitwise_not=bitwise_not, range=_range, frombuffer=frombuffer, gradient=gradient, newaxis=None)
    from . import storage
    storage._install(Tensor)
    namespace.update(storage=storage, UntypedStorage=storage.UntypedStorage, TypedStorage=storage.TypedStorage)
    Tensor.bitwise_not = bitwise_not
    Tensor.bitwise_not_ = _bitwise_not_
    Tensor.fill_diagonal_ = _fill_diagonal_
    Tensor.new = _new
    Tensor.apply_ = _apply_
    Tensor.map_ = _map_
    Tensor.map2_ = _map2_
    Tensor.is_nonzero = lambda self: namespace["is_nonzero"](self)
    F = E.nn.functional
    Tensor.hardshrink = lambda self, lambd=0.5: F.hardshrink(self, lambd)
    Tensor.prelu = lambda self, weight: F.prelu(self, weight)
