"""Convolution, pooling, padding and resampling functionals of ``torch.nn.functional`` with
torch's signatures (ints or tuples, ``padding='same'|'valid'``, ``stride=None`` meaning the
kernel size, ``return_indices``). The work is Ember's Rust functionals (``_C._nn``)."""

from ... import _C
from . import _pool_indices, _resample
from ._utils import _ints, _list_with_default

_nn = _C._nn


def _same_padding(weight, dilation, spatial):
    """``padding='same'`` as explicit pads (left, right) per spatial dim; odd totals put the
    extra element on the right, as torch does."""
    pads = []
    for i in range(spatial):
        total = dilation[i] * (weight.shape[2 + i] - 1)
        pads.append((total // 2, total - total // 2))
    return pads


def _conv(fn, n, input, weight, bias, stride, padding, dilation, groups):
    stride = _ints(stride, n, "stride")
    dilation = _ints(dilation, n, "dilation")
    unbatched = input.dim() == n + 1
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_padding(weight, dilation, n)
            if all(a == b for a, b in pads):
                padding = tuple(a for a, _ in pads)
            else:
                flat = []
                for a, b in reversed(pads):
                    flat += [a, b]
                input = _nn.pad(input, flat, "constant", 0.0)
                padding = (0,) * n
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    else:
        padding = _ints(padding, n, "padding")
    args = (stride, padding, dilation) if n > 1 else (stride[0], padding[0], dilation[0])
    out = getattr(_nn, fn)(input, weight, bias, *args, int(groups))
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_t(fn, n, input, weight, bias, stride, padding, output_padding, groups, dilation):
    unbatched = input.dim() == n + 1
    if unbatched:
        input = input.unsqueeze(0)
    a = [_ints(v, n, w) for v, w in ((stride, "stride"), (padding, "padding"),
                                     (output_padding, "output_padding"), (dilation, "dilation"))]
    if n == 1:
        a = [v[0] for v in a]
    out = getattr(_nn, fn)(input, weight, bias, a[0], a[1], a[2], int(groups), a[3])
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_t("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_t("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_t("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups, dilation)


def pad(input, pad, mode="constant", value=None):
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {input.dim()}")
    if mode != "constant" and value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    return _nn.pad(input, [int(p) for p in pad], mode, float(value or 0.0))


def _stride(stride, kernel_size):
    return kernel_size if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else stride


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    k = _ints(kernel_size, 1, "kernel_size")[0]
    s = _ints(_stride(stride, kernel_size), 1, "stride")[0]
    return _nn.max_pool1d(input, k, s, _ints(padding, 1, "padding")[0], _ints(dilation, 1, "dilation")[0],
                          bool(ceil_mode), bool(return_indices))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _nn.max_pool2d(input, _ints(kernel_size, 2, "kernel_size"), _ints(_stride(stride, kernel_size), 2, "stride"),
                          _ints(padding, 2, "padding"), _ints(dilation, 2, "dilation"), bool(ceil_mode),
                          bool(return_indices))


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    k, s = _ints(kernel_size, 3, "kernel_size"), _ints(_stride(stride, kernel_size), 3, "stride")
    p, d = _ints(padding, 3, "padding"), _ints(dilation, 3, "dilation")
    out = _nn.max_pool3d(input, k, s, p, d, bool(ceil_mode))
    if not return_indices:
        return out
    return out, _pool_indices.max_pool3d_indices(input, k, s, p, d, bool(ceil_mode))


def max_pool1d_with_indices(*args, **kwargs):
    return max_pool1d(*args, **{**kwargs, "return_indices": True})


def max_pool2d_with_indices(*args, **kwargs):
    return max_pool2d(*args, **{**kwargs, "return_indices": True})


def max_pool3d_with_indices(*args, **kwargs):
    return max_pool3d(*args, **{**kwargs, "return_indices": True})


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _nn.avg_pool1d(input, _ints(kernel_size, 1, "kernel_size")[0],
                          _ints(_stride(stride, kernel_size), 1, "stride")[0], _ints(padding, 1, "padding")[0],
                          bool(ceil_mode), bool(count_include_pad))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _nn.avg_pool2d(input, _ints(kernel_size, 2, "kernel_size"), _ints(_stride(stride, kernel_size), 2, "stride"),
                          _ints(padding, 2, "padding"), bool(ceil_mode), bool(count_include_pad), divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _nn.avg_pool3d(input, _ints(kernel_size, 3, "kernel_size"), _ints(_stride(stride, kernel_size), 3, "stride"),
                          _ints(padding, 3, "padding"), bool(ceil_mode), bool(count_include_pad), divisor_override)


def _adaptive(input, output_size, n, max_, return_indices, name):
    out = _ints(_list_with_default(output_size, list(input.shape)), n, "output_size") \
        if not isinstance(output_size, int) else (output_size,) * n
    pooled = _nn.adaptive_pool(input, list(out), max_)
    if not return_indices:
        return pooled
    return pooled, _pool_indices.adaptive_max_pool_indices(input, list(out))


def adaptive_avg_pool1d(input, output_size):
    return _adaptive(input, output_size, 1, False, False, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    return _adaptive(input, output_size, 2, False, False, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input, output_size):
    return _adaptive(input, output_size, 3, False, False, "adaptive_avg_pool3d")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive(input, output_size, 1, True, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive(input, output_size, 2, True, return_indices, "adaptive_max_pool2d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive(input, output_size, 3, True, return_indices, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool3d(input, output_size, True)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _nn.lp_pool1d(input, float(norm_type), _ints(kernel_size, 1, "kernel_size")[0],
                         _ints(_stride(stride, kernel_size), 1, "stride")[0], bool(ceil_mode))


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _nn.lp_pool2d(input, float(norm_type), _ints(kernel_size, 2, "kernel_size"),
                         _ints(_stride(stride, kernel_size), 2, "stride"), bool(ceil_mode))


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(Σ x^p)^(1/p)`` over each window: the window mean of ``x^p`` times the window volume
    (torch's formula, including its ``sign(s) relu(|s|)`` of the sum before the root)."""
    kd, kh, kw = _ints(kernel_size, 3, "kernel_size")
    out = avg_pool3d(input.pow(norm_type), (kd, kh, kw), stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kd * kh * kw).pow(1.0 / norm_type)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _pool_indices.max_unpool_nd(input, indices, _ints(kernel_size, 1, "kernel_size"),
                                       _ints(_stride(stride, kernel_size), 1, "stride"), _ints(padding, 1, "padding"),
                                       output_size, 1)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _pool_indices.max_unpool_nd(input, indices, _ints(kernel_size, 3, "kernel_size"),
                                       _ints(_stride(stride, kernel_size), 3, "stride"), _ints(padding, 3, "padding"),
                                       output_size, 3)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    if output_size is not None:
        output_size = tuple(int(s) for s in list(output_size)[-2:])
    return _nn.max_unpool2d(input, indices, _ints(kernel_size, 2, "kernel_size"),
                            _ints(_stride(stride, kernel_size), 2, "stride"), _ints(padding, 2, "padding"), output_size)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    if mode == "lanczos" and not antialias:
        raise ValueError("Lanczos mode requires antialias=True")
    n = input.dim() - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("either size or scale_factor should be defined" if size is None
                         else "only one of size or scale_factor should be defined")
    if size is not None:
        size = list(_ints(size, n, "size")) if not isinstance(size, int) else [size] * n
    if scale_factor is not None:
        sf = scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * n
        scale_factor = [float(s) for s in sf]
        if recompute_scale_factor:
            size = [int(d * s) for d, s in zip(input.shape[2:], scale_factor)]
            scale_factor = None
    return _nn.interpolate(input, size, scale_factor, mode, align_corners, bool(antialias))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    return _nn.pixel_shuffle(input, int(upscale_factor))


def pixel_unshuffle(input, downscale_factor):
    return _nn.pixel_unshuffle(input, int(downscale_factor))


def channel_shuffle(input, groups):
    n, c = input.shape[0], input.shape[1]
    rest = list(input.shape[2:])
    return input.reshape([n, groups, c // groups] + rest).transpose(1, 2).reshape([n, c] + rest)


native_channel_shuffle = channel_shuffle


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    out = _nn.unfold(x, _ints(kernel_size, 2, "kernel_size"), _ints(dilation, 2, "dilation"),
                     _ints(padding, 2, "padding"), _ints(stride, 2, "stride"))
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    out = _nn.fold(x, _ints(output_size, 2, "output_size"), _ints(kernel_size, 2, "kernel_size"),
                   _ints(dilation, 2, "dilation"), _ints(padding, 2, "padding"), _ints(stride, 2, "stride"))
    return out.squeeze(0) if unbatched else out


def affine_grid(theta, size, align_corners=None):
    return _nn.affine_grid(theta, [int(s) for s in size], bool(align_corners))


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode == "bicubic" and input.dim() != 4:
        return _resample.grid_sample_bicubic(input, grid, padding_mode, bool(align_corners))
    return _nn.grid_sample(input, grid, mode, padding_mode, bool(align_corners))
