//! Constructors: from data, filled, ranges, identity, and seeded random tensors.

use super::Tensor;
use crate::backend::cpu::rng;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::storage::{checked_numel, Buf, CpuStorage};
use ember_kernels::threads;
use half::{bf16, f16};

/// A storage of `n` elements of `dtype` with element `i` = `f(i)` (computed in f64).
pub(crate) fn storage_from_fn(dtype: DType, n: usize, f: impl Fn(usize) -> f64 + Sync) -> CpuStorage {
    fn fill<T: Element>(n: usize, f: &(impl Fn(usize) -> f64 + Sync)) -> Vec<T> {
        let mut v = crate::storage::pool::take::<T>(n);
        threads::for_each_block_mut(&mut v, crate::backend::cpu::BLOCK, |b, chunk| {
            for (k, o) in chunk.iter_mut().enumerate() {
                *o = T::from_f64(f(b * crate::backend::cpu::BLOCK + k));
            }
        });
        v
    }
    match dtype {
        DType::Bool => CpuStorage::Bool(Buf::owned(fill(n, &f))),
        DType::U8 => CpuStorage::U8(Buf::owned(fill(n, &f))),
        DType::I8 => CpuStorage::I8(Buf::owned(fill(n, &f))),
        DType::I16 => CpuStorage::I16(Buf::owned(fill(n, &f))),
        DType::I32 => CpuStorage::I32(Buf::owned(fill(n, &f))),
        DType::I64 => CpuStorage::I64(Buf::owned(fill(n, &f))),
        DType::F16 => CpuStorage::F16(Buf::owned(fill::<f16>(n, &f))),
        DType::BF16 => CpuStorage::BF16(Buf::owned(fill::<bf16>(n, &f))),
        DType::F32 => CpuStorage::F32(Buf::owned(fill(n, &f))),
        DType::F64 => CpuStorage::F64(Buf::owned(fill(n, &f))),
    }
}

impl Tensor {
    /// A tensor owning `data` with `shape` (the element type picks the dtype).
    #[track_caller]
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let n = checked_numel("from_vec", shape, T::DTYPE)?;
        if data.len() != n {
            return Err(Error::shape(
                "from_vec",
                format!("{} elements cannot be viewed as shape {shape:?} ({n} elements)", data.len()),
            ));
        }
        Ok(Tensor::from_storage(T::into_storage(data), shape))
    }

    /// A tensor copied from a slice.
    #[track_caller]
    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// A 0-d tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor::from_storage(T::into_storage(vec![v]), &[])
    }

    /// A tensor of `shape` filled with `value` (converted to `dtype` as `as` does).
    #[track_caller]
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        let n = checked_numel("full", shape, dtype)?;
        Ok(Tensor::from_storage(storage_from_fn(dtype, n, |_| value), shape))
    }

    /// Zeros.
    #[track_caller]
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        let n = checked_numel("zeros", shape, dtype)?;
        Ok(Tensor::from_storage(CpuStorage::zeros_pooled(dtype, n), shape))
    }

    /// Ones.
    #[track_caller]
    pub fn ones(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, 1.0, dtype)
    }

    /// Zeros with the shape and dtype of `t`.
    #[track_caller]
    pub fn zeros_like(t: &Tensor) -> Result<Tensor> {
        Tensor::zeros(t.shape(), t.dtype())
    }

    /// Ones with the shape and dtype of `t`.
    #[track_caller]
    pub fn ones_like(t: &Tensor) -> Result<Tensor> {
        Tensor::ones(t.shape(), t.dtype())
    }

    /// `value` with the shape and dtype of `t`.
    #[track_caller]
    pub fn full_like(t: &Tensor, value: f64) -> Result<Tensor> {
        Tensor::full(t.shape(), value, t.dtype())
    }

    /// `start, start + step, ...` up to `end` (exclusive).
    #[track_caller]
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::value("arange", format!("invalid range start={start} end={end} step={step}")));
        }
        if (end - start) * step < 0.0 {
            return Err(Error::value(
                "arange",
                format!(
                    "upper bound and larger bound inconsistent with step sign (start={start}, end={end}, step={step})"
                ),
            ));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        checked_numel("arange", &[n], dtype)?;
        Ok(Tensor::from_storage(storage_from_fn(dtype, n, |i| start + i as f64 * step), &[n]))
    }

    /// `steps` points evenly spaced from `start` to `end` inclusive.
    #[track_caller]
    pub fn linspace(start: f64, end: f64, steps: usize, dtype: DType) -> Result<Tensor> {
        checked_numel("linspace", &[steps], dtype)?;
        let step = if steps > 1 { (end - start) / (steps - 1) as f64 } else { 0.0 };
        // PyTorch fills the second half from the end, so the last point is exactly `end`.
        let half = steps / 2;
        Ok(Tensor::from_storage(
            storage_from_fn(dtype, steps, |i| {
                if i < half {
                    start + step * i as f64
                } else {
                    end - step * (steps - 1 - i) as f64
                }
            }),
            &[steps],
        ))
    }

    /// The `n x n` identity matrix.
    #[track_caller]
    pub fn eye(n: usize, dtype: DType) -> Result<Tensor> {
        checked_numel("eye", &[n, n], dtype)?;
        Ok(Tensor::from_storage(storage_from_fn(dtype, n * n, |i| if i / n == i % n { 1.0 } else { 0.0 }), &[n, n]))
    }

    /// Uniform samples in [0, 1) from the global generator (`manual_seed`).
    #[track_caller]
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::uniform(shape, 0.0, 1.0, dtype)
    }

    /// Uniform samples in [low, high).
    #[track_caller]
    pub fn uniform(shape: &[usize], low: f64, high: f64, dtype: DType) -> Result<Tensor> {
        if !dtype.is_float() {
            return Err(Error::dtype("rand", format!("expected a floating point dtype, got {dtype}")));
        }
        let n = checked_numel("rand", shape, dtype)?;
        let (seed, start) = rng::reserve(n as u64);
        let data = if dtype == DType::F64 {
            storage_from_fn(dtype, n, |i| low + (high - low) * rng::uniform_f64(seed, start + i as u64))
        } else {
            storage_from_fn(dtype, n, |i| low + (high - low) * rng::uniform_f32(seed, start + i as u64) as f64)
        };
        Ok(Tensor::from_storage(data, shape))
    }

    /// Standard normal samples from the global generator.
    #[track_caller]
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::normal(shape, 0.0, 1.0, dtype)
    }

    /// Normal samples with mean `mean` and standard deviation `std`.
    #[track_caller]
    pub fn normal(shape: &[usize], mean: f64, std: f64, dtype: DType) -> Result<Tensor> {
        if !dtype.is_float() {
            return Err(Error::dtype("randn", format!("expected a floating point dtype, got {dtype}")));
        }
        let n = checked_numel("randn", shape, dtype)?;
        let (seed, start) = rng::reserve(n as u64);
        // Counters (start + i) are split into two uniforms each inside `rng::normal`, so a
        // draw of n normals uses counters [2 start, 2 (start + n)): disjoint from other draws.
        Ok(Tensor::from_storage(storage_from_fn(dtype, n, |i| mean + std * rng::normal(seed, start + i as u64)), shape))
    }

    /// Integers uniform in [low, high).
    #[track_caller]
    pub fn randint(low: i64, high: i64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        if high <= low {
            return Err(Error::value(
                "randint",
                format!("random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"),
            ));
        }
        let n = checked_numel("randint", shape, dtype)?;
        let (seed, start) = rng::reserve(n as u64);
        // i128: `high - low` overflows i64 for the widest ranges.
        let range = (high as i128 - low as i128).min(u64::MAX as i128) as u64;
        Ok(Tensor::from_storage(
            storage_from_fn(dtype, n, |i| (low as i128 + rng::below(seed, start + i as u64, range) as i128) as f64),
            shape,
        ))
    }
}
