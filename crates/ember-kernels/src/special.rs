//! Special functions in `f64` (scalar; the elementwise ops run them per element): `ln |Γ|`,
//! digamma, trigamma and the inverse error function, with PyTorch's values at poles
//! (`lgamma` is `+inf` at the non-positive integers, `digamma(0) = -inf` and NaN at the
//! negative integers, trigamma `+inf` at the non-positive integers).

use std::f64::consts::PI;

/// `ln |Γ(x)|` (Lanczos, g = 7, 9 terms, ~1e-15 relative; reflection below 0.5).
pub fn lgamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    if x <= 0.0 && x == x.floor() {
        return f64::INFINITY;
    }
    if x < 0.5 {
        // Γ(x) Γ(1 - x) = π / sin(π x)
        return (PI / (PI * x).sin().abs()).ln() - lgamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let s = C[1..].iter().enumerate().fold(C[0], |s, (i, &c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

/// `ψ(x) = d/dx ln Γ(x)`: recurrence up to 10, then the asymptotic series.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x < 0.0 {
        if x == x.floor() {
            return f64::NAN;
        }
        // ψ(1 - x) - ψ(x) = π cot(π x)
        return digamma(1.0 - x) - PI / (PI * x).tan();
    }
    let (mut x, mut acc) = (x, 0.0);
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0)))));
    acc + x.ln() - 0.5 / x - series
}

/// `ψ'(x)` (`polygamma(1, x)`): recurrence up to 10, then the asymptotic series.
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::INFINITY;
        }
        // ψ'(1 - x) + ψ'(x) = π² / sin²(π x)
        let s = (PI * x).sin();
        return PI * PI / (s * s) - trigamma(1.0 - x);
    }
    let (mut x, mut acc) = (x, 0.0);
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = 1.0 / x
        + f / 2.0
        + f / x * (1.0 / 6.0 - f * (1.0 / 30.0 - f * (1.0 / 42.0 - f * (1.0 / 30.0 - f * 5.0 / 66.0))));
    acc + series
}

/// `erf⁻¹(x)` for x in [-1, 1] (Giles' single-precision approximation, then two Newton steps
/// on `erf`, ~1e-15); ±inf at ±1, NaN outside.
pub fn erfinv(x: f64) -> f64 {
    if x.is_nan() || !(-1.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 1.0 || x == -1.0 {
        return x * f64::INFINITY;
    }
    let w = -((1.0 - x) * (1.0 + x)).ln();
    let mut y = if w < 5.0 {
        let w = w - 2.5;
        let p = [
            2.810_226_36e-08,
            3.432_739_39e-07,
            -3.523_387_7e-06,
            -4.391_506_54e-06,
            0.000_218_580_87,
            -0.001_253_725_03,
            -0.004_177_681_64,
            0.246_640_727,
            1.501_409_41,
        ];
        p.iter().fold(0.0, |acc, &c| acc * w + c) * x
    } else {
        let w = w.sqrt() - 3.0;
        let p = [
            -0.000_200_214_257,
            0.000_100_950_558,
            0.001_349_343_22,
            -0.003_673_428_44,
            0.005_739_507_73,
            -0.007_622_461_3,
            0.009_438_870_47,
            1.001_674_06,
            2.832_976_82,
        ];
        p.iter().fold(0.0, |acc, &c| acc * w + c) * x
    };
    for _ in 0..2 {
        let err = crate::vmath::erf_f64(y) - x;
        y -= err / (2.0 / PI.sqrt() * (-y * y).exp());
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_against_closed_forms() {
        // Γ(n) = (n-1)!, Γ(1/2) = sqrt(pi), |Γ(-1/2)| = 2 sqrt(pi).
        assert!((lgamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((lgamma(0.5) - PI.sqrt().ln()).abs() < 1e-14);
        assert!((lgamma(-0.5) - (2.0 * PI.sqrt()).ln()).abs() < 1e-13);
        // ψ(1) = -γ, ψ(1/2) = -γ - 2 ln 2, ψ(n+1) = ψ(n) + 1/n.
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-13);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-13);
        assert!((digamma(-0.5) - (digamma(1.5) - PI / (-PI * 0.5).tan())).abs() < 1e-12);
        // ψ'(1) = π²/6, ψ'(1/2) = π²/2.
        assert!((trigamma(1.0) - PI * PI / 6.0).abs() < 1e-13);
        assert!((trigamma(0.5) - PI * PI / 2.0).abs() < 1e-12);
        for x in [-0.99, -0.5, -1e-3, 0.0, 0.3, 0.9, 0.999_999] {
            assert!((crate::vmath::erf_f64(erfinv(x)) - x).abs() < 1e-14, "{x}");
        }
        assert_eq!((lgamma(0.0), lgamma(-2.0), digamma(0.0)), (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY));
        assert!(digamma(-3.0).is_nan() && erfinv(1.5).is_nan() && trigamma(-1.0).is_infinite());
    }
}
