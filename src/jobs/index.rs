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
            let files = period_files(&entry.path());
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

/// The files of a period folder and of its folders one level down (notices, forms; not the
/// previews and what-ifs), each page with its title.
fn period_files(dir: &std::path::Path) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = f.file_name().to_string_lossy().to_string();
        let path = f.path();
        if path.is_file() {
            out.push((name.clone(), page_title(&path)));
        } else if path.is_dir() && matches!(name.as_str(), "notices" | "forms") {
            for g in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                if g.path().is_file() {
                    let inner = g.file_name().to_string_lossy().to_string();
                    out.push((format!("{name}/{inner}"), page_title(&g.path())));
                }
            }
        }
    }
    out
}

/// A page's `<title>`, read from its first 4 KiB (our own pages: the title is in the head).
fn page_title(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    if path.extension().and_then(|e| e.to_str()) != Some("html") {
        return None;
    }
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path).ok()?.take(4096).read_to_end(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head);
    let start = text.find("<title>")? + "<title>".len();
    let end = start + text[start..].find("</title>")?;
    // The templates escape what they fill in; the index escapes again.
    let title = text[start..end]
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    Some(title.split_whitespace().collect::<Vec<_>>().join(" "))
}
