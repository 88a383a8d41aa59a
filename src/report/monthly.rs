//! The monthly human reports: one page per managing department, the leadership summary, the
//! charts and the workbook. Pure: results and stored history in, HTML, text, PNG and xlsx out.

use super::charts::{
    distribution_png, five_numbers, grade_mix_png, ranking_height, ranking_png, trend_png, Canvas, ChartError,
    Distribution, Trend,
};
use super::templates::{label, render};
use crate::domain::money::fmt2;
use crate::domain::monthly::{MonthResult, PartnerResult};
use crate::domain::period::Month;
use crate::domain::renewal::MonthlyScore;
use crate::domain::rules::{Grade, GradeThresholds};
use crate::domain::text::natural_cmp;
use crate::domain::units::UnitStatus;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Workbook, XlsxError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

impl Report {
    /// The report as a mail body (images by CID).
    pub(crate) fn letter(&self) -> crate::report::Letter {
        crate::report::Letter {
            subject: self.subject.clone(),
            html: self.html_mail.clone(),
            text: self.text.clone(),
            // A mail carries the phone's drawings only (see `linked`).
            images: self.images.iter().filter(|(stem, _)| stem.ends_with("-phone")).cloned().collect(),
        }
    }
}

/// A rendered report: the page as a file (images by file name) and as a mail body (images by CID).
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// `summary` or `department:<name>`.
    pub(crate) kind: String,
    pub(crate) department: Option<String>,
    pub(crate) subject: String,
    pub(crate) html_file: String,
    pub(crate) html_mail: String,
    pub(crate) text: String,
    /// (content id and file name stem, PNG bytes): each chart for a desk and for a phone.
    pub(crate) images: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, Serialize)]
struct Row {
    rank: usize,
    partner_id: String,
    name: String,
    on_hold: bool,
    score: String,
    grade: String,
    change: String,
    /// Why the change is large, when last month had a class-one violation (its score was cut).
    change_note: String,
    ytd: String,
    settlement: String,
    flags: String,
    hold: String,
}

fn flag_words(locale: &str, p: &PartnerResult) -> String {
    let sep = if locale == "en" { "; " } else { "；" };
    p.flags.iter().map(|f| super::words::flag(locale, f.as_str())).collect::<Vec<_>>().join(sep)
}

fn hold_words(locale: &str, p: &PartnerResult) -> String {
    let sep = if locale == "en" { "; " } else { "；" };
    p.hold_reasons.iter().map(|r| super::words::hold_reason(locale, r)).collect::<Vec<_>>().join(sep)
}

/// Everything the reports read besides this month's result.
pub(crate) struct ReportInput<'a> {
    pub(crate) result: &'a MonthResult,
    /// Stored scores of the last 12 months before this one (and this one, once stored).
    pub(crate) history: &'a [MonthlyScore],
    /// Configured departments → managers (departments without partners still get nothing).
    pub(crate) departments: &'a BTreeMap<String, Vec<String>>,
    pub(crate) grades: GradeThresholds,
    pub(crate) locale: &'a str,
    pub(crate) preview: bool,
    /// Whether the month is over (a preview of a month that is over is not "before its end").
    pub(crate) period_over: bool,
    /// The units (departments) still drafts: their pages, and the summary while any is, say so.
    pub(crate) drafts: &'a BTreeSet<String>,
}

/// The banner of a preview: the month is not over yet, or (a preview of a finished month) the
/// results are not stored as final.
fn preview_words(input: &ReportInput) -> Option<String> {
    let key = if input.period_over { "preview_over" } else { "preview" };
    input.preview.then(|| label(input.locale, key, &[]))
}

/// A department's page, named by its unit so that the name stays when other departments come or
/// go (a rerun leaves an approved unit's page as it was).
pub(crate) fn department_file(unit: &str) -> String {
    format!("department-{}.html", super::short_hash(unit))
}

/// The line at the top of a page that says where its unit stands (草稿 until it is approved):
/// rewritten in place when the unit is approved, published or settled.
pub(crate) fn state_line(locale: &str, status: UnitStatus, words: &str) -> String {
    let (class, text) = match status {
        UnitStatus::Draft => ("draft", label(locale, "page_state_draft", &[])),
        _ => ("decided", label(locale, "page_state", &[("state", words)])),
    };
    format!("<p class=\"state {class}\">{}</p>", minijinja::HtmlEscape(&text))
}

fn rows(input: &ReportInput, partners: &[&PartnerResult]) -> Vec<Row> {
    let month = input.result.month;
    let prev = month.prev();
    let by: HashMap<(&str, Month), &MonthlyScore> =
        input.history.iter().map(|m| ((m.partner_id.as_str(), m.month), m)).collect();
    let mut out: Vec<Row> = partners
        .iter()
        .map(|p| {
            let a = p.assessment.as_ref();
            let before = by.get(&(p.partner_id.as_str(), prev));
            let last = before.and_then(|m| m.score);
            let change_note = match before {
                Some(m) if a.is_some() && m.flags.contains("class_one_violation") => {
                    label(input.locale, "change_after_class_one", &[("score", &m.score.map(fmt2).unwrap_or_default())])
                }
                _ => String::new(),
            };
            let change = match (a, last) {
                (Some(a), Some(l)) => {
                    let d = a.score - l;
                    if d > Decimal::ZERO {
                        format!("+{}", fmt2(d))
                    } else {
                        fmt2(d)
                    }
                }
                _ => String::new(),
            };
            // Year to date: stored months of this year before this one, plus this one.
            let mut ytd: Vec<Decimal> = input
                .history
                .iter()
                .filter(|m| m.partner_id == p.partner_id && m.month.year() == month.year() && m.month < month)
                .filter_map(|m| m.score)
                .collect();
            ytd.extend(a.map(|a| a.score));
            let ytd = (!ytd.is_empty()).then(|| fmt2(ytd.iter().sum::<Decimal>() / Decimal::from(ytd.len())));
            Row {
                rank: 0,
                partner_id: p.partner_id.clone(),
                name: p.partner_name.clone(),
                on_hold: a.is_none(),
                score: a.map(|a| fmt2(a.score)).unwrap_or_default(),
                grade: a.map(|a| a.grade.as_str().to_string()).unwrap_or_default(),
                change,
                change_note,
                ytd: ytd.unwrap_or_default(),
                settlement: a.map(|a| fmt2(a.settlement)).unwrap_or_default(),
                flags: flag_words(input.locale, p),
                hold: hold_words(input.locale, p),
            }
        })
        .collect();
    let score = |r: &Row| r.score.parse::<Decimal>().ok();
    out.sort_by(|a, b| score(b).cmp(&score(a)).then(natural_cmp(&a.partner_id, &b.partner_id)));
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    out
}

fn trend(input: &ReportInput, partners: &[&PartnerResult]) -> Trend {
    let month = input.result.month;
    let months: Vec<Month> = (0..12).rev().map(|k| month.plus(-k)).collect();
    let mut scores: HashMap<(&str, Month), Decimal> =
        input.history.iter().filter_map(|m| Some(((m.partner_id.as_str(), m.month), m.score?))).collect();
    for p in partners {
        if let Some(a) = &p.assessment {
            scores.insert((p.partner_id.as_str(), month), a.score);
        }
    }
    let f = |d: Decimal| d.to_string().parse::<f64>().unwrap_or(0.0);
    Trend {
        months: months.iter().map(|m| format!("{:02}", m.month())).collect(),
        series: partners
            .iter()
            .map(|p| {
                (
                    p.partner_id.clone(),
                    months.iter().map(|m| scores.get(&(p.partner_id.as_str(), *m)).map(|d| f(*d))).collect(),
                )
            })
            .collect(),
        b_min: f(input.grades.b_min),
        a_min: f(input.grades.a_min),
    }
}

/// A line per partner reads up to about this many partners; beyond, the distribution does.
const MAX_LINES: usize = 12;
/// The highest and the lowest this many of a month are drawn.
const RANKED: usize = 10;

/// The twelve months up to this one, and each partner's score (or `None`, on hold) in them.
fn by_month(input: &ReportInput, partners: &[&PartnerResult]) -> (Vec<Month>, Vec<HashMap<String, Option<Decimal>>>) {
    let month = input.result.month;
    let months: Vec<Month> = (0..12).rev().map(|k| month.plus(-k)).collect();
    let ids: BTreeSet<&str> = partners.iter().map(|p| p.partner_id.as_str()).collect();
    let mut grid: Vec<HashMap<String, Option<Decimal>>> = vec![HashMap::new(); months.len()];
    for m in input.history.iter().filter(|m| ids.contains(m.partner_id.as_str())) {
        if let Some(i) = months.iter().position(|x| *x == m.month) {
            grid[i].insert(m.partner_id.clone(), m.score);
        }
    }
    let last = months.len() - 1;
    grid[last] = partners.iter().map(|p| (p.partner_id.clone(), p.assessment.as_ref().map(|a| a.score))).collect();
    (months, grid)
}

fn f64_of(d: Decimal) -> f64 {
    d.to_string().parse::<f64>().unwrap_or(0.0)
}

/// A chart on a page: the file stem (and content id), its caption and note in words, and the
/// size it is shown at on a desk and on a phone.
#[derive(Debug, Clone, Serialize)]
struct Chart {
    stem: String,
    src: String,
    phone_src: String,
    caption: String,
    note: String,
    width: u32,
    height: u32,
    phone_width: u32,
    phone_height: u32,
    /// Shows the grade colours' legend under the chart.
    legend: bool,
}

/// A chart drawn for a desk and for a phone.
struct Drawn {
    chart: Chart,
    desk: Vec<u8>,
    phone: Vec<u8>,
}

/// The charts of a page as the page links them: by file name beside it (the phone's drawing for
/// narrow screens), or by content id in a mail, where only the phone's drawing goes (it reads on
/// a desk as well, and a mail client may not choose between two).
fn linked(made: &[Drawn], mail: bool) -> Vec<Chart> {
    made.iter()
        .map(|d| {
            let c = &d.chart;
            let phone = if mail { format!("cid:{}-phone", c.stem) } else { format!("{}-phone.png", c.stem) };
            Chart { src: if mail { phone.clone() } else { format!("{}.png", c.stem) }, phone_src: phone, ..c.clone() }
        })
        .collect()
}

/// The image files of a page's charts: (stem, PNG), the desk's and the phone's.
fn images(made: Vec<Drawn>) -> Vec<(String, Vec<u8>)> {
    made.into_iter()
        .flat_map(|d| [(d.chart.stem.clone(), d.desk), (format!("{}-phone", d.chart.stem), d.phone)])
        .collect()
}

/// The charts of a page: distribution (and, on the summary, the grade mix and the ranking) per
/// month; a line per partner only where there are few.
fn charts(
    input: &ReportInput,
    partners: &[&PartnerResult],
    stem: &str,
    summary: bool,
) -> Result<Vec<Drawn>, ChartError> {
    let locale = input.locale;
    let l = |k: &str| label(locale, k, &[]);
    // The notes name the rules' thresholds, which the lines are drawn at.
    let (a, b) = (input.grades.a_min.normalize().to_string(), input.grades.b_min.normalize().to_string());
    let note = |k: &str| label(locale, k, &[("a_min", a.as_str()), ("b_min", b.as_str())]);
    let (months, grid) = by_month(input, partners);
    let names: Vec<String> = months.iter().map(|m| format!("{:02}", m.month())).collect();
    let mut out = Vec::new();
    let mut chart = |name: &str,
                     key: &str,
                     height: (u32, u32),
                     legend: bool,
                     draw: &dyn Fn(Canvas) -> Result<Vec<u8>, ChartError>|
     -> Result<(), ChartError> {
        out.push(Drawn {
            chart: Chart {
                src: String::new(),
                phone_src: String::new(),
                caption: l(key),
                note: note(&format!("{key}_note")),
                stem: format!("{name}-{stem}"),
                width: Canvas::DESK.width,
                height: height.0,
                phone_width: Canvas::PHONE.width / 2,
                phone_height: height.1 / 2,
                legend,
            },
            desk: draw(Canvas::DESK)?,
            phone: draw(Canvas::PHONE)?,
        });
        Ok(())
    };
    let boxes: Vec<Option<[f64; 5]>> = grid
        .iter()
        .map(|scores| five_numbers(&mut scores.values().flatten().map(|d| f64_of(*d)).collect::<Vec<_>>()))
        .collect();
    let (a_min, b_min) = (f64_of(input.grades.a_min), f64_of(input.grades.b_min));
    let distribution = Distribution { months: names.clone(), boxes, b_min, a_min };
    let heights = |h: u32| (Canvas::DESK.height(h), Canvas::PHONE.height(h));
    chart("distribution", "chart_distribution", heights(380), false, &|c| distribution_png(&distribution, c))?;
    if summary {
        let grades: HashMap<(&str, Month), Option<Grade>> =
            input.history.iter().map(|m| ((m.partner_id.as_str(), m.month), m.grade)).collect();
        let mixes: Vec<[usize; 4]> = months
            .iter()
            .zip(&grid)
            .enumerate()
            .map(|(i, (m, scores))| {
                let mut mix = [0usize; 4];
                for id in scores.keys() {
                    let grade = if i == months.len() - 1 {
                        partners
                            .iter()
                            .find(|p| &p.partner_id == id)
                            .and_then(|p| p.assessment.as_ref())
                            .map(|a| a.grade)
                    } else {
                        grades.get(&(id.as_str(), *m)).copied().flatten()
                    };
                    mix[match grade {
                        Some(Grade::A) => 0,
                        Some(Grade::B) => 1,
                        Some(Grade::C) => 2,
                        None => 3,
                    }] += 1;
                }
                mix
            })
            .collect();
        chart("grade-mix", "chart_grade_mix", heights(320), true, &|c| grade_mix_png(&names, &mixes, c))?;
        let mut ranked: Vec<(String, f64, char)> = partners
            .iter()
            .filter_map(|p| {
                let a = p.assessment.as_ref()?;
                Some((p.partner_id.clone(), f64_of(a.score), a.grade.as_str().chars().next().unwrap_or('C')))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(natural_cmp(&a.0, &b.0)));
        if ranked.len() > 2 * RANKED {
            let bottom = ranked.split_off(ranked.len() - RANKED);
            ranked.truncate(RANKED);
            ranked.extend(bottom);
        }
        let rows = ranked.len();
        let key = if partners.len() > 2 * RANKED { "chart_ranking" } else { "chart_ranking_all" };
        let height = (ranking_height(rows, Canvas::DESK), ranking_height(rows, Canvas::PHONE));
        chart("ranking", key, height, true, &|c| ranking_png(&ranked, a_min, b_min, c))?;
    }
    if partners.len() <= MAX_LINES {
        let trend = trend(input, partners);
        chart("trend", "trend", heights(420), false, &|c| trend_png(&trend, c))?;
    }
    Ok(out)
}

fn text_body(title: &str, lead: &str, rows: &[Row], locale: &str) -> String {
    let mut s = format!("{title}\n\n{lead}\n\n");
    for r in rows {
        if r.on_hold {
            s.push_str(&format!("{} ({}): {} — {}\n", r.name, r.partner_id, label(locale, "on_hold", &[]), r.hold));
        } else {
            s.push_str(&format!(
                "{} ({}): {} {}, {} {}, {} {}{}\n",
                r.name,
                r.partner_id,
                label(locale, "score", &[]),
                r.score,
                label(locale, "grade", &[]),
                r.grade,
                label(locale, "settlement", &[]),
                r.settlement,
                if r.flags.is_empty() { String::new() } else { format!(" — {}", r.flags) }
            ));
        }
    }
    s.push_str(&format!("\n{}\n", label(locale, "footer", &[])));
    s
}

/// The flagged partners grouped by severity: a blacklist recommendation, a class-one violation,
/// two C grades; each group the partners' names (and ids) in words.
#[derive(Debug, Clone, Serialize)]
struct FlagGroup {
    title: String,
    partners: Vec<String>,
}

fn flag_groups(locale: &str, partners: &[&PartnerResult]) -> Vec<FlagGroup> {
    use crate::domain::monthly::Flag;
    let (open, close) = (label(locale, "open_bracket", &[]), label(locale, "close_bracket", &[]));
    [Flag::BlacklistRecommended, Flag::ClassOneViolation, Flag::TwoCGrades]
        .into_iter()
        .filter_map(|flag| {
            let mut of: Vec<&&PartnerResult> = partners.iter().filter(|p| p.flags.contains(&flag)).collect();
            of.sort_by(|a, b| natural_cmp(&a.partner_id, &b.partner_id));
            (!of.is_empty()).then(|| FlagGroup {
                title: label(
                    locale,
                    "flag_group",
                    &[("flag", &super::words::flag(locale, flag.as_str())), ("count", &of.len().to_string())],
                ),
                partners: of.iter().map(|p| format!("{}{open}{}{close}", p.partner_name, p.partner_id)).collect(),
            })
        })
        .collect()
}

/// The partners on hold grouped by the first reason (a month's holds are mostly few reasons).
fn hold_groups(locale: &str, partners: &[&PartnerResult]) -> Vec<FlagGroup> {
    let (open, close) = (label(locale, "open_bracket", &[]), label(locale, "close_bracket", &[]));
    let mut groups: BTreeMap<String, Vec<&PartnerResult>> = BTreeMap::new();
    for p in partners.iter().filter(|p| p.assessment.is_none()) {
        let reason = p.hold_reasons.iter().next().map(|r| r.split(':').next().unwrap_or(r).to_string());
        groups.entry(reason.unwrap_or_default()).or_default().push(p);
    }
    groups
        .into_iter()
        .map(|(code, mut of)| {
            of.sort_by(|a, b| natural_cmp(&a.partner_id, &b.partner_id));
            let words = super::words::hold_reason(locale, &code);
            FlagGroup {
                title: label(locale, "flag_group", &[("flag", &words), ("count", &of.len().to_string())]),
                partners: of.iter().map(|p| format!("{}{open}{}{close}", p.partner_name, p.partner_id)).collect(),
            }
        })
        .collect()
}

/// A link to a department's page, by its name.
#[derive(Debug, Clone, Serialize)]
struct PageLink {
    name: String,
    href: String,
}

/// The department pages and the leadership summary.
pub(crate) fn reports(input: &ReportInput) -> Result<Vec<Report>, ReportError> {
    let r = input.result;
    let locale = input.locale;
    let t = super::templates::labels(locale);
    let month = r.month.to_string();
    let missing = (!r.missing_history_months.is_empty()).then(|| r.missing_history_months.len().to_string());
    let preview = preview_words(input);
    let mut out = Vec::new();

    let mut departments: BTreeSet<&str> = input.departments.keys().map(String::as_str).collect();
    departments.extend(r.partners.iter().flat_map(|p| p.departments.iter().map(String::as_str)));
    let mut links = Vec::new();
    for department in departments {
        let partners: Vec<&PartnerResult> = r.partners.iter().filter(|p| p.departments.contains(department)).collect();
        if partners.is_empty() {
            continue;
        }
        links.push(PageLink { name: department.to_string(), href: department_file(department) });
        let rows = rows(input, &partners);
        let title = label(locale, "title_department", &[("month", &month), ("department", department)]);
        let lead = label(locale, "lead_department", &[("month", &month)]);
        let made = charts(input, &partners, &super::short_hash(department), false)?;
        let flags = flag_groups(locale, &partners);
        let draft = input.drafts.contains(department);
        let state = (!input.preview).then(|| {
            let status = if draft { UnitStatus::Draft } else { UnitStatus::Approved };
            state_line(locale, status, &label(locale, "state_approved", &[]))
        });
        let page = |mail: bool| {
            let charts = linked(&made, mail);
            render(
                "monthly_report.html",
                minijinja::context! { t, title, lead, rows, flags, summary => false, preview, mail,
                charts, missing_months => missing, state },
            )
        };
        let subject = if draft { "subject_department" } else { "subject_department_final" };
        out.push(Report {
            kind: format!("department:{department}"),
            department: Some(department.to_string()),
            subject: label(locale, subject, &[("month", &month), ("department", department)]),
            html_file: page(false)?,
            html_mail: page(true)?,
            text: text_body(&title, &lead, &rows, locale),
            images: images(made),
        });
    }

    // The summary fits on a few screens at any number of partners: the figures, the charts, the
    // highest and lowest ten, the flagged partners by severity and who is on hold. The full
    // ranking is on the department pages and in the workbook.
    let all: Vec<&PartnerResult> = r.partners.iter().collect();
    let mut rows = rows(input, &all);
    let assessed = rows.iter().filter(|x| !x.on_hold).count();
    rows.retain(|x| !x.on_hold);
    let (top, bottom) = if rows.len() > 2 * RANKED {
        let bottom = rows.split_off(rows.len() - RANKED);
        rows.truncate(RANKED);
        (rows, bottom)
    } else {
        (rows, Vec::new())
    };
    let count = |g| r.partners.iter().filter(|p| p.assessment.as_ref().is_some_and(|a| a.grade == g)).count();
    let on_hold = r.partners.iter().filter(|p| p.assessment.is_none()).count();
    let sum = |f: fn(&crate::domain::monthly::Assessment) -> Decimal| {
        fmt2(r.partners.iter().filter_map(|p| p.assessment.as_ref()).map(f).sum())
    };
    let totals = minijinja::context! {
        partners => r.partners.len(), assessed, on_hold, flagged => r.partners.iter().filter(|p| !p.flags.is_empty()).count(),
        fees_total => sum(|a| a.fees_total), fees_excluded => sum(|a| a.fees_excluded), settlement => sum(|a| a.settlement),
        a => count(Grade::A), b => count(Grade::B), c => count(Grade::C),
    };
    let made = charts(input, &all, "all", true)?;
    let title = label(locale, "title_summary", &[("month", &month)]);
    let lead = label(locale, "lead_summary", &[("month", &month)]);
    let flags = flag_groups(locale, &all);
    let holds = hold_groups(locale, &all);
    let omitted =
        label(locale, "omitted_rows", &[("count", &assessed.saturating_sub(top.len() + bottom.len()).to_string())]);
    let draft = !input.drafts.is_empty();
    let state = (!input.preview).then(|| {
        let status = if draft { UnitStatus::Draft } else { UnitStatus::Approved };
        state_line(locale, status, &label(locale, "state_approved", &[]))
    });
    let page = |mail: bool| {
        let charts = linked(&made, mail);
        render(
            "monthly_report.html",
            minijinja::context! { t, title, lead, rows => top, bottom, omitted, flags, holds, totals, links, summary => true,
            preview, mail, charts, missing_months => missing, state },
        )
    };
    let all_rows = self::rows(input, &all);
    out.push(Report {
        kind: "summary".into(),
        department: None,
        subject: label(locale, if draft { "subject_summary" } else { "subject_summary_final" }, &[("month", &month)]),
        html_file: page(false)?,
        html_mail: page(true)?,
        text: text_body(&title, &lead, &all_rows, locale),
        images: images(made),
    });
    Ok(out)
}

/// A report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error("workbook: {0}")]
    Workbook(#[from] XlsxError),
}

/// The month's workbook for people: an overview first (the figures, who is flagged or on hold),
/// then one row per partner twice (the result; the indicators' points), then the data quality.
/// Each prints on A4 in type a reader can read (`sheet::plan`): a 500-partner month prints in
/// about twenty pages. Quarantined rows the workbook lists up to a limit (the CSV lists them all).
const DATA_QUALITY_ROWS_LISTED: usize = 100;

pub(crate) fn workbook(result: &MonthResult, locale: &str, draft: bool) -> Result<Vec<u8>, XlsxError> {
    use super::sheet::{self, Table, Value};
    use super::words;
    let mut book = Workbook::new();
    book.set_properties(&super::stable_properties(result.month.first_day())?);
    let l = |k: &str| label(locale, k, &[]);
    let month = result.month.to_string();
    let mut title = label(locale, "title_summary", &[("month", &month)]);
    if draft {
        title = format!("{title}{}", label(locale, "draft_mark", &[]));
    }
    let sep = if locale == "en" { "; " } else { "、" };
    let mut partners: Vec<&PartnerResult> = result.partners.iter().collect();
    partners.sort_by(|a, b| natural_cmp(&a.partner_id, &b.partner_id));
    let short_flags = |p: &PartnerResult| -> String {
        p.flags.iter().map(|x| label(locale, &format!("flag_short_{}", x.as_str()), &[])).collect::<Vec<_>>().join(sep)
    };

    // The overview: the month's figures, the grade mix, the flagged by severity (the severe ones
    // by name) and who is on hold.
    let f = sheet::Formats::new();
    let assessed: Vec<&crate::domain::monthly::Assessment> =
        result.partners.iter().filter_map(|p| p.assessment.as_ref()).collect();
    let count = |g: Grade| assessed.iter().filter(|a| a.grade == g).count() as u64;
    let sum = |f: fn(&crate::domain::monthly::Assessment) -> Decimal| assessed.iter().map(|a| f(a)).sum::<Decimal>();
    let figures: Vec<(String, Value)> = vec![
        (l("partners"), Value::Count(result.partners.len() as u64)),
        (l("on_hold"), Value::Count((result.partners.len() - assessed.len()) as u64)),
        (l("flagged"), Value::Count(result.partners.iter().filter(|p| !p.flags.is_empty()).count() as u64)),
        (label(locale, "grade_count", &[("grade", "A")]), Value::Count(count(Grade::A))),
        (label(locale, "grade_count", &[("grade", "B")]), Value::Count(count(Grade::B))),
        (label(locale, "grade_count", &[("grade", "C")]), Value::Count(count(Grade::C))),
        (l("fees_total"), Value::Money(sum(|a| a.fees_total))),
        (l("fees_excluded"), Value::Money(sum(|a| a.fees_excluded))),
        (l("settlement_total"), Value::Money(sum(|a| a.settlement))),
    ];
    {
        use crate::domain::monthly::Flag;
        let overview = book.add_worksheet().set_name(l("sheet_overview"))?;
        overview.set_default_row_height(f.size + 4.0);
        overview.write_string_with_format(0, 0, &title, &f.title)?;
        overview.write_string_with_format(2, 0, l("col_item"), &f.head)?;
        overview.write_string_with_format(2, 1, l("col_value"), &f.head)?;
        for (i, (name, value)) in figures.iter().enumerate() {
            let row = i as u32 + 3;
            overview.write_string_with_format(row, 0, name, &f.text)?;
            sheet::write(overview, &f, row, 1, value)?;
        }
        let mut row = figures.len() as u32 + 4;
        let named = |p: &PartnerResult| format!("{}（{}）", p.partner_name, p.partner_id);
        let (first, second) = (sheet::units(26, f.size), sheet::units(60, f.size));
        // A group's heading, then a row per partner (a cell of many names would be cut at its
        // row's height): the severe flags by name; two C grades, which can be half the field,
        // counted here and named in the results' note column; then who is on hold and why.
        let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for (flag, by_name) in
            [(Flag::BlacklistRecommended, true), (Flag::ClassOneViolation, true), (Flag::TwoCGrades, false)]
        {
            let of: Vec<&&PartnerResult> = partners.iter().filter(|p| p.flags.contains(&flag)).collect();
            if of.is_empty() {
                continue;
            }
            let count = of.len().to_string();
            let head = label(locale, "flag_group", &[("flag", &words::flag(locale, flag.as_str())), ("count", &count)]);
            let rows = if by_name {
                of.iter().map(|p| (named(p), String::new())).collect()
            } else {
                vec![(l("see_results_sheet"), String::new())]
            };
            groups.push((head, rows));
        }
        let held: Vec<&&PartnerResult> = partners.iter().filter(|p| p.assessment.is_none()).collect();
        if !held.is_empty() {
            let head = label(locale, "flag_group", &[("flag", &l("on_hold")), ("count", &held.len().to_string())]);
            let rows = held
                .iter()
                .map(|p| {
                    let why: Vec<String> = p.hold_reasons.iter().map(|x| words::hold_reason(locale, x)).collect();
                    (named(p), why.join(sep))
                })
                .collect();
            groups.push((head, rows));
        }
        for (head, rows) in groups {
            overview.write_string_with_format(row, 0, head, &f.head)?;
            overview.write_blank(row, 1, &f.head)?;
            row += 1;
            for (a, b) in rows {
                overview.write_string_with_format(row, 0, &a, &f.text)?;
                overview.write_string_with_format(row, 1, &b, &f.text)?;
                let tall =
                    sheet::lines(&Value::Text(a), first, f.size).max(sheet::lines(&Value::Text(b), second, f.size));
                if tall > 1 {
                    overview.set_row_height(row, tall as f64 * (f.size + 4.0))?;
                }
                row += 1;
            }
        }
        overview.set_column_width(0, first)?;
        overview.set_column_width(1, second)?;
        sheet::print_setup(overview, &title, None, first + second + 2.0 * sheet::COLUMN_PADDING, f.size)?;
        overview.set_active(true);
    }

    let points = |d: Option<Decimal>| d.map_or(Value::Empty, Value::Points);
    let money = |d: Option<Decimal>| d.map_or(Value::Empty, Value::Money);
    let table = |name: &str, headers: Vec<String>, rows, narrow: Vec<usize>| Table {
        name: l(name),
        title: format!("{title} · {}", l(name)),
        headers,
        rows,
        narrow,
    };
    // Two sheets of one row per partner, each narrow enough to print upright on A4 at a readable
    // size (about sixty partners a page): the result (score, grade, money and a note: the flags,
    // the fees the audit excluded, or why it is on hold), then the score's parts (each
    // indicator's points and the credit deduction).
    let headers = [
        "col_partner_id",
        "col_partner_name",
        "col_departments",
        "col_score",
        "col_grade",
        "col_fees_total",
        "col_settlement",
        "col_notes",
    ];
    let rows = partners
        .iter()
        .map(|p| {
            let a = p.assessment.as_ref();
            let note = match a {
                Some(a) if a.fees_excluded > Decimal::ZERO => {
                    let excluded = label(locale, "note_excluded", &[("amount", &fmt2(a.fees_excluded))]);
                    [short_flags(p), excluded].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(sep)
                }
                Some(_) => short_flags(p),
                None => format!(
                    "{}：{}",
                    l("on_hold"),
                    p.hold_reasons.iter().map(|x| words::hold_reason(locale, x)).collect::<Vec<_>>().join(sep)
                ),
            };
            vec![
                Value::Text(p.partner_id.clone()),
                Value::Text(p.partner_name.clone()),
                Value::Text(p.departments.iter().cloned().collect::<Vec<_>>().join(sep)),
                points(a.map(|a| a.score)),
                a.map_or(Value::Empty, |a| Value::Text(a.grade.as_str().to_string())),
                money(a.map(|a| a.fees_total)),
                money(a.map(|a| a.settlement)),
                Value::Text(note),
            ]
        })
        .collect();
    let headers: Vec<String> = headers.iter().map(|h| l(h)).collect();
    sheet::add(&mut book, &table("sheet_summary", headers, rows, vec![2, 7]))?;

    // The indicators, one row per partner: each indicator's points as a column (its weight in
    // the header), then the effectiveness they add up to.
    let mut indicators: Vec<(&str, Decimal)> = Vec::new();
    for x in &result.indicators {
        if !indicators.iter().any(|(id, _)| *id == x.indicator) {
            indicators.push((x.indicator.as_str(), x.weight));
        }
    }
    let by: HashMap<(&str, &str), Decimal> =
        result.indicators.iter().map(|x| ((x.partner_id.as_str(), x.indicator.as_str()), x.points)).collect();
    let mut headers: Vec<String> = ["col_partner_id", "col_partner_name"].iter().map(|h| l(h)).collect();
    headers.extend(indicators.iter().map(|(id, weight)| {
        label(
            locale,
            "col_indicator_of",
            &[("name", &words::indicator(locale, id)), ("weight", &weight.normalize().to_string())],
        )
    }));
    headers.extend(["col_effectiveness", "col_credit_deduction"].iter().map(|h| l(h)));
    let rows = partners
        .iter()
        .map(|p| {
            let a = p.assessment.as_ref();
            let mut row = vec![Value::Text(p.partner_id.clone()), Value::Text(p.partner_name.clone())];
            row.extend(indicators.iter().map(|(id, _)| points(by.get(&(p.partner_id.as_str(), *id)).copied())));
            row.push(points(a.map(|a| a.effectiveness)));
            row.push(points(a.map(|a| a.credit_deduction)));
            row
        })
        .collect();
    sheet::add(&mut book, &table("sheet_indicators", headers, rows, vec![]))?;

    // A national month can quarantine more rows than a sheet holds (1,048,576): the sheet counts
    // them by source and problem and lists the first ones; data_quality.csv has every row.
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for d in &result.data_quality {
        *counts.entry((d.source.as_ref(), d.problem.as_ref())).or_default() += 1;
    }
    let listed = result.data_quality.len().min(DATA_QUALITY_ROWS_LISTED);
    let mut rows: Vec<Vec<Value>> = counts
        .iter()
        .map(|((source, problem), n)| {
            vec![
                Value::Text(words::source(locale, source)),
                Value::Text(words::problem(locale, problem)),
                Value::Count(*n),
            ]
        })
        .collect();
    let note = if result.data_quality.is_empty() {
        l("data_quality_none")
    } else {
        label(
            locale,
            "data_quality_listed",
            &[("listed", &listed.to_string()), ("total", &result.data_quality.len().to_string())],
        )
    };
    rows.push(vec![Value::Text(note), Value::Empty, Value::Empty]);
    let headers = ["col_source", "col_problem", "col_rows"].iter().map(|h| l(h)).collect();
    sheet::add(&mut book, &table("sheet_data_quality", headers, rows, vec![0]))?;
    if listed > 0 {
        let mut listed: Vec<&crate::domain::monthly::DataQualityRow> = result.data_quality[..listed].iter().collect();
        listed.sort_by(|a, b| {
            (&a.source, &a.problem)
                .cmp(&(&b.source, &b.problem))
                .then_with(|| natural_cmp(&a.partner_id, &b.partner_id))
                .then_with(|| natural_cmp(&a.row_id, &b.row_id))
        });
        let rows = listed
            .iter()
            .map(|d| {
                vec![
                    Value::Text(words::source(locale, &d.source)),
                    Value::Text(d.partner_id.to_string()),
                    Value::Text(d.row_id.clone()),
                    Value::Text(words::problem(locale, &d.problem)),
                ]
            })
            .collect();
        let headers = ["col_source", "col_partner_id", "col_row_id", "col_problem"].iter().map(|h| l(h)).collect();
        sheet::add(&mut book, &table("sheet_data_quality_rows", headers, rows, vec![]))?;
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::monthly::{Assessment, Flag};

    fn result() -> MonthResult {
        let p = |id: &str, score, grade| PartnerResult {
            partner_id: id.into(),
            partner_name: format!("<b>{id}</b>"),
            assessment: Some(Assessment {
                effectiveness: score,
                credit_deduction: Decimal::ZERO,
                score,
                grade,
                fees_total: Decimal::ONE_HUNDRED,
                fees_excluded: Decimal::ZERO,
                settlement: score,
            }),
            c_grades_window: 2,
            flags: BTreeSet::from([Flag::TwoCGrades]),
            hold_reasons: BTreeSet::new(),
            departments: BTreeSet::from(["网络部".to_string()]),
        };
        MonthResult {
            month: "2026-10".parse().unwrap(),
            partners: vec![p("P1", Decimal::new(7000, 2), Grade::C), p("P2", Decimal::new(9550, 2), Grade::A)],
            indicators: vec![],
            data_quality: vec![],
            evidence: Default::default(),
            missing_history_months: vec![],
        }
    }

    fn input<'a>(
        r: &'a MonthResult,
        history: &'a [MonthlyScore],
        locale: &'a str,
        d: &'a BTreeMap<String, Vec<String>>,
    ) -> ReportInput<'a> {
        let grades = GradeThresholds { a_min: Decimal::from(90), b_min: Decimal::from(75) };
        static DRAFTS: std::sync::OnceLock<BTreeSet<String>> = std::sync::OnceLock::new();
        let drafts = DRAFTS.get_or_init(|| BTreeSet::from(["网络部".to_string()]));
        ReportInput { result: r, history, departments: d, grades, locale, preview: false, period_over: true, drafts }
    }

    #[test]
    fn department_page_and_summary_rank_and_compare_with_last_month() {
        let r = result();
        let history = vec![MonthlyScore {
            month: "2026-09".parse().unwrap(),
            partner_id: "P1".into(),
            score: Some(Decimal::new(8000, 2)),
            grade: Some(Grade::B),
            settlement: None,
            flags: Default::default(),
            hold_reasons: Default::default(),
        }];
        let departments = BTreeMap::new();
        let reports = reports(&input(&r, &history, "zh-CN", &departments)).unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].subject, "【草稿】【ICT支撑合作伙伴月度考核】2026-10 网络部（待审批）");
        // A draft says so at the top of its page, between the markers its later state replaces.
        assert!(
            reports[0].html_file.contains("<!--state--><p class=\"state draft\">草稿："),
            "{}",
            reports[0].html_file
        );
        let summary = &reports[1];
        // P2 (95.50) ranks above P1 (70.00); P1 fell 10.00 from 80.00.
        assert!(summary.text.find("P2").unwrap() < summary.text.find("P1").unwrap());
        assert!(summary.html_file.contains("-10.00") && summary.html_file.contains("近12个月两次及以上C级"));
        assert!(summary.html_mail.contains("cid:distribution-all") && summary.html_file.contains("grade-mix-all.png"));
        assert!(!summary.html_file.contains("<b>P1</b>"), "names are escaped");
        let en = reports_in("en", &r);
        assert_eq!(en[1].subject, "DRAFT: ICT partner assessment 2026-10: summary (for approval)");
        assert!(en[1].html_file.contains("two or more C grades in 12 months"));
    }

    fn reports_in(locale: &str, r: &MonthResult) -> Vec<Report> {
        let departments = BTreeMap::new();
        reports(&input(r, &[], locale, &departments)).unwrap()
    }

    #[test]
    fn workbook_opens_as_xlsx() {
        let bytes = workbook(&result(), "zh-CN", false).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }

    /// More quarantined rows than the sheet lists: counted by problem, the first ones listed, and
    /// the note says where the rest are (a national month can exceed a sheet's 1,048,576 rows).
    #[test]
    fn data_quality_sheet_counts_every_row_and_lists_the_first() {
        use calamine::{Data, Reader};
        let mut r = result();
        let n = DATA_QUALITY_ROWS_LISTED + 7;
        r.data_quality = (0..n)
            .map(|i| crate::domain::monthly::DataQualityRow {
                source: "tickets".into(),
                partner_id: "".into(),
                row_id: format!("T{i:06}"),
                problem: if i % 2 == 0 { "unknown_sla_class" } else { "partner_not_assessed" }.into(),
            })
            .collect();
        let bytes = workbook(&r, "zh-CN", true).unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("数据质量").unwrap();
        let text = |sheet: &calamine::Range<Data>, row: u32, col: u32| match sheet.get_value((row, col)) {
            Some(Data::String(s)) => s.clone(),
            Some(Data::Float(x)) => x.to_string(),
            other => format!("{other:?}"),
        };
        // Sorted by source and problem: partner_not_assessed (odd rows), then unknown_sla_class,
        // both in words.
        assert_eq!(text(&sheet, 0, 1), "问题");
        assert_eq!(
            (text(&sheet, 1, 0), text(&sheet, 1, 1), text(&sheet, 1, 2)),
            ("故障工单".into(), "合作伙伴本月不参加考核（记录被忽略）".into(), ((n / 2) as f64).to_string())
        );
        assert_eq!(
            (text(&sheet, 2, 1), text(&sheet, 2, 2)),
            ("SLA等级无法识别".into(), (n.div_ceil(2) as f64).to_string())
        );
        assert_eq!(
            text(&sheet, 3, 0),
            format!("“数据质量明细”表列出前 {DATA_QUALITY_ROWS_LISTED} 行，共 {n} 行；完整清单见 data_quality.csv")
        );
        let rows = book.worksheet_range("数据质量明细").unwrap();
        let listed = (1..rows.height() as u32).filter(|&row| text(&rows, row, 2).starts_with('T')).count();
        assert_eq!(listed, DATA_QUALITY_ROWS_LISTED);
        // Grouped by problem like the counts: partner_not_assessed (the odd rows) first.
        assert_eq!(text(&rows, 1, 2), "T000001");
    }
}
