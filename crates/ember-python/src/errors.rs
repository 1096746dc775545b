//! Ember errors as the exceptions PyTorch raises: `RuntimeError` for shape, dtype, autograd and
//! allocation errors, `IndexError`, `ValueError`, `TypeError`, `OSError`, each naming the
//! Python caller's `file:line` (the innermost frame outside the `ember` package) instead of a
//! Rust location. A Python exception raised inside a callback that Rust called (a hook, a
//! custom `Function.backward`) is re-raised as itself once control is back in Python.

use ember::Error;
use pyo3::exceptions::{PyIndexError, PyNotImplementedError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::RefCell;

thread_local! {
    /// A Python exception raised in a callback from Rust, waiting for the boundary.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Keeps a callback's Python exception and returns the Ember error that unwinds Rust with it.
pub fn stash(err: PyErr) -> Error {
    let msg = Python::attach(|py| err.to_string_lossy(py));
    PENDING.with(|p| *p.borrow_mut() = Some(err));
    Error::value("callback", msg)
}

trait Lossy {
    fn to_string_lossy(&self, py: Python<'_>) -> String;
}

impl Lossy for PyErr {
    fn to_string_lossy(&self, py: Python<'_>) -> String {
        self.value(py).str().map(|s| s.to_string()).unwrap_or_else(|_| "Python exception".into())
    }
}

/// The directory of the `ember` package, whose frames are not "the caller".
fn package_dir(py: Python<'_>) -> Option<String> {
    static DIR: PyOnceLock<Option<String>> = PyOnceLock::new();
    DIR.get_or_init(py, || {
        let file: String = py.import("ember").ok()?.getattr("__file__").ok()?.extract().ok()?;
        std::path::Path::new(&file).parent().map(|p| p.display().to_string())
    })
    .clone()
}

/// `file:line` of the innermost Python frame outside the `ember` package.
pub fn python_caller(py: Python<'_>) -> Option<String> {
    let sys = py.import("sys").ok()?;
    let mut frame = sys.call_method1("_getframe", (0,)).ok()?;
    let pkg = package_dir(py);
    for _ in 0..64 {
        let code = frame.getattr("f_code").ok()?;
        let file: String = code.getattr("co_filename").ok()?.extract().ok()?;
        let inside = pkg.as_ref().is_some_and(|d| file.starts_with(d.as_str()));
        if !inside {
            let line: i64 = frame.getattr("f_lineno").ok()?.extract().ok()?;
            return Some(format!("{file}:{line}"));
        }
        frame = frame.getattr("f_back").ok()?;
        if frame.is_none() {
            return None;
        }
    }
    None
}

pyo3::create_exception!(
    ember,
    _LinAlgError,
    pyo3::exceptions::PyRuntimeError,
    "A singular or non-positive-definite matrix (torch.linalg.LinAlgError)."
);
pub use _LinAlgError as LinAlgError;

/// The Python exception for an Ember error.
pub fn to_py(e: Error) -> PyErr {
    if let Some(pending) = PENDING.with(|p| p.borrow_mut().take()) {
        return pending;
    }
    Python::attach(|py| {
        let at = python_caller(py).map(|c| format!(" (at {c})")).unwrap_or_default();
        let msg = format!("{}{at}", e.message());
        match &e {
            Error::Index { .. } => PyIndexError::new_err(msg),
            // PyTorch raises ValueError only from its Python-level argument handling (an empty
            // `cat` list, a slice step); its C++ argument checks raise RuntimeError.
            Error::Value { op: "cat" | "index" | "init_process_group", .. } => PyValueError::new_err(msg),
            Error::Value { op: "inv" | "solve" | "cholesky" | "svd" | "eigh", .. } => LinAlgError::new_err(msg),
            Error::Unsupported { .. } => PyNotImplementedError::new_err(msg),
            Error::Io { source, .. } => PyOSError::new_err((source.raw_os_error().unwrap_or(0), msg)),
            _ => PyRuntimeError::new_err(msg),
        }
    })
}

/// `?`-friendly conversion of Ember results.
pub trait IntoPyResult<T> {
    /// The result with an Ember error turned into the Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for ember::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// A `TypeError` naming the caller's line (wrong argument types).
pub fn type_error(msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    let at = Python::attach(|py| python_caller(py).map(|c| format!(" (at {c})")).unwrap_or_default());
    PyTypeError::new_err(format!("{msg}{at}"))
}
