//! The package's XML read in one linear pass per part, before any reader sees it: no DOCTYPE (so
//! no entities), a cap on attributes per element and no attribute twice (parsers check duplicates
//! pairwise), and from the sheet itself its formulas, its references outside the grid and its
//! hidden rows and columns; from the workbook its sheets, from the relationships their targets.

use super::limits::{MAX_ATTRIBUTES, MAX_CELLS};
use crate::domain::records::WorkbookError;
use quick_xml::events::{BytesStart, Event};
use std::collections::{BTreeMap, BTreeSet};

fn damaged(detail: impl std::fmt::Display) -> WorkbookError {
    WorkbookError::Damaged(detail.to_string())
}

/// An element's attributes as (qualified name, value), refused past the cap or when a name
/// repeats. Linear in the element's size: the cap keeps the duplicate check small.
fn attributes<'b>(e: &'b BytesStart<'_>) -> Result<Vec<(&'b [u8], String)>, WorkbookError> {
    let mut out: Vec<(&[u8], String)> = Vec::new();
    let mut all = e.attributes();
    all.with_checks(false);
    for a in all {
        let a = a.map_err(damaged)?;
        if out.len() == MAX_ATTRIBUTES {
            return Err(damaged(format!("an element with more than {MAX_ATTRIBUTES} attributes")));
        }
        let key = a.key.into_inner();
        if out.iter().any(|(k, _)| *k == key) {
            return Err(damaged("an attribute given twice"));
        }
        let raw = std::str::from_utf8(&a.value).map_err(damaged)?;
        let value = quick_xml::escape::unescape(raw).map_err(damaged)?.into_owned();
        out.push((key, value));
    }
    Ok(out)
}

/// The value of an unprefixed attribute.
fn plain<'v>(attrs: &'v [(&[u8], String)], name: &[u8]) -> Option<&'v str> {
    attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

/// An attribute's name without its prefix (`r:id` → `id`).
fn local(key: &[u8]) -> &[u8] {
    key.rsplit(|b| *b == b':').next().unwrap_or(key)
}

fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1") | Some("true"))
}

/// Walks every event of a part, handing start and empty elements to `visit`; refuses a DOCTYPE
/// and every element that breaks the attribute rules.
fn walk(
    xml: &[u8],
    mut visit: impl FnMut(&[u8], &[(&[u8], String)], bool) -> Result<bool, WorkbookError>,
) -> Result<(), WorkbookError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::DocType(_) => return Err(damaged("a DOCTYPE (entities are not read)")),
            Event::Start(e) => {
                let attrs = attributes(&e)?;
                if !visit(e.local_name().as_ref(), &attrs, false)? {
                    return Ok(());
                }
            }
            Event::Empty(e) => {
                let attrs = attributes(&e)?;
                if !visit(e.local_name().as_ref(), &attrs, true)? {
                    return Ok(());
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// A part given to the reader as it is (shared strings, styles): only the general rules, and
/// for the shared strings, counts that do not claim more strings than there are (a reader
/// reserves room for the claimed count).
pub(super) fn check_plain(xml: &[u8]) -> Result<(), WorkbookError> {
    let (mut unique, mut strings) = (None, 0u64);
    walk(xml, |name, attrs, _| {
        match name {
            b"sst" => {
                unique = plain(attrs, b"uniqueCount")
                    .map(|v| v.trim().parse::<u64>().map_err(|_| damaged("a count that is no number")))
                    .transpose()?;
            }
            b"si" => strings += 1,
            _ => {}
        }
        Ok(true)
    })?;
    match unique {
        Some(n) if n > strings => Err(damaged(format!("{n} unique strings claimed, {strings} present"))),
        _ => Ok(()),
    }
}

/// A sheet listed in the workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SheetEntry {
    pub(super) name: String,
    pub(super) visible: bool,
    pub(super) relationship: String,
}

/// The workbook's sheets in order, and whether its dates count from 1904.
pub(super) fn workbook(xml: &[u8]) -> Result<(Vec<SheetEntry>, bool), WorkbookError> {
    let (mut sheets, mut date1904) = (Vec::new(), false);
    walk(xml, |name, attrs, _| {
        match name {
            b"workbookPr" => date1904 = truthy(plain(attrs, b"date1904")),
            b"sheet" => {
                // One relationship id: a second `id` (unprefixed, or in another namespace) is
                // read by some readers and not others.
                let ids: Vec<&String> = attrs.iter().filter(|(k, _)| local(k) == b"id").map(|(_, v)| v).collect();
                let [id] = ids.as_slice() else {
                    let name = plain(attrs, b"name").unwrap_or("");
                    return Err(WorkbookError::Ambiguous(format!("sheet {name}")));
                };
                let state = plain(attrs, b"state").unwrap_or("visible");
                sheets.push(SheetEntry {
                    name: plain(attrs, b"name").unwrap_or("").to_string(),
                    visible: state == "visible",
                    relationship: (*id).clone(),
                });
            }
            _ => {}
        }
        Ok(true)
    })?;
    Ok((sheets, date1904))
}

/// A relationship of the workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Relationship {
    pub(super) kind: String,
    pub(super) target: String,
    pub(super) external: bool,
}

/// The relationships by id; an id given twice is refused (readers take the first or the last).
pub(super) fn relationships(xml: &[u8]) -> Result<BTreeMap<String, Relationship>, WorkbookError> {
    let mut out = BTreeMap::new();
    walk(xml, |name, attrs, _| {
        if name == b"Relationship" {
            let id = plain(attrs, b"Id").unwrap_or("").to_string();
            let kind = plain(attrs, b"Type").unwrap_or("");
            let kind = kind.rsplit('/').next().unwrap_or("").to_string();
            let target = plain(attrs, b"Target").unwrap_or("").to_string();
            let external = plain(attrs, b"TargetMode").is_some_and(|m| m.eq_ignore_ascii_case("external"));
            if out.insert(id.clone(), Relationship { kind, target, external }).is_some() {
                return Err(WorkbookError::Ambiguous(format!("relationship {id}")));
            }
        }
        Ok(true)
    })?;
    Ok(out)
}

/// What the sheet's XML says beyond its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SheetFacts {
    /// Cells holding a formula (the first ten).
    pub(super) formulas: Vec<String>,
    /// Hidden rows (1-based) that hold a value.
    pub(super) hidden_rows: BTreeSet<u32>,
    /// Hidden columns (0-based) that hold a value.
    pub(super) hidden_columns: BTreeSet<u32>,
    /// Cells that hold a value, and the last row (1-based) with one.
    pub(super) cells: usize,
    pub(super) last_row: u32,
}

/// A cell reference's (0-based column, 1-based row), if it lies in the grid (A1..XFD1048576).
fn cell_position(reference: &str) -> Option<(u32, u32)> {
    let letters = reference.chars().take_while(|c| c.is_ascii_uppercase()).count();
    let (col, row) = reference.split_at(letters);
    if col.is_empty() || col.len() > 3 || (col.len() == 3 && col > "XFD") {
        return None;
    }
    let row = row.parse::<u32>().ok().filter(|r| (1..=1_048_576).contains(r))?;
    let col = col.bytes().fold(0u32, |n, b| n * 26 + u32::from(b - b'A' + 1)) - 1;
    Some((col, row))
}

/// Reads the sheet's formulas, references and hidden rows and columns. Positions follow the
/// reader's rule: a row or cell without a reference is the one after the previous.
pub(super) fn sheet(xml: &[u8]) -> Result<SheetFacts, WorkbookError> {
    let mut facts = SheetFacts::default();
    let mut hidden_cols: Vec<(u32, u32)> = Vec::new();
    let (mut row, mut col, mut row_hidden, mut all_rows_hidden) = (0u32, 0u32, false, false);
    let mut cell = String::new();
    // Whether the current cell lies in a hidden row or column: it matters once a value follows.
    let mut concealed = false;
    let is_hidden_col = |cols: &[(u32, u32)], c: u32| cols.iter().any(|(a, b)| (*a..=*b).contains(&(c + 1)));
    walk(xml, |name, attrs, empty| {
        match name {
            b"sheetFormatPr" => all_rows_hidden = truthy(plain(attrs, b"zeroHeight")),
            b"col" => {
                let min = plain(attrs, b"min").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
                let max = plain(attrs, b"max").and_then(|v| v.parse::<u32>().ok()).unwrap_or(min);
                let zero_width = plain(attrs, b"width").and_then(|w| w.parse::<f64>().ok()) == Some(0.0);
                if truthy(plain(attrs, b"hidden")) || zero_width {
                    hidden_cols.push((min, max.min(16_384)));
                }
            }
            b"row" => {
                row = match plain(attrs, b"r") {
                    Some(r) => r
                        .parse::<u32>()
                        .ok()
                        .filter(|r| (1..=1_048_576).contains(r))
                        .ok_or_else(|| damaged(format!("a row outside the sheet: {r:?}")))?,
                    None => row + 1,
                };
                col = 0;
                let height = plain(attrs, b"ht").and_then(|h| h.parse::<f64>().ok());
                let custom = truthy(plain(attrs, b"customHeight"));
                row_hidden = truthy(plain(attrs, b"hidden"))
                    || height == Some(0.0)
                    || (all_rows_hidden && !(custom && height.is_some_and(|h| h > 0.0)));
            }
            b"c" => {
                let (c, r) = match plain(attrs, b"r") {
                    Some(reference) => cell_position(reference)
                        .ok_or_else(|| damaged(format!("a reference outside the sheet: {reference:?}")))?,
                    None => (col, row.max(1)),
                };
                col = c + 1;
                row = r;
                cell = format!("{}{r}", crate::domain::records::column_letters(c));
                concealed = !empty && (row_hidden || is_hidden_col(&hidden_cols, c));
            }
            b"v" | b"is" if !empty && !concealed => {
                facts.cells += 1;
                facts.last_row = facts.last_row.max(row);
                if facts.cells > MAX_CELLS {
                    return Ok(false);
                }
            }
            b"v" | b"is" if !empty => {
                facts.cells += 1;
                facts.last_row = facts.last_row.max(row);
                if row_hidden {
                    facts.hidden_rows.insert(row);
                }
                if is_hidden_col(&hidden_cols, col - 1) {
                    facts.hidden_columns.insert(col - 1);
                }
                concealed = false;
            }
            b"f" => {
                if facts.formulas.last() != Some(&cell) {
                    facts.formulas.push(cell.clone());
                }
                if facts.formulas.len() == 10 {
                    return Ok(false);
                }
            }
            _ => {}
        }
        Ok(true)
    })?;
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

    #[test]
    fn hidden_rows_and_columns_are_found_where_they_hold_values() {
        let xml = format!(
            r#"{HEAD}<cols><col min="3" max="4" width="0"/><col min="9" max="16384" hidden="1"/></cols><sheetData>
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1"/></row>
            <row r="2" hidden="1"><c r="A2"><v>1</v></c></row>
            <row r="3" ht="0" customHeight="1"/>
            <row r="4"><c r="B4"><v>2</v></c><c><v>3</v></c></row>
            </sheetData></worksheet>"#
        );
        let facts = sheet(xml.as_bytes()).unwrap();
        assert_eq!(facts.hidden_rows, BTreeSet::from([2]));
        // C4 follows B4 without a reference; C1 is hidden but empty; I onwards holds nothing.
        assert_eq!(facts.hidden_columns, BTreeSet::from([2]));
        let zero = format!(
            r#"{HEAD}<sheetFormatPr zeroHeight="1"/><sheetData><row r="1" ht="15" customHeight="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c></row></sheetData></worksheet>"#
        );
        assert_eq!(sheet(zero.as_bytes()).unwrap().hidden_rows, BTreeSet::from([2]));
    }

    #[test]
    fn attributes_are_capped_and_never_doubled() {
        let many: String = (0..=MAX_ATTRIBUTES).map(|i| format!(r#" a{i}="1""#)).collect();
        let xml = format!(r#"{HEAD}<sheetData><row r="1"><c r="A1"{many}/></row></sheetData></worksheet>"#);
        assert!(matches!(sheet(xml.as_bytes()), Err(WorkbookError::Damaged(_))));
        let twice = format!(r#"{HEAD}<sheetData><row r="1"><c r="A1" r="A2"/></row></sheetData></worksheet>"#);
        assert!(matches!(sheet(twice.as_bytes()), Err(WorkbookError::Damaged(_))));
        let doctype = r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><sst><si><t>&a;</t></si></sst>"#;
        assert!(matches!(check_plain(doctype.as_bytes()), Err(WorkbookError::Damaged(_))));
    }

    #[test]
    fn a_sheet_with_two_ids_and_a_doubled_relationship_are_ambiguous() {
        let wb =
            r#"<workbook xmlns:r="R"><sheets><sheet name="S" sheetId="1" id="rId9" r:id="rId1"/></sheets></workbook>"#;
        assert!(matches!(workbook(wb.as_bytes()), Err(WorkbookError::Ambiguous(_))));
        let rels = r#"<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="a.xml"/><Relationship Id="rId1" Type="x/worksheet" Target="b.xml"/></Relationships>"#;
        assert!(matches!(relationships(rels.as_bytes()), Err(WorkbookError::Ambiguous(_))));
    }

    #[test]
    fn cell_positions_stay_inside_the_grid() {
        assert_eq!(cell_position("A1"), Some((0, 1)));
        assert_eq!(cell_position("XFD1048576"), Some((16_383, 1_048_576)));
        for bad in ["XFE1", "A0", "A1048577", "ZZZZ1", "1", "a1"] {
            assert_eq!(cell_position(bad), None, "{bad}");
        }
    }
}
