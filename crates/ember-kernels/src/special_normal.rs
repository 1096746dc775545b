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
/// exactly, `e^hi (1 + lo)`. `lo` by Dekker's product (Veltkamp's split of `x` into two
/// 26-bit halves), not `mul_add`, which is a library call on the baseline x86-64 target.
fn exp_square(x: f64) -> f64 {
    let hi = x * x;
    let c = 134_217_729.0 * x; // 2^27 + 1
    let xh = c - (c - x);
    let xl = x - xh;
    let lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl;
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

/// `Φ⁻¹(p)` for `p` in `[0, 1]` (`∓inf` at 0 and 1, NaN outside): Wichura's algorithm AS 241
/// (Applied Statistics 37(3), 1988, `PPND16`), rational functions of degree 7 accurate to about
/// 1e-16 relative: in `q = p - 1/2` on `|q| <= 0.425`, else in `r = sqrt(-ln min(p, 1 - p))`
/// (one fit up to `r = 5`, i.e. `p` down to 1.4e-11, another beyond, to `p` ~ 1e-316). A few
/// nanoseconds per value, against ~250 for Newton steps on `ln Φ`.
#[allow(clippy::excessive_precision)]
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
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(r, &AS241_A) / horner(r, &AS241_B);
    }
    let r = (-(if q < 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        horner(r, &AS241_C) / horner(r, &AS241_D)
    } else {
        let r = r - 5.0;
        horner(r, &AS241_E) / horner(r, &AS241_F)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

/// `c[0] + c[1] x + ... + c[7] x^7` (plain multiply and add: `mul_add` is a library call on
/// the baseline x86-64 target, and took 55% of `ndtri`'s time).
#[inline(always)]
fn horner(x: f64, c: &[f64; 8]) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

// AS 241's coefficients, lowest order first (the published values).
#[allow(clippy::excessive_precision)]
const AS241_A: [f64; 8] = [
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
];
#[allow(clippy::excessive_precision)]
const AS241_B: [f64; 8] = [
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
];
#[allow(clippy::excessive_precision)]
const AS241_C: [f64; 8] = [
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
];
#[allow(clippy::excessive_precision)]
const AS241_D: [f64; 8] = [
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
];
#[allow(clippy::excessive_precision)]
const AS241_E: [f64; 8] = [
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
];
#[allow(clippy::excessive_precision)]
const AS241_F: [f64; 8] = [
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
];

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
            // Each side of AS 241's region boundaries (|p - 1/2| = 0.425; r = 5 at p = 1.39e-11),
            // and a subnormal p.
            (0.075, -1.439_531_470_938_455_9),
            (0.925, 1.439_531_470_938_456_2),
            (0.6, 0.253_347_103_135_799_74),
            (1.3e-11, -6.667_611_456_510_740_8),
            (1.5e-11, -6.646_570_887_477_112_9),
            (0.999_999_9, 5.199_337_582_290_661_1),
            (1e-320, -38.269_125_343_032_651),
        ] {
            assert!(close(ndtri(p), want, 1e-14), "ndtri({p}) = {}", ndtri(p));
        }
        assert_eq!(ndtri(0.5), 0.0);
        assert_eq!(ndtri(0.0), f64::NEG_INFINITY);
        assert!(ndtri(1.5).is_nan());
        assert_eq!(erfcx(f64::INFINITY), 0.0);
    }
}
