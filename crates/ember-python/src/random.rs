//! Random sampling from Python: `ember.Generator` (`manual_seed`, `seed`, `initial_seed`,
//! `get_state`, `set_state`), the `generator=` argument of every sampler, the global
//! generator's `get_rng_state`/`set_rng_state`/`initial_seed`, and the sampling methods
//! (`multinomial`, `bernoulli`, `poisson`, and the in-place `normal_`, `uniform_`,
//! `exponential_`, `geometric_`, `cauchy_`, `log_normal_`, `random_`, `bernoulli_`).

use crate::errors::{type_error, IntoPyResult};
use crate::tensor::PyTensor;
use ember::rng::{self, Generator};
use ember::{DType, Tensor};
use pyo3::prelude::*;
use std::sync::Mutex;

/// `torch.Generator`: a private random stream. Passed as `generator=`, its draws advance it and
/// leave the global stream alone.
#[pyclass(name = "Generator", module = "ember")]
pub struct PyGenerator {
    state: Mutex<Generator>,
    initial: Mutex<u64>,
    /// `torch.default_generator`: this object is the global stream, not a private one.
    global: bool,
}

/// A generator's state as the 16 bytes of a uint8 tensor (seed, then counter; little-endian),
/// as `torch.Generator.get_state()` returns a ByteTensor.
fn state_tensor(g: Generator) -> PyResult<PyTensor> {
    let mut bytes = g.seed.to_le_bytes().to_vec();
    bytes.extend_from_slice(&g.offset.to_le_bytes());
    Ok(PyTensor::new(Tensor::from_vec(bytes, &[16]).py()?))
}

fn state_from(t: &Tensor) -> PyResult<Generator> {
    if t.dtype() != DType::U8 || t.numel() != 16 {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "RNG state must be a torch.ByteTensor of 16 bytes, got {} elements of {}",
            t.numel(),
            t.dtype()
        )));
    }
    let b = t.contiguous().py()?.to_vec::<u8>().py()?;
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    Ok(Generator { seed: word(0), offset: word(8) })
}

fn seed_value(seed: &Bound<'_, PyAny>) -> PyResult<u64> {
    // PyTorch accepts any Python int, negative ones as their two's complement.
    if let Ok(v) = seed.extract::<u64>() {
        return Ok(v);
    }
    if let Ok(v) = seed.extract::<i64>() {
        return Ok(v as u64);
    }
    Err(type_error(format!("manual_seed expected a long, but got {}", crate::dtype::type_name(seed))))
}

#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(signature = (device=None))]
    fn new(device: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        crate::dtype::check_device(device)?;
        Ok(PyGenerator {
            state: Mutex::new(Generator::new(67_280_421_310_721)),
            initial: Mutex::new(67_280_421_310_721),
            global: false,
        })
    }

    /// The object behind `torch.default_generator`: its methods act on the global stream.
    #[staticmethod]
    fn _global() -> Self {
        PyGenerator { state: Mutex::new(Generator::new(0)), initial: Mutex::new(0), global: true }
    }

    fn manual_seed(slf: PyRef<'_, Self>, seed: &Bound<'_, PyAny>) -> PyResult<Py<Self>> {
        let s = seed_value(seed)?;
        if slf.global {
            ember::manual_seed(s);
            return Ok(slf.into());
        }
        *slf.state.lock().unwrap_or_else(|e| e.into_inner()) = Generator::new(s);
        *slf.initial.lock().unwrap_or_else(|e| e.into_inner()) = s;
        Ok(slf.into())
    }

    /// Seeds from the OS and returns the seed.
    fn seed(&self) -> u64 {
        let s = os_seed();
        if self.global {
            ember::manual_seed(s);
            return s;
        }
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Generator::new(s);
        *self.initial.lock().unwrap_or_else(|e| e.into_inner()) = s;
        s
    }

    fn initial_seed(&self) -> u64 {
        if self.global {
            return initial_seed();
        }
        *self.initial.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get_state(&self) -> PyResult<PyTensor> {
        if self.global {
            return get_rng_state();
        }
        state_tensor(*self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn set_state(slf: PyRef<'_, Self>, new_state: PyRef<'_, PyTensor>) -> PyResult<Py<Self>> {
        match slf.global {
            true => rng::set_global_state(state_from(&new_state.t)?),
            false => *slf.state.lock().unwrap_or_else(|e| e.into_inner()) = state_from(&new_state.t)?,
        }
        Ok(slf.into())
    }

    #[getter]
    fn device(&self) -> crate::dtype::PyDevice {
        crate::dtype::PyDevice { r#type: "cpu".into(), index: None }
    }
}

fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() & ((1 << 63) - 1)
}

/// Runs `f` drawing from `generator` (a `Generator`, or `None` for the global stream).
pub fn with_gen<R>(generator: Option<&Bound<'_, PyAny>>, f: impl FnOnce() -> R) -> PyResult<R> {
    let Some(g) = generator.filter(|g| !g.is_none()) else {
        return Ok(f());
    };
    let g = g
        .extract::<PyRef<'_, PyGenerator>>()
        .map_err(|_| type_error(format!("generator must be a torch.Generator, not {}", crate::dtype::type_name(g))))?;
    if g.global {
        return Ok(f());
    }
    let mut state = g.state.lock().unwrap_or_else(|e| e.into_inner());
    Ok(rng::with_generator(&mut state, f))
}

/// `torch.get_rng_state()`: the global generator's state.
#[pyfunction]
pub fn get_rng_state() -> PyResult<PyTensor> {
    state_tensor(rng::global_state())
}

/// `torch.set_rng_state(new_state)`.
#[pyfunction]
pub fn set_rng_state(new_state: PyRef<'_, PyTensor>) -> PyResult<()> {
    rng::set_global_state(state_from(&new_state.t)?);
    Ok(())
}

/// `torch.initial_seed()`: the seed the global generator was last seeded with.
#[pyfunction]
pub fn initial_seed() -> u64 {
    rng::global_state().seed
}

/// `torch.poisson(input, generator=None)`.
#[pyfunction]
#[pyo3(signature = (input, generator=None))]
pub fn poisson(input: PyRef<'_, PyTensor>, generator: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
    Ok(PyTensor::new(with_gen(generator, || input.t.poisson())?.py()?))
}

type Slf = PyResult<Py<PyTensor>>;

/// Runs an in-place sampler on `slf` and returns it.
fn fill(
    slf: &Bound<'_, PyTensor>,
    generator: Option<&Bound<'_, PyAny>>,
    f: impl FnOnce(&Tensor) -> ember::Result<()>,
) -> Slf {
    let t = slf.borrow().t.clone();
    with_gen(generator, || f(&t))?.py()?;
    Ok(slf.clone().unbind())
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (num_samples, replacement=false, *, generator=None))]
    fn multinomial(
        &self,
        num_samples: i64,
        replacement: bool,
        generator: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let n = usize::try_from(num_samples).unwrap_or(0);
        Ok(PyTensor::new(with_gen(generator, || self.t.multinomial(n, replacement))?.py()?))
    }

    /// `bernoulli(*, generator=None)` draws with probabilities `self`; `bernoulli(p)` with
    /// the number `p` for every element.
    #[pyo3(signature = (p=None, *, generator=None))]
    fn bernoulli(&self, p: Option<f64>, generator: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let r = with_gen(generator, || match p {
            Some(p) => {
                let out = Tensor::zeros(self.t.shape(), self.t.dtype())?;
                out.bernoulli_(p).map(|_| out)
            }
            None => self.t.bernoulli(),
        })?;
        Ok(PyTensor::new(r.py()?))
    }

    /// `bernoulli_(p=0.5, *, generator=None)`; `p` a number or a tensor of probabilities.
    #[pyo3(signature = (p=None, *, generator=None))]
    fn bernoulli_(slf: &Bound<'_, Self>, p: Option<&Bound<'_, PyAny>>, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        match p.filter(|p| !p.is_none()) {
            Some(p) if p.extract::<PyRef<'_, PyTensor>>().is_ok() => {
                let probs = p.extract::<PyRef<'_, PyTensor>>()?.t.clone();
                fill(slf, generator, |t| {
                    let probs = probs.to_dtype(if t.dtype().is_float() { t.dtype() } else { DType::F64 })?;
                    t.copy_(&probs.expand(t.shape())?.bernoulli()?)
                })
            }
            Some(p) => {
                let p: f64 = p.extract().map_err(|_| type_error("bernoulli_(): p must be a number or a Tensor"))?;
                fill(slf, generator, |t| t.bernoulli_(p))
            }
            None => fill(slf, generator, |t| t.bernoulli_(0.5)),
        }
    }

    #[pyo3(signature = (mean=0.0, std=1.0, *, generator=None))]
    fn normal_(slf: &Bound<'_, Self>, mean: f64, std: f64, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        fill(slf, generator, |t| t.normal_(mean, std))
    }

    #[pyo3(signature = (a=0.0, b=1.0, *, generator=None))]
    fn uniform_(slf: &Bound<'_, Self>, a: f64, b: f64, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        fill(slf, generator, |t| t.uniform_(a, b))
    }

    #[pyo3(signature = (lambd=1.0, *, generator=None))]
    fn exponential_(slf: &Bound<'_, Self>, lambd: f64, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        fill(slf, generator, |t| t.exponential_(lambd))
    }

    #[pyo3(signature = (p, *, generator=None))]
    fn geometric_(slf: &Bound<'_, Self>, p: f64, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        fill(slf, generator, |t| t.geometric_(p))
    }

    #[pyo3(signature = (median=0.0, sigma=1.0, *, generator=None))]
    fn cauchy_(slf: &Bound<'_, Self>, median: f64, sigma: f64, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        fill(slf, generator, |t| t.cauchy_(median, sigma))
    }

    #[pyo3(signature = (mean=1.0, std=2.0, *, generator=None))]
    fn log_normal_(slf: &Bound<'_, Self>, mean: f64, std: f64, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        fill(slf, generator, |t| t.log_normal_(mean, std))
    }

    /// `random_(from=0, to=None)`; one argument is `to` (`random_(10)` draws from [0, 10)).
    #[pyo3(signature = (a=None, b=None, *, generator=None))]
    fn random_(slf: &Bound<'_, Self>, a: Option<i64>, b: Option<i64>, generator: Option<&Bound<'_, PyAny>>) -> Slf {
        let (from, to) = match (a, b) {
            (Some(to), None) => (0, Some(to)),
            (a, b) => (a.unwrap_or(0), b),
        };
        fill(slf, generator, |t| t.random_(from, to))
    }
}
