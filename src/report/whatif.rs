//! The outputs of a what-if over months: `what-if.csv` (interface.md), a workbook (the rules'
//! changes side by side and the totals; the partners who move; everything) and a page with the
//! grade mix before and after per month, in the locale's words.

use super::charts::{self, Canvas};
use super::csv::{list, money, to_csv};
use super::sheet::{self, Table, Value};
use super::templates::{label, render};
use super::words;
use crate::domain::money::fmt2;
use crate::domain::text::natural_cmp;
use crate::domain::whatif::{Cause, Row, Side, Tally, Totals, WhatIf};
use rust_decimal::Decimal;
use serde::Serialize;

const HEADER: [&str; 12] = [
    "month",
    "partner_id",
    "score_before",
    "score_after",
    "grade_before",
    "grade_after",
    "settlement_before",
    "settlement_after",
    "flags_before",
    "flags_after",
    "holds_before",
    "holds_after",
];

/// The rows a page lists of the partners who move (the workbook and the CSV have them all).
const PAGE_ROWS: usize = 200;

/// `what-if.csv`: one row per partner and month assessed under either side.
pub(crate) fn csv(w: &WhatIf) -> Vec<u8> {
    let cells = |s: &Option<Side>| -> [String; 5] {
        match s {
            None => Default::default(),
            Some(s) => [
                money(s.score),
                s.grade.map(|g| g.as_str().to_string()).unwrap_or_default(),
                money(s.settlement),
                list(s.flags.iter().map(String::as_str)),
                list(s.holds.iter().map(String::as_str)),
            ],
        }
    };
    to_csv(
        &HEADER,
        w.rows.iter().map(|r| {
            let (b, a) = (cells(&r.before), cells(&r.after));
            let mut row = vec![r.month.to_string(), r.partner_id.clone()];
            for k in 0..5 {
                row.push(b[k].clone());
                row.push(a[k].clone());
            }
            row
        }),
    )
}

/// A cause in the locale's words.
fn cause(locale: &str, c: &Cause) -> String {
    match c {
        Cause::Assessed => label(locale, "whatif_cause_assessed", &[]),
        Cause::Indicator(id) => label(locale, "whatif_cause_indicator", &[("name", &words::indicator(locale, id))]),
        Cause::Credit => label(locale, "whatif_cause_credit", &[]),
        Cause::GradeBands => label(locale, "whatif_cause_bands", &[]),
        Cause::Fees => label(locale, "whatif_cause_fees", &[]),
        Cause::Flags => label(locale, "whatif_cause_flags", &[]),
        Cause::Holds => label(locale, "whatif_cause_holds", &[]),
    }
}

fn sep(locale: &str) -> &'static str {
    if locale == "en" {
        "; "
    } else {
        "、"
    }
}

fn causes(locale: &str, r: &Row) -> String {
    r.causes.iter().map(|c| cause(locale, c)).collect::<Vec<_>>().join(sep(locale))
}

fn grade(locale: &str, s: &Option<Side>) -> String {
    match s {
        None => "—".into(),
        Some(s) => s.grade.map_or_else(|| label(locale, "grade_hold", &[]), |g| g.as_str().to_string()),
    }
}

fn flags(locale: &str, s: &Option<Side>) -> String {
    let Some(s) = s else { return String::new() };
    let f = s.flags.iter().map(|x| label(locale, &format!("flag_short_{x}"), &[]));
    let h = s.holds.iter().map(|x| words::hold_reason(locale, x));
    f.chain(h).collect::<Vec<_>>().join(sep(locale))
}

/// The range's totals (the whole of each month, summed).
fn range_totals(w: &WhatIf) -> (Tally, Tally, usize) {
    let (mut b, mut a, mut moved) = (Tally::default(), Tally::default(), 0);
    for t in w.totals.iter().filter(|t| t.department.is_none()) {
        for k in 0..4 {
            b.grades[k] += t.before.grades[k];
            a.grades[k] += t.after.grades[k];
        }
        b.settlement += t.before.settlement;
        a.settlement += t.after.settlement;
        moved += t.moved;
    }
    (b, a, moved)
}

fn mix(t: &Tally) -> String {
    format!("{}/{}/{}/{}", t.grades[0], t.grades[1], t.grades[2], t.grades[3])
}

fn signed(d: Decimal) -> String {
    if d > Decimal::ZERO {
        format!("+{}", fmt2(d))
    } else {
        fmt2(d)
    }
}

/// What the operator reads: the hashes of both sides, the range's totals, one line per month.
pub(crate) fn lines(locale: &str, w: &WhatIf) -> Vec<String> {
    let l = |key: &str, args: &[(&str, &str)]| label(locale, key, args);
    let before: Vec<&str> = w.before_hashes.iter().map(|h| h.get(..12).unwrap_or(h)).collect();
    let (b, a, moved) = range_totals(w);
    let mut out = vec![
        l(
            "whatif_range_line",
            &[
                ("first", &w.first.to_string()),
                ("last", &w.last.to_string()),
                ("rows", &w.rows.len().to_string()),
                ("moved", &moved.to_string()),
                ("changes", &w.differences.len().to_string()),
            ],
        ),
        l("whatif_hashes", &[("before", &before.join(", ")), ("after", w.candidate_hash.get(..12).unwrap_or(""))]),
        l(
            "whatif_money_line",
            &[
                ("before", &fmt2(b.settlement)),
                ("after", &fmt2(a.settlement)),
                ("moved", &signed(a.settlement - b.settlement)),
                ("mix_before", &mix(&b)),
                ("mix_after", &mix(&a)),
            ],
        ),
    ];
    if let Some(from) = w.effective_from.filter(|f| *f > w.first && *f <= w.last) {
        out.push(l("whatif_effective", &[("month", &from.to_string())]));
    }
    for t in w.totals.iter().filter(|t| t.department.is_none()) {
        out.push(l(
            "whatif_month_line",
            &[
                ("month", &t.month.to_string()),
                ("moved", &t.moved.to_string()),
                ("mix_before", &mix(&t.before)),
                ("mix_after", &mix(&t.after)),
                ("pay_before", &fmt2(t.before.settlement)),
                ("pay_after", &fmt2(t.after.settlement)),
            ],
        ));
    }
    if !w.not_stored.is_empty() {
        let months: Vec<String> = w.not_stored.iter().map(ToString::to_string).collect();
        out.push(l("whatif_not_stored", &[("months", &months.join(sep(locale)))]));
    }
    out
}

fn title(locale: &str, w: &WhatIf) -> String {
    label(locale, "whatif_title", &[("first", &w.first.to_string()), ("last", &w.last.to_string())])
}

/// The workbook: overview (the rules' changes, then the totals), the months by department, the
/// partners who move, and every row.
pub(crate) fn workbook(locale: &str, w: &WhatIf) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let l = |k: &str| label(locale, k, &[]);
    let mut book = rust_xlsxwriter::Workbook::new();
    book.set_properties(&super::stable_properties(w.last.first_day())?);
    let title = title(locale, w);
    let text = |s: String| Value::Text(s);
    let count = |n: usize| Value::Count(n as u64);

    // Overview: what the candidate changes, side by side, then the range's totals.
    let (b, a, moved) = range_totals(w);
    let mut rows: Vec<Vec<Value>> = w
        .differences
        .iter()
        .map(|d| vec![text(words::setting(locale, &d.setting)), text(d.before.clone()), text(d.after.clone())])
        .collect();
    if rows.is_empty() {
        rows.push(vec![text(l("whatif_no_differences")), Value::Empty, Value::Empty]);
    }
    rows.push(vec![Value::Empty, Value::Empty, Value::Empty]);
    rows.push(vec![text(l("whatif_total_settlement")), Value::Money(b.settlement), Value::Money(a.settlement)]);
    for (k, g) in ["A", "B", "C"].into_iter().enumerate() {
        let name = label(locale, "grade_count", &[("grade", g)]);
        rows.push(vec![text(name), count(b.grades[k]), count(a.grades[k])]);
    }
    rows.push(vec![text(l("grade_hold")), count(b.grades[3]), count(a.grades[3])]);
    rows.push(vec![text(l("whatif_moved_rows")), Value::Empty, count(moved)]);
    let hashes: Vec<&str> = w.before_hashes.iter().map(|h| h.get(..12).unwrap_or(h)).collect();
    rows.push(vec![
        text(l("whatif_rules_hash")),
        text(hashes.join(" ")),
        text(w.candidate_hash.get(..12).unwrap_or("").to_string()),
    ]);
    if !w.not_stored.is_empty() {
        let months: Vec<String> = w.not_stored.iter().map(ToString::to_string).collect();
        rows.push(vec![text(l("whatif_not_stored_short")), text(months.join(sep(locale))), Value::Empty]);
    }
    let headers = vec![l("whatif_col_setting"), l("whatif_col_before"), l("whatif_col_after")];
    sheet::add(&mut book, &Table { name: l("sheet_overview"), title: title.clone(), headers, rows, narrow: vec![] })?;

    // The months by department.
    let whole = l("whatif_whole_month");
    let rows = w
        .totals
        .iter()
        .map(|t: &Totals| {
            let mut row = vec![text(t.month.to_string()), text(t.department.clone().unwrap_or_else(|| whole.clone()))];
            for k in 0..4 {
                row.push(count(t.before.grades[k]));
                row.push(count(t.after.grades[k]));
            }
            row.push(Value::Money(t.before.settlement));
            row.push(Value::Money(t.after.settlement));
            row.push(Value::Money(t.after.settlement - t.before.settlement));
            row.push(count(t.moved));
            row
        })
        .collect();
    let mut headers = vec![l("col_month"), l("col_departments")];
    for g in ["A", "B", "C"] {
        let name = label(locale, "grade_count", &[("grade", g)]);
        headers.push(label(locale, "whatif_before_of", &[("what", &name)]));
        headers.push(label(locale, "whatif_after_of", &[("what", &name)]));
    }
    headers.push(label(locale, "whatif_before_of", &[("what", &l("grade_hold"))]));
    headers.push(label(locale, "whatif_after_of", &[("what", &l("grade_hold"))]));
    headers.push(label(locale, "whatif_before_of", &[("what", &l("col_settlement"))]));
    headers.push(label(locale, "whatif_after_of", &[("what", &l("col_settlement"))]));
    headers.push(l("whatif_col_money_moved"));
    headers.push(l("whatif_moved_rows"));
    sheet::add(
        &mut book,
        &Table { name: l("whatif_sheet_months"), title: title.clone(), headers, rows, narrow: vec![] },
    )?;

    // The partners who move, and every row.
    let partner_rows = |only_moving: bool| -> Vec<Vec<Value>> {
        let mut rows: Vec<&Row> = w.rows.iter().filter(|r| !only_moving || r.moves()).collect();
        rows.sort_by(|a, b| a.month.cmp(&b.month).then(natural_cmp(&a.partner_id, &b.partner_id)));
        rows.into_iter()
            .map(|r| {
                let score = |s: &Option<Side>| s.as_ref().and_then(|s| s.score).map_or(Value::Empty, Value::Points);
                let pay = |s: &Option<Side>| s.as_ref().and_then(|s| s.settlement).map_or(Value::Empty, Value::Money);
                vec![
                    text(r.month.to_string()),
                    text(r.partner_id.clone()),
                    text(r.partner_name.clone()),
                    score(&r.before),
                    score(&r.after),
                    text(grade(locale, &r.before)),
                    text(grade(locale, &r.after)),
                    pay(&r.before),
                    pay(&r.after),
                    Value::Money(r.money_moved()),
                    text(flags(locale, &r.before)),
                    text(flags(locale, &r.after)),
                    text(causes(locale, r)),
                ]
            })
            .collect()
    };
    let headers = vec![
        l("col_month"),
        l("col_partner_id"),
        l("col_partner_name"),
        label(locale, "whatif_before_of", &[("what", &l("col_score"))]),
        label(locale, "whatif_after_of", &[("what", &l("col_score"))]),
        label(locale, "whatif_before_of", &[("what", &l("col_grade"))]),
        label(locale, "whatif_after_of", &[("what", &l("col_grade"))]),
        label(locale, "whatif_before_of", &[("what", &l("col_settlement"))]),
        label(locale, "whatif_after_of", &[("what", &l("col_settlement"))]),
        l("whatif_col_money_moved"),
        label(locale, "whatif_before_of", &[("what", &l("col_flags"))]),
        label(locale, "whatif_after_of", &[("what", &l("col_flags"))]),
        l("whatif_col_cause"),
    ];
    let narrow = vec![10, 11, 12];
    sheet::add(
        &mut book,
        &Table {
            name: l("whatif_sheet_movers"),
            title: title.clone(),
            headers: headers.clone(),
            rows: partner_rows(true),
            narrow: narrow.clone(),
        },
    )?;
    sheet::add(&mut book, &Table { name: l("whatif_sheet_all"), title, headers, rows: partner_rows(false), narrow })?;
    book.save_to_buffer()
}

#[derive(Serialize)]
struct PageMonth {
    month: String,
    moved: usize,
    before: String,
    after: String,
    pay_before: String,
    pay_after: String,
    pay_moved: String,
}

#[derive(Serialize)]
struct PageRow {
    month: String,
    partner: String,
    grade: String,
    score: String,
    pay: String,
    moved: String,
    cause: String,
}

/// The page and its two chart files (desk and phone): (file name, bytes).
pub(crate) fn page(locale: &str, w: &WhatIf) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let l = |k: &str, args: &[(&str, &str)]| label(locale, k, args);
    let months: Vec<&Totals> = w.totals.iter().filter(|t| t.department.is_none()).collect();
    let names: Vec<String> = months.iter().map(|t| t.month.to_string()).collect();
    let before: Vec<[usize; 4]> = months.iter().map(|t| t.before.grades).collect();
    let after: Vec<[usize; 4]> = months.iter().map(|t| t.after.grades).collect();
    let desk = charts::grade_mix_pair_png(&names, &before, &after, Canvas::DESK)?;
    let phone = charts::grade_mix_pair_png(&names, &before, &after, Canvas::PHONE)?;
    let score = |s: &Option<Side>| s.as_ref().and_then(|s| s.score).map_or_else(|| "—".into(), fmt2);
    let pay = |s: &Option<Side>| s.as_ref().and_then(|s| s.settlement).map_or_else(|| "—".into(), fmt2);
    let moving: Vec<&Row> = w.rows.iter().filter(|r| r.moves()).collect();
    let rows: Vec<PageRow> = moving
        .iter()
        .take(PAGE_ROWS)
        .map(|r| PageRow {
            month: r.month.to_string(),
            partner: format!("{} {}", r.partner_id, r.partner_name),
            grade: format!("{} → {}", grade(locale, &r.before), grade(locale, &r.after)),
            score: format!("{} → {}", score(&r.before), score(&r.after)),
            pay: format!("{} → {}", pay(&r.before), pay(&r.after)),
            moved: signed(r.money_moved()),
            cause: causes(locale, r),
        })
        .collect();
    let (b, a, moved) = range_totals(w);
    let html = render(
        "what_if.html",
        minijinja::context! {
            lang => if locale == "en" { "en" } else { "zh-CN" },
            title => title(locale, w),
            lines => lines(locale, w),
            result => l("whatif_page_result", &[
                ("moved", &moved.to_string()),
                ("money", &signed(a.settlement - b.settlement)),
                ("mix_before", &mix(&b)),
                ("mix_after", &mix(&a)),
            ]),
            differences => w.differences.iter().map(|d| (words::setting(locale, &d.setting), d.before.clone(), d.after.clone())).collect::<Vec<_>>(),
            no_differences => l("whatif_no_differences", &[]),
            months => months.iter().map(|t| PageMonth {
                month: t.month.to_string(),
                moved: t.moved,
                before: mix(&t.before),
                after: mix(&t.after),
                pay_before: fmt2(t.before.settlement),
                pay_after: fmt2(t.after.settlement),
                pay_moved: signed(t.after.settlement - t.before.settlement),
            }).collect::<Vec<_>>(),
            rows => rows,
            more => (moving.len() > PAGE_ROWS).then(|| l("whatif_more_rows", &[("shown", &PAGE_ROWS.to_string()), ("count", &moving.len().to_string())])),
            t => super::templates::labels(locale).iter().filter(|(k, _)| k.starts_with("whatif_page_")).collect::<std::collections::BTreeMap<_, _>>(),
        },
    )?;
    Ok(vec![
        ("what-if.html".into(), html.into_bytes()),
        ("grade-mix.png".into(), desk),
        ("grade-mix-phone.png".into(), phone),
    ])
}
