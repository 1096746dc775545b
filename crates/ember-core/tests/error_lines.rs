//! Every error names the caller's line: one failing call per public op, grouped by error
//! family, each checked to report this file and the line of the call (not a line inside
//! Ember: helpers and closures inside the library must pass `#[track_caller]` through).

use ember_core::autograd;
use ember_core::{Conv2dArgs, DType, Error, Tensor};

/// Asserts that `$e` fails with an error of variant `$kind` located at this line of this file.
macro_rules! at_caller {
    ($kind:ident, $e:expr) => {{
        let line = line!();
        match $e {
            Ok(_) => panic!("line {line}: `{}` succeeded", stringify!($e)),
            Err(err) => {
                assert!(matches!(err, Error::$kind { .. }), "line {line}: expected {}, got {err}", stringify!($kind));
                let at = err.location().expect("op errors carry a location");
                assert!(
                    at.file().ends_with("error_lines.rs") && at.line() == line,
                    "line {line}: `{}` reports {}:{}: {err}",
                    stringify!($e),
                    at.file(),
                    at.line()
                );
            }
        }
    }};
}

fn m(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F32).unwrap()
}

fn ints(v: &[i64]) -> Tensor {
    Tensor::from_slice(v, &[v.len()]).unwrap()
}

#[test]
fn linalg_and_sparse_value_errors() {
    at_caller!(Value, m(&[3, 3]).linalg_qr("full"));
    at_caller!(Value, m(&[3, 3]).linalg_eigh("X"));
    let nan = Tensor::full(&[2, 2], f64::NAN, DType::F32).unwrap();
    at_caller!(Value, nan.linalg_svd(false));
    at_caller!(Value, nan.linalg_eigh("L"));
    at_caller!(Value, nan.eigvalsh("L"));
    at_caller!(Value, nan.svdvals());
    let singular = Tensor::zeros(&[2, 2], DType::F64).unwrap();
    at_caller!(Value, singular.inv());
    at_caller!(Value, singular.linalg_solve(&m(&[2, 1])));
    at_caller!(Value, singular.cholesky(false));
    let bad = Tensor::from_vec(vec![0i64, 9], &[1, 2]).unwrap();
    at_caller!(Value, ember_core::sparse::SparseCoo::new(&bad, &m(&[2]), &[3]));
    let (x, idx, src) = (m(&[3, 4]), Tensor::zeros(&[1, 4], DType::I64).unwrap(), m(&[1, 4]));
    at_caller!(Value, x.scatter_reduce(0, &idx, &src, "median", true));
}

#[test]
fn shape_errors() {
    let (a, b) = (m(&[2, 3]), m(&[4, 5]));
    at_caller!(Shape, a.matmul(&b));
    at_caller!(Shape, a.topk(4, 1, true));
    at_caller!(Shape, a.kthvalue(0, 1, false));
    at_caller!(Shape, a.searchsorted(&m(&[3, 3]), false));
    at_caller!(Shape, a.bucketize(&a, false));
    at_caller!(Shape, a.take_along_dim(&ints(&[0]), Some(0)));
    at_caller!(Shape, a.mm(&m(&[3])));
    at_caller!(Shape, a.linalg_eigh("L"));
    at_caller!(Shape, a.eigvalsh("L"));
    at_caller!(Shape, m(&[3]).linalg_svd(false));
    at_caller!(Shape, m(&[3]).linalg_qr("reduced"));
    at_caller!(Shape, m(&[3, 3]).solve_triangular(&m(&[4, 2]), true, true, false));
    at_caller!(Shape, a.lstsq(&m(&[5, 1])));
    at_caller!(Shape, m(&[3]).renorm(2.0, 0, 1.0));
    at_caller!(Shape, a.to_sparse().unwrap().mm(&m(&[4, 1])));
    at_caller!(Shape, Tensor::scalar(1.0f32).unique_dim(0, false));
    at_caller!(Shape, &a + &b);
    at_caller!(Shape, a.sub(&b));
    at_caller!(Shape, a.maximum(&b));
    at_caller!(Shape, a.eq(&b));
    at_caller!(Shape, Tensor::where_cond(&Tensor::scalar(true), &a, &b));
    at_caller!(Shape, a.masked_fill(&Tensor::zeros(&[3, 3], DType::Bool).unwrap(), 1.0));
    at_caller!(Shape, Tensor::cat(&[&a, &b], 0));
    at_caller!(Shape, Tensor::stack(&[&a, &b], 0));
    at_caller!(Shape, a.reshape(&[7]));
    at_caller!(Shape, a.reshape(&[-1, -1]));
    at_caller!(Shape, a.t().unwrap().view(&[6]));
    at_caller!(Shape, a.permute(&[0]));
    at_caller!(Shape, a.expand(&[3]));
    at_caller!(Shape, a.expand(&[3, 3]));
    at_caller!(Shape, a.broadcast_to(&[3, 3]));
    at_caller!(Shape, a.as_strided(&[2], &[1, 1], 0));
    at_caller!(Shape, m(&[2, 2, 2]).t());
    at_caller!(Shape, a.repeat(&[2]));
    at_caller!(Shape, m(&[3]).tril(0));
    at_caller!(Shape, m(&[3]).triu(0));
    at_caller!(Shape, a.index_select(0, &Tensor::zeros(&[1, 1], DType::I64).unwrap()));
    at_caller!(Shape, a.index_add(0, &ints(&[0]), &b));
    at_caller!(Shape, a.gather(0, &ints(&[0])));
    at_caller!(Shape, a.scatter_add(0, &Tensor::zeros(&[3, 3], DType::I64).unwrap(), &a));
    at_caller!(Shape, a.unfold2d(Conv2dArgs::new((2, 2))));
    at_caller!(Shape, m(&[1, 1, 2, 2]).unfold2d(Conv2dArgs::new((3, 3))));
    at_caller!(Shape, m(&[1, 4, 5]).fold2d((3, 3), Conv2dArgs::new((2, 2))));
    at_caller!(Shape, a.backward());
    at_caller!(Shape, m(&[2, 3]).set_requires_grad(true).unwrap().backward_with(&b));
    at_caller!(Shape, a.add_(&b));
    at_caller!(Shape, a.copy_(&b));
    at_caller!(Shape, Tensor::from_vec(vec![1.0f32; 3], &[2, 2]));
    at_caller!(Shape, a.item::<f32>());
}

#[test]
fn index_errors() {
    let a = m(&[2, 3]);
    at_caller!(Index, a.sum_dim(2, false));
    at_caller!(Index, a.sum_dims_keep(&[0, -3], true));
    at_caller!(Index, a.mean_dim(5, false));
    at_caller!(Index, a.max_dim(-3, false));
    at_caller!(Index, a.min_dim(2, true));
    at_caller!(Index, a.argmax(2, false));
    at_caller!(Index, a.argmin(2, false));
    at_caller!(Index, a.prod_dim(2, false));
    at_caller!(Index, a.var_dim(2, true, false));
    at_caller!(Index, a.std_dim(2, true, false));
    at_caller!(Index, a.logsumexp(2, false));
    at_caller!(Index, a.softmax(2));
    at_caller!(Index, a.log_softmax(-3));
    at_caller!(Index, a.cumsum(2));
    at_caller!(Index, a.size(2));
    at_caller!(Index, Tensor::scalar(1.0f32).size(0));
    at_caller!(Index, a.flatten(0, 2));
    at_caller!(Index, a.flatten(1, 0));
    at_caller!(Index, a.permute(&[0, 2]));
    at_caller!(Index, a.permute(&[0, 0]));
    at_caller!(Index, a.transpose(0, 2));
    at_caller!(Index, a.unsqueeze(4));
    at_caller!(Index, a.squeeze_dim(2));
    at_caller!(Index, a.narrow(1, 2, 2));
    at_caller!(Index, a.narrow(3, 0, 1));
    at_caller!(Index, a.slice(2, 0, 1, 1));
    at_caller!(Index, a.select(1, 3));
    at_caller!(Index, a.split(1, 2));
    at_caller!(Index, Tensor::scalar(1.0f32).split(1, 0));
    at_caller!(Index, a.chunk(2, 2));
    at_caller!(Index, a.index_select(0, &ints(&[2])));
    at_caller!(Index, a.index_select(2, &ints(&[0])));
    at_caller!(Index, a.index_add(0, &ints(&[5]), &m(&[1, 3])));
    at_caller!(Index, a.gather(1, &Tensor::from_slice(&[3i64, 0], &[2, 1]).unwrap()));
    at_caller!(Index, a.gather(2, &Tensor::zeros(&[2, 1], DType::I64).unwrap()));
    at_caller!(Index, a.scatter_add(1, &Tensor::from_slice(&[9i64, 0], &[2, 1]).unwrap(), &a));
    at_caller!(Index, a.scatter_add(2, &Tensor::zeros(&[2, 1], DType::I64).unwrap(), &a));
    at_caller!(Index, Tensor::cat(&[&a, &a], 2));
    at_caller!(Index, Tensor::stack(&[&a, &a], 3));
    at_caller!(Index, a.as_strided(&[4], &[2], 0));
    at_caller!(Index, a.sort(2, false));
    at_caller!(Index, a.argsort(-3, true));
    at_caller!(Index, a.topk(1, 2, true));
    at_caller!(Index, a.kthvalue(1, 2, false));
    at_caller!(Index, a.median_dim(2, false));
    at_caller!(Index, m(&[2, 0]).median_dim(1, false));
    at_caller!(Index, m(&[2, 0]).nanmedian_dim(1, false));
    at_caller!(Index, a.mode(3, false));
    at_caller!(Index, m(&[0]).mode(0, false));
    at_caller!(Index, a.cummax(2));
    at_caller!(Index, a.cummin(2));
    at_caller!(Index, a.take(&ints(&[6])));
    at_caller!(Index, a.take_along_dim(&Tensor::zeros(&[2, 3], DType::I64).unwrap(), Some(2)));
    at_caller!(Index, a.take_along_dim(&ints(&[7]), None));
    at_caller!(Index, a.count_nonzero(&[2]));
}

#[test]
fn dtype_errors() {
    let a = m(&[2, 3]);
    let i = Tensor::zeros(&[2, 3], DType::I64).unwrap();
    let b = Tensor::zeros(&[2, 3], DType::Bool).unwrap();
    at_caller!(DType, a.index_select(0, &m(&[1])));
    at_caller!(DType, a.gather(0, &m(&[1, 1])));
    at_caller!(DType, a.scatter_add(0, &m(&[1, 1]), &a));
    at_caller!(DType, a.index_add(0, &m(&[1]), &m(&[1, 3])));
    at_caller!(DType, i.mean());
    at_caller!(DType, i.mean_dim(0, false));
    at_caller!(DType, i.var(true));
    at_caller!(DType, i.softmax(0));
    at_caller!(DType, i.log_softmax(0));
    at_caller!(DType, i.logsumexp(0, false));
    let bb = Tensor::zeros(&[2, 2], DType::Bool).unwrap();
    at_caller!(DType, bb.matmul(&bb));
    at_caller!(DType, b.neg());
    at_caller!(DType, b.sub(&b));
    at_caller!(DType, Tensor::where_cond(&a, &a, &a));
    at_caller!(DType, i.set_requires_grad(true));
    at_caller!(DType, i.add_(&a));
    at_caller!(DType, Tensor::rand(&[2], DType::I64));
    at_caller!(DType, Tensor::randn(&[2], DType::I32));
    at_caller!(DType, a.to_vec::<i64>());
    at_caller!(DType, m(&[1]).item::<f64>());
}

#[test]
fn value_errors() {
    let a = m(&[2, 3]);
    at_caller!(Value, a.split(0, 0));
    at_caller!(Value, a.chunk(0, 0));
    at_caller!(Value, a.slice(0, 0, 1, 0));
    at_caller!(Value, a.clamp(None, None));
    at_caller!(Value, Tensor::cat(&[], 0));
    at_caller!(Value, Tensor::stack(&[], 0));
    at_caller!(Value, Tensor::arange(0.0, 1.0, 0.0, DType::F32));
    at_caller!(Value, Tensor::arange(0.0, 1.0, -1.0, DType::F32));
    at_caller!(Value, Tensor::randint(3, 3, &[1], DType::I64));
}

#[test]
fn alloc_errors() {
    let a = m(&[1 << 17, 1]);
    at_caller!(Alloc, Tensor::zeros(&[1 << 40, 1 << 10], DType::F32));
    at_caller!(Alloc, Tensor::ones(&[usize::MAX, 2], DType::F32));
    at_caller!(Alloc, Tensor::full(&[1 << 62], 1.0, DType::F64));
    at_caller!(Alloc, Tensor::rand(&[1 << 62], DType::F32));
    at_caller!(Alloc, Tensor::randn(&[1 << 62], DType::F32));
    at_caller!(Alloc, Tensor::randint(0, 2, &[1 << 62], DType::I64));
    at_caller!(Alloc, Tensor::eye(1 << 40, DType::F32));
    at_caller!(Alloc, Tensor::linspace(0.0, 1.0, 1 << 62, DType::F32));
    at_caller!(Alloc, Tensor::arange(0.0, 1e300, 1.0, DType::F32));
    at_caller!(Alloc, a.expand(&[1isize << 40, 1 << 17]));
    at_caller!(Alloc, a.add(&m(&[1, 1 << 17])));
    let wide = m(&[1, 1]).expand(&[1, 1 << 30]).unwrap();
    at_caller!(Alloc, a.matmul(&wide));
    at_caller!(Alloc, a.repeat(&[1 << 30, 1 << 10]));
    at_caller!(Alloc, m(&[0]).reshape(&[0, 1isize << 62]));
}

#[test]
fn autograd_and_unsupported_errors() {
    let a = m(&[2, 3]);
    at_caller!(Autograd, a.backward_with(&a));
    let leaf = m(&[2]).set_requires_grad(true).unwrap();
    at_caller!(Autograd, leaf.add_(&m(&[2])));
    let y = leaf.exp().unwrap();
    at_caller!(Autograd, y.detach().set_requires_grad(true).unwrap().exp().unwrap().set_requires_grad(false));
    y.sum().unwrap().backward().unwrap();
    at_caller!(Autograd, y.sum().unwrap().backward());
    at_caller!(Autograd, autograd::grad(&[&a.sum().unwrap()], &[&a], false));
    at_caller!(Unsupported, leaf.as_strided(&[1], &[1], 0));
    at_caller!(Unsupported, m(&[1]).expand(&[3]).unwrap().add_(&m(&[3])));
    at_caller!(Unsupported, m(&[1]).expand(&[3]).unwrap().fill_(1.0));
}
