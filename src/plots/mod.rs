//! Plots for stakeholders, drawn with plotters as PNG and SVG: policy comparison with
//! intervals, actions by value segment, actions and outcomes over the horizon, and training
//! curves. Each plot function takes plain data and writes `<stem>.png` and `<stem>.svg`
//! atomically (rendered under a temporary name in the same folder, then renamed).
//!
//! Shared styling lives here: one font (DejaVu Sans, shipped in `assets/fonts/` and registered
//! with plotters' `ab_glyph` renderer by [`register_fonts`], so that text does not depend on
//! the machine's fonts once plotters' system-font `ttf` feature is off), a colour-blind-safe
//! palette (Okabe and Ito), one text size per role, and a legend strip.

mod actions;
mod comparison;
mod critic;
mod lift;
mod outcomes;
mod segments;
mod sweep;
mod training;

use std::fmt::Display;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

pub use actions::{ActionsOverTime, OfferBreakdown, actions_over_time};
pub use comparison::{PolicyComparison, PolicyInterval, policy_comparison};
pub use critic::{CriticDeciles, DecileLabels, DecileSeries, critic_deciles};
pub use lift::{LiftCurves, LiftPoint, lift_curves};
pub use outcomes::{OutcomesOverTime, outcomes_over_time};
pub use segments::{SegmentActions, segment_actions};
pub use sweep::{
    CurvePanel, HeatMap, SweepCurves, Tornado, TornadoBar, TornadoPanel, heat_map, sweep_curves,
    tornado,
};
pub use training::{TrainingCurves, TrainingPoint, TrainingRun, training_curves};

/// The font family every plot uses; [`register_fonts`] maps it to the shipped DejaVu Sans.
pub(crate) const FONT: &str = "sans-serif";
/// DejaVu Sans 2.37 (licence: assets/fonts/LICENSE-DejaVu.txt).
const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Text size of a figure's title, pixels.
pub(crate) const TITLE_SIZE: u32 = 26;
/// Text size of a panel's caption, pixels.
pub(crate) const CAPTION_SIZE: u32 = 20;
/// Text size of axis descriptions, pixels.
pub(crate) const AXIS_DESC_SIZE: u32 = 17;
/// Text size of tick labels, legends and annotations, pixels.
pub(crate) const LABEL_SIZE: u32 = 15;
/// Height of the title band at the top of a figure, pixels.
pub(crate) const TITLE_BAND: u32 = 50;
/// Height of a legend strip, pixels (room for up to four rows of small text).
pub(crate) const LEGEND_BAND: u32 = 66;
/// Legend layouts tried in order, (rows, text size in pixels): the first whose rows all fit
/// the figure's width is drawn; failing all, the last, with names shortened to fit.
const LEGEND_LAYOUTS: [(usize, u32); 4] = [(1, LABEL_SIZE), (2, LABEL_SIZE), (3, 13), (4, 11)];

/// The Okabe-Ito colour-blind-safe palette, ordered for lines on white (yellow last).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(240, 228, 66),  // yellow
];
/// Grid lines at the axis labels (the finer grid between them is not drawn).
pub(crate) const GRID: RGBColor = RGBColor(222, 222, 222);
/// The colour of the reference policy (dark grey).
pub(crate) const REFERENCE_COLOR: RGBColor = RGBColor(80, 80, 80);
/// Better than the reference: the 95% interval of the difference is above zero.
pub(crate) const BETTER_COLOR: RGBColor = PALETTE[2];
/// Worse than the reference: the 95% interval of the difference is below zero.
pub(crate) const WORSE_COLOR: RGBColor = PALETTE[1];
/// Not distinguishable from the reference: the interval includes zero.
pub(crate) const UNCLEAR_COLOR: RGBColor = PALETTE[0];

/// The colour of series `i` (cycling through the palette).
pub(crate) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The colour of policy `i` of a list in which `reference` is drawn grey; the other policies
/// take the palette in order.
pub(crate) fn policy_color(policies: &[String], i: usize, reference: &str) -> RGBColor {
    if policies[i] == reference {
        return REFERENCE_COLOR;
    }
    let before = policies[..i].iter().filter(|p| *p != reference).count();
    series_color(before)
}

/// A text style of the plot font.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Registers the shipped DejaVu Sans as the plot font with plotters' `ab_glyph` renderer.
/// Idempotent; called by every plot function, and to be called by any other code that draws
/// with plotters before it draws text.
pub fn register_fonts() -> anyhow::Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    anyhow::ensure!(
        ok,
        "the shipped font assets/fonts/DejaVuSans.ttf is not a valid font"
    );
    Ok(())
}

/// A figure that can draw itself on any plotters backend.
pub(crate) trait Figure {
    /// Size in pixels (width, height).
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

/// Turns a plotters error (any `Display`) into an anyhow error.
pub(crate) trait OrPlot<T> {
    /// The value, or the plotting error as an anyhow error.
    fn or_plot(self) -> anyhow::Result<T>;
}

impl<T, E: Display> OrPlot<T> for Result<T, E> {
    fn or_plot(self) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::anyhow!("plotting: {e}"))
    }
}

/// Renders `fig` to `<stem>.png` and `<stem>.svg`, each under a temporary name beside it and
/// then renamed into place. Returns the two paths.
pub(crate) fn save<F: Figure>(fig: &F, stem: &Path) -> anyhow::Result<Vec<PathBuf>> {
    register_fonts()?;
    let dir = stem
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = stem
        .file_name()
        .with_context(|| format!("{} is not a file path", stem.display()))?
        .to_string_lossy()
        .into_owned();
    let mut written = vec![];
    for ext in ["png", "svg"] {
        let dest = dir.join(format!("{name}.{ext}"));
        // Keep the extension last: plotters picks the image format from it.
        let tmp = dir.join(format!(".{name}.tmp{}.{ext}", std::process::id()));
        let result = render(fig, &tmp, ext).and_then(|()| {
            std::fs::rename(&tmp, &dest).with_context(|| format!("renaming {}", tmp.display()))
        });
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.context(format!("drawing {}", dest.display())));
        }
        written.push(dest);
    }
    Ok(written)
}

/// Draws `fig` into `path` with the backend of `ext` ("png" or "svg").
fn render<F: Figure>(fig: &F, path: &Path, ext: &str) -> anyhow::Result<()> {
    if ext == "png" {
        let root = BitMapBackend::new(path, fig.size()).into_drawing_area();
        root.fill(&WHITE).or_plot()?;
        fig.draw(&root)?;
        root.present().or_plot()
    } else {
        let root = SVGBackend::new(path, fig.size()).into_drawing_area();
        root.fill(&WHITE).or_plot()?;
        fig.draw(&root)?;
        root.present().or_plot()
    }
}

/// Draws `title` in a band at the top of `root`; returns the area below it.
pub(crate) fn title_band<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    let (top, rest) = root.split_vertically(TITLE_BAND);
    let (w, h) = top.dim_in_pixel();
    top.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, h as i32 / 2),
        text(TITLE_SIZE).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        )),
    ))
    .or_plot()?;
    Ok(rest)
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    /// A filled box.
    Box,
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
}

/// Draws a centred horizontal legend (swatch and name per entry) in `area`.
pub(crate) fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, Swatch)],
) -> anyhow::Result<()> {
    let swatch_w = 28;
    let gap = 22;
    let (w, h) = area.dim_in_pixel();
    let room = w as i32 - 8;
    let width_of = |name: &str, size: u32| -> i32 {
        let (tw, _) = area.estimate_text_size(name, &text(size)).unwrap_or((0, 0));
        swatch_w + 6 + tw as i32
    };
    let row_width = |row: &[(String, RGBColor, Swatch)], size: u32| -> i32 {
        row.iter().map(|e| width_of(&e.0, size)).sum::<i32>() + gap * (row.len() as i32 - 1).max(0)
    };
    let fits = |rows: usize, size: u32| {
        let per = entries.len().div_ceil(rows).max(1);
        entries.chunks(per).all(|row| row_width(row, size) <= room)
    };
    let (rows, size) = LEGEND_LAYOUTS
        .iter()
        .copied()
        .find(|(r, s)| fits(*r, *s))
        .unwrap_or(LEGEND_LAYOUTS[LEGEND_LAYOUTS.len() - 1]);
    let per = entries.len().div_ceil(rows).max(1);
    // Names shortened (with an ellipsis) when even the last layout is too wide.
    let column = (room - gap * (per as i32 - 1)) / per as i32 - swatch_w - 6;
    let shorten = |name: &str| -> String {
        if width_of(name, size) - swatch_w - 6 <= column {
            return name.to_string();
        }
        let chars: Vec<char> = name.chars().collect();
        let mut keep = chars.len();
        while keep > 1 {
            keep -= 1;
            let candidate: String = chars[..keep].iter().collect::<String>() + "…";
            if width_of(&candidate, size) - swatch_w - 6 <= column {
                return candidate;
            }
        }
        "…".into()
    };
    let style = text(size);
    let line_h = (h as i32 / rows as i32).max(size as i32 + 2);
    let top = (h as i32 - line_h * rows as i32) / 2;
    for (r, row) in entries.chunks(per).enumerate() {
        let names: Vec<String> = row.iter().map(|e| shorten(&e.0)).collect();
        let total: i32 = names.iter().map(|n| width_of(n, size)).sum::<i32>()
            + gap * (row.len() as i32 - 1).max(0);
        let mut x = ((w as i32 - total) / 2).max(4);
        let y = top + line_h * r as i32 + line_h / 2;
        for ((_, color, swatch), name) in row.iter().zip(&names) {
            match swatch {
                Swatch::Box => area
                    .draw(&Rectangle::new(
                        [(x + 4, y - 7), (x + swatch_w - 4, y + 7)],
                        color.filled(),
                    ))
                    .or_plot()?,
                Swatch::Line => area
                    .draw(&PathElement::new(
                        vec![(x, y), (x + swatch_w, y)],
                        color.stroke_width(3),
                    ))
                    .or_plot()?,
                Swatch::Dashed => {
                    for k in 0..3 {
                        let x0 = x + k * 10;
                        area.draw(&PathElement::new(
                            vec![(x0, y), (x0 + 6, y)],
                            color.stroke_width(3),
                        ))
                        .or_plot()?;
                    }
                }
            }
            area.draw(&Text::new(
                name.clone(),
                (x + swatch_w + 6, y),
                style.pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                )),
            ))
            .or_plot()?;
            x += width_of(name, size) + gap;
        }
    }
    Ok(())
}

/// A range covering `values` with `pad` of the span added at each end (and zero, when
/// `with_zero`); a degenerate span is widened to one unit.
pub(crate) fn padded_range(
    values: impl IntoIterator<Item = f64>,
    pad: f64,
    with_zero: bool,
) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if with_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        return (lo - 0.5)..(hi + 0.5);
    }
    let lo_pad = if with_zero && lo == 0.0 {
        0.0
    } else {
        pad * span
    };
    let hi_pad = if with_zero && hi == 0.0 {
        0.0
    } else {
        pad * span
    };
    (lo - lo_pad)..(hi + hi_pad)
}

/// Width in pixels that the longest of `labels` needs at the tick-label size, plus a margin.
pub(crate) fn label_width(labels: &[String]) -> u32 {
    // DejaVu Sans averages well under 0.62 em per character.
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
    (chars as f64 * LABEL_SIZE as f64 * 0.62) as u32 + 20
}

/// Horizons up to this many periods are drawn period by period; longer ones are smoothed.
const SMOOTH_ABOVE_PERIODS: usize = 52;
/// The smoothing window grows by this many periods per 520 periods of horizon (a multiple of
/// common cadences: 2, 3, 4, 6 periods).
const SMOOTH_STEP: usize = 12;

/// The rolling-mean window for a horizon of `periods`: 1 (none) up to 52 periods, else 12 per
/// started 520 periods (12 for 53..=520), so that cadences and noise do not hide the trend.
pub(crate) fn smoothing_window(periods: usize) -> usize {
    if periods <= SMOOTH_ABOVE_PERIODS {
        1
    } else {
        SMOOTH_STEP * periods.div_ceil(520)
    }
}

/// The centred rolling mean of `values` over `window` periods (truncated at the ends; NaNs
/// skipped).
pub(crate) fn smooth(values: &[f64], window: usize) -> Vec<f64> {
    if window <= 1 {
        return values.to_vec();
    }
    let half_lo = (window - 1) / 2;
    let half_hi = window / 2;
    (0..values.len())
        .map(|t| {
            let lo = t.saturating_sub(half_lo);
            let hi = (t + half_hi + 1).min(values.len());
            let xs: Vec<f64> = values[lo..hi]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            if xs.is_empty() {
                f64::NAN
            } else {
                xs.iter().sum::<f64>() / xs.len() as f64
            }
        })
        .collect()
}

/// " (rolling mean over k weeks)" when `window` > 1, else "".
pub(crate) fn smoothing_note(window: usize, unit: &str) -> String {
    if window > 1 {
        format!(" ({window}-{unit} rolling mean)")
    } else {
        String::new()
    }
}

/// A line per policy over periods.
#[derive(Debug, Clone)]
pub struct PolicySeries {
    /// Policy spec.
    pub policy: String,
    /// One value per period, period 1 first.
    pub values: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_range_includes_zero_and_pads() {
        let r = padded_range([1.0, 3.0], 0.1, true);
        assert_eq!(r.start, 0.0);
        assert!((r.end - 3.3).abs() < 1e-12);
        let r = padded_range([2.0, 2.0], 0.1, false);
        assert_eq!(r, 1.5..2.5);
        assert_eq!(padded_range([], 0.1, false), 0.0..1.0);
    }

    #[test]
    fn smoothing_is_a_centred_rolling_mean_only_on_long_horizons() {
        assert_eq!(smoothing_window(26), 1);
        assert_eq!(smoothing_window(104), 12);
        assert_eq!(smoothing_window(260), 12);
        assert_eq!(smoothing_window(1040), 24);
        assert_eq!(smooth(&[1.0, 2.0], 1), vec![1.0, 2.0]);
        // Window 4: one before, two after.
        let s = smooth(&[0.0, 4.0, 0.0, 0.0, 4.0, 0.0], 4);
        assert_eq!(s[1], 1.0);
        assert_eq!(s[0], 4.0 / 3.0);
        assert_eq!(s[5], 2.0);
    }

    #[test]
    fn reference_is_grey_and_others_take_the_palette_in_order() {
        let p: Vec<String> = ["a", "none", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(policy_color(&p, 1, "none"), REFERENCE_COLOR);
        assert_eq!(policy_color(&p, 0, "none"), series_color(0));
        assert_eq!(policy_color(&p, 2, "none"), series_color(1));
    }
}
