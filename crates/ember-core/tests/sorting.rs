//! Sorting and selection beyond the op-table fixtures: NaN placement (which JSON fixtures
//! cannot hold), stability on long rows, every dtype's key order, and large rows against a
//! plain comparison sort.

use ember_core::{DType, Tensor};

fn f32s(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32).unwrap().to_vec::<f32>().unwrap()
}

fn i64s(t: &Tensor) -> Vec<i64> {
    t.to_vec::<i64>().unwrap()
}

#[test]
fn nan_sorts_last_ascending_and_first_descending_as_pytorch() {
    let x = Tensor::from_vec(vec![1.0f32, f32::NAN, -0.0, f32::NEG_INFINITY, 0.0, f32::INFINITY], &[6]).unwrap();
    let (v, i) = x.sort(0, false).unwrap();
    let v = f32s(&v);
    assert_eq!(&v[..5], &[f32::NEG_INFINITY, -0.0, 0.0, 1.0, f32::INFINITY]);
    assert!(v[5].is_nan());
    // -0.0 and 0.0 are equal: the stable sort keeps their order (positions 2 then 4).
    assert_eq!(i64s(&i), vec![3, 2, 4, 0, 5, 1]);
    let (v, i) = x.sort(0, true).unwrap();
    assert!(f32s(&v)[0].is_nan());
    assert_eq!(i64s(&i), vec![1, 5, 0, 2, 4, 3]);
    // topk treats NaN as the largest value, as PyTorch.
    assert_eq!(i64s(&x.topk(2, 0, true).unwrap().1), vec![1, 5]);
}

#[test]
fn median_propagates_nan_and_nanmedian_skips_it() {
    let x = Tensor::from_vec(vec![3.0f64, f64::NAN, 1.0, 2.0, 5.0, 4.0, 7.0, 6.0], &[2, 4]).unwrap();
    let (m, i) = x.median_dim(1, false).unwrap();
    let m = m.to_vec::<f64>().unwrap();
    assert!(m[0].is_nan() && m[1] == 5.0);
    assert_eq!(i64s(&i), vec![1, 0]);
    let (m, i) = x.nanmedian_dim(1, false).unwrap();
    // Row 0 without NaN is [3, 1, 2]: median 2 at position 3.
    assert_eq!(m.to_vec::<f64>().unwrap(), vec![2.0, 5.0]);
    assert_eq!(i64s(&i), vec![3, 0]);
    assert!(x.median().unwrap().item::<f64>().unwrap().is_nan());
    // Non-NaN: 1 2 3 4 5 6 7, lower median 4.
    assert_eq!(x.nanmedian().unwrap().item::<f64>().unwrap(), 4.0);
    assert!(Tensor::zeros(&[0], DType::F32).unwrap().median().unwrap().item::<f32>().unwrap().is_nan());
}

#[test]
fn cummax_keeps_nan_once_seen() {
    let x = Tensor::from_vec(vec![1.0f32, 3.0, f32::NAN, 5.0, f32::NAN, 0.0], &[6]).unwrap();
    let (v, i) = x.cummax(0).unwrap();
    let v = f32s(&v);
    assert_eq!(&v[..2], &[1.0, 3.0]);
    assert!(v[2..].iter().all(|x| x.is_nan()));
    assert_eq!(i64s(&i), vec![0, 1, 2, 2, 4, 4]);
}

#[test]
fn long_rows_sort_like_a_comparison_sort_in_every_dtype() {
    // 300k elements: the parallel path for one long row; values with many repeats, so the
    // stability of positions is checked as well.
    let n = 300_000;
    let raw: Vec<i64> = (0..n as i64).map(|i| (i * 7919 + 13) % 1009 - 500).collect();
    for dtype in [DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64, DType::I32] {
        let x = Tensor::from_vec(raw.clone(), &[n]).unwrap().to_dtype(dtype).unwrap();
        let (v, i) = x.sort(0, false).unwrap();
        // Expected from the values as stored (bf16 and f16 round some of them together).
        let stored = x.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
        let mut want: Vec<(f64, usize)> = stored.iter().enumerate().map(|(j, &r)| (r, j)).collect();
        want.sort_by(|a, b| a.partial_cmp(b).unwrap()); // by value, then position: the stable order
        let want_pos: Vec<i64> = want.iter().map(|w| w.1 as i64).collect();
        assert!(i64s(&i) == want_pos, "{dtype}: positions differ");
        let got = v.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
        assert!(got.iter().zip(&want).all(|(g, w)| *g == w.0), "{dtype}: values differ");
    }
}

#[test]
fn topk_and_kthvalue_agree_with_the_sorted_order() {
    let x = Tensor::randn(&[8, 5000], DType::F32).unwrap();
    let (sorted, order) = x.sort(1, true).unwrap();
    let (v, i) = x.topk(50, 1, true).unwrap();
    assert_eq!(f32s(&v), f32s(&sorted.narrow(1, 0, 50).unwrap()));
    assert_eq!(i64s(&i), i64s(&order.narrow(1, 0, 50).unwrap().contiguous().unwrap()));
    let (k, _) = x.kthvalue(4991, 1, false).unwrap(); // the 10th largest of 5000
    assert_eq!(f32s(&k), f32s(&sorted.select(1, 9).unwrap()));
}

#[test]
fn bad_arguments_are_errors() {
    let x = Tensor::randn(&[3, 4], DType::F32).unwrap();
    assert!(x.topk(5, 1, true).is_err());
    assert!(x.kthvalue(0, 1, false).is_err());
    assert!(x.sort(2, false).is_err());
    assert!(Tensor::zeros(&[2, 0], DType::F32).unwrap().mode(1, false).is_err());
    let b = Tensor::randn(&[2, 3], DType::F32).unwrap();
    assert!(b.bucketize(&b, false).is_err()); // 2-D boundaries
    assert!(b.searchsorted(&Tensor::zeros(&[3, 3], DType::F32).unwrap(), false).is_err());
}

#[test]
fn topk_on_ordered_and_constant_rows_matches_the_stable_sort() {
    // Ascending rows defeat the bound (every element beats it) and constant rows tie
    // everywhere: both must give the stable sort's first k.
    let asc = Tensor::arange(0.0, 3000.0, 1.0, DType::F32).unwrap();
    let flat = Tensor::zeros(&[3000], DType::F32).unwrap();
    for x in [asc.clone(), asc.neg().unwrap(), flat] {
        for largest in [true, false] {
            let (_, order) = x.sort(0, largest).unwrap();
            let (_, i) = x.topk(37, 0, largest).unwrap();
            assert_eq!(i64s(&i), i64s(&order.narrow(0, 0, 37).unwrap().contiguous().unwrap()));
        }
    }
}

#[test]
fn nanmean_skips_nan_and_nan_to_num_replaces_it() {
    let x = Tensor::from_vec(vec![1.0f64, f64::NAN, 3.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY], &[2, 3]).unwrap();
    let m = x.nanmean(&[1], false).unwrap().to_vec::<f64>().unwrap();
    assert_eq!(m[0], 2.0);
    assert!(m[1].is_nan()); // inf + -inf
    let r = x.nan_to_num(0.0, None, Some(-1.0)).unwrap().to_vec::<f64>().unwrap();
    assert_eq!(r, vec![1.0, 0.0, 3.0, 0.0, f64::MAX, -1.0]);
}

#[test]
fn singular_and_indefinite_matrices_are_errors_naming_them() {
    let singular = Tensor::from_vec(vec![1.0f64, 2.0, 2.0, 4.0], &[2, 2]).unwrap();
    assert!(singular.inv().unwrap_err().to_string().contains("singular"));
    assert!(singular.linalg_solve(&Tensor::ones(&[2], DType::F64).unwrap()).is_err());
    assert_eq!(singular.det().unwrap().item::<f64>().unwrap(), 0.0);
    let indefinite = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 1.0], &[2, 2, 2]).unwrap();
    let e = indefinite.cholesky(false).unwrap_err().to_string();
    assert!(e.contains("Batch element 1") && e.contains("positive-definite"), "{e}");
    // A x = b solved: check A (A^-1 b) = b and inv(A) A = I by multiplication.
    let a = Tensor::from_vec(vec![4.0f64, 1.0, 2.0, 3.0], &[2, 2]).unwrap();
    let b = Tensor::from_vec(vec![1.0f64, -2.0], &[2]).unwrap();
    let x = a.linalg_solve(&b).unwrap();
    assert!(a.matmul(&x).unwrap().allclose(&b, 1e-12, 1e-12, false).unwrap());
    let eye = Tensor::eye(2, DType::F64).unwrap();
    assert!(a.inv().unwrap().matmul(&a).unwrap().allclose(&eye, 1e-12, 1e-12, false).unwrap());
    assert!((a.det().unwrap().item::<f64>().unwrap() - 10.0).abs() < 1e-12);
}

#[test]
fn unique_along_a_dim_sorts_slices_and_counts_them() {
    let x = Tensor::from_vec(vec![1i64, 2, 0, 5, 1, 2, 0, 3, 0, 5], &[5, 2]).unwrap();
    let (v, inv, counts) = x.unique_dim(0, false).unwrap();
    assert_eq!(v.shape(), &[3, 2]);
    assert_eq!(i64s(&v), vec![0, 3, 0, 5, 1, 2]);
    assert_eq!(i64s(&inv), vec![2, 1, 2, 0, 1]);
    assert_eq!(i64s(&counts), vec![1, 2, 2]);
    let (v, inv, counts) = x.unique_dim(0, true).unwrap();
    assert_eq!(v.shape(), &[5, 2]);
    assert_eq!((i64s(&inv), i64s(&counts)), (vec![0, 1, 2, 3, 4], vec![1; 5]));
    let (v, _, _) = x.unique_dim(1, false).unwrap();
    assert_eq!(v.shape(), &[5, 2]);
    assert!(Tensor::from_vec(vec![1i64], &[]).unwrap().unique_dim(0, false).is_err());
}
