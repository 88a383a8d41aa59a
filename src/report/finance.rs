//! The settlement export for finance: the same rows as a CSV for import and an xlsx for people.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// A sheet of text cells with one money column written as a number (2 decimals).
pub(crate) fn workbook(
    header: &[&str],
    rows: &[Vec<String>],
    money_column: usize,
    day: chrono::NaiveDate,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    book.set_properties(&super::stable_properties(day)?);
    let head = Format::new().set_bold().set_background_color("#EEF2F7");
    let money = Format::new().set_num_format("#,##0.00");
    let sheet = book.add_worksheet().set_name("结算")?;
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &head)?;
        sheet.set_column_width(c as u16, 18.0)?;
    }
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c16) = ((i + 1) as u32, c as u16);
            match (c == money_column).then(|| v.parse::<f64>().ok()).flatten() {
                Some(n) => sheet.write_number_with_format(r, c16, n, &money)?,
                None => sheet.write_string(r, c16, v)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    book.save_to_buffer()
}
