//! Vectorised elementwise math on `f32` slices: exp, tanh, erf, sigmoid, silu, gelu (Horner
//! steps as fused multiply-adds: see `fma` below).
//!
//! Each function is a branch-free polynomial or rational approximation (selects, not branches,
//! so the compiler vectorises it for every ISA copy made by [`crate::simd_dispatch`]). The
//! `*_ref` twins compute the same function in `f64` with `std` and are what the tests compare
//! against. Accuracy: a few ulp for exp/tanh/sigmoid; erf and GELU about 2e-7 relative.

// Coefficients are written as published (Eigen, Numerical Recipes), digits beyond f32 included.
#![allow(clippy::excessive_precision)]

use crate::simd_dispatch;

const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// 1.5 * 2^23: adding it to a float below 2^22 rounds to an integer kept in the low mantissa bits.
const ROUND_SHIFT: f32 = 12_582_912.0;
/// `2^-64`.
const TWO_M64: f32 = 5.421_010_9e-20;

/// `a * b + c` with one rounding. Inside the dispatched kernels (compiled with FMA, and on
/// aarch64) this is one instruction, which halves the latency of each Horner step against a
/// separate multiply and add (Rust does not contract `a * b + c` on its own); in code compiled
/// without FMA it is a call into libm, so the scalar `*1` functions belong in dispatched loops.
/// Being exactly rounded everywhere, it also gives every ISA the same results.
#[inline(always)]
fn fma(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    if c {
        a
    } else {
        b
    }
}

/// `e^x` for one lane: range reduction `x = n ln2 + r`, degree-7 polynomial, `2^n` from bits.
#[inline(always)]
pub fn exp1(x: f32) -> f32 {
    // Clamp so that n fits the exponent arithmetic below; exp(89) already overflows to inf.
    // Below -105 the result rounds to 0 (under half the smallest subnormal); computing it
    // would take the product through subnormals, a microcode assist per vector (a softmax row
    // padded or masked with -inf ran at half speed), so those lanes compute exp(0) and are
    // replaced by 0 at the end.
    let under = x < -105.0;
    let xc = select(x > 89.0, 89.0, select(under, 0.0, x));
    let t = fma(xc, LOG2E, ROUND_SHIFT);
    let n = t - ROUND_SHIFT;
    let r = fma(-n, LN2_LO, fma(-n, LN2_HI, xc));
    let mut p = fma(r, 1.0 / 5040.0, 1.0 / 720.0);
    p = fma(p, r, 1.0 / 120.0);
    p = fma(p, r, 1.0 / 24.0);
    p = fma(p, r, 1.0 / 6.0);
    p = fma(p, r, 0.5);
    p = fma(p, r, 1.0);
    p = fma(p, r, 1.0);
    let ni = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    // 2^n split in two factors so that results in the denormal range round correctly.
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let s1 = f32::from_bits(((n1 + 127) << 23) as u32);
    let s2 = f32::from_bits(((n2 + 127) << 23) as u32);
    let y = p * s1 * s2;
    select(x.is_nan(), x, select(under, 0.0, y))
}

/// `tanh(x)`: odd rational approximation (13/6) on the clamped range, as in Eigen.
#[inline(always)]
pub fn tanh1(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let xc = select(x > CLAMP, CLAMP, select(x < -CLAMP, -CLAMP, x));
    let x2 = xc * xc;
    // Separate multiplies and adds, not `fma`: this fit's rounding errors were tuned that way
    // (with fused steps tanh(5.24) lands 3.5 ulp high, and 1 - tanh^2 in gradients shows it).
    let mut p = x2 * -2.760_768_5e-16 + 2.000_187_9e-13;
    p = x2 * p + -8.604_671_5e-11;
    p = x2 * p + 5.122_297e-8;
    p = x2 * p + 1.485_722_4e-5;
    p = x2 * p + 6.372_619_3e-4;
    p = x2 * p + 4.893_524_6e-3;
    p *= xc;
    let mut q = x2 * 1.198_258_4e-6 + 1.185_347_1e-4;
    q = x2 * q + 2.268_434_6e-3;
    q = x2 * q + 4.893_525e-3;
    // Below 4e-4, tanh(x) == x to f32 precision (and this keeps -0 as -0).
    let y = select(xc.abs() < 4e-4, x, p / q);
    // Saturated: exactly ±1 (tanh(30) == 1, as PyTorch gives; the fit itself ends a few ulp
    // short of 1 at the clamp).
    select(x.abs() >= CLAMP, 1.0f32.copysign(x), y)
}

/// `scale * erfc(a)` for `a >= 0` (or NaN, which it returns) and `scale` a power of two, with
/// relative error below 1.5e-7: Numerical Recipes' Chebyshev fit `erfc(a) = t e^(P(t) - a^2)`,
/// `t = 1 / (1 + a/2)`, so tails such as `gelu(-4)` keep their relative accuracy instead of
/// cancelling in `1 - erf`.
///
/// Written for throughput (GELU and its gradient call it on every element): the exponential
/// is inlined with a degree-6 minimax polynomial on the reduced range (relative error 7e-8,
/// below the fit's own), and it builds `2^(n + 64)`, which is a normal float for every `n`
/// here, instead of splitting a subnormal `2^n` in two factors; the `2^-64` rides on `t` so the
/// result is rounded once, subnormal or not. Past `a = 10.5`, erfc is below half the smallest
/// subnormal, so the clamp there returns exactly 0 and keeps `n` in range.
#[inline(always)]
fn erfc_pos_scaled(a: f32, scale: f32) -> f32 {
    // `a > 10.5 ? 10.5 : a` keeps a NaN `a` (x86's min returns its second operand on NaN).
    let a = select(a > 10.5, 10.5, a);
    let t = 1.0 / fma(0.5, a, 1.0);
    let mut p = fma(t, 0.170_872_77, -0.822_152_23);
    for c in [
        1.488_515_87,
        -1.135_203_98,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_7,
        -1.265_512_2,
    ] {
        p = fma(p, t, c);
    }
    // e^arg with arg in [-112, 0.1]: arg = n ln2 + r, |r| <= ln2 / 2.
    let arg = fma(-a, a, p);
    let k = fma(arg, LOG2E, ROUND_SHIFT);
    let n = k - ROUND_SHIFT;
    let r = fma(-n, LN2_LO, fma(-n, LN2_HI, arg));
    let mut e = fma(r, 1.383_682_8e-3, 8.374_815e-3);
    e = fma(e, r, 4.166_822_5e-2);
    e = fma(e, r, 0.166_664_2);
    e = fma(e, r, 0.499_999_9);
    e = fma(e, r, 1.0);
    e = fma(e, r, 1.0);
    // The low bits of `k` hold n (two's complement); shifted into the exponent field and
    // biased by 127 + 64 they give 2^(n + 64), with n + 64 >= -98.
    let two_n64 = f32::from_bits((k.to_bits() << 23).wrapping_add((127 + 64) << 23));
    (t * (scale * TWO_M64)) * (e * two_n64)
}

/// `erfc(a)` for `a >= 0`.
#[inline(always)]
fn erfc_pos(a: f32) -> f32 {
    erfc_pos_scaled(a, 1.0)
}

/// `erf(x)`: Taylor series below 0.3 (where `1 - erfc` would cancel), `1 - erfc` above.
#[inline(always)]
pub fn erf1(x: f32) -> f32 {
    let a = x.abs();
    let a2 = a * a;
    let mut poly = fma(a2, 1.0 / 216.0, -1.0 / 42.0);
    poly = fma(poly, a2, 1.0 / 10.0);
    poly = fma(poly, a2, -1.0 / 3.0);
    poly = fma(poly, a2, 1.0);
    let small = std::f32::consts::FRAC_2_SQRT_PI * a * poly;
    let y = select(a < 0.3, small, 1.0 - erfc_pos(a));
    // copysign keeps erf odd (and erf(-0) = -0); NaN stays NaN through the arithmetic.
    y.copysign(x)
}

/// `Phi(x)`, the standard normal CDF, without cancellation in either tail.
#[inline(always)]
fn normal_cdf(x: f32) -> f32 {
    let half_tail = erfc_pos_scaled(x.abs() * std::f32::consts::FRAC_1_SQRT_2, 0.5);
    select(x < 0.0, half_tail, 1.0 - half_tail)
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid1(x: f32) -> f32 {
    1.0 / (1.0 + exp1(-x))
}

/// GELU with the exact (erf) form, PyTorch's default: `x Phi(x)`.
#[inline(always)]
pub fn gelu1(x: f32) -> f32 {
    x * normal_cdf(x)
}

/// GELU with the tanh approximation (`approximate="tanh"`), written as
/// `x sigmoid(2z)` (equal to `0.5 x (1 + tanh z)`) so the negative tail does not cancel.
#[inline(always)]
pub fn gelu_tanh1(x: f32) -> f32 {
    const K2: f32 = 2.0 * 0.797_884_6; // 2 sqrt(2 / pi)
    x * sigmoid1(K2 * (x + 0.044_715 * x * x * x))
}

/// Derivative of the tanh-approximated GELU `x s`, `s = sigmoid(2z)`, `z = k (x + c x^3)`:
/// `s + x s (1 - s) 2k (1 + 3 c x^2)`.
#[inline(always)]
pub fn gelu_tanh_grad1(x: f32) -> f32 {
    const K2: f32 = 2.0 * 0.797_884_6;
    let s = sigmoid1(K2 * (x + 0.044_715 * x * x * x));
    s + x * s * (1.0 - s) * K2 * (1.0 + 3.0 * 0.044_715 * x * x)
}

/// Derivative of the exact GELU: `Phi(x) + x phi(x)`.
#[inline(always)]
pub fn gelu_grad1(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    normal_cdf(x) + x * INV_SQRT_2PI * exp1(-0.5 * x * x)
}

macro_rules! map_kernel {
    ($body:ident, $f:ident) => {
        #[inline(always)]
        fn $body(x: &[f32], out: &mut [f32]) {
            assert_eq!(x.len(), out.len(), "map kernel: length mismatch");
            for (o, &v) in out.iter_mut().zip(x) {
                *o = $f(v);
            }
        }
    };
}

map_kernel!(exp_body, exp1);
map_kernel!(tanh_body, tanh1);
map_kernel!(erf_body, erf1);
map_kernel!(sigmoid_body, sigmoid1);
map_kernel!(gelu_body, gelu1);
map_kernel!(gelu_tanh_body, gelu_tanh1);
map_kernel!(gelu_grad_body, gelu_grad1);
map_kernel!(gelu_tanh_grad_body, gelu_tanh_grad1);

#[inline(always)]
fn silu_body(x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "silu: length mismatch");
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v * sigmoid1(v);
    }
}

simd_dispatch!(/// `out[i] = e^x[i]`.
    pub fn exp / exp_isa(x: &[f32], out: &mut [f32]) => exp_body);
simd_dispatch!(/// `out[i] = tanh(x[i])`.
    pub fn tanh / tanh_isa(x: &[f32], out: &mut [f32]) => tanh_body);
simd_dispatch!(/// `out[i] = erf(x[i])`.
    pub fn erf / erf_isa(x: &[f32], out: &mut [f32]) => erf_body);
simd_dispatch!(/// `out[i] = sigmoid(x[i])`.
    pub fn sigmoid / sigmoid_isa(x: &[f32], out: &mut [f32]) => sigmoid_body);
simd_dispatch!(/// `out[i] = x[i] * sigmoid(x[i])`.
    pub fn silu / silu_isa(x: &[f32], out: &mut [f32]) => silu_body);
simd_dispatch!(/// `out[i] = gelu(x[i])` (erf form).
    pub fn gelu / gelu_isa(x: &[f32], out: &mut [f32]) => gelu_body);
simd_dispatch!(/// `out[i] = gelu(x[i])` (tanh approximation).
    pub fn gelu_tanh / gelu_tanh_isa(x: &[f32], out: &mut [f32]) => gelu_tanh_body);
simd_dispatch!(/// `out[i] = gelu'(x[i])` (erf form).
    pub fn gelu_grad / gelu_grad_isa(x: &[f32], out: &mut [f32]) => gelu_grad_body);
simd_dispatch!(/// `out[i] = gelu'(x[i])` (tanh approximation).
    pub fn gelu_tanh_grad / gelu_tanh_grad_isa(x: &[f32], out: &mut [f32]) => gelu_tanh_grad_body);

/// `erf` in `f64`, accurate to about 1e-15. `std` has no `erf`; this is the scalar reference
/// and the `f64` path.
pub fn erf_f64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let y = if a < 2.5 {
        // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let x2 = a * a;
        let mut term = a;
        let mut sum = a;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -x2 / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        1.0 - erfc_f64(a)
    };
    y.copysign(x)
}

/// `erfc(x) = 1 - erf(x)` in `f64`, with full relative accuracy in the right tail (continued
/// fraction for `x >= 2.5`).
pub fn erfc_f64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < 2.5 {
        return 1.0 - erf_f64(x);
    }
    if x > 27.0 {
        return 0.0;
    }
    // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), bottom-up.
    let mut f = x;
    for k in (1..60).rev() {
        f = x + (k as f64 / 2.0) / f;
    }
    (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
}

/// The standard normal CDF in `f64`, accurate in both tails.
pub fn normal_cdf_f64(x: f64) -> f64 {
    0.5 * erfc_f64(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// Scalar twins (f64 reference math, rounded to f32) used by tests and by non-x86 fallbacks
/// that want exact libm results.
pub mod reference {
    /// `e^x`.
    pub fn exp(x: f32) -> f32 {
        (x as f64).exp() as f32
    }
    /// `tanh(x)`.
    pub fn tanh(x: f32) -> f32 {
        (x as f64).tanh() as f32
    }
    /// `erf(x)`.
    pub fn erf(x: f32) -> f32 {
        super::erf_f64(x as f64) as f32
    }
    /// `sigmoid(x)`.
    pub fn sigmoid(x: f32) -> f32 {
        (1.0 / (1.0 + (-(x as f64)).exp())) as f32
    }
    /// `x sigmoid(x)`.
    pub fn silu(x: f32) -> f32 {
        let x = x as f64;
        (x / (1.0 + (-x).exp())) as f32
    }
    /// exact GELU.
    pub fn gelu(x: f32) -> f32 {
        let x = x as f64;
        (x * super::normal_cdf_f64(x)) as f32
    }
    /// tanh-approximated GELU.
    pub fn gelu_tanh(x: f32) -> f32 {
        let x = x as f64;
        let k = (2.0 / std::f64::consts::PI).sqrt();
        (x / (1.0 + (-2.0 * k * (x + 0.044715 * x * x * x)).exp())) as f32
    }
    /// derivative of tanh-approximated GELU.
    pub fn gelu_tanh_grad(x: f32) -> f32 {
        let x = x as f64;
        let k = (2.0 / std::f64::consts::PI).sqrt();
        let t = (k * (x + 0.044715 * x * x * x)).tanh();
        (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x)) as f32
    }
    /// derivative of exact GELU.
    pub fn gelu_grad(x: f32) -> f32 {
        let x = x as f64;
        let cdf = super::normal_cdf_f64(x);
        let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        (cdf + x * pdf) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{available, Isa};
    use proptest::prelude::*;

    type Kernel = fn(Isa, &[f32], &mut [f32]);
    type Reference = fn(f32) -> f32;

    const SPECIALS: [f32; 14] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-40,
        -1e-40,
        f32::MIN_POSITIVE,
        88.5,
        -88.5,
        -103.0,
        20.0,
    ];

    /// `got` is within `rel` relative or `abs` absolute of `want`, treating NaN == NaN and
    /// equal infinities as equal.
    fn close(got: f32, want: f32, rel: f32, abs: f32) -> bool {
        if want.is_nan() {
            return got.is_nan();
        }
        if want.is_infinite() || got == want {
            return got == want;
        }
        (got - want).abs() <= abs + rel * want.abs()
    }

    fn cond(x: f32) -> f32 {
        let z = 1.6 * (x + 0.044_715 * x * x * x);
        (x * x / 2.0).max(z.abs()).max(x.abs())
    }

    fn check(kernel: Kernel, reference: Reference, xs: &[f32], rel: f32, abs: f32) {
        for isa in available() {
            let mut out = vec![0.0; xs.len()];
            kernel(isa, xs, &mut out);
            for (&x, &y) in xs.iter().zip(&out) {
                let want = reference(x);
                // A forward error bound: a function computed through exp(u(x)) inherits the f32
                // rounding of u, a relative error of |u| * eps whatever the method (|u| is the
                // condition number: x^2/2 for the erf tails, |2z| for tanh-GELU, |x| for exp).
                let rel = rel + 3.0 * cond(x) * f32::EPSILON; // u itself takes a few roundings
                assert!(close(y, want, rel, abs), "{isa:?}: f({x:e}) = {y:e}, want {want:e}");
            }
        }
    }

    fn kernels() -> Vec<(&'static str, Kernel, Reference, f32, f32)> {
        vec![
            ("exp", exp_isa, reference::exp, 3e-7, 0.0),
            ("tanh", tanh_isa, reference::tanh, 5e-7, 1e-9),
            ("erf", erf_isa, reference::erf, 5e-7, 1e-30),
            ("sigmoid", sigmoid_isa, reference::sigmoid, 5e-7, 1e-30),
            ("silu", silu_isa, reference::silu, 1e-6, 1e-30),
            ("gelu", gelu_isa, reference::gelu, 1e-6, 1e-30),
            ("gelu_tanh", gelu_tanh_isa, reference::gelu_tanh, 1e-6, 1e-30),
            ("gelu_grad", gelu_grad_isa, reference::gelu_grad, 1e-6, 1e-7),
            ("gelu_tanh_grad", gelu_tanh_grad_isa, reference::gelu_tanh_grad, 1e-6, 1e-7),
        ]
    }

    #[test]
    fn special_values_match_scalar_twin() {
        for (name, k, r, rel, abs) in kernels() {
            eprintln!("{name}");
            let xs: Vec<f32> = SPECIALS.iter().copied().filter(|x| name != "exp" || *x > -103.5).collect();
            check(k, r, &xs, rel, abs.max(if name == "exp" { 1e-44 } else { 0.0 }));
        }
    }

    #[test]
    fn exp_denormal_results_are_close() {
        let xs: Vec<f32> = (0..200).map(|i| -87.0 - i as f32 * 0.1).collect();
        check(exp_isa, reference::exp, &xs, 1e-6, 3e-45);
    }

    #[test]
    fn gelu_tails_keep_relative_accuracy() {
        // Down to x = -13 the results are normal floats: relative accuracy, no absolute slack
        // (1 - erf would cancel to 0 well before; PyTorch's kernel returns 0 from x = -6.5).
        let xs: Vec<f32> = (0..1000).map(|i| -13.0 + i as f32 * 0.01).collect();
        check(gelu_isa, reference::gelu, &xs, 1e-6, 0.0);
        check(gelu_grad_isa, reference::gelu_grad, &xs, 1e-6, 0.0);
        check(erf_isa, reference::erf, &xs, 5e-7, 0.0);
        // Subnormal results (Phi itself rounds to a subnormal before the product with x, so a
        // few subnormal steps of slack), then exactly zero past x = -14.9, where erfc is below
        // half the smallest subnormal.
        let xs: Vec<f32> = (0..300).map(|i| -16.0 + i as f32 * 0.01).collect();
        check(gelu_isa, reference::gelu, &xs, 1e-6, 1e-44);
        for isa in available() {
            let mut out = [1.0f32; 3];
            gelu_isa(isa, &[-15.0, -40.0, f32::NEG_INFINITY], &mut out);
            assert!(out[..2].iter().all(|y| *y == 0.0), "{isa:?}: {out:?}");
        }
    }

    #[test]
    fn erf_f64_matches_known_values() {
        // Values from Abramowitz & Stegun table 7.1.
        let table = [(0.5, 0.520_499_877_8), (1.0, 0.842_700_792_9), (2.0, 0.995_322_265_0), (3.0, 0.999_977_909_5)];
        for (x, want) in table {
            assert!((erf_f64(x) - want).abs() < 1e-9, "erf({x})");
            assert!((erf_f64(-x) + want).abs() < 1e-9, "erf(-{x})");
        }
        assert_eq!(erf_f64(40.0), 1.0);
    }

    proptest! {
        #[test]
        fn kernels_match_scalar_twin_on_random_input(
            xs in proptest::collection::vec(-30.0f32..30.0, 0..67),
        ) {
            for (_, k, r, rel, abs) in kernels() {
                check(k, r, &xs, rel, abs);
            }
        }

        #[test]
        fn kernels_match_scalar_twin_near_zero(
            xs in proptest::collection::vec(-1e-3f32..1e-3, 1..40),
        ) {
            for (_, k, r, rel, abs) in kernels() {
                check(k, r, &xs, rel, abs);
            }
        }
    }
}
