//! The monthly human reports: one page per managing department, the leadership summary, the
//! charts and the workbook. Pure: results and stored history in, HTML, text, PNG and xlsx out.

use super::charts::{grades_png, trend_png, ChartError, Trend};
use super::templates::{label, render};
use crate::domain::money::fmt2;
use crate::domain::monthly::{MonthResult, PartnerResult};
use crate::domain::period::Month;
use crate::domain::renewal::MonthlyScore;
use crate::domain::rules::{Grade, GradeThresholds};
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
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
    p.flags.iter().map(|f| label(locale, &format!("flag_{}", f.as_str()), &[])).collect::<Vec<_>>().join("；")
}

fn hold_words(locale: &str, p: &PartnerResult) -> String {
    p.hold_reasons
        .iter()
        .map(|r| match r.split_once(':') {
            Some((code, what)) => format!("{} {what}", label(locale, &format!("hold_{code}"), &[])),
            None => r.clone(),
        })
        .collect::<Vec<_>>()
        .join("；")
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
    let mut index = 0;
    for department in departments {
        let partners: Vec<&PartnerResult> = r.partners.iter().filter(|p| p.departments.contains(department)).collect();
        if partners.is_empty() {
            continue;
        }
        index += 1;
        let rows = rows(input, &partners);
        let title = label(locale, "title_department", &[("month", &month), ("department", department)]);
        let lead = label(locale, "lead_department", &[("month", &month)]);
        let stem = format!("trend-{index:02}");
        let png = trend_png(&trend(input, &partners))?;
        let flagged: Vec<&Row> = rows.iter().filter(|x| !x.flags.is_empty()).collect();
        let page = |img: String| {
            render(
                "monthly_report.html",
                minijinja::context! { t, title, lead, rows, flagged, summary => false, preview => input.preview,
                trend_img => img, missing_months => missing },
            )
        };
        out.push(Report {
            kind: format!("department:{department}"),
            department: Some(department.to_string()),
            subject: label(locale, "subject_department", &[("month", &month), ("department", department)]),
            html_file: page(format!("{stem}.png"))?,
            html_mail: page(format!("cid:{stem}"))?,
            text: text_body(&title, &lead, &rows, locale),
            images: vec![(stem, png)],
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
    let grades =
        grades_png([("A", count(Grade::A)), ("B", count(Grade::B)), ("C", count(Grade::C)), ("hold", on_hold)])?;
    let trend_all = trend_png(&trend(input, &all))?;
    let title = label(locale, "title_summary", &[("month", &month)]);
    let lead = label(locale, "lead_summary", &[("month", &month)]);
    let flagged: Vec<&Row> = rows.iter().filter(|x| !x.flags.is_empty()).collect();
    let page = |grades_img: String, trend_img: String| {
        render(
            "monthly_report.html",
            minijinja::context! { t, title, lead, rows, flagged, totals, summary => true, preview => input.preview,
            grades_img, trend_img, missing_months => missing },
        )
    };
    out.push(Report {
        kind: "summary".into(),
        department: None,
        subject: label(locale, "subject_summary", &[("month", &month)]),
        html_file: page("grades.png".into(), "trend-all.png".into())?,
        html_mail: page("cid:grades".into(), "cid:trend-all".into())?,
        text: text_body(&title, &lead, &rows, locale),
        images: vec![("grades".into(), grades), ("trend-all".into(), trend_all)],
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

fn number(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// The month's workbook: results, indicators and data quality, numbers as numbers, text as text.
/// Quarantined rows the workbook lists one by one (the CSV lists them all).
const DATA_QUALITY_ROWS_LISTED: usize = 10_000;

pub(crate) fn workbook(result: &MonthResult, locale: &str) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    book.set_properties(&super::stable_properties(result.month.first_day())?);
    let head = Format::new().set_bold().set_background_color("#EEF2F7");
    let two = Format::new().set_num_format("0.00");
    let l = |k: &str| label(locale, k, &[]);

    let sheet = book.add_worksheet().set_name(l("sheet_summary"))?;
    let headers = crate::report::csv::SCORES_HEADER;
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &head)?;
    }
    for (i, p) in result.partners.iter().enumerate() {
        let r = (i + 1) as u32;
        let a = p.assessment.as_ref();
        sheet.write_string(r, 0, &p.partner_id)?;
        sheet.write_string(r, 1, &p.partner_name)?;
        sheet.write_string(r, 2, if a.is_some() { "assessed" } else { "on_hold" })?;
        if let Some(a) = a {
            for (c, v) in [(3, a.effectiveness), (4, a.credit_deduction), (5, a.score)] {
                sheet.write_number_with_format(r, c, number(v), &two)?;
            }
            sheet.write_string(r, 6, a.grade.as_str())?;
            for (c, v) in [(7, a.fees_total), (8, a.fees_excluded), (9, a.settlement)] {
                sheet.write_number_with_format(r, c, number(v), &two)?;
            }
        }
        sheet.write_number(r, 10, p.c_grades_window as f64)?;
        sheet.write_string(r, 11, crate::report::csv::list(p.flags.iter().map(|f| f.as_str())))?;
        sheet.write_string(r, 12, crate::report::csv::list(p.hold_reasons.iter().map(String::as_str)))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (c, w) in [(0u16, 10.0), (1, 34.0), (2, 10.0), (11, 36.0), (12, 36.0)] {
        sheet.set_column_width(c, w)?;
    }
    for c in 3..=10u16 {
        sheet.set_column_width(c, 14.0)?;
    }

    let sheet = book.add_worksheet().set_name(l("sheet_indicators"))?;
    for (c, h) in ["partner_id", "indicator", "measured", "counted", "points", "weight"].iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &head)?;
    }
    for (i, x) in result.indicators.iter().enumerate() {
        let r = (i + 1) as u32;
        sheet.write_string(r, 0, &x.partner_id)?;
        sheet.write_string(r, 1, &x.indicator)?;
        if let Some(m) = x.measured {
            sheet.write_number_with_format(r, 2, number(m), &two)?;
        }
        sheet.write_number(r, 3, x.counted as f64)?;
        sheet.write_number_with_format(r, 4, number(x.points), &two)?;
        sheet.write_number(r, 5, number(x.weight))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.set_column_width(0, 10.0)?;
    sheet.set_column_width(1, 26.0)?;

    let sheet = book.add_worksheet().set_name(l("sheet_data_quality"))?;
    // A national month can quarantine more rows than a sheet holds (1,048,576): the sheet counts
    // them by source and problem and lists the first ones; data_quality.csv has every row.
    let mut counts: std::collections::BTreeMap<(&str, &str), u64> = std::collections::BTreeMap::new();
    for d in &result.data_quality {
        *counts.entry((d.source.as_ref(), d.problem.as_ref())).or_default() += 1;
    }
    for (c, h) in ["source", "problem", "rows"].iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &head)?;
    }
    let mut r = 1u32;
    for ((source, problem), n) in &counts {
        sheet.write_string(r, 0, *source)?;
        sheet.write_string(r, 1, *problem)?;
        sheet.write_number(r, 2, *n as f64)?;
        r += 1;
    }
    r += 1;
    let listed = result.data_quality.len().min(DATA_QUALITY_ROWS_LISTED);
    let note = label(
        locale,
        "data_quality_listed",
        &[("listed", &listed.to_string()), ("total", &result.data_quality.len().to_string())],
    );
    sheet.write_string(r, 0, note)?;
    r += 1;
    for (c, h) in ["source", "row_id", "problem"].iter().enumerate() {
        sheet.write_string_with_format(r, c as u16, *h, &head)?;
    }
    for d in &result.data_quality[..listed] {
        r += 1;
        sheet.write_string(r, 0, d.source.as_ref())?;
        sheet.write_string(r, 1, &d.row_id)?;
        sheet.write_string(r, 2, d.problem.as_ref())?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (c, w) in [(0u16, 16.0), (1, 36.0), (2, 28.0)] {
        sheet.set_column_width(c, w)?;
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
        ReportInput { result: r, history, departments: d, grades, locale, preview: false }
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
        }];
        let departments = BTreeMap::new();
        let reports = reports(&input(&r, &history, "zh-CN", &departments)).unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].subject, "【ICT支撑合作伙伴月度考核】2026-10 网络部（待审批）");
        let summary = &reports[1];
        // P2 (95.50) ranks above P1 (70.00); P1 fell 10.00 from 80.00.
        assert!(summary.text.find("P2").unwrap() < summary.text.find("P1").unwrap());
        assert!(summary.html_file.contains("-10.00") && summary.html_file.contains("近12个月两次及以上C级"));
        assert!(summary.html_mail.contains("cid:grades") && summary.html_file.contains("grades.png"));
        assert!(!summary.html_file.contains("<b>P1</b>"), "names are escaped");
        let en = reports_in("en", &r);
        assert_eq!(en[1].subject, "ICT partner assessment 2026-10: summary (draft for approval)");
        assert!(en[1].html_file.contains("two or more C grades in 12 months"));
    }

    fn reports_in(locale: &str, r: &MonthResult) -> Vec<Report> {
        let departments = BTreeMap::new();
        reports(&input(r, &[], locale, &departments)).unwrap()
    }

    #[test]
    fn workbook_opens_as_xlsx() {
        let bytes = workbook(&result(), "zh-CN").unwrap();
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
        let bytes = workbook(&r, "zh-CN").unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("数据质量").unwrap();
        let text = |row: u32, col: u32| match sheet.get_value((row, col)) {
            Some(Data::String(s)) => s.clone(),
            Some(Data::Float(x)) => x.to_string(),
            other => format!("{other:?}"),
        };
        // Sorted by source and problem: partner_not_assessed (odd rows), then unknown_sla_class.
        assert_eq!((text(1, 1), text(1, 2)), ("partner_not_assessed".into(), ((n / 2) as f64).to_string()));
        assert_eq!((text(2, 1), text(2, 2)), ("unknown_sla_class".into(), (n.div_ceil(2) as f64).to_string()));
        assert_eq!(
            text(4, 0),
            format!("以下列出前 {DATA_QUALITY_ROWS_LISTED} 行，共 {n} 行；完整清单见 data_quality.csv")
        );
        let listed = (6..sheet.height() as u32).filter(|&row| text(row, 1).starts_with('T')).count();
        assert_eq!(listed, DATA_QUALITY_ROWS_LISTED);
        assert_eq!(text(6, 1), "T000000");
    }
}
