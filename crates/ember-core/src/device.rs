//! Where a tensor lives. Only the CPU exists today; `Device::Cuda` is the seam a GPU backend
//! fills later (behind a cargo feature), and every op on it returns `Error::Device` until then.

use std::fmt;

/// A compute device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// Host memory and CPU kernels.
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal (no backend yet).
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}
