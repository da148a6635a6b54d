//! Training curves: training and validation return against environment steps (top), with the
//! spread across seeds when several runs are given and an optional reference line (e.g. the
//! best baseline), and the loss against steps (bottom; log scale when it spans decades).

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{
    AXIS_DESC_SIZE, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot, REFERENCE_COLOR,
    Swatch, legend_strip, padded_range, save, series_color, text, title_band,
};

/// Loss spans this many decades or more: plot it on a log scale.
const LOG_SCALE_DECADES: f64 = 2.0;

/// The palette index of the training-return curves.
const TRAIN_SERIES: usize = 4;

/// The palette index of the validation-return curves.
const VALID_SERIES: usize = 0;

/// One row of a training run's metrics.
#[derive(Debug, Clone, Default)]
pub struct TrainingPoint {
    /// Environment transitions collected.
    pub env_steps: f64,
    /// Mean return of recent training (exploring) episodes, env units.
    pub train_return: Option<f64>,
    /// Greedy validation mean return, env units.
    pub valid_return: Option<f64>,
    /// Greedy validation return standard deviation over episodes, env units.
    pub valid_std: Option<f64>,
    /// Mean training loss since the previous row.
    pub loss: Option<f64>,
}

/// One training run (one seed): its metrics rows.
#[derive(Debug, Clone)]
pub struct TrainingRun {
    /// Its metrics rows, in step order.
    pub points: Vec<TrainingPoint>,
}

/// The data of the training-curves plot.
#[derive(Debug, Clone)]
pub struct TrainingCurves {
    /// Figure title.
    pub title: String,
    /// What a return is, with its unit, e.g. "episode return (reward units)".
    pub return_desc: String,
    /// The runs; with several, the mean and the min-max band across them are drawn.
    pub runs: Vec<TrainingRun>,
    /// A horizontal reference line: (label, value in return units).
    pub reference: Option<(String, f64)>,
}

/// Draws the training curves into `<stem>.png` and `<stem>.svg`; returns their paths.
pub fn training_curves(stem: &Path, data: &TrainingCurves) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(
        data.runs.iter().any(|r| !r.points.is_empty()),
        "no training metrics to plot"
    );
    save(data, stem)
}

/// A curve across runs: (x, mean, min, max) on the union of the runs' x values inside the
/// range every run covers, each run interpolated linearly between its own points.
pub(crate) fn spread(runs: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let runs: Vec<&Vec<(f64, f64)>> = runs.iter().filter(|r| !r.is_empty()).collect();
    if runs.is_empty() {
        return vec![];
    }
    let lo = runs
        .iter()
        .map(|r| r[0].0)
        .fold(f64::NEG_INFINITY, f64::max);
    let hi = runs
        .iter()
        .map(|r| r[r.len() - 1].0)
        .fold(f64::INFINITY, f64::min);
    let mut grid: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.iter().map(|p| p.0))
        .filter(|x| *x >= lo && *x <= hi)
        .collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    grid.into_iter()
        .map(|x| {
            let ys: Vec<f64> = runs.iter().map(|r| interpolate(r, x)).collect();
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let min = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let max = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (x, mean, min, max)
        })
        .collect()
}

/// The value of the piecewise-linear curve `pts` (sorted by x) at `x`, clamped at the ends.
fn interpolate(pts: &[(f64, f64)], x: f64) -> f64 {
    let i = pts.partition_point(|p| p.0 < x);
    if i == 0 {
        return pts[0].1;
    }
    if i == pts.len() {
        return pts[pts.len() - 1].1;
    }
    let (x0, y0) = pts[i - 1];
    let (x1, y1) = pts[i];
    if x1 == x0 {
        y1
    } else {
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

/// One metric of every run as (steps, value) curves.
fn curves(runs: &[TrainingRun], pick: fn(&TrainingPoint) -> Option<f64>) -> Vec<Vec<(f64, f64)>> {
    runs.iter()
        .map(|r| {
            let mut v: Vec<(f64, f64)> = r
                .points
                .iter()
                .filter_map(|p| pick(p).filter(|y| y.is_finite()).map(|y| (p.env_steps, y)))
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v
        })
        .collect()
}

/// A compact number for tick labels: 1200 -> "1.2k", 3e6 -> "3M".
fn compact(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{}M", trim(x / 1e6))
    } else if a >= 1e3 {
        format!("{}k", trim(x / 1e3))
    } else {
        trim(x)
    }
}

/// `x` with at most two decimals and no trailing zeros.
fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// A positive number to three significant digits: 0.0316, 3.16, 316; scientific outside
/// 0.001 to 10,000.
fn significant(v: f64) -> String {
    if !(1e-3..1e4).contains(&v) {
        return format!("{v:.1e}");
    }
    let decimals = (2 - v.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A chart with a linear f64 x axis (environment steps) and an f64 y axis.
type StepChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Legend entries: (name, colour, swatch).
type Entries = Vec<(String, RGBColor, Swatch)>;

/// Draws a curve across runs: its min-max band (filled, `color` at 0.2 opacity) under its
/// mean line (`width` pixels wide).
fn draw_spread<DB: DrawingBackend>(
    chart: &mut StepChart<'_, DB>,
    s: &[(f64, f64, f64, f64)],
    color: RGBColor,
    width: u32,
) -> anyhow::Result<()> {
    let mut band: Vec<(f64, f64)> = s.iter().map(|p| (p.0, p.3)).collect();
    band.extend(s.iter().rev().map(|p| (p.0, p.2)));
    chart
        .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
        .or_plot()?;
    chart
        .draw_series(LineSeries::new(
            s.iter().map(|p| (p.0, p.1)),
            color.stroke_width(width),
        ))
        .or_plot()?;
    Ok(())
}

/// Builds a panel's chart on `area` with the shared step axis and mesh: its caption, the y
/// range, the y axis description and the y tick-label formatter.
fn step_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: String,
    x_range: Range<f64>,
    y_range: Range<f64>,
    y_desc: &str,
    y_label: &dyn Fn(&f64) -> String,
) -> anyhow::Result<StepChart<'a, DB>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, text(CAPTION_SIZE))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(x_range, y_range)
        .or_plot()?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_desc("environment steps (transitions collected)")
        .y_desc(y_desc)
        .axis_desc_style(text(AXIS_DESC_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_label_formatter(&|x| compact(*x))
        .y_label_formatter(y_label)
        .draw()
        .or_plot()?;
    Ok(chart)
}

impl TrainingCurves {
    /// Draws the top panel into `area`: training and validation returns against steps (the
    /// mean and min-max band across runs, or one run's curves with its validation +-1 sd
    /// band), the reference line, and the legend strip below.
    fn draw_returns<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        train: &[Vec<(f64, f64)>],
        valid: &[Vec<(f64, f64)>],
        x_range: Range<f64>,
        band_note: &str,
    ) -> anyhow::Result<()> {
        let several = self.runs.len() > 1;
        let (_, h) = area.dim_in_pixel();
        let (plot, legend) = area.split_vertically(h - LEGEND_BAND);
        let mut ys: Vec<f64> = train.iter().chain(valid).flatten().map(|p| p.1).collect();
        if !several {
            for r in &self.runs {
                for p in &r.points {
                    if let (Some(m), Some(s)) = (p.valid_return, p.valid_std) {
                        ys.extend([m - s, m + s]);
                    }
                }
            }
        }
        ys.extend(self.reference.iter().map(|r| r.1));
        let mut chart = step_chart(
            &plot,
            format!("Return against training steps{band_note}"),
            x_range.clone(),
            padded_range(ys, 0.08, false),
            &self.return_desc,
            &|y| compact(*y),
        )?;
        let mut entries = if several {
            draw_return_spreads(&mut chart, train, valid)?
        } else {
            self.draw_single_run_returns(&mut chart, train, valid)?
        };
        if let Some((label, value)) = &self.reference {
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, *value), (x_range.end, *value)],
                    8,
                    5,
                    REFERENCE_COLOR.stroke_width(2),
                ))
                .or_plot()?;
            entries.push((label.clone(), REFERENCE_COLOR, Swatch::Dashed));
        }
        legend_strip(&legend, &entries)
    }

    /// Draws one run's returns on `chart`: the training curve, the validation +-1 sd band
    /// (when at least two validations have one), and the validation curve with its points;
    /// returns their legend entries.
    fn draw_single_run_returns<DB: DrawingBackend>(
        &self,
        chart: &mut StepChart<'_, DB>,
        train: &[Vec<(f64, f64)>],
        valid: &[Vec<(f64, f64)>],
    ) -> anyhow::Result<Entries> {
        let mut entries = vec![];
        let (train_color, valid_color) = (series_color(TRAIN_SERIES), series_color(VALID_SERIES));
        if let Some(c) = train.first().filter(|c| !c.is_empty()) {
            chart
                .draw_series(LineSeries::new(
                    c.iter().copied(),
                    train_color.stroke_width(2),
                ))
                .or_plot()?;
            entries.push((
                "training episodes (exploring), recent mean".into(),
                train_color,
                Swatch::Line,
            ));
        }
        let run = &self.runs[0];
        let sd: Vec<(f64, f64, f64)> = run
            .points
            .iter()
            .filter_map(|p| match (p.valid_return, p.valid_std) {
                (Some(m), Some(s)) => Some((p.env_steps, m - s, m + s)),
                _ => None,
            })
            .collect();
        if sd.len() > 1 {
            let mut band: Vec<(f64, f64)> = sd.iter().map(|p| (p.0, p.2)).collect();
            band.extend(sd.iter().rev().map(|p| (p.0, p.1)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    valid_color.mix(0.18).filled(),
                )))
                .or_plot()?;
        }
        if let Some(c) = valid.first().filter(|c| !c.is_empty()) {
            chart
                .draw_series(LineSeries::new(
                    c.iter().copied(),
                    valid_color.stroke_width(3),
                ))
                .or_plot()?;
            chart
                .draw_series(c.iter().map(|p| Circle::new(*p, 4, valid_color.filled())))
                .or_plot()?;
            let what = if sd.len() > 1 {
                "validation (greedy) mean; band: +-1 sd over episodes"
            } else {
                "validation (greedy) mean"
            };
            entries.push((what.into(), valid_color, Swatch::Line));
        }
        Ok(entries)
    }

    /// Draws the bottom panel into `area`: the training loss against steps (the mean and
    /// min-max band across runs, or one run's curve; log scale when it spans
    /// [`LOG_SCALE_DECADES`] or more), or a note when no loss was recorded.
    fn draw_loss<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        loss: &[Vec<(f64, f64)>],
        x_range: Range<f64>,
        band_note: &str,
    ) -> anyhow::Result<()> {
        let values: Vec<f64> = loss.iter().flatten().map(|p| p.1).collect();
        let positive = !values.is_empty() && values.iter().all(|v| *v > 0.0);
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let log = positive && (hi / lo).log10() >= LOG_SCALE_DECADES;
        let tf = |v: f64| if log { v.log10() } else { v };
        let loss_t: Vec<Vec<(f64, f64)>> = loss
            .iter()
            .map(|c| c.iter().map(|p| (p.0, tf(p.1))).collect())
            .collect();
        let y_range = padded_range(loss_t.iter().flatten().map(|p| p.1), 0.08, !log && positive);
        let mut chart = step_chart(
            area,
            format!(
                "Training loss{}{band_note}",
                if log { " (log scale)" } else { "" }
            ),
            x_range,
            y_range,
            if log {
                "loss (scaled-reward units, log scale)"
            } else {
                "loss (scaled-reward units)"
            },
            &|y| {
                if log {
                    significant(10f64.powf(*y))
                } else {
                    compact(*y)
                }
            },
        )?;
        let loss_color = series_color(1);
        if values.is_empty() {
            let (w, h) = area.dim_in_pixel();
            area.draw(&Text::new(
                "no loss recorded",
                (w as i32 / 2 - 60, h as i32 / 2),
                text(CAPTION_SIZE),
            ))
            .or_plot()?;
        } else if self.runs.len() > 1 {
            draw_spread(&mut chart, &spread(&loss_t), loss_color, 2)?;
        } else if let Some(c) = loss_t.first() {
            chart
                .draw_series(LineSeries::new(
                    c.iter().copied(),
                    loss_color.stroke_width(2),
                ))
                .or_plot()?;
        }
        Ok(())
    }
}

/// Draws the training and validation returns of several runs on `chart` (each as its mean
/// and min-max band across runs); returns their legend entries.
fn draw_return_spreads<DB: DrawingBackend>(
    chart: &mut StepChart<'_, DB>,
    train: &[Vec<(f64, f64)>],
    valid: &[Vec<(f64, f64)>],
) -> anyhow::Result<Entries> {
    let mut entries = vec![];
    for (curve, color, name) in [
        (
            train,
            series_color(TRAIN_SERIES),
            "training episodes (exploring)",
        ),
        (valid, series_color(VALID_SERIES), "validation (greedy)"),
    ] {
        let s = spread(curve);
        if s.is_empty() {
            continue;
        }
        draw_spread(chart, &s, color, 3)?;
        entries.push((format!("{name}, mean"), color, Swatch::Line));
    }
    Ok(entries)
}

impl Figure for TrainingCurves {
    fn size(&self) -> (u32, u32) {
        (1400, 1000)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_band(root, &self.title)?;
        let (_, h) = body.dim_in_pixel();
        let (top, bottom) = body.split_vertically(h * 3 / 5);
        let train = curves(&self.runs, |p| p.train_return);
        let valid = curves(&self.runs, |p| p.valid_return);
        let loss = curves(&self.runs, |p| p.loss);
        let x_max = self
            .runs
            .iter()
            .flat_map(|r| r.points.iter().map(|p| p.env_steps))
            .fold(1.0, f64::max);
        let x_range = 0.0..x_max * 1.02;
        let band_note = if self.runs.len() > 1 {
            format!(" (mean of {} runs; band: min-max)", self.runs.len())
        } else {
            String::new()
        };
        self.draw_returns(&top, &train, &valid, x_range.clone(), &band_note)?;
        self.draw_loss(&bottom, &loss, x_range, &band_note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_interpolates_on_the_common_range() {
        let a = vec![(0.0, 0.0), (10.0, 10.0)];
        let b = vec![(5.0, 0.0), (20.0, 0.0)];
        let s = spread(&[a, b]);
        // Common range 5..10: grid points 5 and 10.
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], (5.0, 2.5, 0.0, 5.0));
        assert_eq!(s[1], (10.0, 5.0, 0.0, 10.0));
        assert!(spread(&[vec![]]).is_empty());
    }

    #[test]
    fn compact_labels() {
        assert_eq!(compact(1200.0), "1.2k");
        assert_eq!(compact(3e6), "3M");
        assert_eq!(compact(0.5), "0.5");
        assert_eq!(compact(-0.0), "0");
        assert_eq!(significant(0.0316228), "0.0316");
        assert_eq!(significant(1.0), "1");
        assert_eq!(significant(316.2), "316");
        assert_eq!(significant(1e-5), "1.0e-5");
    }
}
