//! Actions by value segment: for each segment (one panel each), every policy's contacts per
//! customer over the horizon as a horizontal bar stacked by offer.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::{
    AXIS_DESC_SIZE, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot, Swatch,
    label_width, legend_strip, padded_range, save, series_color, text, title_band,
};

/// Blank space above and below each bar, pixels.
const BAR_GAP: u32 = 7;

/// The data of the actions-by-segment plot.
#[derive(Debug, Clone)]
pub struct SegmentActions {
    /// Figure title.
    pub title: String,
    /// The scored horizon in words, e.g. "26 weeks".
    pub horizon: String,
    /// Segment names, e.g. high, mid, low.
    pub segments: Vec<String>,
    /// Customers in each segment.
    pub segment_customers: Vec<u64>,
    /// Offer names (the stack order).
    pub offers: Vec<String>,
    /// Policy specs (one bar each, in this order from the top).
    pub policies: Vec<String>,
    /// Contacts per customer over the horizon, `[policy][segment][offer]`.
    pub contacts: Vec<Vec<Vec<f64>>>,
}

/// Draws the actions-by-segment plot into `<stem>.png` and `<stem>.svg`; returns their paths.
pub fn segment_actions(stem: &Path, data: &SegmentActions) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(
        !data.policies.is_empty() && !data.segments.is_empty(),
        "no policies or segments to plot"
    );
    anyhow::ensure!(
        data.contacts.len() == data.policies.len()
            && data.contacts.iter().all(|p| p.len() == data.segments.len()
                && p.iter().all(|s| s.len() == data.offers.len())),
        "contacts must be [policy][segment][offer]"
    );
    save(data, stem)
}

impl Figure for SegmentActions {
    fn size(&self) -> (u32, u32) {
        (1500, (250 + 48 * self.policies.len() as u32).max(420))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_band(root, &self.title)?;
        let (w, h) = body.dim_in_pixel();
        let (body, legend) = body.split_vertically(h - LEGEND_BAND);
        let label_w = label_width(&self.policies);
        let panel_w = (w - label_w) / self.segments.len() as u32;
        let mut breaks: Vec<u32> = (1..self.segments.len() as u32)
            .map(|k| label_w + k * panel_w)
            .collect();
        breaks.sort_unstable();
        let panels = body.split_by_breakpoints(breaks, Vec::<u32>::new());
        let totals = self
            .contacts
            .iter()
            .flat_map(|p| p.iter().map(|s| s.iter().sum::<f64>()));
        let x_range = padded_range(totals, 0.08, true);
        let n = self.policies.len() as i32;
        for s in 0..self.segments.len() {
            let area = &panels[s];
            let labelled = s == 0;
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!(
                        "{} segment ({} customers)",
                        self.segments[s],
                        self.segment_customers.get(s).copied().unwrap_or(0)
                    ),
                    text(CAPTION_SIZE),
                )
                .margin(10)
                .margin_right(24)
                .x_label_area_size(50)
                .y_label_area_size(if labelled { label_w } else { 8 })
                .build_cartesian_2d(x_range.clone(), (0..n - 1).into_segmented())
                .or_plot()?;
            chart
                .configure_mesh()
                .bold_line_style(GRID)
                .light_line_style(TRANSPARENT)
                .disable_y_mesh()
                .x_desc(format!("contacts per customer over {}", self.horizon))
                .axis_desc_style(text(AXIS_DESC_SIZE))
                .label_style(text(LABEL_SIZE))
                .y_labels(n as usize + 1)
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) if labelled => self
                        .policies
                        .get((n - 1 - *i) as usize)
                        .cloned()
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .draw()
                .or_plot()?;
            for (p, per_seg) in self.contacts.iter().enumerate() {
                // The first policy on top.
                let row = n - 1 - p as i32;
                let mut x0 = 0.0;
                for (o, v) in per_seg[s].iter().enumerate() {
                    if *v <= 0.0 {
                        continue;
                    }
                    let mut bar = Rectangle::new(
                        [
                            (x0, SegmentValue::Exact(row)),
                            (x0 + v, SegmentValue::Exact(row + 1)),
                        ],
                        series_color(o).filled(),
                    );
                    bar.set_margin(BAR_GAP, BAR_GAP, 0, 0);
                    chart.draw_series(std::iter::once(bar)).or_plot()?;
                    x0 += v;
                }
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((x0, SegmentValue::CenterOf(row)))
                            + Text::new(
                                format!("{x0:.1}"),
                                (5, 0),
                                text(LABEL_SIZE).pos(plotters::style::text_anchor::Pos::new(
                                    plotters::style::text_anchor::HPos::Left,
                                    plotters::style::text_anchor::VPos::Center,
                                )),
                            ),
                    ))
                    .or_plot()?;
            }
        }
        let entries: Vec<(String, RGBColor, Swatch)> = self
            .offers
            .iter()
            .enumerate()
            .map(|(o, name)| (name.clone(), series_color(o), Swatch::Box))
            .collect();
        legend_strip(&legend, &entries)?;
        Ok(())
    }
}
