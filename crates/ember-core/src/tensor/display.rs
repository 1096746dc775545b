//! PyTorch-style printing: `tensor([[1., 2.],\n        [3., 4.]])`, with PyTorch's choice
//! of integer, fixed (4 decimals) or scientific format, right-aligned columns, line wrapping
//! at 80 columns, and `...` summaries beyond 1000 elements (3 edge items per dim).

use super::Tensor;
use crate::dtype::DType;
use std::fmt;

const THRESHOLD: usize = 1000;
const EDGE: usize = 3;
const LINE_WIDTH: usize = 80;

enum Mode {
    Int,
    FloatInt,
    Fixed,
    Sci,
    Bool,
}

fn sci(v: f64) -> String {
    // Rust prints 1.2346e5; PyTorch prints 1.2346e+05.
    let s = format!("{v:.4e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("nan".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "inf".into() } else { "-inf".into() })
    } else {
        None
    }
}

/// PyTorch's `_Formatter`: the mode and the column width, both decided from the nonzero
/// finite values shown (zeros, NaN and infinities never widen a column).
fn choose_mode(dtype: DType, vals: &[f64]) -> (Mode, usize) {
    if dtype == DType::Bool || !dtype.is_float() {
        let mode = if dtype == DType::Bool { Mode::Bool } else { Mode::Int };
        let width = vals.iter().map(|&v| fmt_one(v, &mode).len()).max().unwrap_or(1);
        return (mode, width);
    }
    let nz: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite() && *v != 0.0).collect();
    if nz.is_empty() {
        return (Mode::FloatInt, 1);
    }
    let (max, min) = nz.iter().fold((0.0f64, f64::INFINITY), |(a, b), &v| (a.max(v.abs()), b.min(v.abs())));
    let all_int = nz.iter().all(|v| v.fract() == 0.0);
    let mode = if all_int {
        if max / min > 1000.0 || max > 1e8 {
            Mode::Sci
        } else {
            Mode::FloatInt
        }
    } else if max / min > 1000.0 || max > 1e8 || min < 1e-4 {
        Mode::Sci
    } else {
        Mode::Fixed
    };
    let width = nz.iter().map(|&v| fmt_one(v, &mode).len()).max().unwrap_or(1);
    (mode, width)
}

fn fmt_one(v: f64, mode: &Mode) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    match mode {
        Mode::Bool => if v != 0.0 { "True" } else { "False" }.into(),
        Mode::Int => format!("{}", v as i64),
        Mode::FloatInt => format!("{v:.0}."),
        Mode::Fixed => format!("{v:.4}"),
        Mode::Sci => sci(v),
    }
}

/// Row-major indices of the printed elements along each dim (all, or first/last EDGE).
fn shown(n: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && n > 2 * EDGE {
        (0..EDGE).map(Some).chain(std::iter::once(None)).chain((n - EDGE..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    }
}

fn collect(vals: &[f64], shape: &[usize], summarize: bool, out: &mut Vec<f64>) {
    if shape.is_empty() {
        out.push(vals[0]);
        return;
    }
    let inner: usize = shape[1..].iter().product();
    for i in shown(shape[0], summarize).into_iter().flatten() {
        collect(&vals[i * inner..(i + 1) * inner], &shape[1..], summarize, out);
    }
}

fn render(vals: &[f64], shape: &[usize], summarize: bool, indent: usize, width: usize, mode: &Mode, out: &mut String) {
    if shape.is_empty() {
        out.push_str(&format!("{:>width$}", fmt_one(vals[0], mode)));
        return;
    }
    out.push('[');
    let inner: usize = shape[1..].iter().product();
    let items = shown(shape[0], summarize);
    if shape.len() == 1 {
        let per_line = (LINE_WIDTH.saturating_sub(indent) / (width + 2)).max(1);
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                out.push(',');
                if k % per_line == 0 {
                    out.push('\n');
                    out.push_str(&" ".repeat(indent + 1));
                } else {
                    out.push(' ');
                }
            }
            match item {
                Some(i) => out.push_str(&format!("{:>width$}", fmt_one(vals[*i], mode))),
                None => out.push_str(" ..."),
            }
        }
    } else {
        let sep = format!(",{}{}", "\n".repeat(shape.len() - 1), " ".repeat(indent + 1));
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                out.push_str(&sep);
            }
            match item {
                Some(i) => {
                    render(&vals[i * inner..(i + 1) * inner], &shape[1..], summarize, indent + 1, width, mode, out)
                }
                None => out.push_str("..."),
            }
        }
    }
    out.push(']');
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vals = match self.detach().to_f64_vec() {
            Ok(v) => v,
            Err(e) => return write!(f, "tensor(<unprintable: {e}>)"),
        };
        let mut s = String::from("tensor(");
        let summarize = self.numel() > THRESHOLD;
        if self.numel() == 0 {
            s.push_str("[]");
        } else {
            let mut visible = Vec::new();
            collect(&vals, self.shape(), summarize, &mut visible);
            let (mode, width) = choose_mode(self.dtype(), &visible);
            render(&vals, self.shape(), summarize, 7, width, &mode, &mut s);
        }
        if self.numel() == 0 && self.shape() != [0] {
            s.push_str(&format!(
                ", size=({})",
                self.shape().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
        if !matches!(self.dtype(), DType::F32 | DType::I64 | DType::Bool) {
            s.push_str(&format!(", dtype=torch.{}", self.dtype().name()));
        }
        if let Some(name) = self.grad_fn_name() {
            s.push_str(&format!(", grad_fn=<{name}>"));
        } else if self.requires_grad() {
            s.push_str(", requires_grad=True");
        }
        s.push(')');
        f.write_str(&s)
    }
}
