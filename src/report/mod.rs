//! Output writers: pure formatters that return bytes, and the one atomic file write they go through.

pub mod charts;
pub mod csv;
pub mod forms;
pub mod index;
pub mod lifecycle;
pub mod monthly;
pub mod templates;

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Writes a file atomically (temporary name, then rename) so no reader sees it half-written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp =
        dir.join(format!(".{}.tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("out"), std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
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
