//! Decompositions by their defining properties (the op table checks them against PyTorch):
//! factors reproduce the input and are orthonormal/triangular, batches and dtypes agree, the
//! edge shapes PyTorch defines, and bad input is an error with PyTorch's message.

use ember_core::{DType, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor {
    ember_core::manual_seed(seed);
    Tensor::randn(shape, DType::F64).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    a.sub(b).unwrap().abs().unwrap().max().unwrap().to_dtype(DType::F64).unwrap().item::<f64>().unwrap()
}

fn mt(t: &Tensor) -> Tensor {
    t.transpose(-2, -1).unwrap()
}

#[test]
fn qr_factors_reproduce_the_input_and_q_is_orthonormal() {
    for (shape, mode) in [([2, 6, 4], "reduced"), ([2, 4, 6], "reduced"), ([2, 6, 4], "complete")] {
        let a = randn(&shape, 1);
        let (q, r) = a.linalg_qr(mode).unwrap();
        let k = q.shape()[2];
        assert_eq!(q.shape(), &[2, shape[1], k][..], "{mode}");
        assert!(max_abs_diff(&q.matmul(&r).unwrap(), &a) < 1e-12);
        let eye = Tensor::eye(k, DType::F64).unwrap();
        assert!(max_abs_diff(&mt(&q).matmul(&q).unwrap(), &eye) < 1e-12);
        assert!(max_abs_diff(&r.triu(0).unwrap(), &r) == 0.0, "R is upper triangular");
    }
    let (q, r) = randn(&[3, 2], 2).linalg_qr("r").unwrap();
    assert_eq!((q.shape(), r.shape()), (&[0][..], &[2, 2][..]));
}

#[test]
fn svd_and_eigh_reproduce_the_input_in_f32_and_f64() {
    for dtype in [DType::F64, DType::F32] {
        let a = randn(&[3, 5, 4], 3).to_dtype(dtype).unwrap();
        let (u, s, vh) = a.linalg_svd(false).unwrap();
        let back = u.mul(&s.unsqueeze(-2).unwrap()).unwrap().matmul(&vh).unwrap();
        let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
        assert!(max_abs_diff(&back.to_dtype(DType::F64).unwrap(), &a.to_dtype(DType::F64).unwrap()) < tol);
        let sv = a.svdvals().unwrap();
        assert!(max_abs_diff(&sv, &s) < tol);
        let vals = s.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
        assert!(vals.chunks(4).all(|c| c.windows(2).all(|w| w[0] >= w[1])), "descending");

        let sym = a.matmul(&mt(&a)).unwrap();
        let (l, v) = sym.linalg_eigh("L").unwrap();
        let back = v.mul(&l.unsqueeze(-2).unwrap()).unwrap().matmul(&mt(&v)).unwrap();
        let scale = 10.0;
        assert!(max_abs_diff(&back.to_dtype(DType::F64).unwrap(), &sym.to_dtype(DType::F64).unwrap()) < tol * scale);
        assert!(max_abs_diff(&sym.eigvalsh("U").unwrap(), &l) < tol * scale);
    }
}

#[test]
fn eigh_reads_only_the_named_triangle() {
    let a = randn(&[4, 4], 4);
    let lower = a.tril(0).unwrap();
    let sym = lower.add(&mt(&lower.tril(-1).unwrap())).unwrap();
    let (l, _) = a.linalg_eigh("L").unwrap();
    assert!(max_abs_diff(&l, &sym.eigvalsh("L").unwrap()) < 1e-12);
    let (lu, _) = mt(&a).linalg_eigh("U").unwrap();
    assert!(max_abs_diff(&lu, &l) < 1e-12);
}

#[test]
fn full_svd_of_an_empty_matrix_is_two_identities_as_pytorch() {
    let (u, s, vh) = Tensor::zeros(&[2, 0], DType::F32).unwrap().linalg_svd(true).unwrap();
    assert_eq!(u.to_vec::<f32>().unwrap(), vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!((s.shape(), vh.shape()), (&[0][..], &[0, 0][..]));
    let (q, r) = Tensor::zeros(&[2, 0], DType::F32).unwrap().linalg_qr("complete").unwrap();
    assert_eq!(q.to_vec::<f32>().unwrap(), vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(r.shape(), &[2, 0]);
}

#[test]
fn lstsq_pinv_and_rank_agree_with_their_definitions() {
    let a = randn(&[6, 3], 5);
    let b = randn(&[6, 2], 6);
    // Normal equations: A^T A x = A^T b.
    let x = a.lstsq(&b).unwrap();
    let normal = mt(&a).matmul(&a).unwrap().linalg_solve(&mt(&a).matmul(&b).unwrap()).unwrap();
    assert!(max_abs_diff(&x, &normal) < 1e-12);
    // Wide: the minimum-norm solution is pinv(A) b and solves A x = b exactly.
    let w = randn(&[3, 6], 7);
    let bw = randn(&[3], 8);
    let xw = w.lstsq(&bw).unwrap();
    assert!(max_abs_diff(&w.matmul(&xw).unwrap(), &bw) < 1e-12);
    assert!(max_abs_diff(&xw, &w.pinv(None, None).unwrap().matmul(&bw).unwrap()) < 1e-12);
    // A rank-2 matrix: rank 2, and pinv satisfies A A+ A = A.
    let r2 = randn(&[5, 2], 9).matmul(&randn(&[2, 4], 10)).unwrap();
    assert_eq!(r2.matrix_rank(None, None).unwrap().item::<i64>().unwrap(), 2);
    let p = r2.pinv(None, None).unwrap();
    assert!(max_abs_diff(&r2.matmul(&p).unwrap().matmul(&r2).unwrap(), &r2) < 1e-10);
}

#[test]
fn solve_triangular_reads_one_triangle_and_broadcasts() {
    let a = randn(&[4, 4], 11).add(&Tensor::eye(4, DType::F64).unwrap().mul_scalar(4.0).unwrap()).unwrap();
    let b = randn(&[3, 4, 2], 12);
    let x = a.solve_triangular(&b, true, true, false).unwrap();
    assert_eq!(x.shape(), &[3, 4, 2]);
    assert!(max_abs_diff(&a.triu(0).unwrap().matmul(&x).unwrap(), &b) < 1e-12);
    let xr = a.solve_triangular(&mt(&b), false, false, true).unwrap();
    let unit_lower = a.tril(-1).unwrap().add(&Tensor::eye(4, DType::F64).unwrap()).unwrap();
    assert!(max_abs_diff(&xr.matmul(&unit_lower).unwrap(), &mt(&b)) < 1e-12);
}

#[test]
fn bad_input_is_an_error_with_pytorchs_message() {
    let mut nan = randn(&[3, 3], 13).to_vec::<f64>().unwrap();
    nan[4] = f64::NAN;
    let nan = Tensor::from_vec(nan, &[3, 3]).unwrap();
    let e = nan.linalg_svd(false).unwrap_err().to_string();
    assert!(
        e.contains("linalg.svd: The algorithm failed to converge because the input matrix contained non-finite values"),
        "{e}"
    );
    assert!(nan.linalg_eigh("L").unwrap_err().to_string().contains("linalg.eigh: The algorithm failed to converge"));
    let e = randn(&[3, 4], 14).linalg_eigh("L").unwrap_err().to_string();
    assert!(e.contains("linalg.eigh: A must be batches of square matrices, but they are 3 by 4 matrices"), "{e}");
    let e = randn(&[3], 15).linalg_svd(false).unwrap_err().to_string();
    assert!(e.contains("linalg.svd: The input tensor A must have at least 2 dimensions."), "{e}");
    let e = randn(&[3, 3], 16).linalg_eigh("X").unwrap_err().to_string();
    assert!(e.contains("Expected UPLO argument to be 'L' or 'U', but got X"), "{e}");
    let e = randn(&[3, 3], 17).linalg_qr("full").unwrap_err().to_string();
    assert!(e.contains("qr received unrecognized mode 'full'"), "{e}");
    let ints = Tensor::zeros(&[3, 3], DType::I64).unwrap();
    assert!(ints.linalg_svd(false).unwrap_err().to_string().contains("Expected a floating point tensor"));
    let e = randn(&[3, 3], 18).solve_triangular(&randn(&[4, 2], 19), true, true, false).unwrap_err().to_string();
    assert!(e.contains("Incompatible shapes of A and B"), "{e}");
    // The complete QR of a tall matrix has no derivative (PyTorch's error, at backward).
    let a = randn(&[4, 2], 20).set_requires_grad(true).unwrap();
    let (q, _) = a.linalg_qr("complete").unwrap();
    let e = q.sum().unwrap().backward().unwrap_err().to_string();
    assert!(e.contains("not differentiable when mode='complete' and nrows > ncols"), "{e}");
}

#[test]
fn batched_results_equal_one_matrix_at_a_time_at_any_thread_count() {
    let a = randn(&[8, 5, 5], 21);
    let (u, s, vh) = a.linalg_svd(false).unwrap();
    for i in 0..8 {
        let ai = a.select(0, i as isize).unwrap();
        let (ui, si, vhi) = ai.linalg_svd(false).unwrap();
        assert!(max_abs_diff(&s.select(0, i as isize).unwrap(), &si) == 0.0);
        assert!(max_abs_diff(&u.select(0, i as isize).unwrap(), &ui) == 0.0);
        assert!(max_abs_diff(&vh.select(0, i as isize).unwrap(), &vhi) == 0.0);
    }
    let big = randn(&[160, 160], 22);
    ember_core::set_num_threads(1);
    let one = big.inv().unwrap();
    ember_core::set_num_threads(2);
    let two = big.inv().unwrap();
    assert!(max_abs_diff(&one, &two) < 1e-9);
}

#[test]
fn batched_small_solves_satisfy_their_systems_and_name_the_first_singular_matrix() {
    // Enough 12 x 12 systems that the batch splits across threads (one block per thread).
    let eye = Tensor::eye(12, DType::F64).unwrap();
    let a = randn(&[300, 12, 12], 31).add(&eye.mul_scalar(6.0).unwrap()).unwrap();
    let b = randn(&[300, 12, 3], 32);
    ember_core::set_num_threads(1);
    let one = a.linalg_solve(&b).unwrap();
    ember_core::set_num_threads(2);
    let two = a.linalg_solve(&b).unwrap();
    assert_eq!(max_abs_diff(&one, &two), 0.0, "the same factorisation at any thread count");
    // A X = B by multiplication (not by the solver).
    assert!(max_abs_diff(&a.matmul(&two).unwrap(), &b) < 1e-10);
    // Batch elements 200 and 250 singular (a zero row): the error names 200, as PyTorch's.
    let mut v = a.to_vec::<f64>().unwrap();
    for bad in [200, 250] {
        v[bad * 144..bad * 144 + 12].iter_mut().for_each(|x| *x = 0.0);
    }
    let sing = Tensor::from_vec(v, &[300, 12, 12]).unwrap();
    let e = sing.linalg_solve(&b).unwrap_err().to_string();
    assert!(e.contains("Batch element 200") && e.contains("singular"), "{e}");
}

#[test]
fn batched_small_inverses_and_determinants_by_their_definitions() {
    // 300 matrices of 12 x 12 (split across threads) and 5 of 3 x 3 (one block).
    let eye = Tensor::eye(12, DType::F64).unwrap();
    let a = randn(&[300, 12, 12], 41).add(&eye.mul_scalar(6.0).unwrap()).unwrap();
    ember_core::set_num_threads(1);
    let one = a.inv().unwrap();
    let d1 = a.det().unwrap();
    ember_core::set_num_threads(2);
    let two = a.inv().unwrap();
    assert_eq!(max_abs_diff(&one, &two), 0.0, "the same factorisation at any thread count");
    assert_eq!(max_abs_diff(&d1, &a.det().unwrap()), 0.0);
    // A A^-1 = I by multiplication.
    let id = eye.expand(&[300, 12, 12]).unwrap();
    assert!(max_abs_diff(&a.matmul(&two).unwrap(), &id) < 1e-12);
    // det(A) det(A^-1) = 1.
    let prod = d1.mul(&two.det().unwrap()).unwrap().to_vec::<f64>().unwrap();
    assert!(prod.iter().all(|p| (p - 1.0).abs() < 1e-10), "{prod:?}");
    // Known determinants: a row swap of diag(2, 3, 4) is -24, an upper triangle the product of
    // its diagonal, a matrix with two equal rows 0 (not an error), and a cyclic permutation +1.
    let m: Vec<f64> = [
        [0., 3., 0., 2., 0., 0., 0., 0., 4.],
        [2., 5., -1., 0., -3., 7., 0., 0., 0.5],
        [1., 2., 3., 1., 2., 3., 4., 5., 6.],
        [0., 1., 0., 0., 0., 1., 1., 0., 0.],
        [1., 2., 0., 3., 4., 0., 0., 0., 1.],
    ]
    .concat();
    let small = Tensor::from_vec(m, &[5, 3, 3]).unwrap();
    let d = small.det().unwrap().to_vec::<f64>().unwrap();
    for (got, want) in d.iter().zip([-24.0, -3.0, 0.0, 1.0, -2.0]) {
        assert!((got - want).abs() < 1e-12, "{d:?}");
    }
    // Batch element 2 is singular: inv names it, as PyTorch's error does.
    let e = small.inv().unwrap_err().to_string();
    assert!(e.contains("Batch element 2") && e.contains("singular"), "{e}");
    // f32 takes the same path.
    let f = a.to_dtype(DType::F32).unwrap();
    let inv32 = f.inv().unwrap().to_dtype(DType::F64).unwrap();
    assert!(max_abs_diff(&inv32, &two) < 1e-4);
}

#[test]
fn slogdet_keeps_a_finite_logarithm_where_the_determinant_overflows() {
    // diag(1e4, ..., 1e4) with its first two rows swapped, 100 x 100 in f32: det = -1e400 is
    // far beyond f32 (and f64), log|det| = 100 ln 1e4 is not.
    let mut v = vec![0.0f32; 100 * 100];
    for i in 0..100 {
        let row = match i {
            0 => 1,
            1 => 0,
            r => r,
        };
        v[row * 100 + i] = 1e4;
    }
    let a = Tensor::from_vec(v, &[100, 100]).unwrap();
    let (sign, log) = a.slogdet().unwrap();
    assert_eq!(sign.to_vec::<f32>().unwrap(), vec![-1.0]);
    let want = 100.0 * 1e4f64.ln();
    assert!((log.to_vec::<f32>().unwrap()[0] as f64 - want).abs() < 1e-3 * want, "{log:?}");
    // A singular matrix: (0, -inf); a batch, as det's signs and logarithms.
    let b = Tensor::from_vec(vec![1.0f64, 2.0, 2.0, 4.0, 0.0, 1.0, 1.0, 0.0, 3.0, 0.0, 0.0, -2.0], &[3, 2, 2]).unwrap();
    let (s, l) = b.slogdet().unwrap();
    assert_eq!(s.to_vec::<f64>().unwrap(), vec![0.0, -1.0, -1.0]);
    let l = l.to_vec::<f64>().unwrap();
    assert_eq!(l[0], f64::NEG_INFINITY);
    assert!(l[1].abs() < 1e-15 && (l[2] - 6f64.ln()).abs() < 1e-15, "{l:?}");
}
