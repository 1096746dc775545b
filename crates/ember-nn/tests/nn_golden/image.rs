//! The convolution family, padding modes and resampling cases of the nn golden table.

use super::{flat, with_params, Case, P};
use ember_core::{Conv2dArgs, Result, Tensor};
use ember_nn::functional::{self as F, InterpolateMode as M, PadMode};
use ember_nn::{Conv1d, Conv2d, ConvNdOptions, ConvPadding, ConvTranspose2d, Forward, PaddingMode};

macro_rules! e {
    ($name:expr, |$x:ident, $p:ident| $body:expr) => {
        ($name, Box::new(|$x: &[Tensor], $p: &P| -> Result<Tensor> { $body }) as Case)
    };
}

fn interp(x: &Tensor, size: Option<&[usize]>, scale: Option<&[f64]>, mode: M, align: Option<bool>) -> Result<Tensor> {
    F::interpolate(x, size, scale, mode, align)
}

pub fn table() -> Vec<(&'static str, Case)> {
    vec![
        e!("convt2d", |x, p| F::conv_transpose2d(
            &x[0],
            &p["weight"],
            Some(&p["bias"]),
            (2, 2),
            (1, 1),
            (1, 1),
            1,
            (1, 1)
        )),
        e!("convt2d_groups_dilation", |x, p| F::conv_transpose2d(
            &x[0],
            &p["weight"],
            None,
            (1, 2),
            (0, 1),
            (0, 0),
            2,
            (2, 1)
        )),
        e!("convt1d", |x, p| F::conv_transpose1d(&x[0], &p["weight"], Some(&p["bias"]), 3, 1, 2, 1, 1)),
        e!("conv3d", |x, p| F::conv3d(&x[0], &p["weight"], Some(&p["bias"]), [2, 1, 2], [1, 1, 0], [1, 2, 1], 1)),
        e!("conv3d_groups", |x, p| F::conv3d(&x[0], &p["weight"], None, [1, 1, 1], [1, 1, 1], [1, 1, 1], 2)),
        e!("convt3d", |x, p| F::conv_transpose3d(
            &x[0],
            &p["weight"],
            Some(&p["bias"]),
            [2, 1, 2],
            [1, 0, 1],
            [1, 0, 0],
            1,
            [1, 1, 1]
        )),
        e!("conv2d_same_reflect", |x, p| {
            let o =
                ConvNdOptions { padding: ConvPadding::Same, padding_mode: PaddingMode::Reflect, ..Default::default() };
            flat(&[with_params(Conv2d::with_options(2, 3, [2, 3], o)?, p).forward(&x[0])?])
        }),
        e!("conv2d_circular", |x, p| {
            let o = ConvNdOptions {
                stride: [2, 2],
                padding: ConvPadding::Explicit([1, 2]),
                padding_mode: PaddingMode::Circular,
                ..Default::default()
            };
            flat(&[with_params(Conv2d::with_options(2, 2, [3, 3], o)?, p).forward(&x[0])?])
        }),
        e!("conv1d_same_replicate", |x, p| {
            let o = ConvNdOptions {
                padding: ConvPadding::Same,
                padding_mode: PaddingMode::Replicate,
                dilation: [2],
                bias: false,
                ..Default::default()
            };
            flat(&[with_params(Conv1d::with_options(2, 2, [4], o)?, p).forward(&x[0])?])
        }),
        e!("convt2d_output_size", |x, p| {
            let o = ConvNdOptions { stride: [2, 2], padding: ConvPadding::Explicit([1, 0]), ..Default::default() };
            flat(&[with_params(ConvTranspose2d::with_options(3, 2, [3, 2], o)?, p)
                .forward_with_output_size(&x[0], [6, 5])?])
        }),
        e!("pad_reflect2d", |x, _p| F::pad_with(&x[0], &[2, 1, 3, 0], PadMode::Reflect)),
        e!("pad_replicate3d", |x, _p| F::pad_with(&x[0], &[1, 1, 0, 2, 2, 1], PadMode::Replicate)),
        e!("pad_circular1d", |x, _p| F::pad_with(&x[0], &[3, -1], PadMode::Circular)),
        e!("pad_constant_negative", |x, _p| F::pad_with(&x[0], &[-1, 2, 1, -2], PadMode::Constant(0.5))),
        e!("interp_nearest", |x, _p| interp(&x[0], Some(&[5, 7]), None, M::Nearest, None)),
        e!("interp_nearest_exact_scale", |x, _p| interp(&x[0], None, Some(&[1.5, 0.7]), M::NearestExact, None)),
        e!("interp_linear", |x, _p| interp(&x[0], Some(&[8]), None, M::Linear, None)),
        e!("interp_linear_align", |x, _p| interp(&x[0], None, Some(&[2.5]), M::Linear, Some(true))),
        e!("interp_bilinear", |x, _p| interp(&x[0], Some(&[7, 5]), None, M::Bilinear, None)),
        e!("interp_bilinear_down", |x, _p| interp(&x[0], None, Some(&[0.5]), M::Bilinear, None)),
        e!("interp_bicubic", |x, _p| interp(&x[0], Some(&[6, 9]), None, M::Bicubic, None)),
        e!("interp_bicubic_align", |x, _p| interp(&x[0], None, Some(&[1.7, 2.0]), M::Bicubic, Some(true))),
        e!("interp_trilinear", |x, _p| interp(&x[0], Some(&[4, 3, 5]), None, M::Trilinear, None)),
        e!("interp_aa_bilinear", |x, _p| F::interpolate_with(&x[0], None, Some(&[0.4]), M::Bilinear, None, true)),
        e!("interp_aa_bicubic_mixed", |x, _p| F::interpolate_with(&x[0], Some(&[3, 8]), None, M::Bicubic, None, true)),
        e!("interp_aa_lanczos", |x, _p| F::interpolate_with(&x[0], Some(&[4, 4]), None, M::Lanczos, None, true)),
        e!("interp_area", |x, _p| interp(&x[0], Some(&[4, 3]), None, M::Area, None)),
        e!("pixel_shuffle", |x, _p| F::pixel_shuffle(&x[0], 2)),
        e!("pixel_unshuffle", |x, _p| F::pixel_unshuffle(&x[0], 2)),
        e!("unfold", |x, _p| x[0].unfold2d(Conv2dArgs {
            kernel: (2, 3),
            stride: (2, 1),
            padding: (1, 1),
            dilation: (1, 1)
        })),
        e!("fold", |x, _p| x[0].fold2d((4, 5), Conv2dArgs::new((2, 2)))),
    ]
}
