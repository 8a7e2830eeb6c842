//! The delivery chart: one app's deployments per day, stacked by result, with the
//! day's median lead time as a line, drawn in memory and encoded as PNG. The font ships
//! inside the binary (DejaVu Sans, `assets/fonts/`), so no system font is needed.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::job::stats::AppStats;

/// The chart's size in pixels, its text at least 22 pixels high: Discord previews an
/// image at about 550 pixels wide, where that text still reads at 12.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 500;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

const SUCCEEDED: RGBColor = RGBColor(46, 160, 67);
const ROLLED_BACK: RGBColor = RGBColor(219, 143, 18);
const FAILED: RGBColor = RGBColor(207, 34, 46);
const LEAD: RGBColor = RGBColor(31, 96, 196);

/// Why the chart could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("the chart could not be drawn ({0})")]
    Draw(String),
    #[error("the chart could not be encoded ({0})")]
    Encode(String),
}

fn font_registered() -> Result<(), ChartError> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| ChartError::Draw("the embedded font is not a font".into()));
    });
    result
}

fn draw_err(e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// `12-01` for a day's start.
fn day_label(ms: i64) -> String {
    let t = crate::clock::rfc3339(crate::clock::from_ms(ms));
    t.get(5..10).unwrap_or("?").to_string()
}

/// The chart of `s` as a PNG.
pub fn png(s: &AppStats) -> Result<Vec<u8>, ChartError> {
    font_registered()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(s, &mut rgb)?;
    encode(&rgb)
}

/// A layer of the stacked bars: its legend, its colour, its count of a day.
type Layer = (&'static str, RGBColor, fn(&crate::job::stats::Day) -> usize);

fn draw(s: &AppStats, rgb: &mut [u8]) -> Result<(), ChartError> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let days = s.days.len().max(1);
    let most = s
        .days
        .iter()
        .map(|d| d.succeeded + d.failed + d.rolled_back)
        .max()
        .unwrap_or(0)
        .max(1);
    // Room above the bars for the legend.
    let top = (most as f64 * 1.45).ceil();
    let hours = |ms: i64| ms as f64 / 3_600_000.0;
    let longest = s
        .days
        .iter()
        .filter_map(|d| d.lead_median_ms)
        .map(hours)
        .fold(1.0f64, f64::max);
    let title = format!(
        "{}: deployments per day, last {} days",
        s.app,
        s.period.days()
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 34))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .right_y_label_area_size(76)
        .build_cartesian_2d(
            -0.5f64..days as f64 - 0.5,
            0f64..(most as f64 * 1.45).ceil(),
        )
        .map_err(draw_err)?
        .set_secondary_coord(-0.5f64..days as f64 - 0.5, 0f64..longest * 1.45);
    let labels = s.days.iter().map(|d| d.start_ms).collect::<Vec<_>>();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(days.min(10))
        .x_label_formatter(&|x| {
            let i = x.round();
            (i >= 0.0 && (x - i).abs() < 0.01)
                .then(|| labels.get(i as usize))
                .flatten()
                .map(|ms| day_label(*ms))
                .unwrap_or_default()
        })
        .y_labels((top as usize).min(10) + 1)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc("deployments")
        .label_style((FAMILY, 24))
        .axis_desc_style((FAMILY, 24))
        .draw()
        .map_err(draw_err)?;
    chart
        .configure_secondary_axes()
        .y_desc("lead time (hours)")
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style((FAMILY, 24))
        .axis_desc_style((FAMILY, 24))
        .draw()
        .map_err(draw_err)?;
    let stack: [Layer; 3] = [
        ("succeeded", SUCCEEDED, |d| d.succeeded),
        ("rolled back", ROLLED_BACK, |d| d.rolled_back),
        ("failed", FAILED, |d| d.failed),
    ];
    for (layer, (name, color, count)) in stack.iter().enumerate() {
        let bars = s.days.iter().enumerate().filter_map(|(i, d)| {
            let below: usize = stack[..layer].iter().map(|(_, _, c)| c(d)).sum();
            let n = count(d);
            (n > 0).then(|| {
                let x = i as f64;
                Rectangle::new(
                    [(x - 0.38, below as f64), (x + 0.38, (below + n) as f64)],
                    color.filled(),
                )
            })
        });
        let color = *color;
        chart
            .draw_series(bars)
            .map_err(draw_err)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 14, y + 7)], color.filled()));
    }
    let points: Vec<(f64, f64)> = s
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.lead_median_ms.map(|ms| (i as f64, hours(ms))))
        .collect();
    chart
        .draw_secondary_series(LineSeries::new(points.clone(), LEAD.stroke_width(3)))
        .map_err(draw_err)?
        .label("lead time, median")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], LEAD.stroke_width(3)));
    chart
        .draw_secondary_series(points.into_iter().map(|p| Circle::new(p, 5, LEAD.filled())))
        .map_err(draw_err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 22))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

/// The most charts one message carries (Discord takes ten files a message).
pub const MAX_CHARTS: usize = 10;

/// One chart per app (the first [`MAX_CHARTS`]) as files for a message; an app whose
/// chart cannot be drawn goes without (its figures are in the text).
pub fn attachments(all: &[AppStats]) -> Vec<crate::chat::Attachment> {
    all.iter()
        .take(MAX_CHARTS)
        .filter_map(|s| match png(s) {
            Ok(bytes) => Some(crate::chat::Attachment {
                name: format!("stats-{}.png", s.app),
                bytes,
            }),
            Err(e) => {
                tracing::warn!(app = %s.app, error = %e, "no chart");
                None
            }
        })
        .collect()
}

fn encode(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::stats::{AppStats, Day, Figures, Period};

    fn figures() -> Figures {
        Figures {
            deployments: 0,
            succeeded: 0,
            rollbacks: 0,
            per_week: 0.0,
            lead: None,
            unknown_builds: 0,
            failures: 0,
            changes: 0,
            restore: None,
            unrestored: 0,
        }
    }

    /// A week with a deploy most days, a failure and a rollback.
    pub(crate) fn sample() -> AppStats {
        const D: i64 = 86_400_000;
        let start = 1_764_547_200_000; // 2025-12-01
        let days = (0..7)
            .map(|i| Day {
                start_ms: start + i * D,
                succeeded: [2, 1, 0, 3, 1, 2, 1][i as usize],
                failed: [0, 1, 0, 0, 0, 1, 0][i as usize],
                rolled_back: [0, 0, 0, 1, 0, 0, 0][i as usize],
                lead_median_ms: [Some(2), Some(5), None, Some(3), Some(8), Some(4), Some(2)]
                    [i as usize]
                    .map(|h| h * 3_600_000),
            })
            .collect();
        AppStats {
            app: crate::names::AppName::parse("web").unwrap(),
            period: Period {
                start_ms: start,
                end_ms: start + 7 * D,
            },
            current: figures(),
            previous: figures(),
            days,
        }
    }

    #[test]
    fn the_png_decodes_at_its_size_and_is_not_blank() {
        let bytes = png(&sample()).unwrap();
        let decoder = ::png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let colored = pixels
            .chunks(3)
            .filter(|p| p[0] != p[1] || p[1] != p[2])
            .count();
        assert!(colored > 5_000, "only {colored} coloured pixels");
        if let Ok(path) = std::env::var("RELEASEBOT_CHART_OUT") {
            std::fs::write(path, &bytes).unwrap();
        }
    }
}
