//! Reading the workbooks people fill in (calamine): the first sheet's cells, as Excel and WPS
//! write them, after refusing what is not a plain filled sheet: a file that is not xlsx (a CSV
//! renamed, an old .xls, a truncated download), one that inflates far beyond its size (a zip
//! bomb), formulas (a value must be typed, not computed or linked: `=HYPERLINK(…)` included), and
//! hidden sheets (a visible sheet must be what is imported).

use crate::domain::records::{Cell, NotXlsx, Sheet, WorkbookError, MAX_FILE_BYTES, MAX_ROWS};
use calamine::{Data, Reader, SheetVisible, Xlsx};
use std::io::Cursor;

/// Columns read: a records sheet has a dozen; anything far right is not part of it.
const MAX_COLUMNS: u32 = 256;
/// What the parts of the file may inflate to, all together.
const MAX_INFLATED_BYTES: u64 = 256 << 20;
/// How much a part may inflate relative to its compressed size (xlsx parts reach 10–30).
const MAX_RATIO: u64 = 200;

/// What a file starts with, for the message when it is not an xlsx.
fn what_it_is(bytes: &[u8]) -> NotXlsx {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        NotXlsx::OldFormat
    } else if !bytes.is_empty() && std::str::from_utf8(&bytes[..bytes.len().min(512)]).is_ok() {
        NotXlsx::Text
    } else {
        NotXlsx::Other
    }
}

/// The zip's parts checked for size before any is inflated.
fn check_zip(bytes: &[u8]) -> Result<(), WorkbookError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| WorkbookError::Damaged(e.to_string()))?;
    let mut total = 0u64;
    let mut workbook = false;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|e| WorkbookError::Damaged(e.to_string()))?;
        workbook |= part.name() == "xl/workbook.xml";
        total = total.saturating_add(part.size());
        if part.size() > (1 << 20) && part.size() / part.compressed_size().max(1) > MAX_RATIO {
            return Err(WorkbookError::Inflates(part.size()));
        }
    }
    if total > MAX_INFLATED_BYTES {
        return Err(WorkbookError::Inflates(total));
    }
    if !workbook {
        return Err(WorkbookError::NotXlsx(NotXlsx::Other));
    }
    Ok(())
}

/// A cell as the records reader takes it: numbers through their shortest round-trip text (so a
/// double 14.5 reads 14.5), dates as dates.
fn cell(value: &Data) -> Cell {
    match value {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(i.to_string()),
        Data::Float(f) => Cell::Number(format!("{f}")),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) if d.is_datetime() => match d.as_datetime() {
            Some(t) => Cell::Date(t.date()),
            None => Cell::Number(format!("{}", d.as_f64())),
        },
        Data::DateTime(d) => Cell::Number(format!("{}", d.as_f64())),
        Data::DateTimeIso(s) => match crate::domain::period::parse_date(s.get(..10).unwrap_or(s)) {
            Some(d) => Cell::Date(d),
            None => Cell::Text(s.clone()),
        },
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Reads the first sheet of an xlsx file's bytes.
pub(crate) fn first_sheet(bytes: &[u8]) -> Result<Sheet, WorkbookError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(WorkbookError::TooLarge(bytes.len()));
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(WorkbookError::NotXlsx(what_it_is(bytes)));
    }
    check_zip(bytes)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| WorkbookError::Damaged(e.to_string()))?;
    let sheets = book.sheets_metadata().to_vec();
    let hidden: Vec<String> =
        sheets.iter().filter(|s| s.visible != SheetVisible::Visible).map(|s| s.name.clone()).collect();
    if !hidden.is_empty() {
        return Err(WorkbookError::HiddenSheets(hidden));
    }
    let name = sheets.first().map(|s| s.name.clone()).ok_or(WorkbookError::NoSheet)?;
    // Cell by cell, never the sheet's whole rectangle: a file with one value in A1 and one in
    // XFD1048576 would otherwise ask for seventeen billion cells.
    let damaged = |e: calamine::XlsxError| WorkbookError::Damaged(e.to_string());
    let mut with_formula = Vec::new();
    {
        let mut reader = book.worksheet_cells_reader(&name).map_err(damaged)?;
        while let Some(f) = reader.next_formula().map_err(damaged)? {
            if !f.get_value().is_empty() {
                let (row, col) = f.get_position();
                with_formula.push(format!("{}{}", crate::domain::records::column_letters(col), row + 1));
                if with_formula.len() == 10 {
                    break;
                }
            }
        }
    }
    if !with_formula.is_empty() {
        return Err(WorkbookError::Formulas(with_formula));
    }
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut last_row = 0u32;
    let mut reader = book.worksheet_cells_reader(&name).map_err(damaged)?;
    while let Some(c) = reader.next_cell().map_err(damaged)? {
        let value = cell(&Data::from(c.get_value().clone()));
        if value == Cell::Empty {
            continue;
        }
        let (row, col) = c.get_position();
        last_row = last_row.max(row);
        // Rows past the limit are only counted; columns past the last one a record has are
        // never read (the titles are looked for among the first ones).
        if row as usize > MAX_ROWS + 1 || col >= MAX_COLUMNS {
            continue;
        }
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
mod tests {
    use super::*;

    fn book(fill: impl FnOnce(&mut rust_xlsxwriter::Workbook)) -> Vec<u8> {
        let mut b = rust_xlsxwriter::Workbook::new();
        fill(&mut b);
        b.save_to_buffer().unwrap()
    }

    #[test]
    fn values_read_as_typed_and_at_their_positions() {
        let bytes = book(|b| {
            let s = b.add_worksheet().set_name("数据").unwrap();
            s.write_string(0, 1, "得分").unwrap();
            s.write_number(1, 1, 14.5).unwrap();
            s.write_number(2, 1, 0.1 + 0.2).unwrap();
            let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 11, 5).unwrap();
            let f = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
            s.write_datetime_with_format(3, 1, &date, &f).unwrap();
        });
        let sheet = first_sheet(&bytes).unwrap();
        assert_eq!(sheet.name, "数据");
        assert_eq!(sheet.rows[0], [Cell::Empty, Cell::Text("得分".into())]);
        assert_eq!(sheet.rows[1][1], Cell::Number("14.5".into()));
        // A double is read through its shortest round-trip text, not rounded to look nice.
        assert_eq!(sheet.rows[2][1], Cell::Number("0.30000000000000004".into()));
        assert_eq!(sheet.rows[3][1], Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap()));
    }

    #[test]
    fn formulas_hidden_sheets_and_other_files_are_refused_by_name() {
        let formula = book(|b| {
            let s = b.add_worksheet();
            s.write_formula(1, 2, "=HYPERLINK(\"http://x\",\"点我\")").unwrap();
        });
        assert_eq!(first_sheet(&formula), Err(WorkbookError::Formulas(vec!["C2".into()])));
        let hidden = book(|b| {
            b.add_worksheet().write_string(0, 0, "x").unwrap();
            b.add_worksheet().set_name("真数据").unwrap().set_hidden(true);
        });
        assert_eq!(first_sheet(&hidden), Err(WorkbookError::HiddenSheets(vec!["真数据".into()])));
        assert_eq!(first_sheet(b"partner,points\nP01,3\n"), Err(WorkbookError::NotXlsx(NotXlsx::Text)));
        let whole = book(|b| {
            b.add_worksheet().write_string(0, 0, "x").unwrap();
        });
        assert!(matches!(first_sheet(&whole[..whole.len() / 2]), Err(WorkbookError::Damaged(_))));
    }

    /// Two values at opposite corners of the largest sheet: read cell by cell, refused by the row
    /// count, never a rectangle of seventeen billion cells.
    #[test]
    fn a_sheet_spanning_the_grid_is_refused_without_allocating_it() {
        let bytes = book(|b| {
            let s = b.add_worksheet();
            s.write_string(0, 0, "得分").unwrap();
            s.write_string(1_048_575, 16_383, "x").unwrap();
        });
        assert_eq!(first_sheet(&bytes), Err(WorkbookError::TooManyRows(1_048_575)));
        let wide = book(|b| {
            let s = b.add_worksheet();
            s.write_string(0, 0, "得分").unwrap();
            s.write_string(1, 16_383, "far right").unwrap();
        });
        let sheet = first_sheet(&wide).unwrap();
        assert_eq!(sheet.rows[0], [Cell::Text("得分".into())]);
        assert!(sheet.rows.get(1).is_none_or(|r| r.is_empty()), "columns far right are not read");
    }
}
