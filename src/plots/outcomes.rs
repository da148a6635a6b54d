//! Outcomes over the horizon, by policy: profit per customer in each period (top; a rolling
//! mean on long horizons), cumulative profit per customer (middle), and the share of customers
//! still alive (bottom).

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    AXIS_DESC_SIZE, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot, PolicySeries,
    Swatch, legend_strip, padded_range, policy_color, save, smooth, smoothing_note,
    smoothing_window, text, title_band,
};

/// The data of the outcomes-over-the-horizon plot.
#[derive(Debug, Clone)]
pub struct OutcomesOverTime {
    /// Figure title.
    pub title: String,
    /// The name of one period, e.g. "week".
    pub period_unit: String,
    /// The reference policy (drawn grey, dashed).
    pub reference: String,
    /// Reward per customer in each period (undiscounted dollars), per policy.
    pub reward: Vec<PolicySeries>,
    /// Share of customers alive at the end of each period (0..1), per policy, in the same
    /// policy order.
    pub alive: Vec<PolicySeries>,
}

/// Draws the outcomes-over-the-horizon plot into `<stem>.png` and `<stem>.svg`; returns their
/// paths.
pub fn outcomes_over_time(stem: &Path, data: &OutcomesOverTime) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(!data.reward.is_empty(), "no policies to plot");
    save(data, stem)
}

/// One panel of the figure.
struct Panel<'a> {
    /// The series it draws, one per policy.
    series: &'a [PolicySeries],
    /// Caption above the panel.
    caption: String,
    /// The y axis description, with its unit.
    y_desc: String,
    /// The factor the values are drawn at (100 for shares drawn as percentages).
    scale: f64,
}

/// Cumulative reward per customer, per policy (non-finite periods count as zero).
fn cumulative(reward: &[PolicySeries]) -> Vec<PolicySeries> {
    reward
        .iter()
        .map(|s| PolicySeries {
            policy: s.policy.clone(),
            values: s
                .values
                .iter()
                .scan(0.0, |acc, v| {
                    *acc += if v.is_finite() { *v } else { 0.0 };
                    Some(*acc)
                })
                .collect(),
        })
        .collect()
}

impl OutcomesOverTime {
    /// Draws one panel into `area`: its axes over `x_range` and one line per series (the
    /// reference dashed), coloured by the series' policy's place in `names`.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: Panel<'_>,
        x_range: Range<f64>,
        names: &[String],
    ) -> anyhow::Result<()> {
        let Panel {
            series,
            caption,
            y_desc,
            scale,
        } = panel;
        let y_range = padded_range(
            series
                .iter()
                .flat_map(|s| s.values.iter().map(move |v| v * scale)),
            0.08,
            scale == 1.0,
        );
        let mut chart = ChartBuilder::on(area)
            .caption(caption, text(CAPTION_SIZE))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range, y_range)
            .or_plot()?;
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .x_desc(format!("{} of the horizon", self.period_unit))
            .y_desc(y_desc)
            .axis_desc_style(text(AXIS_DESC_SIZE))
            .label_style(text(LABEL_SIZE))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| {
                if scale == 1.0 {
                    format!("{y:.2}")
                } else {
                    format!("{y:.1}")
                }
            })
            .draw()
            .or_plot()?;
        for s in series {
            let i = names.iter().position(|n| *n == s.policy).unwrap_or(0);
            let color = policy_color(names, i, &self.reference);
            let pts: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .map(|(t, v)| (t as f64 + 1.0, v * scale))
                .collect();
            if s.policy == self.reference {
                chart
                    .draw_series(DashedLineSeries::new(pts, 8, 5, color.stroke_width(2)))
                    .or_plot()?;
            } else {
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                    .or_plot()?;
            }
        }
        Ok(())
    }

    /// The legend entries: one per policy of `names`, the reference dashed.
    fn legend_entries(&self, names: &[String]) -> Vec<(String, RGBColor, Swatch)> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let color = policy_color(names, i, &self.reference);
                if *n == self.reference {
                    (format!("{n} (reference)"), color, Swatch::Dashed)
                } else {
                    (n.clone(), color, Swatch::Line)
                }
            })
            .collect()
    }
}

impl Figure for OutcomesOverTime {
    fn size(&self) -> (u32, u32) {
        (1400, 1300)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_band(root, &self.title)?;
        let (_, h) = body.dim_in_pixel();
        let (body, legend) = body.split_vertically(h - LEGEND_BAND);
        let rows = body.split_evenly((3, 1));
        let periods = self
            .reward
            .iter()
            .chain(&self.alive)
            .map(|s| s.values.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let x_range = 0.5..periods as f64 + 0.5;
        let names: Vec<String> = self.reward.iter().map(|s| s.policy.clone()).collect();
        let unit = &self.period_unit;
        let window = smoothing_window(periods);
        let smoothed: Vec<PolicySeries> = self
            .reward
            .iter()
            .map(|s| PolicySeries {
                policy: s.policy.clone(),
                values: smooth(&s.values, window),
            })
            .collect();
        let cumulative = cumulative(&self.reward);
        let panels = [
            Panel {
                series: &smoothed,
                caption: format!(
                    "Profit per customer in each {unit}: margin - discounts - contact costs{}",
                    smoothing_note(window, unit)
                ),
                y_desc: format!("profit per customer per {unit} ($)"),
                scale: 1.0,
            },
            Panel {
                series: &cumulative,
                caption: "Cumulative profit per customer (undiscounted)".to_string(),
                y_desc: "cumulative profit per customer ($)".to_string(),
                scale: 1.0,
            },
            Panel {
                series: &self.alive,
                caption: format!("Customers still alive (buying) at the end of each {unit}"),
                y_desc: "customers alive (%)".to_string(),
                scale: 100.0,
            },
        ];
        for (area, panel) in rows.iter().zip(panels) {
            self.draw_panel(area, panel, x_range.clone(), &names)?;
        }
        legend_strip(&legend, &self.legend_entries(&names))
    }
}
