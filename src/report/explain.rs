//! `explain`: every point of a partner's month traced to its rows, and the arithmetic from the
//! indicator points to the score and the settlement. Pure: stored rows and rules in, text out.

use super::templates::label;
use super::words;
use crate::domain::money::{fmt2, round2};
use crate::domain::monthly::Evidence;
use crate::domain::rules::{IndicatorKind, Rules};
use crate::store::monthly::StoredExplanation;
use rust_decimal::Decimal;
use std::fmt::Write;

fn ts(t: Option<chrono::NaiveDateTime>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "—".into())
}

/// The explanation of one partner's month, in Chinese (`zh-CN`) or English (`en`).
pub(crate) fn explain(partner: &str, month: &str, stored: &StoredExplanation, rules: &Rules, locale: &str) -> String {
    let l = |key: &str| label(locale, &format!("explain_{key}"), &[]);
    let name = |id: &str| words::indicator(locale, id);
    let p = &stored.partner;
    let money = |d: Option<Decimal>| d.map(fmt2);
    let fields: [Option<String>; 12] = [
        Some(p.partner_name.clone()),
        Some(p.status.as_str().to_string()),
        money(p.effectiveness),
        money(p.credit_deduction),
        money(p.score),
        p.grade.map(|g| g.as_str().to_string()),
        money(p.fees_total),
        money(p.fees_excluded),
        money(p.settlement),
        Some(p.flags.clone()),
        Some(p.hold_reasons.clone()),
        Some(p.rules_hash.clone()),
    ];
    let get = |i: usize| fields[i].clone();
    let mut out = String::new();
    let _ = writeln!(out, "{partner} {} — {month}", get(0).unwrap_or_default());
    let colon = if locale == "en" { ": " } else { "：" };
    let _ = writeln!(out, "{}{colon}{}", l("status"), words::status(locale, &get(1).unwrap_or_default()));
    if get(11).as_deref() != Some(rules.hash.as_str()) {
        let _ = writeln!(out, "{}", l("rules_changed"));
    }
    if get(1).as_deref() == Some("on_hold") {
        let reasons = words::list(locale, &get(10).unwrap_or_default(), words::hold_reason);
        let _ = writeln!(out, "{}{colon}{reasons}", l("hold"));
        return out;
    }
    fn rows<'a>(evidence: &'a [Evidence], id: &'a str) -> impl Iterator<Item = &'a Evidence> + 'a {
        evidence.iter().filter(move |e| e.indicator == id)
    }
    let by_indicator = |id| rows(&stored.evidence, id);
    let mut terms = Vec::new();
    for ind in &stored.indicators {
        let (id, counted) = (&ind.indicator, ind.counted);
        let shown = name(id);
        let (measured, points, weight) = (ind.measured.map(fmt2), fmt2(ind.points), fmt2(ind.weight));
        terms.push(points.clone());
        let _ = writeln!(out);
        let kind = rules.indicator(id).map(|i| &i.kind);
        match kind {
            Some(IndicatorKind::Rate { target_pct, points_per_pct, .. }) => match measured {
                None => {
                    let _ = writeln!(out, "{shown}{colon}{} → {points} / {weight}", l("no_data"));
                }
                Some(pct) => {
                    let late: Vec<&Evidence> = by_indicator(id).filter(|e| e.outcome == "late").collect();
                    let _ = writeln!(
                            out,
                            "{shown}{colon}{} {} / {counted} = {pct} %; {weight} − max(0, {target_pct} − {pct}) × {points_per_pct} = {points}",
                            l("on_time_of"),
                            counted - late.len() as i64
                        );
                    if !late.is_empty() {
                        let _ = writeln!(out, "  {} ({}){colon}", l("late_rows"), late.len());
                    }
                    for e in late {
                        let _ = writeln!(
                            out,
                            "    {} {} {} {} {} {} {} {}",
                            e.row_id,
                            l("opened"),
                            ts(e.started_at),
                            l("due"),
                            ts(e.due_at),
                            l("resolved"),
                            ts(e.finished_at),
                            words::detail(locale, &e.detail)
                        );
                    }
                }
            },
            Some(IndicatorKind::Penalty(_)) => {
                let events: Vec<&Evidence> = by_indicator(id).collect();
                let _ = writeln!(
                    out,
                    "{shown}{colon}{} {counted}, Σ = {} → max(0, {weight} − {}) = {points}",
                    l("events"),
                    measured.clone().unwrap_or_default(),
                    measured.clone().unwrap_or_default()
                );
                for e in events {
                    let _ = writeln!(
                        out,
                        "    {} {} {} −{}",
                        e.row_id,
                        ts(e.started_at),
                        words::detail(locale, &e.detail),
                        e.value.map(fmt2).unwrap_or_default()
                    );
                }
            }
            Some(IndicatorKind::Average) => match measured {
                None => {
                    let _ = writeln!(out, "{shown}{colon}{} → {points} / {weight}", l("no_data"));
                }
                Some(mean) => {
                    let values: Vec<String> =
                        by_indicator(id).filter_map(|e| e.value.map(|v| v.normalize().to_string())).collect();
                    let _ = writeln!(
                        out,
                        "{shown}{colon}{} {counted}{colon}{}({}) = {mean}; {weight} × {mean} / 100 = {points}",
                        l("surveys"),
                        l("mean"),
                        values.join(", ")
                    );
                }
            },
            _ => {
                let _ = writeln!(out, "{shown}{colon}{} = {points} / {weight}", l("manual"));
            }
        }
    }
    let effectiveness = get(2).unwrap_or_default();
    let _ = writeln!(out, "\n{} = {} = {effectiveness}", l("effectiveness"), terms.join(" + "));
    let violations: Vec<&Evidence> = by_indicator("credit").collect();
    let deduction = get(3).unwrap_or_default();
    let _ = writeln!(
        out,
        "{}{colon}{} = {deduction}",
        l("credit"),
        if violations.is_empty() {
            "0".to_string()
        } else {
            violations
                .iter()
                .map(|e| {
                    let detail = words::detail(locale, &e.detail);
                    format!("{} ({detail}) {}", e.row_id, e.value.map(fmt2).unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join(" + ")
        }
    );
    let score = get(4).unwrap_or_default();
    let raw = p.effectiveness.unwrap_or_default() - p.credit_deduction.unwrap_or_default();
    let _ = writeln!(
        out,
        "{} = round(min(100, max(0, {effectiveness} − {deduction}))) = {} → {} {} (A ≥ {}, B ≥ {})",
        l("score"),
        fmt2(round2(raw.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED))),
        l("grade"),
        get(5).unwrap_or_default(),
        rules.grades.a_min,
        rules.grades.b_min
    );
    for e in by_indicator("settlement") {
        let tag = if e.outcome == "excluded" { l("excluded") } else { l("fees") };
        let _ = writeln!(out, "    {} {} {} {}", e.row_id, e.detail, tag, e.value.map(fmt2).unwrap_or_default());
    }
    let _ = writeln!(
        out,
        "{} = {} × {score} / 100 = {} ({} {})",
        l("settlement"),
        get(6).unwrap_or_default(),
        get(8).unwrap_or_default(),
        l("excluded"),
        get(7).unwrap_or_default()
    );
    out
}
