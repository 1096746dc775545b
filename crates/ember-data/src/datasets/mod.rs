//! Data sets: MNIST and Fashion-MNIST from IDX files ([`mnist`]), character-level text
//! ([`text`]).

pub mod mnist;
pub mod text;

pub use mnist::{FashionMnist, Mnist};
pub use text::CharText;
