//! `ember::Error`: one enum for everything that can go wrong, with the op, the shapes or dtypes
//! and the caller's source line.
//!
//! Ops are `#[track_caller]`, and the constructors here are too, so `Location::caller()` is the
//! user's line, e.g. `matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4) at
//! src/model.rs:41:18`.

use std::fmt;
use std::panic::Location;

/// The result type of every fallible Ember call.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in Ember. Op errors carry the op name, a message with the
/// shapes/dtypes involved, and the caller's location.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Incompatible or invalid shapes, dims or sizes.
    Shape { op: &'static str, msg: String, at: &'static Location<'static> },
    /// A dtype that the op does not accept, or a dtype mismatch.
    DType { op: &'static str, msg: String, at: &'static Location<'static> },
    /// An index out of range.
    Index { op: &'static str, msg: String, at: &'static Location<'static> },
    /// A device the op cannot run on.
    Device { op: &'static str, msg: String, at: &'static Location<'static> },
    /// A valid request that Ember does not implement.
    Unsupported { op: &'static str, msg: String, at: &'static Location<'static> },
    /// Autograd misuse: backward through a freed graph, a saved tensor modified in place, ...
    Autograd { op: &'static str, msg: String, at: &'static Location<'static> },
    /// A bad argument value (a negative probability, a zero step, ...).
    Value { op: &'static str, msg: String, at: &'static Location<'static> },
    /// A tensor larger than the machine's memory (or than `usize` can count), refused before
    /// allocating.
    Alloc { op: &'static str, msg: String, at: &'static Location<'static> },
    /// A failed collective or process-group call: a peer that left, a timeout, mismatched
    /// tensors across ranks (PyTorch's `DistBackendError`/`DistError`).
    Distributed { op: &'static str, msg: String, at: &'static Location<'static> },
    /// An I/O error, with the path or context.
    Io { context: String, source: std::io::Error },
    /// A malformed file or document (checkpoint, data set, config).
    Format { what: String, msg: String },
}

macro_rules! ctor {
    ($($name:ident => $variant:ident),* $(,)?) => {$(
        #[doc = concat!("A [`Error::", stringify!($variant), "`] at the caller's location.")]
        #[track_caller]
        pub fn $name(op: &'static str, msg: impl Into<String>) -> Error {
            Error::$variant { op, msg: msg.into(), at: Location::caller() }
        }
    )*};
}

impl Error {
    ctor!(shape => Shape, dtype => DType, index => Index, device => Device,
          unsupported => Unsupported, autograd => Autograd, value => Value, alloc => Alloc,
          distributed => Distributed);

    /// An I/O error with context (usually the path).
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { context: context.into(), source }
    }

    /// A malformed input: `what` names the file or format.
    pub fn format(what: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::Format { what: what.into(), msg: msg.into() }
    }

    /// The op that failed, for op errors.
    pub fn op(&self) -> Option<&'static str> {
        self.parts().map(|(op, _, _)| op)
    }

    /// `(op, message, location)` of an op error.
    fn parts(&self) -> Option<(&'static str, &str, &'static Location<'static>)> {
        match self {
            Error::Shape { op, msg, at }
            | Error::DType { op, msg, at }
            | Error::Index { op, msg, at }
            | Error::Device { op, msg, at }
            | Error::Unsupported { op, msg, at }
            | Error::Autograd { op, msg, at }
            | Error::Value { op, msg, at }
            | Error::Alloc { op, msg, at }
            | Error::Distributed { op, msg, at } => Some((op, msg, at)),
            Error::Io { .. } | Error::Format { .. } => None,
        }
    }

    /// The location of an op error, mutably (for [`at_caller`]).
    fn location_mut(&mut self) -> Option<&mut &'static Location<'static>> {
        match self {
            Error::Shape { at, .. }
            | Error::DType { at, .. }
            | Error::Index { at, .. }
            | Error::Device { at, .. }
            | Error::Unsupported { at, .. }
            | Error::Autograd { at, .. }
            | Error::Value { at, .. }
            | Error::Alloc { at, .. }
            | Error::Distributed { at, .. } => Some(at),
            Error::Io { .. } | Error::Format { .. } => None,
        }
    }
}

impl Error {
    /// The message without the source location (for command-line tools, whose users did not
    /// write the call).
    pub fn message(&self) -> String {
        match self.parts() {
            Some((op, msg, _)) => format!("{op}: {msg}"),
            None => self.to_string(),
        }
    }

    /// The caller's source location, for op errors.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.parts().map(|(_, _, at)| at)
    }
}

/// `r` with an op error's location replaced by the caller's: for errors raised inside
/// closures and engine code, where `#[track_caller]` cannot reach. Called from a
/// `#[track_caller]` op, the location is the user's line.
#[track_caller]
pub(crate) fn at_caller<T>(r: Result<T>) -> Result<T> {
    let here = Location::caller();
    r.map_err(|mut e| {
        if let Some(at) = e.location_mut() {
            *at = here;
        }
        e
    })
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((op, msg, at)) = self.parts() {
            return write!(f, "{op}: {msg} at {}:{}:{}", at.file(), at.line(), at.column());
        }
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Format { what, msg } => write!(f, "{what}: {msg}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Returns early with an op error of the given kind when `cond` is false.
#[macro_export]
#[doc(hidden)]
macro_rules! ensure {
    ($cond:expr, $kind:ident, $op:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::Error::$kind($op, format!($($fmt)+)));
        }
    };
}
