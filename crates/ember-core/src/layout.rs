//! `Layout`: how a tensor's elements sit in its storage (shape, strides and offset, in
//! elements). Every view op is a pure function here, so views never copy and the algebra is
//! property-tested on its own.
//!
//! Strides are unsigned: Ember has no negative-stride views (PyTorch has none either).

/// Row-major strides for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1);
    }
    strides
}

/// The broadcast shape of `a` and `b` (NumPy rules), or `None` when a dim differs and neither
/// side is 1.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Up to this many dims are stored inline (no heap allocation per tensor).
const INLINE: usize = 6;

/// A short list of sizes or strides, inline up to [`INLINE`] entries: creating a tensor then
/// costs no allocation for its layout (per-op overhead on small tensors is a measured target).
/// Canonical: a list of at most `INLINE` entries is always `Inline`.
#[derive(Clone)]
pub(crate) enum Dims {
    /// `len` entries at the front of the array.
    Inline(u8, [usize; INLINE]),
    /// More than `INLINE` entries.
    Heap(Box<[usize]>),
}

impl Dims {
    /// From a slice.
    pub fn from_slice(v: &[usize]) -> Dims {
        if v.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..v.len()].copy_from_slice(v);
            Dims::Inline(v.len() as u8, inline)
        } else {
            Dims::Heap(v.into())
        }
    }

    fn as_mut_slice(&mut self) -> &mut [usize] {
        match self {
            Dims::Inline(n, a) => &mut a[..*n as usize],
            Dims::Heap(v) => v,
        }
    }

    fn edit(&mut self, f: impl FnOnce(&mut Vec<usize>)) {
        let mut v = self.to_vec();
        f(&mut v);
        *self = Dims::from_slice(&v);
    }
}

impl std::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        match self {
            Dims::Inline(n, a) => &a[..*n as usize],
            Dims::Heap(v) => v,
        }
    }
}

impl PartialEq for Dims {
    fn eq(&self, other: &Dims) -> bool {
        **self == **other
    }
}

impl Eq for Dims {}

impl std::hash::Hash for Dims {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (**self).hash(h)
    }
}

impl std::fmt::Debug for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<'a> IntoIterator for &'a Dims {
    type Item = &'a usize;
    type IntoIter = std::slice::Iter<'a, usize>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Vec<usize>> for Dims {
    fn from(v: Vec<usize>) -> Dims {
        Dims::from_slice(&v)
    }
}

impl From<&[usize]> for Dims {
    fn from(v: &[usize]) -> Dims {
        Dims::from_slice(v)
    }
}

/// Shape, strides and offset of a strided view, all in elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    shape: Dims,
    strides: Dims,
    offset: usize,
}

impl Layout {
    /// A row-major layout starting at element 0.
    #[inline]
    pub fn contiguous(shape: &[usize]) -> Layout {
        let n = shape.len();
        if n <= INLINE {
            // Element by element into fixed arrays (no memcpy of a short slice followed by
            // wide loads of the same bytes: that stalls store-to-load forwarding, which was a
            // tenth of the tiny-op profile).
            let (mut sh, mut st) = ([0; INLINE], [0; INLINE]);
            let mut acc = 1;
            for i in (0..n).rev() {
                sh[i] = shape[i];
                st[i] = acc;
                acc *= shape[i].max(1);
            }
            return Layout { shape: Dims::Inline(n as u8, sh), strides: Dims::Inline(n as u8, st), offset: 0 };
        }
        let mut strides = vec![0; n];
        let mut acc = 1;
        for (st, &d) in strides.iter_mut().zip(shape).rev() {
            *st = acc;
            acc *= d.max(1);
        }
        Layout { shape: Dims::from_slice(shape), strides: Dims::Heap(strides.into()), offset: 0 }
    }

    /// A layout from its parts (callers guarantee that it fits the storage).
    pub fn new(shape: Vec<usize>, strides: Vec<usize>, offset: usize) -> Layout {
        debug_assert_eq!(shape.len(), strides.len());
        Layout { shape: shape.into(), strides: strides.into(), offset }
    }

    /// Sizes of the dims.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Strides of the dims, in elements.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// Storage index of the first element.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of dims.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Row-major with no gaps (size-1 dims may have any stride, as in PyTorch).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// One past the largest storage index this layout touches (0 when empty).
    pub fn storage_extent(&self) -> usize {
        if self.numel() == 0 {
            return 0;
        }
        self.offset + self.shape.iter().zip(&self.strides).map(|(&d, &s)| (d - 1) * s).sum::<usize>() + 1
    }

    /// [`Layout::storage_extent`] with overflow checks (for layouts read from files).
    pub fn checked_extent(&self) -> Option<usize> {
        let n = self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        if n == 0 {
            return Some(0);
        }
        let span = self
            .shape
            .iter()
            .zip(&self.strides)
            .try_fold(0usize, |a, (&d, &s)| a.checked_add((d - 1).checked_mul(s)?))?;
        self.offset.checked_add(span)?.checked_add(1)
    }

    /// Dims reordered: dim `i` of the result is dim `perm[i]` of `self` (perm is validated).
    pub fn permute(&self, perm: &[usize]) -> Layout {
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect::<Vec<_>>().into(),
            strides: perm.iter().map(|&p| self.strides[p]).collect::<Vec<_>>().into(),
            offset: self.offset,
        }
    }

    /// Elements `start, start+step, ...` (`len` of them) along `dim`.
    pub fn slice(&self, dim: usize, start: usize, len: usize, step: usize) -> Layout {
        let mut l = self.clone();
        // An empty view keeps its offset: the storage behind it may have no element there.
        if len > 0 && self.numel() > 0 {
            l.offset += start * self.strides[dim];
        }
        l.shape.as_mut_slice()[dim] = len;
        l.strides.as_mut_slice()[dim] *= step;
        l
    }

    /// The diagonal of the `d1` x `d2` planes starting at `(r0, c0)`, `len` long, as a new last
    /// dim: one step along it moves one row and one column, so its stride is the sum of theirs.
    pub fn diagonal(&self, d1: usize, d2: usize, r0: usize, c0: usize, len: usize) -> Layout {
        let mut l = self.clone();
        if len > 0 && self.numel() > 0 {
            l.offset += r0 * self.strides[d1] + c0 * self.strides[d2];
        }
        let step = self.strides[d1] + self.strides[d2];
        let keep = |v: &[usize]| -> Vec<usize> {
            v.iter().enumerate().filter(|&(i, _)| i != d1 && i != d2).map(|(_, &x)| x).collect()
        };
        l.shape = Dims::from(keep(&self.shape));
        l.shape.edit(|v| v.push(len));
        l.strides = Dims::from(keep(&self.strides));
        l.strides.edit(|v| v.push(step));
        l
    }

    /// Windows of `size` elements every `step` along `dim` (`Tensor.unfold`): `dim` now counts
    /// the `count` windows (its stride times `step`) and a new last dim walks one window.
    pub fn unfold(&self, dim: usize, size: usize, step: usize, count: usize) -> Layout {
        let mut l = self.clone();
        let stride = self.strides[dim];
        l.shape.edit(|v| {
            v[dim] = count;
            v.push(size);
        });
        l.strides.edit(|v| {
            v[dim] = stride * step;
            v.push(stride);
        });
        l
    }

    /// Broadcast to `shape` (stride 0 on new and size-1 dims), or `None` if not broadcastable.
    pub fn expand(&self, shape: &[usize]) -> Option<Layout> {
        if shape.len() < self.ndim() {
            return None;
        }
        let lead = shape.len() - self.ndim();
        let mut strides = vec![0; shape.len()];
        for i in 0..self.ndim() {
            let (have, want) = (self.shape[i], shape[lead + i]);
            strides[lead + i] = if have == want {
                self.strides[i]
            } else if have == 1 {
                0
            } else {
                return None;
            };
        }
        Some(Layout { shape: shape.into(), strides: strides.into(), offset: self.offset })
    }

    /// The same elements seen with `shape` without copying, or `None` when the strides do not
    /// allow it (PyTorch's `computeStride`; `reshape` then copies, `view` errors).
    pub fn view(&self, shape: &[usize]) -> Option<Layout> {
        let numel: usize = shape.iter().product();
        if numel != self.numel() {
            return None;
        }
        if numel == 0 || self.ndim() == 0 || self.is_contiguous() {
            return Some(Layout { offset: self.offset, ..Layout::contiguous(shape) });
        }
        let mut new_strides = vec![0; shape.len()];
        let mut view_d = shape.len() as isize - 1;
        let mut chunk_base_stride = *self.strides.last()?;
        let mut tensor_numel = 1;
        let mut view_numel = 1;
        for tensor_d in (0..self.ndim()).rev() {
            tensor_numel *= self.shape[tensor_d];
            let chunk_ends = tensor_d == 0
                || (self.shape[tensor_d - 1] != 1 && self.strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
            if chunk_ends {
                while view_d >= 0 && (view_numel < tensor_numel || shape[view_d as usize] == 1) {
                    new_strides[view_d as usize] = view_numel * chunk_base_stride;
                    view_numel *= shape[view_d as usize];
                    view_d -= 1;
                }
                if view_numel != tensor_numel {
                    return None;
                }
                if tensor_d > 0 {
                    chunk_base_stride = self.strides[tensor_d - 1];
                    tensor_numel = 1;
                    view_numel = 1;
                }
            }
        }
        if view_d != -1 {
            return None;
        }
        Some(Layout { shape: shape.into(), strides: new_strides.into(), offset: self.offset })
    }

    /// A new size-1 dim at `dim` (0..=ndim).
    pub fn unsqueeze(&self, dim: usize) -> Layout {
        let mut l = self.clone();
        let stride = if dim < self.ndim() { self.strides[dim] * self.shape[dim] } else { 1 };
        l.shape.edit(|v| v.insert(dim, 1));
        l.strides.edit(|v| v.insert(dim, stride));
        l
    }

    /// Removes `dim`, which must have size 1.
    pub fn squeeze_dim(&self, dim: usize) -> Layout {
        let mut l = self.clone();
        l.shape.edit(|v| {
            v.remove(dim);
        });
        l.strides.edit(|v| {
            v.remove(dim);
        });
        l
    }

    /// Merges dims that are contiguous with each other and drops size-1 dims, for each layout
    /// in `layouts` jointly (all have the same shape). Returns (shape, strides per layout).
    fn coalesce(layouts: &[&Layout]) -> (Vec<usize>, Vec<Vec<usize>>) {
        let shape = layouts[0].shape();
        let mut out_shape: Vec<usize> = Vec::with_capacity(shape.len());
        let mut out_strides: Vec<Vec<usize>> = vec![Vec::with_capacity(shape.len()); layouts.len()];
        for d in 0..shape.len() {
            if shape[d] == 1 {
                continue;
            }
            let mergeable = !out_shape.is_empty()
                && layouts.iter().zip(&out_strides).all(|(l, s)| *s.last().unwrap_or(&0) == l.strides[d] * shape[d]);
            if mergeable {
                let last = out_shape.len() - 1;
                out_shape[last] *= shape[d];
                for (l, s) in layouts.iter().zip(out_strides.iter_mut()) {
                    s[last] = l.strides[d];
                }
            } else {
                out_shape.push(shape[d]);
                for (l, s) in layouts.iter().zip(out_strides.iter_mut()) {
                    s.push(l.strides[d]);
                }
            }
        }
        (out_shape, out_strides)
    }

    /// Calls `f(offset, len, stride)` for each run of the innermost (coalesced) dim, in
    /// row-major order. A 0-d layout is one run of length 1; an empty one has no runs.
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        for_each_run_n(&[self], |offs, len, strides| f(offs[0], len, strides[0]));
    }

    /// Whether two elements of this view share a storage location (an expanded dim, or
    /// `as_strided` strides that make rows overlap), as PyTorch's `has_internal_overlap`.
    /// Exact: dims sorted by stride that each step past the extent of the smaller ones cannot
    /// overlap; other layouts are checked element by element.
    pub fn has_internal_overlap(&self) -> bool {
        let mut dims: Vec<(usize, usize)> =
            self.shape.iter().zip(&self.strides).filter(|(&d, _)| d > 1).map(|(&d, &s)| (s, d)).collect();
        if dims.iter().any(|&(s, _)| s == 0) {
            return true;
        }
        dims.sort_unstable();
        let mut extent = 0usize; // largest offset reachable by the dims so far
        let mut simple = true;
        for &(s, d) in &dims {
            if s <= extent {
                simple = false;
                break;
            }
            extent += s * (d - 1);
        }
        if simple {
            return false;
        }
        let mut offs = self.offsets();
        offs.sort_unstable();
        offs.windows(2).any(|w| w[0] == w[1])
    }

    /// Storage offsets of every element, in row-major order.
    pub fn offsets(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.numel());
        self.for_each_run(|o, len, s| v.extend((0..len).map(|i| o + i * s)));
        v
    }
}

/// Joint run iteration over layouts of the same shape: `f(offsets, len, strides)` per run of
/// the innermost coalesced dim, one offset and stride per layout.
pub fn for_each_run_n(layouts: &[&Layout], mut f: impl FnMut(&[usize], usize, &[usize])) {
    let numel = layouts[0].numel();
    if numel == 0 {
        return;
    }
    let (shape, strides) = Layout::coalesce(layouts);
    let n = layouts.len();
    let mut offs: Vec<usize> = layouts.iter().map(|l| l.offset).collect();
    if shape.is_empty() {
        f(&offs, 1, &vec![1; n]);
        return;
    }
    let inner = shape.len() - 1;
    let len = shape[inner];
    let inner_strides: Vec<usize> = strides.iter().map(|s| s[inner]).collect();
    let mut idx = vec![0usize; inner];
    loop {
        f(&offs, len, &inner_strides);
        // Odometer increment over the outer dims.
        let mut d = inner;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for (o, s) in offs.iter_mut().zip(&strides) {
                *o += s[d];
            }
            if idx[d] < shape[d] {
                break;
            }
            for (o, s) in offs.iter_mut().zip(&strides) {
                *o -= s[d] * shape[d];
            }
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Up to 8 dims, so that layouts cross the inline/heap boundary of `Dims` both ways.
    fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(1usize..4, 0..9)
    }

    /// Element offsets in row-major order via plain index arithmetic (the reference).
    fn naive_offsets(l: &Layout) -> Vec<usize> {
        let n = l.numel();
        (0..n)
            .map(|mut i| {
                let mut off = l.offset();
                for d in (0..l.ndim()).rev() {
                    off += (i % l.shape()[d]) * l.strides()[d];
                    i /= l.shape()[d];
                }
                off
            })
            .collect()
    }

    proptest! {
        #[test]
        fn permute_round_trip(shape in shape_strategy(), seed in 0u64..1000) {
            let l = Layout::contiguous(&shape);
            let mut perm: Vec<usize> = (0..shape.len()).collect();
            // a deterministic shuffle from the seed
            for i in (1..perm.len()).rev() {
                perm.swap(i, (seed as usize * 31 + i * 17) % (i + 1));
            }
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() { inv[p] = i; }
            let p = l.permute(&perm);
            prop_assert_eq!(p.permute(&inv), l.clone());
            prop_assert_eq!(p.offsets(), naive_offsets(&p));
        }

        #[test]
        fn reshape_round_trip_and_view_of_transposed(shape in shape_strategy()) {
            let l = Layout::contiguous(&shape);
            let flat = l.view(&[l.numel()]).unwrap();
            prop_assert_eq!(flat.view(&shape).unwrap(), l.clone());
            if shape.len() >= 2 {
                let n = shape.len();
                let mut perm: Vec<usize> = (0..n).collect();
                perm.swap(n - 1, n - 2);
                let t = l.permute(&perm);
                // a view of a transposed layout exists iff flattening preserves element order
                if let Some(v) = t.view(&[t.numel()]) {
                    prop_assert_eq!(v.offsets(), t.offsets());
                } else {
                    prop_assert!(!t.is_contiguous());
                }
                // splitting a dim is always viewable
                let mut split = t.shape().to_vec();
                split.insert(0, 1);
                let v = t.view(&split).unwrap();
                prop_assert_eq!(v.offsets(), t.offsets());
            }
        }

        #[test]
        fn broadcast_rules(a in shape_strategy(), b in shape_strategy()) {
            let out = broadcast_shapes(&a, &b);
            let n = a.len().max(b.len());
            let ok = (0..n).all(|i| {
                let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
                let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
                da == db || da == 1 || db == 1
            });
            prop_assert_eq!(out.is_some(), ok);
            if let Some(s) = out {
                let ea = Layout::contiguous(&a).expand(&s).unwrap();
                prop_assert_eq!(ea.offsets(), naive_offsets(&ea));
                prop_assert_eq!(broadcast_shapes(&b, &a).unwrap(), s);
            }
        }

        #[test]
        fn runs_match_naive_offsets_for_slices(shape in proptest::collection::vec(1usize..6, 1..4), step in 1usize..3) {
            let l = Layout::contiguous(&shape);
            let d = shape.len() - 1;
            let len = shape[d].div_ceil(step);
            let s = l.slice(d, 0, len, step);
            prop_assert_eq!(s.offsets(), naive_offsets(&s));
        }

        #[test]
        fn internal_overlap_matches_a_duplicate_offset_search(
            dims in proptest::collection::vec((1usize..4, 0usize..7), 0..4),
        ) {
            let (shape, strides): (Vec<usize>, Vec<usize>) = dims.into_iter().unzip();
            let l = Layout::new(shape, strides, 0);
            let mut offs = naive_offsets(&l);
            offs.sort_unstable();
            let dup = offs.windows(2).any(|w| w[0] == w[1]);
            prop_assert_eq!(l.has_internal_overlap(), dup, "{:?}", l);
        }
    }

    #[test]
    fn contiguity_and_views() {
        let l = Layout::contiguous(&[2, 3, 4]);
        assert!(l.is_contiguous());
        let t = l.permute(&[0, 2, 1]);
        assert!(!t.is_contiguous());
        assert!(t.view(&[2, 12]).is_none());
        assert_eq!(t.view(&[2, 4, 3, 1]).unwrap().strides(), &[12, 1, 4, 4]); // as torch
        assert_eq!(Layout::contiguous(&[]).offsets(), vec![0]);
        assert!(Layout::contiguous(&[2, 0]).offsets().is_empty());
        assert!(Layout::contiguous(&[3]).expand(&[2, 4]).is_none());
        assert_eq!(Layout::contiguous(&[3, 1]).expand(&[2, 3, 4]).unwrap().strides(), &[0, 1, 0]);
    }
}
