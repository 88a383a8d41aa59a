//! Writing outputs: private folders, atomic file writes and file-name-safe identifiers. Every file
//! the program leaves for people or programs goes through here.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Creates a folder (and its parents) readable by owner and group only (0750): the outputs carry
/// partners' money.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o750).create(dir)
}

/// Writes a file atomically (temporary name, then rename) so no reader sees it half-written, and
/// readable by owner and group only (0640).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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

/// Writes named files under a folder, atomically each; the error names the file.
pub(crate) fn write_all<N: AsRef<str>>(dir: &Path, files: &[(N, Vec<u8>)]) -> Result<(), WriteError> {
    for (name, bytes) in files {
        let path = dir.join(name.as_ref());
        write_atomic(&path, bytes).map_err(|source| WriteError { path, source })?;
    }
    Ok(())
}

/// A file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing {}", .path.display())]
pub(crate) struct WriteError {
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: std::io::Error,
}

/// A file-name-safe form of an identifier: ASCII letters, digits, `-` and `_` only.
pub(crate) fn safe_name(id: &str) -> String {
    let s: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

/// Joins a period folder under the output root; the parts are our own period names, and anything
/// that would leave the root is refused.
pub(crate) fn period_dir(root: &Path, kind: &str, period: &str) -> PathBuf {
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

    #[test]
    fn hostile_identifiers_become_plain_file_names() {
        assert_eq!(safe_name("../../etc/x"), "______etc_x");
        assert_eq!(safe_name("ACME\r\nBcc:"), "ACME__Bcc_");
        assert_eq!(safe_name(""), "_");
    }
}
