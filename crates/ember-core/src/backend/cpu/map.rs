//! Elementwise CPU ops: unary maps, binary ops on same-shape views, comparisons, `where`, and
//! dtype casts. f16/bf16 inputs are widened to f32, computed, and rounded once.

use super::{contiguous_slice, from_f32_vec, to_f32_vec, BLOCK};
use crate::backend::{BinaryOp, CmpOp, UnaryOp};
use crate::dtype::{DType, Element};
use crate::layout::{for_each_run_n, Layout};
use crate::storage::{pool, Buf, CpuStorage};
use ember_kernels::{stream, threads, vmath};

/// Float math shared by f32 and f64 scalar paths.
pub trait Float:
    Element
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    fn of(v: f64) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tanh(self) -> Self;
    fn abs(self) -> Self;
    fn powf(self, p: Self) -> Self;
    fn is_nan(self) -> bool;
    fn erf(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    /// Round half to even (PyTorch's `round`).
    fn round_even(self) -> Self;
    fn trunc(self) -> Self;
    fn ln_1p(self) -> Self;
    fn exp_m1(self) -> Self;
    fn log2(self) -> Self;
    fn log10(self) -> Self;
    fn tan(self) -> Self;
    fn asin(self) -> Self;
    fn acos(self) -> Self;
    fn atan(self) -> Self;
    fn sinh(self) -> Self;
    fn cosh(self) -> Self;
    fn asinh(self) -> Self;
    fn acosh(self) -> Self;
    fn atanh(self) -> Self;
    fn atan2(self, o: Self) -> Self;
    fn max_nan(self, o: Self) -> Self {
        // PyTorch's maximum propagates NaN from either side.
        if self.is_nan() || o.is_nan() {
            Self::of(f64::NAN)
        } else if self > o {
            self
        } else {
            o
        }
    }
    fn min_nan(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            Self::of(f64::NAN)
        } else if self < o {
            self
        } else {
            o
        }
    }
}

macro_rules! float_impl {
    (@std $t:ty: $($f:ident)*) => {$(
        #[inline(always)]
        fn $f(self) -> Self {
            <$t>::$f(self)
        }
    )*};
    ($t:ty, $erf:expr) => {
        impl Float for $t {
            #[inline(always)]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn powf(self, p: Self) -> Self {
                <$t>::powf(self, p)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                let f: fn($t) -> $t = $erf;
                f(self)
            }
            #[inline(always)]
            fn round_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            #[inline(always)]
            fn atan2(self, o: Self) -> Self {
                <$t>::atan2(self, o)
            }
            float_impl!(@std $t: floor ceil trunc ln_1p exp_m1 log2 log10 tan asin acos atan sinh cosh asinh acosh atanh);
        }
    };
}
float_impl!(f32, |x| vmath::erf_f64(x as f64) as f32);
float_impl!(f64, vmath::erf_f64);

/// Integer element types, computed through `i64` with wrapping (PyTorch's overflow rule).
pub trait Int: Element {
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
}

macro_rules! int_impl {
    ($($t:ty),*) => {$(
        impl Int for $t {
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    )*};
}
int_impl!(i64, i32, i16, i8, u8);

/// Maps `f` over a strided view into a new contiguous vector.
pub fn map_strided<T: Copy + Sync, U: Element>(v: &[T], l: &Layout, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let n = l.numel();
    let mut out = pool::take::<U>(n);
    by_row_blocks([l], &mut out, |[l], o| map_runs(v, l, &f, o));
    out
}

#[inline(always)]
fn map_runs<T: Copy, U>(v: &[T], l: &Layout, f: &impl Fn(T) -> U, out: &mut [U]) {
    let mut pos = 0;
    l.for_each_run(|o, len, s| {
        let dst = &mut out[pos..pos + len];
        if s == 1 {
            for (d, &x) in dst.iter_mut().zip(&v[o..o + len]) {
                *d = f(x);
            }
        } else {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = f(v[o + i * s]);
            }
        }
        pos += len;
    });
}

/// `out[i] = f(x[i])`, one monomorphised (vectorisable) loop per closure.
#[inline(always)]
fn map_into(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// One block of a unary op: the table's per-op loop or SIMD kernel (`UnaryOp::f32_block`),
/// with loops of their own for the scalar powers hot code uses (`x^2`, `x^-0.5`, ...), whose
/// exponent the generic loop would test per element.
fn unary_f32_block(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    match op {
        UnaryOp::PowScalar(2.0) => map_into(x, out, |v| v * v),
        UnaryOp::PowScalar(3.0) => map_into(x, out, |v| v * v * v),
        UnaryOp::PowScalar(0.5) => map_into(x, out, f32::sqrt),
        UnaryOp::PowScalar(-0.5) => map_into(x, out, |v| 1.0 / v.sqrt()),
        UnaryOp::PowScalar(-1.0) => map_into(x, out, |v| 1.0 / v),
        _ => op.f32_block(x, out),
    }
}

fn unary_f32(x: &[f32], op: UnaryOp) -> Vec<f32> {
    let mut out = pool::take::<f32>(x.len());
    threads::for_each_span_mut(&mut out, threads::MAP_GRAIN, |s, chunk| {
        unary_f32_block(op, &x[s..s + chunk.len()], chunk)
    });
    out
}

/// `op` applied to every element of a float or (for `keeps_int` ops) integer view.
pub fn unary(s: &CpuStorage, l: &Layout, op: UnaryOp) -> CpuStorage {
    match s {
        CpuStorage::F64(v) => CpuStorage::F64(Buf::owned(map_strided(v, l, |x| op.scalar(x)))),
        CpuStorage::I64(v) => {
            CpuStorage::I64(Buf::owned(map_strided(v, l, |x| Int::from_i64(op.scalar_int(x.to_i64())))))
        }
        CpuStorage::I32(v) => {
            CpuStorage::I32(Buf::owned(map_strided(v, l, |x| Int::from_i64(op.scalar_int(x.to_i64())))))
        }
        CpuStorage::U8(v) => {
            CpuStorage::U8(Buf::owned(map_strided(v, l, |x| Int::from_i64(op.scalar_int(x.to_i64())))))
        }
        CpuStorage::I8(v) => {
            CpuStorage::I8(Buf::owned(map_strided(v, l, |x| Int::from_i64(op.scalar_int(x.to_i64())))))
        }
        CpuStorage::I16(v) => {
            CpuStorage::I16(Buf::owned(map_strided(v, l, |x| Int::from_i64(op.scalar_int(x.to_i64())))))
        }
        CpuStorage::Bool(v) => CpuStorage::Bool(Buf::owned(contiguous_slice(v, l).into_owned())),
        _ => {
            // Tensor methods only send float storage here, so to_f32_vec is Some.
            let x = to_f32_vec(s, l).unwrap_or_default();
            from_f32_vec(unary_f32(&x, op), s)
        }
    }
}

/// `f(a, b)` over two same-shape views into a contiguous vector, with fast paths for
/// contiguous operands and broadcast (stride-0) rows.
#[inline(always)]
pub fn zip_strided<T: Copy + Send + Sync, U: Element>(
    a: &[T],
    la: &Layout,
    b: &[T],
    lb: &Layout,
    f: impl Fn(T, T) -> U + Sync,
) -> Vec<U> {
    let n = la.numel();
    if n <= BLOCK && la.is_contiguous() && lb.is_contiguous() {
        // One block (the tiny-op case): a single exact allocation, no zero fill, no pool or
        // thread-count lookups.
        let (a, b) = (&a[la.offset()..la.offset() + n], &b[lb.offset()..lb.offset() + n]);
        return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    }
    let mut out = pool::take::<U>(n);
    if la.is_contiguous() && lb.is_contiguous() {
        let (a, b) = (&a[la.offset()..la.offset() + n], &b[lb.offset()..lb.offset() + n]);
        threads::for_each_span_mut(&mut out, threads::MAP_GRAIN, |start, chunk| {
            for ((o, &x), &y) in chunk.iter_mut().zip(&a[start..]).zip(&b[start..]) {
                *o = f(x, y);
            }
        });
        return out;
    }
    by_row_blocks([la, lb], &mut out, |[la, lb], o| zip_runs(a, la, b, lb, &f, o));
    out
}

/// Fills `out` (contiguous, the shape of `ls[0]`) with `f(layouts, out)`. Large outputs split
/// along dim 0 into blocks of whole rows, filled in parallel with sub-layouts of each block:
/// broadcast and strided elementwise ops (a bias add over a conv output, the `contiguous()`
/// of a transposed activation, relu's backward) are otherwise one serial pass.
fn by_row_blocks<const N: usize, U: Send>(ls: [&Layout; N], out: &mut [U], f: impl Fn([&Layout; N], &mut [U]) + Sync) {
    let n = out.len();
    let rows = ls[0].shape().first().copied().unwrap_or(1);
    if n > BLOCK && rows >= 2 && threads::num_threads() > 1 {
        let inner = n / rows;
        let block_rows = (BLOCK / inner.max(1)).max(1);
        threads::for_each_block_mut(out, block_rows * inner, |blk, chunk| {
            let (r0, r) = (blk * block_rows, chunk.len() / inner);
            let sliced: [Layout; N] = std::array::from_fn(|i| ls[i].slice(0, r0, r, 1));
            f(std::array::from_fn(|i| &sliced[i]), chunk);
        });
    } else {
        f(ls, out);
    }
}

/// `dst[i] = f(a[i], b[i])` over two same-shape strided views, run by run.
#[inline(always)]
fn zip_runs<T: Copy, U>(a: &[T], la: &Layout, b: &[T], lb: &Layout, f: &impl Fn(T, T) -> U, out: &mut [U]) {
    let mut pos = 0;
    for_each_run_n(&[la, lb], |offs, len, strides| {
        let dst = &mut out[pos..pos + len];
        let (oa, ob) = (offs[0], offs[1]);
        match (strides[0], strides[1]) {
            (1, 1) => {
                for ((o, &x), &y) in dst.iter_mut().zip(&a[oa..oa + len]).zip(&b[ob..ob + len]) {
                    *o = f(x, y);
                }
            }
            (1, 0) => {
                let y = b[ob];
                for (o, &x) in dst.iter_mut().zip(&a[oa..oa + len]) {
                    *o = f(x, y);
                }
            }
            (0, 1) => {
                let x = a[oa];
                for (o, &y) in dst.iter_mut().zip(&b[ob..ob + len]) {
                    *o = f(x, y);
                }
            }
            (sa, sb) => {
                for (i, o) in dst.iter_mut().enumerate() {
                    *o = f(a[oa + i * sa], b[ob + i * sb]);
                }
            }
        }
        pos += len;
    });
}

/// `a op b` for same-shape, same-dtype numeric views. Bool storage is rejected by callers.
pub fn binary(a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout, op: BinaryOp) -> CpuStorage {
    match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => CpuStorage::F32(Buf::owned(binary_f32(x, la, y, lb, op))),
        (CpuStorage::F64(x), CpuStorage::F64(y)) => CpuStorage::F64(Buf::owned(op.zip_float(x, la, y, lb))),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => CpuStorage::I64(Buf::owned(op.zip_int(x, la, y, lb))),
        (CpuStorage::I32(x), CpuStorage::I32(y)) => CpuStorage::I32(Buf::owned(op.zip_int(x, la, y, lb))),
        (CpuStorage::U8(x), CpuStorage::U8(y)) => CpuStorage::U8(Buf::owned(op.zip_int(x, la, y, lb))),
        (CpuStorage::I8(x), CpuStorage::I8(y)) => CpuStorage::I8(Buf::owned(op.zip_int(x, la, y, lb))),
        (CpuStorage::I16(x), CpuStorage::I16(y)) => CpuStorage::I16(Buf::owned(op.zip_int(x, la, y, lb))),
        (CpuStorage::Bool(x), CpuStorage::Bool(y)) => {
            CpuStorage::Bool(Buf::owned(zip_strided(x, la, y, lb, |p, q| op.scalar_bool(p, q))))
        }
        _ => {
            // Half types (or a mix the caller already promoted away): widen, compute, round.
            let x = to_f32_vec(a, la).unwrap_or_default();
            let y = to_f32_vec(b, lb).unwrap_or_default();
            let c = Layout::contiguous(la.shape());
            from_f32_vec(binary_f32(&x, &c, &y, &c, op), a)
        }
    }
}

fn binary_f32(x: &[f32], la: &Layout, y: &[f32], lb: &Layout, op: BinaryOp) -> Vec<f32> {
    let n = la.numel();
    let arith = match op {
        BinaryOp::Add => Some(stream::Arith::Add),
        BinaryOp::Sub => Some(stream::Arith::Sub),
        BinaryOp::Mul => Some(stream::Arith::Mul),
        BinaryOp::Div => Some(stream::Arith::Div),
        _ => None,
    };
    if let Some(arith) = arith.filter(|_| n * 4 >= stream::STREAM_MIN_BYTES && la.is_contiguous() && lb.is_contiguous())
    {
        // Outputs larger than the caches: streaming stores skip reading the destination.
        let (x, y) = (&x[la.offset()..la.offset() + n], &y[lb.offset()..lb.offset() + n]);
        let mut out = pool::take::<f32>(n);
        threads::for_each_span_mut(&mut out, threads::MAP_GRAIN, |s, chunk| {
            stream::binary_stream(arith, &x[s..s + chunk.len()], &y[s..s + chunk.len()], chunk)
        });
        return out;
    }
    // One monomorphised loop per op (generated from the table), so each inner loop is a
    // plain vectorisable expression.
    op.zip_float(x, la, y, lb)
}

/// Elementwise comparison of same-shape, same-dtype views.
pub fn cmp(a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout, op: CmpOp) -> Vec<bool> {
    fn go<T: Element>(x: &[T], la: &Layout, y: &[T], lb: &Layout, op: CmpOp) -> Vec<bool> {
        match op {
            CmpOp::Eq => zip_strided(x, la, y, lb, |p, q| p == q),
            CmpOp::Ne => zip_strided(x, la, y, lb, |p, q| p != q),
            CmpOp::Lt => zip_strided(x, la, y, lb, |p, q| p < q),
            CmpOp::Le => zip_strided(x, la, y, lb, |p, q| p <= q),
            CmpOp::Gt => zip_strided(x, la, y, lb, |p, q| p > q),
            CmpOp::Ge => zip_strided(x, la, y, lb, |p, q| p >= q),
        }
    }
    match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => go(x, la, y, lb, op),
        (CpuStorage::F64(x), CpuStorage::F64(y)) => go(x, la, y, lb, op),
        (CpuStorage::F16(x), CpuStorage::F16(y)) => go(x, la, y, lb, op),
        (CpuStorage::BF16(x), CpuStorage::BF16(y)) => go(x, la, y, lb, op),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => go(x, la, y, lb, op),
        (CpuStorage::I32(x), CpuStorage::I32(y)) => go(x, la, y, lb, op),
        (CpuStorage::U8(x), CpuStorage::U8(y)) => go(x, la, y, lb, op),
        (CpuStorage::I8(x), CpuStorage::I8(y)) => go(x, la, y, lb, op),
        (CpuStorage::I16(x), CpuStorage::I16(y)) => go(x, la, y, lb, op),
        (CpuStorage::Bool(x), CpuStorage::Bool(y)) => go(x, la, y, lb, op),
        _ => unreachable!("cmp: callers promote both sides to one dtype"),
    }
}

/// `cond ? a : b` elementwise; all three views have the same shape, `a` and `b` one dtype.
pub fn where_(c: &[bool], lc: &Layout, a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout) -> CpuStorage {
    fn go<T: Element>(c: &[bool], lc: &Layout, x: &[T], la: &Layout, y: &[T], lb: &Layout) -> Vec<T> {
        let mut out = pool::take::<T>(lc.numel());
        by_row_blocks([lc, la, lb], &mut out, |[lc, la, lb], out| {
            let mut pos = 0;
            for_each_run_n(&[lc, la, lb], |offs, len, s| {
                let dst = &mut out[pos..pos + len];
                let (c, x, y) = (&c[offs[0]..], &x[offs[1]..], &y[offs[2]..]);
                // Runs of contiguous operands, or a broadcast scalar branch (relu's backward
                // selects against a zero), vectorise; anything else goes element by element.
                match (s[0], s[1], s[2]) {
                    (1, 1, 1) => {
                        for (((d, &c), &x), &y) in dst.iter_mut().zip(&c[..len]).zip(&x[..len]).zip(&y[..len]) {
                            *d = if c { x } else { y };
                        }
                    }
                    (1, 1, 0) => {
                        let y = y[0];
                        for ((d, &c), &x) in dst.iter_mut().zip(&c[..len]).zip(&x[..len]) {
                            *d = if c { x } else { y };
                        }
                    }
                    (1, 0, 1) => {
                        let x = x[0];
                        for ((d, &c), &y) in dst.iter_mut().zip(&c[..len]).zip(&y[..len]) {
                            *d = if c { x } else { y };
                        }
                    }
                    (sc, sx, sy) => {
                        for (i, d) in dst.iter_mut().enumerate() {
                            *d = if c[i * sc] { x[i * sx] } else { y[i * sy] };
                        }
                    }
                }
                pos += len;
            });
        });
        out
    }
    match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => CpuStorage::F32(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::F64(x), CpuStorage::F64(y)) => CpuStorage::F64(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::F16(x), CpuStorage::F16(y)) => CpuStorage::F16(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::BF16(x), CpuStorage::BF16(y)) => CpuStorage::BF16(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => CpuStorage::I64(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::I32(x), CpuStorage::I32(y)) => CpuStorage::I32(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::U8(x), CpuStorage::U8(y)) => CpuStorage::U8(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::I8(x), CpuStorage::I8(y)) => CpuStorage::I8(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::I16(x), CpuStorage::I16(y)) => CpuStorage::I16(Buf::owned(go(c, lc, x, la, y, lb))),
        (CpuStorage::Bool(x), CpuStorage::Bool(y)) => CpuStorage::Bool(Buf::owned(go(c, lc, x, la, y, lb))),
        _ => unreachable!("where: callers promote both branches to one dtype"),
    }
}

/// A view converted to integer `dtype` through `i64` (`to_i64`), each value wrapped into the
/// type's width (two's complement truncation), in one pass.
fn to_int_storage<T: Copy + Sync>(v: &[T], l: &Layout, dtype: DType, to_i64: impl Fn(T) -> i64 + Sync) -> CpuStorage {
    match dtype {
        DType::U8 => CpuStorage::U8(Buf::owned(map_strided(v, l, |x| u8::from_i64(to_i64(x))))),
        DType::I8 => CpuStorage::I8(Buf::owned(map_strided(v, l, |x| i8::from_i64(to_i64(x))))),
        DType::I16 => CpuStorage::I16(Buf::owned(map_strided(v, l, |x| i16::from_i64(to_i64(x))))),
        DType::I32 => CpuStorage::I32(Buf::owned(map_strided(v, l, |x| i32::from_i64(to_i64(x))))),
        _ => CpuStorage::I64(Buf::owned(map_strided(v, l, to_i64))),
    }
}

fn cast_vec<T: Element, U: Element>(v: &[T], l: &Layout) -> Vec<U> {
    map_strided(v, l, |x| U::from_f64(x.to_f64()))
}

/// A contiguous copy of a view converted to `dtype` (float to int truncates toward zero, any
/// to bool is `!= 0`, as in PyTorch).
pub fn cast(s: &CpuStorage, l: &Layout, dtype: DType) -> CpuStorage {
    if s.dtype() == dtype {
        return super::contiguous(s, l);
    }
    // Fast exact paths for the conversions that hot code uses.
    match (s, dtype) {
        (CpuStorage::F32(v), DType::BF16) => {
            return CpuStorage::BF16(Buf::owned(map_strided(v, l, half::bf16::from_f32)))
        }
        (CpuStorage::F32(v), DType::F16) => return CpuStorage::F16(Buf::owned(map_strided(v, l, half::f16::from_f32))),
        (CpuStorage::BF16(v), DType::F32) => return CpuStorage::F32(Buf::owned(map_strided(v, l, |x| x.to_f32()))),
        (CpuStorage::F16(v), DType::F32) => return CpuStorage::F32(Buf::owned(map_strided(v, l, |x| x.to_f32()))),
        (CpuStorage::I32(v), DType::I64) => return CpuStorage::I64(Buf::owned(map_strided(v, l, |x| x as i64))),
        (CpuStorage::I64(v), DType::I32) => return CpuStorage::I32(Buf::owned(map_strided(v, l, |x| x as i32))),
        _ => {}
    }
    if dtype.is_int() {
        // Integers wrap into a narrower integer type; floats truncate toward zero through i64
        // (so 300.0 becomes 44 in int8 and uint8, as in PyTorch).
        return match s {
            CpuStorage::I64(v) => to_int_storage(v, l, dtype, Int::to_i64),
            CpuStorage::I32(v) => to_int_storage(v, l, dtype, Int::to_i64),
            CpuStorage::I16(v) => to_int_storage(v, l, dtype, Int::to_i64),
            CpuStorage::I8(v) => to_int_storage(v, l, dtype, Int::to_i64),
            CpuStorage::U8(v) => to_int_storage(v, l, dtype, Int::to_i64),
            _ => crate::with_storage!(s, v => to_int_storage(v, l, dtype, |x| x.to_f64() as i64)),
        };
    }
    crate::with_storage!(s, v => match dtype {
        DType::Bool => CpuStorage::Bool(Buf::owned(cast_vec(v, l))),
        DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64 => unreachable!("handled above"),
        DType::F16 => CpuStorage::F16(Buf::owned(cast_vec(v, l))),
        DType::BF16 => CpuStorage::BF16(Buf::owned(cast_vec(v, l))),
        DType::F32 => CpuStorage::F32(Buf::owned(cast_vec(v, l))),
        DType::F64 => CpuStorage::F64(Buf::owned(cast_vec(v, l))),
    })
}
