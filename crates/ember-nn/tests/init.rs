//! `orthogonal_`, `eye_`, `dirac_` and `sparse_` by their defining properties.

use ember_core::{DType, Tensor};
use ember_nn::init;

#[test]
fn orthogonal_rows_or_columns_are_orthonormal_times_gain() {
    ember_core::manual_seed(21);
    for shape in [vec![6usize, 4], vec![3, 8], vec![4, 2, 3]] {
        let t = Tensor::zeros(&shape, DType::F64).unwrap();
        init::orthogonal_(&t, 2.0).unwrap();
        let m = t.reshape(&[shape[0] as isize, -1]).unwrap();
        // Q^T Q = gain^2 I for tall matrices, Q Q^T for wide ones.
        let g = if shape[0] >= m.shape()[1] {
            m.t().unwrap().matmul(&m).unwrap()
        } else {
            m.matmul(&m.t().unwrap()).unwrap()
        };
        let k = g.shape()[0];
        let want = Tensor::eye(k, DType::F64).unwrap().mul_scalar(4.0).unwrap();
        let d = g.sub(&want).unwrap().abs().unwrap().max().unwrap().item::<f64>().unwrap();
        assert!(d < 1e-12, "{shape:?}: off by {d}");
    }
    assert!(init::orthogonal_(&Tensor::zeros(&[4], DType::F32).unwrap(), 1.0).is_err());
}

#[test]
fn eye_and_dirac_preserve_their_inputs() {
    let t = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    init::eye_(&t).unwrap();
    assert_eq!(t.to_vec::<f32>().unwrap(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    // A dirac conv weight makes conv1d (padding 1) the identity on the first channels.
    let w = Tensor::zeros(&[4, 2, 3], DType::F64).unwrap();
    init::dirac_(&w, 2).unwrap();
    let x = Tensor::randn(&[1, 2, 5], DType::F64).unwrap();
    let y = ember_nn::functional::conv1d(&x, &w, None, 1, 1, 1, 1).unwrap();
    // groups = 2: channel d of each group of 2 outputs copies input channel d.
    for (o, i) in [(0, 0), (1, 1), (2, 0), (3, 1)] {
        assert_eq!(y.select(1, o).unwrap().to_vec::<f64>().unwrap(), x.select(1, i).unwrap().to_vec::<f64>().unwrap());
    }
    assert!(init::dirac_(&Tensor::zeros(&[3, 2, 3], DType::F32).unwrap(), 2).is_err());
    assert!(init::eye_(&Tensor::zeros(&[2, 2, 2], DType::F32).unwrap()).is_err());
}

#[test]
fn sparse_zeroes_the_same_count_in_every_column() {
    ember_core::manual_seed(22);
    let t = Tensor::zeros(&[10, 50], DType::F64).unwrap();
    init::sparse_(&t, 0.25, 0.01).unwrap();
    let v = t.to_vec::<f64>().unwrap();
    for c in 0..50 {
        let zeros = (0..10).filter(|&r| v[r * 50 + c] == 0.0).count();
        assert_eq!(zeros, 3, "column {c}: ceil(0.25 * 10) zeros");
    }
    let nz: Vec<f64> = v.into_iter().filter(|&x| x != 0.0).collect();
    let sd = (nz.iter().map(|x| x * x).sum::<f64>() / nz.len() as f64).sqrt();
    assert!((sd - 0.01).abs() < 0.0015, "std {sd}");
}
