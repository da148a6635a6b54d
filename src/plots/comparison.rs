//! Policy comparison: mean realised CLV per customer with its 95% interval (left), and the
//! paired difference to the reference policy with its 95% interval (right), policies sorted
//! best first, the reference drawn grey.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    AXIS_DESC_SIZE, BETTER_COLOR, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot,
    REFERENCE_COLOR, Swatch, UNCLEAR_COLOR, WORSE_COLOR, label_width, legend_strip, padded_range,
    save, text, title_band,
};

/// One policy's estimates.
#[derive(Debug, Clone)]
pub struct PolicyInterval {
    /// Policy spec.
    pub policy: String,
    /// Mean realised CLV per customer over the horizon, dollars.
    pub clv_mean: f64,
    /// Its 95% interval, dollars.
    pub clv_ci95: [f64; 2],
    /// Mean paired CLV difference to the reference, dollars per customer.
    pub diff_mean: f64,
    /// Its 95% interval, dollars per customer.
    pub diff_ci95: [f64; 2],
}

/// The data of the policy comparison plot.
#[derive(Debug, Clone)]
pub struct PolicyComparison {
    /// Figure title.
    pub title: String,
    /// The reference policy of the paired differences.
    pub reference: String,
    /// The scored horizon in words, e.g. "26 weeks".
    pub horizon: String,
    /// Policies in any order (the plot sorts them by mean CLV).
    pub policies: Vec<PolicyInterval>,
}

/// Draws the policy comparison into `<stem>.png` and `<stem>.svg`; returns their paths.
pub fn policy_comparison(stem: &Path, data: &PolicyComparison) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(!data.policies.is_empty(), "no policies to plot");
    save(data, stem)
}

impl PolicyComparison {
    /// Policies sorted by mean CLV, worst first (drawn bottom to top).
    fn sorted(&self) -> Vec<&PolicyInterval> {
        let mut v: Vec<&PolicyInterval> = self.policies.iter().collect();
        v.sort_by(|a, b| a.clv_mean.total_cmp(&b.clv_mean));
        v
    }

    /// The colour of a policy: grey for the reference, else by what its paired interval says.
    fn color(&self, p: &PolicyInterval) -> RGBColor {
        if p.policy == self.reference {
            REFERENCE_COLOR
        } else if p.diff_ci95[0] > 0.0 {
            BETTER_COLOR
        } else if p.diff_ci95[1] < 0.0 {
            WORSE_COLOR
        } else {
            UNCLEAR_COLOR
        }
    }
}

/// Picks a policy's estimate for one panel: (mean, 95% interval).
type Pick = fn(&PolicyInterval) -> (f64, [f64; 2]);

/// A chart with an f64 x axis and one y segment per policy.
type PolicyChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordi32>>>;

/// One panel of the figure.
struct Panel {
    /// Caption above the panel.
    caption: String,
    /// The x axis description, with its unit.
    x_desc: String,
    /// The estimate the panel shows.
    pick: Pick,
    /// Whether the panel carries the policy names (and the reference's mean as its zero line).
    labelled: bool,
}

impl PolicyComparison {
    /// The two panels: mean CLV (left, labelled) and the paired difference (right).
    fn panels(&self) -> [Panel; 2] {
        [
            Panel {
                caption: "Mean realised CLV per customer (95% CI)".to_string(),
                x_desc: format!("realised CLV per customer over {} ($)", self.horizon),
                pick: |p| (p.clv_mean, p.clv_ci95),
                labelled: true,
            },
            Panel {
                caption: format!("Paired difference vs {} (95% CI)", self.reference),
                x_desc: format!("CLV difference per customer vs {} ($)", self.reference),
                pick: |p| (p.diff_mean, p.diff_ci95),
                labelled: false,
            },
        ]
    }

    /// Draws one panel into `area`: its axes (policy names `names` on the left when
    /// `labelled`, in a label area `label_w` pixels wide), the dashed zero line, and every
    /// policy of `sorted` as its interval and mean.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
        sorted: &[&PolicyInterval],
        names: &[String],
        label_w: u32,
    ) -> anyhow::Result<()> {
        let (pick, labelled) = (panel.pick, panel.labelled);
        let n = sorted.len() as i32;
        let x_range = padded_range(
            sorted.iter().flat_map(|p| {
                let (m, ci) = pick(p);
                [m, ci[0], ci[1]]
            }),
            0.12,
            true,
        );
        let mut chart = ChartBuilder::on(area)
            .caption(panel.caption.clone(), text(CAPTION_SIZE))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(if labelled { label_w } else { 8 })
            .build_cartesian_2d(x_range.clone(), (0..n - 1).into_segmented())
            .or_plot()?;
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .disable_y_mesh()
            .x_desc(panel.x_desc.clone())
            .axis_desc_style(text(AXIS_DESC_SIZE))
            .label_style(text(LABEL_SIZE))
            .y_labels(n as usize + 1)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if labelled => {
                    names.get(*i as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .x_label_formatter(&|x| format!("{x:.2}"))
            .draw()
            .or_plot()?;
        // Zero line (and the reference's mean on the left).
        let zero = if labelled {
            sorted
                .iter()
                .find(|p| p.policy == self.reference)
                .map(|p| p.clv_mean)
        } else {
            Some(0.0)
        };
        if let Some(z) = zero {
            chart
                .draw_series(DashedLineSeries::new(
                    [(z, SegmentValue::Exact(0)), (z, SegmentValue::Last)],
                    6,
                    4,
                    REFERENCE_COLOR.stroke_width(1),
                ))
                .or_plot()?;
        }
        self.draw_intervals(&mut chart, sorted, pick)
    }

    /// Draws every policy of `sorted` on `chart`, one per row: its 95% interval with end
    /// ticks and its mean as a dot labelled with the value, coloured by [`Self::color`].
    fn draw_intervals<DB: DrawingBackend>(
        &self,
        chart: &mut PolicyChart<'_, DB>,
        sorted: &[&PolicyInterval],
        pick: Pick,
    ) -> anyhow::Result<()> {
        for (i, p) in sorted.iter().enumerate() {
            let (m, ci) = pick(p);
            let y = SegmentValue::CenterOf(i as i32);
            let color = self.color(p);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(ci[0], y.clone()), (ci[1], y.clone())],
                    color.stroke_width(3),
                )))
                .or_plot()?;
            for end in ci {
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((end, y.clone()))
                            + PathElement::new(vec![(0, -9), (0, 9)], color.stroke_width(3)),
                    ))
                    .or_plot()?;
            }
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((m, y.clone()))
                        + Circle::new((0, 0), 7, color.filled())
                        + Text::new(
                            format!("{m:.2}"),
                            (0, -11),
                            text(LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Bottom)),
                        ),
                ))
                .or_plot()?;
        }
        Ok(())
    }

    /// Draws the legend strip into `area`: the reference and the three verdicts of the paired
    /// interval.
    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        legend_strip(
            area,
            &[
                (
                    format!("reference ({})", self.reference),
                    REFERENCE_COLOR,
                    Swatch::Box,
                ),
                (
                    "better (95% CI of the difference > 0)".into(),
                    BETTER_COLOR,
                    Swatch::Box,
                ),
                (
                    "not distinguishable (CI includes 0)".into(),
                    UNCLEAR_COLOR,
                    Swatch::Box,
                ),
                ("worse (CI < 0)".into(), WORSE_COLOR, Swatch::Box),
            ],
        )
    }
}

impl Figure for PolicyComparison {
    fn size(&self) -> (u32, u32) {
        (1400, (230 + 56 * self.policies.len() as u32).max(460))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_band(root, &self.title)?;
        let (_, h) = body.dim_in_pixel();
        let (body, legend) = body.split_vertically(h - LEGEND_BAND);
        let sorted = self.sorted();
        let names: Vec<String> = sorted
            .iter()
            .map(|p| {
                if p.policy == self.reference {
                    format!("{} (reference)", p.policy)
                } else {
                    p.policy.clone()
                }
            })
            .collect();
        let label_w = label_width(&names);
        let (w, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(label_w + (w - label_w) / 2);
        for (area, panel) in [left, right].iter().zip(self.panels()) {
            self.draw_panel(area, &panel, &sorted, &names, label_w)?;
        }
        self.draw_legend(&legend)
    }
}
