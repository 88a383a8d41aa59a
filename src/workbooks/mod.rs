//! Reading the workbooks people fill in: the first sheet's cells, as Excel and WPS write them,
//! after refusing what is not a plain filled sheet. The file's package is read one way only
//! (`package`): ambiguous names and relationships are refused, every part inflates under a
//! counted limit. Its XML is scanned linearly (`xml`): no entities, a cap on attributes, and the
//! sheet's formulas and hidden rows and columns found in the sheet itself. calamine then reads a
//! package rebuilt from exactly the checked parts, so what was checked is what is read; the text
//! it hands over is capped per cell and per sheet.

mod limits;
mod package;
mod xml;

use crate::domain::records::{Cell, NotXlsx, Sheet, WorkbookError, MAX_FILE_BYTES, MAX_ROWS};
use calamine::{DataRef, Reader, Xlsx};
use limits::{MAX_CELL_BYTES, MAX_COLUMNS, MAX_SHEET_TEXT};
use std::io::Cursor;

/// What a file that is not a zip is, for the message: an encrypted workbook (Excel keeps it in
/// an OLE compound file with an `EncryptedPackage` stream), an old .xls, text, or something else.
fn what_it_is(bytes: &[u8]) -> WorkbookError {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
        let encrypted = ["EncryptedPackage", "EncryptionInfo"]
            .iter()
            .any(|name| memchr::memmem::find(bytes, &utf16(name)).is_some());
        return if encrypted { WorkbookError::Encrypted } else { WorkbookError::NotXlsx(NotXlsx::OldFormat) };
    }
    // Text in any of the encodings a CSV comes in (UTF-8, GBK, UTF-16 with its mark): no byte
    // of the first 512 is a control other than tab, line breaks and form feed.
    let head = &bytes[..bytes.len().min(512)];
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    if utf16 || head.iter().all(|b| *b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) {
        return WorkbookError::NotXlsx(NotXlsx::Text);
    }
    WorkbookError::NotXlsx(NotXlsx::Other)
}

/// The one part a relationship of a given type points to, if the workbook has one; two are
/// ambiguous.
fn related(
    rels: &std::collections::BTreeMap<String, xml::Relationship>,
    kind: &str,
    pkg: &package::Package,
) -> Result<Option<String>, WorkbookError> {
    let found: Vec<&xml::Relationship> = rels.values().filter(|r| r.kind == kind).collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] if !one.external => pkg.target("xl/", &one.target).map(Some),
        [one, ..] => Err(WorkbookError::Ambiguous(one.target.chars().take(120).collect())),
    }
}

/// The first sheet's part, checked, and the parts its values need, rebuilt as one package.
fn checked_package(bytes: &[u8]) -> Result<(String, Vec<u8>), WorkbookError> {
    let pkg = package::Package::open(bytes)?;
    let workbook = pkg.part("xl/workbook.xml").ok_or(WorkbookError::NotXlsx(NotXlsx::Other))?;
    let (sheets, date1904) = xml::workbook(workbook)?;
    let hidden: Vec<String> = sheets.iter().filter(|s| !s.visible).map(|s| s.name.clone()).collect();
    if !hidden.is_empty() {
        return Err(WorkbookError::HiddenSheets(hidden));
    }
    let first = sheets.first().ok_or(WorkbookError::NoSheet)?;
    let rels = pkg.part("xl/_rels/workbook.xml.rels").ok_or(WorkbookError::NoSheet)?;
    let rels = xml::relationships(rels)?;
    let rel = rels.get(&first.relationship).ok_or(WorkbookError::NoSheet)?;
    if rel.kind != "worksheet" {
        return Err(WorkbookError::NoSheet);
    }
    if rel.external {
        return Err(WorkbookError::Ambiguous(rel.target.chars().take(120).collect()));
    }
    let sheet_name = pkg.target("xl/", &rel.target)?;
    let shared_strings = related(&rels, "sharedStrings", &pkg)?;
    let styles = related(&rels, "styles", &pkg)?;
    let sheet = pkg.part(&sheet_name).ok_or(WorkbookError::NoSheet)?;
    let facts = xml::sheet(sheet)?;
    if !facts.formulas.is_empty() {
        return Err(WorkbookError::Formulas(facts.formulas));
    }
    if facts.last_row as usize > MAX_ROWS + 1 {
        return Err(WorkbookError::TooManyRows(facts.last_row as usize - 1));
    }
    if facts.cells > limits::MAX_CELLS {
        return Err(WorkbookError::TooManyCells(limits::MAX_CELLS));
    }
    if !facts.hidden_rows.is_empty() || !facts.hidden_columns.is_empty() {
        return Err(WorkbookError::Hidden {
            rows: facts.hidden_rows.into_iter().take(10).collect(),
            columns: facts.hidden_columns.into_iter().take(10).map(crate::domain::records::column_letters).collect(),
        });
    }
    let shared_strings = shared_strings.and_then(|n| pkg.part(&n));
    let styles = styles.and_then(|n| pkg.part(&n));
    for part in [shared_strings, styles].into_iter().flatten() {
        xml::check_plain(part)?;
    }
    let rebuilt = package::canonical(&first.name, date1904, sheet, shared_strings, styles)?;
    Ok((first.name.clone(), rebuilt))
}

/// A cell as the records reader takes it: numbers through their shortest round-trip text (so a
/// double 14.5 reads 14.5), dates as dates, text past the per-cell cap as its length only.
fn cell(value: &DataRef<'_>) -> Cell {
    let text = |s: &str| {
        if s.len() > MAX_CELL_BYTES {
            Cell::TooLong(s.chars().count())
        } else {
            Cell::Text(s.to_string())
        }
    };
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Int(i) => Cell::Number(i.to_string()),
        DataRef::Float(f) => Cell::Number(format!("{f}")),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) if d.is_datetime() => match d.as_datetime() {
            Some(t) => Cell::Date(t.date()),
            None => Cell::Number(format!("{}", d.as_f64())),
        },
        DataRef::DateTime(d) => Cell::Number(format!("{}", d.as_f64())),
        DataRef::DateTimeIso(s) => match crate::domain::period::parse_date(s.get(..10).unwrap_or(s)) {
            Some(d) => Cell::Date(d),
            None => text(s),
        },
        DataRef::DurationIso(s) => text(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

/// The bytes of text a cell holds (what copying it would cost).
fn text_bytes(value: &DataRef<'_>) -> usize {
    match value {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
        DataRef::SharedString(s) => s.len(),
        _ => 0,
    }
}

/// Reads the first sheet of an xlsx file's bytes.
pub(crate) fn first_sheet(bytes: &[u8]) -> Result<Sheet, WorkbookError> {
    if bytes.is_empty() {
        return Err(WorkbookError::Empty);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(WorkbookError::TooLarge(bytes.len()));
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(what_it_is(bytes));
    }
    let (name, rebuilt) = checked_package(bytes)?;
    let damaged = |e: calamine::XlsxError| WorkbookError::Damaged(e.to_string());
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(rebuilt.as_slice())).map_err(damaged)?;
    // Cell by cell, never the sheet's whole rectangle: a file with one value in A1 and one in
    // XFD1048576 would otherwise ask for seventeen billion cells.
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let (mut last_row, mut text) = (0u32, 0usize);
    let mut reader = book.worksheet_cells_reader(&name).map_err(damaged)?;
    while let Some(c) = reader.next_cell().map_err(damaged)? {
        let (row, col) = c.get_position();
        if matches!(c.get_value(), DataRef::Empty) {
            continue;
        }
        last_row = last_row.max(row);
        // Rows past the limit are only counted; columns past the last one a record has are
        // never read (the titles are looked for among the first ones).
        if row as usize > MAX_ROWS + 1 || col >= MAX_COLUMNS {
            continue;
        }
        // Every cell of a shared string would be a copy of it: the sheet's text is capped.
        text += text_bytes(c.get_value());
        if text > MAX_SHEET_TEXT {
            return Err(WorkbookError::TooMuchText(MAX_SHEET_TEXT));
        }
        let value = cell(c.get_value());
        let (row, col) = (row as usize, col as usize);
        if rows.len() <= row {
            rows.resize(row + 1, Vec::new());
        }
        if rows[row].len() <= col {
            rows[row].resize(col + 1, Cell::Empty);
        }
        rows[row][col] = value;
    }
    if last_row as usize > MAX_ROWS + 1 {
        return Err(WorkbookError::TooManyRows(last_row as usize));
    }
    Ok(Sheet { name, rows })
}

#[cfg(test)]
mod tests;
