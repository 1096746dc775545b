//! Variable-length sequences for the recurrent layers (`torch.nn.utils.rnn`): `PackedSequence`,
//! `pack_padded_sequence`, `pad_packed_sequence`, `pad_sequence`, `pack_sequence`.
//!
//! A packed sequence stores the steps of a batch sorted by decreasing length, time-major:
//! `data [sum(lengths), *]` holds step 0 of every sequence, then step 1 of those still running,
//! and so on; `batch_sizes[t]` says how many run at step `t`. Packing and padding are index
//! selections, so gradients flow through them.

use ember_core::{Error, Result, Tensor};

/// A batch of variable-length sequences, packed (PyTorch's `PackedSequence`).
#[derive(Debug, Clone)]
pub struct PackedSequence {
    /// `[sum(lengths), *]`, time-major, longest sequences first within each step.
    pub data: Tensor,
    /// How many sequences are still running at each step (non-increasing).
    pub batch_sizes: Vec<usize>,
    /// `sorted_indices[k]`: the caller's batch index of the `k`-th longest sequence (`None`
    /// when the input was already sorted).
    pub sorted_indices: Option<Vec<usize>>,
    /// The inverse permutation of `sorted_indices`.
    pub unsorted_indices: Option<Vec<usize>>,
}

fn index(v: impl IntoIterator<Item = usize>) -> Result<Tensor> {
    let v: Vec<i64> = v.into_iter().map(|i| i as i64).collect();
    let n = v.len();
    Tensor::from_vec(v, &[n])
}

fn batch_sizes_of(sorted_lengths: &[usize]) -> Vec<usize> {
    let max = sorted_lengths.first().copied().unwrap_or(0);
    (0..max).map(|t| sorted_lengths.iter().filter(|&&l| l > t).count()).collect()
}

impl PackedSequence {
    /// The same packing (batch sizes and permutation) around new data.
    pub fn with_data(&self, data: Tensor) -> PackedSequence {
        PackedSequence { data, ..self.clone() }
    }

    /// The number of sequences.
    pub fn batch(&self) -> usize {
        self.batch_sizes.first().copied().unwrap_or(0)
    }

    /// Each sequence's length, in sorted order.
    fn sorted_lengths(&self) -> Vec<usize> {
        (0..self.batch()).map(|b| self.batch_sizes.iter().filter(|&&s| s > b).count()).collect()
    }

    /// The padded tensor `[T, N, *]` in sorted batch order (the layers' working form).
    #[track_caller]
    pub fn padded_sorted(&self, padding_value: f64) -> Result<Tensor> {
        let (steps, n) = (self.batch_sizes.len(), self.batch());
        let total: usize = self.batch_sizes.iter().sum();
        if self.data.dim() == 0 || self.data.shape()[0] != total {
            return Err(Error::shape(
                "pad_packed_sequence",
                format!("data {:?} does not hold sum(batch_sizes) = {total} rows", self.data.shape()),
            ));
        }
        let rest = &self.data.shape()[1..];
        let pad = Tensor::full(&[&[1], rest].concat(), padding_value, self.data.dtype())?;
        let rows = Tensor::cat(&[&self.data, &pad], 0)?;
        let mut idx = Vec::with_capacity(steps * n);
        let mut off = 0;
        for &bs in &self.batch_sizes {
            idx.extend((0..n).map(|b| if b < bs { off + b } else { total }));
            off += bs;
        }
        rows.index_select(0, &index(idx)?)?.reshape(&[&[steps, n], rest].concat()[..])
    }

    /// Packs a padded `[T, N, *]` tensor in sorted order with this sequence's batch sizes.
    pub(crate) fn pack_sorted(&self, padded: &Tensor) -> Result<Tensor> {
        let (steps, n) = (padded.shape()[0], padded.shape()[1]);
        let rest = padded.shape()[2..].to_vec();
        let flat = padded.reshape(&[&[steps * n], &rest[..]].concat()[..])?;
        let idx = self.batch_sizes.iter().enumerate().flat_map(|(t, &bs)| (0..bs).map(move |b| t * n + b));
        flat.index_select(0, &index(idx)?)
    }

    /// States `[L, N, *]` in the caller's order -> sorted order.
    pub(crate) fn sort_states(&self, s: &Tensor) -> Result<Tensor> {
        match &self.sorted_indices {
            Some(ix) => s.index_select(1, &index(ix.iter().copied())?),
            None => Ok(s.clone()),
        }
    }

    /// States in sorted order -> the caller's order.
    pub(crate) fn unsort_states(&self, s: &Tensor) -> Result<Tensor> {
        match &self.unsorted_indices {
            Some(ix) => s.index_select(1, &index(ix.iter().copied())?),
            None => Ok(s.clone()),
        }
    }
}

/// Packs a padded batch `[T, B, *]` (or `[B, T, *]` with `batch_first`) of sequences with the
/// given lengths. With `enforce_sorted`, lengths must be non-increasing; otherwise they are
/// sorted here and the permutation is kept.
#[track_caller]
pub fn pack_padded_sequence(
    input: &Tensor,
    lengths: &[usize],
    batch_first: bool,
    enforce_sorted: bool,
) -> Result<PackedSequence> {
    let op = "pack_padded_sequence";
    if input.dim() < 2 {
        return Err(Error::shape(op, format!("expected input of at least 2 dims, got {:?}", input.shape())));
    }
    let x = if batch_first { input.transpose(0, 1)? } else { input.clone() };
    let (steps, b) = (x.shape()[0], x.shape()[1]);
    if lengths.len() != b {
        return Err(Error::shape(
            op,
            format!("Expected `len(lengths)` to be equal to batch_size, but got {} (batch_size={b})", lengths.len()),
        ));
    }
    if lengths.contains(&0) {
        return Err(Error::value(
            op,
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0",
        ));
    }
    if let Some(&l) = lengths.iter().find(|&&l| l > steps) {
        return Err(Error::value(op, format!("a length ({l}) exceeds the padded sequence length ({steps})")));
    }
    let (sorted, unsorted) = if enforce_sorted {
        if lengths.windows(2).any(|w| w[1] > w[0]) {
            return Err(Error::value(
                op,
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass \
                 `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement \
                 if you do not need ONNX exportability.",
            ));
        }
        (None, None)
    } else {
        let mut order: Vec<usize> = (0..b).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        let mut inverse = vec![0; b];
        for (k, &i) in order.iter().enumerate() {
            inverse[i] = k;
        }
        (Some(order), Some(inverse))
    };
    let sorted_lengths: Vec<usize> = match &sorted {
        Some(o) => o.iter().map(|&i| lengths[i]).collect(),
        None => lengths.to_vec(),
    };
    let seq = PackedSequence {
        data: x.clone(),
        batch_sizes: batch_sizes_of(&sorted_lengths),
        sorted_indices: sorted,
        unsorted_indices: unsorted,
    };
    let x = seq.sort_states(&x)?;
    let data = seq.pack_sorted(&x)?;
    Ok(seq.with_data(data))
}

/// Unpacks to a padded `[T, B, *]` (or `[B, T, *]`) tensor in the caller's batch order and
/// the lengths; `total_length` pads to that many steps.
#[track_caller]
pub fn pad_packed_sequence(
    seq: &PackedSequence,
    batch_first: bool,
    padding_value: f64,
    total_length: Option<usize>,
) -> Result<(Tensor, Vec<usize>)> {
    let mut padded = seq.padded_sorted(padding_value)?;
    let steps = seq.batch_sizes.len();
    if let Some(total) = total_length {
        if total < steps {
            return Err(Error::value(
                "pad_packed_sequence",
                format!(
                    "Expected total_length to be at least the length of the longest sequence in input, but got \
                     total_length={total} and max sequence length being {steps}"
                ),
            ));
        }
        if total > steps {
            let mut shape = padded.shape().to_vec();
            shape[0] = total - steps;
            let extra = Tensor::full(&shape, padding_value, padded.dtype())?;
            padded = Tensor::cat(&[&padded, &extra], 0)?;
        }
    }
    let padded = seq.unsort_states(&padded)?;
    let sorted_lengths = seq.sorted_lengths();
    let lengths = match &seq.unsorted_indices {
        Some(u) => u.iter().map(|&k| sorted_lengths[k]).collect(),
        None => sorted_lengths,
    };
    Ok((if batch_first { padded.transpose(0, 1)? } else { padded }, lengths))
}

/// Stacks sequences `[L_i, *]` into `[max L, B, *]` (or `[B, max L, *]`), padding the ends.
#[track_caller]
pub fn pad_sequence(sequences: &[Tensor], batch_first: bool, padding_value: f64) -> Result<Tensor> {
    let first = sequences.first().ok_or_else(|| Error::value("pad_sequence", "received an empty list of sequences"))?;
    if first.dim() == 0 {
        return Err(Error::shape("pad_sequence", "sequences must have at least one dim"));
    }
    let rest = &first.shape()[1..];
    let max = sequences.iter().map(|s| s.shape().first().copied().unwrap_or(0)).max().unwrap_or(0);
    let mut padded = Vec::with_capacity(sequences.len());
    for s in sequences {
        if s.dim() == 0 || &s.shape()[1..] != rest {
            return Err(Error::shape(
                "pad_sequence",
                format!("sequences must share their trailing dims: {:?} vs {:?}", s.shape(), first.shape()),
            ));
        }
        let len = s.shape()[0];
        padded.push(if len < max {
            let pad = Tensor::full(&[&[max - len], rest].concat(), padding_value, s.dtype())?;
            Tensor::cat(&[s, &pad], 0)?
        } else {
            s.clone()
        });
    }
    Tensor::stack(&padded.iter().collect::<Vec<_>>(), if batch_first { 0 } else { 1 })
}

/// Packs a list of sequences `[L_i, *]` (`pack_sequence`).
#[track_caller]
pub fn pack_sequence(sequences: &[Tensor], enforce_sorted: bool) -> Result<PackedSequence> {
    let lengths: Vec<usize> = sequences.iter().map(|s| s.shape().first().copied().unwrap_or(0)).collect();
    pack_padded_sequence(&pad_sequence(sequences, false, 0.0)?, &lengths, false, enforce_sorted)
}
