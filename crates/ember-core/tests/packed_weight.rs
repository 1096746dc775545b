//! Packed low-precision weights against their own dequantised values: rows, whole tensors and
//! products over any range of output rows, for the 16-row panels Q8_0, Q4_0, Q4_K and Q6_K
//! are repacked into (ranges that start or end inside a panel included) and for row-major
//! blocks (`EMBER_REPACK=0` keeps them; the product code is the same).

use ember_core::fused::{BlockFormat, Bytes, PackedWeight};
use ember_core::{DType, Tensor};
use ember_kernels::blockq;
use ember_kernels::blockq_int::QuantizedRow;

const N: usize = 40; // two whole panels of 16 and a row-major tail of 8
const K: usize = 256;

fn weights() -> Vec<f32> {
    (0..N * K).map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0).collect()
}

/// `x [m, K] . w [N, K]^T` in f64, columns `start..start + len`.
fn reference(x: &[f32], m: usize, w: &[f32], start: usize, len: usize) -> Vec<f64> {
    let mut o = Vec::new();
    for i in 0..m {
        for j in start..start + len {
            o.push((0..K).map(|p| x[i * K + p] as f64 * w[j * K + p] as f64).sum());
        }
    }
    o
}

#[test]
fn block_weights_dequantise_and_multiply_as_their_values_over_any_row_range() {
    let w = weights();
    let wt = Tensor::from_vec(w.clone(), &[N, K]).unwrap();
    for format in [BlockFormat::Q8_0, BlockFormat::Q4_0, BlockFormat::Q4_K] {
        let bytes = blockq::quantize(format, &w).unwrap();
        let dense = blockq::dequantize(format, &bytes);
        let packed = [
            PackedWeight::blocks(format, &wt).unwrap(),
            PackedWeight::from_blocks(format, N, K, Bytes::from(bytes.clone())).unwrap(),
        ];
        for p in &packed {
            assert_eq!(p.block_format(), Some(format));
            assert_eq!(p.nbytes(), bytes.len(), "{format:?}: panels take the bytes of the rows");
            assert_eq!(p.to_tensor().unwrap().to_vec::<f32>().unwrap(), dense, "{format:?}");
            let ids = [0, 17, 31, 32, 39];
            let rows = p.rows(&ids).unwrap().to_vec::<f32>().unwrap();
            for (i, &r) in ids.iter().enumerate() {
                assert_eq!(rows[i * K..(i + 1) * K], dense[r * K..(r + 1) * K], "{format:?} row {r}");
            }
            for m in [1, 9] {
                let x: Vec<f32> = (0..m * K).map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0).collect();
                let xt = Tensor::from_vec(x.clone(), &[m, K]).unwrap();
                // Panels (and decode rows, m <= 4) multiply int8-quantised activations at
                // every m: the reference takes them as quantised.
                let xs: Vec<f32> = x.chunks(K).flat_map(|r| QuantizedRow::new(r).values()).collect();
                for (start, len) in [(0, N), (5, 20), (16, 16), (30, 10), (33, 7)] {
                    let y = p.matmul_t(&xt, Some((start, len))).unwrap();
                    assert_eq!(y.shape(), &[m, len][..]);
                    let want = reference(&xs, m, &dense, start, len);
                    for (a, b) in y.to_vec::<f32>().unwrap().iter().zip(&want) {
                        assert!((*a as f64 - b).abs() < 1e-3, "{format:?} m={m} rows {start}+{len}: {a} vs {b}");
                    }
                }
            }
        }
    }
}

#[test]
fn bad_row_ranges_and_shapes_are_errors() {
    let w = Tensor::from_vec(weights(), &[N, K]).unwrap();
    let p = PackedWeight::blocks(BlockFormat::Q4_0, &w).unwrap();
    let x = Tensor::zeros(&[1, K], DType::F32).unwrap();
    assert!(p.matmul_t(&x, Some((30, 11))).is_err());
    assert!(p.matmul_t(&Tensor::zeros(&[1, K - 32], DType::F32).unwrap(), None).is_err());
    assert!(p.rows(&[N]).is_err());
    assert!(PackedWeight::from_blocks(BlockFormat::Q4_0, N, K, Bytes::from(vec![0u8; 10])).is_err());
}

#[test]
fn int8_rows_hold_their_per_row_codes_and_multiply_in_integers() {
    // Rows of whole blocks of 32 go to Q8_0 panels of unit scale (integer products with int8
    // activations); other widths keep f32 activations. Either way W = q * scale per row.
    for k in [K, 48] {
        let w: Vec<f32> = (0..N * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0 * (1 + i / k) as f32).collect();
        let dense: Vec<f32> = w
            .chunks(k)
            .flat_map(|row| {
                let s = row.iter().fold(0.0f32, |a, v| a.max(v.abs())) / 127.0;
                row.iter().map(move |v| (v / s).round() * s)
            })
            .collect();
        let p = PackedWeight::int8(&Tensor::from_vec(w, &[N, k]).unwrap()).unwrap();
        assert_eq!(p.is_repacked(), k == K, "k = {k}");
        let got = p.to_tensor().unwrap().to_vec::<f32>().unwrap();
        for (a, b) in got.iter().zip(&dense) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "k = {k}: {a} vs {b}");
        }
        let m = 6;
        let x: Vec<f32> = (0..m * k).map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0).collect();
        let xs: Vec<f32> = match k == K {
            true => x.chunks(k).flat_map(|r| QuantizedRow::new(r).values()).collect(),
            false => x.clone(),
        };
        for (start, len) in [(0, N), (5, 20), (33, 7)] {
            let y = p.matmul_t(&Tensor::from_vec(x.clone(), &[m, k]).unwrap(), Some((start, len))).unwrap();
            let kk = k;
            let want: Vec<f64> = (0..m)
                .flat_map(|i| (start..start + len).map(move |j| (i, j)))
                .map(|(i, j)| (0..kk).map(|p| xs[i * kk + p] as f64 * dense[j * kk + p] as f64).sum())
                .collect();
            for (a, b) in y.to_vec::<f32>().unwrap().iter().zip(&want) {
                assert!((*a as f64 - b).abs() < 1e-3 * b.abs().max(1.0), "k = {k} rows {start}+{len}: {a} vs {b}");
            }
        }
    }
}
