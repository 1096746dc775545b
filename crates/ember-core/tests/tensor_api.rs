//! Tensor semantics beyond the op table: errors (op, shapes, caller line), views that never
//! copy, `view` vs `reshape`, promotion, matmul shapes, printing, empty and 0-d tensors,
//! seeded randomness at any thread count, and in-place versioning.

use ember_core::{DType, Error, Result, Tensor};

fn f32s(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(v, shape).unwrap()
}

#[test]
fn shape_errors_name_the_op_both_shapes_and_the_callers_line() {
    let a = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let b = Tensor::zeros(&[4, 5], DType::F32).unwrap();
    let line = line!() + 1;
    let e = a.matmul(&b).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Shape { op: "matmul", .. }));
    assert!(msg.contains("[2, 3]") && msg.contains("[4, 5]") && msg.contains("3 != 4"), "{msg}");
    assert!(msg.contains(&format!("tensor_api.rs:{line}:")), "{msg}");

    let line = line!() + 1;
    let e = (&a + &b).unwrap_err().to_string();
    assert!(e.starts_with("add: shapes [2, 3] and [4, 5] cannot be broadcast"), "{e}");
    assert!(e.contains(&format!("tensor_api.rs:{line}:")), "{e}");

    let line = line!() + 1;
    let e = Tensor::cat(&[&a, &b], 0).unwrap_err().to_string();
    assert!(
        e.contains("cat") && e.contains("[2, 3]") && e.contains("[4, 5]") && e.contains(&format!(":{line}:")),
        "{e}"
    );

    let line = line!() + 1;
    let e = a.select(1, 7).unwrap_err().to_string();
    assert!(e.contains("select") && e.contains("index 7") && e.contains(&format!(":{line}:")), "{e}");

    let idx = Tensor::from_slice(&[0i64, 5], &[2]).unwrap();
    let e = a.index_select(0, &idx).unwrap_err();
    assert!(matches!(e, Error::Index { .. }) && e.to_string().contains("index 5 is out of bounds"), "{e}");
    let e = a.sum_dim(2, false).unwrap_err().to_string();
    assert!(e.contains("dimension out of range (expected to be in range of [-2, 1], but got 2)"), "{e}");
}

#[test]
fn views_share_storage_and_view_refuses_to_copy() -> Result<()> {
    let x = Tensor::arange(0.0, 24.0, 1.0, DType::F32)?.reshape(&[2, 3, 4])?;
    for v in [
        x.permute(&[2, 0, 1])?,
        x.narrow(2, 1, 2)?,
        x.select(0, 1)?,
        x.unsqueeze(0)?,
        x.expand(&[3, 2, 3, 4])?,
        x.slice(2, 0, 4, 2)?,
        x.t_last()?,
    ] {
        assert!(v.shares_storage(&x));
    }
    let t = x.transpose(1, 2)?;
    assert!(!t.is_contiguous());
    let e = t.view(&[2, 12]).unwrap_err().to_string();
    assert!(e.contains("use reshape"), "{e}");
    let r = t.reshape(&[2, 12])?;
    assert!(!r.shares_storage(&x), "reshape of a transposed tensor copies");
    assert_eq!(r.to_vec::<f32>()?[..4], [0.0, 4.0, 8.0, 1.0]);
    assert!(x.reshape(&[4, -1])?.shares_storage(&x));
    assert!(x.reshape(&[-1, -1]).is_err());
    // Writing through a view changes the base.
    x.select(0, 0)?.select(0, 0)?.fill_(9.0)?;
    assert_eq!(x.to_vec::<f32>()?[..5], [9.0, 9.0, 9.0, 9.0, 4.0]);
    Ok(())
}

trait LastT {
    fn t_last(&self) -> Result<Tensor>;
}
impl LastT for Tensor {
    fn t_last(&self) -> Result<Tensor> {
        self.transpose(-1, -2)
    }
}

#[test]
fn type_promotion_follows_pytorch() -> Result<()> {
    let i = Tensor::from_slice(&[1i64, 2], &[2])?;
    let f = f32s(&[0.5, 0.5], &[2]);
    let d = Tensor::from_slice(&[1.0f64, 1.0], &[2])?;
    let h = f.to_dtype(DType::F16)?;
    let b = h.to_dtype(DType::BF16)?;
    assert_eq!(i.add(&f)?.dtype(), DType::F32);
    assert_eq!(f.add(&d)?.dtype(), DType::F64);
    assert_eq!(h.add(&b)?.dtype(), DType::F32);
    assert_eq!(i.add(&i)?.dtype(), DType::I64);
    assert_eq!(i.div(&i)?.dtype(), DType::F32, "true division");
    assert_eq!(i.add_scalar(1.5)?.dtype(), DType::F32, "int tensor + python float");
    assert_eq!(h.mul_scalar(2.0)?.dtype(), DType::F16);
    assert_eq!(i.sum()?.dtype(), DType::I64);
    assert_eq!(Tensor::from_slice(&[1i32, 2], &[2])?.sum()?.dtype(), DType::I64);
    assert_eq!(i.gt(&f)?.dtype(), DType::Bool);
    assert!(i.mean().is_err(), "mean of integers is an error, as in PyTorch");
    Ok(())
}

#[test]
fn matmul_follows_torch_matmul_shapes() -> Result<()> {
    let cases: [(&[usize], &[usize], &[usize]); 7] = [
        (&[3], &[3], &[]),
        (&[2, 3], &[3], &[2]),
        (&[3], &[3, 4], &[4]),
        (&[5, 2, 3], &[3, 4], &[5, 2, 4]),
        (&[5, 2, 3], &[3], &[5, 2]),
        (&[3], &[5, 3, 4], &[5, 4]),
        (&[2, 1, 2, 3], &[4, 3, 5], &[2, 4, 2, 5]),
    ];
    for (a, b, want) in cases {
        let out = Tensor::ones(a, DType::F32)?.matmul(&Tensor::ones(b, DType::F32)?)?;
        assert_eq!(out.shape(), want, "{a:?} @ {b:?}");
        assert!(out.to_vec::<f32>()?.iter().all(|&v| v == 3.0));
    }
    let ints = Tensor::from_slice(&[1i64, 2, 3, 4], &[2, 2])?;
    assert_eq!(ints.matmul(&ints)?.to_vec::<i64>()?, vec![7, 10, 15, 22]);
    Ok(())
}

#[test]
fn bf16_matmul_agrees_with_f32_on_the_same_values() -> Result<()> {
    // Large enough for the AVX512-BF16 kernel where the CPU has one, with a transposed rhs and
    // a batch: both paths accumulate in f32 and round once, so they differ by about one bf16 ulp.
    let a = Tensor::randn(&[2, 96, 80], DType::F32)?.to_dtype(DType::BF16)?;
    let b = Tensor::randn(&[72, 80], DType::F32)?.to_dtype(DType::BF16)?.t()?;
    let got = a.matmul(&b)?;
    assert_eq!(got.dtype(), DType::BF16);
    let want = a.to_dtype(DType::F32)?.matmul(&b.to_dtype(DType::F32)?)?;
    for (g, w) in got.to_f64_vec()?.iter().zip(want.to_f64_vec()?) {
        assert!((g - w).abs() <= w.abs() / 128.0 + 1e-3, "{g} vs {w}");
    }
    Ok(())
}

#[test]
fn printing_matches_pytorch() -> Result<()> {
    assert_eq!(f32s(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).to_string(), "tensor([[1., 2.],\n        [3., 4.]])");
    assert_eq!(Tensor::scalar(3.5f32).to_string(), "tensor(3.5000)");
    assert_eq!(f32s(&[0.1, -2.25], &[2]).to_string(), "tensor([ 0.1000, -2.2500])");
    assert_eq!(Tensor::from_slice(&[1i64, -20], &[2])?.to_string(), "tensor([  1, -20])");
    assert_eq!(Tensor::from_slice(&[true, false], &[2])?.to_string(), "tensor([ True, False])");
    assert_eq!(Tensor::from_slice(&[1.0f64, 2.5], &[2])?.to_string(), "tensor([1.0000, 2.5000], dtype=torch.float64)");
    assert_eq!(f32s(&[1e-5, 1.0], &[2]).to_string(), "tensor([1.0000e-05, 1.0000e+00])");
    assert_eq!(Tensor::zeros(&[0, 3], DType::F32)?.to_string(), "tensor([], size=(0, 3))");
    assert_eq!(f32s(&[f32::NAN, f32::INFINITY, 1.0], &[3]).to_string(), "tensor([nan, inf, 1.])");
    let x = f32s(&[1.0], &[1]).set_requires_grad(true)?;
    assert_eq!(x.to_string(), "tensor([1.], requires_grad=True)");
    assert_eq!(x.mul_scalar(2.0)?.to_string(), "tensor([2.], grad_fn=<MulBackward0>)");
    let big = Tensor::arange(0.0, 2000.0, 1.0, DType::F32)?;
    // Strings below are PyTorch 2.15's output for the same tensors.
    assert_eq!(
        big.to_string(),
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"
    );
    assert_eq!(f32s(&[f32::NAN, 1.5, 1.0], &[3]).to_string(), "tensor([   nan, 1.5000, 1.0000])");
    let wide = Tensor::arange(0.0, 200.0, 1.0, DType::F32)?.reshape(&[20, 10])?.mul_scalar(0.5)?;
    assert!(wide.to_string().starts_with("tensor([[ 0.0000,  0.5000,  1.0000,  1.5000,  2.0000,  2.5000,  3.0000,  3.5000,\n          4.0000,  4.5000],"), "{wide}");
    Ok(())
}

#[test]
fn empty_and_zero_dim_tensors_work() -> Result<()> {
    let e = Tensor::zeros(&[0, 4], DType::F32)?;
    assert_eq!(e.sum()?.item::<f32>()?, 0.0);
    assert_eq!(e.sum_dim(0, false)?.shape(), &[4]);
    assert_eq!(e.matmul(&Tensor::ones(&[4, 2], DType::F32)?)?.shape(), &[0, 2]);
    assert_eq!(
        Tensor::ones(&[2, 0], DType::F32)?.matmul(&Tensor::ones(&[0, 3], DType::F32)?)?.to_vec::<f32>()?,
        vec![0.0; 6]
    );
    assert!(e.max().is_err(), "max of an empty tensor has no identity");
    assert!(e.mean()?.item::<f32>()?.is_nan());
    let s = Tensor::scalar(2.0f32);
    assert_eq!(s.dim(), 0);
    assert_eq!(s.sum()?.item::<f32>()?, 2.0);
    assert_eq!(s.unsqueeze(0)?.shape(), &[1]);
    assert_eq!(s.reshape(&[1, 1])?.shape(), &[1, 1]);
    assert_eq!(s.max_dim(0, false)?.0.item::<f32>()?, 2.0);
    assert!(f32s(&[1.0, 2.0], &[2]).item::<f32>().is_err());
    assert!(s.to_vec::<f64>().is_err(), "to_vec checks the element type");
    Ok(())
}

#[test]
fn seeded_randomness_is_reproducible_at_any_thread_count() -> Result<()> {
    let draw = |threads: usize| -> Result<(Vec<f32>, Vec<f32>, Vec<i64>)> {
        ember_core::set_num_threads(threads);
        ember_core::manual_seed(1234);
        let a = Tensor::randn(&[300_000], DType::F32)?.to_vec::<f32>()?;
        let b = Tensor::rand(&[1000], DType::F32)?.to_vec::<f32>()?;
        let c = Tensor::randint(-5, 5, &[1000], DType::I64)?.to_vec::<i64>()?;
        Ok((a, b, c))
    };
    let one = draw(1)?;
    let two = draw(2)?;
    ember_core::set_num_threads(2);
    assert!(one == two);
    assert!(one.2.iter().all(|&v| (-5..5).contains(&v)));
    let mean = one.0.iter().map(|&v| v as f64).sum::<f64>() / one.0.len() as f64;
    assert!(mean.abs() < 0.01);
    ember_core::manual_seed(1235);
    assert_ne!(Tensor::rand(&[4], DType::F32)?.to_vec::<f32>()?, one.1[..4].to_vec());
    Ok(())
}

#[test]
fn in_place_ops_bump_the_version_and_respect_broadcasting() -> Result<()> {
    let x = Tensor::zeros(&[2, 3], DType::F32)?;
    let v0 = x.version();
    x.add_(&f32s(&[1.0, 2.0, 3.0], &[3]))?;
    x.mul_scalar_(2.0)?;
    assert_eq!(x.to_vec::<f32>()?, vec![2.0, 4.0, 6.0, 2.0, 4.0, 6.0]);
    assert_eq!(x.version(), v0 + 2);
    assert!(f32s(&[1.0], &[1]).add_(&x).is_err(), "in-place cannot grow the tensor");
    let i = Tensor::zeros(&[2], DType::I64)?;
    assert!(i.add_(&f32s(&[0.5, 0.5], &[2])).is_err(), "float result into an int tensor");
    i.copy_(&f32s(&[1.7, -2.2], &[2]))?;
    assert_eq!(i.to_vec::<i64>()?, vec![1, -2]);
    Ok(())
}

#[test]
fn creation_ops() -> Result<()> {
    assert_eq!(Tensor::arange(0.0, 1.0, 0.25, DType::F32)?.to_vec::<f32>()?, vec![0.0, 0.25, 0.5, 0.75]);
    assert_eq!(Tensor::linspace(0.0, 1.0, 5, DType::F64)?.to_vec::<f64>()?, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(Tensor::eye(2, DType::I64)?.to_vec::<i64>()?, vec![1, 0, 0, 1]);
    assert_eq!(Tensor::full(&[2], 1.5, DType::F16)?.to_f64_vec()?, vec![1.5, 1.5]);
    assert!(Tensor::arange(0.0, 1.0, 0.0, DType::F32).is_err());
    assert!(Tensor::from_vec(vec![1.0f32; 3], &[2, 2]).is_err());
    assert!(Tensor::zeros(&[usize::MAX, 2], DType::F32).is_err());
    let chunks = Tensor::arange(0.0, 5.0, 1.0, DType::F32)?.chunk(2, 0)?;
    assert_eq!(chunks.iter().map(|c| c.numel()).collect::<Vec<_>>(), vec![3, 2]);
    Ok(())
}

/// Large broadcast and strided operands are split into row blocks across threads; every
/// element must still land where index arithmetic says.
#[test]
fn large_strided_and_broadcast_ops_match_index_arithmetic_across_threads() -> Result<()> {
    ember_core::set_num_threads(2);
    for (rows, cols) in [(300usize, 257usize), (2, 40_000)] {
        let n = rows * cols;
        let x: Vec<f32> = (0..n).map(|i| (i % 1009) as f32 * 0.5 - (i / 1009) as f32).collect();
        let b: Vec<f32> = (0..cols).map(|j| j as f32 * 3.0 + 0.25).collect();
        let xt = Tensor::from_slice(&x, &[rows, cols])?;
        // broadcast along rows: out[i][j] = x[i][j] + b[j]
        let sum = xt.add(&Tensor::from_slice(&b, &[cols])?)?.to_vec::<f32>()?;
        assert!(sum.iter().enumerate().all(|(k, &v)| v == x[k] + b[k % cols]), "{rows}x{cols} broadcast add");
        // a column vector broadcast: out[i][j] = x[i][j] * c[i]
        let c: Vec<f32> = (0..rows).map(|i| i as f32 - 7.0).collect();
        let prod = xt.mul(&Tensor::from_slice(&c, &[rows, 1])?)?.to_vec::<f32>()?;
        assert!(prod.iter().enumerate().all(|(k, &v)| v == x[k] * c[k / cols]), "{rows}x{cols} column mul");
        // transposed copy: out[j][i] = x[i][j]
        let t = xt.t()?.contiguous()?.to_vec::<f32>()?;
        assert!(t.iter().enumerate().all(|(k, &v)| v == x[(k % rows) * cols + k / rows]), "{rows}x{cols} transpose");
        // strided + strided: x^T + x^T
        let tt = xt.t()?.add(&xt.t()?.mul_scalar(2.0)?)?.to_vec::<f32>()?;
        assert!(
            tt.iter().enumerate().all(|(k, &v)| v == 3.0 * x[(k % rows) * cols + k / rows]),
            "{rows}x{cols} strided add"
        );
        // where with a broadcast scalar branch, and with transposed operands
        let zero = Tensor::zeros(&[], DType::F32)?;
        let r = Tensor::where_cond(&xt.gt_scalar(0.0)?, &xt, &zero)?.to_vec::<f32>()?;
        assert!(r.iter().zip(&x).all(|(&v, &e)| v == e.max(0.0)), "{rows}x{cols} where vs scalar");
        let w = Tensor::where_cond(&xt.t()?.lt_scalar(1.0)?, &xt.t()?.neg()?, &xt.t()?)?.to_vec::<f32>()?;
        assert!(
            w.iter().enumerate().all(|(k, &v)| {
                let e = x[(k % rows) * cols + k / rows];
                v == if e < 1.0 { -e } else { e }
            }),
            "{rows}x{cols} transposed where"
        );
    }
    Ok(())
}

/// Outputs of 16 MiB and more take the streaming-store path; values must be the same IEEE
/// results element for element (odd length: a ragged tail too; a sliced view: an unaligned
/// start).
#[test]
fn large_contiguous_arithmetic_gives_exact_results() -> Result<()> {
    let n = ember_kernels::stream::STREAM_MIN_BYTES / 4 + 37;
    let x: Vec<f32> = (0..n + 3).map(|i| (i % 4093) as f32 * 0.37 - 700.0).collect();
    let y: Vec<f32> = (0..n + 3).map(|i| (i % 977) as f32 * 1.13 + 0.5).collect();
    let (xt, yt) =
        (Tensor::from_slice(&x, &[n + 3])?.narrow(0, 3, n)?, Tensor::from_slice(&y, &[n + 3])?.narrow(0, 1, n)?);
    type F = fn(f32, f32) -> f32;
    let cases: [(&str, Result<Tensor>, F); 4] = [
        ("add", xt.add(&yt), |a, b| a + b),
        ("sub", xt.sub(&yt), |a, b| a - b),
        ("mul", xt.mul(&yt), |a, b| a * b),
        ("div", xt.div(&yt), |a, b| a / b),
    ];
    for (name, got, f) in cases {
        let got = got?.to_vec::<f32>()?;
        assert!((0..n).all(|i| got[i].to_bits() == f(x[i + 3], y[i + 1]).to_bits()), "{name}");
    }
    Ok(())
}

/// bf16 matmuls issued concurrently from the thread pool (each one parallel inside, sharing
/// per-thread scratch and the worker threads) all give the serial result.
#[test]
fn concurrent_bf16_matmuls_inside_the_thread_pool_agree() -> Result<()> {
    use rayon::prelude::*;
    ember_core::set_num_threads(2);
    ember_core::manual_seed(3);
    let a = Tensor::randn(&[256, 512], DType::F32)?.to_dtype(DType::BF16)?;
    let b = Tensor::randn(&[512, 256], DType::F32)?.to_dtype(DType::BF16)?;
    let want = a.matmul(&b)?.to_dtype(DType::F32)?.to_vec::<f32>()?;
    let got: Vec<Vec<f32>> = (0..16)
        .into_par_iter()
        .map(|_| a.matmul(&b).and_then(|c| c.to_dtype(DType::F32)).and_then(|c| c.to_vec::<f32>()))
        .collect::<Result<_>>()?;
    assert!(got.iter().all(|g| g == &want));
    Ok(())
}

#[test]
fn basic_indexing_matches_pytorch_views() -> Result<()> {
    use ember_core::{s, IndexOp, ELLIPSIS, NEW_AXIS};
    // x = torch.arange(24.).reshape(2, 3, 4)
    let x = Tensor::arange(0.0, 24.0, 1.0, DType::F64)?.reshape([2, 3, 4])?;
    let vals = |t: Tensor| t.to_f64_vec().unwrap();
    assert_eq!(vals(x.i((.., 1..3, 0))?), [4.0, 8.0, 16.0, 20.0]); // x[:, 1:3, 0]
    assert_eq!(vals(x.i((-1, -1))?), [20.0, 21.0, 22.0, 23.0]); // x[-1, -1]
    assert_eq!(vals(x.i((0, ..=1, 2..))?), [2.0, 3.0, 6.0, 7.0]); // x[0, :2, 2:]
    assert_eq!(vals(x.index(&s![1, ..;2, -1])?), [15.0, 23.0]); // x[1, ::2, -1]
    assert_eq!(vals(x.index(&s![0, 0, 1..;2])?), [1.0, 3.0]); // x[0, 0, 1::2]
    assert_eq!(x.i((ELLIPSIS, 0))?.shape(), &[2, 3]); // x[..., 0]
    assert_eq!(x.i((0, NEW_AXIS, ELLIPSIS))?.shape(), &[1, 3, 4]); // x[0, None, ...]
    assert_eq!(x.i((.., -10..10))?.shape(), &[2, 3, 4]); // bounds clamp
    let (from, to) = (2, 1);
    assert_eq!(x.i((.., from..to))?.shape(), &[2, 0, 4]); // empty
    assert!(x.i(ELLIPSIS)?.shares_storage(&x));
    assert!(x.i((0, 0, 0, 0)).unwrap_err().to_string().contains("too many indices for tensor of dimension 3"));
    assert!(x.i(2).unwrap_err().to_string().contains("index 2 is out of bounds"));
    assert!(x.index(&s![..;0]).unwrap_err().to_string().contains("slice step must be positive"));
    assert!(x.index(&s![0;2]).is_err());
    assert!(x.i((ELLIPSIS, 0, ELLIPSIS)).is_err());
    // Gradients flow through index views.
    let w = x.detach().set_requires_grad(true)?;
    w.i((.., 1..3, 0))?.sum()?.backward()?;
    let g = w.grad().unwrap().to_f64_vec()?;
    assert_eq!(g.iter().sum::<f64>(), 4.0);
    assert_eq!((g[4], g[8], g[16], g[20]), (1.0, 1.0, 1.0, 1.0));
    Ok(())
}

#[test]
fn clone_is_the_handle_and_deep_clone_copies() -> Result<()> {
    let x = Tensor::zeros(&[3], DType::F32)?.set_requires_grad(true)?;
    let handle = x.clone();
    assert_eq!(handle.handle_id(), x.handle_id());
    let y = x.mul_scalar(2.0)?;
    let copy = y.deep_clone()?;
    assert!(!copy.shares_storage(&y));
    ember_core::no_grad(|| y.fill_(5.0))?;
    assert_eq!(copy.to_vec::<f32>()?, [0.0; 3]);
    copy.sum()?.backward()?;
    assert_eq!(x.grad().unwrap().to_vec::<f32>()?, [2.0; 3], "gradient flows through the copy");
    Ok(())
}

#[test]
fn shape_arguments_take_any_integer_list() -> Result<()> {
    let x = Tensor::arange(0.0, 6.0, 1.0, DType::F32)?;
    let b: isize = 2;
    let dims: Vec<usize> = vec![3, 2];
    assert_eq!(x.reshape(&[b, -1])?.shape(), &[2, 3]);
    assert_eq!(x.reshape(&dims)?.shape(), &[3, 2]);
    assert_eq!(x.reshape([6usize])?.shape(), &[6]);
    let m = x.view([2, 3])?;
    assert_eq!(m.reshape(m.shape())?.shape(), &[2, 3]);
    assert_eq!(m.permute([1, 0])?.shape(), &[3, 2]);
    assert_eq!(m.unsqueeze(0)?.expand([4, -1, -1])?.shape(), &[4, 2, 3]);
    Ok(())
}

#[test]
fn zero_dim_operands_promote_as_pytorch() -> Result<()> {
    // Expected dtypes as PyTorch 2.15 gives them (torch.result_type's rules).
    let t = |d: DType, shape: &[usize]| Tensor::ones(shape, d).unwrap();
    let cases = [
        (t(DType::F32, &[2]), t(DType::F64, &[]), DType::F32),
        (t(DType::I32, &[2]), t(DType::F64, &[]), DType::F64),
        (t(DType::U8, &[2]), t(DType::I64, &[]), DType::U8),
        (t(DType::Bool, &[2]), t(DType::I64, &[]), DType::I64),
        (t(DType::F16, &[]), t(DType::F32, &[]), DType::F32),
        (t(DType::F16, &[2]), t(DType::I64, &[]), DType::F16),
        (t(DType::F32, &[2]), t(DType::F64, &[2]), DType::F64),
    ];
    for (a, b, want) in cases {
        assert_eq!(a.add(&b)?.dtype(), want, "{} {:?} + {} {:?}", a.dtype(), a.shape(), b.dtype(), b.shape());
        assert_eq!(b.add(&a)?.dtype(), want);
        assert_eq!(ember_core::result_type(&a, &b), want);
    }
    let cond = Tensor::from_vec(vec![true, false], &[2])?;
    assert_eq!(Tensor::where_cond(&cond, &t(DType::F32, &[2]), &t(DType::F64, &[]))?.dtype(), DType::F32);
    Ok(())
}

#[test]
fn setitem_writes_in_place_and_keeps_gradients_right() -> Result<()> {
    use ember_core::TensorIndex as I;
    // Basic index, nothing recording: the write goes straight into the storage.
    let x = Tensor::zeros(&[2, 3], DType::F32)?;
    let alias = x.clone();
    x.index_put_(&[I::from(1), I::from(1..)], &Tensor::scalar(5.0f32))?;
    assert_eq!(alias.to_vec::<f32>()?, [0.0, 0.0, 0.0, 0.0, 5.0, 5.0]);
    // Mask index: x[x > 1] = -1.
    x.index_put_(&[I::from(x.gt_scalar(1.0)?)], &Tensor::scalar(-1.0f32))?;
    assert_eq!(x.to_vec::<f32>()?, [0.0, 0.0, 0.0, 0.0, -1.0, -1.0]);
    // Recording: y = w * 2; y[0] = v; the written elements take v's gradient, not w's.
    let w = Tensor::ones(&[3], DType::F64)?.set_requires_grad(true)?;
    let v = Tensor::scalar(4.0f64).set_requires_grad(true)?;
    let y = w.mul_scalar(2.0)?;
    y.index_put_(&[I::from(0)], &v)?;
    assert_eq!(y.to_vec::<f64>()?, [4.0, 2.0, 2.0]);
    y.mul(&Tensor::from_vec(vec![1.0f64, 10.0, 100.0], &[3])?)?.sum()?.backward()?;
    assert_eq!(w.grad().unwrap().to_vec::<f64>()?, [0.0, 20.0, 200.0]);
    assert_eq!(v.grad().unwrap().item::<f64>()?, 1.0);
    // Shapes that do not broadcast are PyTorch's error.
    let e = x.index_put_(&[I::from(0)], &Tensor::zeros(&[2], DType::F32)?).unwrap_err().to_string();
    assert!(e.contains("cannot be broadcast to indexing result of shape [3]"), "{e}");
    let nz = Tensor::from_vec(vec![0.0f32, 3.0, 0.0, 1.0], &[2, 2])?.nonzero()?;
    assert_eq!((nz.shape().to_vec(), nz.to_vec::<i64>()?), (vec![2, 2], vec![0, 1, 1, 1]));
    Ok(())
}

#[test]
fn transposed_copies_and_products_match_elementwise_definitions() -> Result<()> {
    // Ragged tile edges (37, 70), a batch of transposes, and `a @ b.t()` (packed first).
    let (b, r, c) = (3usize, 37usize, 70usize);
    let x = Tensor::from_vec((0..b * r * c).map(|i| i as f32).collect::<Vec<_>>(), &[b, r, c])?;
    let t = x.transpose(1, 2)?.contiguous()?;
    assert_eq!(t.shape(), &[b, c, r]);
    let (xv, tv) = (x.to_vec::<f32>()?, t.to_vec::<f32>()?);
    for bi in 0..b {
        for i in 0..c {
            for j in 0..r {
                assert_eq!(tv[bi * c * r + i * r + j], xv[bi * r * c + j * c + i]);
            }
        }
    }
    let (m, k, n) = (40usize, 19usize, 33usize);
    let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
    let w: Vec<f64> = (0..n * k).map(|i| ((i * 3) % 13) as f64 - 6.0).collect();
    let y = Tensor::from_vec(a.clone(), &[m, k])?.matmul(&Tensor::from_vec(w.clone(), &[n, k])?.t()?)?;
    let yv = y.to_vec::<f64>()?;
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k).map(|p| a[i * k + p] * w[j * k + p]).sum();
            assert_eq!(yv[i * n + j], want, "({i}, {j})");
        }
    }
    Ok(())
}

/// `gather` and `scatter_add` read strided sources and indices (transposed, sliced, int32)
/// directly; large indices take the parallel path. Checked against the definition
/// `out[i][j][k] = x[i][idx[i][j][k]][k]` evaluated element by element.
#[test]
fn gather_reads_strided_views_and_int32_indices_at_any_size() -> Result<()> {
    for &(a, b, c, m) in &[(3usize, 5usize, 4usize, 2usize), (17, 64, 48, 40)] {
        let n = a * b * c;
        let data: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 * 0.5).collect();
        // x: [a, b, c] viewed through a transpose of a [c, b, a] buffer.
        let base = Tensor::from_slice(&data, &[c, b, a])?;
        let x = base.permute(&[2, 1, 0])?;
        let xs = x.contiguous()?.to_vec::<f64>()?;
        let idx_vals: Vec<i32> = (0..a * m * c).map(|i| ((i * 31 + 7) % b) as i32).collect();
        // idx: [a, m, c] as int32, itself a strided view (every other column of a wider index).
        let wide: Vec<i32> = idx_vals.iter().flat_map(|&v| [v, -99]).collect();
        let idx = Tensor::from_slice(&wide, &[a, m, c * 2])?.slice(2, 0, (c * 2) as isize, 2)?;
        let got = x.gather(1, &idx)?.to_vec::<f64>()?;
        for i in 0..a {
            for j in 0..m {
                for k in 0..c {
                    let v = idx_vals[(i * m + j) * c + k] as usize;
                    assert_eq!(got[(i * m + j) * c + k], xs[(i * b + v) * c + k]);
                }
            }
        }
        // scatter_add is gather's adjoint: <gather(x, idx), y> == <x, scatter_add(0, idx, y)>.
        let y: Vec<f64> = (0..a * m * c).map(|i| (i % 13) as f64 - 6.0).collect();
        let yt = Tensor::from_slice(&y, &[a, m, c])?;
        let lhs: f64 = got.iter().zip(&y).map(|(g, y)| g * y).sum();
        let back = Tensor::zeros(&[a, b, c], DType::F64)?.scatter_add(1, &idx, &yt)?.to_vec::<f64>()?;
        let rhs: f64 = xs.iter().zip(&back).map(|(x, s)| x * s).sum();
        assert!((lhs - rhs).abs() <= 1e-9 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
    }
    // An out-of-range value deep in a large index is found and named.
    let x = Tensor::zeros(&[64, 600], DType::F32)?;
    let mut bad = vec![1i64; 64 * 600];
    bad[64 * 600 - 3] = 600;
    let e = x.gather(1, &Tensor::from_slice(&bad, &[64, 600])?).unwrap_err();
    assert!(e.to_string().contains("index 600 is out of bounds for dimension with size 600"), "{e}");
    Ok(())
}

#[test]
fn integer_casts_wrap_as_pytorch() {
    // torch.tensor([300.0, -200.5, -1.5]).to(torch.int8 / torch.uint8), and int16 -> int8.
    let f = Tensor::from_slice(&[300.0f32, -200.5, -1.5], &[3]).unwrap();
    assert_eq!(f.to_dtype(DType::I8).unwrap().to_vec::<i8>().unwrap(), [44, 56, -1]);
    assert_eq!(f.to_dtype(DType::U8).unwrap().to_vec::<u8>().unwrap(), [44, 56, 255]);
    let s = Tensor::from_slice(&[1000i16, -129], &[2]).unwrap();
    assert_eq!(s.to_dtype(DType::I8).unwrap().to_vec::<i8>().unwrap(), [-24, 127]);
    // int8 arithmetic wraps; int8 with uint8 promotes to int16.
    let a = Tensor::from_slice(&[100i8, -100], &[2]).unwrap();
    assert_eq!(a.add(&a).unwrap().to_vec::<i8>().unwrap(), [-56, 56]);
    let b = Tensor::from_slice(&[200u8, 1], &[2]).unwrap();
    assert_eq!(a.add(&b).unwrap().to_vec::<i16>().unwrap(), [300, -99]);
}

#[test]
fn move_storage_into_moves_every_view_to_the_new_memory() -> Result<()> {
    let t = Tensor::from_vec((0..6).map(|v| v as f32).collect::<Vec<_>>(), &[6])?;
    let view = t.narrow(0, 2, 4)?.reshape([2, 2])?;
    let target = Tensor::zeros(&[6], DType::F32)?;
    let (old, new) = (t.data_ptr(), target.data_ptr());
    t.move_storage_into_(&target)?;
    assert_eq!((t.data_ptr(), view.data_ptr()), (new, new + 2 * 4), "both now live in the target's memory");
    assert_ne!(t.data_ptr(), old);
    assert_eq!(t.to_f64_vec()?, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    // The target got the old buffer; writes through the moved tensor do not reach it.
    t.fill_(7.0)?;
    assert_eq!(view.to_f64_vec()?, vec![7.0; 4]);
    assert_eq!(target.to_f64_vec()?, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert!(t.move_storage_into_(&Tensor::zeros(&[5], DType::F32)?).is_err(), "length must match");
    assert!(t.move_storage_into_(&Tensor::zeros(&[6], DType::F64)?).is_err(), "dtype must match");
    Ok(())
}
