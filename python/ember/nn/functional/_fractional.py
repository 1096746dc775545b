"""Fractional max pooling (Graham, 2014): ``fractional_max_pool2d`` / ``3d`` with torch's
signatures, window placement and indices.

Each (batch, channel) plane draws one uniform sample per spatial dim; along a dim of input size
``n``, output size ``o`` and pool size ``k``, window ``i < o - 1`` starts at
``int((i + u) alpha) - int(u alpha)`` with ``alpha = (n - k) / (o - 1)`` computed in the input's
dtype (as ATen does), and the last window at ``n - k``. The windows are read with two or three
``gather``s (so gradients flow as through any indexing), and the maximum of each taken over its
flattened window; the index is the position in the input plane, as ``max_pool``'s."""

import ember as _torch

_SPATIAL_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _tuple(value, n, what):
    if isinstance(value, (int, float)):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise ValueError(f"fractional_max_pool{n}d requires {what} to either be a single value or a tuple of {n}")
    return value


def _window_starts(samples, size, out, pool):
    """(P, out) int64 window starts along one dim for the P planes' samples (P,)."""
    last = _torch.full((samples.shape[0], 1), size - pool, dtype=_torch.int64)
    if out == 1:
        return last
    alpha = _torch.tensor(float(size - pool), dtype=samples.dtype) / _torch.tensor(float(out - 1), dtype=samples.dtype)
    i = _torch.arange(out - 1, dtype=samples.dtype)
    u = samples.unsqueeze(1)
    starts = ((i + u) * alpha).to(_torch.int64) - (u * alpha).to(_torch.int64)
    return _torch.cat([starts, last], 1)


def _fractional_max_pool(nd, input, kernel_size, output_size, output_ratio, return_indices, random_samples):
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if not isinstance(input, _torch.Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    n, c, spatial = x.shape[0], x.shape[1], list(x.shape[2:])
    kernel = [int(k) for k in _tuple(kernel_size, nd, "kernel_size")]
    if output_size is None:
        ratio = _tuple(output_ratio, nd, "output_ratio")
        output_size = [int(s * r) for s, r in zip(spatial, ratio)]
    out = [int(o) for o in _tuple(output_size, nd, "output_size")]
    for what, size, o, k in zip(_SPATIAL_NAMES[nd], spatial, out, kernel):
        if o + k - 1 > size:
            raise RuntimeError(f"{name}(): pool {what} {k} too large relative to input {what} {size}")
        if o <= 0 or k <= 0:
            raise RuntimeError(f"{name}(): output and kernel sizes must be greater than zero, got output {out}, kernel {kernel}")
    if random_samples is None:
        random_samples = _torch.rand(n, c, nd, dtype=x.dtype)
    if random_samples.dim() != 3 or random_samples.shape[0] < n or random_samples.shape[1] < c \
            or random_samples.shape[2] != nd:
        raise RuntimeError(f"{name}(): expected _random_samples of shape ({n}, {c}, {nd}), got {list(random_samples.shape)}")
    planes = n * c
    samples = random_samples[:n, :c].reshape(planes, nd).detach().to(x.dtype)
    # ATen draws the 2-d samples as (width, height) and the 3-d ones as (time, height, width).
    order = [1, 0] if nd == 2 else [0, 1, 2]
    starts = [_window_starts(samples[:, order[d]], spatial[d], out[d], kernel[d]) for d in range(nd)]
    # Read every window: along dim d, positions start + (0..k) for each output index.
    windows = x.reshape(planes, *spatial)
    for d in range(nd):
        pos = (starts[d].unsqueeze(2) + _torch.arange(kernel[d])).reshape(planes, out[d] * kernel[d])
        shape = [planes] + [1] * nd
        shape[d + 1] = out[d] * kernel[d]
        expanded = list(windows.shape)
        expanded[d + 1] = out[d] * kernel[d]
        windows = windows.gather(d + 1, pos.reshape(shape).expand(*expanded))
    # (P, o1, k1, o2, k2, ...) -> (P, o1, o2, ..., k1 * k2 * ...)
    split = [planes] + [v for d in range(nd) for v in (out[d], kernel[d])]
    perm = [0] + [1 + 2 * d for d in range(nd)] + [2 + 2 * d for d in range(nd)]
    volume = 1
    for k in kernel:
        volume *= k
    flat = windows.reshape(*split).permute(*perm).reshape(planes, *out, volume)
    values, arg = flat.max(-1)
    values = values.reshape(n, c, *out)
    if unbatched:
        values = values.squeeze(0)
    if not return_indices:
        return values
    # The input position of each maximum, dim by dim, flattened over the plane.
    index = _torch.zeros((planes, *out), dtype=_torch.int64)
    rest = arg
    for d in reversed(range(nd)):
        offset = rest % kernel[d]
        rest = rest // kernel[d]
        view = [planes] + [1] * nd
        view[d + 1] = out[d]
        along = starts[d].reshape(view) + offset
        stride = 1
        for s in spatial[d + 1:]:
            stride *= s
        index = index + along * stride
    index = index.reshape(n, c, *out)
    return values, (index.squeeze(0) if unbatched else index)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio, True, _random_samples)
