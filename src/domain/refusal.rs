//! Why an act on a period is refused because of where the period stands (exit 1): typed, so that
//! the words are the locale's, chosen where the message is shown, not where the refusal is made.

/// An act refused because of the period's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StateError {
    /// The period is approved or published: its records are frozen until it is reopened.
    #[error("{job} {period} is approved: its records are frozen until it is reopened")]
    Frozen { job: String, period: String },
    /// Another department's import of the period took a row meanwhile.
    #[error("{key} was imported by {department:?} meanwhile: check and import again")]
    EnteredMeanwhile { key: String, department: String },
    /// The period was never computed.
    #[error("{job} {period} has not been computed yet: run it first")]
    NotComputed { job: String, period: String },
    /// Departmental records changed after the period was computed.
    #[error("{job} {period}: records were imported at {at}, after it was computed: rerun it first")]
    RecordsChanged { job: String, period: String, at: String },
    /// The unit is approved already.
    #[error("{unit} is approved already (by {by} at {at})")]
    AlreadyApproved { unit: String, by: String, at: String },
    /// The unit is not approved (to reopen, or to publish).
    #[error("{unit} is not approved")]
    NotApproved { unit: String },
    /// The unit is approved but not published (a resend).
    #[error("{unit} is not published")]
    NotPublished { unit: String },
    /// The name given may not act for the unit.
    #[error("{by} may not act for {unit} (may: {allowed:?})")]
    NotAnApprover { by: String, unit: String, allowed: Vec<String> },
    /// There is no dispute of that id.
    #[error("there is no dispute {id}")]
    NoDispute { id: String },
    /// The dispute is decided already.
    #[error("dispute {id} is {state} already (by {by} at {at})")]
    Decided { id: String, state: String, by: String, at: String },
    /// Someone else decided the dispute meanwhile.
    #[error("dispute {id} was decided by someone else meanwhile")]
    DecidedMeanwhile { id: String },
    /// Any other refusal, already in words.
    #[error("{0}")]
    Other(String),
}
