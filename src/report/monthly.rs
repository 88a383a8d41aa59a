//! The monthly human reports: one page per managing department, the leadership summary, the
//! charts and the workbook. Pure: results and stored history in, HTML, text, PNG and xlsx out.

use super::charts::{
    distribution_png, five_numbers, grade_mix_png, ranking_png, trend_png, ChartError, Distribution, Trend,
};
use super::templates::{label, render};
use crate::domain::money::fmt2;
use crate::domain::monthly::{MonthResult, PartnerResult};
use crate::domain::period::Month;
use crate::domain::renewal::MonthlyScore;
use crate::domain::rules::{Grade, GradeThresholds};
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
            images: self.images.clone(),
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
    /// (content id and file name stem, PNG bytes).
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
    /// The units (departments) still drafts: their pages, and the summary while any is, say so.
    pub(crate) drafts: &'a BTreeSet<String>,
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
            let last = by.get(&(p.partner_id.as_str(), prev)).and_then(|m| m.score);
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
                ytd: ytd.unwrap_or_default(),
                settlement: a.map(|a| fmt2(a.settlement)).unwrap_or_default(),
                flags: flag_words(input.locale, p),
                hold: hold_words(input.locale, p),
            }
        })
        .collect();
    let score = |r: &Row| r.score.parse::<Decimal>().ok();
    out.sort_by(|a, b| score(b).cmp(&score(a)).then(a.partner_id.cmp(&b.partner_id)));
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

/// A chart on a page: the file stem (and content id), its caption and note in words.
#[derive(Debug, Clone, Serialize)]
struct Chart {
    stem: String,
    src: String,
    caption: String,
    note: String,
    width: u32,
    height: u32,
    /// Shows the grade colours' legend under the chart.
    legend: bool,
}

/// The charts of a page as the page links them: by file name beside it, or by content id in a mail.
fn linked(made: &[(Chart, Vec<u8>)], mail: bool) -> Vec<Chart> {
    made.iter()
        .map(|(c, _)| Chart {
            src: if mail { format!("cid:{}", c.stem) } else { format!("{}.png", c.stem) },
            ..c.clone()
        })
        .collect()
}

/// The charts of a page: distribution (and, on the summary, the grade mix and the ranking) per
/// month; a line per partner only where there are few.
fn charts(
    input: &ReportInput,
    partners: &[&PartnerResult],
    stem: &str,
    summary: bool,
) -> Result<Vec<(Chart, Vec<u8>)>, ChartError> {
    let locale = input.locale;
    let l = |k: &str| label(locale, k, &[]);
    // The notes name the rules' thresholds, which the lines are drawn at.
    let (a, b) = (input.grades.a_min.normalize().to_string(), input.grades.b_min.normalize().to_string());
    let note = |k: &str| label(locale, k, &[("a_min", a.as_str()), ("b_min", b.as_str())]);
    let (months, grid) = by_month(input, partners);
    let names: Vec<String> = months.iter().map(|m| format!("{:02}", m.month())).collect();
    let mut out = Vec::new();
    let mut chart = |name: &str, key: &str, height: u32, legend: bool, png: Vec<u8>| {
        let stem = format!("{name}-{stem}");
        out.push((
            Chart {
                src: String::new(),
                caption: l(key),
                note: note(&format!("{key}_note")),
                stem,
                width: 900,
                height,
                legend,
            },
            png,
        ));
    };
    let boxes = grid
        .iter()
        .map(|scores| five_numbers(&mut scores.values().flatten().map(|d| f64_of(*d)).collect::<Vec<_>>()))
        .collect();
    let (a_min, b_min) = (f64_of(input.grades.a_min), f64_of(input.grades.b_min));
    chart(
        "distribution",
        "chart_distribution",
        380,
        false,
        distribution_png(&Distribution { months: names.clone(), boxes, b_min, a_min })?,
    );
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
        chart("grade-mix", "chart_grade_mix", 320, true, grade_mix_png(&names, &mixes)?);
        let mut ranked: Vec<(String, f64, char)> = partners
            .iter()
            .filter_map(|p| {
                let a = p.assessment.as_ref()?;
                Some((p.partner_id.clone(), f64_of(a.score), a.grade.as_str().chars().next().unwrap_or('C')))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if ranked.len() > 2 * RANKED {
            let bottom = ranked.split_off(ranked.len() - RANKED);
            ranked.truncate(RANKED);
            ranked.extend(bottom);
        }
        let height = (40 + 22 * ranked.len() as u32).max(120);
        let key = if partners.len() > 2 * RANKED { "chart_ranking" } else { "chart_ranking_all" };
        chart("ranking", key, height, true, ranking_png(&ranked, a_min, b_min)?);
    }
    if partners.len() <= MAX_LINES {
        chart("trend", "trend", 420, false, trend_png(&trend(input, partners))?);
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

/// The department pages and the leadership summary.
pub(crate) fn reports(input: &ReportInput) -> Result<Vec<Report>, ReportError> {
    let r = input.result;
    let locale = input.locale;
    let month = r.month.to_string();
    let t = super::templates::labels(locale);
    let missing = (!r.missing_history_months.is_empty()).then(|| r.missing_history_months.len().to_string());
    let mut out = Vec::new();

    let mut departments: BTreeSet<&str> = input.departments.keys().map(String::as_str).collect();
    departments.extend(r.partners.iter().flat_map(|p| p.departments.iter().map(String::as_str)));
    for department in departments {
        let partners: Vec<&PartnerResult> = r.partners.iter().filter(|p| p.departments.contains(department)).collect();
        if partners.is_empty() {
            continue;
        }
        let rows = rows(input, &partners);
        let title = label(locale, "title_department", &[("month", &month), ("department", department)]);
        let lead = label(locale, "lead_department", &[("month", &month)]);
        let made = charts(input, &partners, &super::short_hash(department), false)?;
        let flagged: Vec<&Row> = rows.iter().filter(|x| !x.flags.is_empty()).collect();
        let draft = input.drafts.contains(department);
        let state = (!input.preview).then(|| {
            let status = if draft { UnitStatus::Draft } else { UnitStatus::Approved };
            state_line(locale, status, &label(locale, "state_approved", &[]))
        });
        let page = |mail: bool| {
            let charts = linked(&made, mail);
            render(
                "monthly_report.html",
                minijinja::context! { t, title, lead, rows, flagged, summary => false, preview => input.preview,
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
            images: made.into_iter().map(|(c, png)| (c.stem, png)).collect(),
        });
    }

    let all: Vec<&PartnerResult> = r.partners.iter().collect();
    let rows = rows(input, &all);
    let count = |g| r.partners.iter().filter(|p| p.assessment.as_ref().is_some_and(|a| a.grade == g)).count();
    let on_hold = r.partners.iter().filter(|p| p.assessment.is_none()).count();
    let sum = |f: fn(&crate::domain::monthly::Assessment) -> Decimal| {
        fmt2(r.partners.iter().filter_map(|p| p.assessment.as_ref()).map(f).sum())
    };
    let totals = minijinja::context! {
        partners => r.partners.len(), on_hold, flagged => r.partners.iter().filter(|p| !p.flags.is_empty()).count(),
        fees_total => sum(|a| a.fees_total), fees_excluded => sum(|a| a.fees_excluded), settlement => sum(|a| a.settlement),
        a => count(Grade::A), b => count(Grade::B), c => count(Grade::C),
    };
    let made = charts(input, &all, "all", true)?;
    let title = label(locale, "title_summary", &[("month", &month)]);
    let lead = label(locale, "lead_summary", &[("month", &month)]);
    let flagged: Vec<&Row> = rows.iter().filter(|x| !x.flags.is_empty()).collect();
    let draft = !input.drafts.is_empty();
    let state = (!input.preview).then(|| {
        let status = if draft { UnitStatus::Draft } else { UnitStatus::Approved };
        state_line(locale, status, &label(locale, "state_approved", &[]))
    });
    let page = |mail: bool| {
        let charts = linked(&made, mail);
        render(
            "monthly_report.html",
            minijinja::context! { t, title, lead, rows, flagged, totals, summary => true, preview => input.preview,
            charts, missing_months => missing, state },
        )
    };
    out.push(Report {
        kind: "summary".into(),
        department: None,
        subject: label(locale, if draft { "subject_summary" } else { "subject_summary_final" }, &[("month", &month)]),
        html_file: page(false)?,
        html_mail: page(true)?,
        text: text_body(&title, &lead, &rows, locale),
        images: made.into_iter().map(|(c, png)| (c.stem, png)).collect(),
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

/// The month's workbook for people: an overview first (as the summary page), then the results,
/// the indicators and the data quality, each a labelled table that filters, prints and reads in
/// the locale's words. Quarantined rows the workbook lists up to a limit (the CSV lists them all).
const DATA_QUALITY_ROWS_LISTED: usize = 10_000;

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

    // The overview: the month's figures, the grade mix, and who is flagged or on hold.
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
        let overview = book.add_worksheet().set_name(l("sheet_overview"))?;
        overview.write_string_with_format(0, 0, &title, &f.title)?;
        overview.write_string_with_format(2, 0, l("col_item"), &f.head)?;
        overview.write_string_with_format(2, 1, l("col_value"), &f.head)?;
        for (i, (name, value)) in figures.iter().enumerate() {
            let row = i as u32 + 3;
            overview.write_string_with_format(row, 0, name, &f.text)?;
            sheet::write(overview, &f, row, 1, value)?;
        }
        let mut row = figures.len() as u32 + 4;
        let noted: Vec<&PartnerResult> =
            result.partners.iter().filter(|p| !p.flags.is_empty() || p.assessment.is_none()).collect();
        if !noted.is_empty() {
            overview.write_string_with_format(row, 0, l("flagged_partners"), &f.title)?;
            row += 1;
            for (c, h) in ["col_partner_name", "col_partner_id", "col_flags", "col_hold_reasons"].iter().enumerate() {
                overview.write_string_with_format(row, c as u16, l(h), &f.head)?;
            }
            for p in noted {
                row += 1;
                overview.write_string_with_format(row, 0, &p.partner_name, &f.text)?;
                overview.write_string_with_format(row, 1, &p.partner_id, &f.text)?;
                let flags: Vec<String> = p.flags.iter().map(|x| words::flag(locale, x.as_str())).collect();
                let holds: Vec<String> = p.hold_reasons.iter().map(|x| words::hold_reason(locale, x)).collect();
                overview.write_string_with_format(row, 2, flags.join(sep), &f.text)?;
                overview.write_string_with_format(row, 3, holds.join(sep), &f.text)?;
            }
        }
        let name_width =
            result.partners.iter().map(|p| unicode_width::UnicodeWidthStr::width(p.partner_name.as_str())).max();
        let first = figures.iter().map(|(n, _)| unicode_width::UnicodeWidthStr::width(n.as_str())).max();
        overview.set_column_width(0, (first.max(name_width).unwrap_or(20) + 2).clamp(16, 50) as f64)?;
        overview.set_column_width(1, 18)?;
        overview.set_column_width(2, 40)?;
        overview.set_column_width(3, 40)?;
        sheet::print_setup(overview, &title, None)?;
        overview.set_active(true);
    }

    let headers = [
        "col_partner_id",
        "col_partner_name",
        "col_departments",
        "col_status",
        "col_effectiveness",
        "col_credit_deduction",
        "col_score",
        "col_grade",
        "col_fees_total",
        "col_fees_excluded",
        "col_settlement",
        "col_c_grades_window",
        "col_flags",
        "col_hold_reasons",
    ];
    let points = |d: Option<Decimal>| d.map_or(Value::Empty, Value::Points);
    let money = |d: Option<Decimal>| d.map_or(Value::Empty, Value::Money);
    let rows = result
        .partners
        .iter()
        .map(|p| {
            let a = p.assessment.as_ref();
            vec![
                Value::Text(p.partner_id.clone()),
                Value::Text(p.partner_name.clone()),
                Value::Text(p.departments.iter().cloned().collect::<Vec<_>>().join(sep)),
                Value::Text(words::status(locale, if a.is_some() { "assessed" } else { "on_hold" })),
                points(a.map(|a| a.effectiveness)),
                points(a.map(|a| a.credit_deduction)),
                points(a.map(|a| a.score)),
                a.map_or(Value::Empty, |a| Value::Text(a.grade.as_str().to_string())),
                money(a.map(|a| a.fees_total)),
                money(a.map(|a| a.fees_excluded)),
                money(a.map(|a| a.settlement)),
                Value::Count(u64::from(p.c_grades_window)),
                Value::Text(p.flags.iter().map(|x| words::flag(locale, x.as_str())).collect::<Vec<_>>().join(sep)),
                Value::Text(p.hold_reasons.iter().map(|x| words::hold_reason(locale, x)).collect::<Vec<_>>().join(sep)),
            ]
        })
        .collect();
    let table = |name: &str, headers: &[&str], rows| Table {
        name: l(name),
        title: format!("{title} · {}", l(name)),
        headers: headers.iter().map(|h| l(h)).collect(),
        rows,
    };
    sheet::add(&mut book, &table("sheet_summary", &headers, rows))?;

    let names: HashMap<&str, &str> =
        result.partners.iter().map(|p| (p.partner_id.as_str(), p.partner_name.as_str())).collect();
    let rows = result
        .indicators
        .iter()
        .map(|x| {
            vec![
                Value::Text(x.partner_id.clone()),
                Value::Text(names.get(x.partner_id.as_str()).unwrap_or(&"").to_string()),
                Value::Text(words::indicator(locale, &x.indicator)),
                points(x.measured),
                Value::Count(x.counted),
                Value::Points(x.points),
                Value::Points(x.weight),
            ]
        })
        .collect();
    let headers = [
        "col_partner_id",
        "col_partner_name",
        "col_indicator",
        "col_measured",
        "col_counted",
        "col_points",
        "col_weight",
    ];
    sheet::add(&mut book, &table("sheet_indicators", &headers, rows))?;

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
    let note = label(
        locale,
        "data_quality_listed",
        &[("listed", &listed.to_string()), ("total", &result.data_quality.len().to_string())],
    );
    rows.push(vec![Value::Text(note), Value::Empty, Value::Empty]);
    sheet::add(&mut book, &table("sheet_data_quality", &["col_source", "col_problem", "col_rows"], rows))?;
    let rows = result.data_quality[..listed]
        .iter()
        .map(|d| {
            vec![
                Value::Text(words::source(locale, &d.source)),
                Value::Text(d.row_id.clone()),
                Value::Text(words::problem(locale, &d.problem)),
            ]
        })
        .collect();
    sheet::add(&mut book, &table("sheet_data_quality_rows", &["col_source", "col_row_id", "col_problem"], rows))?;
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
        ReportInput { result: r, history, departments: d, grades, locale, preview: false, drafts }
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
        let listed = (1..rows.height() as u32).filter(|&row| text(&rows, row, 1).starts_with('T')).count();
        assert_eq!(listed, DATA_QUALITY_ROWS_LISTED);
        assert_eq!(text(&rows, 1, 1), "T000000");
    }
}
