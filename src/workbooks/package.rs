//! The zip package of an xlsx file, read one way only. The central directory is walked here, byte
//! by byte, and every name is checked before any part is inflated: a package whose parts could be
//! read two ways (names differing only in case, backslashes, duplicate entries, a local header
//! that names another part) is refused, never resolved the way one reader or another would.
//! Parts are inflated with a counted limit on the bytes really produced; declared sizes are only
//! compared with what came out.

use super::limits::{MAX_PART_BYTES, MAX_TOTAL_BYTES};
use crate::domain::records::{NotXlsx, WorkbookError};
use std::collections::BTreeMap;
use std::io::{Cursor, Read};

/// More entries than an xlsx file of records has (a workbook has about a dozen parts).
const MAX_ENTRIES: usize = 1_000;
/// How much a part may declare to inflate relative to its compressed size before it is opened
/// (xlsx parts reach 10–30; a sheet of repeated rows a few hundred).
const MAX_RATIO: u64 = 1_000;

/// One entry of the central directory, as its bytes say.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    compressed: u64,
    declared: u64,
    local_header: u64,
}

/// A checked package: every part inflated once, by exact name.
pub(super) struct Package {
    parts: BTreeMap<String, Vec<u8>>,
}

fn damaged(detail: impl std::fmt::Display) -> WorkbookError {
    WorkbookError::Damaged(detail.to_string())
}

fn ambiguous(part: &str) -> WorkbookError {
    WorkbookError::Ambiguous(part.chars().take(120).collect())
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)))
}

/// The central directory's entries, walked from the end-of-central-directory record.
fn central_directory(bytes: &[u8]) -> Result<Vec<Entry>, WorkbookError> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const CENTRAL: u64 = 0x0201_4b50;
    // The record is 22 bytes plus a comment of at most 65,535.
    let from = bytes.len().saturating_sub(22 + 65_535);
    let at = (from..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&i| bytes[i..].starts_with(&EOCD))
        .ok_or_else(|| damaged("no end of central directory"))?;
    let count = u16_at(bytes, at + 10).ok_or_else(|| damaged("short end record"))?;
    let size = u32_at(bytes, at + 12).ok_or_else(|| damaged("short end record"))?;
    let offset = u32_at(bytes, at + 16).ok_or_else(|| damaged("short end record"))?;
    // A records workbook is far below the sizes that need zip64: its markers are not trusted.
    if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        return Err(damaged("zip64 markers in a small file"));
    }
    if count as usize > MAX_ENTRIES {
        return Err(damaged(format!("{count} entries")));
    }
    let (start, end) = (offset as usize, offset as usize + size as usize);
    if end > at || start > end {
        return Err(damaged("central directory outside the file"));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut p = start;
    while p < end {
        let field = |o: usize, n: usize| if n == 2 { u16_at(bytes, p + o) } else { u32_at(bytes, p + o) };
        let short = || damaged("short central directory entry");
        if u32_at(bytes, p).ok_or_else(short)? != CENTRAL {
            return Err(damaged("not a central directory entry"));
        }
        let compressed = field(20, 4).ok_or_else(short)?;
        let declared = field(24, 4).ok_or_else(short)?;
        let (name_len, extra_len, comment_len) =
            (field(28, 2).ok_or_else(short)?, field(30, 2).ok_or_else(short)?, field(32, 2).ok_or_else(short)?);
        let local_header = field(42, 4).ok_or_else(short)?;
        let name = bytes.get(p + 46..p + 46 + name_len as usize).ok_or_else(short)?;
        let name = std::str::from_utf8(name).map_err(|_| ambiguous(&String::from_utf8_lossy(name)))?.to_string();
        entries.push(Entry { name, compressed, declared, local_header });
        p += 46 + (name_len + extra_len + comment_len) as usize;
        if entries.len() > MAX_ENTRIES {
            return Err(damaged("too many entries"));
        }
    }
    if entries.len() as u64 != count {
        return Err(damaged("the entry count disagrees with the directory"));
    }
    Ok(entries)
}

/// A part name as OPC allows it: forward slashes, no empty, `.` or `..` segment, nothing that a
/// reader could fold onto another name.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.chars().any(|c| c.is_control() || c == ':')
        && name.split('/').enumerate().all(|(i, s)| {
            let last = i == name.split('/').count() - 1;
            (s.is_empty() && last) || (!s.is_empty() && s != "." && s != "..")
        })
}

impl Package {
    /// Checks the package's names, then inflates every part under one counted limit (a bomb in a
    /// part nobody reads is refused too) and checks each against its declared size.
    pub(super) fn open(bytes: &[u8]) -> Result<Self, WorkbookError> {
        let entries = central_directory(bytes)?;
        let mut by_name: BTreeMap<String, Entry> = BTreeMap::new();
        let mut folded: BTreeMap<String, String> = BTreeMap::new();
        for e in entries {
            if !plain_name(&e.name) {
                return Err(ambiguous(&e.name));
            }
            // Names that differ only in case are one part to readers that fold case.
            if folded.insert(e.name.to_lowercase(), e.name.clone()).is_some() {
                return Err(ambiguous(&e.name));
            }
            // The local header must name the same part: some readers believe it instead.
            let at = e.local_header as usize;
            if u32_at(bytes, at) != Some(0x0403_4b50) {
                return Err(damaged("no local header where the directory says"));
            }
            let local_len = u16_at(bytes, at + 26).ok_or_else(|| damaged("short local header"))? as usize;
            if bytes.get(at + 30..at + 30 + local_len) != Some(e.name.as_bytes()) {
                return Err(ambiguous(&e.name));
            }
            by_name.insert(e.name.clone(), e);
        }
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
        if zip.len() != by_name.len() {
            return Err(damaged("the zip reader sees other entries"));
        }
        if !by_name.contains_key("xl/workbook.xml") {
            return Err(WorkbookError::NotXlsx(NotXlsx::Other));
        }
        let mut parts = BTreeMap::new();
        let mut inflated = 0u64;
        for (name, entry) in &by_name {
            if entry.declared > MAX_PART_BYTES
                || (entry.declared > (1 << 20) && entry.declared / entry.compressed.max(1) > MAX_RATIO)
            {
                return Err(WorkbookError::Inflates(entry.declared));
            }
            let index = zip.index_for_name(name).ok_or_else(|| ambiguous(name))?;
            let part = zip.by_index(index).map_err(damaged)?;
            let room = MAX_PART_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(inflated));
            let mut out = Vec::with_capacity(entry.declared.min(room) as usize);
            let read = part.take(room + 1).read_to_end(&mut out);
            // Whatever the headers said, what came out is what counts.
            inflated += out.len() as u64;
            if out.len() as u64 > room {
                return Err(WorkbookError::Inflates(inflated));
            }
            read.map_err(damaged)?;
            // More than declared is a bomb hiding behind its headers; less, a damaged file.
            if out.len() as u64 > entry.declared {
                return Err(WorkbookError::Inflates(inflated));
            }
            if (out.len() as u64) < entry.declared {
                return Err(damaged(format!("{name} inflates to less than declared")));
            }
            parts.insert(name.clone(), out);
        }
        Ok(Package { parts })
    }

    /// Whether the package holds a part of exactly this name.
    pub(super) fn has(&self, name: &str) -> bool {
        self.parts.contains_key(name)
    }

    /// The part a relationship's target names: resolved as OPC says, and present under exactly
    /// that name. A target readers could resolve differently, or that only another case of a
    /// name matches, is ambiguous; one that names nothing, damaged.
    pub(super) fn target(&self, source_folder: &str, target: &str) -> Result<String, WorkbookError> {
        let Some(name) = resolve(source_folder, target) else { return Err(ambiguous(target)) };
        if self.has(&name) {
            Ok(name)
        } else if self.parts.keys().any(|k| k.eq_ignore_ascii_case(&name)) {
            Err(ambiguous(target))
        } else {
            Err(damaged(format!("no part {name}")))
        }
    }

    /// A part's bytes; `None` when there is no such part.
    pub(super) fn part(&self, name: &str) -> Option<&[u8]> {
        self.parts.get(name).map(Vec::as_slice)
    }
}

/// Resolves a relationship's target against the folder of its source part (OPC: relative to the
/// source's folder; `/…` from the package root). `None` for a target that leaves the package,
/// is external or is written in a way readers resolve differently.
pub(super) fn resolve(source_folder: &str, target: &str) -> Option<String> {
    if target.contains('\\') || target.contains(':') || target.contains('%') || target.is_empty() {
        return None;
    }
    // `xl/worksheets/…` from `xl/` means `xl/xl/worksheets/…` to OPC, and `xl/worksheets/…` to
    // readers that take it from the root: neither is guessed.
    let folder = source_folder.trim_end_matches('/');
    if !folder.is_empty() && target.split('/').next() == Some(folder) {
        return None;
    }
    let joined = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_string(),
        None => format!("{source_folder}{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => return None,
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// A package holding exactly the checked parts under the names calamine reads, with a workbook
/// and relationships written here: whatever the original said, the reader sees these bytes.
pub(super) fn canonical(
    sheet_name: &str,
    date1904: bool,
    sheet: &[u8],
    shared_strings: Option<&[u8]>,
    styles: Option<&[u8]>,
) -> Result<Vec<u8>, WorkbookError> {
    use std::io::Write;
    let name = quick_xml::escape::escape(sheet_name);
    let date = if date1904 { r#"<workbookPr date1904="1"/>"# } else { "" };
    let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">{date}<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let mut rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>"#
    );
    if shared_strings.is_some() {
        rels.push_str(&format!(r#"<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>"#));
    }
    if styles.is_some() {
        rels.push_str(&format!(r#"<Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/>"#));
    }
    rels.push_str("</Relationships>");
    let types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#;
    let package_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", package_rels.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    if let Some(s) = shared_strings {
        parts.push(("xl/sharedStrings.xml", s));
    }
    if let Some(s) = styles {
        parts.push(("xl/styles.xml", s));
    }
    let size: usize = parts.iter().map(|(_, b)| b.len() + 128).sum();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(size + 1024)));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in parts {
        out.start_file(name, stored).map_err(damaged)?;
        out.write_all(bytes).map_err(damaged)?;
    }
    Ok(out.finish().map_err(damaged)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_inside_the_package_only() {
        assert_eq!(resolve("xl/", "worksheets/sheet1.xml").as_deref(), Some("xl/worksheets/sheet1.xml"));
        assert_eq!(resolve("xl/", "/xl/worksheets/sheet1.xml").as_deref(), Some("xl/worksheets/sheet1.xml"));
        assert_eq!(resolve("xl/", "../xl/worksheets/sheet1.xml").as_deref(), Some("xl/worksheets/sheet1.xml"));
        // Written `xl/…` it means xl/xl/…, which some readers take as xl/… : neither is guessed.
        assert_eq!(resolve("xl/", "xl/worksheets/sheet1.xml"), None);
        for bad in ["../../x.xml", "/../x", "worksheets\\sheet1.xml", "http://x/y", "", "a//b", "./a", "%2e%2e/x"] {
            assert_eq!(resolve("xl/", bad), None, "{bad}");
        }
    }

    #[test]
    fn names_a_reader_could_fold_are_not_plain() {
        assert!(plain_name("xl/worksheets/sheet1.xml") && plain_name("xl/media/"));
        for bad in ["xl\\worksheets\\sheet1.xml", "/xl/workbook.xml", "xl/../x", "xl//x", "xl/./x", "", "a\u{0}b"] {
            assert!(!plain_name(bad), "{bad:?}");
        }
    }
}
