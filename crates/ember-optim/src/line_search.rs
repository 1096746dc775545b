//! The strong-Wolfe line search L-BFGS uses (PyTorch's `_strong_wolfe`, after minFunc):
//! bracket a step satisfying sufficient decrease and the curvature condition, then zoom in
//! with safeguarded cubic interpolation.

use crate::lbfgs::{abs_max, dot};
use ember_core::Result;

/// The minimiser of the cubic through `(x1, f1, g1)` and `(x2, f2, g2)`, clamped to `bounds`
/// (default: the interval between the points); the midpoint when the cubic has none.
fn cubic_interpolate(x1: f64, f1: f64, g1: f64, x2: f64, f2: f64, g2: f64, bounds: Option<(f64, f64)>) -> f64 {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        min_pos.max(lo).min(hi)
    } else {
        (lo + hi) / 2.0
    }
}

/// The accepted step: loss, gradient, step length and the evaluations spent.
pub(crate) struct LineSearchResult {
    pub f: f64,
    pub g: Vec<f64>,
    pub t: f64,
    pub evals: usize,
}

/// One end of the bracket: step, loss, gradient and directional derivative.
#[derive(Clone)]
struct Point {
    t: f64,
    f: f64,
    g: Vec<f64>,
    gtd: f64,
}

/// Strong-Wolfe search along `d` from loss `f`, gradient `g` and slope `gtd`, starting at step
/// `t`; `obj(t)` evaluates the loss and gradient at `x + t d`. Constants as PyTorch's:
/// c1 = 1e-4, c2 = 0.9.
#[allow(clippy::too_many_arguments)]
pub(crate) fn strong_wolfe(
    obj: &mut dyn FnMut(f64) -> Result<(f64, Vec<f64>)>,
    mut t: f64,
    d: &[f64],
    f: f64,
    g: &[f64],
    gtd: f64,
    tolerance_change: f64,
    max_ls: usize,
) -> Result<LineSearchResult> {
    let (c1, c2) = (1e-4, 0.9);
    let d_norm = abs_max(d);
    let (mut f_new, mut g_new) = obj(t)?;
    let mut evals = 1;
    let mut gtd_new = dot(&g_new, d);
    let mut prev = Point { t: 0.0, f, g: g.to_vec(), gtd };
    let mut done = false;
    let mut ls_iter = 0;
    let mut bracket: Vec<Point> = Vec::new();
    // Bracketing phase.
    while ls_iter < max_ls {
        let here = Point { t, f: f_new, g: g_new.clone(), gtd: gtd_new };
        if f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= prev.f) {
            bracket = vec![prev.clone(), here];
            break;
        }
        if gtd_new.abs() <= -c2 * gtd {
            bracket = vec![here];
            done = true;
            break;
        }
        if gtd_new >= 0.0 {
            bracket = vec![prev.clone(), here];
            break;
        }
        // Extrapolate.
        let (min_step, max_step) = (t + 0.01 * (t - prev.t), t * 10.0);
        let next = cubic_interpolate(prev.t, prev.f, prev.gtd, t, f_new, gtd_new, Some((min_step, max_step)));
        prev = here;
        t = next;
        (f_new, g_new) = obj(t)?;
        evals += 1;
        gtd_new = dot(&g_new, d);
        ls_iter += 1;
    }
    if ls_iter == max_ls {
        bracket = vec![Point { t: 0.0, f, g: g.to_vec(), gtd }, Point { t, f: f_new, g: g_new.clone(), gtd: gtd_new }];
    }
    // Zoom phase: shrink the bracket until a point satisfies the strong Wolfe conditions.
    let mut insuf_progress = false;
    let (mut low, mut high) = if bracket[0].f <= bracket[bracket.len() - 1].f { (0, 1) } else { (1, 0) };
    while !done && ls_iter < max_ls {
        let (a, b) = (&bracket[0], &bracket[1]);
        if (b.t - a.t).abs() * d_norm < tolerance_change {
            break;
        }
        t = cubic_interpolate(a.t, a.f, a.gtd, b.t, b.f, b.gtd, None);
        let (bmax, bmin) = (a.t.max(b.t), a.t.min(b.t));
        let eps = 0.1 * (bmax - bmin);
        if (bmax - t).min(t - bmin) < eps {
            if insuf_progress || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() { bmax - eps } else { bmin + eps };
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }
        (f_new, g_new) = obj(t)?;
        evals += 1;
        gtd_new = dot(&g_new, d);
        ls_iter += 1;
        let here = Point { t, f: f_new, g: g_new.clone(), gtd: gtd_new };
        if f_new > f + c1 * t * gtd || f_new >= bracket[low].f {
            bracket[high] = here;
            (low, high) = if bracket[0].f <= bracket[1].f { (0, 1) } else { (1, 0) };
        } else {
            if gtd_new.abs() <= -c2 * gtd {
                done = true;
            } else if gtd_new * (bracket[high].t - bracket[low].t) >= 0.0 {
                bracket[high] = bracket[low].clone();
            }
            bracket[low] = here;
        }
    }
    let best = bracket.swap_remove(low);
    Ok(LineSearchResult { f: best.f, g: best.g, t: best.t, evals })
}
