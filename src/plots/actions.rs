//! Actions over the horizon: the share of customers contacted in each period by every policy
//! (top), and one policy's contacts by offer per period, stacked (bottom).

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{
    AXIS_DESC_SIZE, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot, PolicySeries,
    Swatch, legend_strip, padded_range, policy_color, save, series_color, smooth, smoothing_note,
    smoothing_window, text, title_band,
};

/// One policy's contacts per customer in each period, by offer.
#[derive(Debug, Clone)]
pub struct OfferBreakdown {
    /// Policy spec.
    pub policy: String,
    /// (offer name, contacts per customer in each period, period 1 first).
    pub offers: Vec<(String, Vec<f64>)>,
}

/// The data of the actions-over-the-horizon plot.
#[derive(Debug, Clone)]
pub struct ActionsOverTime {
    /// Figure title.
    pub title: String,
    /// The name of one period, e.g. "week".
    pub period_unit: String,
    /// The reference policy (drawn grey, dashed).
    pub reference: String,
    /// Contacts per customer in each period (= share contacted), per policy.
    pub contacted: Vec<PolicySeries>,
    /// One policy's offers per period (the bottom panel), if any policy contacts anyone.
    pub detail: Option<OfferBreakdown>,
}

/// Draws the actions-over-the-horizon plot into `<stem>.png` and `<stem>.svg`; returns their
/// paths.
pub fn actions_over_time(stem: &Path, data: &ActionsOverTime) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(!data.contacted.is_empty(), "no policies to plot");
    save(data, stem)
}

/// A chart with a period x axis and a percentage y axis.
type PeriodChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Builds a panel's chart on `area`: periods on x (`x_range`, one unit per `period_unit`),
/// percentages from zero to `y_max` on y, described by `y_desc`.
fn period_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: String,
    x_range: Range<f64>,
    y_max: f64,
    period_unit: &str,
    y_desc: &str,
) -> anyhow::Result<PeriodChart<'a, DB>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, text(CAPTION_SIZE))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x_range, 0.0..y_max)
        .or_plot()?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_desc(format!("{period_unit} of the horizon"))
        .y_desc(y_desc)
        .axis_desc_style(text(AXIS_DESC_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .or_plot()?;
    Ok(chart)
}

/// Cumulative percentages of `d`'s offers over `periods` periods, each offer smoothed over
/// `window` periods: element 0 is zero, element `o + 1` adds offer `o`.
fn stacked_offers(d: &OfferBreakdown, periods: usize, window: usize) -> Vec<Vec<f64>> {
    let mut stacked = vec![vec![0.0; periods]];
    for (_, vals) in &d.offers {
        let vals = smooth(vals, window);
        let below = &stacked[stacked.len() - 1];
        let next: Vec<f64> = (0..periods)
            .map(|t| below[t] + vals.get(t).copied().unwrap_or(0.0) * 100.0)
            .collect();
        stacked.push(next);
    }
    stacked
}

impl ActionsOverTime {
    /// Draws the top panel into `area`: the share contacted per period (`contacted`, already
    /// smoothed; the caption carries the smoothing `note`), one line per policy (the reference
    /// dashed), and the legend strip below.
    fn draw_contacted<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        contacted: &[Vec<f64>],
        x_range: Range<f64>,
        note: &str,
    ) -> anyhow::Result<()> {
        let (_, h) = area.dim_in_pixel();
        let (plot, legend) = area.split_vertically(h - LEGEND_BAND);
        let y_max = padded_range(
            contacted.iter().flat_map(|s| s.iter().map(|v| v * 100.0)),
            0.08,
            true,
        )
        .end
        .min(105.0);
        let mut chart = period_chart(
            &plot,
            format!(
                "Share of customers contacted in each {}{note}",
                self.period_unit
            ),
            x_range,
            y_max,
            &self.period_unit,
            "customers contacted (%)",
        )?;
        let names: Vec<String> = self.contacted.iter().map(|s| s.policy.clone()).collect();
        let mut entries = vec![];
        for (i, s) in self.contacted.iter().enumerate() {
            let color = policy_color(&names, i, &self.reference);
            let pts: Vec<(f64, f64)> = contacted[i]
                .iter()
                .enumerate()
                .map(|(t, v)| (t as f64 + 1.0, v * 100.0))
                .collect();
            if s.policy == self.reference {
                chart
                    .draw_series(DashedLineSeries::new(pts, 8, 5, color.stroke_width(2)))
                    .or_plot()?;
                entries.push((format!("{} (reference)", s.policy), color, Swatch::Dashed));
            } else {
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                    .or_plot()?;
                entries.push((s.policy.clone(), color, Swatch::Line));
            }
        }
        legend_strip(&legend, &entries)
    }

    /// Draws the bottom panel into `area`: `d`'s offers per period over `periods` periods
    /// (smoothed over `window`), stacked as filled areas, and the legend strip below.
    fn draw_offers<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        d: &OfferBreakdown,
        (periods, window): (usize, usize),
        x_range: Range<f64>,
        note: &str,
    ) -> anyhow::Result<()> {
        let (_, h) = area.dim_in_pixel();
        let (plot, legend) = area.split_vertically(h - LEGEND_BAND);
        let stacked = stacked_offers(d, periods, window);
        let y_max = padded_range(stacked.last().into_iter().flatten().copied(), 0.08, true)
            .end
            .min(105.0);
        let mut chart = period_chart(
            &plot,
            format!(
                "Offers sent by {} in each {}{note}",
                d.policy, self.period_unit
            ),
            x_range,
            y_max,
            &self.period_unit,
            "customers sent the offer (%, stacked)",
        )?;
        let mut entries = vec![];
        for (o, (name, _)) in d.offers.iter().enumerate() {
            let color = series_color(o);
            let mut pts: Vec<(f64, f64)> = (0..periods)
                .map(|t| (t as f64 + 1.0, stacked[o + 1][t]))
                .collect();
            pts.extend((0..periods).rev().map(|t| (t as f64 + 1.0, stacked[o][t])));
            chart
                .draw_series(std::iter::once(Polygon::new(pts, color.mix(0.85).filled())))
                .or_plot()?;
            entries.push((name.clone(), color, Swatch::Box));
        }
        legend_strip(&legend, &entries)
    }
}

impl Figure for ActionsOverTime {
    fn size(&self) -> (u32, u32) {
        (1400, if self.detail.is_some() { 1000 } else { 560 })
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_band(root, &self.title)?;
        let periods = self
            .contacted
            .iter()
            .map(|s| s.values.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let x_range = 0.5..periods as f64 + 0.5;
        let window = smoothing_window(periods);
        let note = smoothing_note(window, &self.period_unit);
        let contacted: Vec<Vec<f64>> = self
            .contacted
            .iter()
            .map(|s| smooth(&s.values, window))
            .collect();
        let (top, bottom) = match &self.detail {
            Some(_) => {
                let (_, h) = body.dim_in_pixel();
                let (t, b) = body.split_vertically(h / 2);
                (t, Some(b))
            }
            None => (body, None),
        };
        self.draw_contacted(&top, &contacted, x_range.clone(), &note)?;
        if let (Some(d), Some(area)) = (&self.detail, bottom) {
            self.draw_offers(&area, d, (periods, window), x_range, &note)?;
        }
        Ok(())
    }
}
