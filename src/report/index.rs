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

/// One period folder as found on disk: its files (path under the period folder, and a page's
/// own title when it is a page).
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) kind: &'static str,
    pub(crate) period: String,
    pub(crate) files: Vec<(String, Option<String>)>,
    pub(crate) state: Option<String>,
}

/// What a reader calls a file: a page by its title, the data files by what they hold.
fn name_of(path: &str, title: Option<&str>) -> String {
    if let Some(t) = title.map(str::trim).filter(|t| !t.is_empty()) {
        return t.to_string();
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    let known = [
        ("assessment.xlsx", "考核工作簿"),
        ("scores.csv", "考核结果（CSV）"),
        ("indicators.csv", "指标明细（CSV）"),
        ("data_quality.csv", "数据质量（CSV）"),
        ("presales.csv", "售前结算明细（CSV）"),
        ("confirmation_forms.xlsx", "结算确认表（工作簿）"),
        ("finance_settlement.csv", "财务结算（CSV）"),
        ("finance_settlement.xlsx", "财务结算（工作簿）"),
        ("renewals.csv", "续约汇总（CSV）"),
        ("exits.csv", "退出申请（CSV）"),
        ("blacklist_breaches.csv", "禁入期违规合作（CSV）"),
        ("exit_proposals.csv", "退出建议（CSV）"),
        ("annual.csv", "年度评级（CSV）"),
    ];
    known.iter().find(|(f, _)| *f == file).map_or_else(|| file.to_string(), |(_, words)| words.to_string())
}

/// Pages first (what people open), then workbooks, then the CSVs for programs.
fn rank(path: &str) -> u8 {
    match path.rsplit('.').next() {
        Some("html") => 0,
        Some("xlsx") => 1,
        _ => 2,
    }
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
                    let mut files: Vec<(u8, bool, Link)> = l
                        .files
                        .iter()
                        .filter(|(n, _)| !n.split('/').any(|p| p.starts_with('.')) && !n.ends_with(".png"))
                        .map(|(n, title)| {
                            let link =
                                Link { href: format!("{kind}/{}/{n}", l.period), name: name_of(n, title.as_deref()) };
                            (rank(n), n.contains('/'), link)
                        })
                        .collect();
                    // The period's own files first, then those of its folders (notices, forms).
                    files.sort_by(|a, b| {
                        (a.1, a.0).cmp(&(b.1, b.0)).then(crate::domain::text::natural_cmp(&a.2.name, &b.2.name))
                    });
                    let files = files.into_iter().map(|(_, _, link)| link).collect();
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
                files: vec![
                    ("summary.html".into(), Some("月度考核汇总".into())),
                    ("trend.png".into(), None),
                    (".x.tmp".into(), None),
                    ("scores.csv".into(), None),
                ],
                state: None,
            })
            .collect();
        let sections = sections(&listings);
        assert_eq!(sections[0].periods[0].period, "2026-10");
        let files = &sections[0].periods[0].files;
        assert_eq!(files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["月度考核汇总", "考核结果（CSV）"]);
        let page = html(&sections).unwrap();
        assert!(page.find("2026-10").unwrap() < page.find("2026-09").unwrap());
        assert!(page.contains("href=\"monthly&#x2f;2026-10&#x2f;summary.html\""), "{page}");
    }
}
