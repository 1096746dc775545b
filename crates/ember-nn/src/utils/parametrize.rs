//! The weight reparametrisations of `torch.nn.utils.parametrizations`: weight normalisation
//! (`weight = g * v / ||v||`, the norm over every dim but `dim`) and spectral normalisation
//! (the weight divided by its largest singular value, estimated by power iteration with the
//! `u`, `v` vectors kept between calls). Apply them in `forward` to parameters the module owns
//! (`g`/`v`, or the raw weight), as the parametrisation does before each use.

use ember_core::{no_grad, DType, Error, Result, Tensor};

/// `torch._weight_norm(v, g, dim)`: `g * v / ||v||`, the L2 norm taken over every dim except
/// `dim` (`None`: over the whole tensor, `g` a scalar).
#[track_caller]
pub fn weight_norm(v: &Tensor, g: &Tensor, dim: Option<isize>) -> Result<Tensor> {
    v.mul(&g.div(&norm_except_dim(v, dim)?)?)
}

/// PyTorch's `norm_except_dim(v, 2, dim)`: the L2 norm over every dim except `dim`, kept
/// as size-1 dims (a scalar for `None`).
#[track_caller]
pub fn norm_except_dim(v: &Tensor, dim: Option<isize>) -> Result<Tensor> {
    match dim {
        None => v.square()?.sum()?.sqrt(),
        Some(d) => {
            let d = if d < 0 { d + v.dim() as isize } else { d };
            if d < 0 || d as usize >= v.dim().max(1) {
                return Err(Error::index("weight_norm", format!("dim {d} out of range for a {}-D weight", v.dim())));
            }
            let others: Vec<isize> = (0..v.dim() as isize).filter(|&i| i != d).collect();
            if others.is_empty() {
                v.abs()
            } else {
                v.square()?.sum_dims_keep(&others, true)?.sqrt()
            }
        }
    }
}

/// `g` and `v` for [`weight_norm`] from an existing weight (`g = ||w||` per `dim` slice,
/// `v = w`), as `parametrizations.weight_norm` initialises them.
#[track_caller]
pub fn weight_norm_init(w: &Tensor, dim: Option<isize>) -> Result<(Tensor, Tensor)> {
    let g = no_grad(|| norm_except_dim(w, dim))?;
    Ok((g.contiguous()?, w.detach().contiguous()?))
}

/// Spectral normalisation state (`parametrizations.spectral_norm`): the power-iteration
/// vectors `u` (rows) and `v` (columns) of the weight seen as a matrix (`dim` first, the rest
/// flattened).
#[derive(Clone, Debug)]
pub struct SpectralNorm {
    pub u: Tensor,
    pub v: Tensor,
    pub n_power_iterations: usize,
    pub eps: f64,
    pub dim: usize,
}

fn normalize(x: &Tensor, eps: f64) -> Result<Tensor> {
    let n = x.square()?.sum()?.sqrt()?.clamp(Some(eps), None)?;
    x.div(&n)
}

impl SpectralNorm {
    /// State for `weight` (random `u`, `v` refined by 15 power iterations, as PyTorch).
    #[track_caller]
    pub fn new(weight: &Tensor, n_power_iterations: usize, eps: f64, dim: usize) -> Result<SpectralNorm> {
        if weight.dim() < 1 || dim >= weight.dim() || n_power_iterations == 0 {
            return Err(Error::value(
                "spectral_norm",
                format!("expected a weight with dim {dim} and n_power_iterations > 0, got shape {:?}", weight.shape()),
            ));
        }
        let m = Self::matrix(weight, dim)?;
        let (h, w) = (m.shape()[0], m.shape()[1]);
        let u = normalize(&Tensor::randn(&[h], DType::F64)?.to_dtype(weight.dtype())?, eps)?;
        let v = normalize(&Tensor::randn(&[w], DType::F64)?.to_dtype(weight.dtype())?, eps)?;
        let mut s = SpectralNorm { u, v, n_power_iterations, eps, dim };
        s.power_method(&m, 15)?;
        Ok(s)
    }

    fn matrix(weight: &Tensor, dim: usize) -> Result<Tensor> {
        let w = if dim == 0 { weight.clone() } else { weight.movedim(&[dim as isize], &[0])? };
        if w.dim() == 1 {
            return w.reshape(&[-1, 1]);
        }
        w.flatten(1, -1)
    }

    fn power_method(&mut self, m: &Tensor, iterations: usize) -> Result<()> {
        no_grad(|| {
            let md = m.detach();
            for _ in 0..iterations {
                self.u = normalize(&md.matmul(&self.v)?, self.eps)?;
                self.v = normalize(&md.t()?.matmul(&self.u)?, self.eps)?;
            }
            Ok(())
        })
    }

    /// `weight / sigma`, sigma = `u^T W v`; in training, `n_power_iterations` steps refine `u`
    /// and `v` first (without recording), as PyTorch's forward.
    #[track_caller]
    pub fn apply(&mut self, weight: &Tensor, training: bool) -> Result<Tensor> {
        let m = Self::matrix(weight, self.dim)?;
        if m.shape() != [self.u.numel(), self.v.numel()] {
            return Err(Error::shape("spectral_norm", format!("weight {:?} changed shape", weight.shape())));
        }
        if training {
            self.power_method(&m, self.n_power_iterations)?;
        }
        let sigma = self.u.matmul(&m.matmul(&self.v)?)?;
        weight.div(&sigma)
    }
}
