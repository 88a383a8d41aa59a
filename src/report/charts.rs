//! Charts as PNG (so that mail clients that block SVG still show them), built to read at any
//! number of partners: the score distribution per month (box plots), the grade mix per month
//! (stacked bars), the month's highest and lowest scores, and a line per partner only where a page
//! has few partners. Text in the images is ASCII (ids, months, numbers) drawn with the embedded
//! DejaVu Sans; the captions and legends, in the locale's words, live in the HTML around them.

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

/// The spread of a month's scores: lowest, lower quartile, median, upper quartile, highest.
pub(crate) type FiveNumbers = [f64; 5];

/// Five numbers of a sample (quartiles by linear interpolation between closest ranks).
pub(crate) fn five_numbers(values: &mut [f64]) -> Option<FiveNumbers> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (values.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
    };
    Some([values[0], at(0.25), at(0.5), at(0.75), values[values.len() - 1]])
}

/// Scores per month as box plots: how the whole field moves, readable at any number of partners.
pub(crate) struct Distribution {
    pub(crate) months: Vec<String>,
    pub(crate) boxes: Vec<Option<FiveNumbers>>,
    pub(crate) b_min: f64,
    pub(crate) a_min: f64,
}

const A_COLOR: RGBColor = RGBColor(46, 139, 87);
const B_COLOR: RGBColor = RGBColor(70, 130, 180);
const C_COLOR: RGBColor = RGBColor(205, 92, 92);
const HOLD_COLOR: RGBColor = RGBColor(170, 170, 170);

fn month_axis<'a, DB: DrawingBackend + 'a>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    n: usize,
    y: std::ops::Range<f64>,
) -> Result<
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    ChartError,
>
where
    DB::ErrorType: 'static,
{
    ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-0.5f64..(n.max(1) as f64 - 0.5), y)
        .map_err(err)
}

pub(crate) fn distribution_png(d: &Distribution) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (w, h) = (900u32, 380u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = d.months.len();
        let mut chart = month_axis(&root, n, 0f64..100f64)?;
        let months = d.months.clone();
        chart
            .configure_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| months.get(x.round().max(0.0) as usize).cloned().unwrap_or_default())
            .y_labels(11)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 13))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (threshold, color) in [(d.a_min, A_COLOR.mix(0.6)), (d.b_min, C_COLOR.mix(0.6))] {
            chart
                .draw_series(LineSeries::new([(-0.5, threshold), (n as f64 - 0.5, threshold)], color.stroke_width(1)))
                .map_err(err)?;
        }
        for (i, five) in d.boxes.iter().enumerate() {
            let Some([low, q1, median, q3, high]) = *five else { continue };
            let x = i as f64;
            let ink = RGBColor(31, 78, 121);
            chart.draw_series([PathElement::new([(x, low), (x, q1)], ink.stroke_width(1))]).map_err(err)?;
            chart.draw_series([PathElement::new([(x, q3), (x, high)], ink.stroke_width(1))]).map_err(err)?;
            for y in [low, high] {
                chart
                    .draw_series([PathElement::new([(x - 0.12, y), (x + 0.12, y)], ink.stroke_width(1))])
                    .map_err(err)?;
            }
            chart
                .draw_series([Rectangle::new([(x - 0.3, q1), (x + 0.3, q3)], RGBColor(189, 215, 238).filled())])
                .map_err(err)?;
            chart.draw_series([Rectangle::new([(x - 0.3, q1), (x + 0.3, q3)], ink.stroke_width(1))]).map_err(err)?;
            chart
                .draw_series([PathElement::new([(x - 0.3, median), (x + 0.3, median)], ink.stroke_width(3))])
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    encode_png(&buf, w, h)
}

/// The grade mix per month: A, B, C and on hold stacked, bottom to top.
pub(crate) fn grade_mix_png(months: &[String], counts: &[[usize; 4]]) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (w, h) = (900u32, 320u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = months.len();
        let top = counts.iter().map(|c| c.iter().sum::<usize>()).max().unwrap_or(0).max(1) as f64;
        let mut chart = month_axis(&root, n, 0f64..top * 1.05)?;
        let labels = months.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| labels.get(x.round().max(0.0) as usize).cloned().unwrap_or_default())
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        for (i, c) in counts.iter().enumerate() {
            let x = i as f64;
            let mut base = 0f64;
            for (k, color) in [A_COLOR, B_COLOR, C_COLOR, HOLD_COLOR].into_iter().enumerate() {
                let v = c[k] as f64;
                if v > 0.0 {
                    chart
                        .draw_series([Rectangle::new([(x - 0.35, base), (x + 0.35, base + v)], color.filled())])
                        .map_err(err)?;
                }
                base += v;
            }
        }
        root.present().map_err(err)?;
    }
    encode_png(&buf, w, h)
}

/// Horizontal bars of a month's highest and lowest scores (partner ids on the left), coloured by
/// grade; the page lists the names beside it.
pub(crate) fn ranking_png(bars: &[(String, f64, char)], a_min: f64, b_min: f64) -> Result<Vec<u8>, ChartError> {
    register_font();
    let rows = bars.len().max(1);
    let (w, h) = (900u32, (40 + 22 * rows as u32).max(120));
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(24)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..100f64, -0.5f64..(rows as f64 - 0.5))
            .map_err(err)?;
        let names: Vec<String> = bars.iter().map(|(id, v, _)| format!("{id}  {v:.2}")).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows)
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() > 0.01 || i < 0.0 {
                    return String::new();
                }
                names.get(rows - 1 - i as usize).cloned().unwrap_or_default()
            })
            .x_labels(11)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .light_line_style(WHITE.mix(0.0))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        for (k, (_, v, grade)) in bars.iter().enumerate() {
            let y = (rows - 1 - k) as f64;
            let color = match grade {
                'A' => A_COLOR,
                'B' => B_COLOR,
                _ => C_COLOR,
            };
            chart.draw_series([Rectangle::new([(0.0, y - 0.35), (*v, y + 0.35)], color.filled())]).map_err(err)?;
        }
        for (threshold, color) in [(a_min, A_COLOR), (b_min, C_COLOR)] {
            chart
                .draw_series(LineSeries::new(
                    [(threshold, -0.5), (threshold, rows as f64 - 0.5)],
                    color.stroke_width(1),
                ))
                .map_err(err)?;
        }
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
        let months: Vec<String> = vec!["09".into(), "10".into()];
        let boxes = vec![None, five_numbers(&mut [70.0, 80.0, 90.0, 100.0])];
        let dist = distribution_png(&Distribution { months: months.clone(), boxes, b_min: 75.0, a_min: 90.0 }).unwrap();
        assert_eq!(&dist[1..4], b"PNG");
        assert_eq!(&grade_mix_png(&months, &[[1, 2, 3, 0], [0, 0, 0, 4]]).unwrap()[1..4], b"PNG");
        let bars = vec![("P01".to_string(), 95.5, 'A'), ("P02".to_string(), 60.0, 'C')];
        assert_eq!(&ranking_png(&bars, 90.0, 75.0).unwrap()[1..4], b"PNG");
    }

    #[test]
    fn quartiles_interpolate_between_ranks() {
        assert_eq!(five_numbers(&mut [4.0, 1.0, 3.0, 2.0]), Some([1.0, 1.75, 2.5, 3.25, 4.0]));
        assert_eq!(five_numbers(&mut [7.0]), Some([7.0; 5]));
        assert_eq!(five_numbers(&mut []), None);
    }
}
