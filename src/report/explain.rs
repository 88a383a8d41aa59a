//! `explain`: every point of a partner's month traced to its rows, and the arithmetic from the
//! indicator points to the score and the settlement. Pure: stored rows and rules in, text out.

use crate::domain::money::{fmt2, round2};
use crate::domain::monthly::Evidence;
use crate::domain::rules::{IndicatorKind, Rules};
use crate::store::monthly::StoredExplanation;
use rust_decimal::Decimal;
use std::fmt::Write;

fn ts(t: Option<chrono::NaiveDateTime>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "—".into())
}

struct Words {
    status: &'static str,
    score: &'static str,
    grade: &'static str,
    settlement: &'static str,
    on_time_of: &'static str,
    late_rows: &'static str,
    no_data: &'static str,
    events: &'static str,
    surveys: &'static str,
    manual: &'static str,
    credit: &'static str,
    fees: &'static str,
    excluded: &'static str,
    hold: &'static str,
    rules_changed: &'static str,
}

const ZH: Words = Words {
    status: "状态",
    score: "考核得分",
    grade: "等级",
    settlement: "结算金额",
    on_time_of: "按时",
    late_rows: "超时明细",
    no_data: "无数据，按满分计",
    events: "扣分事件",
    surveys: "满意度回访",
    manual: "人工评分",
    credit: "信用扣分",
    fees: "当月支撑费",
    excluded: "稽核剔除",
    hold: "暂缓考核原因",
    rules_changed: "注意：结果按另一版规则计算（规则哈希不同），以下算式按当前规则列出",
};

const EN: Words = Words {
    status: "status",
    score: "score",
    grade: "grade",
    settlement: "settlement",
    on_time_of: "on time",
    late_rows: "late",
    no_data: "no data: full weight",
    events: "penalty events",
    surveys: "surveys",
    manual: "manual score",
    credit: "credit deductions",
    fees: "fees",
    excluded: "excluded by audit",
    hold: "on hold because",
    rules_changed: "note: stored with other rules (different hash); the arithmetic below uses the current rules",
};

/// The explanation of one partner's month, in Chinese (`zh-CN`) or English (`en`).
pub(crate) fn explain(partner: &str, month: &str, stored: &StoredExplanation, rules: &Rules, locale: &str) -> String {
    let w = if locale == "en" { &EN } else { &ZH };
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
    let _ = writeln!(out, "{}: {}", w.status, get(1).unwrap_or_default());
    if get(11).as_deref() != Some(rules.hash.as_str()) {
        let _ = writeln!(out, "{}", w.rules_changed);
    }
    if get(1).as_deref() == Some("on_hold") {
        let _ = writeln!(out, "{}: {}", w.hold, get(10).unwrap_or_default());
        return out;
    }
    fn rows<'a>(evidence: &'a [Evidence], id: &'a str) -> impl Iterator<Item = &'a Evidence> + 'a {
        evidence.iter().filter(move |e| e.indicator == id)
    }
    let by_indicator = |id| rows(&stored.evidence, id);
    let mut terms = Vec::new();
    for ind in &stored.indicators {
        let (id, counted) = (&ind.indicator, ind.counted);
        let (measured, points, weight) = (ind.measured.map(fmt2), fmt2(ind.points), fmt2(ind.weight));
        terms.push(points.clone());
        let _ = writeln!(out);
        let kind = rules.indicator(id).map(|i| &i.kind);
        match kind {
            Some(IndicatorKind::Rate { target_pct, points_per_pct, .. }) => match measured {
                None => {
                    let _ = writeln!(out, "{id}: {} → {points} / {weight}", w.no_data);
                }
                Some(pct) => {
                    let late: Vec<&Evidence> = by_indicator(id).filter(|e| e.outcome == "late").collect();
                    let _ = writeln!(
                            out,
                            "{id}: {} {} / {counted} = {pct} %; {weight} − max(0, {target_pct} − {pct}) × {points_per_pct} = {points}",
                            w.on_time_of,
                            counted - late.len() as i64
                        );
                    if !late.is_empty() {
                        let _ = writeln!(out, "  {} ({}):", w.late_rows, late.len());
                    }
                    for e in late {
                        let _ = writeln!(
                            out,
                            "    {} opened {} due {} resolved {} {}",
                            e.row_id,
                            ts(e.started_at),
                            ts(e.due_at),
                            ts(e.finished_at),
                            e.detail
                        );
                    }
                }
            },
            Some(IndicatorKind::Penalty(_)) => {
                let events: Vec<&Evidence> = by_indicator(id).collect();
                let _ = writeln!(
                    out,
                    "{id}: {} {counted}, Σ = {} → max(0, {weight} − {}) = {points}",
                    w.events,
                    measured.clone().unwrap_or_default(),
                    measured.clone().unwrap_or_default()
                );
                for e in events {
                    let _ = writeln!(
                        out,
                        "    {} {} {} −{}",
                        e.row_id,
                        ts(e.started_at),
                        e.detail,
                        e.value.map(fmt2).unwrap_or_default()
                    );
                }
            }
            Some(IndicatorKind::Average) => match measured {
                None => {
                    let _ = writeln!(out, "{id}: {} → {points} / {weight}", w.no_data);
                }
                Some(mean) => {
                    let values: Vec<String> =
                        by_indicator(id).filter_map(|e| e.value.map(|v| v.normalize().to_string())).collect();
                    let _ = writeln!(
                        out,
                        "{id}: {} {counted}: mean({}) = {mean}; {weight} × {mean} / 100 = {points}",
                        w.surveys,
                        values.join(", ")
                    );
                }
            },
            _ => {
                let _ = writeln!(out, "{id}: {} = {points} / {weight}", w.manual);
            }
        }
    }
    let effectiveness = get(2).unwrap_or_default();
    let _ = writeln!(out, "\neffectiveness = {} = {effectiveness}", terms.join(" + "));
    let violations: Vec<&Evidence> = by_indicator("credit").collect();
    let deduction = get(3).unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: {} = {deduction}",
        w.credit,
        if violations.is_empty() {
            "0".to_string()
        } else {
            violations
                .iter()
                .map(|e| format!("{} ({}) {}", e.row_id, e.detail, e.value.map(fmt2).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(" + ")
        }
    );
    let score = get(4).unwrap_or_default();
    let raw = p.effectiveness.unwrap_or_default() - p.credit_deduction.unwrap_or_default();
    let _ = writeln!(
        out,
        "{} = round(min(100, max(0, {effectiveness} − {deduction}))) = {} → {} {} (A ≥ {}, B ≥ {})",
        w.score,
        fmt2(round2(raw.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED))),
        w.grade,
        get(5).unwrap_or_default(),
        rules.grades.a_min,
        rules.grades.b_min
    );
    for e in by_indicator("settlement") {
        let tag = if e.outcome == "excluded" { w.excluded } else { w.fees };
        let _ = writeln!(out, "    {} {} {} {}", e.row_id, e.detail, tag, e.value.map(fmt2).unwrap_or_default());
    }
    let _ = writeln!(
        out,
        "{} = {} × {score} / 100 = {} ({} {})",
        w.settlement,
        get(6).unwrap_or_default(),
        get(8).unwrap_or_default(),
        w.excluded,
        get(7).unwrap_or_default()
    );
    out
}
