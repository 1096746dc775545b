//! `_C._nn`'s convolution, pooling, padding and resampling entry points. Arguments arrive
//! normalised by `ember/nn/functional` (ints expanded to tuples, torch's defaults filled in),
//! so each binding is a direct call of the Rust functional; large work releases the GIL.

use super::{opt, wrap, R};
use crate::args::maybe_detach;
use crate::errors::IntoPyResult;
use crate::methods::tensors_tuple;
use crate::tensor::PyTensor;
use ember::nn::functional as F;
use ember::{Conv2dArgs, Tensor};
use pyo3::prelude::*;

type P2 = (usize, usize);
type P3 = [usize; 3];

/// Work estimate of a convolution: output-ish elements times the window.
fn conv_work(x: &Tensor, w: &Tensor) -> usize {
    x.numel().saturating_mul(w.numel() / w.shape().first().copied().unwrap_or(1).max(1))
}

/// `F.conv{1,2,3}d(x, weight, bias, stride, padding, dilation, groups)` with the geometry as
/// one value per spatial dim (`usize`, a pair, a triple).
macro_rules! conv_binding {
    ($name:ident, $geom:ty) => {
        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            py: Python<'_>,
            x: PyRef<'_, PyTensor>,
            w: PyRef<'_, PyTensor>,
            b: Option<PyRef<'_, PyTensor>>,
            stride: $geom,
            padding: $geom,
            dilation: $geom,
            groups: usize,
        ) -> R {
            let (x, w, b) = (x.t.clone(), w.t.clone(), opt(b));
            wrap(maybe_detach(py, conv_work(&x, &w), || {
                F::$name(&x, &w, b.as_ref(), stride, padding, dilation, groups)
            }))
        }
    };
}

/// `F.conv_transpose{1,2,3}d(x, weight, bias, stride, padding, output_padding, groups,
/// dilation)`.
macro_rules! conv_transpose_binding {
    ($name:ident, $geom:ty) => {
        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            py: Python<'_>,
            x: PyRef<'_, PyTensor>,
            w: PyRef<'_, PyTensor>,
            b: Option<PyRef<'_, PyTensor>>,
            stride: $geom,
            padding: $geom,
            output_padding: $geom,
            groups: usize,
            dilation: $geom,
        ) -> R {
            let (x, w, b) = (x.t.clone(), w.t.clone(), opt(b));
            wrap(maybe_detach(py, conv_work(&x, &w), || {
                F::$name(&x, &w, b.as_ref(), stride, padding, output_padding, groups, dilation)
            }))
        }
    };
}

conv_binding!(conv1d, usize);
conv_binding!(conv2d, P2);
conv_binding!(conv3d, P3);
conv_transpose_binding!(conv_transpose1d, usize);
conv_transpose_binding!(conv_transpose2d, P2);
conv_transpose_binding!(conv_transpose3d, P3);

/// `F.pad(x, pads, mode, value)`: `pads` last dim first, negative values crop.
#[pyfunction]
pub fn pad(x: PyRef<'_, PyTensor>, pads: Vec<isize>, mode: &str, value: f64) -> R {
    wrap(F::PadMode::parse(mode, value).and_then(|m| F::pad_with(&x.t, &pads, m)))
}

/// Values, or `(values, indices)` when `with_indices`.
fn values_or_pair(py: Python<'_>, r: ember::Result<(Tensor, Option<Tensor>)>) -> PyResult<Py<PyAny>> {
    match r.py()? {
        (v, Some(i)) => tensors_tuple(py, vec![v, i]),
        (v, None) => Ok(Py::new(py, PyTensor::new(v))?.into_any()),
    }
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn max_pool1d(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
    with_indices: bool,
) -> PyResult<Py<PyAny>> {
    values_or_pair(py, F::max_pool1d(&x.t, kernel, stride, padding, dilation, ceil_mode, with_indices))
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn max_pool2d(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    kernel: P2,
    stride: P2,
    padding: P2,
    dilation: P2,
    ceil_mode: bool,
    with_indices: bool,
) -> PyResult<Py<PyAny>> {
    let x = x.t.clone();
    let r = maybe_detach(py, x.numel(), || {
        if with_indices {
            F::max_pool2d_with_indices(&x, kernel, stride, padding, dilation, ceil_mode).map(|(v, i)| (v, Some(i)))
        } else {
            F::max_pool2d_ext(&x, kernel, stride, padding, dilation, ceil_mode).map(|v| (v, None))
        }
    });
    values_or_pair(py, r)
}

#[pyfunction]
pub fn max_pool3d(x: PyRef<'_, PyTensor>, kernel: P3, stride: P3, padding: P3, dilation: P3, ceil_mode: bool) -> R {
    wrap(F::max_pool3d(&x.t, kernel, stride, padding, dilation, ceil_mode))
}

#[pyfunction]
pub fn avg_pool1d(
    x: PyRef<'_, PyTensor>,
    kernel: usize,
    stride: usize,
    padding: usize,
    ceil_mode: bool,
    count_include_pad: bool,
) -> R {
    wrap(F::avg_pool1d(&x.t, kernel, stride, padding, ceil_mode, count_include_pad))
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn avg_pool2d(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    kernel: P2,
    stride: P2,
    padding: P2,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> R {
    let x = x.t.clone();
    wrap(maybe_detach(py, x.numel(), || {
        F::avg_pool2d_ext(&x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    }))
}

#[pyfunction]
pub fn avg_pool3d(
    x: PyRef<'_, PyTensor>,
    kernel: P3,
    stride: P3,
    padding: P3,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> R {
    wrap(F::avg_pool3d(&x.t, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override))
}

/// Adaptive average or max pooling to `out` (one size per pooled trailing dim).
#[pyfunction]
pub fn adaptive_pool(py: Python<'_>, x: PyRef<'_, PyTensor>, out: Vec<usize>, max: bool) -> R {
    let x = x.t.clone();
    wrap(maybe_detach(py, x.numel(), || F::adaptive_pool(&x, &out, max)))
}

#[pyfunction]
pub fn lp_pool1d(x: PyRef<'_, PyTensor>, norm_type: f64, kernel: usize, stride: usize, ceil_mode: bool) -> R {
    wrap(F::lp_pool1d(&x.t, norm_type, kernel, stride, ceil_mode))
}

#[pyfunction]
pub fn lp_pool2d(x: PyRef<'_, PyTensor>, norm_type: f64, kernel: P2, stride: P2, ceil_mode: bool) -> R {
    wrap(F::lp_pool2d(&x.t, norm_type, kernel, stride, ceil_mode))
}

#[pyfunction]
pub fn max_unpool2d(
    x: PyRef<'_, PyTensor>,
    indices: PyRef<'_, PyTensor>,
    kernel: P2,
    stride: P2,
    padding: P2,
    output_size: Option<P2>,
) -> R {
    wrap(F::max_unpool2d(&x.t, &indices.t, kernel, stride, padding, output_size))
}

#[pyfunction]
#[pyo3(signature = (x, size, scale_factor, mode, align_corners, antialias=false))]
pub fn interpolate(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    size: Option<Vec<usize>>,
    scale_factor: Option<Vec<f64>>,
    mode: &str,
    align_corners: Option<bool>,
    antialias: bool,
) -> R {
    let x = x.t.clone();
    let mode = F::InterpolateMode::parse(mode).py()?;
    wrap(maybe_detach(py, x.numel(), || {
        F::interpolate_with(&x, size.as_deref(), scale_factor.as_deref(), mode, align_corners, antialias)
    }))
}

#[pyfunction]
pub fn pixel_shuffle(x: PyRef<'_, PyTensor>, r: usize) -> R {
    wrap(F::pixel_shuffle(&x.t, r))
}

#[pyfunction]
pub fn pixel_unshuffle(x: PyRef<'_, PyTensor>, r: usize) -> R {
    wrap(F::pixel_unshuffle(&x.t, r))
}

/// `F.unfold`: `[N, C, H, W] -> [N, C kh kw, L]`.
#[pyfunction]
pub fn unfold(x: PyRef<'_, PyTensor>, kernel: P2, dilation: P2, padding: P2, stride: P2) -> R {
    wrap(x.t.unfold2d(Conv2dArgs { kernel, stride, padding, dilation }))
}

/// `F.fold`: `[N, C kh kw, L] -> [N, C, H, W]`, overlaps summed.
#[pyfunction]
pub fn fold(x: PyRef<'_, PyTensor>, output_size: P2, kernel: P2, dilation: P2, padding: P2, stride: P2) -> R {
    wrap(x.t.fold2d(output_size, Conv2dArgs { kernel, stride, padding, dilation }))
}

#[pyfunction]
pub fn affine_grid(theta: PyRef<'_, PyTensor>, size: Vec<usize>, align_corners: bool) -> R {
    wrap(F::affine_grid(&theta.t, &size, align_corners))
}

#[pyfunction]
pub fn grid_sample(
    input: PyRef<'_, PyTensor>,
    grid: PyRef<'_, PyTensor>,
    mode: &str,
    padding_mode: &str,
    align_corners: bool,
) -> R {
    let mode = match mode {
        "bilinear" => F::GridMode::Bilinear,
        "nearest" => F::GridMode::Nearest,
        "bicubic" => F::GridMode::Bicubic,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '{other}'"
        )))
        }
    };
    let padding = match padding_mode {
        "zeros" => F::GridPadding::Zeros,
        "border" => F::GridPadding::Border,
        "reflection" => F::GridPadding::Reflection,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', but got: '{other}'"
            )))
        }
    };
    wrap(F::grid_sample(&input.t, &grid.t, mode, padding, align_corners))
}

/// Registers this file's functions on `_C._nn`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    macro_rules! functions {
        ($($f:ident),* $(,)?) => {$( m.add_function(wrap_pyfunction!($f, m)?)?; )*};
    }
    functions!(
        conv1d,
        conv2d,
        conv3d,
        conv_transpose1d,
        conv_transpose2d,
        conv_transpose3d,
        pad,
        max_pool1d,
        max_pool2d,
        max_pool3d,
        avg_pool1d,
        avg_pool2d,
        avg_pool3d,
        adaptive_pool,
        lp_pool1d,
        lp_pool2d,
        max_unpool2d,
        interpolate,
        pixel_shuffle,
        pixel_unshuffle,
        unfold,
        fold,
        affine_grid,
        grid_sample,
    );
    Ok(())
}
