//! Low-precision packed weights for inference: bf16, int8 with one scale per output row, or
//! one of llama.cpp's block formats (GGUF's Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K), multiplied
//! with f32 activations by `ember-kernels`' low-precision GEMMs. No autograd: train with
//! ordinary tensors and `matmul`.
//!
//! Block-format bytes are held as [`Bytes`], a shared view into any owner (a `Vec`, or a
//! memory-mapped file), so a model loaded from a GGUF file can point into the file's pages
//! instead of copying them.

use crate::autograd::is_grad_enabled;
use crate::error::{Error, Result};
use crate::{bf16, DType, Element, Tensor};
use ember_kernels::blockq;
pub use ember_kernels::blockq::BlockFormat;
use ember_kernels::blockq_panel::{self, PANEL_ROWS};
use ember_kernels::int8_panel;
use ember_kernels::quant::{matmul_lowp, quantize_rows_i8, Weights};
use std::sync::Arc;

/// Shared, immutable bytes: a range of an owner that lives as long as any view of it (a
/// `Vec<u8>`, a memory map, ...). Cloning is cheap.
#[derive(Clone)]
pub struct Bytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    start: usize,
    len: usize,
}

impl Bytes {
    /// Bytes `start..start + len` of `owner`; `None` when the range lies outside it.
    pub fn view(owner: Arc<dyn AsRef<[u8]> + Send + Sync>, start: usize, len: usize) -> Option<Bytes> {
        let end = start.checked_add(len)?;
        ((*owner).as_ref().len() >= end).then_some(Bytes { owner, start, len })
    }

    /// Bytes `start..start + len` of this view; `None` outside it.
    pub fn slice(&self, start: usize, len: usize) -> Option<Bytes> {
        (start.checked_add(len)? <= self.len).then(|| Bytes {
            owner: self.owner.clone(),
            start: self.start + start,
            len,
        })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.start..self.start + self.len]
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        let len = v.len();
        Bytes { owner: Arc::new(v), start: 0, len }
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len)
    }
}

#[derive(Clone, Debug)]
enum Packed {
    Bf16(Arc<Vec<bf16>>),
    Int8(Arc<Vec<i8>>, Arc<Vec<f32>>),
    /// int8 rows with per-row scales, stored as Q8_0 blocks of unit scale (f16 1.0, exact) in
    /// panels, the row scales and the rows' code sums: `ember_kernels::int8_panel` multiplies
    /// them by activations quantised per row, in integers over all of K.
    Int8Panels(Bytes, Arc<Vec<f32>>, Arc<Vec<i32>>),
    Blocks(BlockFormat, Bytes),
    /// Q4_0/Q5_0/Q8_0 blocks repacked in panels of 16 rows (`ember_kernels::blockq_panel`).
    Panels(BlockFormat, Bytes),
}

impl Packed {
    /// `n` rows of `k` in row-major blocks, as panels where the format has them.
    fn blocks_or_panels(format: BlockFormat, n: usize, k: usize, bytes: Bytes) -> Packed {
        if std::env::var("EMBER_REPACK").is_ok_and(|v| v == "0") {
            return Packed::Blocks(format, bytes);
        }
        match blockq_panel::repack(format, bytes.as_slice(), n, k) {
            Some(p) => Packed::Panels(format, p.into()),
            None => Packed::Blocks(format, bytes),
        }
    }
}

/// A weight matrix `[N, K]` stored in low precision for `x W^T` products.
#[derive(Clone, Debug)]
pub struct PackedWeight {
    n: usize,
    k: usize,
    data: Packed,
}

#[track_caller]
fn matrix_f32(w: &Tensor, op: &'static str) -> Result<(usize, usize, Vec<f32>)> {
    if w.dim() != 2 {
        return Err(Error::shape(op, format!("expected a 2-D weight [out, in], got {:?}", w.shape())));
    }
    Ok((w.shape()[0], w.shape()[1], w.detach().to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()?))
}

impl PackedWeight {
    /// bf16 storage (half the bytes of f32).
    #[track_caller]
    pub fn bf16(w: &Tensor) -> Result<PackedWeight> {
        let (n, k, v) = matrix_f32(w, "PackedWeight::bf16")?;
        Ok(PackedWeight { n, k, data: Packed::Bf16(Arc::new(v.into_iter().map(bf16::from_f32).collect())) })
    }

    /// int8 with per-output-row scales (a quarter of the bytes of f32, plus 1/16 when rows
    /// split into blocks of 32: those are held as Q8_0 blocks of unit scale in panels, and
    /// their products run in integers over all of K with activations quantised per row, as
    /// ONNX Runtime's and PyTorch's dynamic int8 GEMMs do).
    #[track_caller]
    pub fn int8(w: &Tensor) -> Result<PackedWeight> {
        let (n, k, v) = matrix_f32(w, "PackedWeight::int8")?;
        let (q, s) = quantize_rows_i8(&v, n, k);
        if k.is_multiple_of(32) && !std::env::var("EMBER_REPACK").is_ok_and(|v| v == "0") {
            let one = half::f16::ONE.to_bits().to_le_bytes();
            let blocks: Vec<u8> =
                q.chunks_exact(32).flat_map(|c| one.into_iter().chain(c.iter().map(|&b| b as u8))).collect();
            if let Some(p) = blockq_panel::repack(BlockFormat::Q8_0, &blocks, n, k) {
                let sums = int8_panel::row_sums(&p, k);
                return Ok(PackedWeight { n, k, data: Packed::Int8Panels(p.into(), Arc::new(s), Arc::new(sums)) });
            }
        }
        Ok(PackedWeight { n, k, data: Packed::Int8(Arc::new(q), Arc::new(s)) })
    }

    /// `w` quantised to one of llama.cpp's block formats that Ember writes (Q8_0, Q4_0, Q4_K);
    /// its rows must hold whole blocks (32 values, 256 for Q4_K).
    #[track_caller]
    pub fn blocks(format: BlockFormat, w: &Tensor) -> Result<PackedWeight> {
        let (n, k, v) = matrix_f32(w, "PackedWeight::blocks")?;
        if !k.is_multiple_of(format.block_len()) {
            return Err(Error::shape(
                "PackedWeight::blocks",
                format!("rows of {k} values do not split into {} blocks of {}", format.name(), format.block_len()),
            ));
        }
        let bytes = blockq::quantize(format, &v).ok_or_else(|| {
            Error::unsupported(
                "PackedWeight::blocks",
                format!("Ember quantises to Q8_0, Q4_0 and Q4_K, not {}", format.name()),
            )
        })?;
        Ok(PackedWeight { n, k, data: Packed::blocks_or_panels(format, n, k, bytes.into()) })
    }

    /// Blocks as a GGUF file stores them (`[N, K]` row by row): kept as they are (no copy),
    /// except Q4_0 and Q8_0, which are repacked in panels of 16 rows (a copy, as llama.cpp
    /// makes one: their decode product is several times faster so; `EMBER_REPACK=0` keeps
    /// the file's bytes).
    #[track_caller]
    pub fn from_blocks(format: BlockFormat, n: usize, k: usize, bytes: Bytes) -> Result<PackedWeight> {
        let want = format.bytes_for(k).and_then(|r| r.checked_mul(n));
        if !k.is_multiple_of(format.block_len()) || want != Some(bytes.len()) {
            return Err(Error::shape(
                "PackedWeight::from_blocks",
                format!("{} bytes are not the {} blocks of a [{n}, {k}] matrix", bytes.len(), format.name()),
            ));
        }
        Ok(PackedWeight { n, k, data: Packed::blocks_or_panels(format, n, k, bytes) })
    }

    /// Whether the blocks were repacked in panels (a copy: no longer a view of the bytes given
    /// to [`PackedWeight::from_blocks`]).
    pub fn is_repacked(&self) -> bool {
        matches!(self.data, Packed::Panels(..) | Packed::Int8Panels(..))
    }

    /// The block format, for block-quantised weights.
    pub fn block_format(&self) -> Option<BlockFormat> {
        match &self.data {
            Packed::Blocks(f, _) | Packed::Panels(f, _) => Some(*f),
            _ => None,
        }
    }

    /// Rows `ids` as f32 `[ids.len(), K]` (an embedding lookup without dequantising the
    /// whole table).
    pub fn rows(&self, ids: &[usize]) -> Result<Tensor> {
        let k = self.k;
        let mut out = vec![0.0f32; ids.len() * k];
        for (o, &r) in out.chunks_exact_mut(k.max(1)).zip(ids) {
            if r >= self.n {
                return Err(Error::index("PackedWeight::rows", format!("row {r} of a [{}, {k}] weight", self.n)));
            }
            match &self.data {
                Packed::Bf16(w) => o.iter_mut().zip(&w[r * k..(r + 1) * k]).for_each(|(o, b)| *o = b.to_f32()),
                Packed::Int8(w, s) => o.iter_mut().zip(&w[r * k..(r + 1) * k]).for_each(|(o, &q)| *o = q as f32 * s[r]),
                Packed::Blocks(f, b) => {
                    let row = k / f.block_len() * f.block_bytes();
                    blockq::dequantize_into(*f, &b.as_slice()[r * row..(r + 1) * row], o);
                }
                Packed::Panels(f, b) => self.panel_row(*f, b, r, o),
                Packed::Int8Panels(b, s, _) => {
                    self.panel_row(BlockFormat::Q8_0, b, r, o);
                    o.iter_mut().for_each(|v| *v *= s[r]);
                }
            }
        }
        Tensor::from_vec(out, &[ids.len(), k])
    }

    /// Row `r` of panels `b` (or of their row-major tail) as f32.
    fn panel_row(&self, f: BlockFormat, b: &Bytes, r: usize, o: &mut [f32]) {
        let row = self.k / f.block_len() * f.block_bytes();
        let p = r / PANEL_ROWS * PANEL_ROWS;
        match p + PANEL_ROWS <= self.n {
            true => blockq_panel::dequantize_row(f, &b.as_slice()[p * row..(p + PANEL_ROWS) * row], r - p, o),
            false => blockq::dequantize_into(f, &b.as_slice()[r * row..(r + 1) * row], o),
        }
    }

    /// `[N, K]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.n, self.k]
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        match &self.data {
            Packed::Bf16(w) => w.len() * 2,
            Packed::Int8(w, s) => w.len() + s.len() * 4,
            Packed::Int8Panels(b, s, sums) => b.len() + s.len() * 4 + sums.len() * 4,
            Packed::Blocks(_, b) | Packed::Panels(_, b) => b.len(),
        }
    }

    /// The weights as f32 `[N, K]` (dequantised).
    pub fn to_tensor(&self) -> Result<Tensor> {
        self.rows(&(0..self.n).collect::<Vec<_>>())
    }

    /// `x W[rows]^T` for `x [..., K]` (f32): output `[..., len]` for rows `start..start + len`
    /// of the weight (`None`: all rows).
    #[track_caller]
    pub fn matmul_t(&self, x: &Tensor, rows: Option<(usize, usize)>) -> Result<Tensor> {
        let (start, len) = rows.unwrap_or((0, self.n));
        if start + len > self.n {
            return Err(Error::index(
                "PackedWeight::matmul_t",
                format!("rows {start}..{} of a [{}, {}] weight", start + len, self.n, self.k),
            ));
        }
        if x.dim() == 0 || x.shape()[x.dim() - 1] != self.k {
            return Err(Error::shape(
                "PackedWeight::matmul_t",
                format!("input {:?} does not end in {} (weight [{}, {}])", x.shape(), self.k, self.n, self.k),
            ));
        }
        if x.requires_grad() && is_grad_enabled() {
            return Err(Error::unsupported(
                "PackedWeight::matmul_t",
                "packed low-precision weights are inference-only (no gradients)",
            ));
        }
        let m = x.numel() / self.k;
        let x = x.to_dtype(DType::F32)?;
        let storage = x.cpu_read("PackedWeight::matmul_t")?;
        let Some(xv) = f32::slice(&storage) else { unreachable!("converted to f32 above") };
        // Borrowed when x is contiguous (a prompt's activations: no copy).
        let xs = crate::backend::cpu::contiguous_slice(xv, x.layout());
        let k = self.k;
        // Panels are whole: a range that starts or ends inside one multiplies the panels it
        // lies in (rows lo..hi) and keeps the rows asked for.
        let (lo, hi) = match &self.data {
            Packed::Panels(..) | Packed::Int8Panels(..) => {
                (start / PANEL_ROWS * PANEL_ROWS, (start + len).next_multiple_of(PANEL_ROWS).min(self.n))
            }
            _ => (start, start + len),
        };
        let w = match &self.data {
            Packed::Bf16(w) => Weights::Bf16(&w[lo * k..hi * k]),
            Packed::Int8(w, s) => Weights::Int8(&w[lo * k..hi * k], &s[lo..hi]),
            Packed::Int8Panels(b, s, sums) => {
                Weights::Int8Panels(&b.as_slice()[lo * (k / 32 * 34)..hi * (k / 32 * 34)], &s[lo..hi], &sums[lo..hi])
            }
            Packed::Blocks(f, b) | Packed::Panels(f, b) => {
                let row = k / f.block_len() * f.block_bytes();
                let bytes = &b.as_slice()[lo * row..hi * row];
                match &self.data {
                    Packed::Panels(..) => Weights::Panels(*f, bytes),
                    _ => Weights::Blocks(*f, bytes),
                }
            }
        };
        // Every element is written by the product, so a reused buffer (no page faults of a
        // fresh allocation per call) needs no zeroing.
        let mut out = crate::storage::pool::take::<f32>(m * (hi - lo));
        matmul_lowp(&xs, m, k, w, hi - lo, &mut out);
        if (lo, hi) != (start, start + len) {
            out = out.chunks_exact(hi - lo).flat_map(|r| &r[start - lo..start - lo + len]).copied().collect();
        }
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("x.dim() > 0 checked above") = len;
        Tensor::from_vec(out, &shape)
    }
}
