//! Reading the workbooks people fill in (calamine): the first sheet's cells, as Excel and WPS
//! write them, after refusing what is not a plain filled sheet: a file that is not xlsx (a CSV
//! renamed, an old .xls, a truncated download), one that inflates far beyond its size (a zip
//! bomb), formulas (a value must be typed, not computed or linked: `=HYPERLINK(…)` included), and
//! hidden sheets (a visible sheet must be what is imported).

use crate::domain::records::{Cell, NotXlsx, Sheet, WorkbookError, MAX_FILE_BYTES, MAX_ROWS};
use calamine::{Data, Reader, SheetVisible, Xlsx};
use std::io::Cursor;

/// Columns read: a records sheet has about a dozen; anything far right is not part of it.
const MAX_COLUMNS: u32 = 64;
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
    // The sizes above are what the file declares: inflate every part once, counting what really
    // comes out, before a reader trusts them.
    let mut inflated = 0u64;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| WorkbookError::Damaged(e.to_string()))?;
        let mut limited = std::io::Read::take(part, MAX_INFLATED_BYTES + 1 - inflated);
        inflated +=
            std::io::copy(&mut limited, &mut std::io::sink()).map_err(|e| WorkbookError::Damaged(e.to_string()))?;
        if inflated > MAX_INFLATED_BYTES {
            return Err(WorkbookError::Inflates(inflated));
        }
    }
    Ok(())
}

/// A part of the zip as text, or `None` when the file has no such part.
fn part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<Vec<u8>>, WorkbookError> {
    let mut part = match zip.by_name(name) {
        Ok(p) => p,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(WorkbookError::Damaged(e.to_string())),
    };
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut part, &mut out).map_err(|e| WorkbookError::Damaged(e.to_string()))?;
    Ok(Some(out))
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, local: &[u8], prefixed: bool) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local && a.key.prefix().is_some() == prefixed)
            .then(|| String::from_utf8_lossy(&a.value).into_owned())
    })
}

/// The zip part of the workbook's first sheet: `xl/workbook.xml`'s first `<sheet>`, through its
/// relationship in `xl/_rels/workbook.xml.rels`.
fn first_sheet_part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<Option<String>, WorkbookError> {
    let damaged = |e: quick_xml::Error| WorkbookError::Damaged(e.to_string());
    let Some(workbook) = part(zip, "xl/workbook.xml")? else { return Ok(None) };
    let mut reader = quick_xml::Reader::from_reader(workbook.as_slice());
    let mut buf = Vec::new();
    let mut id = None;
    loop {
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.local_name().as_ref() == b"sheet" =>
            {
                id = attribute(&e, b"id", true);
                break;
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let (Some(id), Some(rels)) = (id, part(zip, "xl/_rels/workbook.xml.rels")?) else { return Ok(None) };
    let mut reader = quick_xml::Reader::from_reader(rels.as_slice());
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.local_name().as_ref() == b"Relationship"
                    && attribute(&e, b"Id", false).as_deref() == Some(&id) =>
            {
                let target = attribute(&e, b"Target", false).unwrap_or_default();
                return Ok(Some(match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_string(),
                    None => format!("xl/{target}"),
                }));
            }
            quick_xml::events::Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// A cell or row reference inside the sheet's grid (rows 1–1,048,576, columns A–XFD).
fn in_grid(reference: &str) -> bool {
    let letters = reference.chars().take_while(|c| c.is_ascii_uppercase()).count();
    let (col, row) = reference.split_at(letters);
    let col_ok = col.len() <= 3 && (col.len() < 3 || col <= "XFD");
    let row_ok = row.parse::<u32>().is_ok_and(|r| (1..=1_048_576).contains(&r));
    col_ok && row_ok
}

/// The cells of the first sheet that hold a formula (any `<f>`, whatever calamine would make of
/// it), and references outside the grid, from the sheet's XML itself.
fn formulas_of_first_sheet(bytes: &[u8]) -> Result<Vec<String>, WorkbookError> {
    let damaged = |e: quick_xml::Error| WorkbookError::Damaged(e.to_string());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| WorkbookError::Damaged(e.to_string()))?;
    let Some(name) = first_sheet_part(&mut zip)? else { return Ok(vec![]) };
    let Some(sheet) = part(&mut zip, &name)? else { return Ok(vec![]) };
    let mut reader = quick_xml::Reader::from_reader(sheet.as_slice());
    let (mut buf, mut cell, mut found) = (Vec::new(), String::new(), Vec::new());
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => match e.local_name().as_ref() {
                b"c" | b"row" => {
                    let reference = attribute(&e, b"r", false);
                    let ok = reference.as_deref().is_none_or(|r| {
                        if e.local_name().as_ref() == b"row" {
                            in_grid(&format!("A{r}"))
                        } else {
                            in_grid(r)
                        }
                    });
                    if !ok {
                        return Err(WorkbookError::Damaged(format!("a reference outside the sheet: {reference:?}")));
                    }
                    if e.local_name().as_ref() == b"c" {
                        cell = reference.unwrap_or_else(|| "?".into());
                    }
                }
                b"f" => {
                    if found.last() != Some(&cell) {
                        found.push(cell.clone());
                    }
                    if found.len() == 10 {
                        break;
                    }
                }
                _ => {}
            },
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    Ok(found)
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
    // XFD1048576 would otherwise ask for seventeen billion cells. Formulas are found in the
    // sheet's XML, not through the reader's formula expansion (a shared formula's range is
    // expanded cell by cell there).
    let damaged = |e: calamine::XlsxError| WorkbookError::Damaged(e.to_string());
    let with_formula = formulas_of_first_sheet(bytes)?;
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

    /// A workbook whose first sheet's XML is `sheet` (everything else as rust_xlsxwriter wrote it).
    fn with_sheet_xml(sheet: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let original = book(|b| {
            b.add_worksheet().write_string(0, 0, "得分").unwrap();
        });
        let mut zip = zip::ZipArchive::new(Cursor::new(original.as_slice())).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for i in 0..zip.len() {
            let mut part = zip.by_index(i).unwrap();
            let name = part.name().to_string();
            let mut bytes = Vec::new();
            part.read_to_end(&mut bytes).unwrap();
            out.start_file(name.as_str(), options).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                out.write_all(sheet.as_bytes()).unwrap();
            } else {
                out.write_all(&bytes).unwrap();
            }
        }
        out.finish().unwrap().into_inner()
    }

    /// What a reader would expand (a shared formula over the whole grid, an index in the
    /// billions) or overflow on (a reference past the grid) is refused from the XML itself.
    #[test]
    fn crafted_sheet_xml_is_refused_before_any_reader_expands_it() {
        let head = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
        let shared = format!(
            r#"{head}<row r="1"><c r="A1"><f t="shared" ref="A1:XFD1048576" si="4000000000">1</f><v>1</v></c></row></sheetData></worksheet>"#
        );
        assert_eq!(first_sheet(&with_sheet_xml(&shared)), Err(WorkbookError::Formulas(vec!["A1".into()])));
        let empty_formula = format!(r#"{head}<row r="2"><c r="B2"><f></f><v>3</v></c></row></sheetData></worksheet>"#);
        assert_eq!(first_sheet(&with_sheet_xml(&empty_formula)), Err(WorkbookError::Formulas(vec!["B2".into()])));
        let outside =
            format!(r#"{head}<row r="4294967295"><c r="A4294967295"><v>1</v></c></row></sheetData></worksheet>"#);
        assert!(matches!(first_sheet(&with_sheet_xml(&outside)), Err(WorkbookError::Damaged(_))));
        let wide = format!(r#"{head}<row r="1"><c r="ZZZZ1"><v>1</v></c></row></sheetData></worksheet>"#);
        assert!(matches!(first_sheet(&with_sheet_xml(&wide)), Err(WorkbookError::Damaged(_))));
        assert!(in_grid("XFD1048576") && !in_grid("XFE1") && !in_grid("A0") && !in_grid("A1048577"));
    }
}
