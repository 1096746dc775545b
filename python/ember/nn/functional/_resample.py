"""Resampling that Ember composes from matmuls: ``interpolate(..., antialias=True)``
(bilinear, bicubic and Lanczos-3 with the filter stretched over the source pixels when
downscaling, as PIL and torch do) and ``grid_sample(mode='bicubic')``. Gradients come from the composed ops."""

import itertools
import math

import numpy as np

from ... import _C


def _linear_filter(x):
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _cubic_filter(x, a=-0.5):
    # Keys' cubic convolution; a = -0.5 with antialias (PIL's choice), torch's plain bicubic
    # uses a = -0.75.
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _lanczos_filter(x):
    # Lanczos-3: sinc(x) sinc(x / 3) on |x| < 3 (PIL's LANCZOS).
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


_FILTERS = {"bilinear": (1.0, _linear_filter), "bicubic": (2.0, _cubic_filter), "lanczos": (3.0, _lanczos_filter)}


def _source_scale(in_size, out_size, align_corners, scale_factor):
    """Source pixels per output pixel (``area_pixel_compute_scale``)."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    if scale_factor is not None and scale_factor > 0:
        return 1.0 / scale_factor
    return in_size / out_size


def _aa_weights(in_size, out_size, mode, align_corners, scale_factor):
    """The ``[out_size, in_size]`` matrix whose row ``i`` averages the source pixels under
    output pixel ``i``: the interpolation filter widened by the downscaling factor (not
    narrowed when upscaling) and normalised to sum to 1."""
    scale = _source_scale(in_size, out_size, align_corners, scale_factor)
    half_width, filt = _FILTERS[mode]
    support = half_width * scale if scale >= 1.0 else half_width
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    max_taps = int(math.ceil(support)) * 2 + 1
    W = np.zeros((out_size, in_size))
    for i in range(out_size):
        center = scale * (i + 0.5)
        # int() truncates toward zero, as the C++ cast that defines the window does.
        lo = max(int(center - support + 0.5), 0)
        n = min(max(min(int(center + support + 0.5), in_size) - lo, 0), max_taps)
        w = filt((np.arange(lo, lo + n) - center + 0.5) * invscale)
        total = w.sum()
        if total != 0.0:
            w = w / total
        W[i, lo:lo + n] = w
    return W


def interpolate_antialias(input, size, scale_factor, mode, align_corners):
    """``interpolate(input, ..., antialias=True)`` for a 4-D input: one weight matrix per
    spatial dim, applied as ``W_h @ x @ W_w^T``."""
    if mode not in _FILTERS or input.dim() != 4:
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    if mode == "lanczos" and align_corners:
        raise ValueError("Lanczos mode does not support align_corners=True")
    (h, w) = input.shape[2:]
    if size is None:
        size = [int(math.floor(d * s)) for d, s in zip((h, w), scale_factor)]
    sh, sw = scale_factor if scale_factor is not None else (None, None)
    wh = _C.from_numpy(_aa_weights(h, size[0], mode, bool(align_corners), sh)).to(input.dtype)
    ww = _C.from_numpy(_aa_weights(w, size[1], mode, bool(align_corners), sw)).to(input.dtype)
    # [N, C, H, W] @ [W, W'] -> [N, C, H, W'];  [H', H] @ that -> [N, C, H', W'].
    return wh @ (input @ ww.T)


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
