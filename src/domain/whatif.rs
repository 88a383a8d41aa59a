//! A rules revision tried over months (第三十九条): each partner's stored month beside the
//! candidate's, the causes of each change, the totals per month and department, and the grade
//! history the candidate builds month by month. Pure: no I/O, no clock.

use super::monthly::{GradeHistory, IndicatorResult, PartnerResult};
use super::period::Month;
use super::rules::Grade;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// What a what-if over months found, for the report and the operator.
pub(crate) struct WhatIf {
    pub(crate) first: Month,
    pub(crate) last: Month,
    pub(crate) candidate_hash: String,
    pub(crate) effective_from: Option<Month>,
    /// The hashes of the rules each month's "before" side was computed with.
    pub(crate) before_hashes: BTreeSet<String>,
    /// The settings the candidate changes against the rules of the range's last month.
    pub(crate) differences: Vec<Difference>,
    pub(crate) rows: Vec<Row>,
    pub(crate) totals: Vec<Totals>,
    /// Months with no stored result: computed on both sides.
    pub(crate) not_stored: Vec<Month>,
}

/// One setting a revision changes: its dotted name, the value before and after (empty: not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Difference {
    pub(crate) setting: String,
    pub(crate) before: String,
    pub(crate) after: String,
}

/// One side of a partner's month: what the CSV and the sheets show of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Side {
    /// `None` while on hold.
    pub(crate) score: Option<Decimal>,
    pub(crate) grade: Option<Grade>,
    pub(crate) settlement: Option<Decimal>,
    pub(crate) flags: BTreeSet<String>,
    pub(crate) holds: BTreeSet<String>,
}

impl Side {
    fn of(p: &PartnerResult) -> Self {
        let a = p.assessment.as_ref();
        Side {
            score: a.map(|a| a.score),
            grade: a.map(|a| a.grade),
            settlement: a.map(|a| a.settlement),
            flags: p.flags.iter().map(|f| f.as_str().to_string()).collect(),
            holds: p.hold_reasons.clone(),
        }
    }
}

/// What made a partner's month differ, in the order a reader checks them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cause {
    /// Assessed on one side only.
    Assessed,
    /// An indicator's points (its weight, target, limit or scale).
    Indicator(String),
    /// The credit deduction (the violation classes' points).
    Credit,
    /// The same score in another grade: the grade bands.
    GradeBands,
    /// The same score, other pay: the fee rules.
    Fees,
    /// The flags (the C-grade window and threshold, chained from earlier months).
    Flags,
    /// The reasons a month is held.
    Holds,
}

/// One partner and month, before (stored, or computed under the rules that govern the month)
/// and after (the candidate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) month: Month,
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    pub(crate) departments: BTreeSet<String>,
    pub(crate) before: Option<Side>,
    pub(crate) after: Option<Side>,
    pub(crate) causes: Vec<Cause>,
}

impl Row {
    /// Whether the grade or the money changes: the partners a department looks at first.
    pub(crate) fn moves(&self) -> bool {
        let grade = |s: &Option<Side>| s.as_ref().and_then(|s| s.grade);
        let pay = |s: &Option<Side>| s.as_ref().and_then(|s| s.settlement);
        grade(&self.before) != grade(&self.after) || pay(&self.before) != pay(&self.after)
    }

    #[cfg(test)]
    pub(crate) fn unchanged(&self) -> bool {
        self.before == self.after
    }

    /// The money that moves (after − before; an on-hold side counts nothing).
    pub(crate) fn money_moved(&self) -> Decimal {
        let pay = |s: &Option<Side>| s.as_ref().and_then(|s| s.settlement).unwrap_or_default();
        pay(&self.after) - pay(&self.before)
    }
}

/// A month's results: its partners and their indicator rows.
pub(crate) struct MonthSide<'a> {
    pub(crate) partners: &'a [PartnerResult],
    pub(crate) indicators: &'a [IndicatorResult],
}

/// Every partner assessed under either side of a month, in partner order, with its causes.
pub(crate) fn compare(month: Month, before: MonthSide<'_>, after: MonthSide<'_>) -> Vec<Row> {
    let points = |side: &MonthSide<'_>| -> BTreeMap<(String, String), Decimal> {
        side.indicators.iter().map(|i| ((i.partner_id.clone(), i.indicator.clone()), i.points)).collect()
    };
    let (points_before, points_after) = (points(&before), points(&after));
    let mut partners: BTreeMap<&str, (Option<&PartnerResult>, Option<&PartnerResult>)> = BTreeMap::new();
    for p in before.partners {
        partners.entry(&p.partner_id).or_default().0 = Some(p);
    }
    for p in after.partners {
        partners.entry(&p.partner_id).or_default().1 = Some(p);
    }
    partners
        .into_iter()
        .map(|(id, (b, a))| {
            let named = a.or(b).expect("one side at least");
            let (before, after) = (b.map(Side::of), a.map(Side::of));
            let mut causes = BTreeSet::new();
            match (b, a) {
                (Some(b), Some(a)) => {
                    let (sb, sa) = (before.as_ref().expect("both"), after.as_ref().expect("both"));
                    if let (Some(x), Some(y)) = (&b.assessment, &a.assessment) {
                        let keys: BTreeSet<&(String, String)> =
                            points_before.keys().chain(points_after.keys()).filter(|(p, _)| p == id).collect();
                        for key in keys {
                            if points_before.get(key) != points_after.get(key) {
                                causes.insert(Cause::Indicator(key.1.clone()));
                            }
                        }
                        if x.credit_deduction != y.credit_deduction {
                            causes.insert(Cause::Credit);
                        }
                        if x.score == y.score && x.grade != y.grade {
                            causes.insert(Cause::GradeBands);
                        }
                        if x.score == y.score && x.settlement != y.settlement {
                            causes.insert(Cause::Fees);
                        }
                    } else if b.assessment.is_some() != a.assessment.is_some() {
                        causes.insert(Cause::Assessed);
                    }
                    if sb.flags != sa.flags {
                        causes.insert(Cause::Flags);
                    }
                    if sb.holds != sa.holds {
                        causes.insert(Cause::Holds);
                    }
                }
                _ => {
                    causes.insert(Cause::Assessed);
                }
            }
            Row {
                month,
                partner_id: id.to_string(),
                partner_name: named.partner_name.clone(),
                departments: named.departments.clone(),
                before,
                after,
                causes: causes.into_iter().collect(),
            }
        })
        .collect()
}

/// A month's (or a department's month's) totals, on one side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Partners graded A, B, C and on hold.
    pub(crate) grades: [usize; 4],
    pub(crate) settlement: Decimal,
}

impl Tally {
    fn add(&mut self, side: Option<&Side>) {
        let Some(side) = side else { return };
        let k = match side.grade {
            Some(Grade::A) => 0,
            Some(Grade::B) => 1,
            Some(Grade::C) => 2,
            None => 3,
        };
        self.grades[k] += 1;
        self.settlement += side.settlement.unwrap_or_default();
    }
}

/// Totals of one month and one department (`None`: the whole month), before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) month: Month,
    pub(crate) department: Option<String>,
    pub(crate) before: Tally,
    pub(crate) after: Tally,
    /// Partners whose grade or money changes.
    pub(crate) moved: usize,
}

/// The month's totals: the whole month first, then each department (a partner of two
/// departments counts in both, and once in the whole).
pub(crate) fn totals(month: Month, rows: &[Row]) -> Vec<Totals> {
    let blank = |department| Totals { month, department, before: Tally::default(), after: Tally::default(), moved: 0 };
    let mut all = blank(None);
    let mut by: BTreeMap<&str, Totals> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.month == month) {
        let mut targets = vec![&mut all];
        for d in &r.departments {
            if !by.contains_key(d.as_str()) {
                by.insert(d, blank(Some(d.clone())));
            }
        }
        targets.extend(by.iter_mut().filter(|(d, _)| r.departments.iter().any(|x| x == *d)).map(|(_, t)| t));
        for t in targets {
            t.before.add(r.before.as_ref());
            t.after.add(r.after.as_ref());
            t.moved += usize::from(r.moves());
        }
    }
    std::iter::once(all).chain(by.into_values()).collect()
}

/// Adds a month's grades to a grade history (what the next month's C-grade window reads), and
/// forgets the months no window of `keep_months` reaches any more: memory stays at a window.
pub(crate) fn remember(history: &mut GradeHistory, month: Month, partners: &[PartnerResult], keep_months: u32) {
    for p in partners {
        history.grades.entry(p.partner_id.clone()).or_default().insert(month, p.assessment.as_ref().map(|a| a.grade));
    }
    history.months_run.insert(month);
    let oldest = month.plus(-(keep_months.max(1) as i32 - 1));
    history.months_run.retain(|m| *m >= oldest);
    for by_month in history.grades.values_mut() {
        by_month.retain(|m, _| *m >= oldest);
    }
    history.grades.retain(|_, by_month| !by_month.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::monthly::{Assessment, Flag};
    use proptest::prelude::*;

    fn month() -> Month {
        "2026-03".parse().unwrap()
    }

    fn partner(id: &str, score: Option<(i64, Grade, i64)>, flags: &[Flag]) -> PartnerResult {
        PartnerResult {
            partner_id: id.into(),
            partner_name: format!("{id} 公司"),
            assessment: score.map(|(s, g, pay)| Assessment {
                effectiveness: Decimal::new(s, 0),
                credit_deduction: Decimal::ZERO,
                score: Decimal::new(s, 0),
                grade: g,
                fees_total: Decimal::new(pay, 0),
                fees_excluded: Decimal::ZERO,
                settlement: Decimal::new(pay, 0),
            }),
            c_grades_window: 0,
            flags: flags.iter().copied().collect(),
            hold_reasons: if score.is_none() { ["banned".to_string()].into() } else { BTreeSet::new() },
            departments: ["网络部".to_string()].into(),
        }
    }

    fn side(partners: &[PartnerResult]) -> MonthSide<'_> {
        MonthSide { partners, indicators: &[] }
    }

    #[test]
    fn the_same_results_compare_unchanged() {
        let p = vec![partner("P1", Some((80, Grade::B, 100)), &[]), partner("P2", None, &[])];
        let rows = compare(month(), side(&p), side(&p));
        assert!(rows.iter().all(|r| r.unchanged() && !r.moves() && r.causes.is_empty()));
        let t = totals(month(), &rows);
        assert_eq!(t[0].before, t[0].after);
        assert_eq!(t[0].before.grades, [0, 1, 0, 1]);
    }

    #[test]
    fn a_grade_band_change_is_named_and_counted() {
        let before = vec![partner("P1", Some((78, Grade::B, 100)), &[])];
        let after = vec![partner("P1", Some((78, Grade::C, 100)), &[Flag::TwoCGrades])];
        let rows = compare(month(), side(&before), side(&after));
        assert_eq!(rows[0].causes, vec![Cause::GradeBands, Cause::Flags]);
        assert!(rows[0].moves());
        let t = totals(month(), &rows);
        assert_eq!((t[0].moved, t[1].department.as_deref()), (1, Some("网络部")));
        assert_eq!(t[1].after.grades, [0, 0, 1, 0]);
    }

    #[test]
    fn a_partner_on_one_side_only_is_a_row_of_its_own() {
        let before = vec![partner("P1", Some((90, Grade::A, 100)), &[])];
        let rows = compare(month(), side(&before), side(&[]));
        assert_eq!((rows.len(), rows[0].after.is_none()), (1, true));
        assert_eq!(rows[0].causes, vec![Cause::Assessed]);
        assert_eq!(rows[0].money_moved(), Decimal::new(-100, 0));
    }

    #[test]
    fn the_history_keeps_only_its_window() {
        let mut h = GradeHistory::default();
        let p = vec![partner("P1", Some((50, Grade::C, 0)), &[])];
        for k in 0..12 {
            remember(&mut h, month().plus(k), &p, 3);
        }
        assert_eq!(h.months_run.len(), 3);
        assert_eq!(h.grades["P1"].len(), 3);
        assert_eq!(h.months_run.iter().next().copied(), Some(month().plus(9)));
    }

    proptest! {
        /// Whatever the two sides, every partner of either is one row, the whole month's
        /// settlement totals are the sides' sums, and the money moved adds up to their difference.
        #[test]
        fn totals_add_up(scores in proptest::collection::vec((0i64..100, 0i64..1000, any::<bool>(), any::<bool>()), 0..20)) {
            let grade = |s: i64| if s >= 90 { Grade::A } else if s >= 75 { Grade::B } else { Grade::C };
            let (mut before, mut after) = (Vec::new(), Vec::new());
            for (i, (s, pay, in_before, in_after)) in scores.iter().enumerate() {
                let id = format!("P{i}");
                if *in_before { before.push(partner(&id, Some((*s, grade(*s), *pay)), &[])); }
                if *in_after { after.push(partner(&id, Some((*s / 2, grade(*s / 2), *pay / 2)), &[])); }
            }
            let rows = compare(month(), side(&before), side(&after));
            let either = scores.iter().filter(|(_, _, b, a)| *b || *a).count();
            prop_assert_eq!(rows.len(), either);
            let t = &totals(month(), &rows)[0];
            let sum = |ps: &[PartnerResult]| ps.iter().filter_map(|p| p.assessment.as_ref()).map(|a| a.settlement).sum::<Decimal>();
            prop_assert_eq!(t.before.settlement, sum(&before));
            prop_assert_eq!(t.after.settlement, sum(&after));
            prop_assert_eq!(rows.iter().map(Row::money_moved).sum::<Decimal>(), t.after.settlement - t.before.settlement);
        }
    }
}
