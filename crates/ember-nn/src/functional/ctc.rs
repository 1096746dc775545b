//! `F.ctc_loss`: the connectionist temporal classification loss (Graves et al. 2006), by the
//! forward (alpha) recursion in log space over the blank-extended targets, batched over
//! samples with per-sample lengths. Each time step is a few tensor ops (shifts, a three-way
//! logsumexp, a gather of the emissions), so the gradient comes from autograd.
//!
//! Impossible paths carry a large negative finite log-probability instead of `-inf`, so that
//! logsumexp's gradient never divides infinities; losses at that level are PyTorch's `inf`
//! (or 0 with `zero_infinity`).

use super::Reduction;
use ember_core::{DType, Error, Result, Tensor};

/// Log-probability of "impossible", finite so that gradients stay finite.
const NEG: f64 = -1e30;

/// `F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction,
/// zero_infinity)`: `log_probs [T, N, C]` (log-softmax over C), `targets [N, S]` padded or the
/// targets concatenated (1-D). `Mean` divides each loss by its target length, then averages.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn ctc_loss(
    log_probs: &Tensor,
    targets: &Tensor,
    input_lengths: &[usize],
    target_lengths: &[usize],
    blank: usize,
    reduction: Reduction,
    zero_infinity: bool,
) -> Result<Tensor> {
    let op = "ctc_loss";
    let lp = if log_probs.dim() == 2 { log_probs.unsqueeze(1)? } else { log_probs.clone() };
    if lp.dim() != 3 || !lp.dtype().is_float() {
        return Err(Error::shape(
            op,
            format!("log_probs must be a float [T, N, C] tensor, got {:?}", log_probs.shape()),
        ));
    }
    let (t_max, n, c) = (lp.shape()[0], lp.shape()[1], lp.shape()[2]);
    if input_lengths.len() != n || target_lengths.len() != n {
        return Err(Error::shape(
            op,
            format!("expected {n} input and target lengths, got {} and {}", input_lengths.len(), target_lengths.len()),
        ));
    }
    if blank >= c {
        return Err(Error::value(op, format!("blank must be in label range, got {blank} for {c} classes")));
    }
    if let Some(&bad) = input_lengths.iter().find(|&&l| l > t_max) {
        return Err(Error::value(op, format!("input length {bad} exceeds the {t_max} time steps")));
    }
    if targets.dtype().is_float() || targets.dtype() == DType::Bool {
        return Err(Error::dtype(op, format!("targets must be integers, got {}", targets.dtype())));
    }
    let tv = targets.to_dtype(DType::I64)?.contiguous()?.to_vec::<i64>()?;
    // Each sample's target labels.
    let mut labels: Vec<Vec<i64>> = Vec::with_capacity(n);
    let mut at = 0usize;
    for (i, &len) in target_lengths.iter().enumerate() {
        let row: Option<&[i64]> = if targets.dim() == 2 {
            (targets.shape()[0] == n && len <= targets.shape()[1])
                .then(|| &tv[i * targets.shape()[1]..i * targets.shape()[1] + len])
        } else {
            let r = tv.get(at..at + len);
            at += len;
            r
        };
        let row = row.ok_or_else(|| {
            Error::shape(op, format!("target length {len} of sample {i} exceeds the targets {:?}", targets.shape()))
        })?;
        if let Some(bad) = row.iter().find(|&&l| l < 0 || l as usize >= c) {
            return Err(Error::value(op, format!("target label {bad} of sample {i} is out of range for {c} classes")));
        }
        labels.push(row.to_vec());
    }
    let s_max = 2 * target_lengths.iter().copied().max().unwrap_or(0) + 1;
    // Extended labels (blank, l1, blank, l2, ..., blank), padded with blanks; whether the skip
    // transition s-2 -> s is allowed (a label different from the one two back).
    let mut ext = vec![blank as i64; n * s_max];
    let mut skip = vec![NEG; n * s_max];
    for (i, l) in labels.iter().enumerate() {
        for (j, &lab) in l.iter().enumerate() {
            let s = 2 * j + 1;
            ext[i * s_max + s] = lab;
            if j > 0 && l[j - 1] != lab {
                skip[i * s_max + s] = 0.0;
            }
        }
    }
    let dt = lp.dtype();
    let ext = Tensor::from_vec(ext, &[n, s_max])?;
    let skip = Tensor::from_vec(skip, &[n, s_max])?.to_dtype(dt)?;
    let emit = |t: usize| -> Result<Tensor> { lp.select(0, t as isize)?.gather(1, &ext) }; // [N, S']
                                                                                           // `a` moved k places right along the labels (NEG shifted in); all NEG when k >= S'.
    let shift = |a: &Tensor, k: usize| -> Result<Tensor> {
        if k >= s_max {
            return Tensor::full(a.shape(), NEG, a.dtype());
        }
        super::pad(&a.narrow(1, 0, s_max - k)?, &[k, 0], NEG)
    };
    // alpha_0: the first blank or the first label.
    let mut init = vec![NEG; n * s_max];
    for (i, l) in labels.iter().enumerate() {
        init[i * s_max] = 0.0;
        if !l.is_empty() {
            init[i * s_max + 1] = 0.0;
        }
    }
    let mut alpha = Tensor::from_vec(init, &[n, s_max])?.to_dtype(dt)?.add(&emit(0)?)?;
    for t in 1..t_max {
        let stacked = Tensor::stack(&[&alpha, &shift(&alpha, 1)?, &shift(&alpha, 2)?.add(&skip)?], 0)?;
        let next = stacked.logsumexp(0, false)?.add(&emit(t)?)?;
        // Samples whose input has ended keep their alpha.
        let live: Vec<bool> = input_lengths.iter().map(|&l| t < l).collect();
        let live = Tensor::from_vec(live, &[n, 1])?;
        alpha = Tensor::where_cond(&live, &next, &alpha)?;
    }
    // The loss: -log(alpha at the last label + alpha at the final blank).
    let mut ends = Vec::with_capacity(2 * n);
    for (i, &len) in target_lengths.iter().enumerate() {
        let last = 2 * len;
        ends.push((i * s_max + last) as i64);
        ends.push((i * s_max + last.saturating_sub(1)) as i64);
    }
    let picked =
        alpha.reshape(&[-1])?.index_select(0, &Tensor::from_vec(ends, &[2 * n])?)?.reshape(&[n as isize, 2])?;
    // A zero target length has one end (the blank); its "last label" duplicate is dropped.
    let single: Vec<f64> = target_lengths.iter().flat_map(|&l| [0.0, if l == 0 { NEG } else { 0.0 }]).collect();
    let picked = picked.add(&Tensor::from_vec(single, &[n, 2])?.to_dtype(dt)?)?;
    let mut loss = picked.logsumexp(1, false)?.neg()?;
    // Zero input length: only an empty target is possible (probability 1).
    let empty: Vec<bool> = input_lengths.iter().zip(target_lengths).map(|(&il, _)| il == 0).collect();
    if empty.iter().any(|&e| e) {
        let vals: Vec<f64> = input_lengths
            .iter()
            .zip(target_lengths)
            .map(|(_, &tl)| if tl == 0 { 0.0 } else { f64::INFINITY })
            .collect();
        let fixed = Tensor::from_vec(vals, &[n])?.to_dtype(dt)?;
        loss = Tensor::where_cond(&Tensor::from_vec(empty, &[n])?, &fixed, &loss)?;
    }
    let impossible = loss.ge_scalar(-NEG / 10.0)?;
    let replacement = Tensor::full(&[n], if zero_infinity { 0.0 } else { f64::INFINITY }, dt)?;
    loss = Tensor::where_cond(&impossible, &replacement, &loss)?;
    match reduction {
        Reduction::None => Ok(loss),
        Reduction::Sum => loss.sum(),
        Reduction::Mean => {
            let per: Vec<f64> = target_lengths.iter().map(|&l| 1.0 / l.max(1) as f64).collect();
            loss.mul(&Tensor::from_vec(per, &[n])?.to_dtype(dt)?)?.mean()
        }
        Reduction::BatchMean => Err(Error::value(op, "reduction must be 'none', 'mean' or 'sum'")),
    }
}
