//! Shape arguments: `reshape`, `view`, `expand` and `permute` take sizes as `&[usize]`,
//! `&[isize]`, `&[i32]`, arrays or `Vec`s, so `x.reshape(&[b, -1])`, `x.reshape(y.shape())`
//! and `x.reshape([2, 3])` all work without casts.

/// One size or dim in a shape argument (negative values mean what PyTorch says: `-1` infers a
/// size, a negative dim counts from the end).
pub trait DimValue: Copy {
    /// The value as `isize` (saturating: a size beyond `isize::MAX` stays too large).
    fn to_isize(self) -> isize;
}

macro_rules! dim_value {
    ($($t:ty),*) => {$(
        impl DimValue for $t {
            #[inline]
            fn to_isize(self) -> isize {
                isize::try_from(self).unwrap_or(isize::MAX)
            }
        }
    )*};
}
dim_value!(usize, isize, i32, i64, u32, u64);

/// A list of sizes or dims.
pub trait ShapeArg {
    /// The values as `isize`.
    fn to_isize_vec(&self) -> Vec<isize>;
}

impl<T: DimValue> ShapeArg for [T] {
    fn to_isize_vec(&self) -> Vec<isize> {
        self.iter().map(|&d| d.to_isize()).collect()
    }
}

impl<T: DimValue, const N: usize> ShapeArg for [T; N] {
    fn to_isize_vec(&self) -> Vec<isize> {
        self.as_slice().to_isize_vec()
    }
}

impl<T: DimValue> ShapeArg for Vec<T> {
    fn to_isize_vec(&self) -> Vec<isize> {
        self.as_slice().to_isize_vec()
    }
}

impl<S: ShapeArg + ?Sized> ShapeArg for &S {
    fn to_isize_vec(&self) -> Vec<isize> {
        (**self).to_isize_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::ShapeArg;

    fn take(s: impl ShapeArg) -> Vec<isize> {
        s.to_isize_vec()
    }

    #[test]
    fn every_spelling_gives_the_same_dims() {
        let v: Vec<usize> = vec![2, 3];
        assert_eq!(take(&[2, -1]), vec![2, -1]);
        assert_eq!(take([2usize, 3]), vec![2, 3]);
        assert_eq!(take(&v), vec![2, 3]);
        assert_eq!(take(v.as_slice()), vec![2, 3]);
        assert_eq!(take(&[4isize, -1][..]), vec![4, -1]);
        assert_eq!(take(vec![usize::MAX]), vec![isize::MAX]);
    }
}
