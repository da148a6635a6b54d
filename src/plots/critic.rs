//! Predicted against realised CLV by predicted decile, for the trained critic and the
//! classical BG/NBD x Gamma-Gamma predictor (`clv critic`).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    AXIS_DESC_SIZE, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot, Swatch,
    legend_strip, padded_range, save, series_color, text, title_band,
};

/// One predictor's decile means.
#[derive(Debug, Clone)]
pub struct DecileSeries {
    /// Predictor name.
    pub name: String,
    /// Mean realised CLV per predicted decile (1 = highest predictions), dollars.
    pub realised: Vec<f64>,
    /// Mean calibrated prediction per decile, dollars.
    pub predicted: Vec<f64>,
}

/// The data of the decile plot.
#[derive(Debug, Clone)]
pub struct CriticDeciles {
    /// Figure title.
    pub title: String,
    /// Predictors.
    pub series: Vec<DecileSeries>,
    /// Caption and axis descriptions; `None`: those of the CLV decile plot.
    pub labels: Option<DecileLabels>,
}

/// Caption and axis descriptions of a decile-style plot.
#[derive(Debug, Clone)]
pub struct DecileLabels {
    /// Caption above the chart.
    pub caption: String,
    /// X axis description.
    pub x_desc: String,
    /// Y axis description.
    pub y_desc: String,
}

impl Default for DecileLabels {
    fn default() -> Self {
        Self {
            caption: "Mean realised CLV by predicted decile (dashed: mean calibrated prediction)"
                .into(),
            x_desc: "predicted decile (1 = highest predicted value)".into(),
            y_desc: "CLV per customer ($)".into(),
        }
    }
}

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn critic_deciles(stem: &Path, data: &CriticDeciles) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(!data.series.is_empty(), "no predictor to plot");
    save(data, stem)
}

impl Figure for CriticDeciles {
    fn size(&self) -> (u32, u32) {
        (1100, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let labels = self.labels.clone().unwrap_or_default();
        let body = title_band(root, &self.title)?;
        let (_, h) = body.dim_in_pixel();
        let (plot, legend) = body.split_vertically(h - LEGEND_BAND);
        let n = self
            .series
            .iter()
            .map(|s| s.realised.len())
            .max()
            .unwrap_or(10);
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.realised.iter().chain(&s.predicted).copied());
        let mut chart = ChartBuilder::on(&plot)
            .caption(&labels.caption, text(CAPTION_SIZE))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(0.5..n as f64 + 0.5, padded_range(ys, 0.08, true))
            .or_plot()?;
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .x_labels(n)
            .x_desc(&labels.x_desc)
            .y_desc(&labels.y_desc)
            .axis_desc_style(text(AXIS_DESC_SIZE))
            .label_style(text(LABEL_SIZE))
            .x_label_formatter(&|x| format!("{:.0}", x))
            .draw()
            .or_plot()?;
        let mut entries = vec![];
        for (k, s) in self.series.iter().enumerate() {
            let color = series_color(k);
            let pts: Vec<(f64, f64)> = s
                .realised
                .iter()
                .enumerate()
                .map(|(i, v)| ((i + 1) as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))
                .or_plot()?;
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 5, color.filled())))
                .or_plot()?;
            let pred: Vec<(f64, f64)> = s
                .predicted
                .iter()
                .enumerate()
                .map(|(i, v)| ((i + 1) as f64, *v))
                .collect();
            chart
                .draw_series(DashedLineSeries::new(pred, 8, 6, color.stroke_width(2)))
                .or_plot()?;
            entries.push((format!("{} realised", s.name), color, Swatch::Line));
            entries.push((format!("{} predicted", s.name), color, Swatch::Dashed));
        }
        legend_strip(&legend, &entries)
    }
}
