//! ember-nn: PyTorch's `torch.nn` for Ember.
//!
//! - [`Module`] (with `#[derive(Module)]`) gives parameters, buffers, PyTorch-style state dicts
//!   and train/eval; [`Forward`] is the call (`module(x)` in PyTorch).
//! - Layers, one file per family: [`linear`], [`conv`], [`pool`], [`norm`], [`embedding`],
//!   [`dropout`], [`attention`], [`rnn`] (RNN, LSTM, GRU and cells), [`transformer`], [`activation`] (activation modules), [`container`] (Sequential).
//! - [`functional`]: the stateless ops and losses; [`init`]: initialisers; [`utils`]: gradient
//!   clipping.
//!
//! Shapes, defaults, initialisation and state-dict keys follow PyTorch, so a PyTorch
//! `state_dict` saved as safetensors loads without renaming.

pub mod activation;
pub mod attention;
pub mod container;
pub mod conv;
pub mod dropout;
pub mod embedding;
pub mod functional;
pub mod init;
pub mod linear;
mod module;
pub mod norm;
pub mod pool;
pub mod rnn;
pub mod transformer;
pub mod upsample;
pub mod utils;

pub use activation::{Activation, PReLU, RReLU};
pub use attention::{AttendOptions, MhaOptions, MultiheadAttention};
pub use container::Sequential;
pub use conv::{
    Conv1d, Conv2d, Conv3d, ConvNd, ConvNdOptions, ConvOptions, ConvPadding, ConvTranspose1d, ConvTranspose2d,
    ConvTranspose3d, ConvTransposeNd, PaddingMode,
};
pub use dropout::{AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout};
pub use embedding::{Embedding, EmbeddingBag};
pub use ember_derive::Module;
pub use linear::Linear;
pub use module::{join_name, Forward, Module, TensorKind};
pub use norm::{
    BatchNorm1d, BatchNorm2d, BatchNorm3d, ChannelNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
    LayerNorm, LocalResponseNorm, NormOptions, RMSNorm,
};
pub use pool::{
    AdaptiveAvgPool2d, AdaptivePool, AvgPool1d, AvgPool2d, AvgPool3d, LPPool, MaxPool1d, MaxPool2d, MaxPool3d,
    MaxUnpool2d, PoolOptions,
};
pub use rnn::{GRUCell, LSTMCell, RNNCell, RnnOptions, GRU, LSTM, RNN};
pub use transformer::{
    generate_square_subsequent_mask, AttentionMasks, Transformer, TransformerActivation, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, TransformerOptions,
};
pub use upsample::{Fold, Pad, PixelShuffle, PixelUnshuffle, Unfold, Upsample};

#[doc(hidden)]
pub use ember_core::Tensor as __Tensor;
