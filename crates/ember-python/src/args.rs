//! Argument forms PyTorch accepts: sizes as `f(2, 3)`, `f((2, 3))` or `f([2, 3])`; dims as
//! an int or a sequence of ints; GIL release for large work.

use crate::dtype::type_name;
use crate::errors::type_error;
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyTuple};

/// An int or a sequence of ints (a dim list, `torch.Size`, a tuple).
pub fn int_list(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<isize>> {
    if let Ok(i) = obj.extract::<isize>() {
        return Ok(vec![i]);
    }
    if obj.is_instance_of::<PySequence>() && !obj.is_instance_of::<pyo3::types::PyString>() {
        let seq = obj.cast::<PySequence>()?;
        return seq
            .try_iter()?
            .map(|x| {
                let x = x?;
                x.extract::<isize>().map_err(|_| {
                    type_error(format!("{what} must be a tuple of ints, but found element of type {}", type_name(&x)))
                })
            })
            .collect();
    }
    Err(type_error(format!("{what} must be an int or a tuple of ints, not {}", type_name(obj))))
}

/// Sizes given as varargs (`reshape(2, 3)`) or one sequence (`reshape((2, 3))`).
pub fn varargs_sizes(args: &Bound<'_, PyTuple>, what: &str) -> PyResult<Vec<isize>> {
    if args.len() == 1 {
        let a = args.get_item(0)?;
        if !a.is_instance_of::<pyo3::types::PyInt>() {
            return int_list(&a, what);
        }
    }
    args.iter()
        .map(|x| {
            x.extract::<isize>().map_err(|_| {
                type_error(format!("{what} must be a tuple of ints, but found element of type {}", type_name(&x)))
            })
        })
        .collect()
}

/// Sizes given either as varargs (`x.reshape(2, 3)`, `x.reshape((2, 3))`) or by torch's keyword
/// (`x.reshape(shape=(2, 3))`), not both.
pub fn sizes_or_keyword(args: &Bound<'_, PyTuple>, kw: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<isize>> {
    match kw {
        Some(k) if args.is_empty() => int_list(k, what),
        Some(_) => Err(type_error(format!("{what} given both positionally and as a keyword"))),
        None => varargs_sizes(args, what),
    }
}

/// Non-negative sizes for creation functions.
pub fn to_usizes(v: &[isize], op: &str) -> PyResult<Vec<usize>> {
    v.iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                pyo3::exceptions::PyRuntimeError::new_err(format!("{op}(): negative dimension {d} in size {v:?}"))
            })
        })
        .collect()
}

/// An optional dim list (`None`, an int, or ints).
pub fn opt_dims(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Vec<isize>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => int_list(o, what).map(Some),
    }
}

/// Work on at least this many elements runs with the GIL released, so other Python threads
/// proceed meanwhile; smaller ops keep it (releasing costs more than they take).
pub const DETACH_MIN: usize = 1 << 15;

/// Runs `f` with the GIL released when `work` is large.
pub fn maybe_detach<T: Send>(py: Python<'_>, work: usize, f: impl FnOnce() -> T + Send) -> T {
    if work >= DETACH_MIN {
        py.detach(f)
    } else {
        f()
    }
}
