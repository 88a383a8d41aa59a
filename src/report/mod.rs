//! Output writers: pure formatters that return bytes, and the one atomic file write they go through.

pub mod charts;
pub mod csv;
pub mod explain;
pub mod finance;
pub mod forms;
pub mod index;
pub mod ledger;
pub mod lifecycle;
pub mod monthly;
pub mod templates;

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Workbook properties dated by the period, not the wall clock, so that a rerun writes the same
/// bytes (idempotent outputs, and comparable after a crash).
pub fn stable_properties(day: chrono::NaiveDate) -> Result<rust_xlsxwriter::DocProperties, rust_xlsxwriter::XlsxError> {
    use chrono::Datelike;
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(day.year() as u16, day.month() as u8, day.day() as u8)?;
    Ok(rust_xlsxwriter::DocProperties::new().set_author("ict-partners").set_creation_datetime(&date))
}

/// Creates a folder (and its parents) readable by owner and group only (0750): the outputs carry
/// partners' money.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o750).create(dir)
}

/// Writes a file atomically (temporary name, then rename) so no reader sees it half-written, and
/// readable by owner and group only (0640).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o640).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Joins a period folder under the output root; the parts are our own period names, and anything
/// that would leave the root is refused.
pub fn period_dir(root: &Path, kind: &str, period: &str) -> PathBuf {
    let safe = Path::new(period).components().all(|c| matches!(c, Component::Normal(_)));
    assert!(safe, "period names never contain path separators: {period:?}");
    root.join(kind).join(period)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn outputs_are_private_to_owner_and_group() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("out/monthly/2026-10/scores.csv");
        write_atomic(&file, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o640);
        assert_eq!(mode(&root.path().join("out/monthly")), 0o750);
        assert_eq!(std::fs::read_dir(file.parent().unwrap()).unwrap().count(), 1, "no temporary file is left");
    }
}
