//! Indexing copies: `index_select`, `index_add`, `gather`, `scatter_add` and `cat`. Indices
//! are validated (range, dtype) by the tensor methods; here they are plain `usize`s.

use super::{contiguous_slice, copy_strided};
use crate::layout::Layout;
use crate::storage::CpuStorage;
use half::{bf16, f16};
use std::ops::Add;

use super::reduce::split_at_dim;

/// Runs `$f(out, src_contiguous)` for a mutable storage and a same-dtype view.
macro_rules! pair_mut {
    ($base:expr, $src:expr, $ls:expr, |$o:ident, $s:ident| $body:expr) => {
        match ($base, $src) {
            (CpuStorage::F32($o), CpuStorage::F32(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::F64($o), CpuStorage::F64(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::F16($o), CpuStorage::F16(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::BF16($o), CpuStorage::BF16(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::I64($o), CpuStorage::I64(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::I32($o), CpuStorage::I32(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::U8($o), CpuStorage::U8(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::I8($o), CpuStorage::I8(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::I16($o), CpuStorage::I16(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            (CpuStorage::Bool($o), CpuStorage::Bool(x)) => {
                let $s: &[_] = &contiguous_slice(x, $ls);
                $body
            }
            _ => unreachable!("callers cast the source to the destination dtype"),
        }
    };
}

/// `out[pos[k]] = src[k]` for a contiguous `out` (later positions win on repeats).
pub fn put(out: &mut CpuStorage, pos: &[usize], src: &CpuStorage, ls: &Layout) {
    pair_mut!(out, src, ls, |o, s| {
        for (k, &p) in pos.iter().enumerate() {
            o[p] = s[k];
        }
    })
}

/// Rows `idx` of `dim`: output shape is the input's with `shape[dim] = idx.len()`.
pub fn index_select(s: &CpuStorage, l: &Layout, dim: usize, idx: &[usize]) -> CpuStorage {
    let (outer, r, inner) = split_at_dim(l.shape(), dim);
    crate::map_storage!(s, v => {
        let x = contiguous_slice(v, l);
        let mut out = Vec::with_capacity(outer * idx.len() * inner);
        for o in 0..outer {
            for &j in idx {
                out.extend_from_slice(&x[(o * r + j) * inner..(o * r + j + 1) * inner]);
            }
        }
        out
    })
}

/// Addition that works for every storage type (bool is logical or).
trait AddAny: Copy {
    fn add_any(self, o: Self) -> Self;
}
macro_rules! add_any {
    ($($t:ty => $add:ident),*) => {$(impl AddAny for $t { fn add_any(self, o: Self) -> Self { self.$add(o) } })*};
}
add_any!(f32 => add, f64 => add, i64 => wrapping_add, i32 => wrapping_add, i16 => wrapping_add, i8 => wrapping_add, u8 => wrapping_add);
impl AddAny for f16 {
    fn add_any(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() + o.to_f32())
    }
}
impl AddAny for bf16 {
    fn add_any(self, o: Self) -> Self {
        bf16::from_f32(self.to_f32() + o.to_f32())
    }
}
impl AddAny for bool {
    fn add_any(self, o: Self) -> Self {
        self | o
    }
}

/// `base` (contiguous, shape `base_shape`) with `src` rows added at `idx` along `dim`:
/// `base[.., idx[j], ..] += src[.., j, ..]` (the adjoint of `index_select`).
pub fn index_add(
    base: &mut CpuStorage,
    base_shape: &[usize],
    dim: usize,
    idx: &[usize],
    src: &CpuStorage,
    ls: &Layout,
) {
    let (outer, r, inner) = split_at_dim(base_shape, dim);
    fn go<T: AddAny>(out: &mut [T], s: &[T], (outer, r, inner): (usize, usize, usize), idx: &[usize]) {
        let n = idx.len();
        for o in 0..outer {
            for (j, &t) in idx.iter().enumerate() {
                let dst = &mut out[(o * r + t) * inner..(o * r + t + 1) * inner];
                let row = &s[(o * n + j) * inner..(o * n + j + 1) * inner];
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = d.add_any(v);
                }
            }
        }
    }
    pair_mut!(base, src, ls, |o, s| go(o, s, (outer, r, inner), idx));
}

/// `out[pos[p]] += src[p]` for every index position `p` (the adjoint of a gather; `pos` from
/// `gather::positions`); `src` is viewed with the index's shape, `out` is contiguous.
pub fn scatter_add(out: &mut CpuStorage, pos: &[usize], src: &CpuStorage, ls: &Layout) {
    fn go<T: AddAny>(out: &mut [T], s: &[T], pos: &[usize]) {
        for (&p, &v) in pos.iter().zip(s) {
            let d = &mut out[p];
            *d = d.add_any(v);
        }
    }
    pair_mut!(out, src, ls, |o, s| go(o, s, pos));
}

/// Concatenation along `dim` of same-dtype views into a new contiguous buffer.
pub fn cat(parts: &[(&CpuStorage, &Layout)], dim: usize, out_shape: &[usize]) -> CpuStorage {
    let dtype = parts[0].0.dtype();
    let mut out = CpuStorage::zeros_pooled(dtype, out_shape.iter().product());
    let full = Layout::contiguous(out_shape);
    let mut start = 0;
    for (s, l) in parts {
        let len = l.shape()[dim];
        let dst_l = full.slice(dim, start, len, 1);
        copy_into(&mut out, &dst_l, s, l);
        start += len;
    }
    out
}

/// Copies a same-dtype view `src` into the region `ld` of `dst`.
pub fn copy_into(dst: &mut CpuStorage, ld: &Layout, src: &CpuStorage, ls: &Layout) {
    match (dst, src) {
        (CpuStorage::F32(d), CpuStorage::F32(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::F64(d), CpuStorage::F64(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::F16(d), CpuStorage::F16(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::BF16(d), CpuStorage::BF16(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::I64(d), CpuStorage::I64(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::I32(d), CpuStorage::I32(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::U8(d), CpuStorage::U8(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::I8(d), CpuStorage::I8(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::I16(d), CpuStorage::I16(s)) => copy_strided(d, ld, s, ls),
        (CpuStorage::Bool(d), CpuStorage::Bool(s)) => copy_strided(d, ld, s, ls),
        _ => unreachable!("copy_into: callers cast src to the destination dtype"),
    }
}
