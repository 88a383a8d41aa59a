//! Who approves what (rules.md §12, 第二十一、二十六条): the approving units of a period and
//! their items, which units an approval names, who may approve, and which partners a unit's
//! publication tells. Pure: the store says where each unit stands, this says what follows.

use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// One item's figures as people are told them: score, grade (or status), amount (settlement or
/// presales amount).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Figures {
    pub(crate) score: Option<Decimal>,
    pub(crate) grade: Option<String>,
    pub(crate) amount: Option<Decimal>,
}

/// What changed for one item between the last approval and now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) item: String,
    pub(crate) before: Option<Figures>,
    pub(crate) after: Option<Figures>,
}

/// Where a unit of a period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum UnitStatus {
    /// Computed, not approved (no decision recorded).
    Draft,
    /// Approved by the unit: its items are frozen until reopened.
    Approved,
    /// Approved and told to its partners (and commissioning units).
    Published,
}

impl UnitStatus {
    /// Whether the unit's items are frozen (a rerun keeps them, an import is refused).
    pub(crate) fn frozen(self) -> bool {
        self != UnitStatus::Draft
    }
}

/// The items of a period (a partner of a month or year, a project share of a quarter) and the
/// units each belongs to: a partner of two departments belongs to both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) items: BTreeMap<String, BTreeSet<String>>,
}

impl Membership {
    /// Every unit of the period.
    pub(crate) fn units(&self) -> BTreeSet<String> {
        self.items.values().flatten().cloned().collect()
    }

    /// The items of a unit.
    pub(crate) fn items_of<'a>(&'a self, unit: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.items.iter().filter(move |(_, units)| units.contains(unit)).map(|(item, _)| item)
    }

    /// The items of which some unit is frozen (approved or published): a rerun keeps them as stored.
    pub(crate) fn frozen_items(&self, status: &BTreeMap<String, UnitStatus>) -> BTreeSet<String> {
        self.items
            .iter()
            .filter(|(_, units)| units.iter().any(|u| status.get(u).is_some_and(|s| s.frozen())))
            .map(|(item, _)| item.clone())
            .collect()
    }

    /// The items a publication of `unit` tells: its own, each once every one of its units has
    /// approved (a partner of two departments waits for the second).
    pub(crate) fn told_by(&self, unit: &str, status: &BTreeMap<String, UnitStatus>) -> BTreeSet<String> {
        self.items
            .iter()
            .filter(|(_, units)| units.contains(unit))
            .filter(|(_, units)| units.iter().all(|u| status.get(u).is_some_and(|s| s.frozen())))
            .map(|(item, _)| item.clone())
            .collect()
    }
}

/// Which units a command names: one, all of them as one joint decision, or none given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnitChoice {
    One(String),
    All,
    Unnamed,
}

/// Why the units a command names cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChoiceError {
    /// No such unit in the period.
    #[error("no unit {given:?} in this period (its units: {known:?})")]
    Unknown { given: String, known: Vec<String> },
    /// Several units and none named: the ones still waiting are listed.
    #[error("this period has several units: name one (still waiting: {waiting:?})")]
    Unnamed { waiting: Vec<String>, all: Vec<String> },
    /// The period has no unit at all (nothing was assessed).
    #[error("this period has no unit to decide for")]
    Empty,
}

/// The units a command acts on. `waiting` are those whose step is still to be taken (listed when
/// none is named).
pub(crate) fn choose(
    choice: &UnitChoice,
    units: &BTreeSet<String>,
    waiting: &BTreeSet<String>,
) -> Result<Vec<String>, ChoiceError> {
    if units.is_empty() {
        return Err(ChoiceError::Empty);
    }
    match choice {
        UnitChoice::One(u) if units.contains(u) => Ok(vec![u.clone()]),
        UnitChoice::One(u) => Err(ChoiceError::Unknown { given: u.clone(), known: units.iter().cloned().collect() }),
        UnitChoice::All => Ok(units.iter().cloned().collect()),
        UnitChoice::Unnamed if units.len() == 1 => Ok(units.iter().cloned().collect()),
        UnitChoice::Unnamed => Err(ChoiceError::Unnamed {
            waiting: waiting.iter().cloned().collect(),
            all: units.iter().cloned().collect(),
        }),
    }
}

/// A name refused for a unit that lists who may approve, reopen and publish for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{by:?} may not act for {unit:?} (may: {allowed:?})")]
pub(crate) struct NotAnApprover {
    pub(crate) by: String,
    pub(crate) unit: String,
    pub(crate) allowed: Vec<String>,
}

/// Whether `by` may act for every one of `units`: a unit without a list accepts any name; with
/// `--all-units` the name must be on every list that exists (rules.md §12).
pub(crate) fn may_act(
    by: &str,
    units: &[String],
    approvers: &BTreeMap<String, Vec<String>>,
) -> Result<(), NotAnApprover> {
    for unit in units {
        if let Some(allowed) = approvers.get(unit).filter(|a| !a.is_empty()) {
            if !allowed.iter().any(|a| a == by) {
                return Err(NotAnApprover { by: by.into(), unit: unit.clone(), allowed: allowed.clone() });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn membership(rows: &[(&str, &[&str])]) -> Membership {
        Membership {
            items: rows.iter().map(|(i, us)| (i.to_string(), us.iter().map(|u| u.to_string()).collect())).collect(),
        }
    }

    fn status(rows: &[(&str, UnitStatus)]) -> BTreeMap<String, UnitStatus> {
        rows.iter().map(|(u, s)| (u.to_string(), *s)).collect()
    }

    #[test]
    fn a_partner_of_two_departments_is_told_once_both_approved() {
        let m = membership(&[("P01", &["网络部"]), ("P02", &["网络部", "政企客户部"]), ("P03", &["政企客户部"])]);
        let s = status(&[("网络部", UnitStatus::Approved)]);
        assert_eq!(m.told_by("网络部", &s), BTreeSet::from(["P01".to_string()]));
        assert_eq!(m.frozen_items(&s), BTreeSet::from(["P01".to_string(), "P02".to_string()]));
        let s = status(&[("网络部", UnitStatus::Published), ("政企客户部", UnitStatus::Approved)]);
        assert_eq!(m.told_by("政企客户部", &s), BTreeSet::from(["P02".to_string(), "P03".to_string()]));
    }

    #[test]
    fn units_are_named_or_the_one_there_is() {
        let units: BTreeSet<String> = ["网络部", "政企客户部"].iter().map(|s| s.to_string()).collect();
        let waiting = BTreeSet::from(["政企客户部".to_string()]);
        assert_eq!(choose(&UnitChoice::One("网络部".into()), &units, &waiting), Ok(vec!["网络部".to_string()]));
        assert_eq!(choose(&UnitChoice::All, &units, &waiting).unwrap().len(), 2);
        assert!(matches!(
            choose(&UnitChoice::Unnamed, &units, &waiting),
            Err(ChoiceError::Unnamed { waiting, .. }) if waiting == ["政企客户部"]
        ));
        assert!(matches!(
            choose(&UnitChoice::One("财务部".into()), &units, &waiting),
            Err(ChoiceError::Unknown { .. })
        ));
        let one = BTreeSet::from(["网络部".to_string()]);
        assert_eq!(choose(&UnitChoice::Unnamed, &one, &one), Ok(vec!["网络部".to_string()]));
        assert_eq!(choose(&UnitChoice::Unnamed, &BTreeSet::new(), &BTreeSet::new()), Err(ChoiceError::Empty));
    }

    #[test]
    fn only_listed_approvers_may_act_and_all_units_needs_every_list() {
        let lists = BTreeMap::from([("网络部".to_string(), vec!["张经理".to_string(), "王主任".to_string()])]);
        assert!(may_act("张经理", &["网络部".into()], &lists).is_ok());
        assert!(may_act("李四", &["政企客户部".into()], &lists).is_ok(), "a unit without a list takes any name");
        let err = may_act("李四", &["政企客户部".into(), "网络部".into()], &lists).unwrap_err();
        assert_eq!(err.allowed, ["张经理", "王主任"]);
    }

    proptest! {
        /// Whatever the units and their states: a told item is frozen, belongs to the unit, and
        /// every one of its units has approved; nothing of a draft-only item is ever told.
        #[test]
        fn told_items_are_frozen_and_fully_approved(
            rows in prop::collection::btree_map("[A-E]", prop::collection::btree_set("[a-c]", 1..3), 0..6),
            states in prop::collection::btree_map("[a-c]", 0u8..3, 0..3),
        ) {
            let m = Membership { items: rows };
            let s: BTreeMap<String, UnitStatus> = states
                .into_iter()
                .map(|(u, k)| (u, [UnitStatus::Draft, UnitStatus::Approved, UnitStatus::Published][k as usize]))
                .collect();
            let frozen = m.frozen_items(&s);
            for unit in m.units() {
                for item in m.told_by(&unit, &s) {
                    prop_assert!(frozen.contains(&item));
                    prop_assert!(m.items[&item].contains(&unit));
                    prop_assert!(m.items[&item].iter().all(|u| s.get(u).is_some_and(|x| x.frozen())));
                }
            }
        }
    }
}
