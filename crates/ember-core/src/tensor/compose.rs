//! Ops PyTorch programs call that are compositions of Ember's primitives, so their gradients
//! come from the primitives': diagonals (`diag`, `diag_embed`, `diagflat`, `trace`),
//! products (`tensordot`, `kron`, `outer`, `addmm`, `addmv`, `baddbmm`, `addcmul`, `addcdiv`,
//! `lerp`, `cdist`), and reordering (`flip`, `roll`, `rot90`, `movedim`, `repeat_interleave`,
//! `tile`).

use super::Tensor;
use crate::error::{at_caller, Error, Result};

/// `i64` positions as a 1-D index tensor.
fn index(v: Vec<i64>) -> Result<Tensor> {
    let n = v.len();
    Tensor::from_vec(v, &[n])
}

impl Tensor {
    /// `torch.diag`: a 1-D tensor's square matrix with it on diagonal `diagonal`, or a 2-D
    /// tensor's diagonal.
    #[track_caller]
    pub fn diag(&self, diagonal: isize) -> Result<Tensor> {
        match self.dim() {
            1 => self.diag_embed(diagonal, -2, -1),
            2 => self.diagonal(diagonal, 0, 1),
            n => Err(Error::shape("diag", format!("diag(): Supports 1D or 2D tensors. Got {n}D"))),
        }
    }

    /// Matrices with the last dim of `self` on their diagonal `offset`, in dims `dim1`, `dim2`
    /// of the result (`torch.diag_embed`).
    #[track_caller]
    pub fn diag_embed(&self, offset: isize, dim1: isize, dim2: isize) -> Result<Tensor> {
        let nd = self.dim() + 1;
        let (d1, d2) = (super::norm_dim(dim1, nd, "diag_embed")?, super::norm_dim(dim2, nd, "diag_embed")?);
        if d1 == d2 {
            return Err(Error::index("diag_embed", format!("diagonal dimensions cannot be identical {dim1}, {dim2}")));
        }
        let x = if self.dim() == 0 { at_caller(self.reshape(&[1usize][..]))? } else { self.clone() };
        let n = *x.shape().last().unwrap_or(&1);
        let size = n + offset.unsigned_abs();
        let (r0, c0) = if offset >= 0 { (0, offset.unsigned_abs()) } else { (offset.unsigned_abs(), 0) };
        let lead: Vec<usize> = x.shape()[..x.dim() - 1].to_vec();
        crate::storage::checked_numel("diag_embed", &[lead.clone(), vec![size, size]].concat(), x.dtype())?;
        // Scatter the values into a zero [lead..., size * size] (differentiable in `x`).
        let pos: Vec<i64> = (0..n).map(|i| ((i + r0) * size + i + c0) as i64).collect();
        let idx = index(pos)?.expand(&[lead.clone(), vec![n]].concat()[..])?.contiguous()?;
        let zeros = Tensor::zeros(&[lead.clone(), vec![size * size]].concat(), x.dtype())?;
        let flat = at_caller(zeros.scatter_add(-1, &idx, &x))?;
        let m = at_caller(flat.reshape(&[lead, vec![size, size]].concat()[..]))?;
        // The two new dims sit last; move them to (d1, d2).
        let mut order: Vec<usize> = (0..nd - 2).collect();
        let (lo, hi) = if d1 < d2 { (d1, d2) } else { (d2, d1) };
        order.insert(lo, if d1 < d2 { nd - 2 } else { nd - 1 });
        order.insert(hi, if d1 < d2 { nd - 1 } else { nd - 2 });
        let mut inv = vec![0; nd];
        for (i, &o) in order.iter().enumerate() {
            inv[i] = o;
        }
        at_caller(m.permute(&inv[..]))
    }

    /// `diag` of the flattened tensor (`torch.diagflat`).
    #[track_caller]
    pub fn diagflat(&self, offset: isize) -> Result<Tensor> {
        at_caller(self.reshape(&[self.numel()][..])?.diag_embed(offset, 0, 1))
    }

    /// Sum of the main diagonal of a matrix (`torch.trace`).
    #[track_caller]
    pub fn trace(&self) -> Result<Tensor> {
        if self.dim() != 2 {
            return Err(Error::shape(
                "trace",
                format!("trace: expected a matrix, but got tensor with dim {}", self.dim()),
            ));
        }
        at_caller(self.diagonal(0, 0, 1)?.sum())
    }

    /// Sums products over `dims_a` of `self` and `dims_b` of `other` (`torch.tensordot`).
    #[track_caller]
    pub fn tensordot(&self, other: &Tensor, dims_a: &[isize], dims_b: &[isize]) -> Result<Tensor> {
        if dims_a.len() != dims_b.len() {
            return Err(Error::shape("tensordot", "both dimension lists should have same length"));
        }
        let da: Vec<usize> = dims_a.iter().map(|&d| self.norm_dim_strict(d, "tensordot")).collect::<Result<_>>()?;
        let db: Vec<usize> = dims_b.iter().map(|&d| other.norm_dim_strict(d, "tensordot")).collect::<Result<_>>()?;
        for (&a, &b) in da.iter().zip(&db) {
            if self.shape()[a] != other.shape()[b] {
                return Err(Error::shape("tensordot", format!("contracted dimensions need to match, but first has size {} in dim {a} and second has size {} in dim {b}", self.shape()[a], other.shape()[b])));
            }
        }
        let free_a: Vec<usize> = (0..self.dim()).filter(|d| !da.contains(d)).collect();
        let free_b: Vec<usize> = (0..other.dim()).filter(|d| !db.contains(d)).collect();
        let k: usize = da.iter().map(|&d| self.shape()[d]).product();
        let m: usize = free_a.iter().map(|&d| self.shape()[d]).product();
        let n: usize = free_b.iter().map(|&d| other.shape()[d]).product();
        let a = at_caller(self.permute(&[free_a.clone(), da].concat()[..])?.reshape(&[m, k][..]))?;
        let b = at_caller(other.permute(&[db, free_b.clone()].concat()[..])?.reshape(&[k, n][..]))?;
        let mut shape: Vec<usize> = free_a.iter().map(|&d| self.shape()[d]).collect();
        shape.extend(free_b.iter().map(|&d| other.shape()[d]));
        at_caller(a.matmul(&b)?.reshape(&shape[..]))
    }

    /// The outer product of two 1-D tensors (`torch.outer`).
    #[track_caller]
    pub fn outer(&self, other: &Tensor) -> Result<Tensor> {
        if self.dim() != 1 || other.dim() != 1 {
            return Err(Error::shape(
                "outer",
                format!("outer: expected 1-D tensors, got {}-D and {}-D", self.dim(), other.dim()),
            ));
        }
        at_caller(self.unsqueeze(1)?.mul(&other.unsqueeze(0)?))
    }

    /// The Kronecker product (`torch.kron`).
    #[track_caller]
    pub fn kron(&self, other: &Tensor) -> Result<Tensor> {
        let nd = self.dim().max(other.dim());
        let pad = |t: &Tensor| -> Result<Tensor> {
            let mut s = vec![1usize; nd - t.dim()];
            s.extend_from_slice(t.shape());
            t.reshape(&s[..])
        };
        let (a, b) = (at_caller(pad(self))?, at_caller(pad(other))?);
        // [a0, 1, a1, 1, ...] * [1, b0, 1, b1, ...] -> [a0 b0, a1 b1, ...]
        let inter = |t: &Tensor, first: bool| -> Result<Tensor> {
            let s: Vec<usize> = t.shape().iter().flat_map(|&d| if first { [d, 1] } else { [1, d] }).collect();
            t.reshape(&s[..])
        };
        let p = at_caller(inter(&a, true)?.mul(&inter(&b, false)?))?;
        let shape: Vec<usize> = a.shape().iter().zip(b.shape()).map(|(x, y)| x * y).collect();
        at_caller(p.reshape(&shape[..]))
    }

    /// `beta * self + alpha * (mat1 @ mat2)` (`torch.addmm`; also `addmv` and `baddbmm`, which
    /// are the same with a vector or batches).
    #[track_caller]
    pub fn addmm(&self, mat1: &Tensor, mat2: &Tensor, beta: f64, alpha: f64) -> Result<Tensor> {
        let p = at_caller(mat1.matmul(mat2))?;
        let p = if alpha == 1.0 { p } else { at_caller(p.mul_scalar(alpha))? };
        if beta == 0.0 {
            // PyTorch ignores `self` (even NaN in it) when beta is 0.
            return at_caller(p.add(&Tensor::zeros(self.shape(), p.dtype())?));
        }
        let s = if beta == 1.0 { self.clone() } else { at_caller(self.mul_scalar(beta))? };
        at_caller(s.add(&p))
    }

    /// `self + value * t1 * t2` (`torch.addcmul`).
    #[track_caller]
    pub fn addcmul(&self, t1: &Tensor, t2: &Tensor, value: f64) -> Result<Tensor> {
        at_caller(self.add(&t1.mul(t2)?.mul_scalar(value)?))
    }

    /// `self + value * t1 / t2` (`torch.addcdiv`).
    #[track_caller]
    pub fn addcdiv(&self, t1: &Tensor, t2: &Tensor, value: f64) -> Result<Tensor> {
        at_caller(self.add(&t1.div(t2)?.mul_scalar(value)?))
    }

    /// `self + weight * (end - self)` (`torch.lerp`, tensor weight).
    #[track_caller]
    pub fn lerp(&self, end: &Tensor, weight: &Tensor) -> Result<Tensor> {
        at_caller(self.add(&end.sub(self)?.mul(weight)?))
    }

    /// Pairwise p-norm distances between the rows of `self` `[.., P, M]` and `other`
    /// `[.., R, M]`: `[.., P, R]` (`torch.cdist`). p = 2 uses the matmul expansion (as
    /// PyTorch's default for large inputs), clamped at zero.
    #[track_caller]
    pub fn cdist(&self, other: &Tensor, p: f64) -> Result<Tensor> {
        if self.dim() < 2 || other.dim() < 2 || self.shape()[self.dim() - 1] != other.shape()[other.dim() - 1] {
            return Err(Error::shape(
                "cdist",
                format!(
                    "cdist: X1 and X2 must have the same number of columns, got shapes {:?} and {:?}",
                    self.shape(),
                    other.shape()
                ),
            ));
        }
        if p.is_nan() || p < 0.0 {
            return Err(Error::value("cdist", format!("cdist only supports non-negative p values, got {p}")));
        }
        let (a, b) = (at_caller(self.unsqueeze(-2))?, at_caller(other.unsqueeze(-3))?);
        if p == 2.0 {
            let a2 = self.square()?.sum_dim(-1, true)?;
            let b2 = other.square()?.sum_dim(-1, true)?.transpose(-2, -1)?;
            let ab = self.matmul(&other.transpose(-2, -1)?)?;
            let d2 = at_caller(a2.add(&b2)?.sub(&ab.mul_scalar(2.0)?)?.clamp(Some(0.0), None))?;
            return d2.sqrt();
        }
        let diff = at_caller(a.sub(&b)?.abs())?;
        if p == 0.0 {
            return at_caller(diff.ne_scalar(0.0)?.to_dtype(self.dtype())?.sum_dim(-1, false));
        }
        if p.is_infinite() {
            return Ok(at_caller(diff.max_dim(-1, false))?.0);
        }
        at_caller(diff.pow(p)?.sum_dim(-1, false)?.pow(1.0 / p))
    }

    /// Reverses the order along each of `dims` (`torch.flip`).
    #[track_caller]
    pub fn flip(&self, dims: &[isize]) -> Result<Tensor> {
        let mut out = self.clone();
        for &d in dims {
            let dd = self.norm_dim(d, "flip")?;
            if self.dim() == 0 {
                continue;
            }
            let n = self.shape()[dd];
            out = at_caller(out.index_select(dd as isize, &index((0..n as i64).rev().collect())?))?;
        }
        Ok(out)
    }

    /// Rotates elements along `dims` by `shifts` (`torch.roll`); no dims rolls the flattened
    /// tensor.
    #[track_caller]
    pub fn roll(&self, shifts: &[isize], dims: &[isize]) -> Result<Tensor> {
        if dims.is_empty() {
            if shifts.len() != 1 {
                return Err(Error::shape("roll", "roll: shifts must have one element when no dims are given"));
            }
            return at_caller(self.reshape(&[self.numel()][..])?.roll(shifts, &[0])?.reshape(self.shape()));
        }
        if shifts.len() != dims.len() {
            return Err(Error::shape(
                "roll",
                format!("shifts and dimensions must align. shifts: {}, dims:{}", shifts.len(), dims.len()),
            ));
        }
        let mut out = self.clone();
        for (&s, &d) in shifts.iter().zip(dims) {
            let dd = self.norm_dim_strict(d, "roll")?;
            let n = self.shape()[dd] as i64;
            if n == 0 {
                continue;
            }
            let s = (s as i64).rem_euclid(n);
            let pos: Vec<i64> = (0..n).map(|i| (i - s).rem_euclid(n)).collect();
            out = at_caller(out.index_select(dd as isize, &index(pos)?))?;
        }
        Ok(out)
    }

    /// Rotates by 90 degrees `k` times in the plane of `dims`, from the first towards the
    /// second (`torch.rot90`).
    #[track_caller]
    pub fn rot90(&self, k: isize, dims: [isize; 2]) -> Result<Tensor> {
        if self.dim() < 2 {
            return Err(Error::shape(
                "rot90",
                format!("expected total dims >= 2, but got total dims = {}", self.dim()),
            ));
        }
        let (a, b) = (self.norm_dim(dims[0], "rot90")?, self.norm_dim(dims[1], "rot90")?);
        if a == b {
            return Err(Error::shape(
                "rot90",
                format!("expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}"),
            ));
        }
        let (a, b) = (a as isize, b as isize);
        at_caller(match k.rem_euclid(4) {
            1 => self.flip(&[b])?.transpose(a, b),
            2 => self.flip(&[a, b]),
            3 => self.flip(&[a])?.transpose(a, b),
            _ => Ok(self.clone()),
        })
    }

    /// Moves dims `src` to positions `dst`, the others keeping their order (`torch.movedim`).
    #[track_caller]
    pub fn movedim(&self, src: &[isize], dst: &[isize]) -> Result<Tensor> {
        if src.len() != dst.len() {
            return Err(Error::shape("movedim", format!("movedim: Invalid source or destination dims: source ({src:?} dims) should contain the same number of dims as destination ({dst:?} dims)")));
        }
        let nd = self.dim();
        let s: Vec<usize> = src.iter().map(|&d| self.norm_dim(d, "movedim")).collect::<Result<_>>()?;
        let t: Vec<usize> = dst.iter().map(|&d| self.norm_dim(d, "movedim")).collect::<Result<_>>()?;
        let dup = |v: &[usize]| v.iter().enumerate().any(|(i, x)| v[..i].contains(x));
        if dup(&s) || dup(&t) {
            return Err(Error::index("movedim", "movedim: repeated dim in source or destination"));
        }
        if nd == 0 {
            return Ok(self.clone());
        }
        let mut perm = vec![usize::MAX; nd];
        for (&a, &b) in s.iter().zip(&t) {
            perm[b] = a;
        }
        let mut rest = (0..nd).filter(|d| !s.contains(d));
        for p in perm.iter_mut().filter(|p| **p == usize::MAX) {
            *p = rest.next().unwrap_or(0);
        }
        at_caller(self.permute(&perm[..]))
    }

    /// Repeats each element (or each slice along `dim`) `repeats[i]` times
    /// (`torch.repeat_interleave`); one repeat count applies to all; no dim flattens first.
    #[track_caller]
    pub fn repeat_interleave(&self, repeats: &[usize], dim: Option<isize>) -> Result<Tensor> {
        let (x, d) = match dim {
            Some(d) => (self.clone(), self.norm_dim(d, "repeat_interleave")?),
            None => (at_caller(self.reshape(&[self.numel()][..]))?, 0),
        };
        let x = if x.dim() == 0 { at_caller(x.reshape(&[1usize][..]))? } else { x };
        let n = x.shape()[d];
        if repeats.len() != 1 && repeats.len() != n {
            return Err(Error::shape("repeat_interleave", format!("repeats must have the same size as input along dim, but got repeats.size(0) = {} and input.size({d}) = {n}", repeats.len())));
        }
        let total = if repeats.len() == 1 {
            repeats[0].checked_mul(n)
        } else {
            repeats.iter().try_fold(0usize, |a, &r| a.checked_add(r))
        };
        let total = total.ok_or_else(|| Error::alloc("repeat_interleave", "the repeated size overflows"))?;
        let mut shape = x.shape().to_vec();
        shape[d] = total;
        crate::storage::checked_numel("repeat_interleave", &shape, x.dtype())?;
        let pos: Vec<i64> = (0..n)
            .flat_map(|i| std::iter::repeat_n(i as i64, if repeats.len() == 1 { repeats[0] } else { repeats[i] }))
            .collect();
        at_caller(x.index_select(d as isize, &index(pos)?))
    }

    /// `repeat` with `reps` padded by ones in front to the tensor's dims (`torch.tile`).
    #[track_caller]
    pub fn tile(&self, reps: &[usize]) -> Result<Tensor> {
        let mut r = vec![1usize; self.dim().saturating_sub(reps.len())];
        r.extend_from_slice(reps);
        at_caller(self.repeat(&r))
    }
}
