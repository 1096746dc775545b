//! Sorting and selection with PyTorch's names and semantics: `sort`, `argsort`, `msort`,
//! `topk`, `kthvalue`, `median`, `nanmedian`, `mode`, `cummax`/`cummin`, `unique`,
//! `unique_consecutive`, `searchsorted`, `bucketize`, `take`, `take_along_dim`,
//! `count_nonzero`.
//!
//! The kernels (`backend::cpu::sort`) find positions; values are then `gather`ed from the input,
//! so every value output is differentiable through `Gather`'s backward (the gradient goes to
//! the chosen elements, as PyTorch's `sort`/`topk`/`kthvalue`/... backward does). Indices are
//! int64 and carry no gradient. NaN sorts after every number (before them when descending).

use super::Tensor;
use crate::backend::cpu::sort::{self as cpu, Keys};
use crate::dtype::DType;
use crate::error::{at_caller, Error, Result};

/// Runs a generic row kernel on whichever key width the dtype has.
macro_rules! with_keys {
    ($keys:expr, $k:ident, $nan:ident => $e:expr) => {
        match $keys {
            Keys::K32($k, $nan) => $e,
            Keys::K64($k, $nan) => $e,
        }
    };
}

/// A tensor viewed with `dim` moved last (a view, no copy), its keys in row-major order, and
/// the row length. A 0-d tensor is one row of one element.
#[track_caller]
fn rows(t: &Tensor, dim: isize, op: &'static str) -> Result<(Tensor, Keys, usize, usize)> {
    let d = t.norm_dim(dim, op)?;
    let x = if t.dim() == 0 { t.detach().reshape_to(&[1])? } else { t.detach() };
    let last = x.dim() - 1;
    let moved = at_caller(x.transpose(d as isize, last as isize))?;
    let r = moved.shape()[last];
    if r > u32::MAX as usize {
        return Err(Error::unsupported(op, format!("rows of {r} elements (at most 2^32 - 1)")));
    }
    let keys = cpu::keys(&*moved.cpu_read(op)?, moved.layout());
    Ok((moved, keys, r, d))
}

impl Tensor {
    /// Positions (from a kernel, row-major in `moved`'s shape with the last dim `w` long) as an
    /// int64 tensor laid out like `self` with `dim` of length `w`; `keepdim == false` drops
    /// `dim` (for `w == 1` selections). 0-d inputs give 0-d results.
    #[track_caller]
    fn positions(&self, moved: &Tensor, pos: Vec<i64>, w: usize, d: usize, keepdim: bool) -> Result<Tensor> {
        let mut shape = moved.shape().to_vec();
        let last = shape.len() - 1;
        shape[last] = w;
        let idx = at_caller(Tensor::from_vec(pos, &shape)?.transpose(d as isize, last as isize)?.contiguous())?;
        if self.dim() == 0 {
            idx.reshape_to(&[])
        } else if keepdim {
            Ok(idx)
        } else {
            idx.squeeze_dim(d as isize)
        }
    }

    /// The values of `self` at `indices` along `d` (differentiable), shaped like `indices`.
    #[track_caller]
    fn take_positions(&self, d: usize, indices: &Tensor) -> Result<Tensor> {
        if self.dim() == 0 {
            return at_caller(self.reshape_to(&[1])?.gather_u(0, &indices.reshape_to(&[1])?)?.reshape_to(&[]));
        }
        if indices.dim() < self.dim() {
            let ix = indices.unsqueeze(d as isize)?;
            return at_caller(self.gather_u(d, &ix)?.squeeze_dim(d as isize));
        }
        self.gather_u(d, indices)
    }

    /// Sorted values along `dim` and the positions they came from (`torch.sort`). The sort is
    /// always stable (equal values keep their order), which satisfies `stable=False` too.
    #[track_caller]
    pub fn sort(&self, dim: isize, descending: bool) -> Result<(Tensor, Tensor)> {
        let (moved, keys, r, d) = rows(self, dim, "sort")?;
        let pos = with_keys!(keys, k, _nan => cpu::argsort(&k, r, descending));
        let indices = self.positions(&moved, pos, r, d, true)?;
        Ok((self.take_positions(d, &indices)?, indices))
    }

    /// The positions that sort `dim` (`torch.argsort`; stable).
    #[track_caller]
    pub fn argsort(&self, dim: isize, descending: bool) -> Result<Tensor> {
        let (moved, keys, r, d) = rows(self, dim, "argsort")?;
        let pos = with_keys!(keys, k, _nan => cpu::argsort(&k, r, descending));
        self.positions(&moved, pos, r, d, true)
    }

    /// Sorted along dim 0 (`torch.msort`).
    #[track_caller]
    pub fn msort(&self) -> Result<Tensor> {
        Ok(self.sort(0, false)?.0)
    }

    /// The `k` largest (or smallest) values along `dim` and their positions, in sorted order
    /// (`torch.topk`; `sorted=False` may return any order, this returns them sorted).
    #[track_caller]
    pub fn topk(&self, k: usize, dim: isize, largest: bool) -> Result<(Tensor, Tensor)> {
        let (moved, keys, r, d) = rows(self, dim, "topk")?;
        if k > r {
            return Err(Error::shape(
                "topk",
                format!("selected index k out of range: k = {k} but the dimension has {r} elements"),
            ));
        }
        let pos = with_keys!(keys, kk, _nan => cpu::topk(&kk, r, k, largest));
        let indices = self.positions(&moved, pos, k, d, true)?;
        Ok((self.take_positions(d, &indices)?, indices))
    }

    /// The `k`-th smallest value along `dim` (1-based, as PyTorch) and its position
    /// (`torch.kthvalue`).
    #[track_caller]
    pub fn kthvalue(&self, k: usize, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        let (moved, keys, r, d) = rows(self, dim, "kthvalue")?;
        if k == 0 || k > r {
            return Err(Error::shape(
                "kthvalue",
                format!("kthvalue(): selected number k out of range for dimension {d}: k = {k}, size {r}"),
            ));
        }
        let pos = with_keys!(keys, kk, _nan => cpu::kth(&kk, r, k - 1, false));
        self.select_positions(&moved, pos, d, keepdim)
    }

    #[track_caller]
    fn select_positions(&self, moved: &Tensor, pos: Vec<i64>, d: usize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        let indices = self.positions(moved, pos, 1, d, keepdim)?;
        Ok((self.take_positions(d, &indices)?, indices))
    }

    /// The lower median along `dim` and its position (`torch.median(dim)`); a row holding NaN
    /// gives NaN, at the first NaN's position.
    #[track_caller]
    pub fn median_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.median_impl(dim, keepdim, true, "median")
    }

    /// The lower median along `dim` ignoring NaN (`torch.nanmedian(dim)`); NaN only for a row
    /// of NaN.
    #[track_caller]
    pub fn nanmedian_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.median_impl(dim, keepdim, false, "nanmedian")
    }

    #[track_caller]
    fn median_impl(&self, dim: isize, keepdim: bool, propagate: bool, op: &'static str) -> Result<(Tensor, Tensor)> {
        let (moved, keys, r, d) = rows(self, dim, op)?;
        if r == 0 {
            return Err(Error::index(op, format!("{op}(): Expected reduction dim {d} to have non-zero size.")));
        }
        let pos = with_keys!(keys, kk, nan => {
            if propagate || !nan {
                cpu::kth(&kk, r, (r - 1) / 2, nan)
            } else {
                // NaN keys sort last: the median of each row's non-NaN prefix.
                kk.chunks(r)
                    .flat_map(|row| {
                        let n = row.iter().filter(|&&x| x != cpu::Key::NAN).count();
                        cpu::kth(row, r, n.saturating_sub(1) / 2, false)
                    })
                    .collect()
            }
        });
        self.select_positions(&moved, pos, d, keepdim)
    }

    /// The lower median of all elements, 0-d (`torch.median()`); NaN when any element is NaN
    /// or the tensor is empty.
    #[track_caller]
    pub fn median(&self) -> Result<Tensor> {
        self.median_all(true)
    }

    /// The lower median of all non-NaN elements, 0-d (`torch.nanmedian()`).
    #[track_caller]
    pub fn nanmedian(&self) -> Result<Tensor> {
        self.median_all(false)
    }

    #[track_caller]
    fn median_all(&self, propagate: bool) -> Result<Tensor> {
        if self.numel() == 0 {
            return Tensor::full(&[], f64::NAN, self.dtype());
        }
        let flat = at_caller(self.reshape_to(&[self.numel()]))?;
        Ok(flat.median_impl(0, false, propagate, if propagate { "median" } else { "nanmedian" })?.0)
    }

    /// The most frequent value along `dim` (the smallest on ties) and its last position
    /// (`torch.mode`).
    #[track_caller]
    pub fn mode(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        let (moved, keys, r, d) = rows(self, dim, "mode")?;
        if r == 0 {
            return Err(Error::index("mode", format!("mode(): Expected reduction dim {d} to have non-zero size.")));
        }
        let pos = with_keys!(keys, kk, _nan => cpu::mode(&kk, r));
        self.select_positions(&moved, pos, d, keepdim)
    }

    /// Running maximum along `dim` and the position of each (`torch.cummax`).
    #[track_caller]
    pub fn cummax(&self, dim: isize) -> Result<(Tensor, Tensor)> {
        self.cum_extreme(dim, true, "cummax")
    }

    /// Running minimum along `dim` and the position of each (`torch.cummin`).
    #[track_caller]
    pub fn cummin(&self, dim: isize) -> Result<(Tensor, Tensor)> {
        self.cum_extreme(dim, false, "cummin")
    }

    #[track_caller]
    fn cum_extreme(&self, dim: isize, max: bool, op: &'static str) -> Result<(Tensor, Tensor)> {
        let (moved, keys, r, d) = rows(self, dim, op)?;
        let pos = with_keys!(keys, kk, nan => cpu::cum_extreme(&kk, r, max, nan));
        let indices = self.positions(&moved, pos, r, d, true)?;
        Ok((self.take_positions(d, &indices)?, indices))
    }

    /// The sorted distinct elements, with the index of each element in them (`inverse`, shaped
    /// like `self`) and each one's count (`torch.unique(sorted=True, return_inverse=True,
    /// return_counts=True)`). Not differentiable.
    #[track_caller]
    pub fn unique(&self) -> Result<(Tensor, Tensor, Tensor)> {
        self.unique_impl(false)
    }

    /// Distinct runs of consecutive equal elements of the flattened tensor, the run index of
    /// each element and each run's length (`torch.unique_consecutive`).
    #[track_caller]
    pub fn unique_consecutive(&self) -> Result<(Tensor, Tensor, Tensor)> {
        self.unique_impl(true)
    }

    #[track_caller]
    fn unique_impl(&self, consecutive: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let flat = at_caller(self.detach().reshape_to(&[self.numel()]))?;
        let keys = cpu::keys(&*flat.cpu_read("unique")?, flat.layout());
        let (firsts, inverse, counts) = with_keys!(keys, k, _nan => match consecutive {
            true => cpu::unique_consecutive(&k),
            false => cpu::unique(&k),
        });
        let firsts = Tensor::from_vec(firsts.into_iter().map(|p| p as i64).collect::<Vec<_>>(), &[counts.len()])?;
        let values = flat.index_select_u(0, &firsts)?;
        let n = counts.len();
        Ok((values, Tensor::from_vec(inverse, self.shape())?, Tensor::from_vec(counts, &[n])?))
    }

    /// Insertion positions of `values` into `self`, sorted along its last dim (`torch.searchsorted`):
    /// the first position `i` with `self[..., i] >= v` (`> v` with `right`). `self` is 1-D, or has
    /// the leading dims of `values`.
    #[track_caller]
    pub fn searchsorted(&self, values: &Tensor, right: bool) -> Result<Tensor> {
        let op = "searchsorted";
        let (nd, vd) = (self.dim(), values.dim());
        let leading_ok = nd == 1 || (nd > 1 && nd == vd && self.shape()[..nd - 1] == values.shape()[..vd - 1]);
        if !leading_ok {
            return Err(Error::shape(
                op,
                format!(
                    "boundaries of shape {:?} must be 1-D or have the leading dims of the input {:?}",
                    self.shape(),
                    values.shape()
                ),
            ));
        }
        let dtype = DType::promote(self.dtype(), values.dtype());
        let (s, v) = (self.detach().to_dtype(dtype)?, values.detach().to_dtype(dtype)?);
        let sr = s.shape()[nd - 1];
        let vr = if vd == 0 || nd == 1 { values.numel() } else { values.shape()[vd - 1] };
        let sk = cpu::keys(&*s.cpu_read(op)?, s.layout());
        let vk = cpu::keys(&*v.cpu_read(op)?, v.layout());
        let pos = match (sk, vk) {
            (Keys::K32(a, _), Keys::K32(b, _)) => cpu::searchsorted(&a, sr, &b, vr, right),
            (Keys::K64(a, _), Keys::K64(b, _)) => cpu::searchsorted(&a, sr, &b, vr, right),
            _ => return Err(Error::dtype(op, "boundaries and input must have one dtype")),
        };
        Tensor::from_vec(pos, values.shape())
    }

    /// The bucket of each element for 1-D sorted `boundaries` (`torch.bucketize`).
    #[track_caller]
    pub fn bucketize(&self, boundaries: &Tensor, right: bool) -> Result<Tensor> {
        if boundaries.dim() != 1 {
            return Err(Error::shape(
                "bucketize",
                format!("boundaries tensor must be 1 dimension, but got dim({})", boundaries.dim()),
            ));
        }
        boundaries.searchsorted(self, right)
    }

    /// Elements at flat positions `index` of the row-major tensor (`torch.take`; negative
    /// positions count from the end). Shaped like `index`.
    #[track_caller]
    pub fn take(&self, index: &Tensor) -> Result<Tensor> {
        let n = self.numel() as i64;
        let idx = index.to_dtype(DType::I64)?;
        let wrapped = idx.to_vec::<i64>()?.into_iter().map(|i| if i < 0 { i + n } else { i }).collect::<Vec<_>>();
        let wrapped = Tensor::from_vec(wrapped, &[idx.numel()])?;
        let flat = at_caller(self.reshape_to(&[self.numel()]))?;
        at_caller(flat.index_select_u(0, &wrapped)?.reshape_to(index.shape()))
    }

    /// `gather` with the index broadcast against `self` along the other dims
    /// (`torch.take_along_dim`); `dim = None` takes from the flattened tensor.
    #[track_caller]
    pub fn take_along_dim(&self, indices: &Tensor, dim: Option<isize>) -> Result<Tensor> {
        let Some(dim) = dim else {
            let flat = at_caller(self.reshape_to(&[self.numel()]))?;
            return at_caller(flat.gather(0, &indices.reshape_to(&[indices.numel()])?));
        };
        let d = self.norm_dim(dim, "take_along_dim")?;
        if indices.dim() != self.dim() {
            return Err(Error::shape(
                "take_along_dim",
                format!(
                    "input and indices should have the same number of dimensions, but got {} and {}",
                    self.dim(),
                    indices.dim()
                ),
            ));
        }
        // Broadcast every dim but `dim`.
        let (mut a, mut b) = (self.shape().to_vec(), indices.shape().to_vec());
        (a[d], b[d]) = (1, 1);
        let mut s_shape = super::arith::broadcast_pair("take_along_dim", &a, &b)?;
        let mut i_shape = s_shape.clone();
        s_shape[d] = self.shape()[d];
        i_shape[d] = indices.shape()[d];
        at_caller(self.expand_to(&s_shape)?.gather(d as isize, &indices.expand_to(&i_shape)?))
    }

    /// The number of nonzero elements over `dims` (all when empty), int64 (`torch.count_nonzero`).
    #[track_caller]
    pub fn count_nonzero(&self, dims: &[isize]) -> Result<Tensor> {
        let nz = self.detach().ne_scalar(0.0)?.to_dtype(DType::I64)?;
        if dims.is_empty() {
            nz.sum()
        } else {
            nz.sum_dims_keep(dims, false)
        }
    }
}

impl Tensor {
    /// The distinct slices along `dim` in lexicographic order, the slice index of each input
    /// slice, and each distinct slice's count (`torch.unique(x, dim=d)`); with `consecutive`,
    /// runs of equal adjacent slices instead (`unique_consecutive(dim=)`).
    #[track_caller]
    pub fn unique_dim(&self, dim: isize, consecutive: bool) -> Result<(Tensor, Tensor, Tensor)> {
        let op = "unique_dim";
        let d = self.norm_dim(dim, op)?;
        if self.dim() == 0 {
            return Err(Error::shape(op, "unique_dim: Expected a tensor with at least one dimension"));
        }
        let n = self.shape()[d];
        let moved = at_caller(self.movedim(&[d as isize], &[0]))?.contiguous()?;
        let rest = moved.numel().checked_div(n).unwrap_or(0);
        let data = moved.detach().to_f64_vec()?;
        let row = |i: usize| &data[i * rest..(i + 1) * rest];
        // Elementwise order with NaN last and equal to NaN, and -0 == 0 (PyTorch's).
        let elem = |x: &f64, y: &f64| match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
        };
        let cmp = |a: &[f64], b: &[f64]| {
            a.iter().zip(b).map(|(x, y)| elem(x, y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
        };
        let mut order: Vec<usize> = (0..n).collect();
        if !consecutive {
            order.sort_by(|&a, &b| cmp(row(a), row(b)));
        }
        let (mut firsts, mut counts, mut inverse) = (Vec::new(), Vec::new(), vec![0i64; n]);
        for &i in &order {
            let new = firsts.last().is_none_or(|&f: &usize| cmp(row(f), row(i)).is_ne());
            if new {
                firsts.push(i);
                counts.push(0i64);
            }
            *counts.last_mut().expect("a group was opened") += 1;
            inverse[i] = firsts.len() as i64 - 1;
        }
        let pick = Tensor::from_vec(firsts.iter().map(|&i| i as i64).collect::<Vec<_>>(), &[firsts.len()])?;
        let values = at_caller(moved.index_select(0, &pick)?.movedim(&[0], &[d as isize]))?;
        let k = counts.len();
        Ok((values, Tensor::from_vec(inverse, &[n])?, Tensor::from_vec(counts, &[k])?))
    }
}
