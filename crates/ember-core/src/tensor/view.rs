//! Shape ops. Views (`reshape` when possible, `view`, `permute`, `transpose`, `expand`,
//! `narrow`, `slice`, `select`, `squeeze`, `unsqueeze`, `split`, `chunk`) never copy: they
//! share storage through a new [`Layout`]. `reshape` copies only when no view exists, and
//! `view` errors instead.

use super::{norm_dim, Tensor};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::op::Op;
use crate::shape::ShapeArg;

/// Resolves one `-1` in a requested shape against `numel`.
#[track_caller]
fn infer_shape(shape: &[isize], numel: usize, op: &'static str) -> Result<Vec<usize>> {
    let mut infer = None;
    let mut known = 1usize;
    for (i, &d) in shape.iter().enumerate() {
        if d == -1 {
            if infer.replace(i).is_some() {
                return Err(Error::shape(op, "only one dimension can be inferred"));
            }
        } else if d < 0 {
            return Err(Error::shape(op, format!("invalid shape dimension {d}")));
        } else {
            known = known
                .checked_mul(d as usize)
                .ok_or_else(|| Error::shape(op, format!("shape {shape:?} is too large")))?;
        }
    }
    let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(Error::shape(op, format!("shape {shape:?} is invalid for input of size {numel}")));
        }
        out[i] = numel / known;
    } else if known != numel {
        return Err(Error::shape(op, format!("shape {shape:?} is invalid for input of size {numel}")));
    }
    Ok(out)
}

impl Tensor {
    /// A view with a new layout, recording `op` for autograd.
    fn view_op(&self, layout: Layout, op: impl FnOnce() -> Op) -> Tensor {
        self.with_layout(layout).record(&[self], op)
    }

    /// The same elements with a new shape (one `-1` is inferred); a view when the strides
    /// allow it, a copy otherwise.
    #[track_caller]
    pub fn reshape(&self, shape: impl ShapeArg) -> Result<Tensor> {
        let shape = infer_shape(&shape.to_isize_vec(), self.numel(), "reshape")?;
        crate::storage::checked_numel("reshape", &shape, self.dtype())?;
        self.reshape_to(&shape)
    }

    /// [`Tensor::reshape`] to a fully known shape.
    #[track_caller]
    pub(crate) fn reshape_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        if shape.iter().product::<usize>() != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!("shape {shape:?} is invalid for input of size {}", self.numel()),
            ));
        }
        match self.layout().view(shape) {
            Some(l) => Ok(self.view_op(l, || Op::Reshape)),
            None => self.contiguous()?.reshape_to(shape),
        }
    }

    /// A view with a new shape; an error when the elements are not laid out for it (use
    /// [`Tensor::reshape`] to copy instead).
    #[track_caller]
    pub fn view(&self, shape: impl ShapeArg) -> Result<Tensor> {
        let shape = infer_shape(&shape.to_isize_vec(), self.numel(), "view")?;
        crate::storage::checked_numel("view", &shape, self.dtype())?;
        match self.layout().view(&shape) {
            Some(l) => Ok(self.view_op(l, || Op::Reshape)),
            None => Err(Error::shape(
                "view",
                format!(
                    "view size {shape:?} is not compatible with input tensor's size {:?} and stride {:?} (at least one dimension spans across two contiguous subspaces); use reshape instead",
                    self.shape(),
                    self.strides()
                ),
            )),
        }
    }

    /// A view with explicit sizes, strides (in elements) and storage offset, checked to lie
    /// inside this tensor's storage (`torch.as_strided`). Not differentiable.
    #[track_caller]
    pub fn as_strided(&self, size: &[usize], stride: &[usize], offset: usize) -> Result<Tensor> {
        if size.len() != stride.len() {
            return Err(Error::shape(
                "as_strided",
                format!("size {size:?} and stride {stride:?} have different lengths"),
            ));
        }
        if self.requires_grad() && crate::autograd::is_grad_enabled() {
            return Err(Error::unsupported(
                "as_strided",
                "as_strided is not differentiable; call it on a detached tensor",
            ));
        }
        crate::storage::checked_numel("as_strided", size, self.dtype())?;
        let layout = Layout::new(size.to_vec(), stride.to_vec(), offset);
        let len = self.cpu_read("as_strided")?.len();
        match layout.checked_extent() {
            Some(e) if e <= len => Ok(self.with_layout(layout)),
            _ => Err(Error::index(
                "as_strided",
                format!(
                    "size {size:?}, stride {stride:?} and offset {offset} reach past the storage of {len} elements"
                ),
            )),
        }
    }

    /// Dims `start..=end` merged into one.
    #[track_caller]
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        if self.dim() == 0 {
            return self.reshape_to(&[1]);
        }
        let (s, e) = (self.norm_dim(start, "flatten")?, self.norm_dim(end, "flatten")?);
        if s > e {
            return Err(Error::index("flatten", format!("start_dim {start} cannot come after end_dim {end}")));
        }
        let sh = self.shape();
        let mut shape: Vec<usize> = sh[..s].to_vec();
        shape.push(sh[s..=e].iter().product());
        shape.extend_from_slice(&sh[e + 1..]);
        self.reshape_to(&shape)
    }

    /// Dims reordered: dim `i` of the result is dim `perm[i]` of `self`.
    #[track_caller]
    pub fn permute(&self, perm: impl ShapeArg) -> Result<Tensor> {
        let perm = &perm.to_isize_vec()[..];
        if perm.len() != self.dim() {
            return Err(Error::shape(
                "permute",
                format!("number of dims don't match: permutation {perm:?} for a tensor of shape {:?}", self.shape()),
            ));
        }
        let p: Vec<usize> =
            crate::error::at_caller(perm.iter().map(|&d| self.norm_dim(d, "permute")).collect::<Result<_>>())?;
        let mut seen = vec![false; p.len()];
        for &d in &p {
            if std::mem::replace(&mut seen[d], true) {
                return Err(Error::index("permute", format!("repeated dim in permutation {perm:?}")));
            }
        }
        self.permute_u(&p)
    }

    #[track_caller]
    pub(crate) fn permute_u(&self, perm: &[usize]) -> Result<Tensor> {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(self.clone());
        }
        let p = perm.to_vec();
        Ok(self.view_op(self.layout().permute(perm), || Op::Permute { perm: p }))
    }

    /// Swaps two dims.
    #[track_caller]
    pub fn transpose(&self, d0: isize, d1: isize) -> Result<Tensor> {
        if self.dim() == 0 {
            return Ok(self.clone());
        }
        let (a, b) = (self.norm_dim(d0, "transpose")?, self.norm_dim(d1, "transpose")?);
        let mut perm: Vec<usize> = (0..self.dim()).collect();
        perm.swap(a, b);
        self.permute_u(&perm)
    }

    /// The transpose of a matrix (0-d and 1-d tensors are returned as is, as in PyTorch).
    #[track_caller]
    pub fn t(&self) -> Result<Tensor> {
        match self.dim() {
            0 | 1 => Ok(self.clone()),
            2 => self.transpose(0, 1),
            n => Err(Error::shape("t", format!("t() expects a tensor with <= 2 dimensions, but self is {n}D"))),
        }
    }

    /// Swaps the last two dims (matrix transpose of a batch).
    #[track_caller]
    pub(crate) fn transpose_last(&self) -> Result<Tensor> {
        let n = self.dim();
        let mut perm: Vec<usize> = (0..n).collect();
        perm.swap(n - 2, n - 1);
        self.permute_u(&perm)
    }

    /// A new size-1 dim at `d` (`-1` appends).
    #[track_caller]
    pub fn unsqueeze(&self, d: isize) -> Result<Tensor> {
        let d = norm_dim(d, self.dim() + 1, "unsqueeze")?;
        Ok(self.view_op(self.layout().unsqueeze(d), || Op::Reshape))
    }

    /// All size-1 dims removed.
    #[track_caller]
    pub fn squeeze(&self) -> Result<Tensor> {
        let shape: Vec<usize> = self.shape().iter().copied().filter(|&d| d != 1).collect();
        self.reshape_to(&shape)
    }

    /// Dim `d` removed if it has size 1 (unchanged otherwise, as in PyTorch).
    #[track_caller]
    pub fn squeeze_dim(&self, d: isize) -> Result<Tensor> {
        if self.dim() == 0 {
            return Ok(self.clone());
        }
        let d = self.norm_dim(d, "squeeze_dim")?;
        if self.shape()[d] != 1 {
            return Ok(self.clone());
        }
        Ok(self.view_op(self.layout().squeeze_dim(d), || Op::Reshape))
    }

    /// A broadcast view to `shape`; `-1` keeps a dim's size.
    #[track_caller]
    pub fn expand(&self, shape: impl ShapeArg) -> Result<Tensor> {
        let shape = &shape.to_isize_vec()[..];
        if shape.len() < self.dim() {
            return Err(Error::shape("expand", format!("the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({})", shape.len(), self.dim())));
        }
        let lead = shape.len() - self.dim();
        let mut target = Vec::with_capacity(shape.len());
        for (i, &s) in shape.iter().enumerate() {
            target.push(match s {
                -1 if i >= lead => self.shape()[i - lead],
                s if s >= 0 => s as usize,
                _ => return Err(Error::shape("expand", format!("invalid size {s} at dim {i} in {shape:?}"))),
            });
        }
        self.expand_to(&target)
    }

    /// A broadcast view to `shape` (`broadcast_to`).
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        self.expand_to(shape)
    }

    #[track_caller]
    pub(crate) fn expand_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        // No tensor, view or not, describes more bytes than the machine has: every op can then
        // allocate its output (or a contiguous copy of an input) without aborting.
        crate::storage::checked_numel("expand", shape, self.dtype())?;
        let Some(l) = self.layout().expand(shape) else {
            return Err(Error::shape(
                "expand",
                format!(
                    "the expanded size {shape:?} must match the existing size {:?} at each non-singleton dimension",
                    self.shape()
                ),
            ));
        };
        Ok(self.view_op(l, || Op::Expand))
    }

    /// Sums broadcast dims away so the result has `shape` (the adjoint of `expand_to`).
    #[track_caller]
    pub(crate) fn sum_to_shape(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self.dim() - shape.len();
        let dims: Vec<usize> =
            (0..self.dim()).filter(|&d| d < lead || (shape[d - lead] == 1 && self.shape()[d] != 1)).collect();
        self.sum_dims(&dims, true)?.reshape_to(shape)
    }

    /// `len` elements of `dim` from `start` (a view).
    #[track_caller]
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Tensor> {
        let d = self.norm_dim(dim, "narrow")?;
        if self.dim() == 0 || start.checked_add(len).is_none_or(|e| e > self.shape()[d]) {
            return Err(Error::index(
                "narrow",
                format!(
                    "start ({start}) + length ({len}) exceeds dimension size ({}) of dim {dim} in shape {:?}",
                    self.shape().get(d).unwrap_or(&0),
                    self.shape()
                ),
            ));
        }
        self.slice_u(d, start, len, 1)
    }

    /// Elements `start..end` of `dim` with `step` (Python slicing: negative indices count from
    /// the end; out-of-range bounds are clamped).
    #[track_caller]
    pub fn slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Result<Tensor> {
        let d = self.norm_dim(dim, "slice")?;
        if self.dim() == 0 {
            return Err(Error::index("slice", "cannot slice a 0-d tensor"));
        }
        if step == 0 {
            return Err(Error::value("slice", "slice step must be positive"));
        }
        let n = self.shape()[d] as isize;
        let clamp = |i: isize| if i < 0 { (i + n).max(0) } else { i.min(n) };
        let (s, e) = (clamp(start), clamp(end));
        let len = if e > s { ((e - s) as usize).div_ceil(step) } else { 0 };
        // With at most one element the step is irrelevant (and a huge one would overflow the
        // stride); with more, `step < size` keeps `stride * step` inside the storage.
        self.slice_u(d, s as usize, len, if len > 1 { step } else { 1 })
    }

    #[track_caller]
    pub(crate) fn slice_u(&self, dim: usize, start: usize, len: usize, step: usize) -> Result<Tensor> {
        if start == 0 && step == 1 && len == self.shape()[dim] {
            return Ok(self.clone());
        }
        Ok(self.view_op(self.layout().slice(dim, start, len, step), || Op::Slice { dim, start, step }))
    }

    /// Zeros of `full` with `self` written at `[start::step]` of `dim` (adjoint of a slice).
    #[track_caller]
    pub(crate) fn slice_backward(&self, full: &[usize], dim: usize, start: usize, step: usize) -> Result<Tensor> {
        let mut out = crate::storage::CpuStorage::zeros_pooled(self.dtype(), full.iter().product());
        let region = Layout::contiguous(full).slice(dim, start, self.shape()[dim], step);
        crate::backend::cpu::index::copy_into(&mut out, &region, &*self.cpu_read("slice_backward")?, self.layout());
        let full_v = full.to_vec();
        Ok(Tensor::from_storage(out, full).record(&[self], || Op::SliceBackward { dim, start, step, full: full_v }))
    }

    /// The diagonal of the `dim1` x `dim2` planes, `offset` above (positive) or below the main
    /// one, as a new last dim: a view, as `torch.diagonal` (writing into it writes `self`).
    #[track_caller]
    pub fn diagonal(&self, offset: isize, dim1: isize, dim2: isize) -> Result<Tensor> {
        let (d1, d2) = (self.norm_dim_strict(dim1, "diagonal")?, self.norm_dim_strict(dim2, "diagonal")?);
        if d1 == d2 {
            return Err(Error::index("diagonal", format!("diagonal dimensions cannot be identical {dim1}, {dim2}")));
        }
        let (r, c) = (self.shape()[d1], self.shape()[d2]);
        let (r0, c0) = if offset >= 0 { (0, offset.unsigned_abs()) } else { (offset.unsigned_abs(), 0) };
        let len = r.saturating_sub(r0).min(c.saturating_sub(c0));
        Ok(self.diagonal_u(d1, d2, r0, c0, len))
    }

    /// [`Tensor::diagonal`] from checked dims and a start `(r0, c0)` inside the plane.
    pub(crate) fn diagonal_u(&self, d1: usize, d2: usize, r0: usize, c0: usize, len: usize) -> Tensor {
        self.view_op(self.layout().diagonal(d1, d2, r0, c0, len), || Op::Diagonal { d1, d2, r0, c0 })
    }

    /// Zeros of shape `full` with `self` written on the diagonal that
    /// [`Tensor::diagonal_u`] reads (the gradient of a diagonal).
    pub(crate) fn diagonal_backward(
        &self,
        full: &[usize],
        d1: usize,
        d2: usize,
        r0: usize,
        c0: usize,
    ) -> Result<Tensor> {
        let len = *self.shape().last().unwrap_or(&0);
        let mut out = crate::storage::CpuStorage::zeros_pooled(self.dtype(), full.iter().product());
        let region = Layout::contiguous(full).diagonal(d1, d2, r0, c0, len);
        crate::backend::cpu::index::copy_into(&mut out, &region, &*self.cpu_read("diagonal_backward")?, self.layout());
        let full_v = full.to_vec();
        Ok(Tensor::from_storage(out, full).record(&[self], || Op::DiagonalBackward { d1, d2, r0, c0, full: full_v }))
    }

    /// Every `size`-long window along `dim`, `step` apart, as a new last dim: a view, as
    /// `Tensor.unfold` (`[.., n, ..]` becomes `[.., (n - size) / step + 1, .., size]`).
    #[track_caller]
    pub fn unfold(&self, dim: isize, size: usize, step: usize) -> Result<Tensor> {
        let d = if self.dim() == 0 { self.norm_dim(dim, "unfold")? } else { self.norm_dim_strict(dim, "unfold")? };
        if self.dim() == 0 {
            // A 0-d tensor has one window of one element: the result has shape [1].
            if size > 1 {
                return Err(Error::shape(
                    "unfold",
                    format!("maximum size for tensor at dimension 0 is 1 but size is {size}"),
                ));
            }
            if step == 0 {
                return Err(Error::value("unfold", "step is 0 but must be > 0"));
            }
            return self.reshape_to(&[size]);
        }
        let n = self.shape()[d];
        if size > n {
            return Err(Error::shape(
                "unfold",
                format!("maximum size for tensor at dimension {d} is {n} but size is {size}"),
            ));
        }
        if step == 0 {
            return Err(Error::value("unfold", "step is 0 but must be > 0"));
        }
        let count = (n - size) / step + 1;
        Ok(self.view_op(self.layout().unfold(d, size, step, count), || Op::Unfold { dim: d, size, step }))
    }

    /// The gradient of [`Tensor::unfold`]: zeros of `full` with each window of `self` added
    /// where it was read (an `index_add` of the window positions, so it is differentiable).
    pub(crate) fn unfold_backward(&self, full: &[usize], dim: usize, size: usize, step: usize) -> Result<Tensor> {
        let count = self.shape()[dim];
        // [.., count, .., size] -> [.., count * size, ..]: window i's element j sits at i*step+j.
        let g = self.movedim(&[-1], &[dim as isize + 1])?;
        let mut merged = full.to_vec();
        merged[dim] = count * size;
        let g = g.reshape_to(&merged)?;
        let pos: Vec<i64> = (0..count).flat_map(|i| (0..size).map(move |j| (i * step + j) as i64)).collect();
        let index = Tensor::from_vec(pos, &[count * size])?;
        Tensor::zeros(full, self.dtype())?.index_add_u(dim, &index, &g)
    }

    /// The slice at `index` of `dim`, with that dim removed (negative indices count back).
    #[track_caller]
    pub fn select(&self, dim: isize, index: isize) -> Result<Tensor> {
        let d = self.norm_dim(dim, "select")?;
        let n = *self.shape().get(d).unwrap_or(&0) as isize;
        let i = if index < 0 { index + n } else { index };
        if self.dim() == 0 || i < 0 || i >= n {
            return Err(Error::index(
                "select",
                format!("index {index} is out of bounds for dimension {dim} with size {n}"),
            ));
        }
        let s = self.slice_u(d, i as usize, 1, 1)?;
        Ok(s.view_op(s.layout().squeeze_dim(d), || Op::Reshape))
    }

    /// Consecutive views of `size` elements along `dim` (the last may be shorter).
    #[track_caller]
    pub fn split(&self, size: usize, dim: isize) -> Result<Vec<Tensor>> {
        let d = self.norm_dim_strict(dim, "split")?;
        if size == 0 {
            return Err(Error::value("split", "split size must be positive"));
        }
        let n = self.shape()[d];
        (0..n.div_ceil(size).max(1)).map(|i| self.slice_u(d, i * size, size.min(n - (i * size).min(n)), 1)).collect()
    }

    /// `n` nearly equal views along `dim` (fewer when the dim is short, as in PyTorch).
    #[track_caller]
    pub fn chunk(&self, n: usize, dim: isize) -> Result<Vec<Tensor>> {
        if n == 0 {
            return Err(Error::value("chunk", "chunk expects `chunks` to be greater than 0"));
        }
        let d = self.norm_dim_strict(dim, "chunk")?;
        self.split(self.shape()[d].div_ceil(n).max(1), dim)
    }

    /// The tensor tiled `reps[i]` times along each dim (a copy; `reps` may add leading dims).
    #[track_caller]
    pub fn repeat(&self, reps: &[usize]) -> Result<Tensor> {
        if reps.len() < self.dim() {
            return Err(Error::shape(
                "repeat",
                format!(
                    "number of repeat dims ({}) can not be smaller than number of tensor dims ({})",
                    reps.len(),
                    self.dim()
                ),
            ));
        }
        let mut padded = vec![1; reps.len() - self.dim()];
        padded.extend_from_slice(self.shape());
        let inter: Vec<usize> = padded.iter().flat_map(|&s| [1, s]).collect();
        let expanded: Vec<usize> = padded.iter().zip(reps).flat_map(|(&s, &r)| [r, s]).collect();
        let out: Vec<usize> = padded.iter().zip(reps).map(|(&s, &r)| s.saturating_mul(r)).collect();
        crate::storage::checked_numel("repeat", &out, self.dtype())?;
        self.reshape_to(&inter)?.expand_to(&expanded)?.contiguous()?.reshape_to(&out)
    }

    /// Keep elements on and below the `k`-th diagonal of the last two dims; zero the rest.
    #[track_caller]
    pub fn tril(&self, k: isize) -> Result<Tensor> {
        self.triangle(k, true)
    }

    /// Keep elements on and above the `k`-th diagonal of the last two dims; zero the rest.
    #[track_caller]
    pub fn triu(&self, k: isize) -> Result<Tensor> {
        self.triangle(k, false)
    }

    #[track_caller]
    fn triangle(&self, k: isize, lower: bool) -> Result<Tensor> {
        let n = self.dim();
        if n < 2 {
            return Err(Error::shape(
                if lower { "tril" } else { "triu" },
                format!("input tensor must have at least 2 dimensions, got shape {:?}", self.shape()),
            ));
        }
        let (r, c) = (self.shape()[n - 2], self.shape()[n - 1]);
        let mask: Vec<bool> = (0..r * c)
            .map(|i| {
                let diff = (i % c) as isize - (i / c) as isize;
                if lower {
                    diff <= k
                } else {
                    diff >= k
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, &[r, c])?;
        Tensor::where_cond(&mask, self, &Tensor::zeros(&[], self.dtype())?)
    }
}
