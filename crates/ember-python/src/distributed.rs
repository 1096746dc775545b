//! `ember._C._distributed`: process groups, their asynchronous collectives and DDP's gradient
//! reducer, for `ember.distributed` and `ember.nn.parallel.DistributedDataParallel` (Python
//! over these, as torch's are over `c10d`). Waiting releases the GIL, so other Python threads
//! run while a collective is in flight.

use crate::errors::IntoPyResult;
use crate::tensor::PyTensor;
use ember::distributed::{self as dist, InitOptions, ProcessGroup, ReduceOp, Reducer, ReducerOptions, Work};
use ember::Tensor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Arc;
use std::time::Duration;

fn reduce_op(name: &str) -> PyResult<ReduceOp> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "SUM" => ReduceOp::Sum,
        "AVG" => ReduceOp::Avg,
        "PRODUCT" => ReduceOp::Product,
        "MIN" => ReduceOp::Min,
        "MAX" => ReduceOp::Max,
        other => return Err(PyValueError::new_err(format!("unsupported reduce op {other}"))),
    })
}

fn tensors(list: Vec<PyRef<'_, PyTensor>>) -> Vec<Tensor> {
    list.iter().map(|t| t.t.clone()).collect()
}

/// A pending collective (`torch.distributed.Work`).
#[pyclass(name = "Work", module = "ember.distributed")]
pub struct PyWork {
    work: Work,
}

#[pymethods]
impl PyWork {
    /// Blocks until the collective is done (or `timeout`, a `timedelta`, passes): `True`.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<bool> {
        let w = self.work.clone();
        py.detach(|| match timeout {
            Some(t) => w.wait_timeout(t),
            None => w.wait(),
        })
        .py()?;
        Ok(true)
    }

    fn is_completed(&self) -> bool {
        self.work.is_completed()
    }

    fn is_success(&self) -> bool {
        self.work.is_completed() && self.work.wait_timeout(Duration::ZERO).is_ok()
    }
}

/// A process group (`torch.distributed.ProcessGroup`); the methods take group ranks.
#[pyclass(name = "ProcessGroup", module = "ember.distributed")]
pub struct PyProcessGroup {
    pub(crate) g: Arc<dyn ProcessGroup>,
}

fn work(w: ember::Result<Work>) -> PyResult<PyWork> {
    Ok(PyWork { work: w.py()? })
}

#[pymethods]
impl PyProcessGroup {
    fn rank(&self) -> usize {
        self.g.rank()
    }

    fn size(&self) -> usize {
        self.g.size()
    }

    fn name(&self) -> &'static str {
        self.g.backend()
    }

    /// Each member's rank in the world group.
    fn world_ranks(&self) -> Vec<usize> {
        self.g.world_ranks().to_vec()
    }

    fn allreduce(&self, tensor: PyRef<'_, PyTensor>, op: &str) -> PyResult<PyWork> {
        work(self.g.all_reduce(&tensor.t, reduce_op(op)?))
    }

    fn broadcast(&self, tensor: PyRef<'_, PyTensor>, src: usize) -> PyResult<PyWork> {
        work(self.g.broadcast(&tensor.t, src))
    }

    fn allgather(&self, outputs: Vec<PyRef<'_, PyTensor>>, input: PyRef<'_, PyTensor>) -> PyResult<PyWork> {
        work(self.g.all_gather(&tensors(outputs), &input.t))
    }

    fn reduce_scatter(
        &self,
        output: PyRef<'_, PyTensor>,
        inputs: Vec<PyRef<'_, PyTensor>>,
        op: &str,
    ) -> PyResult<PyWork> {
        work(self.g.reduce_scatter(&output.t, &tensors(inputs), reduce_op(op)?))
    }

    fn reduce(&self, tensor: PyRef<'_, PyTensor>, dst: usize, op: &str) -> PyResult<PyWork> {
        work(self.g.reduce(&tensor.t, dst, reduce_op(op)?))
    }

    fn gather(&self, input: PyRef<'_, PyTensor>, outputs: Vec<PyRef<'_, PyTensor>>, dst: usize) -> PyResult<PyWork> {
        work(self.g.gather(&input.t, &tensors(outputs), dst))
    }

    fn scatter(&self, output: PyRef<'_, PyTensor>, inputs: Vec<PyRef<'_, PyTensor>>, src: usize) -> PyResult<PyWork> {
        work(self.g.scatter(&output.t, &tensors(inputs), src))
    }

    fn barrier(&self) -> PyResult<PyWork> {
        work(self.g.barrier())
    }

    fn send(&self, tensor: PyRef<'_, PyTensor>, dst: usize, tag: i32) -> PyResult<PyWork> {
        work(self.g.send(&tensor.t, dst, tag))
    }

    fn recv(&self, tensor: PyRef<'_, PyTensor>, src: usize, tag: i32) -> PyResult<PyWork> {
        work(self.g.recv(&tensor.t, src, tag))
    }

    /// A subgroup of group ranks `ranks` (every rank calls it); `None` on non-members.
    fn new_group(&self, py: Python<'_>, ranks: Vec<usize>) -> PyResult<Option<PyProcessGroup>> {
        let g = self.g.clone();
        Ok(py.detach(|| g.new_group(&ranks)).py()?.map(|g| PyProcessGroup { g }))
    }

    fn shutdown(&self, py: Python<'_>) {
        let g = self.g.clone();
        py.detach(|| g.shutdown());
    }

    fn __repr__(&self) -> String {
        format!("<ProcessGroup {} rank {} of {}>", self.g.backend(), self.g.rank(), self.g.size())
    }
}

/// Starts the default group; returns it.
#[pyfunction]
#[pyo3(signature = (backend, timeout=None, world_size=None, rank=None))]
fn init_process_group(
    py: Python<'_>,
    backend: String,
    timeout: Option<Duration>,
    world_size: Option<usize>,
    rank: Option<usize>,
) -> PyResult<PyProcessGroup> {
    let opts = InitOptions { timeout, world_size, rank };
    let g = py.detach(|| dist::init_process_group_with(&backend, opts)).py()?;
    Ok(PyProcessGroup { g })
}

/// Ends the default group (finalises MPI).
#[pyfunction]
fn destroy_process_group(py: Python<'_>) {
    py.detach(dist::destroy_process_group);
}

/// DDP's construction checks: the same parameter shapes on every rank (an error naming the first
/// difference), then rank 0's parameters and buffers copied to every rank.
#[pyfunction]
fn _verify_and_broadcast(
    py: Python<'_>,
    group: PyRef<'_, PyProcessGroup>,
    names: Vec<String>,
    params: Vec<PyRef<'_, PyTensor>>,
    buffers: Vec<PyRef<'_, PyTensor>>,
) -> PyResult<()> {
    let named: Vec<(String, Tensor)> = names.into_iter().zip(tensors(params)).collect();
    let buffers = tensors(buffers);
    let g = group.g.clone();
    py.detach(|| {
        dist::verify_params_across_ranks(&*g, &named)?;
        let all: Vec<Tensor> = named.into_iter().map(|(_, t)| t).chain(buffers).collect();
        dist::broadcast_from_rank0(&*g, &all)
    })
    .py()
}

/// Rank 0's tensors into every rank's (DDP's `broadcast_buffers` before each forward).
#[pyfunction]
fn _broadcast_from_rank0(
    py: Python<'_>,
    group: PyRef<'_, PyProcessGroup>,
    ts: Vec<PyRef<'_, PyTensor>>,
) -> PyResult<()> {
    let (g, ts) = (group.g.clone(), tensors(ts));
    py.detach(|| dist::broadcast_from_rank0(&*g, &ts)).py()
}

/// DDP's gradient reducer over `params` (see `ember::distributed::Reducer`).
#[pyclass(name = "Reducer", module = "ember.distributed")]
pub struct PyReducer {
    r: Reducer,
}

#[pymethods]
impl PyReducer {
    #[new]
    #[pyo3(signature = (params, group, bucket_cap_bytes, first_bucket_bytes, find_unused_parameters, names))]
    fn new(
        params: Vec<PyRef<'_, PyTensor>>,
        group: PyRef<'_, PyProcessGroup>,
        bucket_cap_bytes: usize,
        first_bucket_bytes: usize,
        find_unused_parameters: bool,
        names: Vec<String>,
    ) -> PyResult<PyReducer> {
        let opts = ReducerOptions { bucket_cap_bytes, first_bucket_bytes, find_unused_parameters, names };
        Ok(PyReducer { r: Reducer::new(tensors(params), group.g.clone(), opts).py()? })
    }

    fn prepare_for_forward(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.r.prepare_for_forward()).py()
    }

    fn set_sync(&self, sync: bool) {
        self.r.set_sync(sync);
    }

    fn bucket_indices(&self) -> Vec<Vec<usize>> {
        self.r.bucket_indices()
    }
}

/// `ember._C._distributed`.
pub fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "_distributed")?;
    m.add("HAS_MPI", dist::is_mpi_available())?;
    m.add_class::<PyWork>()?;
    m.add_class::<PyProcessGroup>()?;
    m.add_class::<PyReducer>()?;
    m.add_function(wrap_pyfunction!(init_process_group, &m)?)?;
    m.add_function(wrap_pyfunction!(destroy_process_group, &m)?)?;
    m.add_function(wrap_pyfunction!(_verify_and_broadcast, &m)?)?;
    m.add_function(wrap_pyfunction!(_broadcast_from_rank0, &m)?)?;
    Ok(m)
}
