//! Diagonals, products and reorderings with PyTorch's signatures: `diagonal`, `diag`,
//! `diag_embed`, `diagflat`, `trace`, `kron`, `addmm`, `addmv`, `baddbmm`, `addcmul`,
//! `addcdiv`, `lerp`, `roll`, `rot90`, `movedim`, `repeat_interleave`, `tile`, `fliplr`,
//! `flipud`, the functions `einsum`, `tensordot`, `cdist`, and `ember.linalg`'s norms (its
//! decompositions are in `linalg.rs`).

use crate::args::{int_list, maybe_detach, to_usizes, varargs_sizes};
use crate::convert::to_tensor;
use crate::errors::{type_error, IntoPyResult};
use crate::methods::tensor_list;
use crate::tensor::PyTensor;
use ember::Tensor;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

type R = PyResult<PyTensor>;

fn wrap(r: ember::Result<Tensor>) -> R {
    r.py().map(PyTensor::new)
}

/// `torch.einsum(equation, *operands)`; the operands may also come as one list.
#[pyfunction]
#[pyo3(signature = (equation, *operands))]
pub fn einsum(py: Python<'_>, equation: &str, operands: &Bound<'_, PyTuple>) -> R {
    let ts = if operands.len() == 1 && !operands.get_item(0)?.is_instance_of::<PyTensor>() {
        tensor_list(&operands.get_item(0)?, "operands")?
    } else {
        tensor_list(operands.as_any(), "operands")?
    };
    let work: usize = ts.iter().map(|t| t.numel()).sum();
    wrap(maybe_detach(py, work, || Tensor::einsum(equation, &ts.iter().collect::<Vec<_>>())))
}

/// `torch.tensordot(a, b, dims=2)`: `dims` an int (the last n of `a` with the first n of `b`)
/// or two lists of dims.
#[pyfunction]
#[pyo3(signature = (a, b, dims=None))]
pub fn tensordot(a: PyRef<'_, PyTensor>, b: PyRef<'_, PyTensor>, dims: Option<&Bound<'_, PyAny>>) -> R {
    let (da, db): (Vec<isize>, Vec<isize>) = match dims {
        None => tensordot_n(&a.t, 2)?,
        Some(d) if d.extract::<isize>().is_ok() => tensordot_n(&a.t, d.extract()?)?,
        Some(d) => {
            let pair: (Bound<'_, PyAny>, Bound<'_, PyAny>) =
                d.extract().map_err(|_| type_error("tensordot expects dims to be an int or a pair of lists"))?;
            (int_list(&pair.0, "dims")?, int_list(&pair.1, "dims")?)
        }
    };
    wrap(a.t.tensordot(&b.t, &da, &db))
}

fn tensordot_n(a: &Tensor, n: isize) -> PyResult<(Vec<isize>, Vec<isize>)> {
    let nd = a.dim() as isize;
    if n < 0 || n > nd {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "tensordot expects dims >= 0 and <= {nd}, but got dims={n}"
        )));
    }
    Ok(((nd - n..nd).collect(), (0..n).collect()))
}

/// `torch.cdist(x1, x2, p=2.0)`.
#[pyfunction]
#[pyo3(signature = (x1, x2, p=2.0, compute_mode=None))]
pub fn cdist(
    x1: PyRef<'_, PyTensor>,
    x2: PyRef<'_, PyTensor>,
    p: f64,
    compute_mode: Option<&Bound<'_, PyString>>,
) -> R {
    let _ = compute_mode; // one algorithm per p here
    wrap(x1.t.cdist(&x2.t, p))
}

/// `beta * input + alpha * product`, PyTorch's `addmm`-family arithmetic.
fn add_scaled(input: &Tensor, a: &Tensor, b: &Tensor, beta: f64, alpha: f64) -> R {
    wrap(input.addmm(a, b, beta, alpha))
}

#[pymethods]
impl PyTensor {
    /// Windows of `size` every `step` along `dimension`, as a new last dim (a view).
    fn unfold(&self, dimension: isize, size: i64, step: i64) -> R {
        let size = usize::try_from(size)
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err(format!("size is {size} but must be >= 0")))?;
        let step = usize::try_from(step)
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err(format!("step is {step} but must be > 0")))?;
        wrap(self.t.unfold(dimension, size, step))
    }

    /// A view with explicit sizes, strides and storage offset (not differentiable here).
    #[pyo3(signature = (size, stride, storage_offset=None))]
    fn as_strided(&self, size: &Bound<'_, PyAny>, stride: &Bound<'_, PyAny>, storage_offset: Option<i64>) -> R {
        let size = crate::args::to_usizes(&crate::args::int_list(size, "size")?, "as_strided")?;
        let stride = crate::args::to_usizes(&crate::args::int_list(stride, "stride")?, "as_strided")?;
        let offset = match storage_offset {
            Some(o) => usize::try_from(o).map_err(|_| {
                pyo3::exceptions::PyRuntimeError::new_err(format!("Tensor: invalid storage offset {o}"))
            })?,
            None => self.t.storage_offset(),
        };
        wrap(self.t.as_strided(&size, &stride, offset))
    }

    #[pyo3(signature = (offset=0, dim1=0, dim2=1))]
    fn diagonal(&self, offset: isize, dim1: isize, dim2: isize) -> R {
        wrap(self.t.diagonal(offset, dim1, dim2))
    }

    #[pyo3(signature = (diagonal=0))]
    fn diag(&self, diagonal: isize) -> R {
        wrap(self.t.diag(diagonal))
    }

    #[pyo3(signature = (offset=0, dim1=-2, dim2=-1))]
    fn diag_embed(&self, offset: isize, dim1: isize, dim2: isize) -> R {
        wrap(self.t.diag_embed(offset, dim1, dim2))
    }

    #[pyo3(signature = (offset=0))]
    fn diagflat(&self, offset: isize) -> R {
        wrap(self.t.diagflat(offset))
    }

    fn trace(&self) -> R {
        wrap(self.t.trace())
    }

    fn kron(&self, other: PyRef<'_, PyTensor>) -> R {
        wrap(self.t.kron(&other.t))
    }

    #[pyo3(signature = (mat1, mat2, *, beta=1.0, alpha=1.0))]
    fn addmm(&self, mat1: PyRef<'_, PyTensor>, mat2: PyRef<'_, PyTensor>, beta: f64, alpha: f64) -> R {
        if mat1.t.dim() != 2 || mat2.t.dim() != 2 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("addmm: mat1 and mat2 must be matrices"));
        }
        add_scaled(&self.t, &mat1.t, &mat2.t, beta, alpha)
    }

    #[pyo3(signature = (mat, vec, *, beta=1.0, alpha=1.0))]
    fn addmv(&self, mat: PyRef<'_, PyTensor>, vec: PyRef<'_, PyTensor>, beta: f64, alpha: f64) -> R {
        if mat.t.dim() != 2 || vec.t.dim() != 1 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("addmv: expected a matrix and a vector"));
        }
        add_scaled(&self.t, &mat.t, &vec.t, beta, alpha)
    }

    #[pyo3(signature = (batch1, batch2, *, beta=1.0, alpha=1.0))]
    fn baddbmm(&self, batch1: PyRef<'_, PyTensor>, batch2: PyRef<'_, PyTensor>, beta: f64, alpha: f64) -> R {
        if batch1.t.dim() != 3 || batch2.t.dim() != 3 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("baddbmm: batch1 and batch2 must be 3-D tensors"));
        }
        add_scaled(&self.t, &batch1.t, &batch2.t, beta, alpha)
    }

    #[pyo3(signature = (tensor1, tensor2, *, value=1.0))]
    fn addcmul(&self, tensor1: PyRef<'_, PyTensor>, tensor2: PyRef<'_, PyTensor>, value: f64) -> R {
        wrap(self.t.addcmul(&tensor1.t, &tensor2.t, value))
    }

    #[pyo3(signature = (tensor1, tensor2, *, value=1.0))]
    fn addcdiv(&self, tensor1: PyRef<'_, PyTensor>, tensor2: PyRef<'_, PyTensor>, value: f64) -> R {
        wrap(self.t.addcdiv(&tensor1.t, &tensor2.t, value))
    }

    /// `lerp(end, weight)`, `weight` a number or a tensor.
    fn lerp(&self, end: PyRef<'_, PyTensor>, weight: &Bound<'_, PyAny>) -> R {
        let w = match weight.extract::<PyRef<'_, PyTensor>>() {
            Ok(w) => w.t.clone(),
            Err(_) => Tensor::full(&[], weight.extract::<f64>()?, self.t.dtype()).py()?,
        };
        wrap(self.t.lerp(&end.t, &w))
    }

    #[pyo3(signature = (shifts, dims=None))]
    fn roll(&self, shifts: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>>) -> R {
        let shifts = int_list(shifts, "shifts")?;
        let dims = match dims.filter(|d| !d.is_none()) {
            Some(d) => int_list(d, "dims")?,
            None => Vec::new(),
        };
        wrap(self.t.roll(&shifts, &dims))
    }

    #[pyo3(signature = (k=1, dims=None))]
    fn rot90(&self, k: isize, dims: Option<&Bound<'_, PyAny>>) -> R {
        let d = match dims {
            Some(d) => int_list(d, "dims")?,
            None => vec![0, 1],
        };
        let [a, b] = d[..] else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "expected total rotation dims == 2, but got dims = {}",
                d.len()
            )));
        };
        wrap(self.t.rot90(k, [a, b]))
    }

    fn movedim(&self, source: &Bound<'_, PyAny>, destination: &Bound<'_, PyAny>) -> R {
        wrap(self.t.movedim(&int_list(source, "source")?, &int_list(destination, "destination")?))
    }

    fn moveaxis(&self, source: &Bound<'_, PyAny>, destination: &Bound<'_, PyAny>) -> R {
        self.movedim(source, destination)
    }

    #[pyo3(signature = (repeats, dim=None, *, output_size=None))]
    fn repeat_interleave(&self, repeats: &Bound<'_, PyAny>, dim: Option<isize>, output_size: Option<usize>) -> R {
        let _ = output_size;
        let reps: Vec<isize> = match repeats.extract::<isize>() {
            Ok(r) => vec![r],
            Err(_) => to_tensor(repeats, "repeats")?
                .to_dtype(ember::DType::I64)
                .py()?
                .to_vec::<i64>()
                .py()?
                .into_iter()
                .map(|v| v as isize)
                .collect(),
        };
        wrap(self.t.repeat_interleave(&to_usizes(&reps, "repeat_interleave")?, dim))
    }

    #[pyo3(signature = (*dims))]
    fn tile(&self, dims: &Bound<'_, PyTuple>) -> R {
        wrap(self.t.tile(&to_usizes(&varargs_sizes(dims, "dims")?, "tile")?))
    }

    fn fliplr(&self) -> R {
        if self.t.dim() < 2 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("Input must be >= 2-d."));
        }
        wrap(self.t.flip(&[1]))
    }

    fn flipud(&self) -> R {
        if self.t.dim() < 1 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("Input must be >= 1-d."));
        }
        wrap(self.t.flip(&[0]))
    }
}

/// `ember.linalg.vector_norm`'s core: `ord` a number (inf allowed), `dim` None or dims.
#[pyfunction]
#[pyo3(signature = (x, ord, dim, keepdim))]
pub fn _vector_norm(x: PyRef<'_, PyTensor>, ord: f64, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> R {
    let dims = crate::args::opt_dims(dim, "dim")?.unwrap_or_default();
    wrap(x.t.vector_norm(ord, &dims, keepdim))
}

/// `ember.linalg.matrix_norm`'s core: `ord` one of "fro", "1", "-1", "inf", "-inf".
#[pyfunction]
#[pyo3(signature = (x, ord, dim0, dim1, keepdim))]
pub fn _matrix_norm(x: PyRef<'_, PyTensor>, ord: &str, dim0: isize, dim1: isize, keepdim: bool) -> R {
    wrap(x.t.matrix_norm(ord, [dim0, dim1], keepdim))
}

/// `ember.linalg.cross(input, other, dim=-1)`.
#[pyfunction]
#[pyo3(signature = (input, other, *, dim=-1))]
pub fn _cross(input: PyRef<'_, PyTensor>, other: PyRef<'_, PyTensor>, dim: isize) -> R {
    wrap(input.t.cross(&other.t, dim))
}

/// `ember.linalg.matrix_power(A, n)`.
#[pyfunction]
pub fn _matrix_power(a: PyRef<'_, PyTensor>, n: i64) -> R {
    wrap(a.t.matrix_power(n))
}

/// `torch.polygamma(n, input)`.
#[pyfunction]
pub fn _polygamma(x: PyRef<'_, PyTensor>, n: i64) -> R {
    let n = u32::try_from(n)
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("polygamma(n, x) does not support negative n."))?;
    wrap(x.t.polygamma(n))
}

/// `torch.renorm(input, p, dim, maxnorm)`.
#[pyfunction]
pub fn _renorm(x: PyRef<'_, PyTensor>, p: f64, dim: isize, maxnorm: f64) -> R {
    wrap(x.t.renorm(p, dim, maxnorm))
}

/// `torch._standard_gamma_grad(alpha, z)`.
#[pyfunction]
pub fn _standard_gamma_grad(alpha: PyRef<'_, PyTensor>, z: PyRef<'_, PyTensor>) -> R {
    wrap(Tensor::standard_gamma_grad(&alpha.t, &z.t))
}
