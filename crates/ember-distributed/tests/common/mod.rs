//! Checks shared by the thread-world tests (`local.rs`) and the `mpirun -np 2` tests
//! (`mpi.rs`): each runs on one rank of a group and asserts what the collective's definition
//! says every rank must hold (sums of the ranks' values, rank `src`'s data, ...), and that DDP
//! training equals one process training on the whole batch.
#![allow(dead_code)]

use ember_core::{DType, Result, Tensor};
use ember_distributed::{DdpOptions, DistributedDataParallel, ProcessGroup, ReduceOp};
use ember_nn::{Forward, Linear, Module};
use ember_optim::{Optimizer, Sgd, SgdConfig};
use std::sync::Arc;

fn vals(t: &Tensor) -> Vec<f64> {
    t.to_f64_vec().unwrap()
}

/// `[r*10 + i for i in 0..n]` as f32: rank `r`'s data in the checks below.
fn rank_data(r: usize, n: usize) -> Tensor {
    Tensor::from_vec((0..n).map(|i| (r * 10 + i) as f32).collect::<Vec<_>>(), &[n]).unwrap()
}

/// Every collective on `g`, against its definition.
pub fn check_collectives(g: &Arc<dyn ProcessGroup>) -> Result<()> {
    let (r, n) = (g.rank(), g.size());
    let ranks = 0..n;
    // all_reduce, each op: element i combines (k*10 + i) over ranks k.
    for (op, f) in [
        (ReduceOp::Sum, (|a: Vec<f64>| a.iter().sum()) as fn(Vec<f64>) -> f64),
        (ReduceOp::Avg, |a: Vec<f64>| a.iter().sum::<f64>() / a.len() as f64),
        (ReduceOp::Product, |a: Vec<f64>| a.iter().product()),
        (ReduceOp::Min, |a: Vec<f64>| a.iter().cloned().fold(f64::MAX, f64::min)),
        (ReduceOp::Max, |a: Vec<f64>| a.iter().cloned().fold(f64::MIN, f64::max)),
    ] {
        let t = rank_data(r, 4);
        g.all_reduce(&t, op)?.wait()?;
        let want: Vec<f64> = (0..4).map(|i| f(ranks.clone().map(|k| (k * 10 + i) as f64).collect())).collect();
        assert_eq!(vals(&t), want, "all_reduce {op:?} on rank {r}");
    }
    // Out of place (DDP's buckets): the input is left as it was.
    let (input, out) = (rank_data(r, 4), Tensor::zeros(&[4], DType::F32)?);
    g.all_reduce_into(&input, &out, ReduceOp::Sum)?.wait()?;
    assert_eq!(vals(&input), vals(&rank_data(r, 4)));
    let want: Vec<f64> = (0..4).map(|i| ranks.clone().map(|k| (k * 10 + i) as f64).sum()).collect();
    assert_eq!(vals(&out), want);
    assert!(g.all_reduce_into(&input, &input.narrow(0, 0, 4)?, ReduceOp::Sum).is_err());
    // Integer and half/bool tensors travel too.
    let t = Tensor::from_vec(vec![r as i64 + 1, 7], &[2])?;
    g.all_reduce(&t, ReduceOp::Sum)?.wait()?;
    assert_eq!(t.to_vec::<i64>()?, vec![(n * (n + 1) / 2) as i64, 7 * n as i64]);
    let h = rank_data(r, 3).to_dtype(DType::BF16)?;
    g.all_reduce(&h, ReduceOp::Max)?.wait()?;
    assert_eq!(h.dtype(), DType::BF16);
    assert_eq!(vals(&h), rank_data(n - 1, 3).to_f64_vec()?);
    let b = Tensor::from_vec(vec![r == 0, false], &[2])?;
    g.all_reduce(&b, ReduceOp::Max)?.wait()?;
    assert_eq!(b.to_vec::<bool>()?, vec![true, false]);

    // broadcast from the last rank.
    let t = rank_data(r, 5);
    g.broadcast(&t, n - 1)?.wait()?;
    assert_eq!(vals(&t), vals(&rank_data(n - 1, 5)));

    // all_gather: outputs[k] is rank k's input.
    let outs: Vec<Tensor> = ranks.clone().map(|_| Tensor::zeros(&[2, 3], DType::F64)).collect::<Result<_>>()?;
    g.all_gather(&outs, &rank_data(r, 6).to_dtype(DType::F64)?.reshape(&[2, 3])?)?.wait()?;
    for (k, o) in outs.iter().enumerate() {
        assert_eq!(vals(o), vals(&rank_data(k, 6)), "all_gather block {k} on rank {r}");
    }

    // reduce_scatter: rank r gets the sum over ranks k of k's input r.
    let inputs: Vec<Tensor> = ranks.clone().map(|j| rank_data(r + j, 2)).collect();
    let out = Tensor::zeros(&[2], DType::F32)?;
    g.reduce_scatter(&out, &inputs, ReduceOp::Sum)?.wait()?;
    let want: Vec<f64> = (0..2).map(|i| ranks.clone().map(|k| ((k + r) * 10 + i) as f64).sum()).collect();
    assert_eq!(vals(&out), want);

    // reduce to rank 0: only the root's tensor changes.
    let t = rank_data(r, 3);
    g.reduce(&t, 0, ReduceOp::Sum)?.wait()?;
    let want: Vec<f64> = if r == 0 {
        (0..3).map(|i| ranks.clone().map(|k| (k * 10 + i) as f64).sum()).collect()
    } else {
        vals(&rank_data(r, 3))
    };
    assert_eq!(vals(&t), want);

    // gather to the last rank; scatter from rank 0.
    let dst = n - 1;
    let outs: Vec<Tensor> =
        if r == dst { ranks.clone().map(|_| Tensor::zeros(&[3], DType::F32)).collect::<Result<_>>()? } else { vec![] };
    g.gather(&rank_data(r, 3), &outs, dst)?.wait()?;
    for (k, o) in outs.iter().enumerate() {
        assert_eq!(vals(o), vals(&rank_data(k, 3)));
    }
    let ins: Vec<Tensor> = if r == 0 { ranks.clone().map(|k| rank_data(k + 5, 2)).collect() } else { vec![] };
    let out = Tensor::zeros(&[2], DType::F32)?;
    g.scatter(&out, &ins, 0)?.wait()?;
    assert_eq!(vals(&out), vals(&rank_data(r + 5, 2)));

    g.barrier()?.wait()?;

    // send/recv around a ring (tags keep two messages apart).
    if n > 1 {
        let (next, prev) = ((r + 1) % n, (r + n - 1) % n);
        let s1 = g.send(&rank_data(r, 2), next, 1)?;
        let s2 = g.send(&rank_data(r + 50, 2), next, 2)?;
        let (a, b) = (Tensor::zeros(&[2], DType::F32)?, Tensor::zeros(&[2], DType::F32)?);
        g.recv(&b, prev, 2)?.wait()?;
        g.recv(&a, prev, 1)?.wait()?;
        s1.wait()?;
        s2.wait()?;
        assert_eq!(vals(&a), vals(&rank_data(prev, 2)));
        assert_eq!(vals(&b), vals(&rank_data(prev + 50, 2)));
    }

    // Async: several in flight, completed in order, results as if run one by one.
    let ts: Vec<Tensor> = (0..4).map(|k| rank_data(r + k, 8)).collect();
    let works: Vec<_> = ts.iter().map(|t| g.all_reduce(t, ReduceOp::Sum)).collect::<Result<_>>()?;
    for w in &works {
        w.wait()?;
        assert!(w.is_completed());
    }
    for (k, t) in ts.iter().enumerate() {
        let want: Vec<f64> = (0..8).map(|i| ranks.clone().map(|j| ((j + k) * 10 + i) as f64).sum()).collect();
        assert_eq!(vals(t), want);
    }

    // A subgroup of the even ranks: rank numbering and sums within it.
    let evens: Vec<usize> = ranks.clone().step_by(2).collect();
    let sub = g.new_group(&evens)?;
    assert_eq!(sub.is_some(), r % 2 == 0);
    if let Some(sub) = sub {
        assert_eq!(sub.size(), evens.len());
        assert_eq!(sub.rank(), r / 2);
        let t = Tensor::from_vec(vec![r as f32], &[1])?;
        sub.all_reduce(&t, ReduceOp::Sum)?.wait()?;
        assert_eq!(vals(&t), vec![evens.iter().sum::<usize>() as f64]);
    }
    g.barrier()?.wait()?;

    // Bad arguments are errors before anything is sent.
    let nc = Tensor::zeros(&[3, 2], DType::F32)?.transpose(0, 1)?;
    assert!(g.all_reduce(&nc, ReduceOp::Sum).unwrap_err().to_string().contains("contiguous"));
    assert!(g.broadcast(&rank_data(0, 1), n).unwrap_err().to_string().contains("Invalid source rank"));
    assert!(g.all_gather(&[], &rank_data(0, 1)).unwrap_err().to_string().contains("one tensor per rank"));
    let int = Tensor::from_vec(vec![1i64], &[1])?;
    assert!(g.all_reduce(&int, ReduceOp::Avg).unwrap_err().to_string().contains("floating-point"));
    Ok(())
}

/// A two-layer MLP: `fc2(tanh(fc1(x)))`, and an optional layer that forward never uses.
pub struct Mlp {
    pub layers: Vec<Linear>,
}

impl Module for Mlp {
    fn visit_tensors(&self, prefix: &str, v: &mut dyn FnMut(&str, &Tensor, ember_nn::TensorKind)) {
        self.layers.visit_tensors(prefix, v)
    }
    fn visit_tensors_mut(&mut self, prefix: &str, v: &mut dyn FnMut(&str, &mut Tensor, ember_nn::TensorKind)) {
        self.layers.visit_tensors_mut(prefix, v)
    }
    fn visit_children<'a>(&'a self, v: &mut dyn FnMut(&str, &'a dyn Module)) {
        self.layers.visit_children(v)
    }
    fn visit_children_mut(&mut self, v: &mut dyn FnMut(&str, &mut dyn Module)) {
        self.layers.visit_children_mut(v)
    }
    fn set_training(&mut self, _: bool) {}
    fn type_name(&self) -> &'static str {
        "Mlp"
    }
}

impl Mlp {
    /// Deterministic weights (`seed` shifts them, so ranks can start different).
    pub fn new(dims: &[usize], unused_layer: bool, seed: f64) -> Result<Mlp> {
        let mut layers = Vec::new();
        let mut shapes: Vec<(usize, usize)> = dims.windows(2).map(|w| (w[0], w[1])).collect();
        if unused_layer {
            shapes.push((3, 3));
        }
        for (l, (i, o)) in shapes.into_iter().enumerate() {
            let w: Vec<f32> = (0..i * o).map(|k| ((k as f64 * 0.7 + l as f64 + seed).sin() * 0.5) as f32).collect();
            let b: Vec<f32> = (0..o).map(|k| ((k as f64 * 1.3 + seed).cos() * 0.1) as f32).collect();
            layers.push(Linear::from_weights(
                Tensor::from_vec(w, &[o, i])?.set_requires_grad(true)?,
                Some(Tensor::from_vec(b, &[o])?.set_requires_grad(true)?),
            ));
        }
        Ok(Mlp { layers })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.layers[1].forward(&self.layers[0].forward(x)?.tanh()?)
    }
}

/// The global batch of step `s`: 8 rows of 5 inputs and 2 targets.
fn batch(s: usize) -> Result<(Tensor, Tensor)> {
    let x: Vec<f32> = (0..40).map(|k| ((k * 7 + s * 13) as f64 * 0.37).sin() as f32).collect();
    let y: Vec<f32> = (0..16).map(|k| ((k * 3 + s * 5) as f64 * 0.91).cos() as f32).collect();
    Ok((Tensor::from_vec(x, &[8, 5])?, Tensor::from_vec(y, &[8, 2])?))
}

fn shard(t: &Tensor, r: usize, n: usize) -> Result<Tensor> {
    let rows = t.shape()[0] / n;
    t.narrow(0, r * rows, rows)
}

fn flat_params(m: &dyn Module) -> Vec<f64> {
    m.parameters().iter().flat_map(vals).collect()
}

fn sgd(params: Vec<Tensor>) -> Result<Sgd> {
    Sgd::new(params, SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() })
}

fn assert_close(a: &[f64], b: &[f64], rel: f64, what: &str) {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= rel * scale, "{what}: element {i}: {x} vs {y} (tolerance {rel} x {scale})");
    }
}

/// 20 DDP steps on rank shards equal 20 single-process steps on the whole batch; the ranks
/// start from different weights (rank 0's win); `no_sync` accumulation equals one synced
/// backward of the summed losses.
pub fn check_ddp_training(g: &Arc<dyn ProcessGroup>) -> Result<()> {
    let (r, n) = (g.rank(), g.size());
    let ddp = DistributedDataParallel::new(Mlp::new(&[5, 4, 2], false, r as f64)?, g.clone(), DdpOptions::default())?;
    let reference = Mlp::new(&[5, 4, 2], false, 0.0)?;
    assert_close(&flat_params(ddp.module()), &flat_params(&reference), 0.0, "weights after construction");
    let (mut opt, mut ref_opt) = (sgd(ddp.parameters())?, sgd(reference.parameters())?);
    for s in 0..20 {
        let (x, y) = batch(s)?;
        opt.zero_grad();
        let out = ddp.forward(|m| m.forward(&shard(&x, r, n)?))?;
        ember_nn::functional::mse_loss(&out, &shard(&y, r, n)?)?.backward()?;
        opt.step()?;
        ref_opt.zero_grad();
        ember_nn::functional::mse_loss(&reference.forward(&x)?, &y)?.backward()?;
        ref_opt.step()?;
    }
    assert_close(&flat_params(ddp.module()), &flat_params(&reference), 1e-6, "parameters after 20 steps");

    // no_sync: micro-batch a without sync, micro-batch b synced.
    let (x, y) = batch(99)?;
    let (xa, xb) = (shard(&x.narrow(0, 0, 4)?, r, n)?, shard(&x.narrow(0, 4, 4)?, r, n)?);
    let (ya, yb) = (shard(&y.narrow(0, 0, 4)?, r, n)?, shard(&y.narrow(0, 4, 4)?, r, n)?);
    opt.zero_grad();
    ddp.no_sync(|| -> Result<()> {
        let out = ddp.forward(|m| m.forward(&xa))?;
        ember_nn::functional::mse_loss(&out, &ya)?.backward()
    })?;
    let local_a: Vec<f64> = ddp.parameters().iter().flat_map(|p| vals(&p.grad().unwrap())).collect();
    let out = ddp.forward(|m| m.forward(&xb))?;
    ember_nn::functional::mse_loss(&out, &yb)?.backward()?;
    let synced: Vec<f64> = ddp.parameters().iter().flat_map(|p| vals(&p.grad().unwrap())).collect();
    // Reference: mean over ranks of each rank's summed micro-batch losses.
    ref_opt.zero_grad();
    let mut total = Tensor::zeros(&[], DType::F32)?;
    for k in 0..n {
        let la = ember_nn::functional::mse_loss(
            &reference.forward(&shard(&x.narrow(0, 0, 4)?, k, n)?)?,
            &shard(&y.narrow(0, 0, 4)?, k, n)?,
        )?;
        let lb = ember_nn::functional::mse_loss(
            &reference.forward(&shard(&x.narrow(0, 4, 4)?, k, n)?)?,
            &shard(&y.narrow(0, 4, 4)?, k, n)?,
        )?;
        total = total.add(&la.add(&lb)?)?;
    }
    total.div_scalar(n as f64)?.backward()?;
    let want: Vec<f64> = reference.parameters().iter().flat_map(|p| vals(&p.grad().unwrap())).collect();
    assert_close(&synced, &want, 1e-6, "no_sync accumulated gradient");
    if n > 1 {
        // The local part alone is not the answer: the sync did happen.
        assert!(local_a.iter().zip(&synced).any(|(a, b)| (a - b).abs() > 1e-4));
    }
    Ok(())
}

/// An unused layer: an error naming it without `find_unused_parameters`; with it, training
/// goes on and the unused parameters keep no gradient.
pub fn check_unused_parameters(g: &Arc<dyn ProcessGroup>) -> Result<()> {
    let (r, n) = (g.rank(), g.size());
    let (x, y) = batch(0)?;
    let strict = DistributedDataParallel::new(Mlp::new(&[5, 4, 2], true, 0.0)?, g.clone(), DdpOptions::default())?;
    let out = strict.forward(|m| m.forward(&shard(&x, r, n)?))?;
    let err = ember_nn::functional::mse_loss(&out, &shard(&y, r, n)?)?.backward().unwrap_err().to_string();
    assert!(err.contains("2.weight") && err.contains("find_unused_parameters"), "{err}");

    let opts = DdpOptions { find_unused_parameters: true, ..Default::default() };
    let ddp = DistributedDataParallel::new(Mlp::new(&[5, 4, 2], true, 0.0)?, g.clone(), opts)?;
    let reference = Mlp::new(&[5, 4, 2], true, 0.0)?;
    for _ in 0..2 {
        let out = ddp.forward(|m| m.forward(&shard(&x, r, n)?))?;
        ember_nn::functional::mse_loss(&out, &shard(&y, r, n)?)?.backward()?;
    }
    ember_nn::functional::mse_loss(&reference.forward(&x)?, &y)?.mul_scalar(2.0)?.backward()?;
    assert!(ddp.module().layers[2].weight.grad().is_none());
    let got: Vec<f64> =
        ddp.module().layers[..2].iter().flat_map(|l| l.parameters()).flat_map(|p| vals(&p.grad().unwrap())).collect();
    let want: Vec<f64> =
        reference.layers[..2].iter().flat_map(|l| l.parameters()).flat_map(|p| vals(&p.grad().unwrap())).collect();
    assert_close(&got, &want, 1e-6, "gradients with an unused layer");
    Ok(())
}

/// Rank 1 builds a wider hidden layer: every rank's construction fails, naming the parameter.
pub fn check_shape_mismatch(g: &Arc<dyn ProcessGroup>) -> Result<()> {
    let hidden = if g.rank() == 1 { 6 } else { 4 };
    let err = DistributedDataParallel::new(Mlp::new(&[5, hidden, 2], false, 0.0)?, g.clone(), DdpOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("same model across all ranks") && err.contains("0.weight"), "{err}");
    Ok(())
}
