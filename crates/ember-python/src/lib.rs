//! `ember._C`: the Rust core as a Python extension module. Python's `ember` package (in
//! `python/ember/`) is a thin layer over it, as `torch` is over ATen: this module holds the
//! `Tensor` class with its methods, operators and indexing, dtypes and devices, the creation
//! functions, NumPy interop and the autograd entry points; the elementwise ops come from
//! Ember's op tables (`unary_ops()`, `binary_ops()`).
//!
//! Nothing from Python can crash the interpreter: Ember errors become Python exceptions
//! (`errors.rs`), and a Rust panic becomes `pyo3_runtime.PanicException` (PyO3 catches it at
//! the boundary; `_panic_for_tests` proves it).

mod args;
mod autograd;
mod compare;
mod compose;
mod convert;
mod creation;
mod distributed;
mod dlpack;
mod dtype;
mod errors;
mod indexing;
mod io;
mod like;
mod linalg;
mod methods;
mod nn;
mod numpy;
mod operators;
mod optim;
mod quantized;
mod random;
mod scatter;
mod sorting;
mod sparse;
mod tensor;

use pyo3::prelude::*;

/// Panics inside Rust, for the test that panics surface as Python exceptions.
#[pyfunction]
fn _panic_for_tests() {
    panic!("a deliberate panic inside Ember's extension");
}

/// Live bytes of tensor storage (for memory tests).
#[pyfunction]
fn _live_bytes() -> usize {
    ember::live_bytes()
}

#[pymodule]
#[pyo3(name = "_C")]
fn ember_c(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The importing thread (normally the one running the program) joins the kernels' thread
    // pool, so parallel ops split their work with it.
    ember::adopt_calling_thread();
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<tensor::PyNode>()?;
    m.add_class::<tensor::RemovableHandle>()?;
    m.add_class::<sparse::PySparse>()?;
    m.add_class::<dtype::PyDType>()?;
    m.add_class::<dtype::PyDevice>()?;
    m.add_class::<random::PyGenerator>()?;
    m.add_class::<quantized::PyPackedWeight>()?;
    for (name, d) in dtype::NAMES {
        m.add(*name, dtype::PyDType::object(m.py(), *d)?)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("_LinAlgError", m.py().get_type::<errors::LinAlgError>())?;
    m.add_submodule(&nn::module(m.py())?)?;
    m.add_submodule(&optim::module(m.py())?)?;
    m.add_submodule(&io::module(m.py())?)?;
    m.add_submodule(&distributed::module(m.py())?)?;
    macro_rules! functions {
        ($($f:path),* $(,)?) => {$( m.add_function(wrap_pyfunction!($f, m)?)?; )*};
    }
    functions!(
        dtype::get_default_dtype,
        dtype::set_default_dtype,
        operators::unary_ops,
        operators::binary_ops,
        operators::_unary,
        operators::_unary_,
        operators::_binary,
        operators::_binary_,
        operators::_update_,
        creation::tensor,
        creation::as_tensor,
        creation::zeros,
        creation::ones,
        creation::empty,
        creation::full,
        creation::zeros_like,
        creation::ones_like,
        creation::empty_like,
        creation::full_like,
        creation::rand_like,
        creation::randn_like,
        creation::arange,
        creation::linspace,
        creation::eye,
        creation::rand,
        creation::randn,
        creation::randint,
        creation::randperm,
        creation::normal,
        creation::cat,
        creation::stack,
        creation::where_,
        creation::_from_numpy_copy,
        creation::manual_seed,
        creation::set_num_threads,
        creation::get_num_threads,
        creation::is_tensor,
        creation::is_floating_point,
        creation::numel,
        creation::result_type,
        random::get_rng_state,
        random::set_rng_state,
        random::initial_seed,
        random::poisson,
        compose::einsum,
        compose::tensordot,
        compose::cdist,
        compose::_vector_norm,
        compose::_matrix_norm,
        compose::_cross,
        compose::_matrix_power,
        compose::_polygamma,
        compose::_renorm,
        compose::_standard_gamma_grad,
        linalg::_inv,
        linalg::_solve,
        linalg::_det,
        linalg::_slogdet,
        linalg::_cholesky,
        linalg::_solve_triangular,
        linalg::_qr,
        linalg::_svd,
        linalg::_svdvals,
        linalg::_eigh,
        linalg::_eigvalsh,
        linalg::_lu_factor_ex,
        linalg::_lu_unpack,
        linalg::_lu_solve,
        linalg::_cholesky_ex,
        linalg::_lstsq,
        linalg::_pinv,
        linalg::_matrix_rank,
        sorting::searchsorted,
        sparse::_sparse_coo,
        sparse::_to_sparse,
        sorting::bucketize,
        numpy::from_numpy,
        numpy::_adopt_bytes,
        numpy::_move_storage,
        dlpack::from_dlpack,
        dtype::_scalar_type_name,
        autograd::is_grad_enabled,
        autograd::_set_grad_enabled,
        autograd::_set_anomaly_mode,
        autograd::_anomaly_mode,
        autograd::grad,
        autograd::_reaches_leaf_other_than,
        autograd::_custom_op,
        autograd::_checkpoint,
        autograd::_profiler_set,
        autograd::_profiler_now_ns,
        autograd::_profiler_thread_id,
        autograd::_profiler_take,
        _panic_for_tests,
        _live_bytes,
    );
    Ok(())
}
