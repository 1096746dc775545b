"""The argmax indices that ``max_pool3d`` and the adaptive max pools return with
``return_indices=True`` (flat positions in each input plane, as torch's), found with NumPy on
the detached input; the pooled values themselves come from Ember's Rust kernels. Also
``max_unpool1d``/``max_unpool3d``, which are ``max_unpool2d``'s flat scatter on a reshaped
plane."""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ... import _C


def _pool_out(size, k, s, p, d, ceil_mode):
    """torch's pooling output length (with ``ceil_mode``'s last window starting inside)."""
    span = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _flat_index(coords, sizes):
    index = np.zeros_like(coords[0])
    for c, n in zip(coords, sizes):
        index = index * n + c
    return index


def max_pool3d_indices(input, kernel, stride, padding, dilation, ceil_mode):
    """``[*, D', H', W']`` int64 positions (in ``D*H*W``) of each window's first maximum."""
    x = input.detach().to(_C.float64).numpy() if input.dtype != _C.float64 else input.detach().numpy()
    sizes = x.shape[-3:]
    outs = [_pool_out(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation)]
    # Pad with -inf so a window's padding never wins, far enough for every window.
    pad = [(0, 0)] * (x.ndim - 3)
    for n, o, k, s, p, d in zip(sizes, outs, kernel, stride, padding, dilation):
        need = (o - 1) * s + d * (k - 1) + 1
        pad.append((p, max(need - n - p, 0)))
    xp = np.pad(x, pad, constant_values=-np.inf)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    win = sliding_window_view(xp, spans, axis=(-3, -2, -1))
    win = win[..., ::stride[0], ::stride[1], ::stride[2], ::dilation[0], ::dilation[1], ::dilation[2]]
    win = win[..., :outs[0], :outs[1], :outs[2], :, :, :]
    lead = win.shape[:-3]
    flat = win.reshape(*lead, -1)
    # NaN wins, as in torch's kernel (the first NaN here).
    arg = np.where(np.isnan(flat).any(-1), np.isnan(flat).argmax(-1), flat.argmax(-1))
    kz, ky, kx = np.unravel_index(arg, tuple(kernel))
    oz, oy, ox = np.meshgrid(*(np.arange(o) for o in outs), indexing="ij")
    z = oz * stride[0] - padding[0] + kz * dilation[0]
    y = oy * stride[1] - padding[1] + ky * dilation[1]
    xx = ox * stride[2] - padding[2] + kx * dilation[2]
    return _C.from_numpy(np.ascontiguousarray(_flat_index([z, y, xx], sizes).astype(np.int64)))


def adaptive_max_pool_indices(input, output_size):
    """Indices for ``adaptive_max_pool{1,2,3}d``: window ``i`` of a dim of length ``n`` covers
    ``[floor(i n / o), ceil((i + 1) n / o))``."""
    nd = len(output_size)
    x = input.detach().to(_C.float64).numpy() if input.dtype != _C.float64 else input.detach().numpy()
    sizes = x.shape[-nd:]
    lead = x.shape[:-nd]
    out = np.zeros(lead + tuple(output_size), dtype=np.int64)
    bounds = [[(i * n // o, -(-(i + 1) * n // o)) for i in range(o)] for n, o in zip(sizes, output_size)]
    for cell in np.ndindex(*output_size):
        ranges = [bounds[k][cell[k]] for k in range(nd)]
        window = x[(Ellipsis,) + tuple(slice(a, b) for a, b in ranges)]
        flat = window.reshape(*lead, -1)
        nan = np.isnan(flat)
        arg = np.where(nan.any(-1), nan.argmax(-1), flat.argmax(-1))
        local = np.unravel_index(arg, tuple(b - a for a, b in ranges))
        coords = [local[k] + ranges[k][0] for k in range(nd)]
        out[(Ellipsis,) + cell] = _flat_index(coords, sizes)
    return _C.from_numpy(out)


def _unpool_default(n, k, s, p):
    return (n - 1) * s - 2 * p + k


def _check_output_size(defaults, output_size, kernel, stride, nd):
    if output_size is None:
        return list(defaults)
    given = list(output_size)
    shown = output_size if len(given) == nd else output_size[-nd:]
    size = [int(v) for v in given[-nd:]]
    if len(given) not in (nd, nd + 2):
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                         f"length of '{len(list(output_size))}'")
    for i, (want, base, s) in enumerate(zip(size, defaults, stride)):
        if not base - s < want < base + s:
            raise ValueError(f'invalid output_size "{shown}" (dim {i} must be between {base - s} and {base + s})')
    return size


def max_unpool_nd(input, indices, kernel, stride, padding, output_size, nd):
    """``max_unpool1d``/``3d``: the values scattered to their flat ``indices`` in a zero output,
    through ``max_unpool2d`` on a ``[rows, last]`` view of the planes."""
    sizes = list(input.shape[-nd:])
    defaults = [_unpool_default(n, k, s, p) for n, k, s, p in zip(sizes, kernel, stride, padding)]
    out = _check_output_size(defaults, output_size, kernel, stride, nd)
    lead = list(input.shape[:-nd])
    rows_in = math.prod(sizes[:-1])
    x2 = input.reshape(lead + [rows_in, sizes[-1]])
    i2 = indices.reshape(lead + [rows_in, sizes[-1]])
    rows_out = math.prod(out[:-1])
    y = _C._nn.max_unpool2d(x2, i2, (1, 1), (1, 1), (0, 0), (rows_out, out[-1]))
    return y.reshape(lead + out)
