//! Tables in workbooks for people (Excel and WPS): the locale's headers, money as numbers shown
//! `#,##0.00`, points with two decimals, widths that fit the content (a CJK character is two
//! columns wide), the header frozen and filtered, and a print setup that reads on paper: A4, the
//! orientation the table needs, one page wide only where that keeps the type at 8 pt or more,
//! long text wrapped in narrow columns, the header row repeated on every page, the title and
//! page numbers in the margins.

use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use unicode_width::UnicodeWidthStr;

/// A cell of a table for people.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(String),
    /// Money in yuan: a number shown with thousands separators and two decimals.
    Money(Decimal),
    /// Points and percentages: a number with two decimals.
    Points(Decimal),
    Count(u64),
    Empty,
}

/// A sheet's table: its name, the title printed above every page, the headers and the rows.
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) headers: Vec<String>,
    pub(crate) rows: Vec<Vec<Value>>,
    /// Text columns that wrap at seven characters (notes beside numbers).
    pub(crate) narrow: Vec<usize>,
}

/// A decimal as an xlsx number: xlsx numbers are doubles, this one read from the exact text.
pub(crate) fn number(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// The type size of the tables (points): small enough for a 500-partner month to print in a
/// few pages, never below the 8 pt a reader needs after fitting.
pub(crate) const TABLE_PT: f64 = 9.0;
/// The smallest printed type a reader is asked to read (points).
pub(crate) const READABLE_PT: f64 = 8.0;
/// The widest a text column gets (in column units) before its text wraps: a company's name of
/// twelve characters at 9 pt.
const TEXT_COLUMN_MAX: f64 = 20.5;
/// What the file adds to every column width (rust_xlsxwriter writes the width with the padding
/// Excel draws around a cell's text).
pub(crate) const COLUMN_PADDING: f64 = 0.71;
/// A note column (flags, reasons): five characters a line.
const NARROW_TEXT_COLUMN: f64 = 10.0;

/// The formats every people's sheet uses, at one type size.
pub(crate) struct Formats {
    pub(crate) head: Format,
    pub(crate) money: Format,
    pub(crate) points: Format,
    pub(crate) count: Format,
    pub(crate) text: Format,
    pub(crate) title: Format,
    pub(crate) size: f64,
}

impl Formats {
    /// The tables' formats, at [`TABLE_PT`].
    pub(crate) fn new() -> Self {
        Self::sized(TABLE_PT)
    }

    pub(crate) fn sized(size: f64) -> Self {
        let cell = Format::new().set_font_size(size).set_border(FormatBorder::Thin).set_border_color("#BFBFBF");
        Formats {
            head: Format::new()
                .set_font_size(size)
                .set_bold()
                .set_background_color("#DCE6F1")
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            money: cell.clone().set_num_format("#,##0.00"),
            points: cell.clone().set_num_format("0.00"),
            count: cell.clone().set_num_format("0"),
            text: cell.set_align(FormatAlign::Top).set_text_wrap(),
            title: Format::new().set_bold().set_font_size(size + 4.0),
            size,
        }
    }
}

/// Display width of a value as the sheet shows it, in character cells (a CJK character is two).
fn width(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.lines().map(|l| l.width()).max().unwrap_or(0),
        Value::Money(d) => {
            let digits = d.trunc().abs().to_string().len();
            digits + digits.saturating_sub(1) / 3 + 3 + usize::from(d.is_sign_negative())
        }
        Value::Points(d) => d.trunc().abs().to_string().len() + 3 + usize::from(d.is_sign_negative()),
        Value::Count(n) => n.to_string().len(),
        Value::Empty => 0,
    }
}

/// A column width (Excel's units: the width of a digit of the workbook's 11 pt default font) for
/// text `cells` wide at `size` points: smaller type takes proportionally less room.
pub(crate) fn units(cells: usize, size: f64) -> f64 {
    (cells as f64 * size / 11.0 + 1.5).max(4.0)
}

/// How many lines a value takes in a column `w` units wide at `size` points.
pub(crate) fn lines(v: &Value, w: f64, size: f64) -> usize {
    let Value::Text(text) = v else { return 1 };
    // The cell shows its width and the padding, less about a digit of margin.
    let per_line = (((w + COLUMN_PADDING - 1.0) * 11.0 / size).floor() as usize).max(1);
    text.lines().map(|l| l.width().div_ceil(per_line).max(1)).sum::<usize>().max(1)
}

/// Writes a value with its format at (row, col).
pub(crate) fn write(sheet: &mut Worksheet, f: &Formats, row: u32, col: u16, v: &Value) -> Result<(), XlsxError> {
    match v {
        Value::Text(s) => sheet.write_string_with_format(row, col, s, &f.text)?,
        Value::Money(d) => sheet.write_number_with_format(row, col, number(*d), &f.money)?,
        Value::Points(d) => sheet.write_number_with_format(row, col, number(*d), &f.points)?,
        Value::Count(n) => sheet.write_number_with_format(row, col, *n as f64, &f.count)?,
        Value::Empty => sheet.write_blank(row, col, &f.text)?,
    };
    Ok(())
}

/// How a sheet prints on A4: its orientation, and the scale (1.0: as it is; below: fitted to one
/// page wide).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PrintPlan {
    pub(crate) landscape: bool,
    /// Fit to one page wide (the scale is then `scale`).
    pub(crate) fit: bool,
    pub(crate) scale: f64,
}

/// The printable width of A4 in column units (margins of half an inch each side): portrait and
/// landscape. A unit is a digit of the workbook's default font: 5.6 pt of Calibri in Excel, but
/// 7.1 pt where Calibri is missing and LibreOffice draws DejaVu Sans instead. The plan counts
/// the wider unit, so that a sheet fits on either.
const A4_PORTRAIT_UNITS: f64 = 523.0 / 7.1;
const A4_LANDSCAPE_UNITS: f64 = 770.0 / 7.1;

/// The print plan of a sheet whose columns are `width` units in all, in `size` point type: portrait
/// when it fits there at a readable size, else landscape; fitted to the page width only as far
/// as the type stays at [`READABLE_PT`]; wider still, printed at the readable scale across pages.
pub(crate) fn plan(width: f64, size: f64) -> PrintPlan {
    let least = (READABLE_PT / size).min(1.0);
    for (landscape, page) in [(false, A4_PORTRAIT_UNITS), (true, A4_LANDSCAPE_UNITS)] {
        if width <= page {
            return PrintPlan { landscape, fit: false, scale: 1.0 };
        }
        if page / width >= least {
            return PrintPlan { landscape, fit: true, scale: page / width };
        }
    }
    PrintPlan { landscape: true, fit: false, scale: least }
}

/// The print setup of a people's sheet: A4, the plan for its `width`, `repeat` rows on every page,
/// the title above and the page number below.
pub(crate) fn print_setup(
    sheet: &mut Worksheet,
    title: &str,
    repeat: Option<u32>,
    width: f64,
    size: f64,
) -> Result<PrintPlan, XlsxError> {
    let p = plan(width, size);
    sheet.set_paper_size(9);
    if p.landscape {
        sheet.set_landscape();
    } else {
        sheet.set_portrait();
    }
    if p.fit {
        sheet.set_print_fit_to_pages(1, 0);
    } else if p.scale < 1.0 {
        sheet.set_print_scale((p.scale * 100.0).ceil() as u16);
    }
    sheet.set_header(format!("&C&\"-,Bold\"{}", title.replace('&', "&&")));
    sheet.set_footer("&C&P / &N");
    sheet.set_margins(0.5, 0.5, 0.75, 0.75, 0.3, 0.3);
    if let Some(row) = repeat {
        sheet.set_repeat_rows(row, row)?;
    }
    Ok(p)
}

/// Adds the table as a sheet of its own: numbers as wide as they are, text columns wrapped at
/// [`TEXT_COLUMN_MAX`], and printed by [`plan`].
pub(crate) fn add(book: &mut Workbook, table: &Table) -> Result<PrintPlan, XlsxError> {
    let f = Formats::new();
    let sheet = book.add_worksheet().set_name(&table.name)?;
    sheet.set_default_row_height(f.size + 4.0);
    // Each column as wide as its content; where the whole does not fit upright on the page,
    // text columns wrap at a cap instead.
    let natural: Vec<(f64, bool)> = table
        .headers
        .iter()
        .enumerate()
        .map(|(c, h)| {
            let widest = table.rows.iter().filter_map(|r| r.get(c)).map(width).max().unwrap_or(0);
            let text = table.rows.iter().filter_map(|r| r.get(c)).any(|v| matches!(v, Value::Text(_)));
            // Long headers wrap (the header row is taller) rather than widen a column of numbers.
            let head = h.width().min(if text { 6 } else { 5 });
            (units(widest.max(head), f.size), text)
        })
        .collect();
    let fits = natural.iter().map(|(w, _)| w + COLUMN_PADDING).sum::<f64>() <= A4_PORTRAIT_UNITS;
    let mut total = 0.0;
    let mut widths = Vec::with_capacity(table.headers.len());
    for (c, (h, (natural, text))) in table.headers.iter().zip(natural).enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &f.head)?;
        let w = if text && !fits {
            natural.min(if table.narrow.contains(&c) { NARROW_TEXT_COLUMN } else { TEXT_COLUMN_MAX })
        } else {
            natural
        };
        sheet.set_column_width(c as u16, w)?;
        widths.push(w);
        // The file stores each width with the cell padding added.
        total += w + COLUMN_PADDING;
    }
    sheet.set_row_height(0, 4.0 * (f.size + 3.0) + 2.0)?;
    for (r, row) in table.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            write(sheet, &f, r as u32 + 1, c as u16, v)?;
        }
        // A text that wraps makes its row as tall as its lines: a spreadsheet does not grow a row
        // of a set height by itself, and what does not show would not print.
        let lines = row.iter().zip(&widths).map(|(v, w)| lines(v, *w, f.size)).max().unwrap_or(1);
        if lines > 1 {
            sheet.set_row_height(r as u32 + 1, lines as f64 * (f.size + 4.0))?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let last = table.rows.len().max(1) as u32;
    if !table.headers.is_empty() {
        sheet.autofilter(0, 0, last, table.headers.len() as u16 - 1)?;
    }
    print_setup(sheet, &table.title, Some(0), total, f.size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn narrow_tables_print_portrait_as_they_are_and_wide_ones_turn() {
        assert_eq!(plan(60.0, 9.0), PrintPlan { landscape: false, fit: false, scale: 1.0 });
        let p = plan(80.0, 9.0);
        assert!(!p.landscape && p.fit && p.scale * 9.0 >= READABLE_PT, "{p:?}");
        let p = plan(100.0, 9.0);
        assert!(p.landscape && !p.fit, "{p:?}");
        let p = plan(400.0, 9.0);
        assert!(p.landscape && !p.fit && (p.scale * 9.0 - READABLE_PT).abs() < 1e-9, "{p:?}");
    }

    proptest! {
        /// Whatever the width, the printed type is never below 8 pt.
        #[test]
        fn printed_type_stays_readable(width in 1.0f64..2000.0, size in 8.0f64..14.0) {
            let p = plan(width, size);
            prop_assert!(p.scale * size >= READABLE_PT - 1e-9);
            prop_assert!(p.scale <= 1.0);
        }
    }
}
