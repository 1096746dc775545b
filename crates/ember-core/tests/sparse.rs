//! Sparse COO tensors by their definitions (the op table checks them against PyTorch): the
//! product equals the dense product, coalescing sorts and sums, bad indices are errors.

use ember_core::sparse::SparseCoo;
use ember_core::{DType, Tensor};

fn coo(rows: &[i64], cols: &[i64], vals: &[f32], shape: &[usize]) -> SparseCoo {
    let idx = Tensor::from_vec([rows, cols].concat(), &[2, rows.len()]).unwrap();
    SparseCoo::new(&idx, &Tensor::from_slice(vals, &[vals.len()]).unwrap(), shape).unwrap()
}

#[test]
fn sparse_times_dense_equals_the_dense_product_at_any_thread_count() {
    ember_core::manual_seed(0);
    let dense_s = Tensor::rand(&[300, 200], DType::F32).unwrap().gt_scalar(0.97).unwrap().to_dtype(DType::F32).unwrap();
    let s = dense_s.mul(&Tensor::randn(&[300, 200], DType::F32).unwrap()).unwrap().to_sparse().unwrap();
    let d = Tensor::randn(&[200, 16], DType::F32).unwrap();
    let want = s.to_dense().unwrap().matmul(&d).unwrap().to_vec::<f32>().unwrap();
    for threads in [1, 2] {
        ember_core::set_num_threads(threads);
        let got = s.mm(&d).unwrap().to_vec::<f32>().unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
}

#[test]
fn coalesce_sorts_indices_and_sums_duplicates_as_pytorch() {
    let s = coo(&[3, 0, 1, 0], &[0, 2, 1, 2], &[1.0, 2.0, 3.0, 4.0], &[4, 3]);
    assert!(!s.is_coalesced());
    let c = s.coalesce().unwrap();
    assert!(c.is_coalesced());
    assert_eq!(c.indices().to_vec::<i64>().unwrap(), vec![0, 1, 3, 2, 1, 0]);
    assert_eq!(c.values().to_vec::<f32>().unwrap(), vec![6.0, 3.0, 1.0]);
    assert_eq!(s.to_dense().unwrap().to_vec::<f32>().unwrap(), c.to_dense().unwrap().to_vec::<f32>().unwrap());
    let round = c.to_dense().unwrap().to_sparse().unwrap();
    assert_eq!(round.indices().to_vec::<i64>().unwrap(), c.indices().to_vec::<i64>().unwrap());
    assert_eq!(s.t().unwrap().to_dense().unwrap().shape(), &[3, 4]);
}

#[test]
fn bad_indices_and_shapes_are_errors() {
    let idx = Tensor::from_vec(vec![0i64, 5, 0, 1], &[2, 2]).unwrap();
    let vals = Tensor::ones(&[2], DType::F32).unwrap();
    let e = SparseCoo::new(&idx, &vals, &[4, 3]).unwrap_err().to_string();
    assert!(e.contains("size is inconsistent with indices: for dim 0, size is 4 but found index 5"), "{e}");
    let neg = Tensor::from_vec(vec![0i64, -1, 0, 1], &[2, 2]).unwrap();
    assert!(SparseCoo::new(&neg, &vals, &[4, 3]).unwrap_err().to_string().contains("negative index"));
    assert!(SparseCoo::new(&idx, &Tensor::ones(&[3], DType::F32).unwrap(), &[9, 3]).is_err());
    assert!(SparseCoo::new(&idx.to_dtype(DType::F32).unwrap(), &vals, &[9, 3]).is_err());
    let s = coo(&[0], &[1], &[1.0], &[2, 3]);
    let e = s.mm(&Tensor::ones(&[2, 2], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(e.contains("mat1 and mat2 shapes cannot be multiplied (2x3"), "{e}");
}
