//! `F.grid_sample` in f32 (vectorised taps computed in f32, as PyTorch's kernel computes them)
//! against the same call in f64 (whose values and gradients the nn golden table checks against
//! PyTorch), for every mode, padding and `align_corners`, with grid points inside, on and
//! beyond the image; and the two ways work is split (whole images per thread, or blocks of
//! points of one image) against each other.

use ember_core::{DType, Result, Tensor};
use ember_nn::functional::{self as F, GridMode, GridPadding};

/// `(y, dL/dx, dL/dgrid)` for `L = sum(y * w)`, in `dtype`, returned as f64 values.
fn sample(
    x: &Tensor,
    g: &Tensor,
    w: &Tensor,
    dtype: DType,
    mode: GridMode,
    pad: GridPadding,
    align: bool,
) -> Result<[Vec<f64>; 3]> {
    let x = x.to_dtype(dtype)?.detach().set_requires_grad(true)?;
    let g = g.to_dtype(dtype)?.detach().set_requires_grad(true)?;
    let y = F::grid_sample(&x, &g, mode, pad, align)?;
    y.mul(&w.to_dtype(dtype)?)?.sum()?.backward()?;
    Ok([y.to_f64_vec()?, x.grad().expect("x grad").to_f64_vec()?, g.grad().expect("grid grad").to_f64_vec()?])
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= 2e-5 * scale, "{what}[{i}]: f32 {a}, f64 {b}");
    }
}

#[test]
fn f32_matches_f64_for_every_mode_padding_and_alignment() -> Result<()> {
    ember_core::manual_seed(7);
    let x = Tensor::randn(&[2, 3, 7, 9], DType::F64)?;
    // Grid values in [-1.6, 1.6]: a third of the points fall outside the image.
    let g = Tensor::rand(&[2, 5, 6, 2], DType::F64)?.mul_scalar(3.2)?.sub_scalar(1.6)?;
    let w = Tensor::randn(&[2, 3, 5, 6], DType::F64)?;
    for mode in [GridMode::Bilinear, GridMode::Nearest, GridMode::Bicubic] {
        for pad in [GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection] {
            for align in [false, true] {
                let want = sample(&x, &g, &w, DType::F64, mode, pad, align)?;
                let got = sample(&x, &g, &w, DType::F32, mode, pad, align)?;
                for (k, name) in ["output", "input grad", "grid grad"].iter().enumerate() {
                    assert_close(&got[k], &want[k], &format!("{mode:?} {pad:?} align={align} {name}"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn one_image_split_in_blocks_matches_whole_images() -> Result<()> {
    // With two threads, a batch of two runs an image per thread, a batch of one splits its
    // 1200 points into blocks: the second image's results must not depend on which.
    ember_core::set_num_threads(2);
    ember_core::manual_seed(11);
    let x = Tensor::randn(&[2, 2, 16, 12], DType::F32)?;
    let g = Tensor::rand(&[2, 30, 40, 2], DType::F32)?.mul_scalar(2.4)?.sub_scalar(1.2)?;
    let w = Tensor::randn(&[2, 2, 30, 40], DType::F32)?;
    for mode in [GridMode::Bilinear, GridMode::Bicubic] {
        let both = sample(&x, &g, &w, DType::F32, mode, GridPadding::Border, false)?;
        let one = |t: &Tensor| t.narrow(0, 1, 1);
        let single = sample(&one(&x)?, &one(&g)?, &one(&w)?, DType::F32, mode, GridPadding::Border, false)?;
        for (k, name) in ["output", "input grad", "grid grad"].iter().enumerate() {
            let half = both[k].len() / 2;
            assert_close(&single[k], &both[k][half..], &format!("{mode:?} {name}"));
        }
    }
    Ok(())
}
