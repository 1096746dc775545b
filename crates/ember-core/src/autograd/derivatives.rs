//! THE gradient table: one exhaustive `match` over [`Op`] (no wildcard arm), returning one
//! gradient per input (`None` where the input does not need one). The engine accumulates;
//! rules never do. Formulas use ordinary tensor ops, so they are themselves differentiable
//! when the engine runs them with grad mode on (`create_graph`).
//!
//! Non-differentiable points follow PyTorch: relu'(0) = 0, abs'(0) = 0, clamp's gradient is 0
//! at the bounds (PyTorch 2.x), maximum/minimum split ties evenly, max_dim sends the gradient to
//! the returned index.

use super::{is_grad_enabled, NodeState};
use crate::backend::{BinaryOp, UnaryOp};
use crate::error::Result;
use crate::op::Op;
use crate::Tensor;

/// Whether the rule for `op` reads the values of input `i` (otherwise the graph keeps only a
/// data-less proxy of that input, so intermediate activations are freed after the forward
/// pass, as PyTorch saves only what each formula needs). Exhaustive, like the rules below.
pub(crate) fn needs_input_data(op: &Op, i: usize) -> bool {
    match op {
        Op::Binary(b) => match b {
            BinaryOp::Add | BinaryOp::Sub => false,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Maximum | BinaryOp::Minimum | BinaryOp::Pow => true,
        },
        Op::Unary(u) => match u {
            UnaryOp::Neg
            | UnaryOp::Exp
            | UnaryOp::Sqrt
            | UnaryOp::Rsqrt
            | UnaryOp::Tanh
            | UnaryOp::Sigmoid
            | UnaryOp::Relu
            | UnaryOp::Sign
            | UnaryOp::Recip
            | UnaryOp::AddScalar(_)
            | UnaryOp::MulScalar(_) => false,
            UnaryOp::Log
            | UnaryOp::Abs
            | UnaryOp::Sin
            | UnaryOp::Cos
            | UnaryOp::Gelu
            | UnaryOp::GeluGrad
            | UnaryOp::GeluTanh
            | UnaryOp::GeluTanhGrad
            | UnaryOp::Silu
            | UnaryOp::Erf
            | UnaryOp::Square
            | UnaryOp::PowScalar(_)
            | UnaryOp::Clamp(..) => true,
        },
        Op::Prod { .. } | Op::Matmul | Op::Checkpoint(_) => true,
        Op::Where { .. }
        | Op::Sum { .. }
        | Op::SelectDim { .. }
        | Op::Cumsum { .. }
        | Op::Softmax { .. }
        | Op::LogSoftmax { .. }
        | Op::Reshape
        | Op::Permute { .. }
        | Op::Expand
        | Op::Slice { .. }
        | Op::SliceBackward { .. }
        | Op::Contiguous
        | Op::ToDtype
        | Op::Cat { .. }
        | Op::IndexSelect { .. }
        | Op::IndexAdd { .. }
        | Op::Gather { .. }
        | Op::ScatterAdd { .. }
        | Op::Im2col(_)
        | Op::Col2im(_) => {
            let _ = i;
            false
        }
    }
}

/// Whether the rule for `op` reads its output (`saved_output`).
pub(crate) fn saves_output(op: &Op) -> bool {
    match op {
        Op::Unary(u) => matches!(
            u,
            UnaryOp::Exp
                | UnaryOp::Sqrt
                | UnaryOp::Rsqrt
                | UnaryOp::Tanh
                | UnaryOp::Sigmoid
                | UnaryOp::Relu
                | UnaryOp::Recip
        ),
        Op::Prod { .. } | Op::Softmax { .. } | Op::LogSoftmax { .. } => true,
        _ => false,
    }
}

/// Input gradients of one node given the gradient `g` of its output.
pub(crate) fn backward(st: &NodeState, g: &Tensor, needs: &[bool]) -> Result<Vec<Option<Tensor>>> {
    let need = |i: usize| needs.get(i).copied().unwrap_or(false);
    let x = |i: usize| st.saved_input(i);
    let shape = |i: usize| st.inputs[i].shape().to_vec();
    let one = |t: Tensor| Ok(vec![Some(t)]);
    match &st.op {
        Op::Binary(b) => {
            let (ga, gb) = match b {
                BinaryOp::Add => (need(0).then(|| g.clone()), need(1).then(|| g.clone())),
                BinaryOp::Sub => (need(0).then(|| g.clone()), if need(1) { Some(g.neg()?) } else { None }),
                BinaryOp::Mul => {
                    (if need(0) { Some(g.mul(x(1)?)?) } else { None }, if need(1) { Some(g.mul(x(0)?)?) } else { None })
                }
                BinaryOp::Div => {
                    let b = x(1)?;
                    let ga = if need(0) { Some(g.div(b)?) } else { None };
                    // d(a/b)/db = -a / b^2
                    let gb = if need(1) { Some(g.mul(x(0)?)?.div(&b.mul(b)?)?.neg()?) } else { None };
                    (ga, gb)
                }
                BinaryOp::Maximum | BinaryOp::Minimum => {
                    let (a, b) = (x(0)?, x(1)?);
                    let wins = if matches!(st.op, Op::Binary(BinaryOp::Maximum)) { a.gt(b)? } else { a.lt(b)? };
                    // Weight of `a`: 1 where it wins, 1/2 on ties, 0 where it loses.
                    let w =
                        Tensor::where_(&wins, &Tensor::ones_like(a)?, &a.eq(b)?.to_dtype(a.dtype())?.mul_scalar(0.5)?)?;
                    let ga = if need(0) { Some(g.mul(&w)?) } else { None };
                    let gb = if need(1) { Some(g.mul(&w.neg()?.add_scalar(1.0)?)?) } else { None };
                    (ga, gb)
                }
                BinaryOp::Pow => {
                    let (a, b) = (x(0)?, x(1)?);
                    let ga = if need(0) { Some(g.mul(&b.mul(&a.pow_tensor(&b.add_scalar(-1.0)?)?)?)?) } else { None };
                    let gb = if need(1) {
                        // d(a^b)/db = a^b ln a, taken as 0 where a == 0 (PyTorch's choice).
                        let out = a.pow_tensor(b)?;
                        let zero = a.eq_scalar(0.0)?;
                        let safe_a = Tensor::where_(&zero, &Tensor::ones_like(a)?, a)?;
                        Some(g.mul(&out.mul(&safe_a.log()?)?)?)
                    } else {
                        None
                    };
                    (ga, gb)
                }
            };
            Ok(vec![ga, gb])
        }
        Op::Unary(u) => {
            let gi = match *u {
                UnaryOp::Neg => g.neg()?,
                UnaryOp::Exp => g.mul(&st.saved_output()?)?,
                UnaryOp::Log => g.div(x(0)?)?,
                UnaryOp::Sqrt => g.div(&st.saved_output()?.mul_scalar(2.0)?)?,
                UnaryOp::Rsqrt => g.mul(&st.saved_output()?.pow(3.0)?)?.mul_scalar(-0.5)?,
                UnaryOp::Abs => g.mul(&x(0)?.sign()?)?,
                UnaryOp::Sin => g.mul(&x(0)?.cos()?)?,
                UnaryOp::Cos => g.mul(&x(0)?.sin()?)?.neg()?,
                UnaryOp::Tanh => {
                    let y = st.saved_output()?;
                    g.mul(&y.mul(&y)?.neg()?.add_scalar(1.0)?)?
                }
                UnaryOp::Sigmoid => {
                    let y = st.saved_output()?;
                    g.mul(&y.mul(&y.neg()?.add_scalar(1.0)?)?)?
                }
                UnaryOp::Relu => {
                    let y = st.saved_output()?;
                    // A 0-d zero broadcasts: no zero-filled tensor of the gradient's size.
                    Tensor::where_(&y.gt_scalar(0.0)?, g, &Tensor::zeros(&[], g.dtype())?)?
                }
                UnaryOp::Gelu => {
                    let a = x(0)?;
                    if is_grad_enabled() {
                        // Phi(x) + x phi(x), from differentiable ops (double backward works).
                        let cdf =
                            a.mul_scalar(std::f64::consts::FRAC_1_SQRT_2)?.erf()?.add_scalar(1.0)?.mul_scalar(0.5)?;
                        let pdf =
                            a.mul(a)?.mul_scalar(-0.5)?.exp()?.mul_scalar(1.0 / (2.0 * std::f64::consts::PI).sqrt())?;
                        g.mul(&cdf.add(&a.mul(&pdf)?)?)?
                    } else {
                        g.mul(&a.unary_prim(UnaryOp::GeluGrad)?)?
                    }
                }
                UnaryOp::GeluGrad => {
                    // d/dx [Phi(x) + x phi(x)] = phi(x) (2 - x^2)
                    let a = x(0)?;
                    let pdf =
                        a.mul(a)?.mul_scalar(-0.5)?.exp()?.mul_scalar(1.0 / (2.0 * std::f64::consts::PI).sqrt())?;
                    g.mul(&pdf.mul(&a.mul(a)?.neg()?.add_scalar(2.0)?)?)?
                }
                UnaryOp::GeluTanh if !is_grad_enabled() => g.mul(&x(0)?.unary_prim(UnaryOp::GeluTanhGrad)?)?,
                UnaryOp::GeluTanhGrad => {
                    // f = x s(u), u = 2k (x + c x^3): f'' = s(1-s) [2u' + x ((1-2s) u'^2 + u'')]
                    let a = x(0)?;
                    let (k, c) = ((2.0 / std::f64::consts::PI).sqrt(), 0.044715);
                    let x2 = a.mul(a)?;
                    let s = a.add(&x2.mul(a)?.mul_scalar(c)?)?.mul_scalar(2.0 * k)?.sigmoid()?;
                    let du = x2.mul_scalar(3.0 * c)?.add_scalar(1.0)?.mul_scalar(2.0 * k)?;
                    let ddu = a.mul_scalar(12.0 * k * c)?;
                    let inner = s
                        .mul_scalar(-2.0)?
                        .add_scalar(1.0)?
                        .mul(&du.square()?)?
                        .add(&ddu)?
                        .mul(a)?
                        .add(&du.mul_scalar(2.0)?)?;
                    g.mul(&s.mul(&s.neg()?.add_scalar(1.0)?)?.mul(&inner)?)?
                }
                UnaryOp::GeluTanh => {
                    // y = 0.5 x (1 + t), t = tanh(k (x + c x^3))
                    let a = x(0)?;
                    let (k, c) = ((2.0 / std::f64::consts::PI).sqrt(), 0.044715);
                    let x2 = a.mul(a)?;
                    let t = a.add(&x2.mul(a)?.mul_scalar(c)?)?.mul_scalar(k)?.tanh()?;
                    let dt = t
                        .mul(&t)?
                        .neg()?
                        .add_scalar(1.0)?
                        .mul(&x2.mul_scalar(3.0 * c)?.add_scalar(1.0)?)?
                        .mul_scalar(k)?;
                    let d = t.add_scalar(1.0)?.mul_scalar(0.5)?.add(&a.mul(&dt)?.mul_scalar(0.5)?)?;
                    g.mul(&d)?
                }
                UnaryOp::Silu => {
                    let a = x(0)?;
                    let s = a.sigmoid()?;
                    g.mul(&s.mul(&a.mul(&s.neg()?.add_scalar(1.0)?)?.add_scalar(1.0)?)?)?
                }
                UnaryOp::Erf => {
                    let a = x(0)?;
                    g.mul(&a.mul(a)?.neg()?.exp()?.mul_scalar(std::f64::consts::FRAC_2_SQRT_PI)?)?
                }
                UnaryOp::Sign => Tensor::zeros_like(g)?,
                UnaryOp::Recip => {
                    let y = st.saved_output()?;
                    g.mul(&y.mul(&y)?)?.neg()?
                }
                UnaryOp::Square => g.mul(&x(0)?.mul_scalar(2.0)?)?,
                UnaryOp::AddScalar(_) => g.clone(),
                UnaryOp::MulScalar(c) => g.mul_scalar(c)?,
                UnaryOp::PowScalar(p) => {
                    if p == 0.0 {
                        Tensor::zeros_like(g)?
                    } else {
                        g.mul(&x(0)?.pow(p - 1.0)?.mul_scalar(p)?)?
                    }
                }
                UnaryOp::Clamp(lo, hi) => {
                    let a = x(0)?;
                    let mut keep = Tensor::ones_like(a)?.to_dtype(crate::DType::Bool)?;
                    if !lo.is_nan() {
                        keep = keep.logical_and(&a.gt_scalar(lo)?)?;
                    }
                    if !hi.is_nan() {
                        keep = keep.logical_and(&a.lt_scalar(hi)?)?;
                    }
                    Tensor::where_(&keep, g, &Tensor::zeros_like(g)?)?
                }
            };
            one(gi)
        }
        Op::Where { cond } => {
            let z = Tensor::zeros_like(g)?;
            Ok(vec![
                if need(0) { Some(Tensor::where_(cond, g, &z)?) } else { None },
                if need(1) { Some(Tensor::where_(cond, &z, g)?) } else { None },
            ])
        }
        Op::Sum { dims, keepdim } => {
            let in_shape = shape(0);
            let g = if *keepdim { g.clone() } else { g.reshape_to(&keep_shape(&in_shape, dims))? };
            one(g.expand_to(&in_shape)?)
        }
        Op::SelectDim { dim, keepdim, indices } => {
            let in_shape = shape(0);
            let (g, idx) = if *keepdim {
                (g.clone(), indices.clone())
            } else {
                let ks = keep_shape(&in_shape, &[*dim]);
                (g.reshape_to(&ks)?, indices.reshape_to(&ks)?)
            };
            one(Tensor::zeros(&in_shape, g.dtype())?.scatter_add_u(*dim, &idx, &g)?)
        }
        Op::Prod { dim, keepdim } => {
            let a = x(0)?;
            let in_shape = shape(0);
            let ks = keep_shape(&in_shape, &[*dim]);
            let (g, out) = if *keepdim {
                (g.clone(), st.saved_output()?)
            } else {
                (g.reshape_to(&ks)?, st.saved_output()?.reshape_to(&ks)?)
            };
            // Product of the other elements, exact when the slice holds zeros: out / a where
            // a != 0; the product of the non-zeros where a is the only zero; 0 otherwise.
            let zero = a.eq_scalar(0.0)?;
            let nz = zero.to_dtype(a.dtype())?.sum_dims(&[*dim], true)?;
            let safe = Tensor::where_(&zero, &Tensor::ones_like(a)?, a)?;
            let prod_nonzero = safe.prod_u(*dim, true)?;
            let only_zero = nz.eq_scalar(1.0)?.to_dtype(a.dtype())?;
            let others = Tensor::where_(&zero, &prod_nonzero.mul(&only_zero)?.expand_to(&in_shape)?, &out.div(&safe)?)?;
            one(g.mul(&others)?)
        }
        Op::Cumsum { dim } => {
            // Reverse cumulative sum: sum_{j >= i} g_j = total - cumsum(g)_i + g_i.
            let total = g.sum_dims(&[*dim], true)?;
            one(total.sub(&g.cumsum_u(*dim)?)?.add(g)?)
        }
        Op::Softmax { dim } => {
            let y = st.saved_output()?;
            let gy = g.mul(&y)?;
            one(gy.sub(&y.mul(&gy.sum_dims(&[*dim], true)?)?)?)
        }
        Op::LogSoftmax { dim } => {
            let y = st.saved_output()?;
            one(g.sub(&y.exp()?.mul(&g.sum_dims(&[*dim], true)?)?)?)
        }
        Op::Reshape => one(g.reshape_to(&shape(0))?),
        Op::Permute { perm } => {
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            one(g.permute_u(&inv)?)
        }
        Op::Expand => one(g.sum_to_shape(&shape(0))?),
        Op::Slice { dim, start, step } => one(g.slice_backward(&shape(0), *dim, *start, *step)?),
        Op::SliceBackward { dim, start, step, full: _ } => {
            let len = shape(0)[*dim];
            one(g.slice_u(*dim, *start, len, *step)?)
        }
        Op::Contiguous => one(g.clone()),
        Op::ToDtype => one(g.to_dtype(st.inputs[0].dtype())?),
        Op::Cat { dim } => {
            let mut start = 0;
            let mut out = Vec::with_capacity(st.inputs.len());
            for (i, t) in st.inputs.iter().enumerate() {
                let len = t.shape()[*dim];
                out.push(if need(i) { Some(g.slice_u(*dim, start, len, 1)?) } else { None });
                start += len;
            }
            Ok(out)
        }
        Op::IndexSelect { dim, index } => one(Tensor::zeros(&shape(0), g.dtype())?.index_add_u(*dim, index, g)?),
        Op::IndexAdd { dim, index } => {
            Ok(vec![need(0).then(|| g.clone()), if need(1) { Some(g.index_select_u(*dim, index)?) } else { None }])
        }
        Op::Gather { dim, index } => one(Tensor::zeros(&shape(0), g.dtype())?.scatter_add_u(*dim, index, g)?),
        Op::ScatterAdd { dim, index } => {
            Ok(vec![need(0).then(|| g.clone()), if need(1) { Some(g.gather_u(*dim, index)?) } else { None }])
        }
        Op::Matmul => {
            let (a, b) = (x(0)?, x(1)?);
            // Each gradient is computed in its input's memory order: for a transposed operand
            // (a Linear weight used as `w.t()`), `dB = (G^T A)^T` is the same product written
            // column-major, so the transpose's backward hands the parameter a contiguous
            // gradient instead of a strided one that `.grad` would have to copy.
            Ok(vec![
                match need(0) {
                    false => None,
                    true if is_transposed(a) => Some(b.matmul_prim(&g.transpose_last()?)?.transpose_last()?),
                    true => Some(g.matmul_prim(&b.transpose_last()?)?),
                },
                match need(1) {
                    false => None,
                    true if is_transposed(b) => Some(g.transpose_last()?.matmul_prim(a)?.transpose_last()?),
                    true => Some(a.transpose_last()?.matmul_prim(g)?),
                },
            ])
        }
        Op::Im2col(geom) => one(g.col2im(*geom)?),
        Op::Col2im(geom) => one(g.im2col(*geom)?),
        Op::Checkpoint(f) => super::checkpoint::backward(f, &st.inputs, g, needs),
    }
}

/// Whether the last two dims of `t` are laid out column-major (a transposed contiguous matrix).
fn is_transposed(t: &Tensor) -> bool {
    let (n, s) = (t.dim(), t.strides());
    if n < 2 {
        return false;
    }
    let (rows, cols) = (t.shape()[n - 2], t.shape()[n - 1]);
    rows > 1 && cols > 1 && s[n - 2] == 1 && s[n - 1] == rows
}

/// `shape` with each of `dims` set to 1.
fn keep_shape(shape: &[usize], dims: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    for &d in dims {
        s[d] = 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::gradcheck::{gradcheck, GradcheckOptions};
    use crate::backend::UnaryOp;
    use crate::Tensor;

    #[test]
    fn fused_gelu_derivative_primitives_have_correct_gradients() {
        let x =
            Tensor::from_vec(vec![-3.0f64, -0.7, 0.1, 0.4, 1.3, 2.5], &[6]).unwrap().set_requires_grad(true).unwrap();
        for op in [UnaryOp::GeluGrad, UnaryOp::GeluTanhGrad] {
            gradcheck(|xs| xs[0].unary_prim(op), std::slice::from_ref(&x), GradcheckOptions::default())
                .unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
    }
}
