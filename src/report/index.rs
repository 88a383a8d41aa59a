//! `index.html` at the output root: every period's reports, newest first, browsable offline.
//! Pure: the caller lists the folders (and the periods' states), this page lays them out.

use super::templates::render;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Link {
    pub(crate) name: String,
    pub(crate) href: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Period {
    pub(crate) period: String,
    /// Where the period stands (draft, approved, published, in dispute, settled), in the locale.
    pub(crate) state: Option<String>,
    pub(crate) files: Vec<Link>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) periods: Vec<Period>,
}

/// The jobs' output folders and their titles, in the order the page shows them.
pub(crate) const KINDS: [(&str, &str); 4] =
    [("monthly", "月度考核"), ("quarterly", "季度售前结算"), ("renewal", "合同到期续约"), ("annual", "年度评级")];

/// One period folder as found on disk: its top-level files.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) kind: &'static str,
    pub(crate) period: String,
    pub(crate) files: Vec<String>,
    pub(crate) state: Option<String>,
}

/// The page's sections from the folders found: newest period first, files by name, hidden files
/// and chart images left out (the pages embed the charts).
pub(crate) fn sections(listings: &[Listing]) -> Vec<Section> {
    KINDS
        .iter()
        .map(|(kind, title)| {
            let mut periods: Vec<Period> = listings
                .iter()
                .filter(|l| l.kind == *kind)
                .map(|l| {
                    let mut files: Vec<Link> = l
                        .files
                        .iter()
                        .filter(|n| !n.starts_with('.') && !n.ends_with(".png"))
                        .map(|n| Link { href: format!("{kind}/{}/{n}", l.period), name: n.clone() })
                        .collect();
                    files.sort_by(|a, b| a.name.cmp(&b.name));
                    Period { period: l.period.clone(), state: l.state.clone(), files }
                })
                .collect();
            periods.sort_by(|a, b| b.period.cmp(&a.period));
            Section { title: title.to_string(), periods }
        })
        .collect()
}

pub(crate) fn html(sections: &[Section]) -> Result<String, minijinja::Error> {
    render("index.html", minijinja::context! { sections })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_period_first_with_links() {
        let listings: Vec<Listing> = ["2026-09", "2026-10"]
            .iter()
            .map(|p| Listing {
                kind: "monthly",
                period: p.to_string(),
                files: vec!["summary.html".into(), "trend.png".into(), ".x.tmp".into()],
                state: None,
            })
            .collect();
        let sections = sections(&listings);
        assert_eq!(sections[0].periods[0].period, "2026-10");
        assert_eq!(sections[0].periods[0].files.len(), 1);
        let page = html(&sections).unwrap();
        assert!(page.find("2026-10").unwrap() < page.find("2026-09").unwrap());
        assert!(page.contains("href=\"monthly&#x2f;2026-10&#x2f;summary.html\""), "{page}");
    }
}
