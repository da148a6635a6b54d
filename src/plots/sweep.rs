//! Sensitivity plots of `clv sweep`: a tornado chart (one bar per swept field spanning the
//! difference at the low and the high end of its range, centred on the difference at the
//! scenario's values), curves of the difference along each field with its interval band, and
//! a heat map of the difference over a two-way grid.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    AXIS_DESC_SIZE, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot, REFERENCE_COLOR,
    Swatch, label_width, legend_strip, padded_range, save, series_color, text, title_band,
};

/// Colour of the end of a bar at the low end of a field's range.
const LOW_END_COLOR: RGBColor = super::PALETTE[0];
/// Colour of the end of a bar at the high end of a field's range.
const HIGH_END_COLOR: RGBColor = super::PALETTE[4];
/// Heat-map colour of a positive difference (the first policy wins).
const FIRST_WINS_COLOR: RGBColor = super::PALETTE[0];
/// Heat-map colour of a negative difference (the second policy wins).
const SECOND_WINS_COLOR: RGBColor = super::PALETTE[1];
/// Height of the band under the title that says which customers the figures are on, pixels.
const NOTE_BAND: u32 = 28;
/// Thickness of a tornado bar, pixels (a row is [`TORNADO_ROW`] pixels high).
const BAR_THICKNESS: u32 = 28;
/// Height of one tornado row, pixels.
const TORNADO_ROW: u32 = 52;

/// One bar of a tornado: a field swept alone.
#[derive(Debug, Clone)]
pub struct TornadoBar {
    /// The field path.
    pub label: String,
    /// The low end of the range, in the field's unit.
    pub lo_value: f64,
    /// The high end of the range, in the field's unit.
    pub hi_value: f64,
    /// The field's value in the scenario, in its unit.
    pub base_value: f64,
    /// The difference at the low end, dollars per customer.
    pub diff_lo: f64,
    /// The difference at the high end, dollars per customer.
    pub diff_hi: f64,
    /// Largest minus smallest difference over the range, dollars per customer (the sort key).
    pub swing: f64,
    /// Values of the field at which the difference changes sign (shown in the label).
    pub break_even: Vec<f64>,
}

/// One panel of a tornado: one pair of policies.
#[derive(Debug, Clone)]
pub struct TornadoPanel {
    /// The pair, `A − B`.
    pub pair: String,
    /// The difference at the scenario's values, dollars per customer.
    pub base: f64,
    /// One bar per field, in any order (the plot sorts them by swing).
    pub bars: Vec<TornadoBar>,
}

/// The data of the tornado chart.
#[derive(Debug, Clone)]
pub struct Tornado {
    /// Figure title.
    pub title: String,
    /// Which customers the figures are on, in words.
    pub note: String,
    /// One panel per pair.
    pub panels: Vec<TornadoPanel>,
}

/// Draws the tornado chart into `<stem>.png` and `<stem>.svg`; returns their paths.
pub fn tornado(stem: &Path, data: &Tornado) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(
        data.panels.iter().all(|p| !p.bars.is_empty()) && !data.panels.is_empty(),
        "no fields to plot"
    );
    save(data, stem)
}

/// A chart with an f64 x axis and one y segment per row.
type RowChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordi32>>>;

/// The edge of segment `i` of `n` segments (`Last` for the far edge of the last one).
fn edge(i: usize, n: usize) -> SegmentValue<i32> {
    if i >= n {
        SegmentValue::Last
    } else {
        SegmentValue::Exact(i as i32)
    }
}

/// The height of a tornado panel of `bars` bars, pixels.
fn tornado_panel_height(bars: usize) -> u32 {
    110 + TORNADO_ROW * bars as u32
}

/// Draws `title` and the note under it; returns the area below.
fn title_and_note<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    note: &str,
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    let body = title_band(root, title)?;
    let (top, rest) = body.split_vertically(NOTE_BAND);
    let (w, h) = top.dim_in_pixel();
    top.draw(&Text::new(
        note.to_string(),
        (w as i32 / 2, h as i32 / 2),
        text(LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .or_plot()?;
    Ok(rest)
}

impl TornadoPanel {
    /// Bars sorted by swing, smallest first (drawn bottom to top, so the largest is on top).
    fn sorted(&self) -> Vec<&TornadoBar> {
        let mut v: Vec<&TornadoBar> = self.bars.iter().collect();
        v.sort_by(|a, b| a.swing.total_cmp(&b.swing));
        v
    }

    /// Draws the panel into `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let bars = self.sorted();
        let n = bars.len();
        let names: Vec<String> = bars
            .iter()
            .map(|b| {
                let fmt = crate::cmd::sweep::fmt_value;
                let flips = if b.break_even.is_empty() {
                    String::new()
                } else {
                    let xs: Vec<String> = b.break_even.iter().map(|x| fmt(*x)).collect();
                    format!("; break-even {}", xs.join(", "))
                };
                format!("{} (scenario {}{flips})", b.label, fmt(b.base_value))
            })
            .collect();
        // Zero is always in range, with room on both sides for the end labels.
        let x_range = padded_range(
            bars.iter()
                .flat_map(|b| [b.diff_lo, b.diff_hi])
                .chain([self.base, 0.0]),
            0.25,
            false,
        );
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("CLV difference {} per customer", self.pair),
                text(CAPTION_SIZE),
            )
            .margin(12)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(label_width(&names))
            .build_cartesian_2d(x_range, (0..n as i32 - 1).into_segmented())
            .or_plot()?;
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .disable_y_mesh()
            .x_desc(format!("{} ($ per customer)", self.pair))
            .axis_desc_style(text(AXIS_DESC_SIZE))
            .label_style(text(LABEL_SIZE))
            .y_labels(n + 1)
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|x| format!("{:.2}", if x.abs() < 5e-3 { 0.0 } else { *x }))
            .draw()
            .or_plot()?;
        for (i, b) in bars.iter().enumerate() {
            self.draw_bar(&mut chart, SegmentValue::CenterOf(i as i32), b)?;
        }
        let (bottom, top) = (edge(0, n), edge(n, n));
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, bottom.clone()), (0.0, top.clone())],
                6,
                4,
                REFERENCE_COLOR.stroke_width(1),
            ))
            .or_plot()?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(self.base, bottom), (self.base, top)],
                BLACK.stroke_width(2),
            )))
            .or_plot()?;
        Ok(())
    }

    /// Draws one bar at row `y`: from the base difference to each end's difference, the
    /// longer first so that both show, each end labelled with the field's value and the
    /// difference there.
    fn draw_bar<DB: DrawingBackend>(
        &self,
        chart: &mut RowChart<'_, DB>,
        y: SegmentValue<i32>,
        b: &TornadoBar,
    ) -> anyhow::Result<()> {
        let mut ends = [
            (b.diff_lo, b.lo_value, LOW_END_COLOR),
            (b.diff_hi, b.hi_value, HIGH_END_COLOR),
        ];
        ends.sort_by(|p, q| (q.0 - self.base).abs().total_cmp(&(p.0 - self.base).abs()));
        for (d, _, color) in ends {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(self.base, y.clone()), (d, y.clone())],
                    color.stroke_width(BAR_THICKNESS),
                )))
                .or_plot()?;
        }
        // Labels: an end left of the base is labelled on its left, else on its right; two
        // ends on the same side are labelled above and below the bar's centre.
        // Ends on the same side of the base (or at it) would share a spot: stack their labels.
        let same_side = (b.diff_lo - self.base) * (b.diff_hi - self.base) >= 0.0;
        for (k, (d, v, _)) in ends.iter().enumerate() {
            let left = *d < self.base;
            let (dx, anchor) = if left {
                (-5, HPos::Right)
            } else {
                (5, HPos::Left)
            };
            let dy = if same_side {
                if k == 0 {
                    -(BAR_THICKNESS as i32) / 3
                } else {
                    BAR_THICKNESS as i32 / 3
                }
            } else {
                0
            };
            let label = format!("{} → {:+.2}", crate::cmd::sweep::fmt_value(*v), d);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((*d, y.clone()))
                        + Text::new(
                            label,
                            (dx, dy),
                            text(LABEL_SIZE - 2).pos(Pos::new(anchor, VPos::Center)),
                        ),
                ))
                .or_plot()?;
        }
        Ok(())
    }
}

impl Figure for Tornado {
    fn size(&self) -> (u32, u32) {
        let panels: u32 = self
            .panels
            .iter()
            .map(|p| tornado_panel_height(p.bars.len()))
            .sum();
        (1300, 50 + NOTE_BAND + panels + LEGEND_BAND)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let mut body = title_and_note(root, &self.title, &self.note)?;
        for p in &self.panels {
            let (area, rest) = body.split_vertically(tornado_panel_height(p.bars.len()));
            p.draw(&area)?;
            body = rest;
        }
        legend_strip(
            &body,
            &[
                (
                    "difference at the low end of the range".into(),
                    LOW_END_COLOR,
                    Swatch::Box,
                ),
                ("at the high end".into(), HIGH_END_COLOR, Swatch::Box),
                ("at the scenario's values".into(), BLACK, Swatch::Line),
                (
                    "zero: the policies tie".into(),
                    REFERENCE_COLOR,
                    Swatch::Dashed,
                ),
            ],
        )
    }
}

/// One field's curves: the difference of every pair along its values.
#[derive(Debug, Clone)]
pub struct CurvePanel {
    /// The field path.
    pub path: String,
    /// The field's value in the scenario.
    pub base_value: f64,
    /// The values swept, increasing.
    pub values: Vec<f64>,
    /// Per pair, per value: (mean difference, its 95% interval), dollars per customer.
    pub diffs: Vec<Vec<(f64, [f64; 2])>>,
}

/// The data of the curves figure.
#[derive(Debug, Clone)]
pub struct SweepCurves {
    /// Figure title.
    pub title: String,
    /// Which customers the figures are on, in words.
    pub note: String,
    /// The pairs, `A − B`, in the order of each panel's `diffs`.
    pub pairs: Vec<String>,
    /// One panel per field.
    pub panels: Vec<CurvePanel>,
}

/// Panels per row of the curves figure.
const CURVE_COLUMNS: usize = 3;
/// Width and height of one curve panel, pixels.
const CURVE_PANEL: (u32, u32) = (520, 380);

/// Draws the curves into `<stem>.png` and `<stem>.svg`; returns their paths.
pub fn sweep_curves(stem: &Path, data: &SweepCurves) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(!data.panels.is_empty(), "no fields to plot");
    save(data, stem)
}

impl SweepCurves {
    /// (columns, rows) of the panel grid.
    fn layout(&self) -> (usize, usize) {
        let cols = self.panels.len().min(CURVE_COLUMNS);
        (cols, self.panels.len().div_ceil(cols))
    }

    /// Draws one field's panel into `area`.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &CurvePanel,
    ) -> anyhow::Result<()> {
        let x_range = padded_range(p.values.iter().copied(), 0.03, false);
        let y_range = padded_range(
            p.diffs
                .iter()
                .flatten()
                .flat_map(|(m, ci)| [*m, ci[0], ci[1]]),
            0.08,
            true,
        );
        let mut chart = ChartBuilder::on(area)
            .caption(p.path.clone(), text(CAPTION_SIZE))
            .margin(10)
            .margin_right(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.clone(), y_range)
            .or_plot()?;
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .x_desc(p.path.clone())
            .y_desc("difference ($ per customer)")
            .axis_desc_style(text(AXIS_DESC_SIZE - 2))
            .label_style(text(LABEL_SIZE - 1))
            .x_labels(6)
            .y_label_formatter(&|y| format!("{y:.2}"))
            .x_label_formatter(&|x| crate::cmd::sweep::fmt_value(*x))
            .draw()
            .or_plot()?;
        chart
            .draw_series(DashedLineSeries::new(
                [(x_range.start, 0.0), (x_range.end, 0.0)],
                6,
                4,
                REFERENCE_COLOR.stroke_width(1),
            ))
            .or_plot()?;
        for (k, series) in p.diffs.iter().enumerate() {
            let color = series_color(k);
            let mut band: Vec<(f64, f64)> = p
                .values
                .iter()
                .zip(series)
                .map(|(x, (_, ci))| (*x, ci[1]))
                .collect();
            band.extend(
                p.values
                    .iter()
                    .zip(series)
                    .rev()
                    .map(|(x, (_, ci))| (*x, ci[0])),
            );
            chart
                .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
                .or_plot()?;
            let line: Vec<(f64, f64)> = p
                .values
                .iter()
                .zip(series)
                .map(|(x, (m, _))| (*x, *m))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(3)))
                .or_plot()?;
            chart
                .draw_series(line.iter().map(|pt| Circle::new(*pt, 4, color.filled())))
                .or_plot()?;
        }
        if x_range.start <= p.base_value && p.base_value <= x_range.end {
            let (lo, hi) = (chart.y_range().start, chart.y_range().end);
            chart
                .draw_series(DashedLineSeries::new(
                    [(p.base_value, lo), (p.base_value, hi)],
                    2,
                    4,
                    BLACK.stroke_width(1),
                ))
                .or_plot()?;
        }
        Ok(())
    }
}

impl Figure for SweepCurves {
    fn size(&self) -> (u32, u32) {
        let (cols, rows) = self.layout();
        (
            CURVE_PANEL.0 * cols as u32,
            50 + NOTE_BAND + CURVE_PANEL.1 * rows as u32 + LEGEND_BAND,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_and_note(root, &self.title, &self.note)?;
        let (_, h) = body.dim_in_pixel();
        let (grid, legend) = body.split_vertically(h - LEGEND_BAND);
        let (cols, rows) = self.layout();
        let areas = grid.split_evenly((rows, cols));
        for (area, p) in areas.iter().zip(&self.panels) {
            self.draw_panel(area, p)?;
        }
        let mut entries: Vec<(String, RGBColor, Swatch)> = self
            .pairs
            .iter()
            .enumerate()
            .map(|(k, p)| (format!("{p} (band: 95% CI)"), series_color(k), Swatch::Line))
            .collect();
        entries.push(("scenario's value".into(), BLACK, Swatch::Dashed));
        entries.push(("zero".into(), REFERENCE_COLOR, Swatch::Dashed));
        legend_strip(&legend, &entries)
    }
}

/// The data of the heat map over a two-way grid.
#[derive(Debug, Clone)]
pub struct HeatMap {
    /// Figure title.
    pub title: String,
    /// Which customers the figures are on, in words.
    pub note: String,
    /// The scenario's values of (`x`, `y`): the cell there, if any, is outlined.
    pub base: (f64, f64),
    /// The field along x (columns).
    pub x: String,
    /// The field along y (rows).
    pub y: String,
    /// The values of `x`.
    pub x_values: Vec<f64>,
    /// The values of `y`.
    pub y_values: Vec<f64>,
    /// The pairs, `A − B`.
    pub pairs: Vec<String>,
    /// Per pair, per cell (x varying fastest): (mean difference, 95% interval), dollars.
    pub cells: Vec<Vec<(f64, [f64; 2])>>,
}

/// Draws the heat map into `<stem>.png` and `<stem>.svg`; returns their paths.
pub fn heat_map(stem: &Path, data: &HeatMap) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(
        data.cells
            .iter()
            .all(|c| c.len() == data.x_values.len() * data.y_values.len())
            && !data.cells.is_empty(),
        "a heat map needs one cell per pair of values"
    );
    save(data, stem)
}

/// Width and height of one heat-map cell, pixels.
const CELL: (u32, u32) = (96, 44);

/// `color` faded towards white by `1 - strength` (strength in 0..=1).
fn shade(color: RGBColor, strength: f64) -> RGBColor {
    let s = strength.clamp(0.0, 1.0);
    let mix = |c: u8| (255.0 - (255.0 - c as f64) * s).round() as u8;
    RGBColor(mix(color.0), mix(color.1), mix(color.2))
}

impl HeatMap {
    /// Draws pair `k`'s panel into `area`.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        k: usize,
    ) -> anyhow::Result<()> {
        let (nx, ny) = (self.x_values.len(), self.y_values.len());
        let cells = &self.cells[k];
        let scale = cells
            .iter()
            .map(|(m, _)| m.abs())
            .fold(0.0_f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let y_names: Vec<String> = self
            .y_values
            .iter()
            .map(|v| crate::cmd::sweep::fmt_value(*v))
            .collect();
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{} ($ per customer; darker: larger)", self.pairs[k]),
                text(CAPTION_SIZE),
            )
            .margin(12)
            .margin_right(24)
            .x_label_area_size(50)
            .y_label_area_size(label_width(&y_names) + 30)
            .build_cartesian_2d(
                (0..nx as i32 - 1).into_segmented(),
                (0..ny as i32 - 1).into_segmented(),
            )
            .or_plot()?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x.clone())
            .y_desc(self.y.clone())
            .axis_desc_style(text(AXIS_DESC_SIZE))
            .label_style(text(LABEL_SIZE))
            .x_labels(nx + 1)
            .y_labels(ny + 1)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => self
                    .x_values
                    .get(*i as usize)
                    .map(|v| crate::cmd::sweep::fmt_value(*v))
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(j) => y_names.get(*j as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .or_plot()?;
        for j in 0..ny {
            for i in 0..nx {
                let (m, ci) = cells[j * nx + i];
                let strength = m.abs() / scale;
                let base = if m >= 0.0 {
                    FIRST_WINS_COLOR
                } else {
                    SECOND_WINS_COLOR
                };
                let fill = shade(base, 0.15 + 0.85 * strength);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (edge(i, nx), edge(j, ny)),
                            (edge(i + 1, nx), edge(j + 1, ny)),
                        ],
                        fill.filled(),
                    )))
                    .or_plot()?;
                let unsure = ci[0] <= 0.0 && ci[1] >= 0.0;
                let label = format!("{m:+.2}{}", if unsure { " ?" } else { "" });
                let ink = if strength > 0.6 { WHITE } else { BLACK };
                chart
                    .draw_series(std::iter::once(Text::new(
                        label,
                        (
                            SegmentValue::CenterOf(i as i32),
                            SegmentValue::CenterOf(j as i32),
                        ),
                        text(LABEL_SIZE)
                            .color(&ink)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    )))
                    .or_plot()?;
            }
        }
        let at = |values: &[f64], v: f64| values.iter().position(|x| *x == v);
        if let (Some(i), Some(j)) = (
            at(&self.x_values, self.base.0),
            at(&self.y_values, self.base.1),
        ) {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (edge(i, nx), edge(j, ny)),
                        (edge(i + 1, nx), edge(j + 1, ny)),
                    ],
                    BLACK.stroke_width(3),
                )))
                .or_plot()?;
        }
        Ok(())
    }

    /// The legend: which colour means which policy wins.
    fn legend(&self) -> Vec<(String, RGBColor, Swatch)> {
        let names: Option<(&str, &str)> = match self.pairs.as_slice() {
            [only] => only.split_once(" − "),
            _ => None,
        };
        let (first, second) = match names {
            Some((a, b)) => (format!("{a} wins"), format!("{b} wins")),
            None => (
                "first policy of the panel wins".into(),
                "second wins".into(),
            ),
        };
        vec![
            (first, FIRST_WINS_COLOR, Swatch::Box),
            (second, SECOND_WINS_COLOR, Swatch::Box),
            ("?: 95% CI includes 0".into(), GRID, Swatch::Box),
            (
                "outlined: the scenario's values".into(),
                BLACK,
                Swatch::Line,
            ),
        ]
    }
}

impl Figure for HeatMap {
    fn size(&self) -> (u32, u32) {
        let panel_w = 240 + CELL.0 * self.x_values.len() as u32;
        let panel_h = 150 + CELL.1 * self.y_values.len() as u32;
        let cols = self.pairs.len().min(2) as u32;
        let rows = self.pairs.len().div_ceil(2) as u32;
        (
            (panel_w * cols).max(1100),
            50 + NOTE_BAND + panel_h * rows + LEGEND_BAND,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_and_note(root, &self.title, &self.note)?;
        let (_, h) = body.dim_in_pixel();
        let (grid, legend) = body.split_vertically(h - LEGEND_BAND);
        let cols = self.pairs.len().min(2);
        let rows = self.pairs.len().div_ceil(2);
        let areas = grid.split_evenly((rows, cols));
        for (k, area) in areas.iter().enumerate().take(self.pairs.len()) {
            self.draw_panel(area, k)?;
        }
        legend_strip(&legend, &self.legend())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shade_fades_to_white() {
        assert_eq!(shade(RGBColor(0, 100, 200), 0.0), RGBColor(255, 255, 255));
        assert_eq!(shade(RGBColor(0, 100, 200), 1.0), RGBColor(0, 100, 200));
    }

    #[test]
    fn plots_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let bar = |label: &str, lo: f64, hi: f64| TornadoBar {
            label: label.into(),
            lo_value: 0.0,
            hi_value: 1.0,
            base_value: 0.5,
            diff_lo: lo,
            diff_hi: hi,
            swing: (hi - lo).abs(),
            break_even: vec![0.3],
        };
        let t = Tornado {
            title: "t".into(),
            note: "n".into(),
            panels: vec![TornadoPanel {
                pair: "a − b".into(),
                base: 0.2,
                bars: vec![bar("x", -1.0, 2.0), bar("y", 0.3, 0.5)],
            }],
        };
        let files = tornado(&dir.path().join("tornado"), &t).unwrap();
        assert!(files.iter().all(|f| f.metadata().unwrap().len() > 0));
        let c = SweepCurves {
            title: "c".into(),
            note: "n".into(),
            pairs: vec!["a − b".into()],
            panels: vec![CurvePanel {
                path: "x".into(),
                base_value: 0.5,
                values: vec![0.0, 1.0],
                diffs: vec![vec![(-1.0, [-1.5, -0.5]), (2.0, [1.0, 3.0])]],
            }],
        };
        sweep_curves(&dir.path().join("curves"), &c).unwrap();
        let h = HeatMap {
            title: "h".into(),
            note: "n".into(),
            base: (1.0, 2.0),
            x: "x".into(),
            y: "y".into(),
            x_values: vec![0.0, 1.0],
            y_values: vec![0.0, 1.0, 2.0],
            pairs: vec!["a − b".into()],
            cells: vec![vec![(1.0, [0.5, 1.5]); 6]],
        };
        heat_map(&dir.path().join("heatmap"), &h).unwrap();
        assert!(dir.path().join("heatmap.svg").exists());
        assert!(dir.path().join("curves.png").exists());
    }
}
