//! A failure in the locale's words: the typed errors people meet at the terminal (a refusal
//! because of a period's state, a period another process holds, a database out of reach), said
//! the way the rest of the program speaks. The technical chain goes to the log.

use super::templates::label;
use crate::db::DbError;
use crate::domain::refusal::StateError;
use crate::store::ledger::Held;
use crate::store::StoreError;

/// The words for the first failure of the chain that has some, if any has.
pub(crate) fn words(locale: &str, error: &anyhow::Error) -> Option<String> {
    let l = |key: &str, args: &[(&str, &str)]| label(locale, key, args);
    for cause in error.chain() {
        // A refusal comes bare, or inside the store's error (which is transparent to it).
        let refusal = cause.downcast_ref::<StateError>().or(match cause.downcast_ref::<StoreError>() {
            Some(StoreError::State(e)) => Some(e),
            _ => None,
        });
        if let Some(e) = refusal {
            return Some(match e {
                StateError::Frozen { job, period } => {
                    l("refusal_frozen", &[("period", period), ("job", &l(&format!("job_{job}"), &[]))])
                }
                StateError::EnteredMeanwhile { key, department } => {
                    l("refusal_entered_meanwhile", &[("key", key), ("department", department)])
                }
                StateError::NotComputed { job, period } => {
                    l("refusal_not_computed", &[("period", period), ("job", &l(&format!("job_{job}"), &[]))])
                }
                StateError::RecordsChanged { period, at, .. } => {
                    l("refusal_records_changed", &[("period", period), ("at", at)])
                }
                StateError::AlreadyApproved { unit, by, at } => {
                    l("refusal_already_approved", &[("unit", unit), ("by", by), ("at", at)])
                }
                StateError::NotApproved { unit } => l("refusal_not_approved", &[("unit", unit)]),
                StateError::NotPublished { unit } => l("refusal_not_published", &[("unit", unit)]),
                StateError::NotAnApprover { by, unit, allowed } => {
                    l("refusal_not_an_approver", &[("by", by), ("unit", unit), ("allowed", &allowed.join("、"))])
                }
                StateError::NoDispute { id } => l("refusal_no_dispute", &[("id", id)]),
                StateError::Decided { id, state, by, at } => l(
                    "refusal_dispute_decided",
                    &[("id", id), ("state", &l(&format!("dispute_state_{state}"), &[])), ("by", by), ("at", at)],
                ),
                StateError::DecidedMeanwhile { id } => l("refusal_dispute_meanwhile", &[("id", id)]),
                StateError::Other(text) => text.clone(),
            });
        }
        let held = cause.downcast_ref::<Held>().or(match cause.downcast_ref::<StoreError>() {
            Some(StoreError::Held(h)) => Some(h.as_ref()),
            _ => None,
        });
        if let Some(h) = held {
            let job = l(&format!("job_{}", h.job.as_str()), &[]);
            return Some(match &h.holder {
                Some(x) => l(
                    "failure_held_by",
                    &[
                        ("job", &job),
                        ("period", &h.period),
                        ("run", &x.run_id),
                        ("host", &x.host),
                        ("pid", &x.pid.to_string()),
                        ("by", &x.started_by),
                        ("at", &x.started_at),
                    ],
                ),
                None => l("failure_held", &[("job", &job), ("period", &h.period)]),
            });
        }
        if let Some(StoreError::NoStore(path)) = cause.downcast_ref::<StoreError>() {
            return Some(l("failure_no_store", &[("path", path)]));
        }
        if let Some(DbError::Unavailable { .. }) = cause.downcast_ref::<DbError>() {
            return Some(l("failure_unavailable", &[]));
        }
    }
    None
}
