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

/// `O_NOFOLLOW` and `O_NONBLOCK` (Linux): a temporary file is never opened through a symlink
/// planted at its name, and opening a FIFO to read never waits for a writer.
const O_NOFOLLOW: i32 = 0o400_000;
const O_NONBLOCK: i32 = 0o4_000;

/// Writes a file atomically (a new temporary file beside it, then rename) so no reader sees it
/// half-written, and readable by owner and group only (0640). The rename replaces a symlink at
/// `path` itself, never what it points to; the temporary file is created new, never reused.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), SEQUENCE.fetch_add(1, Ordering::Relaxed)));
    let written = (|| {
        let mut f =
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o640).custom_flags(O_NOFOLLOW).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Replaces what lies between `<!--{marker}-->` and `<!--/{marker}-->` in a file we wrote (the
/// state line of a page), atomically. A file without the markers is left as it is.
pub(crate) fn replace_marked(path: &Path, marker: &str, content: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let (open, close) = (format!("<!--{marker}-->"), format!("<!--/{marker}-->"));
    let (Some(start), Some(end)) = (text.find(&open), text.find(&close)) else { return Ok(()) };
    if end < start {
        return Ok(());
    }
    let new = format!("{}{open}{content}{}", &text[..start], &text[end..]);
    if new != text {
        write_atomic(path, new.as_bytes())?;
    }
    Ok(())
}

/// Why a file given by a person (`--out`, a file to import) is refused before anything is
/// read from it or written over it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PathRefused {
    /// It exists and is not a regular file (a device, a FIFO, a folder, a symlink for `--out`).
    #[error("not a regular file")]
    NotRegular,
    /// Larger than the caller reads (its size in bytes, as far as it was read).
    #[error("{0} bytes")]
    TooLarge(u64),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads a regular file of at most `max` bytes. The size is checked from the open file's own
/// metadata before a byte is read, and the read stops one byte past `max` whatever the file
/// does meanwhile; a device, a FIFO or a folder is refused without waiting on it.
pub(crate) fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, PathRefused> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    if !std::fs::metadata(path)?.is_file() {
        return Err(PathRefused::NotRegular);
    }
    let file = std::fs::OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(PathRefused::NotRegular);
    }
    if meta.len() > max {
        return Err(PathRefused::TooLarge(meta.len()));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(PathRefused::TooLarge(out.len() as u64));
    }
    Ok(out)
}

/// Writes a file a person named (`--out`): refused when the path exists and is not a regular
/// file (a device, a folder, a symlink), else written atomically beside it.
pub(crate) fn write_named(path: &Path, bytes: &[u8]) -> Result<(), PathRefused> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => return Err(PathRefused::NotRegular),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    write_atomic(path, bytes)?;
    Ok(())
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
    fn named_outputs_never_replace_devices_or_follow_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("real.xlsx");
        std::fs::write(&target, b"old").unwrap();
        let link = root.path().join("link.xlsx");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(write_named(&link, b"new"), Err(PathRefused::NotRegular)));
        assert_eq!(std::fs::read(&target).unwrap(), b"old", "the symlink's target is untouched");
        assert!(matches!(write_named(Path::new("/dev/null"), b"x"), Err(PathRefused::NotRegular)));
        assert!(matches!(write_named(root.path(), b"x"), Err(PathRefused::NotRegular)));
        write_named(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn files_to_read_are_sized_before_reading() {
        let root = tempfile::tempdir().unwrap();
        let sparse = root.path().join("big.xlsx");
        std::fs::File::create(&sparse).unwrap().set_len(3 << 30).unwrap();
        assert!(matches!(read_regular(&sparse, 20 << 20), Err(PathRefused::TooLarge(n)) if n == 3 << 30));
        assert!(matches!(read_regular(Path::new("/dev/zero"), 20 << 20), Err(PathRefused::NotRegular)));
        assert!(matches!(read_regular(root.path(), 20 << 20), Err(PathRefused::NotRegular)));
        std::fs::write(&sparse, b"PK").unwrap();
        assert_eq!(read_regular(&sparse, 20 << 20).unwrap(), b"PK");
    }

    #[test]
    fn hostile_identifiers_become_plain_file_names() {
        assert_eq!(safe_name("../../etc/x"), "______etc_x");
        assert_eq!(safe_name("ACME\r\nBcc:"), "ACME__Bcc_");
        assert_eq!(safe_name(""), "_");
    }
}
