//! The convolution and image layers as modules: unbatched inputs, PyTorch's parameter shapes
//! and names, output-size rules and the errors for options PyTorch rejects. (Values against
//! PyTorch are in the nn golden table.)

use ember_core::{DType, Result, Tensor};
use ember_nn::functional::{self as F, InterpolateMode, PadMode};
use ember_nn::upsample::{ReflectionPad2d, ZeroPad2d};
use ember_nn::*;

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(shape, DType::F32).unwrap()
}

#[test]
fn parameter_shapes_and_names_follow_pytorch() -> Result<()> {
    let c = Conv3d::new(4, 6, 3, ConvOptions { groups: 2, ..Default::default() })?;
    assert_eq!(c.weight.shape(), &[6, 2, 3, 3, 3]);
    let t = ConvTranspose2d::with_options(4, 6, [3, 2], ConvNdOptions { groups: 2, ..Default::default() })?;
    assert_eq!(t.weight.shape(), &[4, 3, 3, 2]);
    assert_eq!(t.bias.as_ref().unwrap().shape(), &[6]);
    let names: Vec<String> = t.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
    // PyTorch's init bound for the bias: 1/sqrt(fan_in), fan_in = weight.shape[1] * kernel.
    let bound = 1.0 / ((3 * 3 * 2) as f64).sqrt();
    assert!(t.bias.as_ref().unwrap().to_f64_vec()?.iter().all(|b| b.abs() <= bound));
    Ok(())
}

#[test]
fn unbatched_inputs_give_unbatched_outputs() -> Result<()> {
    let c = Conv2d::new(3, 5, 3, ConvOptions { padding: 1, ..Default::default() })?;
    let x = randn(&[3, 6, 7]);
    let y = c.forward(&x)?;
    assert_eq!(y.shape(), &[5, 6, 7]);
    let yb = c.forward(&x.unsqueeze(0)?)?;
    assert_eq!(y.to_f64_vec()?, yb.squeeze_dim(0)?.to_f64_vec()?);
    let t = ConvTranspose1d::new(5, 2, 4, ConvOptions { stride: 2, ..Default::default() })?;
    assert_eq!(t.forward(&randn(&[5, 6]))?.shape(), &[2, 14]);
    assert!(c.forward(&randn(&[6, 7])).is_err());
    Ok(())
}

#[test]
fn same_padding_keeps_the_size_and_rejects_strides() -> Result<()> {
    let o = ConvNdOptions { padding: ConvPadding::Same, dilation: [2, 1], ..Default::default() };
    let c = Conv2d::with_options(2, 3, [4, 3], o)?;
    assert_eq!(c.forward(&randn(&[1, 2, 9, 8]))?.shape(), &[1, 3, 9, 8]);
    let strided = ConvNdOptions { padding: ConvPadding::Same, stride: [2, 1], ..Default::default() };
    let e = Conv2d::with_options(2, 3, [3, 3], strided).unwrap_err().to_string();
    assert!(e.contains("strided"), "{e}");
    let circ = ConvNdOptions { padding_mode: PaddingMode::Circular, ..Default::default() };
    assert!(ConvTranspose2d::with_options(2, 3, [3, 3], circ).is_err());
    Ok(())
}

#[test]
fn transposed_output_size_is_checked() -> Result<()> {
    let t = ConvTranspose2d::with_options(2, 2, [3, 3], ConvNdOptions { stride: [2, 2], ..Default::default() })?;
    let x = randn(&[1, 2, 4, 4]);
    assert_eq!(t.forward(&x)?.shape(), &[1, 2, 9, 9]);
    assert_eq!(t.forward_with_output_size(&x, [10, 9])?.shape(), &[1, 2, 10, 9]);
    let e = t.forward_with_output_size(&x, [11, 9]).unwrap_err().to_string();
    assert!(e.contains("9 to 10"), "{e}");
    // output_padding must stay below the stride or the dilation.
    assert!(F::conv_transpose2d(&x, &t.weight, None, (2, 2), (0, 0), (2, 0), 1, (1, 1)).is_err());
    Ok(())
}

#[test]
fn conv_transpose_is_the_adjoint_of_conv() -> Result<()> {
    // <conv(x), y> == <x, conv_transpose(y)> with the same weight: the defining property.
    let x = Tensor::randn(&[2, 3, 7, 6], DType::F64)?;
    let w = Tensor::randn(&[4, 3, 3, 2], DType::F64)?;
    let y = F::conv2d(&x, &w, None, (2, 1), (1, 0), (1, 2), 1)?;
    let v = Tensor::randn(y.shape(), DType::F64)?;
    let op = (7 + 2 - 3) % 2; // the size conv2d dropped at the bottom edge
    let xt = F::conv_transpose2d(&v, &w, None, (2, 1), (1, 0), (op, 0), 1, (1, 2))?;
    assert_eq!(xt.shape(), x.shape());
    let lhs = y.mul(&v)?.sum()?.item::<f64>()?;
    let rhs = x.mul(&xt)?.sum()?.item::<f64>()?;
    assert!((lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
    Ok(())
}

/// Resampling is linear in its input, so its gradient is the transposed tap table and the
/// derivative of that is the forward again: second derivatives by finite differences.
#[test]
fn interpolate_double_backward() -> Result<()> {
    use ember_core::autograd::{gradgradcheck, GradcheckOptions};
    let x = Tensor::randn(&[1, 2, 5, 4], DType::F64)?.set_requires_grad(true)?;
    for (mode, size, aa) in [
        (InterpolateMode::Bilinear, [3, 7], true),
        (InterpolateMode::Bicubic, [7, 3], false),
        (InterpolateMode::NearestExact, [8, 2], false),
    ] {
        let f = move |v: &[Tensor]| F::interpolate_with(&v[0], Some(&size), None, mode, None, aa)?.pow(2.0);
        gradgradcheck(f, std::slice::from_ref(&x), GradcheckOptions::default())?;
    }
    Ok(())
}

#[test]
fn image_layers_and_their_errors() -> Result<()> {
    let x = randn(&[1, 8, 3, 4]);
    let y = PixelShuffle { upscale_factor: 2 }.forward(&x)?;
    assert_eq!(y.shape(), &[1, 2, 6, 8]);
    assert_eq!(PixelUnshuffle { downscale_factor: 2 }.forward(&y)?.to_f64_vec()?, x.to_f64_vec()?);
    assert_eq!(Upsample::nearest2d(2.0).forward(&x)?.shape(), &[1, 8, 6, 8]);
    let b = Upsample::bilinear2d(2.0).forward(&x)?;
    // align_corners=True keeps the corners exactly.
    assert_eq!(b.narrow(2, 5, 1)?.narrow(3, 7, 1)?.to_f64_vec()?, x.narrow(2, 2, 1)?.narrow(3, 3, 1)?.to_f64_vec()?);
    assert!(F::interpolate(&x, Some(&[4]), None, InterpolateMode::Trilinear, None).is_err());
    assert!(F::interpolate(&x, Some(&[4, 4]), Some(&[2.0]), InterpolateMode::Nearest, None).is_err());
    assert!(F::interpolate(&x, Some(&[4, 4]), None, InterpolateMode::Nearest, Some(true)).is_err());
    // antialias is for bilinear / bicubic / Lanczos on 4-D inputs, and Lanczos needs it.
    assert!(F::interpolate_with(&x, Some(&[2, 2]), None, InterpolateMode::Nearest, None, true).is_err());
    assert!(F::interpolate(&x, Some(&[2, 2]), None, InterpolateMode::Lanczos, None).is_err());
    assert!(F::interpolate_with(&x, Some(&[2, 2]), None, InterpolateMode::Lanczos, Some(true), true).is_err());
    let labels = Tensor::from_vec((0..12i64).collect::<Vec<_>>(), &[1, 1, 3, 4])?;
    let up = F::interpolate(&labels, None, Some(&[2.0]), InterpolateMode::Nearest, None)?;
    assert_eq!(up.dtype(), DType::I64);
    assert_eq!(up.narrow(2, 5, 1)?.to_f64_vec()?, vec![8.0, 8.0, 9.0, 9.0, 10.0, 10.0, 11.0, 11.0]);
    assert!(F::interpolate(&labels, None, Some(&[2.0]), InterpolateMode::Bilinear, None).is_err());
    // The same size is still a new tensor, not the input.
    let same = F::interpolate(&x, Some(&[3, 4]), None, InterpolateMode::Bilinear, None)?;
    assert!(!same.shares_storage(&x));
    assert_eq!(same.to_f64_vec()?, x.to_f64_vec()?);
    assert_eq!(ReflectionPad2d(&[1])?.forward(&x)?.shape(), &[1, 8, 5, 6]);
    assert!(ReflectionPad2d(&[3])?.forward(&x).is_err(), "reflect pads must be smaller than the dim");
    assert_eq!(ZeroPad2d(&[1, 0, -1, 2])?.forward(&x)?.shape(), &[1, 8, 4, 5]);
    assert!(F::pad_with(&x, &[1, 1], PadMode::Reflect).is_err(), "1-D reflect padding of a 4-D input");
    assert!(PadMode::parse("mirror", 0.0).is_err());
    Ok(())
}
