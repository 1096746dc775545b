//! THE elementwise binary table: each op's float, integer and bool definitions, how integer
//! inputs promote, what its gradient saves, the gradients, and the fixture cases that test it.
//! `binary_table!` (see `macros.rs`) generates the `BinaryOp` enum, the per-op loops and the
//! `Tensor` methods (`add`, `mul`, ...) from it. Inputs reach these definitions with one shape
//! and one dtype: broadcasting (`Expand`) and promotion happen before.
//!
//! Maximum and minimum split the gradient evenly on ties, as PyTorch does.

use super::when;
use crate::Tensor;

/// The weight of `a`'s gradient in `maximum(a, b)` (`gt` given) or `minimum`: 1 where it wins,
/// 1/2 on ties, 0 where it loses.
fn win_weight(a: &Tensor, b: &Tensor, wins: &Tensor) -> crate::Result<Tensor> {
    Tensor::where_cond(wins, &Tensor::ones_like(a)?, &a.eq(b)?.to_dtype(a.dtype())?.mul_scalar(0.5)?)
}

/// Euclid's greatest common divisor, non-negative (`gcd(0, 0) = 0`), wrapping at `i64::MIN`.
fn int_gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i64
}

/// `x^(a-1) e^-x / Γ(a)`, the slope of `P(a, x)` in `x`.
fn gamma_density(a: &Tensor, x: &Tensor) -> crate::Result<Tensor> {
    a.add_scalar(-1.0)?.mul(&x.log()?)?.sub(x)?.sub(&a.lgamma()?)?.exp()
}

binary_table! {
    /// `a + b`.
    Add {
        method: add,
        ints: keep,
        scalar: |a, b| a + b,
        int: |a, b| a.wrapping_add(b),
        bool: |p, q| p | q,
        saves: [],
        grad: |st, g, need| Ok([need(0).then(|| g.clone()), need(1).then(|| g.clone())]),
        tests: ["add", "add_empty"],
    }
    /// `a - b`.
    Sub {
        method: sub,
        ints: keep,
        scalar: |a, b| a - b,
        int: |a, b| a.wrapping_sub(b),
        saves: [],
        grad: |st, g, need| Ok([need(0).then(|| g.clone()), when(need(1), || g.neg())?]),
        tests: ["sub"],
    }
    /// `a * b`.
    Mul {
        method: mul,
        ints: keep,
        scalar: |a, b| a * b,
        int: |a, b| a.wrapping_mul(b),
        bool: |p, q| p & q,
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| Ok([when(need(0), || g.mul(&b))?, when(need(1), || g.mul(&a))?]),
        tests: ["mul", "mul_scalar_tensor"],
    }
    /// `a / b` (true division: integer inputs give f32). Integer division by zero inside
    /// Ember's own integer paths gives 0 rather than a panic.
    Div {
        method: div,
        ints: float,
        scalar: |a, b| a / b,
        int: |a, b| if b == 0 { 0 } else { a.wrapping_div(b) },
        saves: [a = input(0), b = input(1)],
        // d(a/b)/db = -a / b^2
        grad: |st, g, need| Ok([when(need(0), || g.div(&b))?, when(need(1), || g.mul(&a)?.div(&b.mul(&b)?)?.neg())?]),
        tests: ["div"],
    }
    /// Elementwise maximum (NaN propagates from either side).
    Maximum {
        method: maximum,
        ints: keep,
        scalar: |a, b| a.max_nan(b),
        int: |a, b| a.max(b),
        bool: |p, q| p | q,
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            let w = win_weight(&a, &b, &a.gt(&b)?)?;
            Ok([when(need(0), || g.mul(&w))?, when(need(1), || g.mul(&w.neg()?.add_scalar(1.0)?))?])
        },
        tests: ["maximum"],
    }
    /// Elementwise minimum (NaN propagates).
    Minimum {
        method: minimum,
        ints: keep,
        scalar: |a, b| a.min_nan(b),
        int: |a, b| a.min(b),
        bool: |p, q| p & q,
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            let w = win_weight(&a, &b, &a.lt(&b)?)?;
            Ok([when(need(0), || g.mul(&w))?, when(need(1), || g.mul(&w.neg()?.add_scalar(1.0)?))?])
        },
        tests: ["minimum"],
    }
    /// `a ^ b` elementwise (negative integer exponents give 0).
    Pow {
        method: pow_tensor,
        ints: keep,
        scalar: |a, b| a.powf(b),
        int: |a, b| if b < 0 { 0 } else { a.wrapping_pow(b.min(u32::MAX as i64) as u32) },
        saves: [a = input(0), b = input(1), y = output],
        grad: |st, g, need| {
            let ga = when(need(0), || g.mul(&b.mul(&a.pow_tensor(&b.add_scalar(-1.0)?)?)?))?;
            // d(a^b)/db = a^b ln a, taken as 0 where a == 0 (PyTorch's choice).
            let gb = when(need(1), || {
                let safe_a = Tensor::where_cond(&a.eq_scalar(0.0)?, &Tensor::ones_like(&a)?, &a)?;
                g.mul(&y.mul(&safe_a.log()?)?)
            })?;
            Ok([ga, gb])
        },
        tests: ["pow_tensor"],
    }
    /// `log(e^a + e^b)`, computed as `max + log1p(e^-|a - b|)` so it never overflows.
    LogAddExp {
        method: logaddexp,
        ints: float,
        scalar: |a, b| {
            let m = a.max_nan(b);
            if m.to_f64() == f64::INFINITY || m.to_f64() == f64::NEG_INFINITY {
                m
            } else {
                m + (F::of(1.0) + (-(a - b).abs()).exp()).ln()
            }
        },
        saves: [a = input(0), b = input(1), y = output],
        // d/da = e^(a - y), d/db = e^(b - y)
        grad: |st, g, need| Ok([when(need(0), || g.mul(&a.sub(&y)?.exp()?))?, when(need(1), || g.mul(&b.sub(&y)?.exp()?))?]),
        tests: ["logaddexp"],
    }
    /// `floor(a / b)` (Python's `//`; integer division by zero gives 0 rather than a panic).
    FloorDivide {
        method: floor_divide,
        ints: keep,
        scalar: |a, b| (a / b).floor(),
        int: |a, b| if b == 0 { 0 } else { a.wrapping_div(b) - i64::from((a.wrapping_rem(b) != 0) && ((a < 0) != (b < 0))) },
        saves: [],
        // PyTorch defines no derivative for floor_divide; neither does Ember.
        grad: |st, g, need| Err(super::no_derivative("floor_divide")),
        tests: [],
    }
    /// `a - floor(a / b) * b`: Python's `%`, with the sign of the divisor.
    Remainder {
        method: remainder,
        ints: keep,
        scalar: |a, b| a - (a / b).floor() * b,
        int: |a, b| if b == 0 { 0 } else { let r = a.wrapping_rem(b); if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r } },
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            Ok([need(0).then(|| g.clone()), when(need(1), || g.mul(&a.div(&b)?.floor()?)?.neg())?])
        },
        tests: ["remainder"],
    }
    /// `atan2(a, b)`: the angle of the point `(b, a)`.
    Atan2 {
        method: atan2,
        ints: float,
        scalar: |a, b| a.atan2(b),
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            let r2 = a.square()?.add(&b.square()?)?;
            Ok([when(need(0), || g.mul(&b)?.div(&r2))?, when(need(1), || g.mul(&a)?.div(&r2)?.neg())?])
        },
        tests: ["atan2"],
    }
    /// The Hurwitz zeta function `ζ(x, q)`; `∂/∂q = -x ζ(x + 1, q)`, and no derivative in `x`
    /// (as in PyTorch).
    Zeta {
        method: zeta,
        ints: float,
        scalar: |a, b| F::of(ember_kernels::special::zeta(a.to_f64(), b.to_f64())),
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            if need(0) {
                return Err(super::not_implemented("zeta"));
            }
            Ok([None, when(need(1), || g.mul(&a.add_scalar(1.0)?.zeta(&b)?.mul(&a)?.neg()?))?])
        },
        tests: ["zeta"],
    }
    /// The regularised lower incomplete gamma function `P(a, x)` (`igamma`, `special.gammainc`);
    /// `∂/∂x = x^(a-1) e^-x / Γ(a)`, no derivative in `a` (as in PyTorch).
    Igamma {
        method: igamma,
        ints: float,
        scalar: |a, b| F::of(ember_kernels::special::gammainc(a.to_f64(), b.to_f64())),
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            if need(0) {
                return Err(super::not_implemented("igamma: input"));
            }
            Ok([None, when(need(1), || g.mul(&gamma_density(&a, &b)?))?])
        },
        tests: ["igamma"],
    }
    /// The regularised upper incomplete gamma function `Q(a, x) = 1 - P(a, x)` (`igammac`,
    /// `special.gammaincc`); `∂/∂x = -x^(a-1) e^-x / Γ(a)`.
    Igammac {
        method: igammac,
        ints: float,
        scalar: |a, b| F::of(ember_kernels::special::gammaincc(a.to_f64(), b.to_f64())),
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            if need(0) {
                return Err(super::not_implemented("igammac: input"));
            }
            Ok([None, when(need(1), || g.mul(&gamma_density(&a, &b)?)?.neg())?])
        },
        tests: ["igammac"],
    }
    /// `a log1p(b)`, 0 where `a == 0` unless `b` is NaN (`special.xlog1py`).
    Xlog1py {
        method: xlog1py,
        ints: float,
        scalar: |a, b| if a == F::of(0.0) && !b.is_nan() { F::of(0.0) } else { a * b.ln_1p() },
        saves: [a = input(0), b = input(1)],
        grad: |st, g, need| {
            // d/da = xlog1py(g, b), 0 where a == 0 and b <= -1 (PyTorch's rule); d/db = a / (1 + b)
            let ga = when(need(0), || {
                let d = g.xlog1py(&b)?;
                let masked = a.eq_scalar(0.0)?.logical_and(&b.le_scalar(-1.0)?)?;
                Tensor::where_cond(&masked, &Tensor::zeros_like(&d)?, &d)
            })?;
            Ok([ga, when(need(1), || g.mul(&a)?.div(&b.add_scalar(1.0)?))?])
        },
        tests: ["xlog1py", "xlog1py_at_kink"],
    }
    /// The Chebyshev polynomial of the first kind `T_n(x)` (`special.chebyshev_polynomial_t`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ChebyshevPolynomialT {
        method: chebyshev_polynomial_t,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::ChebyshevT, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("chebyshev_polynomial_t")),
        tests: [],
    }
    /// The Chebyshev polynomial of the second kind `U_n(x)` (`special.chebyshev_polynomial_u`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ChebyshevPolynomialU {
        method: chebyshev_polynomial_u,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::ChebyshevU, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("chebyshev_polynomial_u")),
        tests: [],
    }
    /// The Chebyshev polynomial of the third kind `V_n(x)` (`special.chebyshev_polynomial_v`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ChebyshevPolynomialV {
        method: chebyshev_polynomial_v,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::ChebyshevV, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("chebyshev_polynomial_v")),
        tests: [],
    }
    /// The Chebyshev polynomial of the fourth kind `W_n(x)` (`special.chebyshev_polynomial_w`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ChebyshevPolynomialW {
        method: chebyshev_polynomial_w,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::ChebyshevW, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("chebyshev_polynomial_w")),
        tests: [],
    }
    /// The shifted Chebyshev polynomial `T*_n(x) = T_n(2x - 1)` (`special.shifted_chebyshev_polynomial_t`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ShiftedChebyshevPolynomialT {
        method: shifted_chebyshev_polynomial_t,
        ints: float,
        scalar: |a, b| super::polynomial::eval_shifted(super::polynomial::Family::ChebyshevT, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("shifted_chebyshev_polynomial_t")),
        tests: [],
    }
    /// The shifted Chebyshev polynomial `U*_n(x) = U_n(2x - 1)` (`special.shifted_chebyshev_polynomial_u`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ShiftedChebyshevPolynomialU {
        method: shifted_chebyshev_polynomial_u,
        ints: float,
        scalar: |a, b| super::polynomial::eval_shifted(super::polynomial::Family::ChebyshevU, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("shifted_chebyshev_polynomial_u")),
        tests: [],
    }
    /// The shifted Chebyshev polynomial `V*_n(x) = V_n(2x - 1)` (`special.shifted_chebyshev_polynomial_v`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ShiftedChebyshevPolynomialV {
        method: shifted_chebyshev_polynomial_v,
        ints: float,
        scalar: |a, b| super::polynomial::eval_shifted(super::polynomial::Family::ChebyshevV, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("shifted_chebyshev_polynomial_v")),
        tests: [],
    }
    /// The shifted Chebyshev polynomial `W*_n(x) = W_n(2x - 1)` (`special.shifted_chebyshev_polynomial_w`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    ShiftedChebyshevPolynomialW {
        method: shifted_chebyshev_polynomial_w,
        ints: float,
        scalar: |a, b| super::polynomial::eval_shifted(super::polynomial::Family::ChebyshevW, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("shifted_chebyshev_polynomial_w")),
        tests: [],
    }
    /// The physicists' Hermite polynomial `H_n(x)` (`special.hermite_polynomial_h`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    HermitePolynomialH {
        method: hermite_polynomial_h,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::HermiteH, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("hermite_polynomial_h")),
        tests: [],
    }
    /// The probabilists' Hermite polynomial `He_n(x)` (`special.hermite_polynomial_he`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    HermitePolynomialHe {
        method: hermite_polynomial_he,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::HermiteHe, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("hermite_polynomial_he")),
        tests: [],
    }
    /// The Laguerre polynomial `L_n(x)` (`special.laguerre_polynomial_l`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    LaguerrePolynomialL {
        method: laguerre_polynomial_l,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::LaguerreL, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("laguerre_polynomial_l")),
        tests: [],
    }
    /// The Legendre polynomial `P_n(x)` (`special.legendre_polynomial_p`; the degree `n` is truncated to an integer; not differentiable,
    /// as in PyTorch).
    LegendrePolynomialP {
        method: legendre_polynomial_p,
        ints: float,
        scalar: |a, b| super::polynomial::eval(super::polynomial::Family::LegendreP, a, b),
        differentiable: false,
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("legendre_polynomial_p")),
        tests: [],
    }
    /// `a & b` for integers and bools.
    BitwiseAnd {
        method: bitwise_and,
        ints: keep,
        no_float: true,
        scalar: |a, _b| a,
        int: |a, b| a & b,
        bool: |p, q| p & q,
        saves: [],
        // Integer-only: never recorded (only float outputs are).
        grad: |st, g, need| Err(super::no_derivative("bitwise_and")),
        tests: [],
    }
    /// `a | b`.
    BitwiseOr {
        method: bitwise_or,
        ints: keep,
        no_float: true,
        scalar: |a, _b| a,
        int: |a, b| a | b,
        bool: |p, q| p | q,
        saves: [],
        // Integer-only: never recorded (only float outputs are).
        grad: |st, g, need| Err(super::no_derivative("bitwise_or")),
        tests: [],
    }
    /// `a ^ b`.
    BitwiseXor {
        method: bitwise_xor,
        ints: keep,
        no_float: true,
        scalar: |a, _b| a,
        int: |a, b| a ^ b,
        bool: |p, q| p ^ q,
        saves: [],
        // Integer-only: never recorded (only float outputs are).
        grad: |st, g, need| Err(super::no_derivative("bitwise_xor")),
        tests: [],
    }
    /// `gcd(a, b)` of integers.
    Gcd {
        method: gcd,
        ints: keep,
        no_float: true,
        scalar: |a, _b| a,
        int: |a, b| int_gcd(a, b),
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("gcd")),
        tests: [],
    }
    /// `lcm(a, b)` of integers, non-negative (0 when either is 0).
    Lcm {
        method: lcm,
        ints: keep,
        no_float: true,
        scalar: |a, _b| a,
        int: |a, b| match int_gcd(a, b) {
            0 => 0,
            g => (a / g).wrapping_mul(b).wrapping_abs(),
        },
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("lcm")),
        tests: [],
    }
    /// `a << b` of integers (0 once the shift passes the width, as PyTorch).
    BitwiseLeftShift {
        method: bitwise_left_shift,
        ints: keep,
        no_float: true,
        scalar: |a, _b| a,
        int: |a, b| if (0..64).contains(&b) { a.wrapping_shl(b as u32) } else { 0 },
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("bitwise_left_shift")),
        tests: [],
    }
    /// `a >> b` of integers, arithmetic (the sign fills once the shift passes the width).
    BitwiseRightShift {
        method: bitwise_right_shift,
        ints: keep,
        no_float: true,
        scalar: |a, _b| a,
        int: |a, b| if (0..64).contains(&b) { a >> b } else if a < 0 { -1 } else { 0 },
        saves: [],
        grad: |st, g, need| Err(super::no_derivative("bitwise_right_shift")),
        tests: [],
    }
}
