//! Fused optimiser updates: one pass over a parameter, its gradient and its state instead of a
//! dozen elementwise tensor ops. The arithmetic is PyTorch's single-tensor Adam/AdamW, in the
//! same order, so trajectories match the unfused path to rounding.

/// Adam/AdamW hyper-parameters for one step (bias corrections already computed).
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW (decay the weights) instead of Adam (decay through the gradient).
    pub decoupled: bool,
    pub maximize: bool,
    /// `1 - beta1^t`.
    pub bias_correction1: f64,
    /// `sqrt(1 - beta2^t)`.
    pub bias_correction2_sqrt: f64,
}

macro_rules! adam_impl {
    ($name:ident, $t:ty) => {
        /// One Adam/AdamW step over contiguous slices of equal length; `max_sq` enables AMSGrad.
        ///
        /// # Panics
        /// When the slices differ in length.
        pub fn $name(p: &mut [$t], g: &[$t], m: &mut [$t], v: &mut [$t], mut max_sq: Option<&mut [$t]>, s: &AdamStep) {
            let n = p.len();
            assert!(
                g.len() == n && m.len() == n && v.len() == n && max_sq.as_ref().is_none_or(|x| x.len() == n),
                "adam: length mismatch"
            );
            let (b1, b2) = (s.beta1 as $t, s.beta2 as $t);
            let (one_b1, one_b2) = ((1.0 - s.beta1) as $t, (1.0 - s.beta2) as $t);
            let wd = s.weight_decay as $t;
            let decay = (1.0 - s.lr * s.weight_decay) as $t;
            let inv_bc2 = (1.0 / s.bias_correction2_sqrt) as $t;
            let eps = s.eps as $t;
            let step = (s.lr / s.bias_correction1) as $t;
            for i in 0..n {
                let mut d = if s.maximize { -g[i] } else { g[i] };
                if s.weight_decay != 0.0 {
                    if s.decoupled {
                        p[i] *= decay;
                    } else {
                        d += p[i] * wd;
                    }
                }
                m[i] += (d - m[i]) * one_b1;
                v[i] = v[i] * b2 + d * d * one_b2;
                let second = match max_sq.as_deref_mut() {
                    Some(mx) => {
                        if v[i] > mx[i] || mx[i].is_nan() {
                            mx[i] = v[i];
                        }
                        mx[i]
                    }
                    None => v[i],
                };
                let denom = second.sqrt() * inv_bc2 + eps;
                p[i] -= m[i] / denom * step;
            }
            let _ = b1;
        }
    };
}

adam_impl!(adam_f32, f32);
adam_impl!(adam_f64, f64);

/// Adadelta hyper-parameters for one step.
#[derive(Clone, Copy, Debug)]
pub struct AdadeltaStep {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

macro_rules! adadelta_impl {
    ($name:ident, $t:ty) => {
        /// One Adadelta step over contiguous slices of equal length (PyTorch's arithmetic, in
        /// its order: `sq = sq rho + g^2 (1 - rho)`, `delta = sqrt(acc + eps) / sqrt(sq + eps) g`,
        /// `acc = acc rho + delta^2 (1 - rho)`, `p -= lr delta`).
        ///
        /// # Panics
        /// When the slices differ in length.
        pub fn $name(p: &mut [$t], g: &[$t], sq: &mut [$t], acc: &mut [$t], s: &AdadeltaStep) {
            let n = p.len();
            assert!(g.len() == n && sq.len() == n && acc.len() == n, "adadelta: length mismatch");
            let (rho, one_rho, eps) = (s.rho as $t, (1.0 - s.rho) as $t, s.eps as $t);
            let (lr, wd) = (s.lr as $t, s.weight_decay as $t);
            for i in 0..n {
                let d = if s.weight_decay != 0.0 { g[i] + p[i] * wd } else { g[i] };
                sq[i] = sq[i] * rho + d * d * one_rho;
                let delta = (acc[i] + eps).sqrt() / (sq[i] + eps).sqrt() * d;
                acc[i] = acc[i] * rho + delta * delta * one_rho;
                p[i] -= delta * lr;
            }
        }
    };
}

adadelta_impl!(adadelta_f32, f32);
adadelta_impl!(adadelta_f64, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_adam_step_by_hand() {
        let s = AdamStep {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            maximize: false,
            bias_correction1: 0.1,
            bias_correction2_sqrt: 0.001f64.sqrt(),
        };
        let (mut p, g, mut m, mut v) = (vec![1.0f64], vec![0.5], vec![0.0], vec![0.0]);
        adam_f64(&mut p, &g, &mut m, &mut v, None, &s);
        // m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25: p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
        assert!((p[0] - (1.0 - 0.1 * 0.5 / (0.5 + 1e-8))).abs() < 1e-12, "{}", p[0]);
        assert!((m[0] - 0.05).abs() < 1e-15 && (v[0] - 0.00025).abs() < 1e-15);
    }
}
