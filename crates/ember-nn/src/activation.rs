//! Activation modules (`nn.ReLU()`, `nn.LeakyReLU(0.2)`, `nn.PReLU()`, ...): thin wrappers over
//! [`crate::functional`], one formula per activation.

use crate::functional as F;
use crate::module::{param, Forward};
use crate::Module;
use ember_core::{DType, Error, Result, Tensor};

/// Activations without learned parameters, with PyTorch's constructor arguments as fields.
#[derive(Debug, Clone, Copy, PartialEq, Module)]
#[module(crate = "crate")]
pub enum Activation {
    ReLU,
    GELU,
    /// `nn.GELU(approximate="tanh")`.
    GELUTanh,
    SiLU,
    Sigmoid,
    Tanh,
    /// `nn.Flatten()` (dims 1..=-1).
    Flatten,
    Identity,
    LeakyReLU {
        negative_slope: f64,
    },
    ELU {
        alpha: f64,
    },
    SELU,
    CELU {
        alpha: f64,
    },
    Softplus {
        beta: f64,
        threshold: f64,
    },
    Softsign,
    Hardtanh {
        min_val: f64,
        max_val: f64,
    },
    ReLU6,
    Hardswish,
    Hardsigmoid,
    Mish,
    LogSigmoid,
    Tanhshrink,
    Softshrink {
        lambd: f64,
    },
    Hardshrink {
        lambd: f64,
    },
    Threshold {
        threshold: f64,
        value: f64,
    },
    GLU {
        dim: isize,
    },
    Softmin {
        dim: isize,
    },
    Softmax {
        dim: isize,
    },
    LogSoftmax {
        dim: isize,
    },
    Softmax2d,
}

impl Activation {
    /// `nn.LeakyReLU()` with PyTorch's default slope 0.01.
    pub const LEAKY_RELU: Activation = Activation::LeakyReLU { negative_slope: 0.01 };
    /// `nn.Softplus()`: `beta = 1`, `threshold = 20`.
    pub const SOFTPLUS: Activation = Activation::Softplus { beta: 1.0, threshold: 20.0 };
    /// `nn.Hardtanh()`: `[-1, 1]`.
    pub const HARDTANH: Activation = Activation::Hardtanh { min_val: -1.0, max_val: 1.0 };
    /// `nn.GLU()`: the last dim.
    pub const GLU_LAST: Activation = Activation::GLU { dim: -1 };
}

impl Forward for Activation {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        use Activation::*;
        match *self {
            ReLU => x.relu(),
            GELU => x.gelu(),
            GELUTanh => x.gelu_tanh(),
            SiLU => x.silu(),
            Sigmoid => x.sigmoid(),
            Tanh => x.tanh(),
            Flatten => x.flatten(1, -1),
            Identity => Ok(x.clone()),
            LeakyReLU { negative_slope } => F::leaky_relu(x, negative_slope),
            ELU { alpha } => F::elu(x, alpha),
            SELU => F::selu(x),
            CELU { alpha } => F::celu(x, alpha),
            Softplus { beta, threshold } => F::softplus(x, beta, threshold),
            Softsign => F::softsign(x),
            Hardtanh { min_val, max_val } => F::hardtanh(x, min_val, max_val),
            ReLU6 => F::relu6(x),
            Hardswish => F::hardswish(x),
            Hardsigmoid => F::hardsigmoid(x),
            Mish => F::mish(x),
            LogSigmoid => F::logsigmoid(x),
            Tanhshrink => F::tanhshrink(x),
            Softshrink { lambd } => F::softshrink(x, lambd),
            Hardshrink { lambd } => F::hardshrink(x, lambd),
            Threshold { threshold, value } => F::threshold(x, threshold, value),
            GLU { dim } => F::glu(x, dim),
            Softmin { dim } => F::softmin(x, dim),
            Softmax { dim } => x.softmax(dim),
            LogSoftmax { dim } => x.log_softmax(dim),
            Softmax2d => F::softmax2d(x),
        }
    }
}

/// `nn.PReLU(num_parameters, init)`: a learned negative slope, one per channel or one shared.
#[derive(Debug, Clone, Module)]
#[module(crate = "crate")]
pub struct PReLU {
    /// `[num_parameters]`.
    pub weight: Tensor,
}

impl PReLU {
    /// `nn.PReLU(num_parameters=1, init=0.25)`.
    #[track_caller]
    pub fn new(num_parameters: usize, init: f64) -> Result<PReLU> {
        if num_parameters == 0 {
            return Err(Error::value("PReLU", "num_parameters must be at least 1"));
        }
        Ok(PReLU { weight: param(Tensor::full(&[num_parameters], init, DType::F32)?)? })
    }
}

impl Forward for PReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::prelu(x, &self.weight)
    }
}

/// `nn.RReLU(lower=1/8, upper=1/3)`: random slopes in training, their mean in evaluation.
#[derive(Debug, Clone, Copy, Module)]
#[module(crate = "crate")]
pub struct RReLU {
    pub lower: f64,
    pub upper: f64,
    pub training: bool,
}

impl RReLU {
    /// `nn.RReLU(lower, upper)`, in training mode.
    #[track_caller]
    pub fn new(lower: f64, upper: f64) -> Result<RReLU> {
        if lower > upper {
            return Err(Error::value("RReLU", "lower must not exceed upper"));
        }
        Ok(RReLU { lower, upper, training: true })
    }
}

impl Forward for RReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        F::rrelu(x, self.lower, self.upper, self.training)
    }
}
