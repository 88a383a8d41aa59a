//! Quarterly presales settlement (rules.md §7, 第二十八–三十条): readiness, not-payable and held
//! projects, fee by class and type, success coefficient, workload shares and the 附件二 score.

use super::inputs::*;
use super::money::round2;
use super::period::Quarter;
use super::rules::{MixedSettlesAs, PresalesRules};
use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    Settled,
    Held,
    NotPayable,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Settled => "settled",
            Status::Held => "held",
            Status::NotPayable => "not_payable",
        }
    }
}

/// A settled partner share of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Share {
    pub(crate) partner_id: String,
    pub(crate) fee_type: String,
    pub(crate) base_fee: Decimal,
    pub(crate) coefficient: Decimal,
    pub(crate) workload_share: Decimal,
    pub(crate) assessment_score: Decimal,
    pub(crate) amount: Decimal,
}

/// One row of `presales.csv`: a settled share, or a held / not-payable project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresalesRow {
    pub(crate) project_id: String,
    pub(crate) project_name: String,
    pub(crate) commissioning_unit: String,
    pub(crate) project_class: String,
    pub(crate) status: Status,
    /// Filled for settled rows only.
    pub(crate) share: Option<Share>,
    pub(crate) reasons: BTreeSet<String>,
}

/// The quarter's rows, sorted by project then partner.
#[derive(Debug, Clone)]
pub(crate) struct QuarterResult {
    pub(crate) quarter: Quarter,
    pub(crate) rows: Vec<PresalesRow>,
}

struct Support {
    partner_id: String,
    share: Result<Decimal, Unparsable>,
    score: Result<Option<Decimal>, Unparsable>,
}

/// The coefficient of 第三十条 for an outcome; `won_other_implementer` needs the contract value.
pub(crate) fn coefficient(rules: &PresalesRules, outcome: &str, contract_value: Option<Decimal>) -> Option<Decimal> {
    match outcome {
        "won_by_supporter" => Some(rules.won_by_supporter),
        "not_implemented_other_cause" => Some(rules.not_implemented_other_cause),
        "not_implemented_supporter_cause" => Some(rules.not_implemented_supporter_cause),
        "won_other_implementer" => {
            let value = contract_value?;
            rules
                .won_other_implementer
                .iter()
                .find(|b| b.below.is_none_or(|below| value < below))
                .map(|b| b.coefficient)
        }
        _ => None,
    }
}

/// The fee type a project settles as and its base fee (第二十八条); `mixed` takes the higher (or lower).
pub(crate) fn base_fee(rules: &PresalesRules, class: &str, project_type: &str) -> Option<(&'static str, Decimal)> {
    let fees = rules.fees.get(class)?;
    match project_type {
        "dedicated_line" => Some(("dedicated_line", fees.dedicated_line)),
        "integrated" => Some(("integrated", fees.integrated)),
        "mixed" => {
            let higher_is_integrated = fees.integrated >= fees.dedicated_line;
            let integrated = match rules.mixed_settles_as {
                MixedSettlesAs::Higher => higher_is_integrated,
                MixedSettlesAs::Lower => !higher_is_integrated,
            };
            Some(if integrated { ("integrated", fees.integrated) } else { ("dedicated_line", fees.dedicated_line) })
        }
        _ => None,
    }
}

/// `max(support_completed_on, outcome_on)` when the project is ready at all.
fn settle_date(outcome: &str, completed: Option<NaiveDate>, outcome_on: Option<NaiveDate>) -> Option<NaiveDate> {
    (outcome != "pending").then_some(())?;
    Some(completed?.max(outcome_on?))
}

/// Settles the quarter. `settled_elsewhere` holds the projects already settled or listed as not
/// payable in another quarter: they are never settled again.
pub(crate) fn settle(
    quarter: Quarter,
    projects: &DataFrame,
    supports: &DataFrame,
    rules: &PresalesRules,
    settled_elsewhere: &HashSet<String>,
) -> QuarterResult {
    let mut by_project: BTreeMap<&str, Vec<Support>> = BTreeMap::new();
    let (sp, spa, sws, ssc) = (
        text(supports, "project_id"),
        text(supports, "partner_id"),
        text(supports, "workload_share"),
        text(supports, "assessment_score"),
    );
    for i in 0..supports.height() {
        let Some(project) = sp.get(i) else { continue };
        by_project.entry(project).or_default().push(Support {
            partner_id: spa.get(i).unwrap_or("").to_string(),
            share: opt_decimal(sws.get(i)).and_then(|s| s.ok_or(Unparsable)),
            score: opt_decimal(ssc.get(i)),
        });
    }
    let col = |c| text(projects, c);
    let (ids, names, classes, types, units) =
        (col("project_id"), col("name"), col("project_class"), col("project_type"), col("commissioning_unit"));
    let (completed, deliverables, outcomes, outcome_on, values) =
        (col("support_completed_on"), col("deliverables"), col("outcome"), col("outcome_on"), col("contract_value"));
    let last_day = quarter.last_day();
    let mut rows = Vec::new();
    for i in 0..projects.height() {
        let id = ids.get(i).unwrap_or("");
        if settled_elsewhere.contains(id) {
            continue;
        }
        let outcome = outcomes.get(i).unwrap_or("").trim();
        let (Ok(done), Ok(decided)) = (opt_date(completed.get(i)), opt_date(outcome_on.get(i))) else {
            continue;
        };
        let Some(ready_on) = settle_date(outcome, done, decided) else { continue };
        if ready_on > last_day {
            continue;
        }
        let class = classes.get(i).unwrap_or("").to_string();
        let project_type = types.get(i).unwrap_or("");
        let mut row = PresalesRow {
            project_id: id.to_string(),
            project_name: names.get(i).unwrap_or("").to_string(),
            commissioning_unit: units.get(i).unwrap_or("").to_string(),
            project_class: class.clone(),
            status: Status::Held,
            share: None,
            reasons: BTreeSet::new(),
        };
        if project_type == "single_own_business" {
            row.status = Status::NotPayable;
            row.reasons.insert("single_own_business".into());
            rows.push(row);
            continue;
        }
        let reasons = &mut row.reasons;
        if deliverables.get(i).is_none_or(|d| d.trim().is_empty()) {
            reasons.insert("no_deliverables".into());
        }
        let empty = Vec::new();
        let sups = by_project.get(id).unwrap_or(&empty);
        if sups.is_empty() {
            reasons.insert("invalid_workload_shares".into());
        }
        let mut total = Decimal::ZERO;
        for s in sups {
            match s.score {
                Ok(None) => {
                    reasons.insert("missing_assessment_score".into());
                }
                Ok(Some(v)) if (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&v) => {}
                _ => {
                    reasons.insert("invalid_assessment_score".into());
                }
            }
            match s.share {
                Ok(v) if v > Decimal::ZERO && v <= Decimal::ONE => total += v,
                _ => {
                    reasons.insert("invalid_workload_shares".into());
                }
            }
        }
        if !sups.is_empty() && (total - Decimal::ONE).abs() > Decimal::new(1, 4) {
            reasons.insert("invalid_workload_shares".into());
        }
        let value = opt_decimal(values.get(i));
        if outcome == "won_other_implementer" && !matches!(value, Ok(Some(_))) {
            reasons.insert(if value.is_err() { "invalid_contract_value" } else { "missing_contract_value" }.into());
        }
        let fee = base_fee(rules, &class, project_type);
        if fee.is_none() {
            reasons.insert(
                if rules.fees.contains_key(&class) { "unknown_project_type" } else { "unknown_project_class" }.into(),
            );
        }
        let coef = coefficient(rules, outcome, value.ok().flatten());
        if coef.is_none() && outcome != "won_other_implementer" {
            reasons.insert("unknown_outcome".into());
        }
        if !row.reasons.is_empty() {
            rows.push(row);
            continue;
        }
        let ((fee_type, fee), coef) = (fee.expect("checked"), coef.expect("checked"));
        for s in sups {
            let (share, score) = (s.share.expect("checked"), s.score.expect("checked").expect("checked"));
            rows.push(PresalesRow {
                status: Status::Settled,
                share: Some(Share {
                    partner_id: s.partner_id.clone(),
                    fee_type: fee_type.to_string(),
                    base_fee: fee,
                    coefficient: coef,
                    workload_share: share,
                    assessment_score: score,
                    amount: round2(fee * coef * share * score / Decimal::ONE_HUNDRED),
                }),
                reasons: BTreeSet::new(),
                ..row.clone()
            });
        }
    }
    rows.sort_by(|a, b| {
        let key = |r: &PresalesRow| (r.project_id.clone(), r.share.as_ref().map(|s| s.partner_id.clone()), r.status);
        key(a).cmp(&key(b))
    });
    QuarterResult { quarter, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::{ClassFees, CoefficientBand};
    use rust_decimal_macros::dec;

    fn rules() -> PresalesRules {
        let fees = |d, i| ClassFees { dedicated_line: d, integrated: i };
        PresalesRules {
            mixed_settles_as: MixedSettlesAs::Higher,
            fees: BTreeMap::from([
                ("A1".into(), fees(dec!(3000), dec!(6000))),
                ("A2".into(), fees(dec!(2000), dec!(4000))),
                ("B".into(), fees(dec!(1500), dec!(3000))),
                ("C".into(), fees(dec!(1000), dec!(2000))),
            ]),
            won_by_supporter: dec!(0),
            not_implemented_other_cause: dec!(1),
            not_implemented_supporter_cause: dec!(0),
            won_other_implementer: vec![
                CoefficientBand { below: Some(dec!(1000000)), coefficient: dec!(1.0) },
                CoefficientBand { below: Some(dec!(5000000)), coefficient: dec!(1.2) },
                CoefficientBand { below: None, coefficient: dec!(1.5) },
            ],
        }
    }

    type P<'a> =
        (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);

    /// (id, class, type, completed, deliverables, outcome, outcome_on, value)
    fn projects(rows: &[P]) -> DataFrame {
        let rows: Vec<Vec<Option<&str>>> = rows
            .iter()
            .map(|(id, class, ty, done, deliv, outcome, on, value)| {
                vec![
                    Some(*id),
                    Some("项目"),
                    Some(*class),
                    Some(*ty),
                    Some("成都分公司政企客户部"),
                    Some("2026-01-01"),
                    *done,
                    *deliv,
                    Some(*outcome),
                    *on,
                    *value,
                ]
            })
            .collect();
        frame_from_rows(PRESALES_PROJECTS, &rows)
    }

    fn supports(rows: &[(&str, &str, &str, Option<&str>)]) -> DataFrame {
        let rows: Vec<Vec<Option<&str>>> =
            rows.iter().map(|(p, who, share, score)| vec![Some(*p), Some(*who), Some(*share), *score]).collect();
        frame_from_rows(PRESALES_SUPPORTS, &rows)
    }

    fn q(s: &str) -> Quarter {
        s.parse().unwrap()
    }

    fn amounts(r: &QuarterResult) -> Vec<(String, String, Decimal)> {
        r.rows
            .iter()
            .filter_map(|x| x.share.as_ref().map(|s| (x.project_id.clone(), s.partner_id.clone(), s.amount)))
            .collect()
    }

    #[test]
    fn band_edges_below_is_exclusive() {
        let r = rules();
        let c = |v| coefficient(&r, "won_other_implementer", Some(v)).unwrap();
        assert_eq!(c(dec!(999999.99)), dec!(1.0));
        assert_eq!(c(dec!(1000000)), dec!(1.2));
        assert_eq!(c(dec!(4999999.99)), dec!(1.2));
        assert_eq!(c(dec!(5000000)), dec!(1.5));
        assert_eq!(coefficient(&r, "won_other_implementer", None), None);
        assert_eq!(coefficient(&r, "won_by_supporter", None), Some(dec!(0)));
    }

    #[test]
    fn mixed_settles_at_the_higher_fee() {
        assert_eq!(base_fee(&rules(), "A1", "mixed"), Some(("integrated", dec!(6000))));
        let mut lower = rules();
        lower.mixed_settles_as = MixedSettlesAs::Lower;
        assert_eq!(base_fee(&lower, "A1", "mixed"), Some(("dedicated_line", dec!(3000))));
    }

    #[test]
    fn three_way_split_with_different_scores() {
        // A1 dedicated line, won by another implementer at 2,500,000 → 1.2.
        // 3000 × 1.2 × 0.3333 × 85.5 / 100 = 1025.8974 → 1025.90
        // 3000 × 1.2 × 0.3333 × 90   / 100 = 1079.892  → 1079.89
        // 3000 × 1.2 × 0.3334 × 70   / 100 = 840.168   → 840.17
        let p = projects(&[(
            "PJ1",
            "A1",
            "dedicated_line",
            Some("2026-02-01"),
            Some("DOC"),
            "won_other_implementer",
            Some("2026-02-10"),
            Some("2500000"),
        )]);
        let s = supports(&[
            ("PJ1", "P1", "0.3333", Some("85.5")),
            ("PJ1", "P2", "0.3333", Some("90")),
            ("PJ1", "P3", "0.3334", Some("70")),
        ]);
        let r = settle(q("2026-Q1"), &p, &s, &rules(), &HashSet::new());
        assert_eq!(
            amounts(&r),
            vec![
                ("PJ1".into(), "P1".into(), dec!(1025.90)),
                ("PJ1".into(), "P2".into(), dec!(1079.89)),
                ("PJ1".into(), "P3".into(), dec!(840.17))
            ]
        );
    }

    #[test]
    fn won_by_supporter_pays_zero_and_own_business_is_not_payable() {
        let p = projects(&[
            ("PJ1", "B", "integrated", Some("2026-02-01"), Some("DOC"), "won_by_supporter", Some("2026-02-10"), None),
            ("PJ2", "B", "single_own_business", Some("2026-02-01"), None, "won_by_supporter", Some("2026-02-10"), None),
        ]);
        let s = supports(&[("PJ1", "P1", "1", Some("90")), ("PJ2", "P1", "1", None)]);
        let r = settle(q("2026-Q1"), &p, &s, &rules(), &HashSet::new());
        assert_eq!(amounts(&r), vec![("PJ1".into(), "P1".into(), dec!(0))]);
        let own = r.rows.iter().find(|x| x.project_id == "PJ2").unwrap();
        assert_eq!(
            (own.status, own.reasons.iter().next().unwrap().as_str()),
            (Status::NotPayable, "single_own_business")
        );
    }

    #[test]
    fn held_for_missing_deliverables_then_settled_once_they_arrive() {
        let s = supports(&[("PJ1", "P1", "1", Some("80"))]);
        let held = projects(&[(
            "PJ1",
            "C",
            "integrated",
            Some("2026-02-01"),
            None,
            "not_implemented_other_cause",
            Some("2026-03-01"),
            None,
        )]);
        let q1 = settle(q("2026-Q1"), &held, &s, &rules(), &HashSet::new());
        assert_eq!(q1.rows[0].status, Status::Held);
        assert!(q1.rows[0].reasons.contains("no_deliverables"));
        let fixed = projects(&[(
            "PJ1",
            "C",
            "integrated",
            Some("2026-02-01"),
            Some("DOC"),
            "not_implemented_other_cause",
            Some("2026-03-01"),
            None,
        )]);
        let q2 = settle(q("2026-Q2"), &fixed, &s, &rules(), &HashSet::new());
        // C integrated 2000 × 1 × 1 × 80 / 100 = 1600.00
        assert_eq!(amounts(&q2), vec![("PJ1".into(), "P1".into(), dec!(1600))]);
        // A later quarter never settles it again.
        let q3 = settle(q("2026-Q3"), &fixed, &s, &rules(), &HashSet::from(["PJ1".to_string()]));
        assert!(q3.rows.is_empty());
    }

    #[test]
    fn every_hold_reason_is_listed_and_shares_tolerate_rounding() {
        let p = projects(&[
            ("PJ1", "A2", "integrated", Some("2026-02-01"), None, "won_other_implementer", Some("2026-02-10"), None),
            (
                "PJ2",
                "A2",
                "integrated",
                Some("2026-02-01"),
                Some("D"),
                "not_implemented_other_cause",
                Some("2026-02-10"),
                None,
            ),
            (
                "PJ3",
                "A2",
                "integrated",
                Some("2026-02-01"),
                Some("D"),
                "not_implemented_other_cause",
                Some("2026-02-10"),
                None,
            ),
        ]);
        let s = supports(&[
            ("PJ1", "P1", "0.5", None),
            ("PJ1", "P2", "0.4", Some("120")),
            ("PJ2", "P1", "0.3333", Some("80")),
            ("PJ2", "P2", "0.6666", Some("80")),
        ]);
        let r = settle(q("2026-Q1"), &p, &s, &rules(), &HashSet::new());
        let pj1 = r.rows.iter().find(|x| x.project_id == "PJ1").unwrap();
        let codes: Vec<&str> = pj1.reasons.iter().map(String::as_str).collect();
        assert_eq!(
            codes,
            [
                "invalid_assessment_score",
                "invalid_workload_shares",
                "missing_assessment_score",
                "missing_contract_value",
                "no_deliverables"
            ]
        );
        // 0.9999 is within 0.0001 of 1: settled.
        assert_eq!(r.rows.iter().filter(|x| x.project_id == "PJ2" && x.status == Status::Settled).count(), 2);
        // No supporting partner at all.
        assert!(r.rows.iter().any(|x| x.project_id == "PJ3" && x.reasons.contains("invalid_workload_shares")));
    }

    #[test]
    fn not_ready_until_both_dates_fall_in_the_quarter() {
        let p = projects(&[
            (
                "PJ1",
                "C",
                "integrated",
                Some("2026-03-20"),
                Some("D"),
                "not_implemented_other_cause",
                Some("2026-04-02"),
                None,
            ),
            ("PJ2", "C", "integrated", Some("2026-03-20"), Some("D"), "pending", None, None),
        ]);
        let s = supports(&[("PJ1", "P1", "1", Some("80")), ("PJ2", "P1", "1", Some("80"))]);
        assert!(settle(q("2026-Q1"), &p, &s, &rules(), &HashSet::new()).rows.is_empty());
        assert_eq!(settle(q("2026-Q2"), &p, &s, &rules(), &HashSet::new()).rows.len(), 1);
    }
}
