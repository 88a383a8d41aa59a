//! `index.html` at the output root: every period's reports, newest first, browsable offline.

use super::templates::render;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub name: String,
    pub href: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub period: String,
    pub files: Vec<Link>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: String,
    pub periods: Vec<Period>,
}

const KINDS: [(&str, &str); 4] =
    [("monthly", "月度考核"), ("quarterly", "季度售前结算"), ("renewal", "合同到期续约"), ("annual", "年度评级")];

/// Lists the period folders (I/O at the edge) and the top-level files in each.
pub fn scan(root: &Path) -> Vec<Section> {
    KINDS
        .iter()
        .map(|(kind, title)| {
            let mut periods: Vec<Period> = std::fs::read_dir(root.join(kind))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| {
                    let period = e.file_name().to_string_lossy().to_string();
                    let mut files: Vec<Link> = std::fs::read_dir(e.path())
                        .into_iter()
                        .flatten()
                        .flatten()
                        .filter(|f| f.path().is_file())
                        .map(|f| f.file_name().to_string_lossy().to_string())
                        .filter(|n| !n.starts_with('.') && !n.ends_with(".png"))
                        .map(|n| Link { href: format!("{kind}/{period}/{n}"), name: n })
                        .collect();
                    files.sort_by(|a, b| a.name.cmp(&b.name));
                    Period { period, files }
                })
                .collect();
            periods.sort_by(|a, b| b.period.cmp(&a.period));
            Section { title: title.to_string(), periods }
        })
        .collect()
}

pub fn html(sections: &[Section]) -> Result<String, minijinja::Error> {
    render("index.html", minijinja::context! { sections })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_period_first_with_links() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["2026-09", "2026-10"] {
            std::fs::create_dir_all(dir.path().join("monthly").join(p)).unwrap();
            std::fs::write(dir.path().join("monthly").join(p).join("summary.html"), "x").unwrap();
        }
        let sections = scan(dir.path());
        assert_eq!(sections[0].periods[0].period, "2026-10");
        let page = html(&sections).unwrap();
        assert!(page.find("2026-10").unwrap() < page.find("2026-09").unwrap());
        assert!(page.contains("href=\"monthly&#x2f;2026-10&#x2f;summary.html\""), "{page}");
    }
}
