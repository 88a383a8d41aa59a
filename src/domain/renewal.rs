//! Contract lifecycle (rules.md §8–§9): the pre-expiry renewal summary (第十三条), exit checks
//! (第三十一–三十八条) and blacklist breaches (第二十三条 (3), 第三十六条).

use super::blacklist::Bans;
use super::inputs::*;
use super::money::round2;
use super::monthly::Flag;
use super::period::{add_months, Month};
use super::rules::{Grade, Rules};
use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A stored monthly result, as the lifecycle jobs read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MonthlyScore {
    pub(crate) month: Month,
    pub(crate) partner_id: String,
    /// `None` for an on-hold month.
    pub(crate) score: Option<Decimal>,
    pub(crate) grade: Option<Grade>,
    pub(crate) settlement: Option<Decimal>,
    /// Flag codes (`two_c_grades`, …), as stored.
    pub(crate) flags: BTreeSet<String>,
    /// Hold reasons, as stored (empty for an assessed month).
    pub(crate) hold_reasons: BTreeSet<String>,
}

/// Whether a notice for the contract has been sent before this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    Sent,
    AlreadySent,
}

/// One row of `renewals.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenewalRow {
    pub(crate) contract_id: String,
    pub(crate) partner_id: String,
    pub(crate) kind: String,
    pub(crate) end_date: NaiveDate,
    pub(crate) department: String,
    pub(crate) owner_email: String,
    pub(crate) months_assessed: u32,
    pub(crate) average_score: Option<Decimal>,
    pub(crate) term_grade: Option<Grade>,
    /// Empty for presales contracts.
    pub(crate) c_grades: Option<u32>,
    pub(crate) class_one_violations: u32,
    pub(crate) blacklisted: bool,
    pub(crate) eligible: bool,
    pub(crate) reasons: BTreeSet<String>,
}

/// One row of `exits.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExitRow {
    pub(crate) request_id: String,
    pub(crate) partner_id: String,
    pub(crate) contract_id: String,
    pub(crate) exit_type: String,
    pub(crate) requested_on: NaiveDate,
    pub(crate) planned_exit_on: NaiveDate,
    pub(crate) notice_ok: Option<bool>,
    pub(crate) open_tickets: u64,
    pub(crate) held_presales_projects: u64,
}

/// One row of `blacklist_breaches.csv`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Breach {
    pub(crate) partner_id: String,
    pub(crate) kind: &'static str,
    pub(crate) ref_id: String,
    pub(crate) date: NaiveDate,
}

/// Class-1 violation dates per partner.
pub(crate) fn class_one_dates(violations: &DataFrame) -> HashMap<String, Vec<NaiveDate>> {
    let mut out: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    let (ids, days, classes) =
        (text(violations, "partner_id"), text(violations, "confirmed_on"), text(violations, "class"));
    for i in 0..violations.height() {
        if let (Some(id), Ok(Some(day)), Ok(Some(1))) = (ids.get(i), opt_date(days.get(i)), opt_int(classes.get(i))) {
            out.entry(id.to_string()).or_default().push(day);
        }
    }
    out
}

/// One row of `exit_proposals.csv`: a partner the department's meeting should consider for exit
/// (第三十三、三十四、三十六、三十七条).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExitProposal {
    pub(crate) partner_id: String,
    /// `blacklisted`, `class_one_violation`, `two_c_grades`: every reason that applies.
    pub(crate) reasons: BTreeSet<&'static str>,
    /// The month whose stored result carries `two_c_grades`, when that is a reason.
    pub(crate) latest_month: Option<Month>,
    /// The partner's contracts in force on the day.
    pub(crate) contracts: BTreeSet<String>,
    /// When the class-1 violations behind `class_one_violation` were confirmed.
    pub(crate) class_one_days: Vec<NaiveDate>,
    /// The decision of the ban behind `blacklisted`.
    pub(crate) banned_since: Option<NaiveDate>,
}

/// A contract's term and termination, read once.
struct Term<'a> {
    contract_id: &'a str,
    partner_id: &'a str,
    start: NaiveDate,
    end: NaiveDate,
    terminated: Option<NaiveDate>,
}

impl Term<'_> {
    /// In force on `day` (§9: `start_date <= D <= end_date`, not terminated before D).
    fn in_force_on(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end && self.terminated.is_none_or(|t| t >= day)
    }
}

/// The contracts with readable dates (a row with an unreadable date is in force nowhere).
fn terms(contracts: &DataFrame) -> Vec<Term<'_>> {
    let col = |n| text(contracts, n);
    let (ids, partners, starts, ends, terms) =
        (col("contract_id"), col("partner_id"), col("start_date"), col("end_date"), col("terminated_on"));
    (0..contracts.height())
        .filter_map(|i| {
            let (Ok(Some(start)), Ok(Some(end)), Ok(terminated)) =
                (opt_date(starts.get(i)), opt_date(ends.get(i)), opt_date(terms.get(i)))
            else {
                return None;
            };
            Some(Term { contract_id: ids.get(i)?, partner_id: partners.get(i)?, start, end, terminated })
        })
        .collect()
}

/// Inputs of the renewal summary beyond the frames.
pub(crate) struct RenewalInput<'a> {
    pub(crate) as_of: NaiveDate,
    pub(crate) contracts: &'a DataFrame,
    pub(crate) projects: &'a DataFrame,
    pub(crate) supports: &'a DataFrame,
    pub(crate) violations: &'a DataFrame,
    pub(crate) blacklist: &'a DataFrame,
    pub(crate) monthly: &'a [MonthlyScore],
}

/// Contracts in the notice window with their term summary and eligibility (§8).
pub(crate) fn renewals(input: &RenewalInput, rules: &Rules) -> Vec<RenewalRow> {
    let d = input.as_of;
    let window_end = add_months(d, rules.renewal_notice_months);
    let bans = Bans::of(input.blacklist, rules.ban_years);
    let class_one = class_one_dates(input.violations);
    // Presales scores: partner → (support_completed_on, score) for valid scores.
    let completed: HashMap<&str, NaiveDate> = values(input.projects, "project_id")
        .zip(values(input.projects, "support_completed_on"))
        .filter_map(|(p, d)| Some((p?, opt_date(d).ok()??)))
        .collect();
    let mut presales_scores: HashMap<&str, Vec<(NaiveDate, Decimal)>> = HashMap::new();
    let s = input.supports;
    let (sp, spa, ssc) = (text(s, "project_id"), text(s, "partner_id"), text(s, "assessment_score"));
    for i in 0..s.height() {
        let (Some(project), Some(partner)) = (sp.get(i), spa.get(i)) else { continue };
        let (Some(day), Ok(Some(score))) = (completed.get(project), opt_decimal(ssc.get(i))) else { continue };
        if (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&score) {
            presales_scores.entry(partner).or_default().push((*day, score));
        }
    }

    let c = input.contracts;
    let col = |n| text(c, n);
    let (ids, partners, kinds, starts, ends, depts, owners, terms) = (
        col("contract_id"),
        col("partner_id"),
        col("kind"),
        col("start_date"),
        col("end_date"),
        col("department"),
        col("owner_email"),
        col("terminated_on"),
    );
    let mut rows = Vec::new();
    for i in 0..c.height() {
        let (Ok(Some(start)), Ok(Some(end)), Ok(terminated)) =
            (opt_date(starts.get(i)), opt_date(ends.get(i)), opt_date(terms.get(i)))
        else {
            continue;
        };
        if terminated.is_some() || end < d || end > window_end {
            continue;
        }
        let partner = partners.get(i).unwrap_or("");
        let kind = kinds.get(i).unwrap_or("");
        let (months_assessed, average, c_grades) = if kind == "aftersales" {
            let scores: Vec<&MonthlyScore> = input
                .monthly
                .iter()
                .filter(|m| m.partner_id == partner && m.score.is_some())
                // Months over when D begins: their last day is before D (rules.md §8).
                .filter(|m| m.month.first_day() <= end && m.month.last_day() >= start && m.month.last_day() < d)
                .collect();
            let sum: Decimal = scores.iter().filter_map(|m| m.score).sum();
            let average = (!scores.is_empty()).then(|| round2(sum / Decimal::from(scores.len())));
            let c = scores.iter().filter(|m| m.grade == Some(Grade::C)).count() as u32;
            (scores.len() as u32, average, Some(c))
        } else {
            let scores: Vec<Decimal> = presales_scores
                .get(partner)
                .map(|v| v.iter().filter(|(day, _)| *day >= start && *day <= d).map(|(_, s)| *s).collect())
                .unwrap_or_default();
            let average =
                (!scores.is_empty()).then(|| round2(scores.iter().sum::<Decimal>() / Decimal::from(scores.len())));
            (0, average, None)
        };
        let term_grade = average.map(|a| rules.grades.grade(a));
        let blacklisted = bans.on(partner, d);
        let mut reasons = BTreeSet::new();
        match term_grade {
            None => {
                reasons.insert("no_assessment_history".to_string());
            }
            Some(Grade::C) => {
                reasons.insert("grade_c".to_string());
            }
            _ => {}
        }
        if blacklisted {
            reasons.insert("blacklisted".to_string());
        }
        let class_one_violations =
            class_one.get(partner).map_or(0, |v| v.iter().filter(|day| **day >= start && **day <= d).count() as u32);
        rows.push(RenewalRow {
            contract_id: ids.get(i).unwrap_or("").to_string(),
            partner_id: partner.to_string(),
            kind: kind.to_string(),
            end_date: end,
            department: depts.get(i).unwrap_or("").to_string(),
            owner_email: owners.get(i).unwrap_or("").to_string(),
            months_assessed,
            average_score: average,
            term_grade,
            c_grades: if kind == "aftersales" { c_grades } else { None },
            class_one_violations,
            blacklisted,
            eligible: reasons.is_empty(),
            reasons,
        });
    }
    rows.sort_by(|a, b| a.contract_id.cmp(&b.contract_id));
    rows
}

/// Exit requests planned on or after `D − 1 month` with notice and outstanding items (§9).
pub(crate) fn exits(
    as_of: NaiveDate,
    requests: &DataFrame,
    contracts: &DataFrame,
    open_tickets: &HashMap<String, u64>,
    held_projects: &HashMap<String, u64>,
    rules: &Rules,
) -> Vec<ExitRow> {
    let kinds: HashMap<&str, &str> =
        values(contracts, "contract_id").zip(values(contracts, "kind")).filter_map(|(c, k)| Some((c?, k?))).collect();
    let from = add_months(as_of, -1);
    let col = |n| text(requests, n);
    let (ids, partners, contract_ids, types, requested, planned) = (
        col("request_id"),
        col("partner_id"),
        col("contract_id"),
        col("exit_type"),
        col("requested_on"),
        col("planned_exit_on"),
    );
    let mut rows = Vec::new();
    for i in 0..requests.height() {
        let (Ok(Some(req)), Ok(Some(plan))) = (opt_date(requested.get(i)), opt_date(planned.get(i))) else { continue };
        if plan < from {
            continue;
        }
        let partner = partners.get(i).unwrap_or("").to_string();
        let contract = contract_ids.get(i).unwrap_or("");
        let exit_type = types.get(i).unwrap_or("");
        let notice_ok = (exit_type == "voluntary").then(|| {
            let months = match kinds.get(contract) {
                Some(&"presales") => rules.exit.presales_notice_months,
                _ => rules.exit.aftersales_notice_months,
            };
            add_months(req, months) <= plan
        });
        rows.push(ExitRow {
            request_id: ids.get(i).unwrap_or("").to_string(),
            open_tickets: open_tickets.get(&partner).copied().unwrap_or(0),
            held_presales_projects: held_projects.get(&partner).copied().unwrap_or(0),
            partner_id: partner,
            contract_id: contract.to_string(),
            exit_type: exit_type.to_string(),
            requested_on: req,
            planned_exit_on: plan,
            notice_ok,
        });
    }
    rows.sort_by(|a, b| a.request_id.cmp(&b.request_id));
    rows
}

/// Contracts starting, and presales supports applied for, inside a ban, whatever their date; and
/// contracts a banned partner still holds on `as_of`, which its owner must terminate (§9).
pub(crate) fn breaches(
    as_of: NaiveDate,
    contracts: &DataFrame,
    projects: &DataFrame,
    supports: &DataFrame,
    blacklist: &DataFrame,
    rules: &Rules,
) -> Vec<Breach> {
    let bans = Bans::of(blacklist, rules.ban_years);
    let mut out = BTreeSet::new();
    let (ids, partners, starts) =
        (text(contracts, "contract_id"), text(contracts, "partner_id"), text(contracts, "start_date"));
    for i in 0..contracts.height() {
        if let (Some(id), Some(partner), Ok(Some(start))) = (ids.get(i), partners.get(i), opt_date(starts.get(i))) {
            if bans.on(partner, start) {
                out.insert(Breach { partner_id: partner.into(), kind: "contract", ref_id: id.into(), date: start });
            }
        }
    }
    // A contract started before a ban in force on D and still in force on D: all cooperation ends
    // (第三十六条). One started on or after the decision is the `contract` breach above instead.
    for term in terms(contracts).iter().filter(|t| t.in_force_on(as_of)) {
        for (from, until) in bans.of_partner(term.partner_id) {
            if *from <= as_of && as_of < *until && term.start < *from {
                out.insert(Breach {
                    partner_id: term.partner_id.into(),
                    kind: CONTRACT_IN_FORCE,
                    ref_id: term.contract_id.into(),
                    date: *from,
                });
            }
        }
    }
    let applied: HashMap<&str, NaiveDate> = values(projects, "project_id")
        .zip(values(projects, "applied_on"))
        .filter_map(|(p, d)| Some((p?, opt_date(d).ok()??)))
        .collect();
    let (sp, spa) = (text(supports, "project_id"), text(supports, "partner_id"));
    for i in 0..supports.height() {
        let (Some(project), Some(partner)) = (sp.get(i), spa.get(i)) else { continue };
        if let Some(day) = applied.get(project) {
            if bans.on(partner, *day) {
                out.insert(Breach {
                    partner_id: partner.into(),
                    kind: "presales_support",
                    ref_id: project.into(),
                    date: *day,
                });
            }
        }
    }
    out.into_iter().collect()
}

/// The breach kind of a contract a banned partner still holds (§9).
pub(crate) const CONTRACT_IN_FORCE: &str = "contract_in_force";

/// Partners the department's meeting should consider for exit as of `as_of` (§9): every partner
/// holding a contract in force with a reason, unless its own exit is already under way.
pub(crate) fn exit_proposals(input: &RenewalInput, requests: &DataFrame, rules: &Rules) -> Vec<ExitProposal> {
    let d = input.as_of;
    let bans = Bans::of(input.blacklist, rules.ban_years);
    let class_one = class_one_dates(input.violations);
    // Class-1 violations confirmed in the 12 calendar months before D's month.
    let (from, until) = (Month::of(d).plus(-12).first_day(), Month::of(d).first_day());
    let leaving: HashSet<&str> = values(requests, "partner_id")
        .zip(values(requests, "planned_exit_on"))
        .filter_map(|(p, day)| Some((p?, opt_date(day).ok()??)))
        .filter(|(_, day)| *day >= d)
        .map(|(p, _)| p)
        .collect();
    // The latest stored month of each partner that is over before D (§8's sense).
    let mut latest: HashMap<&str, &MonthlyScore> = HashMap::new();
    for m in input.monthly.iter().filter(|m| m.month.last_day() < d) {
        let slot = latest.entry(m.partner_id.as_str()).or_insert(m);
        if m.month > slot.month {
            *slot = m;
        }
    }
    let mut holding: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for term in terms(input.contracts).iter().filter(|t| t.in_force_on(d)) {
        holding.entry(term.partner_id).or_default().insert(term.contract_id.to_string());
    }
    let mut out = Vec::new();
    for (partner, contracts) in holding {
        let mut reasons = BTreeSet::new();
        let two_c = latest.get(partner).filter(|m| m.flags.contains(Flag::TwoCGrades.as_str())).map(|m| m.month);
        if two_c.is_some() {
            reasons.insert("two_c_grades");
        }
        let mut class_one_days: Vec<NaiveDate> = class_one
            .get(partner)
            .map(|days| days.iter().copied().filter(|day| from <= *day && *day < until).collect())
            .unwrap_or_default();
        class_one_days.sort();
        if !class_one_days.is_empty() {
            reasons.insert("class_one_violation");
        }
        let banned_since = bans.of_partner(partner).iter().filter(|(f, u)| *f <= d && d < *u).map(|(f, _)| *f).max();
        if banned_since.is_some() {
            reasons.insert("blacklisted");
        }
        if reasons.is_empty() || leaving.contains(partner) {
            continue;
        }
        out.push(ExitProposal {
            partner_id: partner.to_string(),
            reasons,
            latest_month: two_c,
            contracts,
            class_one_days,
            banned_since,
        });
    }
    out
}

/// Which contracts were noticed before, for `notice`: contract → the day its notice went out.
pub(crate) fn notice_state(row: &RenewalRow, sent_before: &BTreeMap<String, NaiveDate>, as_of: NaiveDate) -> Notice {
    match sent_before.get(&row.contract_id) {
        Some(day) if *day < as_of => Notice::AlreadySent,
        _ => Notice::Sent,
    }
}

/// Count per partner of a set of (partner, item) pairs.
pub(crate) fn count_by_partner<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> HashMap<String, u64> {
    let unique: HashSet<(&str, &str)> = pairs.into_iter().collect();
    let mut out = HashMap::new();
    for (p, _) in unique {
        *out.entry(p.to_string()).or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
mod tests;
