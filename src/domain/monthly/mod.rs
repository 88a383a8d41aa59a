//! The monthly assessment (rules.md §2–§6): who is assessed, ticket and order attribution,
//! indicators, credit deductions, score, grade, settlement, flags, holds and data quality.

mod evidence;
mod timeliness;

pub(crate) use evidence::{
    data_quality_parts, events_parts_of, rows_of_partners, EvidencePart, MonthEvidence, PartKind, Rows, Words,
};
#[cfg(test)]
pub(crate) use evidence::{data_quality_rows, ROWS_PER_PART};

use super::blacklist::Bans;
use super::clock::ClockTable;
use super::frames::{Orders, Pauses, Tickets};
use super::inputs::*;
use super::money::{decimals, round2};
use super::period::Month;
use super::rules::*;
use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One month of source data: the big datasets as typed columns, the others as frames of text.
#[derive(Debug, Clone)]
pub(crate) struct MonthInput {
    pub(crate) month: Month,
    pub(crate) partners: DataFrame,
    pub(crate) contracts: DataFrame,
    pub(crate) tickets: Tickets,
    pub(crate) pauses: Pauses,
    pub(crate) orders: Orders,
    pub(crate) complaints: DataFrame,
    pub(crate) surveys: DataFrame,
    pub(crate) manual_scores: DataFrame,
    pub(crate) violations: DataFrame,
    pub(crate) fee_items: DataFrame,
    pub(crate) audit_exclusions: DataFrame,
    /// 不良信用记录名单 decisions (all of them: a ban decided years ago may still be in force).
    pub(crate) blacklist: DataFrame,
    /// For a preview of a month not over yet, the instant it is assessed at: a ticket or order
    /// neither done nor past its deadline by then counts nowhere yet (§3). `None` once the month
    /// is over, when every deadline in it has passed.
    pub(crate) as_of: Option<chrono::NaiveDateTime>,
}

/// Earlier months' grades from the store: partner → month → grade (`None` for an on-hold month),
/// plus the months for which a monthly run was stored at all.
#[derive(Debug, Clone, Default)]
pub(crate) struct GradeHistory {
    pub(crate) grades: HashMap<String, BTreeMap<Month, Option<Grade>>>,
    pub(crate) months_run: BTreeSet<Month>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Flag {
    TwoCGrades,
    ClassOneViolation,
    BlacklistRecommended,
}

impl Flag {
    pub(crate) const ALL: [Flag; 3] = [Flag::TwoCGrades, Flag::ClassOneViolation, Flag::BlacklistRecommended];

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Flag::TwoCGrades => "two_c_grades",
            Flag::ClassOneViolation => "class_one_violation",
            Flag::BlacklistRecommended => "blacklist_recommended",
        }
    }
}

/// The numbers of an assessed (not on-hold) partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assessment {
    pub(crate) effectiveness: Decimal,
    pub(crate) credit_deduction: Decimal,
    pub(crate) score: Decimal,
    pub(crate) grade: Grade,
    pub(crate) fees_total: Decimal,
    pub(crate) fees_excluded: Decimal,
    pub(crate) settlement: Decimal,
}

/// One row of `scores.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartnerResult {
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    /// `None` when the partner is on hold.
    pub(crate) assessment: Option<Assessment>,
    pub(crate) c_grades_window: u32,
    pub(crate) flags: BTreeSet<Flag>,
    pub(crate) hold_reasons: BTreeSet<String>,
    /// 归口管理部门 of the partner's after-sales contracts in force.
    pub(crate) departments: BTreeSet<String>,
}

/// One row of `indicators.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndicatorResult {
    pub(crate) partner_id: String,
    pub(crate) indicator: String,
    /// `None` when a rate or average had no data.
    pub(crate) measured: Option<Decimal>,
    pub(crate) counted: u64,
    pub(crate) points: Decimal,
    pub(crate) weight: Decimal,
}

/// One quarantined or ignored row of `data_quality.csv`. The table and the problem are the
/// program's own words, borrowed rather than copied: a national month can have millions of rows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DataQualityRow {
    pub(crate) source: std::borrow::Cow<'static, str>,
    pub(crate) row_id: String,
    pub(crate) problem: std::borrow::Cow<'static, str>,
    /// The partner the row names, when it names one (people look for their own; the CSV keeps
    /// the contract's three columns). Last: the rows sort by source and row id as the CSV
    /// lists them, and the sources' own order keeps that sort nearly free.
    /// Shared between the rows of one partner: a month may quarantine millions of its tickets
    /// (1.6M in the generated 10M month, 64 MB as a string each).
    pub(crate) partner_id: std::sync::Arc<str>,
}

impl DataQualityRow {
    /// A quarantined or ignored row of a source table (`partner`: the one it names, or "").
    pub(crate) fn new(source: &'static str, partner: &str, row_id: &str, problem: &'static str) -> Self {
        Self::of_partner(source, partner.into(), row_id, problem)
    }

    /// The same, naming a partner already held (see [`Partners`]: the tickets and orders).
    pub(crate) fn of_partner(
        source: &'static str,
        partner: std::sync::Arc<str>,
        row_id: &str,
        problem: &'static str,
    ) -> Self {
        DataQualityRow { source: source.into(), row_id: row_id.into(), problem: problem.into(), partner_id: partner }
    }
}

/// The partner ids quarantined rows name, each held once.
#[derive(Debug, Default)]
pub(crate) struct Partners(std::collections::HashSet<std::sync::Arc<str>>);

impl Partners {
    pub(crate) fn get(&mut self, partner: &str) -> std::sync::Arc<str> {
        if let Some(held) = self.0.get(partner) {
            return held.clone();
        }
        let held: std::sync::Arc<str> = partner.into();
        self.0.insert(held.clone());
        held
    }
}

/// A source row behind a number: which ticket counted, on time or late, which event cost what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evidence {
    pub(crate) partner_id: String,
    /// Indicator id, `credit` or `settlement`.
    pub(crate) indicator: String,
    pub(crate) source: String,
    pub(crate) row_id: String,
    pub(crate) started_at: Option<NaiveDateTime>,
    pub(crate) due_at: Option<NaiveDateTime>,
    pub(crate) finished_at: Option<NaiveDateTime>,
    /// `on_time`, `late`, `event`, `included`, `excluded`, `answered`, `entered`.
    pub(crate) outcome: String,
    pub(crate) value: Option<Decimal>,
    pub(crate) detail: String,
}

/// Everything a monthly run produces.
#[derive(Debug, Clone)]
pub(crate) struct MonthResult {
    pub(crate) month: Month,
    pub(crate) partners: Vec<PartnerResult>,
    pub(crate) indicators: Vec<IndicatorResult>,
    pub(crate) data_quality: Vec<DataQualityRow>,
    pub(crate) evidence: MonthEvidence,
    /// Months of the C-grade window before this one with no stored monthly run.
    pub(crate) missing_history_months: Vec<Month>,
}

/// The hold reason of a partner whose month begins inside a ban (§6).
pub(crate) const BANNED: &str = "banned";

/// Partners assessed in `month` (§2) with the departments of their contracts in force.
pub(crate) fn assessed_partners(contracts: &DataFrame, month: Month) -> BTreeMap<String, BTreeSet<String>> {
    let (first, last) = (month.first_day(), month.last_day());
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let ids = text(contracts, "partner_id");
    let kinds = text(contracts, "kind");
    let starts = text(contracts, "start_date");
    let ends = text(contracts, "end_date");
    let terms = text(contracts, "terminated_on");
    let depts = text(contracts, "department");
    for i in 0..contracts.height() {
        let (Some(partner), Some("aftersales")) = (ids.get(i), kinds.get(i)) else { continue };
        let (Ok(Some(start)), Ok(Some(end)), Ok(term)) =
            (opt_date(starts.get(i)), opt_date(ends.get(i)), opt_date(terms.get(i)))
        else {
            continue;
        };
        if in_force(start, end, term, first, last) {
            out.entry(partner.to_string()).or_default().extend(depts.get(i).map(str::to_string));
        }
    }
    out
}

/// A contract is in force during `[first, last]` (§2).
pub(crate) fn in_force(
    start: NaiveDate,
    end: NaiveDate,
    terminated: Option<NaiveDate>,
    first: NaiveDate,
    last: NaiveDate,
) -> bool {
    start <= last && end >= first && terminated.is_none_or(|t| t >= first)
}

struct Collector<'a> {
    month: Month,
    assessed: &'a BTreeMap<String, BTreeSet<String>>,
    dq: Vec<DataQualityRow>,
    /// Evidence of the small datasets (events, answers, fee items): one row each.
    events: Vec<Evidence>,
}

impl Collector<'_> {
    fn quarantine(&mut self, source: &'static str, partner: &str, row_id: &str, problem: &'static str) {
        self.dq.push(DataQualityRow::new(source, partner, row_id, problem));
    }
    fn is_assessed(&self, partner: &str) -> bool {
        self.assessed.contains_key(partner)
    }
    /// For each code of a partner dictionary, whether that partner is assessed.
    fn assessed_codes(&self, names: &[String]) -> Vec<bool> {
        names.iter().map(|n| self.is_assessed(n)).collect()
    }
}

/// Per partner: (counted, on time) of a rate indicator, and penalty events.
#[derive(Default)]
struct Tally {
    ticket_counted: HashMap<String, (u64, u64)>,
    order_counted: HashMap<String, (u64, u64)>,
    /// partner → penalties of `service_quality` events.
    penalties: HashMap<String, Vec<Decimal>>,
}

/// (counted, on time) per partner id from the counts per code of a dictionary.
fn counts_by_name(names: &[String], counts: &[(u64, u64)]) -> HashMap<String, (u64, u64)> {
    names.iter().zip(counts).filter(|(_, c)| c.0 > 0).map(|(n, c)| (n.clone(), *c)).collect()
}

pub(super) fn event(
    partner: &str,
    indicator: &str,
    source: &str,
    id: &str,
    what: &str,
    points: Decimal,
    at: Option<NaiveDateTime>,
) -> Evidence {
    Evidence {
        partner_id: partner.into(),
        indicator: indicator.into(),
        source: source.into(),
        row_id: id.into(),
        started_at: at,
        due_at: None,
        finished_at: None,
        outcome: "event".into(),
        value: Some(points),
        detail: what.into(),
    }
}

fn evaluate_complaints(input: &MonthInput, rules: &Rules, c: &mut Collector, tally: &mut Tally) {
    let Some((indicator, p)) = rules.indicators.iter().find_map(|i| match &i.kind {
        IndicatorKind::Penalty(p) => Some((i.id.clone(), *p)),
        _ => None,
    }) else {
        return;
    };
    let df = &input.complaints;
    let (ids, partners, received) = (text(df, "complaint_id"), text(df, "partner_id"), text(df, "received_at"));
    let (channels, steps, justified) = (text(df, "channel"), text(df, "escalation_steps"), text(df, "justified"));
    for i in 0..df.height() {
        let id = ids.get(i).unwrap_or("");
        let partner = partners.get(i).unwrap_or("");
        let Ok(Some(at)) = opt_timestamp(received.get(i)) else {
            c.quarantine("complaints", partner, id, "unparsable_received_at");
            continue;
        };
        if Month::of_instant(at) != c.month {
            continue;
        }
        let steps = match opt_int(steps.get(i)) {
            Ok(None) => Some(0),
            Ok(Some(n)) if n >= 0 => Some(n),
            _ => None,
        };
        let justified = match opt_int(justified.get(i)) {
            Ok(Some(0)) => Some(false),
            Ok(Some(1)) => Some(true),
            _ => None,
        };
        let channel = channels.get(i).unwrap_or("");
        let points = match (channel, steps) {
            ("miit", Some(_)) => Some(p.complaint_miit),
            ("group", Some(_)) => Some(p.complaint_group),
            ("account_manager", Some(n)) => {
                Some(p.complaint_account_manager + p.complaint_escalation_step * Decimal::from(n))
            }
            _ => None,
        };
        let (Some(points), Some(justified)) = (points, justified) else {
            c.quarantine("complaints", partner, id, "invalid_complaint");
            continue;
        };
        if !c.is_assessed(partner) {
            c.quarantine("complaints", partner, id, "partner_not_assessed");
            continue;
        }
        if justified {
            tally.penalties.entry(partner.into()).or_default().push(points);
            c.events.push(event(
                partner,
                &indicator,
                "complaints",
                id,
                &format!("complaint_{channel}"),
                points,
                Some(at),
            ));
        }
    }
}

/// Survey scores per partner answered in the month.
fn evaluate_surveys(input: &MonthInput, rules: &Rules, c: &mut Collector) -> HashMap<String, Vec<Decimal>> {
    let indicator = rules
        .indicators
        .iter()
        .find(|i| matches!(i.kind, IndicatorKind::Average))
        .map(|i| i.id.clone())
        .unwrap_or_default();
    let df = &input.surveys;
    let (ids, partners, answered, scores) =
        (text(df, "survey_id"), text(df, "partner_id"), text(df, "answered_at"), text(df, "score"));
    let mut out: HashMap<String, Vec<Decimal>> = HashMap::new();
    for i in 0..df.height() {
        let id = ids.get(i).unwrap_or("");
        let partner = partners.get(i).unwrap_or("");
        let Ok(Some(at)) = opt_timestamp(answered.get(i)) else {
            c.quarantine("surveys", partner, id, "unparsable_answered_at");
            continue;
        };
        if Month::of_instant(at) != c.month {
            continue;
        }
        let score = match opt_decimal(scores.get(i)) {
            Ok(Some(s)) if (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&s) => s,
            Ok(Some(_)) => {
                c.quarantine("surveys", partner, id, "score_out_of_range");
                continue;
            }
            _ => {
                c.quarantine("surveys", partner, id, "unparsable_score");
                continue;
            }
        };
        if !c.is_assessed(partner) {
            c.quarantine("surveys", partner, id, "partner_not_assessed");
            continue;
        }
        out.entry(partner.into()).or_default().push(score);
        c.events.push(Evidence {
            partner_id: partner.into(),
            indicator: indicator.clone(),
            source: "surveys".into(),
            row_id: id.into(),
            started_at: Some(at),
            due_at: None,
            finished_at: None,
            outcome: "answered".into(),
            value: Some(score),
            detail: String::new(),
        });
    }
    out
}

/// Manual points per (partner, indicator); invalid ones become hold reasons.
fn evaluate_manual(
    input: &MonthInput,
    rules: &Rules,
    c: &mut Collector,
    holds: &mut HashMap<String, BTreeSet<String>>,
) -> HashMap<(String, String), Decimal> {
    let df = &input.manual_scores;
    let (partners, months, inds, points) =
        (text(df, "partner_id"), text(df, "month"), text(df, "indicator"), text(df, "points"));
    let mut out = HashMap::new();
    let month = c.month.to_string();
    for i in 0..df.height() {
        if months.get(i).map(str::trim) != Some(month.as_str()) {
            continue;
        }
        let partner = partners.get(i).unwrap_or("");
        let ind = inds.get(i).unwrap_or("");
        let row_id = format!("{partner}/{month}/{ind}");
        let Some(indicator) = rules.indicator(ind).filter(|x| matches!(x.kind, IndicatorKind::Manual)) else {
            c.quarantine("manual_scores", partner, &row_id, "unknown_indicator");
            continue;
        };
        if !c.is_assessed(partner) {
            c.quarantine("manual_scores", partner, &row_id, "partner_not_assessed");
            continue;
        }
        match opt_decimal(points.get(i)) {
            Ok(Some(p)) if p >= Decimal::ZERO && p <= indicator.weight && decimals(p) <= 2 => {
                out.insert((partner.to_string(), ind.to_string()), p);
            }
            _ => {
                holds.entry(partner.into()).or_default().insert(format!("invalid_manual_score:{ind}"));
            }
        }
    }
    out
}

/// A confirmed violation in the month.
struct ValidViolation {
    class_one: bool,
    severe: bool,
    deduction: Decimal,
}

fn evaluate_violations(
    input: &MonthInput,
    rules: &Rules,
    c: &mut Collector,
    holds: &mut HashMap<String, BTreeSet<String>>,
) -> HashMap<String, Vec<ValidViolation>> {
    let df = &input.violations;
    let (ids, partners, confirmed) = (text(df, "violation_id"), text(df, "partner_id"), text(df, "confirmed_on"));
    let (classes, points, severe) = (text(df, "class"), text(df, "points"), text(df, "severe"));
    let mut out: HashMap<String, Vec<ValidViolation>> = HashMap::new();
    for i in 0..df.height() {
        let id = ids.get(i).unwrap_or("");
        let partner = partners.get(i).unwrap_or("");
        let Ok(Some(day)) = opt_date(confirmed.get(i)) else {
            c.quarantine("violations", partner, id, "unparsable_confirmed_on");
            continue;
        };
        if Month::of(day) != c.month {
            continue;
        }
        if !c.is_assessed(partner) {
            c.quarantine("violations", partner, id, "partner_not_assessed");
            continue;
        }
        let valid = match opt_int(classes.get(i)) {
            Ok(Some(1)) => Some(ValidViolation {
                class_one: true,
                severe: flag(severe.get(i)).unwrap_or(false),
                deduction: rules.credit.class_one_deduction,
            }),
            Ok(Some(2)) => match opt_decimal(points.get(i)) {
                Ok(Some(p))
                    if p >= rules.credit.class_two_min && p <= rules.credit.class_two_max && decimals(p) <= 2 =>
                {
                    Some(ValidViolation { class_one: false, severe: false, deduction: p })
                }
                _ => None,
            },
            _ => None,
        };
        match valid {
            Some(v) => {
                c.events.push(Evidence {
                    partner_id: partner.into(),
                    indicator: "credit".into(),
                    source: "violations".into(),
                    row_id: id.into(),
                    started_at: Some(day.and_time(chrono::NaiveTime::MIN)),
                    due_at: None,
                    finished_at: None,
                    outcome: "event".into(),
                    value: Some(v.deduction),
                    detail: format!(
                        "class={}{}",
                        if v.class_one { 1 } else { 2 },
                        if v.severe { " severe" } else { "" }
                    ),
                });
                out.entry(partner.into()).or_default().push(v);
            }
            None => {
                holds.entry(partner.into()).or_default().insert(format!("invalid_violation:{id}"));
            }
        }
    }
    out
}

/// (fees_total, fees_excluded) per partner; invalid items become hold reasons.
fn evaluate_fees(
    input: &MonthInput,
    c: &mut Collector,
    holds: &mut HashMap<String, BTreeSet<String>>,
) -> HashMap<String, (Decimal, Decimal)> {
    let contract_partner: HashMap<&str, &str> = values(&input.contracts, "contract_id")
        .zip(values(&input.contracts, "partner_id"))
        .filter_map(|(c, p)| Some((c?, p?)))
        .collect();
    let excluded: HashSet<&str> = values(&input.audit_exclusions, "fee_id").flatten().collect();
    let df = &input.fee_items;
    let (ids, contracts, months, amounts) =
        (text(df, "fee_id"), text(df, "contract_id"), text(df, "service_month"), text(df, "amount"));
    let month = c.month.to_string();
    let mut out: HashMap<String, (Decimal, Decimal)> = HashMap::new();
    for i in 0..df.height() {
        if months.get(i).map(str::trim) != Some(month.as_str()) {
            continue;
        }
        let id = ids.get(i).unwrap_or("");
        let Some(partner) = contracts.get(i).and_then(|k| contract_partner.get(k)) else {
            c.quarantine("fee_items", "", id, "unknown_contract");
            continue;
        };
        if !c.is_assessed(partner) {
            c.quarantine("fee_items", partner, id, "partner_not_assessed");
            continue;
        }
        let amount = match opt_decimal(amounts.get(i)) {
            Ok(Some(a)) if a >= Decimal::ZERO && decimals(a) <= 2 => a,
            _ => {
                holds.entry(partner.to_string()).or_default().insert(format!("invalid_fee_item:{id}"));
                continue;
            }
        };
        let entry = out.entry(partner.to_string()).or_default();
        let is_excluded = excluded.contains(id);
        if is_excluded {
            entry.1 += amount;
        } else {
            entry.0 += amount;
        }
        c.events.push(Evidence {
            partner_id: partner.to_string(),
            indicator: "settlement".into(),
            source: "fee_items".into(),
            row_id: id.into(),
            started_at: None,
            due_at: None,
            finished_at: None,
            outcome: if is_excluded { "excluded" } else { "included" }.into(),
            value: Some(amount),
            detail: contracts.get(i).unwrap_or("").into(),
        });
    }
    out
}

fn rate_points(
    weight: Decimal,
    target: Decimal,
    per_pct: Decimal,
    counted: u64,
    on_time: u64,
) -> (Option<Decimal>, Decimal) {
    if counted == 0 {
        return (None, weight);
    }
    let pct = round2(Decimal::ONE_HUNDRED * Decimal::from(on_time) / Decimal::from(counted));
    let shortfall = (target - pct).max(Decimal::ZERO);
    (Some(pct), round2((weight - shortfall * per_pct).max(Decimal::ZERO)))
}

/// Assesses every partner for the month. Pure: frames, rules and stored history in, results out
/// (the frames of tickets and orders move into the result's evidence).
pub(crate) fn assess(input: MonthInput, rules: &Rules, history: &GradeHistory) -> PolarsResult<MonthResult> {
    let month = input.month;
    let assessed = assessed_partners(&input.contracts, month);
    let mut c = Collector { month, assessed: &assessed, dq: vec![], events: vec![] };
    let mut tally = Tally::default();
    let mut holds: HashMap<String, BTreeSet<String>> = HashMap::new();

    let table = ClockTable::new(&rules.calendar);
    let ticket_rules = timeliness::TicketRules::new(rules);
    let pauses = timeliness::PauseIndex::new(&input.pauses, &input.tickets, &mut c);
    let on_tickets = c.assessed_codes(&input.tickets.partner.names);
    let as_of = input.as_of.map(crate::domain::clock::stamp);
    let tickets = timeliness::tickets(&input.tickets, &pauses, &table, &ticket_rules, month, as_of, &on_tickets);
    drop(pauses);
    let on_orders = c.assessed_codes(&input.orders.partner.names);
    let orders = timeliness::orders(&input.orders, month, as_of, &on_orders);
    tally.ticket_counted = counts_by_name(&input.tickets.partner.names, &tickets.counts);
    tally.order_counted = counts_by_name(&input.orders.partner.names, &orders.counts);
    for (partner, points) in tickets.penalties {
        tally.penalties.entry(partner).or_default().push(points);
    }
    c.dq.extend(tickets.dq);
    c.dq.extend(orders.dq);
    c.events.extend(tickets.events);
    evaluate_complaints(&input, rules, &mut c, &mut tally);
    let surveys = evaluate_surveys(&input, rules, &mut c);
    let manual = evaluate_manual(&input, rules, &mut c, &mut holds);
    let violations = evaluate_violations(&input, rules, &mut c, &mut holds);
    let fees = evaluate_fees(&input, &mut c, &mut holds);

    let names: HashMap<&str, &str> = values(&input.partners, "partner_id")
        .zip(values(&input.partners, "name"))
        .filter_map(|(id, name)| Some((id?, name.unwrap_or(""))))
        .collect();

    let bans = Bans::of(&input.blacklist, rules.ban_years);
    let window = rules.flags.c_grade_window_months.max(1) as i32;
    let window_months: Vec<Month> = (1..window).map(|k| month.plus(-k)).collect();
    let missing_history_months: Vec<Month> =
        window_months.iter().copied().filter(|m| !history.months_run.contains(m)).rev().collect();

    let mut partners = Vec::new();
    let mut indicators = Vec::new();
    for (partner_id, departments) in &assessed {
        let mut reasons = holds.remove(partner_id).unwrap_or_default();
        // A month that begins inside a ban is never paid automatically (§6, 第三十六条).
        if bans.on(partner_id, month.first_day()) {
            reasons.insert(BANNED.to_string());
        }
        for ind in rules.indicators.iter().filter(|i| matches!(i.kind, IndicatorKind::Manual)) {
            let key = (partner_id.clone(), ind.id.clone());
            if !manual.contains_key(&key) && !reasons.contains(&format!("invalid_manual_score:{}", ind.id)) {
                reasons.insert(format!("missing_manual_score:{}", ind.id));
            }
        }
        let empty = Vec::new();
        let partner_violations = violations.get(partner_id).unwrap_or(&empty);
        let mut flags = BTreeSet::new();
        if partner_violations.iter().any(|v| v.class_one) {
            flags.insert(Flag::ClassOneViolation);
        }
        if partner_violations.iter().any(|v| v.class_one && v.severe) {
            flags.insert(Flag::BlacklistRecommended);
        }
        let past_c = history.grades.get(partner_id).map_or(0, |by_month| {
            window_months.iter().filter(|m| by_month.get(m).copied().flatten() == Some(Grade::C)).count() as u32
        });

        let assessment = if reasons.is_empty() {
            let mut effectiveness = Decimal::ZERO;
            for ind in &rules.indicators {
                let (measured, counted, points) = match &ind.kind {
                    IndicatorKind::Rate { source, target_pct, points_per_pct } => {
                        let counts = match source {
                            RateSource::Tickets => &tally.ticket_counted,
                            RateSource::Orders => &tally.order_counted,
                        };
                        let (n, k) = counts.get(partner_id).copied().unwrap_or((0, 0));
                        let (m, p) = rate_points(ind.weight, *target_pct, *points_per_pct, n, k);
                        (m, n, p)
                    }
                    IndicatorKind::Penalty(_) => {
                        let events = tally.penalties.get(partner_id).map_or(&[][..], Vec::as_slice);
                        let total: Decimal = events.iter().sum();
                        (Some(total), events.len() as u64, round2((ind.weight - total).max(Decimal::ZERO)))
                    }
                    IndicatorKind::Average => match surveys.get(partner_id) {
                        Some(scores) if !scores.is_empty() => {
                            let mean = round2(scores.iter().sum::<Decimal>() / Decimal::from(scores.len()));
                            (Some(mean), scores.len() as u64, round2(ind.weight * mean / Decimal::ONE_HUNDRED))
                        }
                        _ => (None, 0, ind.weight),
                    },
                    IndicatorKind::Manual => {
                        let p = manual[&(partner_id.clone(), ind.id.clone())];
                        (Some(p), 1, p)
                    }
                };
                effectiveness += points;
                indicators.push(IndicatorResult {
                    partner_id: partner_id.clone(),
                    indicator: ind.id.clone(),
                    measured,
                    counted,
                    points,
                    weight: ind.weight,
                });
            }
            let credit_deduction: Decimal = partner_violations.iter().map(|v| v.deduction).sum();
            let score = round2((effectiveness - credit_deduction).clamp(Decimal::ZERO, Decimal::ONE_HUNDRED));
            let grade = rules.grades.grade(score);
            let (fees_total, fees_excluded) = fees.get(partner_id).copied().unwrap_or_default();
            let settlement = round2(fees_total * score / Decimal::ONE_HUNDRED);
            Some(Assessment { effectiveness, credit_deduction, score, grade, fees_total, fees_excluded, settlement })
        } else {
            None
        };
        let c_grades_window = past_c + u32::from(assessment.as_ref().is_some_and(|a| a.grade == Grade::C));
        if c_grades_window >= rules.flags.c_grade_threshold {
            flags.insert(Flag::TwoCGrades);
        }
        partners.push(PartnerResult {
            partner_id: partner_id.clone(),
            partner_name: names.get(partner_id.as_str()).unwrap_or(&"").to_string(),
            assessment,
            c_grades_window,
            flags,
            hold_reasons: reasons,
            departments: departments.clone(),
        });
    }
    let mut data_quality = c.dq;
    data_quality.sort();
    data_quality.dedup();
    // Held to the end of the run: without the slack of its growth (50 MB of the 10M peak).
    data_quality.shrink_to_fit();
    indicators.sort_by(|a, b| (&a.partner_id, &a.indicator).cmp(&(&b.partner_id, &b.indicator)));
    let order_indicator = rules
        .indicators
        .iter()
        .find_map(|i| matches!(i.kind, IndicatorKind::Rate { source: RateSource::Orders, .. }).then(|| i.id.clone()))
        .unwrap_or_else(|| "provisioning_timeliness".into());
    // What the evidence does not show (responsibility, flags) goes now: at 10M tickets it is tens
    // of megabytes held through the store and the reports.
    let shown = Tickets { responsibility: Default::default(), flags: Vec::new(), ..input.tickets };
    let (mut ticket_rows, mut order_rows) = (tickets.counted, orders.counted);
    ticket_rows.shrink_to_fit();
    order_rows.shrink_to_fit();
    let evidence = MonthEvidence {
        tickets: shown,
        ticket_indicator: ticket_rules.indicator,
        ticket_rows,
        orders: input.orders,
        order_indicator,
        order_rows,
        events: c.events,
    };
    Ok(MonthResult { month, partners, indicators, data_quality, evidence, missing_history_months })
}

#[cfg(test)]
mod tests;
