//! Conversions: dtype casts, contiguous copies, device moves, and extraction to Rust values.

use super::Tensor;
use crate::backend::cpu::{self, map};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::Device;

impl Tensor {
    /// A copy converted to `dtype` (the same tensor when it already has it). Float to int
    /// truncates toward zero; anything to bool is `!= 0`.
    #[track_caller]
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let out = map::cast(&*self.cpu_read("to_dtype")?, self.layout(), dtype);
        Ok(Tensor::from_storage(out, self.shape()).record(&[self], || Op::ToDtype))
    }

    /// The same elements in row-major order without gaps (the same tensor when already so).
    #[track_caller]
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let out = cpu::contiguous(&*self.cpu_read("contiguous")?, self.layout());
        Ok(Tensor::from_storage(out, self.shape()).record(&[self], || Op::Contiguous))
    }

    /// A new tensor with its own copy of the data (PyTorch's `t.clone()`): gradients flow back
    /// to `self`. Rust's `Clone::clone` is the cheap handle copy (a second name for the same
    /// tensor, like assigning it in Python); this is the copy.
    #[track_caller]
    pub fn deep_clone(&self) -> Result<Tensor> {
        crate::storage::checked_numel("deep_clone", self.shape(), self.dtype())?;
        let out = cpu::contiguous(&*self.cpu_read("deep_clone")?, self.layout());
        Ok(Tensor::from_storage(out, self.shape()).record(&[self], || Op::Contiguous))
    }

    /// A copy on `device` (only the CPU exists today).
    #[track_caller]
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        match device {
            Device::Cpu if self.device() == Device::Cpu => Ok(self.clone()),
            d => Err(Error::device("to_device", format!("no backend for device {d} yet"))),
        }
    }

    /// The elements in row-major order; an error if `T` is not the tensor's element type.
    #[track_caller]
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let s = self.cpu_read("to_vec")?;
        let Some(v) = T::slice(&s) else {
            return Err(Error::dtype(
                "to_vec",
                format!("tensor has dtype {} but {} was requested", self.dtype(), T::DTYPE),
            ));
        };
        Ok(cpu::contiguous_slice(v, self.layout()).into_owned())
    }

    /// Runs `f` over the elements of this contiguous tensor in place, for libraries that read
    /// and write whole buffers (MPI collectives). The storage is locked for writing while `f`
    /// runs, and its version counter moves, as for any in-place op. An error for another dtype
    /// than `T` or a non-contiguous tensor (PyTorch's collectives ask for contiguous ones too).
    #[track_caller]
    pub fn with_slice_mut<T: Element, R>(&self, f: impl FnOnce(&mut [T]) -> R) -> Result<R> {
        let range = self.contiguous_range::<T>("with_slice_mut")?;
        let mut s = self.storage().write();
        let v = T::slice_mut(&mut s).ok_or_else(|| Error::dtype("with_slice_mut", "storage dtype changed"))?;
        Ok(f(&mut v[range]))
    }

    /// Runs `f` over the elements of this contiguous tensor (read-only; see
    /// [`Tensor::with_slice_mut`]).
    #[track_caller]
    pub fn with_slice<T: Element, R>(&self, f: impl FnOnce(&[T]) -> R) -> Result<R> {
        let range = self.contiguous_range::<T>("with_slice")?;
        let s = self.cpu_read("with_slice")?;
        let v = T::slice(&s).ok_or_else(|| Error::dtype("with_slice", "storage dtype changed"))?;
        Ok(f(&v[range]))
    }

    #[track_caller]
    fn contiguous_range<T: Element>(&self, op: &'static str) -> Result<std::ops::Range<usize>> {
        if T::DTYPE != self.dtype() {
            return Err(Error::dtype(op, format!("tensor has dtype {} but {} was requested", self.dtype(), T::DTYPE)));
        }
        if !self.is_contiguous() {
            return Err(Error::value(op, "Tensors must be contiguous"));
        }
        if self.device() != Device::Cpu {
            return Err(Error::device(op, format!("no backend for device {} yet", self.device())));
        }
        Ok(self.storage_offset()..self.storage_offset() + self.numel())
    }

    /// The elements as f64, whatever the dtype (convenient for tests and printing).
    #[track_caller]
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        self.to_dtype(DType::F64)?.to_vec::<f64>()
    }

    /// The value of a one-element tensor.
    #[track_caller]
    pub fn item<T: Element>(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                format!("a tensor with {} elements cannot be converted to a scalar", self.numel()),
            ));
        }
        Ok(self.to_vec::<T>()?[0])
    }
}
