//! Progress reporting: an `indicatif` bar with the latest metrics on a terminal, plain
//! periodic lines when stderr is redirected (CI logs, pipes); and PNG loss curves.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// Reports steps of a long loop.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    every: u64,
    start: Instant,
}

impl Progress {
    /// A reporter for `total` steps; without a terminal it prints about 20 lines.
    pub fn new(total: u64, label: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(label.to_string());
            b
        });
        Progress { bar, total, every: (total / 20).max(1), start: Instant::now() }
    }

    /// Records that `step` (1-based) finished, with a message such as the loss.
    pub fn step(&self, step: u64, msg: impl FnOnce() -> String) {
        match &self.bar {
            Some(b) => {
                b.set_position(step);
                if step.is_multiple_of(5) || step == self.total {
                    b.set_message(msg());
                }
            }
            None => {
                if step.is_multiple_of(self.every) || step == self.total || step == 1 {
                    eprintln!("step {step}/{}: {} ({:.0} s)", self.total, msg(), self.start.elapsed().as_secs_f64());
                }
            }
        }
    }

    /// Prints a line without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Writes loss curves (`(step, value)` series with names) to a PNG, with the bundled font so
/// no system fonts are needed.
pub fn plot(path: &str, title: &str, series: &[(&str, &[(f64, f64)])]) -> ember::Result<()> {
    use plotters::prelude::*;
    let err = |e: String| ember::Error::io(path.to_string(), std::io::Error::other(e));
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let pts: Vec<(f64, f64)> =
        series.iter().flat_map(|(_, s)| s.iter().copied()).filter(|(_, y)| y.is_finite()).collect();
    if pts.is_empty() {
        return Err(err("nothing to plot".into()));
    }
    let (x0, x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let root = BitMapBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 * 0.95)..(y1 * 1.05).max(y0 + 1e-6))
        .map_err(|e| err(e.to_string()))?;
    chart.configure_mesh().x_desc("step").y_desc("loss").draw().map_err(|e| err(e.to_string()))?;
    let colors = [BLUE, RED, GREEN, MAGENTA];
    for (i, (name, s)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(s.iter().copied(), c.stroke_width(2)))
            .map_err(|e| err(e.to_string()))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}
