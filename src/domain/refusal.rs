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
    /// Any other refusal, already in words.
    #[error("{0}")]
    Other(String),
}
