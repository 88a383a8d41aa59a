//! The settlement export for finance: the same rows as a CSV for import (the contract's column
//! names) and an xlsx for people (the locale's headers, money as numbers, ready to print).

use super::sheet::{self, Table, Value};
use super::templates::label;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Workbook, XlsxError};
use std::str::FromStr;

/// The workbook of the export: `header` are the CSV's column names, shown as `col_<name>` in the
/// locale's words; the `money_column` is written as a number.
pub(crate) fn workbook(
    locale: &str,
    period: &str,
    header: &[&str],
    rows: &[Vec<String>],
    money_column: usize,
    day: chrono::NaiveDate,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    book.set_properties(&super::stable_properties(day)?);
    let rows = rows
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(c, v)| match (c == money_column).then(|| Decimal::from_str(v).ok()).flatten() {
                    Some(d) => Value::Money(d),
                    None => Value::Text(v.clone()),
                })
                .collect()
        })
        .collect();
    let table = Table {
        name: label(locale, "sheet_settlement", &[]),
        title: label(locale, "finance_title", &[("period", period)]),
        headers: header.iter().map(|h| label(locale, &format!("col_{h}"), &[])).collect(),
        rows,
        narrow: vec![],
    };
    sheet::add(&mut book, &table)?;
    book.save_to_buffer()
}
