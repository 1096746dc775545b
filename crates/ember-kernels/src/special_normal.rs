//! The normal distribution's special functions in `f64`, each accurate in its tails where a
//! naive formula underflows or cancels: the scaled complementary error function
//! `erfcx(x) = e^(x^2) erfc(x)`, `log_ndtr(x) = ln Φ(x)` and the quantile `ndtri(p) = Φ⁻¹(p)`.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// `e^(x^2) erfc(x)`: `exp(x^2) erfc(x)` for `0 <= x < 26` (musl's `erfc`; `x^2` split exactly
/// into `hi + lo` so `e^(x^2) = e^hi (1 + lo)` keeps full precision), Laplace's continued
/// fraction `1 / (sqrt(π) (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))))` from 26 up (where
/// `erfc` underflows and a few terms suffice), and `2 e^(x^2) - erfcx(-x)` below 0 (`+inf`
/// once `e^(x^2)` overflows).
pub fn erfcx(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < 0.0 {
        if x < -26.7 {
            return f64::INFINITY;
        }
        return 2.0 * exp_square(x) - erfcx(-x);
    }
    if x < 26.0 {
        return exp_square(x) * libm::erfc(x);
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    // Modified Lentz on f = x + a_1 / (x + a_2 / (x + ...)), a_k = k / 2.
    let tiny = 1e-300;
    let (mut f, mut c, mut d) = (x, x, 0.0);
    for k in 1..5_000 {
        let a = f64::from(k) / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    1.0 / (PI.sqrt() * f)
}

/// `erfc(x) = 1 - erf(x)`, accurate where it is tiny (musl's).
pub fn erfc(x: f64) -> f64 {
    libm::erfc(x)
}

/// `e^(x^2)` without the rounding of `x^2` (which would cost `x^2` ulps): `x^2 = hi + lo`
/// exactly (`lo` by a fused multiply-add), `e^hi (1 + lo)`.
fn exp_square(x: f64) -> f64 {
    let hi = x * x;
    let lo = x.mul_add(x, -hi);
    hi.exp() * (1.0 + lo)
}

/// `Φ(x)`, the standard normal CDF: `erfc(-x / sqrt 2) / 2`.
pub fn ndtr(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// `ln Φ(x)`: `log1p(-erfc(x / sqrt 2) / 2)` above 0, `ln(erfcx(-x / sqrt 2) / 2) - x^2 / 2`
/// at and below (finite as far as `-x^2 / 2` is).
pub fn log_ndtr(x: f64) -> f64 {
    if x > 0.0 {
        (-0.5 * libm::erfc(x * FRAC_1_SQRT_2)).ln_1p()
    } else {
        (0.5 * erfcx(-x * FRAC_1_SQRT_2)).ln() - 0.5 * x * x
    }
}

/// `Φ⁻¹(p)` for `p` in `[0, 1]` (`∓inf` at 0 and 1, NaN outside): `sqrt 2 erfinv(2p - 1)` and a
/// Halley step on `Φ` in the middle; in the tails an initial guess (Abramowitz and Stegun
/// 26.2.23, error < 4.5e-4) and Newton steps on `ln Φ(x) = ln p`, which stay exact down to the
/// smallest subnormal `p`. Above `p = 0.925`, `-Φ⁻¹(1 - p)` (`1 - p` is exact there).
pub fn ndtri(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.925 {
        return -ndtri_lower(1.0 - p);
    }
    if p >= 0.075 {
        let x = std::f64::consts::SQRT_2 * crate::special::erfinv(2.0 * p - 1.0);
        // Halley: u = (Φ(x) - p) / φ(x), x -= u / (1 + x u / 2).
        let u = (ndtr(x) - p) * (2.0 * PI).sqrt() * (0.5 * x * x).exp();
        return x - u / (1.0 + 0.5 * x * u);
    }
    ndtri_lower(p)
}

/// `Φ⁻¹(p)` for `0 < p < 0.075`, by Newton on `g(x) = ln Φ(x) - ln p`, whose slope
/// `φ(x) / Φ(x) = exp(-x^2 / 2 - ln Φ(x)) / sqrt(2π)` never underflows.
fn ndtri_lower(p: f64) -> f64 {
    let t = (-2.0 * p.ln()).sqrt();
    let mut x = -(t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t));
    let ln_p = p.ln();
    for _ in 0..6 {
        let l = log_ndtr(x);
        let slope = (-0.5 * x * x - l).exp() / (2.0 * PI).sqrt();
        let step = (l - ln_p) / slope;
        x -= step;
        if step.abs() <= 1e-16 * x.abs() {
            break;
        }
    }
    x
}

#[cfg(test)]
// Reference values are mpmath's, written to 17 digits.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rtol: f64) -> bool {
        (a - b).abs() <= rtol * b.abs()
    }

    #[test]
    fn values_against_mpmath() {
        // mpmath at 50 digits: exp(x^2) erfc(x), log(ncdf(x)), and x with ncdf(x) = p.
        for (x, want) in [
            (-3.0, 16_205.988_853_999_587),
            (0.5, 0.615_690_344_192_925_87),
            (2.0, 0.255_395_676_310_505_74),
            (30.0, 0.018_795_888_861_416_751),
        ] {
            assert!(close(erfcx(x), want, 2e-15), "erfcx({x}) = {}", erfcx(x));
        }
        for (x, want) in
            [(-40.0, -804.608_442_013_753_79), (-5.0, -15.064_998_393_988_726), (0.3, -0.481_410_161_588_481_2)]
        {
            assert!(close(log_ndtr(x), want, 1e-15), "log_ndtr({x}) = {}", log_ndtr(x));
        }
        for (p, want) in [
            (1e-300, -37.047_096_299_361_199),
            (0.01, -2.326_347_874_040_841_1),
            (0.3, -0.524_400_512_708_040_78),
            (0.999, 3.090_232_306_167_813_5),
        ] {
            assert!(close(ndtri(p), want, 1e-14), "ndtri({p}) = {}", ndtri(p));
        }
        assert_eq!(ndtri(0.0), f64::NEG_INFINITY);
        assert!(ndtri(1.5).is_nan());
        assert_eq!(erfcx(f64::INFINITY), 0.0);
    }
}
