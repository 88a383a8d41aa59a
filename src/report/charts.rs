//! Charts as PNG (so that mail clients that block SVG still show them), built to read at any
//! number of partners: the score distribution per month (box plots), the grade mix per month
//! (stacked bars), the month's highest and lowest scores, and a line per partner only where a page
//! has few partners. Each is drawn twice, at the size it is shown: for a desk (900 px wide, 13 px
//! text) and for a phone (720 px shown at 360 CSS px, 24 px text: 12 px as read). Text in the
//! images is ASCII (ids, months, numbers) drawn with the embedded DejaVu Sans; the captions and
//! legends, in the locale's words, live in the HTML around them.

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

/// The size a chart is drawn at: its width in pixels, and how much larger than on a desk its
/// text, margins and lines are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Canvas {
    pub(crate) width: u32,
    pub(crate) scale: f64,
}

impl Canvas {
    /// A desk: 900 px shown at 900 CSS px.
    pub(crate) const DESK: Canvas = Canvas { width: 900, scale: 1.0 };
    /// A phone: 720 px shown at 360 CSS px (two device pixels each), text twice as large as
    /// read: 13 × 1.85 = 24 px, 12 px on the screen.
    pub(crate) const PHONE: Canvas = Canvas { width: 720, scale: 1.85 };

    fn px(self, v: u32) -> u32 {
        (f64::from(v) * self.scale).round() as u32
    }

    fn font(self, size: u32) -> (&'static str, u32) {
        ("sans-serif", self.px(size))
    }

    /// The drawn height of a chart `height` px tall on a desk: a phone's is taller for its text.
    pub(crate) fn height(self, height: u32) -> u32 {
        if self == Canvas::DESK {
            height
        } else {
            (f64::from(height) * 1.6).round() as u32
        }
    }
}

/// One line per partner: (label, score per month slot; `None` where the month has no score).
pub(crate) struct Trend {
    pub(crate) months: Vec<String>,
    pub(crate) series: Vec<(String, Vec<Option<f64>>)>,
    pub(crate) b_min: f64,
    pub(crate) a_min: f64,
}

/// Twelve colours a reader tells apart (Tableau 10 and two more), each line also marked by its
/// id at its last point.
const LINE_COLORS: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 128, 0),
];

pub(crate) fn trend_png(trend: &Trend, canvas: Canvas) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (w, h) = (canvas.width, canvas.height(420));
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = trend.months.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(canvas.px(12))
            .x_label_area_size(canvas.px(30))
            .y_label_area_size(canvas.px(40))
            .right_y_label_area_size(canvas.px(44))
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(err)?;
        let months = trend.months.clone();
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| months.get(x.round().max(0.0) as usize).cloned().unwrap_or_default())
            .y_labels(11)
            .label_style(canvas.font(13))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (threshold, color) in [(trend.a_min, GREEN.mix(0.5)), (trend.b_min, RED.mix(0.5))] {
            chart
                .draw_series(LineSeries::new([(-0.5, threshold), (n as f64 - 0.5, threshold)], color.stroke_width(1)))
                .map_err(err)?;
        }
        let stroke = canvas.px(2);
        let dot = canvas.px(3);
        for (k, (label, points)) in trend.series.iter().enumerate() {
            let color = LINE_COLORS[k % LINE_COLORS.len()];
            let pts: Vec<(f64, f64)> =
                points.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v))).collect();
            chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(stroke))).map_err(err)?;
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, dot, color.filled()))).map_err(err)?;
            // The line says whose it is where it ends, instead of a legend matched by colour.
            if let Some(last) = pts.last() {
                let style = TextStyle::from(canvas.font(12)).color(&color);
                let at = chart.backend_coord(last);
                root.draw(&Text::new(label.clone(), (at.0 + dot as i32 + 3, at.1 - canvas.px(7) as i32), style))
                    .map_err(err)?;
            }
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
    canvas: Canvas,
) -> Result<
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    ChartError,
>
where
    DB::ErrorType: 'static,
{
    ChartBuilder::on(root)
        .margin(canvas.px(12))
        .x_label_area_size(canvas.px(30))
        .y_label_area_size(canvas.px(40))
        .build_cartesian_2d(-0.5f64..(n.max(1) as f64 - 0.5), y)
        .map_err(err)
}

pub(crate) fn distribution_png(d: &Distribution, canvas: Canvas) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (w, h) = (canvas.width, canvas.height(380));
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = d.months.len();
        let mut chart = month_axis(&root, n, 0f64..100f64, canvas)?;
        let months = d.months.clone();
        chart
            .configure_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| months.get(x.round().max(0.0) as usize).cloned().unwrap_or_default())
            .y_labels(11)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(canvas.font(13))
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
            let (thin, thick) = (canvas.px(1), canvas.px(3));
            chart.draw_series([PathElement::new([(x, low), (x, q1)], ink.stroke_width(thin))]).map_err(err)?;
            chart.draw_series([PathElement::new([(x, q3), (x, high)], ink.stroke_width(thin))]).map_err(err)?;
            for y in [low, high] {
                chart
                    .draw_series([PathElement::new([(x - 0.12, y), (x + 0.12, y)], ink.stroke_width(thin))])
                    .map_err(err)?;
            }
            chart
                .draw_series([Rectangle::new([(x - 0.3, q1), (x + 0.3, q3)], RGBColor(189, 215, 238).filled())])
                .map_err(err)?;
            chart.draw_series([Rectangle::new([(x - 0.3, q1), (x + 0.3, q3)], ink.stroke_width(thin))]).map_err(err)?;
            chart
                .draw_series([PathElement::new([(x - 0.3, median), (x + 0.3, median)], ink.stroke_width(thick))])
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    encode_png(&buf, w, h)
}

/// The grade mix per month: A, B, C and on hold stacked, bottom to top.
pub(crate) fn grade_mix_png(months: &[String], counts: &[[usize; 4]], canvas: Canvas) -> Result<Vec<u8>, ChartError> {
    stacked_grades(months, &[(counts, 0.0, 0.35, 1.0)], canvas)
}

/// The grade mix per month before and after a rules revision: two stacked bars a month, the
/// stored rules on the left (pale), the candidate on the right.
pub(crate) fn grade_mix_pair_png(
    months: &[String],
    before: &[[usize; 4]],
    after: &[[usize; 4]],
    canvas: Canvas,
) -> Result<Vec<u8>, ChartError> {
    stacked_grades(months, &[(before, -0.2, 0.17, 0.45), (after, 0.2, 0.17, 1.0)], canvas)
}

/// Stacked grade bars per month, one series of bars per (counts, offset from the month, half
/// width, opacity).
type GradeSeries<'a> = (&'a [[usize; 4]], f64, f64, f64);

fn stacked_grades(months: &[String], series: &[GradeSeries<'_>], canvas: Canvas) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (w, h) = (canvas.width, canvas.height(320));
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = months.len();
        let totals = series.iter().flat_map(|(counts, ..)| counts.iter().map(|c| c.iter().sum::<usize>()));
        let top = totals.max().unwrap_or(0).max(1) as f64;
        let mut chart = month_axis(&root, n, 0f64..top * 1.05, canvas)?;
        // Twelve month labels do not fit a phone: every second one there.
        let step = if canvas.scale > 1.0 && n > 6 { 2 } else { 1 };
        let labels = months.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| {
                let i = x.round().max(0.0) as usize;
                if i % step == 0 {
                    labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(canvas.font(13))
            .draw()
            .map_err(err)?;
        for (counts, offset, half, opacity) in series {
            for (i, c) in counts.iter().enumerate() {
                let x = i as f64 + offset;
                let mut base = 0f64;
                for (k, color) in [A_COLOR, B_COLOR, C_COLOR, HOLD_COLOR].into_iter().enumerate() {
                    let v = c[k] as f64;
                    if v > 0.0 {
                        let bar =
                            Rectangle::new([(x - half, base), (x + half, base + v)], color.mix(*opacity).filled());
                        chart.draw_series([bar]).map_err(err)?;
                    }
                    base += v;
                }
            }
        }
        root.present().map_err(err)?;
    }
    encode_png(&buf, w, h)
}

/// Horizontal bars of a month's highest and lowest scores (partner ids on the left), coloured by
/// grade; the page lists the names beside it.
pub(crate) fn ranking_png(
    bars: &[(String, f64, char)],
    a_min: f64,
    b_min: f64,
    canvas: Canvas,
) -> Result<Vec<u8>, ChartError> {
    register_font();
    let rows = bars.len().max(1);
    let (w, h) = (canvas.width, ranking_height(rows, canvas));
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(canvas.px(10))
            .x_label_area_size(canvas.px(24))
            .y_label_area_size(canvas.px(110))
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
            .x_labels(if canvas == Canvas::DESK { 11 } else { 6 })
            .x_label_formatter(&|x| format!("{x:.0}"))
            .light_line_style(WHITE.mix(0.0))
            .label_style(canvas.font(12))
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

/// The height of a ranking of `rows` bars.
pub(crate) fn ranking_height(rows: usize, canvas: Canvas) -> u32 {
    canvas.px((40 + 22 * rows.max(1) as u32).max(120))
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
        for canvas in [Canvas::DESK, Canvas::PHONE] {
            let png = trend_png(&trend, canvas).unwrap();
            assert_eq!(&png[1..4], b"PNG");
            let months: Vec<String> = vec!["09".into(), "10".into()];
            let boxes = vec![None, five_numbers(&mut [70.0, 80.0, 90.0, 100.0])];
            let d = Distribution { months: months.clone(), boxes, b_min: 75.0, a_min: 90.0 };
            let dist = distribution_png(&d, canvas).unwrap();
            assert_eq!(&dist[1..4], b"PNG");
            // The width drawn is the width shown (the IHDR chunk's first field).
            assert_eq!(u32::from_be_bytes(dist[16..20].try_into().unwrap()), canvas.width);
            assert_eq!(&grade_mix_png(&months, &[[1, 2, 3, 0], [0, 0, 0, 4]], canvas).unwrap()[1..4], b"PNG");
            let bars = vec![("P01".to_string(), 95.5, 'A'), ("P02".to_string(), 60.0, 'C')];
            assert_eq!(&ranking_png(&bars, 90.0, 75.0, canvas).unwrap()[1..4], b"PNG");
        }
        // On a phone the text is 24 px drawn, 12 px as shown at half the width.
        assert_eq!(Canvas::PHONE.font(13).1, 24);
    }

    #[test]
    fn quartiles_interpolate_between_ranks() {
        assert_eq!(five_numbers(&mut [4.0, 1.0, 3.0, 2.0]), Some([1.0, 1.75, 2.5, 3.25, 4.0]));
        assert_eq!(five_numbers(&mut [7.0]), Some([7.0; 5]));
        assert_eq!(five_numbers(&mut []), None);
    }
}
