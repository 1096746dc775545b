//! `Sequential` and activation modules.

use crate::module::{Forward, Module, TensorKind};
use crate::pool::no_params;
use ember_core::{Result, Tensor};

/// A layer that is both a module and callable (what `Sequential` holds).
pub trait Layer: Module + Forward + Send + Sync {}
impl<T: Module + Forward + Send + Sync> Layer for T {}

/// Layers applied in order; state-dict keys are `0.weight`, `1.bias`, ... as in PyTorch.
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sequential({} layers)", self.layers.len())
    }
}

impl Sequential {
    /// An empty sequence.
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a layer (builder style).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Layer + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    fn visit_tensors(&self, prefix: &str, v: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit_tensors(&crate::join_name(prefix, &i.to_string()), v);
        }
    }
    fn set_training(&mut self, training: bool) {
        for l in self.layers.iter_mut() {
            l.set_training(training);
        }
    }
}

impl Forward for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        Ok(h)
    }
}

/// Parameter-free activations as modules (`nn.ReLU()`, `nn.GELU()`, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    ReLU,
    GELU,
    GELUTanh,
    SiLU,
    Sigmoid,
    Tanh,
    /// `nn.Flatten()` (dims 1..=-1).
    Flatten,
    Identity,
}

impl Forward for Activation {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::ReLU => x.relu(),
            Activation::GELU => x.gelu(),
            Activation::GELUTanh => x.gelu_tanh(),
            Activation::SiLU => x.silu(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Flatten => x.flatten(1, -1),
            Activation::Identity => Ok(x.clone()),
        }
    }
}
no_params!(Activation);
