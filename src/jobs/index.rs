//! `index.html` at the output root, rewritten after every run: the period folders found on disk,
//! with where each approved period stands.

use super::Context;
use crate::domain::job::JobKind;
use crate::report::index::{html, sections, Listing, KINDS};
use crate::store::Store;

/// Lists the period folders and their top-level files, and the stored state of each period that
/// has one; then writes the page. A failure is logged, never fatal: the period's files are there.
pub(crate) async fn write_index(cx: &Context, store: &Store) {
    let root = &cx.settings.output_dir;
    let mut listings = Vec::new();
    for (kind, _) in KINDS {
        for entry in std::fs::read_dir(root.join(kind)).into_iter().flatten().flatten() {
            if !entry.path().is_dir() {
                continue;
            }
            let period = entry.file_name().to_string_lossy().to_string();
            let files: Vec<String> = std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
                .filter(|f| f.path().is_file())
                .map(|f| f.file_name().to_string_lossy().to_string())
                .collect();
            let state = match JobKind::parse(kind) {
                Some(job) => super::standing::summary(cx, store, job, &period).await,
                None => None,
            };
            listings.push(Listing { kind, period, files, state });
        }
    }
    match html(&sections(&listings)).map(|page| crate::files::write_atomic(&root.join("index.html"), page.as_bytes())) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not write index.html"),
        Err(e) => tracing::warn!(error = %e, "could not render index.html"),
    }
}
