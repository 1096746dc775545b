//! Embedding lookups with PyTorch's options: `max_norm` (rows renormalised in place when
//! looked up), `scale_grad_by_freq` (each row's gradient divided by its count in the batch),
//! and `embedding_bag` (sums, means or maxima over bags of rows, by `offsets` or per row of a
//! 2-D input, with `per_sample_weights` and `padding_idx`).

use ember_core::{no_grad, DType, Error, Result, Tensor};

/// `F.embedding`'s options beyond the table and the padding row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmbeddingOptions {
    pub padding_idx: Option<usize>,
    /// Rows looked up with a `norm_type`-norm above this are rescaled to it, in place.
    pub max_norm: Option<f64>,
    pub norm_type: f64,
    pub scale_grad_by_freq: bool,
}

impl Default for EmbeddingOptions {
    fn default() -> Self {
        EmbeddingOptions { padding_idx: None, max_norm: None, norm_type: 2.0, scale_grad_by_freq: false }
    }
}

/// The indices as `i64`s, each checked against the table size.
#[track_caller]
fn indices(op: &'static str, idx: &Tensor, rows: usize) -> Result<Vec<i64>> {
    if idx.dtype().is_float() || idx.dtype() == DType::Bool {
        return Err(Error::dtype(op, format!("indices must be an integer tensor, got {}", idx.dtype())));
    }
    let v = idx.to_dtype(DType::I64)?.contiguous()?.to_vec::<i64>()?;
    if let Some(bad) = v.iter().find(|&&i| i < 0 || i as usize >= rows) {
        return Err(Error::index(op, format!("index {bad} is out of range for an embedding table of {rows} rows")));
    }
    Ok(v)
}

/// `torch.embedding_renorm_`: rows of `weight` named in `idx` whose norm exceeds `max_norm`
/// are scaled to `max_norm / (norm + 1e-7)` of themselves, in place, without recording.
#[track_caller]
pub fn embedding_renorm_(weight: &Tensor, idx: &[i64], max_norm: f64, norm_type: f64) -> Result<()> {
    let mut rows: Vec<i64> = idx.to_vec();
    rows.sort_unstable();
    rows.dedup();
    no_grad(|| {
        for r in rows {
            let row = weight.select(0, r as isize)?;
            let norm = row.vector_norm(norm_type, &[], false)?.to_dtype(DType::F64)?.item::<f64>()?;
            if norm > max_norm {
                row.mul_scalar_(max_norm / (norm + 1e-7))?;
            }
        }
        Ok(())
    })
}

/// `F.embedding(idx, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq)`.
#[track_caller]
pub fn embedding_with(idx: &Tensor, weight: &Tensor, o: EmbeddingOptions) -> Result<Tensor> {
    if weight.dim() != 2 {
        return Err(Error::shape(
            "embedding",
            format!("weight must be 2-D [num_embeddings, dim], got {:?}", weight.shape()),
        ));
    }
    let ids = indices("embedding", idx, weight.shape()[0])?;
    if let Some(m) = o.max_norm {
        embedding_renorm_(weight, &ids, m, o.norm_type)?;
    }
    let out = super::embedding(idx, weight, o.padding_idx)?;
    if o.scale_grad_by_freq && out.requires_grad() {
        // Each position's gradient divided by how often its index occurs in this batch.
        let mut count = std::collections::HashMap::new();
        ids.iter().for_each(|&i| *count.entry(i).or_insert(0usize) += 1);
        let scale: Vec<f64> = ids.iter().map(|i| 1.0 / count[i] as f64).collect();
        let mut shape = idx.shape().to_vec();
        shape.push(1);
        let scale = Tensor::from_vec(scale, &shape)?.to_dtype(out.dtype())?;
        out.register_hook(move |g| Ok(Some(g.mul(&scale)?)));
    }
    Ok(out)
}

/// How `embedding_bag` reduces each bag (PyTorch's `mode=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BagMode {
    Sum,
    Mean,
    Max,
}

impl BagMode {
    /// `"sum"`, `"mean"` or `"max"`.
    #[track_caller]
    pub fn parse(mode: &str) -> Result<BagMode> {
        match mode {
            "sum" => Ok(BagMode::Sum),
            "mean" => Ok(BagMode::Mean),
            "max" => Ok(BagMode::Max),
            other => {
                Err(Error::value("embedding_bag", format!("mode has to be one of sum, mean or max, got {other:?}")))
            }
        }
    }
}

/// `F.embedding_bag(input, weight, offsets, mode, per_sample_weights, include_last_offset,
/// padding_idx)`: `input` 2-D (one bag per row, `offsets` None) or 1-D with `offsets` (bag `b`
/// is `input[offsets[b]..offsets[b+1]]`). Empty bags give zeros; `padding_idx` entries are
/// left out (and not counted by `mean`). Output `[bags, dim]`.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn embedding_bag(
    input: &Tensor,
    weight: &Tensor,
    offsets: Option<&Tensor>,
    mode: BagMode,
    per_sample_weights: Option<&Tensor>,
    include_last_offset: bool,
    padding_idx: Option<usize>,
) -> Result<Tensor> {
    let op = "embedding_bag";
    if weight.dim() != 2 {
        return Err(Error::shape(op, format!("weight must be 2-D, got {:?}", weight.shape())));
    }
    let ids = indices(op, input, weight.shape()[0])?;
    // Bag boundaries: starts[b]..starts[b + 1].
    let starts: Vec<usize> = match (input.dim(), offsets) {
        (2, None) => {
            let (b, l) = (input.shape()[0], input.shape()[1]);
            (0..=b).map(|i| i * l).collect()
        }
        (1, Some(off)) => {
            let mut s: Vec<usize> = Vec::new();
            for &o in &indices(op, off, ids.len() + 1)? {
                s.push(o as usize);
            }
            if s.first().is_some_and(|&f| f != 0) {
                return Err(Error::value(
                    op,
                    "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0",
                ));
            }
            if s.windows(2).any(|w| w[1] < w[0]) {
                return Err(Error::value(op, format!("offsets must be non-decreasing, got {s:?}")));
            }
            if !include_last_offset || s.is_empty() {
                s.push(ids.len());
            }
            s
        }
        (2, Some(_)) => return Err(Error::value(op, "if input is 2-D, then offsets has to be None")),
        _ => {
            return Err(Error::shape(op, format!("input has to be 1-D (with offsets) or 2-D, got {:?}", input.shape())))
        }
    };
    if per_sample_weights.is_some_and(|w| w.shape() != input.shape()) {
        return Err(Error::shape(op, "per_sample_weights must have the shape of input"));
    }
    if per_sample_weights.is_some() && mode != BagMode::Sum {
        return Err(Error::value(
            op,
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for mode='sum'",
        ));
    }
    let bags = starts.len().saturating_sub(1);
    let d = weight.shape()[1];
    let flat = input.reshape(&[-1])?;
    let mut rows = weight.index_select(0, &flat)?; // [T, D]
    if let Some(w) = per_sample_weights {
        rows = rows.mul(&w.reshape(&[-1, 1])?.to_dtype(rows.dtype())?)?;
    }
    // Positions kept (padding left out), and the bag of each.
    // Entries past the last bag's end (include_last_offset with a short last offset) are unused.
    let end = if bags == 0 { 0 } else { starts[bags].min(ids.len()) };
    let keep: Vec<usize> = (0..end).filter(|&t| padding_idx.is_none_or(|p| ids[t] != p as i64)).collect();
    let bag_of = |t: usize| starts.partition_point(|&s| s <= t).saturating_sub(1);
    let mut counts = vec![0usize; bags];
    keep.iter().for_each(|&t| counts[bag_of(t)] += 1);
    let kept = Tensor::from_vec(keep.iter().map(|&t| t as i64).collect::<Vec<_>>(), &[keep.len()])?;
    let rows = rows.index_select(0, &kept)?;
    let out = match mode {
        BagMode::Sum | BagMode::Mean => {
            let bag_idx: Vec<i64> = keep.iter().map(|&t| bag_of(t) as i64).collect();
            let bag_idx = Tensor::from_vec(bag_idx, &[keep.len()])?;
            let sums = Tensor::zeros(&[bags, d], rows.dtype())?.index_add(0, &bag_idx, &rows)?;
            if mode == BagMode::Sum {
                sums
            } else {
                let inv: Vec<f64> = counts.iter().map(|&c| 1.0 / c.max(1) as f64).collect();
                sums.mul(&Tensor::from_vec(inv, &[bags, 1])?.to_dtype(rows.dtype())?)?
            }
        }
        BagMode::Max => {
            let mut out = Vec::with_capacity(bags);
            let mut at = 0;
            for &c in &counts {
                out.push(if c == 0 {
                    Tensor::zeros(&[d], rows.dtype())?
                } else {
                    rows.narrow(0, at, c)?.max_dim(0, false)?.0
                });
                at += c;
            }
            if out.is_empty() {
                Tensor::zeros(&[0, d], rows.dtype())?
            } else {
                Tensor::stack(&out.iter().collect::<Vec<_>>(), 0)?
            }
        }
    };
    Ok(out)
}
