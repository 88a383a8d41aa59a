//! Outputs for people and programs: pure formatters that return bytes (CSV, HTML, xlsx, PNG) and
//! the letters the mail sends. Writing them is the caller's (`files`).

pub(crate) mod charts;
pub(crate) mod csv;
pub(crate) mod explain;
pub(crate) mod failures;
pub(crate) mod finance;
pub(crate) mod forms;
pub(crate) mod index;
pub(crate) mod ledger;
pub(crate) mod lifecycle;
pub(crate) mod monthly;
pub(crate) mod records;
pub(crate) mod sheet;
pub(crate) mod templates;
pub(crate) mod whatif;
pub(crate) mod words;

/// What a message says: subject, HTML (images by `cid:`), plain text and the inline images. Built
/// by the reports, sent by `mail`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Letter {
    pub(crate) subject: String,
    pub(crate) html: String,
    pub(crate) text: String,
    /// (content id, PNG bytes).
    pub(crate) images: Vec<(String, Vec<u8>)>,
}

/// Workbook properties dated by the period, not the wall clock, so that a rerun writes the same
/// bytes (idempotent outputs, and comparable after a crash).
pub(crate) fn stable_properties(
    day: chrono::NaiveDate,
) -> Result<rust_xlsxwriter::DocProperties, rust_xlsxwriter::XlsxError> {
    use chrono::Datelike;
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(day.year() as u16, day.month() as u8, day.day() as u8)?;
    Ok(rust_xlsxwriter::DocProperties::new().set_author("ict-partners").set_creation_datetime(&date))
}

/// A short, stable, file-name-safe token for a name people read in Chinese (a department, a
/// commissioning unit): the first 8 hex digits of its SHA-256.
pub(crate) fn short_hash(name: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(name.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect()
}
