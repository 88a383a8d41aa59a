//! A partner's month for the people who read it (the scorecard mail, `explain`): the result
//! first (score, grade, payment, the change since last month and its cause), then the indicators
//! in words, then the rows behind them, and the arithmetic last for those who check it. Pure:
//! stored rows and rules in, a card out; the card is written as text here and as HTML by the
//! scorecard template.

use super::templates::label;
use super::words;
use crate::domain::money::{fmt2, round2};
use crate::domain::monthly::Evidence;
use crate::domain::rules::{IndicatorKind, Rules};
use crate::store::monthly::{PartnerStatus, StoredExplanation};
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt::Write;

/// One partner's month, ready to be shown.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Card {
    pub(crate) heading: String,
    /// Stored under other rules than the current ones: the arithmetic uses the current rules.
    pub(crate) rules_note: Option<String>,
    /// The result in a few words each: label and value (得分 44.51, 等级 C, 结算金额 9229.47 元).
    pub(crate) result: Vec<(String, String)>,
    /// Why the month is on hold, in words (empty when assessed).
    pub(crate) hold: String,
    /// The flags raised, in words (two C grades, a class-one violation, a blacklist recommendation).
    pub(crate) flags: String,
    /// The change since last month with its cause.
    pub(crate) change: Option<String>,
    /// The fees behind the payment.
    pub(crate) fees: Option<String>,
    pub(crate) indicators: Vec<IndicatorLine>,
    pub(crate) sections: Vec<Section>,
    pub(crate) arithmetic: Vec<String>,
    /// The headings a page shows, in the locale's words.
    pub(crate) words: std::collections::BTreeMap<&'static str, String>,
}

/// An indicator in words: what was achieved, and the points of its weight.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IndicatorLine {
    pub(crate) name: String,
    pub(crate) result: String,
    pub(crate) points: String,
    pub(crate) weight: String,
}

/// The rows behind one indicator (late tickets, penalty events, surveys, violations, fee lines).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    /// How many rows there are in all, and a note when fewer are shown.
    pub(crate) total: usize,
    pub(crate) more: Option<String>,
}

fn ts(t: Option<chrono::NaiveDateTime>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "—".into())
}

/// The explanation of one partner's month as text (`explain`, and the plain part of the mail).
pub(crate) fn explain(partner: &str, month: &str, stored: &StoredExplanation, rules: &Rules, locale: &str) -> String {
    text(&card(partner, month, stored, None, rules, locale, None), locale)
}

/// The card of a partner's month. `previous`: the month before, when stored (the change and its
/// cause); `limit`: at most this many rows per section (a mail), or all (`explain`).
pub(crate) fn card(
    partner: &str,
    month: &str,
    stored: &StoredExplanation,
    previous: Option<&StoredExplanation>,
    rules: &Rules,
    locale: &str,
    limit: Option<usize>,
) -> Card {
    let l = |key: &str, args: &[(&str, &str)]| label(locale, &format!("card_{key}"), args);
    let p = &stored.partner;
    let heading = format!("{partner} {} — {month}", p.partner_name);
    let words: std::collections::BTreeMap<&'static str, String> =
        ["indicators", "col_indicator", "col_result", "col_points", "arithmetic", "hold", "flags"]
            .into_iter()
            .map(|k| (k, l(k, &[])))
            .collect();
    let rules_note = (p.rules_hash != rules.hash).then(|| l("rules_changed", &[]));
    if p.status == PartnerStatus::OnHold {
        let reasons = words::list(locale, &p.hold_reasons, words::hold_reason);
        return Card {
            heading,
            rules_note,
            result: vec![(l("status", &[]), words::status(locale, "on_hold"))],
            hold: reasons,
            flags: words::list(locale, &p.flags, words::flag),
            change: None,
            fees: None,
            indicators: vec![],
            sections: vec![],
            arithmetic: vec![],
            words,
        };
    }
    let money = |d: Option<Decimal>| d.map(fmt2).unwrap_or_default();
    let grade = p.grade.map(|g| g.as_str().to_string()).unwrap_or_default();
    let result = vec![
        (l("score", &[]), money(p.score)),
        (l("grade", &[]), l("grade_value", &[("grade", &grade)])),
        (l("pay", &[]), l("yuan", &[("amount", &money(p.settlement))])),
    ];
    let fees = Some(l("fees", &[("fees", &money(p.fees_total)), ("excluded", &money(p.fees_excluded))]));
    let change = previous.map(|before| change(stored, before, locale));
    let mut indicators = Vec::new();
    let mut sections = Vec::new();
    let mut arithmetic = Vec::new();
    let mut terms = Vec::new();
    fn rows<'a>(evidence: &'a [Evidence], id: &'a str) -> impl Iterator<Item = &'a Evidence> + 'a {
        evidence.iter().filter(move |e| e.indicator == id)
    }
    let rows_of = |id| rows(&stored.evidence, id);
    for ind in &stored.indicators {
        let name = words::indicator(locale, &ind.indicator);
        let (points, weight) = (fmt2(ind.points), fmt2(ind.weight));
        terms.push(points.clone());
        let measured = ind.measured.map(fmt2);
        let counted = ind.counted.to_string();
        let result = match rules.indicator(&ind.indicator).map(|i| &i.kind) {
            Some(IndicatorKind::Rate { target_pct, points_per_pct, .. }) => match &measured {
                None => {
                    arithmetic.push(l("arith_no_data", &[("name", &name), ("weight", &weight)]));
                    l("no_data", &[])
                }
                Some(pct) => {
                    let late: Vec<&Evidence> = rows_of(&ind.indicator).filter(|e| e.outcome == "late").collect();
                    let on_time = (ind.counted - late.len() as i64).to_string();
                    let target = target_pct.normalize().to_string();
                    let per = points_per_pct.normalize().to_string();
                    let met = ind.measured.is_some_and(|m| m >= *target_pct);
                    let args = [
                        ("name", name.as_str()),
                        ("weight", weight.as_str()),
                        ("target", target.as_str()),
                        ("pct", pct.as_str()),
                        ("per", per.as_str()),
                        ("points", points.as_str()),
                    ];
                    arithmetic.push(l(if met { "arith_rate_met" } else { "arith_rate" }, &args));
                    if !late.is_empty() {
                        let columns = ["col_row", "col_opened", "col_due", "col_resolved", "col_class"];
                        let rows = late
                            .iter()
                            .map(|e| {
                                vec![
                                    e.row_id.clone(),
                                    ts(e.started_at),
                                    ts(e.due_at),
                                    ts(e.finished_at),
                                    words::detail(locale, &e.detail),
                                ]
                            })
                            .collect();
                        let title = l("late_title", &[("name", &name), ("count", &late.len().to_string())]);
                        sections.push(section(locale, title, &columns, rows, limit));
                    }
                    let args =
                        [("on_time", on_time.as_str()), ("counted", &counted), ("pct", pct), ("target", &target)];
                    l("rate", &args)
                }
            },
            Some(IndicatorKind::Penalty(_)) => {
                let events: Vec<&Evidence> = rows_of(&ind.indicator).collect();
                let sum = measured.clone().unwrap_or_else(|| "0.00".into());
                arithmetic.push(l(
                    "arith_penalty",
                    &[("name", &name), ("weight", &weight), ("sum", &sum), ("points", &points)],
                ));
                if !events.is_empty() {
                    let rows = events
                        .iter()
                        .map(|e| {
                            vec![
                                e.row_id.clone(),
                                ts(e.started_at),
                                words::detail(locale, &e.detail),
                                format!("−{}", e.value.map(fmt2).unwrap_or_default()),
                            ]
                        })
                        .collect();
                    let title = l("events_title", &[("name", &name)]);
                    sections.push(section(
                        locale,
                        title,
                        &["col_row", "col_time", "col_event", "col_points"],
                        rows,
                        limit,
                    ));
                }
                l("penalty", &[("count", &counted), ("sum", &sum)])
            }
            Some(IndicatorKind::Average) => match &measured {
                None => {
                    arithmetic.push(l("arith_no_data", &[("name", &name), ("weight", &weight)]));
                    l("no_data", &[])
                }
                Some(mean) => {
                    let surveys: Vec<&Evidence> = rows_of(&ind.indicator).collect();
                    arithmetic.push(l(
                        "arith_average",
                        &[("name", &name), ("weight", &weight), ("mean", mean), ("points", &points)],
                    ));
                    let rows = surveys
                        .iter()
                        .map(|e| {
                            vec![
                                e.row_id.clone(),
                                ts(e.started_at),
                                e.value.map(|v| v.normalize().to_string()).unwrap_or_default(),
                            ]
                        })
                        .collect();
                    let title = l("surveys_title", &[("name", &name)]);
                    sections.push(section(locale, title, &["col_row", "col_time", "col_survey"], rows, limit));
                    l("average", &[("count", &counted), ("mean", mean)])
                }
            },
            _ => {
                arithmetic.push(l("arith_manual", &[("name", &name), ("points", &points)]));
                l("manual", &[])
            }
        };
        indicators.push(IndicatorLine { name, result, points, weight });
    }
    let effectiveness = money(p.effectiveness);
    arithmetic.push(l("arith_effectiveness", &[("terms", &terms.join(" + ")), ("total", &effectiveness)]));
    let deduction = money(p.credit_deduction);
    let violations: Vec<&Evidence> = rows_of("credit").collect();
    if !violations.is_empty() {
        let rows = violations
            .iter()
            .map(|e| {
                vec![
                    e.row_id.clone(),
                    ts(e.started_at).get(..10).unwrap_or("—").to_string(),
                    words::detail(locale, &e.detail),
                    format!("−{}", e.value.map(fmt2).unwrap_or_default()),
                ]
            })
            .collect();
        sections.push(section(
            locale,
            l("credit_title", &[]),
            &["col_row", "col_date", "col_violation", "col_points"],
            rows,
            limit,
        ));
    }
    let credit_terms: Vec<String> = violations.iter().map(|e| e.value.map(fmt2).unwrap_or_default()).collect();
    let credit_terms = if credit_terms.is_empty() { "0".to_string() } else { credit_terms.join(" + ") };
    arithmetic.push(l("arith_credit", &[("terms", &credit_terms), ("total", &deduction)]));
    let raw = p.effectiveness.unwrap_or_default() - p.credit_deduction.unwrap_or_default();
    let score = fmt2(round2(raw.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED)));
    let (a, b) = (rules.grades.a_min.normalize().to_string(), rules.grades.b_min.normalize().to_string());
    arithmetic.push(l(
        "arith_score",
        &[("eff", &effectiveness), ("credit", &deduction), ("score", &score), ("grade", &grade), ("a", &a), ("b", &b)],
    ));
    let fee_rows: Vec<Vec<String>> = rows_of("settlement")
        .map(|e| {
            let how = if e.outcome == "excluded" { l("fee_excluded", &[]) } else { l("fee_included", &[]) };
            vec![e.row_id.clone(), e.detail.clone(), e.value.map(fmt2).unwrap_or_default(), how]
        })
        .collect();
    if !fee_rows.is_empty() {
        sections.push(section(
            locale,
            l("fees_title", &[]),
            &["col_row", "col_contract", "col_amount", "col_fee_state"],
            fee_rows,
            limit,
        ));
    }
    arithmetic.push(l(
        "arith_settlement",
        &[("fees", &money(p.fees_total)), ("score", &money(p.score)), ("pay", &money(p.settlement))],
    ));
    indicators.push(IndicatorLine {
        name: l("credit", &[]),
        result: if violations.is_empty() {
            l("credit_none", &[])
        } else {
            l("credit_some", &[("count", &violations.len().to_string())])
        },
        points: format!("−{deduction}"),
        weight: String::new(),
    });
    let flags = words::list(locale, &p.flags, words::flag);
    Card {
        heading,
        rules_note,
        result,
        hold: String::new(),
        flags,
        change,
        fees,
        indicators,
        sections,
        arithmetic,
        words,
    }
}

/// A section of rows, at most `limit` of them, saying how many there are in all.
fn section(locale: &str, title: String, columns: &[&str], mut rows: Vec<Vec<String>>, limit: Option<usize>) -> Section {
    let total = rows.len();
    let more = match limit {
        Some(n) if total > n => {
            rows.truncate(n);
            Some(label(locale, "card_rows_more", &[("total", &total.to_string()), ("shown", &n.to_string())]))
        }
        _ => None,
    };
    let columns = columns.iter().map(|c| label(locale, &format!("card_{c}"), &[])).collect();
    Section { title, columns, rows, total, more }
}

/// The change since the month before and where it comes from: the indicators and the credit
/// deduction that moved most (a jump after a class-one month says so).
fn change(now: &StoredExplanation, before: &StoredExplanation, locale: &str) -> String {
    let l = |key: &str, args: &[(&str, &str)]| label(locale, &format!("card_{key}"), args);
    let b = &before.partner;
    if b.status == PartnerStatus::OnHold {
        return l("change_was_on_hold", &[("reasons", &words::list(locale, &b.hold_reasons, words::hold_reason))]);
    }
    let (Some(score), Some(was)) = (now.partner.score, b.score) else { return l("change_none", &[]) };
    let delta = score - was;
    let signed = |d: Decimal| if d > Decimal::ZERO { format!("+{}", fmt2(d)) } else { fmt2(d).replace('-', "−") };
    let mut moves: Vec<(Decimal, String)> = Vec::new();
    for ind in &now.indicators {
        if let Some(old) = before.indicators.iter().find(|o| o.indicator == ind.indicator) {
            let d = ind.points - old.points;
            if !d.is_zero() {
                let name = words::indicator(locale, &ind.indicator);
                moves.push((d.abs(), l("cause_indicator", &[("name", &name), ("delta", &signed(d))])));
            }
        }
    }
    let (credit_now, credit_was) =
        (now.partner.credit_deduction.unwrap_or_default(), b.credit_deduction.unwrap_or_default());
    if credit_now != credit_was {
        let key = if credit_was > credit_now { "cause_credit_less" } else { "cause_credit_more" };
        moves.push((
            (credit_now - credit_was).abs(),
            l(key, &[("before", &fmt2(credit_was)), ("after", &fmt2(credit_now))]),
        ));
    }
    moves.sort_by_key(|m| std::cmp::Reverse(m.0));
    let causes: Vec<String> = moves.into_iter().take(3).map(|(_, s)| s).collect();
    let head = if delta.is_zero() {
        l("change_same", &[("before", &fmt2(was))])
    } else {
        l("change", &[("delta", &signed(delta)), ("before", &fmt2(was))])
    };
    if causes.is_empty() {
        head
    } else {
        let sep = if locale == "en" { "; " } else { "；" };
        format!("{head}{}", l("causes", &[("items", &causes.join(sep))]))
    }
}

/// The card as text: the result, the indicators, the rows, the arithmetic.
pub(crate) fn text(card: &Card, locale: &str) -> String {
    let l = |key: &str| label(locale, &format!("card_{key}"), &[]);
    let (colon, gap) = if locale == "en" { (": ", "  ") } else { ("：", "　") };
    let mut out = String::new();
    let _ = writeln!(out, "{}", card.heading);
    if let Some(note) = &card.rules_note {
        let _ = writeln!(out, "{note}");
    }
    let result: Vec<String> = card.result.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(out, "{}", result.join(gap));
    if !card.flags.is_empty() {
        let _ = writeln!(out, "{}{colon}{}", l("flags"), card.flags);
    }
    if !card.hold.is_empty() {
        let _ = writeln!(out, "{}{colon}{}", l("hold"), card.hold);
        return out;
    }
    for line in [&card.change, &card.fees].into_iter().flatten() {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n{}", l("indicators"));
    for i in &card.indicators {
        let of = if i.weight.is_empty() { String::new() } else { format!(" / {}", i.weight) };
        let _ = writeln!(out, "  {}{colon}{}{gap}{}{of}", i.name, i.result, i.points);
    }
    for s in &card.sections {
        let _ = writeln!(out, "\n{}", s.title);
        let _ = writeln!(out, "  {}", s.columns.join(gap));
        for row in &s.rows {
            let _ = writeln!(out, "  {}", row.iter().filter(|c| !c.is_empty()).cloned().collect::<Vec<_>>().join(gap));
        }
        if let Some(more) = &s.more {
            let _ = writeln!(out, "  {more}");
        }
    }
    let _ = writeln!(out, "\n{}", l("arithmetic"));
    for a in &card.arithmetic {
        let _ = writeln!(out, "  {a}");
    }
    out
}
