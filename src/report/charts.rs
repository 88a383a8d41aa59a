//! Charts as PNG (so that mail clients that block SVG still show them): the 12-month score trend
//! and the grade distribution. Text in the images is ASCII (ids, months, numbers) drawn with the
//! embedded DejaVu Sans; the Chinese captions live in the HTML around them.

use plotters::prelude::*;
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../../reports/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font always parses; a failure would only drop the labels.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A chart could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
#[error("chart: {0}")]
pub(crate) struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// One line per partner: (label, score per month slot; `None` where the month has no score).
pub(crate) struct Trend {
    pub(crate) months: Vec<String>,
    pub(crate) series: Vec<(String, Vec<Option<f64>>)>,
    pub(crate) b_min: f64,
    pub(crate) a_min: f64,
}

pub(crate) fn trend_png(trend: &Trend) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (w, h) = (900u32, 420u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = trend.months.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .right_y_label_area_size(0)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(err)?;
        let months = trend.months.clone();
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| months.get(x.round().max(0.0) as usize).cloned().unwrap_or_default())
            .y_labels(11)
            .label_style(("sans-serif", 13))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (threshold, color) in [(trend.a_min, GREEN.mix(0.5)), (trend.b_min, RED.mix(0.5))] {
            chart
                .draw_series(LineSeries::new([(-0.5, threshold), (n as f64 - 0.5, threshold)], color.stroke_width(1)))
                .map_err(err)?;
        }
        for (k, (label, points)) in trend.series.iter().enumerate() {
            let color = Palette99::pick(k).to_rgba();
            let pts: Vec<(f64, f64)> =
                points.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v))).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled()))).map_err(err)?;
        }
        if !trend.series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    encode_png(&buf, w, h)
}

/// Bars for A, B, C and on hold.
pub(crate) fn grades_png(counts: [(&str, usize); 4]) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (w, h) = (480u32, 300u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let max = counts.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(36)
            .build_cartesian_2d((0u32..3u32).into_segmented(), 0u32..(max + 1))
            .map_err(err)?;
        let labels: Vec<String> = counts.iter().map(|(l, c)| format!("{l}: {c}")).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(4)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    labels.get(*i as usize).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .y_labels((max + 1).min(10) as usize)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let colors = [RGBColor(46, 139, 87), RGBColor(70, 130, 180), RGBColor(205, 92, 92), RGBColor(160, 160, 160)];
        chart
            .draw_series(counts.iter().enumerate().map(|(i, (_, c))| {
                let i = i as u32;
                let bar = [(SegmentValue::Exact(i), 0), (SegmentValue::Exact(i + 1), *c as u32)];
                Rectangle::new(bar, colors[i as usize].filled())
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    encode_png(&buf, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_png_images() {
        let trend = Trend {
            months: vec!["2026-09".into(), "2026-10".into()],
            series: vec![("P01".into(), vec![Some(88.0), Some(91.5)]), ("P02".into(), vec![None, Some(70.0)])],
            b_min: 75.0,
            a_min: 90.0,
        };
        let png = trend_png(&trend).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let bars = grades_png([("A", 3), ("B", 5), ("C", 2), ("hold", 1)]).unwrap();
        assert_eq!(&bars[1..4], b"PNG");
    }
}
