//! The classical orthogonal polynomials of `torch.special` (`chebyshev_polynomial_t`, ...):
//! `p_n(x)` by each family's three-term recurrence in the input's own precision, with
//! PyTorch's conventions (the degree is truncated to an integer; a negative or non-finite
//! degree gives 0; the Chebyshev families use their closed trigonometric forms inside
//! `(-1, 1)` for large degrees; the recurrence runs on into `inf - inf = NaN` when it
//! overflows, as PyTorch's does; degrees past 2^22 that need the recurrence give NaN rather
//! than run for hours).

use crate::backend::cpu::map::Float;

/// The families, one `BinaryOp` each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    ChebyshevT,
    ChebyshevU,
    ChebyshevV,
    ChebyshevW,
    HermiteH,
    HermiteHe,
    LaguerreL,
    LegendreP,
}

/// The degree as PyTorch reads it: truncated toward zero, `None` (the polynomial is 0) when
/// negative, NaN, infinite or beyond `i64`.
fn degree<F: Float>(n: F) -> Option<i64> {
    let n = n.to_f64();
    (n.is_finite() && n > -1.0 && n < 9.2e18).then_some(n as i64)
}

/// The highest degree run through a recurrence: PyTorch loops `n` times whatever `n` is (a
/// degree of 1e15 runs for days); Ember gives NaN past 2^22 steps instead.
const MAX_RECURRENCE: i64 = 1 << 22;

/// Runs `q_{k+1} = step(k, q_k, q_{k-1})` from `(p, q) = (p_0, p_1)` up to degree `n`,
/// stopping early once the value is NaN (it stays NaN).
fn recur<F: Float>(n: i64, p0: F, p1: F, step: impl Fn(F, F, F) -> F) -> F {
    if n > MAX_RECURRENCE {
        return F::of(f64::NAN);
    }
    let (mut p, mut q) = (p0, p1);
    let mut k = 1;
    while k < n && !q.is_nan() {
        let r = step(F::of(k as f64), q, p);
        (p, q) = (q, r);
        k += 1;
    }
    q
}

/// `p_n(x)` of one family.
pub(crate) fn eval<F: Float>(family: Family, x: F, n: F) -> F {
    let Some(n) = degree(n) else { return F::of(0.0) };
    let (one, two) = (F::of(1.0), F::of(2.0));
    let nf = F::of(n as f64);
    let inside = x.abs() < one;
    match family {
        Family::ChebyshevT => {
            if x.abs() == one {
                return if x > F::of(0.0) || n % 2 == 0 { one } else { -one };
            }
            if n > 6 && inside {
                return (nf * x.acos()).cos();
            }
            match n {
                0 => one,
                _ => recur(n, one, x, |_, q, p| two * x * q - p),
            }
        }
        Family::ChebyshevU => {
            if x.abs() == one {
                let v = nf + one;
                return if x > F::of(0.0) || n % 2 == 0 { v } else { -v };
            }
            if n > 8 && inside {
                let t = x.acos();
                return if t.sin() != F::of(0.0) {
                    ((nf + one) * t).sin() / t.sin()
                } else {
                    (nf + one) * ((nf + one) * t).cos() / x
                };
            }
            match n {
                0 => one,
                _ => recur(n, one, two * x, |_, q, p| two * x * q - p),
            }
        }
        Family::ChebyshevV => chebyshev_vw(x, n, false),
        Family::ChebyshevW => chebyshev_vw(x, n, true),
        Family::HermiteH | Family::HermiteHe => {
            // PyTorch gives NaN past degree 128 in single precision, 512 in double.
            let limit = if std::mem::size_of::<F>() == 8 { 512 } else { 128 };
            let physicists = family == Family::HermiteH;
            match n {
                0 => one,
                1 if physicists => x + x,
                1 => x,
                _ if n > limit => F::of(f64::NAN),
                // H_{k+1} = 2x H_k - 2k H_{k-1};  He_{k+1} = x He_k - k He_{k-1}
                _ if physicists => recur(n, one, x + x, |k, q, p| (x + x) * q - (k + k) * p),
                _ => recur(n, one, x, |k, q, p| x * q - k * p),
            }
        }
        Family::LaguerreL => {
            if x == F::of(0.0) {
                return one;
            }
            match n {
                0 => one,
                // (k + 1) L_{k+1} = (2k + 1 - x) L_k - k L_{k-1}
                _ => recur(n, one, one - x, |k, q, p| ((k + k + one - x) * q - k * p) / (k + one)),
            }
        }
        Family::LegendreP => {
            if x.abs() == one {
                return if x > F::of(0.0) || n % 2 == 0 { one } else { -one };
            }
            match n {
                0 => one,
                // (k + 1) P_{k+1} = (2k + 1) x P_k - k P_{k-1}
                _ => recur(n, one, x, |k, q, p| ((k + k + one) * x * q - k * p) / (k + one)),
            }
        }
    }
}

/// The Chebyshev polynomials of the third (`V`) and fourth (`W`) kinds: their values at ±1
/// (`V_n(1) = 1`, `V_n(-1) = (-1)^n (2n + 1)`; `W` the other way round), the closed forms
/// `cos((n + 1/2) t) / cos(t / 2)` and `sin((n + 1/2) t) / sin(t / 2)` (`x = cos t`) past
/// degree 8, else `p_{k+1} = 2x p_k - p_{k-1}` from `p_1 = 2x ∓ 1`.
fn chebyshev_vw<F: Float>(x: F, n: i64, fourth: bool) -> F {
    let (one, two, half) = (F::of(1.0), F::of(2.0), F::of(0.5));
    let nf = F::of(n as f64);
    let odd = nf + nf + one;
    // The value at x = 1 and at x = -1.
    let (at_plus, at_minus) = if fourth { (odd, one) } else { (one, odd) };
    let edge = |x: F| {
        if x > F::of(0.0) {
            at_plus
        } else if n % 2 == 0 {
            at_minus
        } else {
            -at_minus
        }
    };
    if x.abs() == one {
        return edge(x);
    }
    if n > 8 && x.abs() < one {
        let t = x.acos();
        let (num, den) = if fourth {
            (((nf + half) * t).sin(), (half * t).sin())
        } else {
            (((nf + half) * t).cos(), (half * t).cos())
        };
        return if den != F::of(0.0) { num / den } else { edge(x) };
    }
    match n {
        0 => one,
        _ => recur(n, one, if fourth { two * x + one } else { two * x - one }, |_, q, p| two * x * q - p),
    }
}

/// The shifted Chebyshev polynomials `T*_n(x) = T_n(2x - 1)` (and `U*`, `V*`, `W*`).
pub(crate) fn eval_shifted<F: Float>(family: Family, x: F, n: F) -> F {
    eval(family, x + x - F::of(1.0), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        // T_3 = 4x^3 - 3x, U_3 = 8x^3 - 4x, H_3 = 8x^3 - 12x, He_3 = x^3 - 3x,
        // L_3 = (-x^3 + 9x^2 - 18x + 6) / 6, P_3 = (5x^3 - 3x) / 2, V_2 = 4x^2 - 2x - 1,
        // W_2 = 4x^2 + 2x - 1.
        let x = 0.3f64;
        let cases = [
            (Family::ChebyshevT, 4.0 * x.powi(3) - 3.0 * x),
            (Family::ChebyshevU, 8.0 * x.powi(3) - 4.0 * x),
            (Family::HermiteH, 8.0 * x.powi(3) - 12.0 * x),
            (Family::HermiteHe, x.powi(3) - 3.0 * x),
            (Family::LaguerreL, (-x.powi(3) + 9.0 * x * x - 18.0 * x + 6.0) / 6.0),
            (Family::LegendreP, (5.0 * x.powi(3) - 3.0 * x) / 2.0),
        ];
        for (f, want) in cases {
            assert!((eval(f, x, 3.0) - want).abs() < 1e-14, "{f:?}");
        }
        assert!((eval(Family::ChebyshevV, x, 2.0) - (4.0 * x * x - 2.0 * x - 1.0)).abs() < 1e-14);
        assert!((eval(Family::ChebyshevW, x, 2.0) - (4.0 * x * x + 2.0 * x - 1.0)).abs() < 1e-14);
        // T_n(cos t) = cos(n t) on both sides of the switch to the closed form.
        for n in [6.0, 7.0, 20.0] {
            assert!((eval(Family::ChebyshevT, 0.4f64.cos(), n) - (0.4 * n).cos()).abs() < 1e-12);
        }
        assert_eq!(eval(Family::ChebyshevT, 0.3f64, -1.0), 0.0);
        assert_eq!(eval(Family::ChebyshevT, 0.3f64, f64::NAN), 0.0);
        assert_eq!(eval(Family::ChebyshevT, 0.3f64, 2.7), eval(Family::ChebyshevT, 0.3f64, 2.0));
        assert!(eval(Family::ChebyshevT, 2.0f64, 2000.0).is_nan());
        assert!(eval(Family::HermiteH, 0.5f32, 129.0).is_nan());
        assert_eq!(eval_shifted(Family::ChebyshevT, 0.0f64, 3.0), -1.0);
        // A degree no recurrence should run to is NaN at once (inside (-1, 1) T has its closed form).
        assert!(eval(Family::LegendreP, 0.5f64, 1e15).is_nan());
        assert!((eval(Family::ChebyshevT, 0.5f64, 1e15) - (1e15 * 0.5f64.acos()).cos()).abs() < 1e-12);
    }
}
