//! The pooling cases of the nn golden table: ceil_mode, indices, count_include_pad,
//! divisor_override, 1-D/3-D, adaptive max/avg, LP pooling and max unpooling.

use super::{flat, Case, P};
use ember_core::{DType, Result, Tensor};
use ember_nn::functional as F;

macro_rules! e {
    ($name:expr, |$x:ident| $body:expr) => {
        ($name, Box::new(|$x: &[Tensor], _p: &P| -> Result<Tensor> { $body }) as Case)
    };
}

fn with_idx(v: Tensor, i: Tensor) -> Result<Tensor> {
    flat(&[v, i.to_dtype(DType::F64)?])
}

pub fn table() -> Vec<(&'static str, Case)> {
    vec![
        e!("maxpool2d_ceil_indices", |x| {
            let (v, i) = F::max_pool2d_with_indices(&x[0], (3, 2), (2, 2), (1, 0), (1, 1), true)?;
            with_idx(v, i)
        }),
        e!("maxpool2d_dilation_unbatched", |x| F::max_pool2d_ext(&x[0], (2, 2), (1, 1), (0, 0), (2, 3), false)),
        e!("maxpool1d_indices", |x| {
            let (v, i) = F::max_pool1d(&x[0], 3, 2, 1, 1, false, true)?;
            with_idx(v, i.unwrap())
        }),
        e!("maxpool3d_ceil", |x| F::max_pool3d(&x[0], [2, 3, 2], [2, 2, 2], [1, 1, 0], [1, 1, 1], true)),
        e!("avgpool2d_ceil_exclude_pad", |x| F::avg_pool2d_ext(&x[0], (3, 3), (2, 2), (1, 1), true, false, None)),
        e!("avgpool2d_divisor", |x| F::avg_pool2d_ext(&x[0], (2, 3), (2, 1), (1, 1), false, true, Some(4))),
        e!("avgpool1d_ceil", |x| F::avg_pool1d(&x[0], 3, 2, 1, true, true)),
        e!("avgpool3d", |x| F::avg_pool3d(&x[0], [2, 3, 2], [2, 2, 1], [1, 1, 0], true, false, None)),
        e!("adaptive_max2d", |x| F::adaptive_pool(&x[0], &[3, 2], true)),
        e!("adaptive_max1d", |x| F::adaptive_pool(&x[0], &[4], true)),
        e!("adaptive_avg1d", |x| F::adaptive_pool(&x[0], &[3], false)),
        e!("adaptive_avg3d", |x| F::adaptive_pool(&x[0], &[2, 3, 3], false)),
        e!("lppool2d", |x| F::lp_pool2d(&x[0], 3.0, (2, 3), (2, 2), true)),
        e!("lppool1d", |x| F::lp_pool1d(&x[0], 2.0, 3, 2, false)),
        e!("maxunpool2d", |x| {
            let (_, i) = F::max_pool2d_with_indices(&x[1], (2, 2), (2, 2), (0, 0), (1, 1), false)?;
            F::max_unpool2d(&x[0], &i, (2, 2), (2, 2), (0, 0), Some((5, 7)))
        }),
    ]
}
