//! The paired validation lift of a learner over its incumbent against training steps: at each
//! validation, the best learned candidate's mean CLV difference to the incumbent on the same
//! validation customers, with its 95% interval, one line per run; zero is the incumbent.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    AXIS_DESC_SIZE, CAPTION_SIZE, Figure, GRID, LABEL_SIZE, LEGEND_BAND, OrPlot, REFERENCE_COLOR,
    Swatch, legend_strip, padded_range, save, series_color, text, title_band,
};

/// Radius of a validation's mean marker, in pixels.
const POINT_RADIUS: i32 = 5;

/// One validation of one run: (environment steps, mean lift, lower, upper), dollars.
pub type LiftPoint = (f64, f64, f64, f64);

/// The data of the lift plot.
#[derive(Debug, Clone)]
pub struct LiftCurves {
    /// Figure title.
    pub title: String,
    /// What the lift is measured against, e.g. "`rfm-winback:4:recommend`".
    pub incumbent: String,
    /// One (label, points) per run.
    pub runs: Vec<(String, Vec<LiftPoint>)>,
}

/// Draws the lift plot into `<stem>.png` and `<stem>.svg`; returns their paths.
pub fn lift_curves(stem: &Path, data: &LiftCurves) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(
        data.runs.iter().any(|r| !r.1.is_empty()),
        "no paired validation lift to plot"
    );
    save(data, stem)
}

impl Figure for LiftCurves {
    fn size(&self) -> (u32, u32) {
        (1400, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = title_band(root, &self.title)?;
        let (_, h) = body.dim_in_pixel();
        let (plot, legend) = body.split_vertically(h - LEGEND_BAND);
        let pts = self.runs.iter().flat_map(|r| r.1.iter());
        let x_max = pts.clone().map(|p| p.0).fold(1.0, f64::max);
        let ys = pts.flat_map(|p| [p.2, p.3]).chain([0.0]);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                "Validation CLV lift over the incumbent (best learned candidate; 95% intervals)",
                text(CAPTION_SIZE),
            )
            .margin(12)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_max * 1.05, padded_range(ys, 0.08, false))
            .or_plot()?;
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .x_desc("environment steps (transitions collected)")
            .y_desc("$ per validation customer vs incumbent")
            .axis_desc_style(text(AXIS_DESC_SIZE))
            .label_style(text(LABEL_SIZE))
            .x_label_formatter(&|x| format!("{:.0}k", x / 1e3))
            .draw()
            .or_plot()?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (x_max * 1.05, 0.0)],
                8,
                5,
                REFERENCE_COLOR.stroke_width(2),
            ))
            .or_plot()?;
        let mut entries = vec![(
            format!("incumbent {}", self.incumbent),
            REFERENCE_COLOR,
            Swatch::Dashed,
        )];
        for (k, (label, points)) in self.runs.iter().enumerate() {
            let color = series_color(k);
            chart
                .draw_series(
                    points.iter().map(|p| {
                        PathElement::new(vec![(p.0, p.2), (p.0, p.3)], color.stroke_width(2))
                    }),
                )
                .or_plot()?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new((p.0, p.1), POINT_RADIUS, color.filled())),
                )
                .or_plot()?;
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(3),
                ))
                .or_plot()?;
            entries.push((label.clone(), color, Swatch::Line));
        }
        legend_strip(&legend, &entries)?;
        Ok(())
    }
}
