//! A key/value cache per layer, preallocated for the whole generation: decoding writes each new
//! token's keys and values in place (no per-token reallocation) and attention reads a view of
//! the filled prefix (no copy).

use ember_core::{no_grad, DType, Error, Result, Tensor};

/// Keys and values for every layer: `[B, H, max_len, head_dim]` each.
#[derive(Debug)]
pub struct KvCache {
    keys: Vec<Tensor>,
    values: Vec<Tensor>,
    len: usize,
    max_len: usize,
}

impl KvCache {
    /// A cache for `layers` layers of `[batch, heads, max_len, head_dim]`.
    pub fn new(
        layers: usize,
        batch: usize,
        heads: usize,
        max_len: usize,
        head_dim: usize,
        dtype: DType,
    ) -> Result<KvCache> {
        let mk = || Tensor::zeros(&[batch, heads, max_len, head_dim], dtype);
        Ok(KvCache {
            keys: (0..layers).map(|_| mk()).collect::<Result<_>>()?,
            values: (0..layers).map(|_| mk()).collect::<Result<_>>()?,
            len: 0,
            max_len,
        })
    }

    /// Positions filled so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Capacity in positions.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Writes `k`, `v` (`[B, H, T, hd]`) of `layer` at the current position and returns views
    /// of all cached keys and values including them (`[B, H, len + T, hd]`). Call
    /// [`KvCache::advance`] once all layers have appended.
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let t = k.shape()[2];
        if self.len + t > self.max_len {
            return Err(Error::value(
                "KvCache",
                format!("cache of {} positions is full ({} + {t})", self.max_len, self.len),
            ));
        }
        no_grad(|| -> Result<()> {
            self.keys[layer].narrow(2, self.len, t)?.copy_(k)?;
            self.values[layer].narrow(2, self.len, t)?.copy_(v)
        })?;
        Ok((self.keys[layer].narrow(2, 0, self.len + t)?, self.values[layer].narrow(2, 0, self.len + t)?))
    }

    /// Moves the position forward by `t` after a forward pass.
    pub fn advance(&mut self, t: usize) {
        self.len += t;
    }

    /// Forgets everything (keeps the buffers).
    pub fn reset(&mut self) {
        self.len = 0;
    }
}
