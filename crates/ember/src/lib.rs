pub use ember_core::*;
