//! The units a command acts on (rules.md §12): the period's units from the store, the one named
//! (`--unit`), all of them as one joint decision (`--all-units`), or the only one there is; and
//! whether the name given may act for them (`approvers`).

use super::Context;
use crate::domain::job::JobKind;
use crate::domain::refusal::StateError;
use crate::domain::units::{choose, may_act, ChoiceError, Membership, UnitChoice, UnitStatus};
use crate::exit::UsageError;
use crate::report::templates::label;
use crate::store::Store;
use std::collections::{BTreeMap, BTreeSet};

/// A period's items and units, where each unit stands, and the units a command names.
pub(crate) struct Chosen {
    pub(crate) membership: Membership,
    pub(crate) status: BTreeMap<String, UnitStatus>,
    pub(crate) units: Vec<String>,
}

/// Who may act for the units of a job: a month's and a year's are departments, a quarter's
/// commissioning units.
pub(crate) fn approvers(cx: &Context, job: JobKind) -> &BTreeMap<String, Vec<String>> {
    if job == JobKind::Quarterly {
        &cx.settings.unit_approvers
    } else {
        &cx.settings.department_approvers
    }
}

/// The units `choice` names among the period's, with `waiting` (those for which the step is
/// still to be taken) listed when none is named. Refusals in the locale's words: an unknown
/// unit, or none named among several (exit 64); a name the units do not accept (exit 1).
pub(crate) async fn chosen(
    cx: &Context,
    store: &Store,
    job: JobKind,
    period: &str,
    choice: &UnitChoice,
    by: &str,
    waiting: impl Fn(UnitStatus) -> bool,
) -> anyhow::Result<Chosen> {
    let locale = cx.settings.locale.as_str();
    if store.computed(job, period).await?.is_none() {
        return Err(StateError::NotComputed { job: job.as_str().into(), period: period.into() }.into());
    }
    let membership = store.membership(job, period).await?;
    let status = store.unit_statuses(job, period, &membership).await?;
    let units: BTreeSet<String> = status.keys().cloned().collect();
    let still: BTreeSet<String> = status.iter().filter(|(_, s)| waiting(**s)).map(|(u, _)| u.clone()).collect();
    let list = |v: &[String]| if v.is_empty() { label(locale, "none", &[]) } else { v.join("、") };
    let units = choose(choice, &units, &still).map_err(|e| {
        UsageError(match e {
            ChoiceError::Unknown { given, known } => {
                label(locale, "units_unknown", &[("unit", &given), ("known", &list(&known))])
            }
            ChoiceError::Unnamed { waiting, all } => {
                label(locale, "units_unnamed", &[("waiting", &list(&waiting)), ("all", &list(&all))])
            }
            ChoiceError::Empty => label(locale, "units_none", &[("period", period)]),
        })
    })?;
    may_act(by, &units, approvers(cx, job)).map_err(|e| StateError::NotAnApprover {
        by: e.by,
        unit: e.unit,
        allowed: e.allowed,
    })?;
    Ok(Chosen { membership, status, units })
}
