//! Tables in workbooks for people (Excel and WPS): the locale's headers, money as numbers shown
//! `#,##0.00`, points with two decimals, widths that fit the content (a CJK character is two
//! columns wide), the header frozen and filtered, and a print setup: A4 landscape, one page wide,
//! the header row repeated on every page, the title and page numbers in the margins.

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
}

/// A decimal as an xlsx number: xlsx numbers are doubles, this one read from the exact text.
pub(crate) fn number(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// The formats every people's sheet uses.
pub(crate) struct Formats {
    pub(crate) head: Format,
    pub(crate) money: Format,
    pub(crate) points: Format,
    pub(crate) count: Format,
    pub(crate) text: Format,
    pub(crate) title: Format,
}

impl Formats {
    pub(crate) fn new() -> Self {
        let cell = Format::new().set_border(FormatBorder::Thin).set_border_color("#BFBFBF");
        Formats {
            head: Format::new()
                .set_bold()
                .set_background_color("#DCE6F1")
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            money: cell.clone().set_num_format("#,##0.00"),
            points: cell.clone().set_num_format("0.00"),
            count: cell.clone().set_num_format("0"),
            text: cell.set_align(FormatAlign::Top),
            title: Format::new().set_bold().set_font_size(14),
        }
    }
}

/// Display width of a value as the sheet shows it.
fn width(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.lines().map(|l| l.width()).max().unwrap_or(0),
        Value::Money(d) => {
            let digits = d.trunc().abs().to_string().len();
            digits + digits.saturating_sub(1) / 3 + 4
        }
        Value::Points(d) => d.trunc().abs().to_string().len() + 4,
        Value::Count(n) => n.to_string().len(),
        Value::Empty => 0,
    }
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

/// The print setup of a people's sheet: A4 landscape, one page wide, `repeat` rows on every page.
pub(crate) fn print_setup(sheet: &mut Worksheet, title: &str, repeat: Option<u32>) -> Result<(), XlsxError> {
    sheet.set_landscape().set_paper_size(9).set_print_fit_to_pages(1, 0);
    sheet.set_header(format!("&C&\"-,Bold\"{}", title.replace('&', "&&")));
    sheet.set_footer("&C&P / &N");
    sheet.set_margins(0.5, 0.5, 0.75, 0.75, 0.3, 0.3);
    if let Some(row) = repeat {
        sheet.set_repeat_rows(row, row)?;
    }
    Ok(())
}

/// Adds the table as a sheet of its own.
pub(crate) fn add(book: &mut Workbook, table: &Table) -> Result<(), XlsxError> {
    let f = Formats::new();
    let sheet = book.add_worksheet().set_name(&table.name)?;
    for (c, h) in table.headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &f.head)?;
        let widest = table.rows.iter().filter_map(|r| r.get(c)).map(width).max().unwrap_or(0);
        // Long headers wrap (the header row is taller) rather than widen a column of numbers.
        let head = h.width().min(16);
        sheet.set_column_width(c as u16, (widest.max(head) + 2).clamp(6, 60) as f64)?;
    }
    sheet.set_row_height(0, 32)?;
    for (r, row) in table.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            write(sheet, &f, r as u32 + 1, c as u16, v)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let last = table.rows.len().max(1) as u32;
    if !table.headers.is_empty() {
        sheet.autofilter(0, 0, last, table.headers.len() as u16 - 1)?;
    }
    print_setup(sheet, &table.title, Some(0))?;
    Ok(())
}
