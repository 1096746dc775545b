//! Recurrent layers beyond the PyTorch fixtures (`nn_golden.rs` checks f64 against torch):
//! the f32 path (SIMD gates, packed GEMM) against the f64 one, torch's parameter names and
//! shapes, state-dict round trips, packing utilities and errors.

use ember_core::{DType, Result, Tensor};
use ember_nn::utils::rnn::{pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence};
use ember_nn::{Forward, Module, RnnOptions, GRU, LSTM, RNN};

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (a.to_f64_vec().unwrap(), b.to_f64_vec().unwrap());
    assert_eq!(a.len(), b.len());
    a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Runs `f` on an f32 copy and an f64 copy of the module and input; compares outputs and
/// every gradient.
fn f32_matches_f64<M: Module + Clone>(m: &M, x: &Tensor, f: impl Fn(&M, &Tensor) -> Result<Tensor>) {
    let mut m64 = m.clone();
    m64.to_dtype(DType::F64).unwrap();
    let mut m32 = m.clone();
    m32.to_dtype(DType::F32).unwrap();
    for mm in [&m64, &m32] {
        for p in mm.parameters() {
            p.set_grad(None);
        }
    }
    let x64 = x.detach().to_dtype(DType::F64).unwrap().set_requires_grad(true).unwrap();
    let x32 = x.detach().to_dtype(DType::F32).unwrap().contiguous().unwrap().set_requires_grad(true).unwrap();
    let (y64, y32) = (f(&m64, &x64).unwrap(), f(&m32, &x32).unwrap());
    assert_eq!(y32.dtype(), DType::F32);
    assert!(max_diff(&y64, &y32) < 1e-4, "output differs by {}", max_diff(&y64, &y32));
    let v = Tensor::randn(y64.shape(), DType::F64).unwrap();
    y64.backward_with(&v).unwrap();
    y32.backward_with(&v.to_dtype(DType::F32).unwrap()).unwrap();
    assert!(max_diff(&x64.grad().unwrap(), &x32.grad().unwrap()) < 1e-3);
    for ((n, a), (_, b)) in m64.named_parameters().iter().zip(m32.named_parameters().iter()) {
        let d = max_diff(&a.grad().unwrap(), &b.grad().unwrap());
        assert!(d < 1e-3, "grad {n} differs by {d}");
    }
}

fn flat(ts: &[&Tensor]) -> Result<Tensor> {
    let f: Vec<Tensor> = ts.iter().map(|t| t.reshape(&[-1])).collect::<Result<_>>()?;
    Tensor::cat(&f.iter().collect::<Vec<_>>(), 0)
}

#[test]
fn f32_path_matches_f64_for_every_mode() {
    ember_core::manual_seed(3);
    // Sizes that leave partial register tiles (batch 7, hidden 21, gates 84 columns).
    let x = Tensor::randn(&[6, 7, 5], DType::F32).unwrap();
    let two = RnnOptions { num_layers: 2, bidirectional: true, ..Default::default() };
    let lstm = LSTM::new(5, 21, RnnOptions { proj_size: 9, ..two }).unwrap();
    f32_matches_f64(&lstm, &x, |m, x| {
        let (y, (h, c)) = m.forward_with(x, None)?;
        flat(&[&y, &h, &c])
    });
    let gru = GRU::new(5, 21, two).unwrap();
    f32_matches_f64(&gru, &x, |m, x| {
        let (y, h) = m.forward_with(x, None)?;
        flat(&[&y, &h])
    });
    for relu in [false, true] {
        let rnn = RNN::new(5, 21, RnnOptions { relu, ..two }).unwrap();
        f32_matches_f64(&rnn, &x, |m, x| m.forward(x));
    }
    // Packed, unsorted lengths, in f32 as well.
    f32_matches_f64(&lstm, &x, |m, x| {
        let seq = pack_padded_sequence(x, &[3, 6, 1, 6, 2, 5, 4], false, false)?;
        let (y, (h, c)) = m.forward_packed(&seq, None)?;
        flat(&[&pad_packed_sequence(&y, false, 0.0, None)?.0, &h, &c])
    });
}

#[test]
fn parameters_have_torch_names_and_shapes() {
    let m = LSTM::new(10, 20, RnnOptions { num_layers: 2, bidirectional: true, proj_size: 5, ..Default::default() })
        .unwrap();
    let got: Vec<(String, Vec<usize>)> =
        m.named_parameters().into_iter().map(|(n, t)| (n, t.shape().to_vec())).collect();
    // torch.nn.LSTM(10, 20, 2, bidirectional=True, proj_size=5).named_parameters()
    let want: Vec<(&str, Vec<usize>)> = vec![
        ("weight_ih_l0", vec![80, 10]),
        ("weight_hh_l0", vec![80, 5]),
        ("bias_ih_l0", vec![80]),
        ("bias_hh_l0", vec![80]),
        ("weight_hr_l0", vec![5, 20]),
        ("weight_ih_l0_reverse", vec![80, 10]),
        ("weight_hh_l0_reverse", vec![80, 5]),
        ("bias_ih_l0_reverse", vec![80]),
        ("bias_hh_l0_reverse", vec![80]),
        ("weight_hr_l0_reverse", vec![5, 20]),
        ("weight_ih_l1", vec![80, 10]),
        ("weight_hh_l1", vec![80, 5]),
        ("bias_ih_l1", vec![80]),
        ("bias_hh_l1", vec![80]),
        ("weight_hr_l1", vec![5, 20]),
        ("weight_ih_l1_reverse", vec![80, 10]),
        ("weight_hh_l1_reverse", vec![80, 5]),
        ("bias_ih_l1_reverse", vec![80]),
        ("bias_hh_l1_reverse", vec![80]),
        ("weight_hr_l1_reverse", vec![5, 20]),
    ];
    assert_eq!(got.len(), want.len());
    for ((gn, gs), (wn, ws)) in got.iter().zip(&want) {
        assert_eq!((gn.as_str(), gs), (*wn, ws));
    }
    // Default init: U(-1/sqrt(hidden), 1/sqrt(hidden)) for every tensor.
    let bound = 1.0 / 20f64.sqrt();
    for (_, p) in m.named_parameters() {
        assert!(p.to_f64_vec().unwrap().iter().all(|v| v.abs() <= bound));
    }
    let mut other = LSTM::new(10, 20, m.options).unwrap();
    other.load_state_dict(&m.state_dict(), true).unwrap();
    let x = Tensor::randn(&[3, 2, 10], DType::F32).unwrap();
    assert_eq!(max_diff(&other.forward(&x).unwrap(), &m.forward(&x).unwrap()), 0.0);
}

#[test]
fn bad_shapes_and_options_are_errors() {
    let m = LSTM::new(4, 3, RnnOptions::default()).unwrap();
    let e = m.forward(&Tensor::zeros(&[5, 2, 6], DType::F32).unwrap()).unwrap_err().to_string();
    assert!(e.contains("input_size") && e.contains("Expected 4, got 6"), "{e}");
    let h = Tensor::zeros(&[1, 3, 3], DType::F32).unwrap();
    let x = Tensor::zeros(&[5, 2, 4], DType::F32).unwrap();
    let e = m.forward_with(&x, Some((&h, &h))).unwrap_err().to_string();
    assert!(e.contains("Expected hidden size [1, 2, 3]"), "{e}");
    assert!(m.forward(&Tensor::zeros(&[2, 5, 2, 4], DType::F32).unwrap()).is_err());
    assert!(m.forward(&Tensor::zeros(&[5, 2, 4], DType::I64).unwrap()).is_err());
    assert!(GRU::new(4, 3, RnnOptions { proj_size: 2, ..Default::default() }).is_err());
    assert!(LSTM::new(4, 3, RnnOptions { proj_size: 3, ..Default::default() }).is_err());
    assert!(LSTM::new(4, 3, RnnOptions { dropout: 1.5, ..Default::default() }).is_err());
    assert!(ember_nn::RNNCell::new(4, 3, true, "sigmoid").is_err());
    let x = Tensor::zeros(&[3, 2, 4], DType::F32).unwrap();
    let e = pack_padded_sequence(&x, &[1, 3], false, true).unwrap_err().to_string();
    assert!(e.contains("enforce_sorted"), "{e}");
    assert!(pack_padded_sequence(&x, &[3, 0], false, false).is_err());
    assert!(pack_padded_sequence(&x, &[4, 1], false, false).is_err());
    assert!(pack_padded_sequence(&x, &[3], false, false).is_err());
}

#[test]
fn double_backward_through_a_fused_layer_is_an_error() {
    let m = GRU::new(2, 3, RnnOptions::default()).unwrap();
    let x = Tensor::randn(&[4, 1, 2], DType::F64).unwrap().set_requires_grad(true).unwrap();
    let mut m64 = m.clone();
    m64.to_dtype(DType::F64).unwrap();
    let y = m64.forward(&x).unwrap().sum().unwrap();
    let opts = ember_core::autograd::GradOptions { create_graph: true, ..Default::default() };
    let r = ember_core::autograd::grad_with_opt(&[&y], &[&x], opts);
    let e = r.unwrap_err().to_string();
    assert!(e.contains("double backward") && e.contains("gru"), "{e}");
}

#[test]
fn packing_round_trips_and_keeps_the_order() {
    let seqs: Vec<Tensor> = [2usize, 4, 3]
        .iter()
        .enumerate()
        .map(|(i, &l)| Tensor::full(&[l, 2], i as f64 + 1.0, DType::F32).unwrap())
        .collect();
    let padded = pad_sequence(&seqs, true, -1.0).unwrap();
    assert_eq!(padded.shape(), &[3, 4, 2]);
    assert_eq!(padded.select(0, 0).unwrap().select(0, 3).unwrap().to_vec::<f32>().unwrap(), vec![-1.0, -1.0]);
    let packed = pack_sequence(&seqs, false).unwrap();
    assert_eq!(packed.batch_sizes, vec![3, 3, 2, 1]);
    assert_eq!(packed.sorted_indices.as_deref(), Some(&[1, 2, 0][..]));
    // Step 0 holds sequences 1, 2, 0 (longest first), then step 1 the same, ...
    let col: Vec<f32> = packed.data.select(1, 0).unwrap().to_vec().unwrap();
    assert_eq!(col, vec![2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 2.0]);
    let (back, lengths) = pad_packed_sequence(&packed, true, -1.0, Some(5)).unwrap();
    assert_eq!(lengths, vec![2, 4, 3]);
    assert_eq!(back.shape(), &[3, 5, 2]);
    assert_eq!(back.narrow(1, 0, 4).unwrap().to_vec::<f32>().unwrap(), padded.to_vec::<f32>().unwrap());
    assert!(pad_packed_sequence(&packed, true, 0.0, Some(3)).is_err());
}

/// Outputs and every gradient of `f` on `m` (f32 and f64) at `threads` threads.
fn run_at<M: Module + Clone>(
    m: &M,
    x: &Tensor,
    threads: usize,
    f: &dyn Fn(&M, &Tensor) -> Result<Tensor>,
) -> Vec<Vec<f64>> {
    ember_core::set_num_threads(threads);
    for p in m.parameters() {
        p.set_grad(None);
    }
    let x = x.detach().contiguous().unwrap().set_requires_grad(true).unwrap();
    let y = f(m, &x).unwrap();
    let v = Tensor::linspace(-1.0, 1.0, y.numel(), y.dtype()).unwrap().reshape(y.shape()).unwrap();
    y.backward_with(&v).unwrap();
    let mut all = vec![y.to_f64_vec().unwrap(), x.grad().unwrap().to_f64_vec().unwrap()];
    all.extend(m.parameters().iter().map(|p| p.grad().unwrap().to_f64_vec().unwrap()));
    all
}

#[test]
fn batch_row_blocks_give_the_same_results_at_any_thread_count() {
    // Batches over 16 rows run in blocks of rows, one task per block through every step, in a
    // block-major layout; the cut depends on the batch alone, so 1 and 3 threads must agree
    // exactly (the 1-block layout is the one the torch fixtures check at small batches).
    ember_core::manual_seed(5);
    let lengths: Vec<usize> = (0..37).map(|i| 1 + (i * 7) % 6).collect();
    for dtype in [DType::F32, DType::F64] {
        let x = Tensor::randn(&[6, 37, 5], dtype).unwrap();
        let two = RnnOptions { num_layers: 2, bidirectional: true, ..Default::default() };
        let mut lstm = LSTM::new(5, 21, RnnOptions { proj_size: 9, ..two }).unwrap();
        lstm.to_dtype(dtype).unwrap();
        let lstm_packed = |m: &LSTM, x: &Tensor| {
            let seq = pack_padded_sequence(x, &lengths, false, false)?;
            let (y, (h, c)) = m.forward_packed(&seq, None)?;
            flat(&[&pad_packed_sequence(&y, false, 0.0, None)?.0, &h, &c])
        };
        let mut gru = GRU::new(5, 21, two).unwrap();
        gru.to_dtype(dtype).unwrap();
        let gru_all = |m: &GRU, x: &Tensor| {
            let (y, h) = m.forward_with(x, None)?;
            flat(&[&y, &h])
        };
        let mut rnn = RNN::new(5, 21, RnnOptions { relu: true, ..two }).unwrap();
        rnn.to_dtype(dtype).unwrap();
        let rnn_all = |m: &RNN, x: &Tensor| m.forward(x);
        assert_eq!(run_at(&lstm, &x, 1, &lstm_packed), run_at(&lstm, &x, 3, &lstm_packed), "lstm {dtype:?}");
        assert_eq!(run_at(&gru, &x, 1, &gru_all), run_at(&gru, &x, 3, &gru_all), "gru {dtype:?}");
        assert_eq!(run_at(&rnn, &x, 1, &rnn_all), run_at(&rnn, &x, 3, &rnn_all), "rnn {dtype:?}");
    }
    // And against the f64 reference through the same blocks, in f32.
    let x = Tensor::randn(&[6, 37, 5], DType::F32).unwrap();
    let gru = GRU::new(5, 21, RnnOptions::default()).unwrap();
    f32_matches_f64(&gru, &x, |m, x| m.forward(x));
    ember_core::set_num_threads(2);
}

#[test]
fn inference_blocks_give_the_outputs_of_training_blocks() {
    // Without autograd, f32 cuts the batch into one block per thread (bigger than the 16-row
    // blocks training uses); every row's arithmetic is the same, so the outputs must be equal
    // exactly, at 1 thread (one block of 37 against three of 13) and at 2. (f64 keeps the
    // training cut: its per-step GEMM is not row-exact across shapes.)
    ember_core::manual_seed(6);
    let lengths: Vec<usize> = (0..37).map(|i| 1 + (i * 5) % 6).collect();
    for dtype in [DType::F32, DType::F64] {
        let x = Tensor::randn(&[6, 37, 5], dtype).unwrap();
        let mut lstm = LSTM::new(5, 21, RnnOptions { num_layers: 2, proj_size: 9, ..Default::default() }).unwrap();
        lstm.to_dtype(dtype).unwrap();
        let mut gru = GRU::new(5, 21, RnnOptions { bidirectional: true, ..Default::default() }).unwrap();
        gru.to_dtype(dtype).unwrap();
        let outputs = |x: &Tensor| -> Vec<Vec<f64>> {
            let (y, (h, c)) = lstm.forward_with(x, None).unwrap();
            let seq = pack_padded_sequence(x, &lengths, false, false).unwrap();
            let (yp, hp) = gru.forward_packed(&seq, None).unwrap();
            let yp = pad_packed_sequence(&yp, false, 0.0, None).unwrap().0;
            [y, h, c, yp, hp].iter().map(|t| t.to_f64_vec().unwrap()).collect()
        };
        for threads in [1, 2] {
            ember_core::set_num_threads(threads);
            let training = outputs(&x.set_requires_grad(true).unwrap());
            let inference = ember_core::no_grad(|| outputs(&x));
            assert_eq!(training, inference, "{dtype:?} at {threads} threads");
        }
    }
    ember_core::set_num_threads(2);
}
