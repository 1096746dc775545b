"""``grid_sample(mode='bicubic')`` on 5-D inputs (tricubic), composed from gathers; the 4-D
case is the Rust kernel. Gradients come from the composed ops."""

import itertools

import numpy as np

from ... import _C


def _unnormalize(coord, size, align_corners):
    # [-1, 1] -> pixel coordinates: corner pixels' centres (align_corners) or their outer edges.
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(x, twice_low, twice_high):
    """Reflects coordinates into ``[twice_low / 2, twice_high / 2]`` (NumPy, no gradient)."""
    if twice_low == twice_high:
        return np.zeros_like(x)
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    x = np.abs(x - low)
    extra = np.fmod(x, span)
    flips = np.floor(x / span)
    return np.where(flips % 2 == 0, extra + low, span - extra + low)


def _tap_coordinates(x, size, padding_mode, align_corners):
    """Where a tap at integer coordinate ``x`` reads, after the padding mode."""
    if padding_mode == "border":
        x = np.clip(x, 0, size - 1)
    elif padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
        x = np.clip(x, 0, size - 1)
    return x.astype(np.int64)


def _cubic_coefficients(t, a=-0.75):
    """Weights of the taps at offsets -1, 0, 1, 2 for fractional position ``t`` (torch's
    bicubic kernel, a = -0.75), as tensors differentiable in ``t``."""
    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    s = 1 - t
    return [far(t + 1), near(t), near(s), far(s + 1)]


def grid_sample_bicubic(input, grid, padding_mode, align_corners):
    """``grid_sample(mode='bicubic')`` for a 4-D (or, tricubic, 5-D) input: 4 taps per spatial
    dim per output point, gathered from the flattened input and weighted by the cubic
    coefficients of the fractional position (differentiable in the input and the grid)."""
    nd = input.dim() - 2
    if nd not in (2, 3):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    n, c = input.shape[:2]
    sizes = list(input.shape[2:])                       # (H, W) or (D, H, W)
    out_shape = list(grid.shape[1:-1])                  # (Ho, Wo) or (Do, Ho, Wo)
    m = 1
    for o in out_shape:
        m *= o
    # The grid's last dim lists x (width) first: coordinate k indexes spatial dim nd - 1 - k.
    coords, bases, coeffs = [], [], []
    for k in range(nd):
        size = sizes[nd - 1 - k]
        pos = _unnormalize(grid[..., k], size, align_corners)                  # [N, *out]
        base = np.floor(pos.detach().numpy().astype(np.float64))
        coeffs.append(_cubic_coefficients(pos - _C.from_numpy(base).to(pos.dtype)))
        bases.append(base)
        coords.append(size)
    flat = input.reshape(n, c, -1)
    strides = [1] * nd                                                          # per grid coordinate k
    for k in range(1, nd):
        strides[k] = strides[k - 1] * coords[k - 1]
    out = None
    for taps in itertools.product(range(4), repeat=nd):
        index = np.zeros(bases[0].shape, dtype=np.int64)
        inside = np.ones(bases[0].shape, dtype=bool)
        weight = None
        for k, t in enumerate(taps):
            pos = _tap_coordinates(bases[k] - 1 + t, coords[k], padding_mode, align_corners)
            inside &= (pos >= 0) & (pos < coords[k])
            index += pos * strides[k]
            weight = coeffs[k][t] if weight is None else weight * coeffs[k][t]
        index = np.where(inside, index, 0).reshape(n, 1, m)
        idx = _C.from_numpy(np.ascontiguousarray(index)).expand(n, c, m)
        values = flat.gather(2, idx).reshape(n, c, *out_shape)                  # [N, C, *out]
        mask = _C.from_numpy(inside.astype(np.float64)).to(input.dtype)
        term = values * (weight * mask).unsqueeze(1)
        out = term if out is None else out + term
    return out
