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
    let mut rows: Vec<Vec<Value>> = rows
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
    // The total finance checks against the forms and the bank: the last row.
    let total: Decimal = rows
        .iter()
        .filter_map(|r| match r.get(money_column) {
            Some(Value::Money(d)) => Some(*d),
            _ => None,
        })
        .sum();
    if !rows.is_empty() {
        let mut last = vec![Value::Empty; header.len()];
        last[0] = Value::Text(label(locale, "finance_total", &[("count", &rows.len().to_string())]));
        if let Some(cell) = last.get_mut(money_column) {
            *cell = Value::Money(total);
        }
        rows.push(last);
    }
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
