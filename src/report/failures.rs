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
        if let Some(e) = cause.downcast_ref::<StateError>() {
            return Some(match e {
                StateError::Frozen { job, period } => {
                    l("refusal_frozen", &[("period", period), ("job", &l(&format!("job_{job}"), &[]))])
                }
                StateError::EnteredMeanwhile { key, department } => {
                    l("refusal_entered_meanwhile", &[("key", key), ("department", department)])
                }
                StateError::Other(text) => text.clone(),
            });
        }
        if let Some(Held { period, .. }) = cause.downcast_ref::<Held>() {
            return Some(l("failure_held", &[("period", period)]));
        }
        if let Some(StoreError::Held(held)) = cause.downcast_ref::<StoreError>() {
            return Some(l("failure_held", &[("period", &held.period)]));
        }
        if let Some(DbError::Unavailable { .. }) = cause.downcast_ref::<DbError>() {
            return Some(l("failure_unavailable", &[]));
        }
    }
    None
}
