//! Exit codes are part of the interface (interface.md): `0` success, `64` bad usage, `78` invalid
//! configuration, `69` a server could not be reached or the period is held (safe to retry,
//! nothing partial committed), `65` the source data as a whole is unusable, `1` anything else.
//! This is the one place that decides them, from the typed errors of each layer, never from
//! message text.

use crate::config::ConfigError;
use crate::db::DbError;
use crate::domain::records::Refused;
use crate::mail::MailError;
use crate::sources::SourceError;
use crate::store::StoreError;

/// A command that cannot be carried out as asked: a period not over without `--preview`, an
/// option missing, something that does not exist (exit 64).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// A failure already in the locale's words, with the exit code of what it says.
#[derive(Debug, thiserror::Error)]
#[error("{text}")]
pub(crate) struct Said {
    pub(crate) code: u8,
    pub(crate) text: String,
}

pub(crate) const USAGE: u8 = 64;
pub(crate) const DATA: u8 = 65;
pub(crate) const UNAVAILABLE: u8 = 69;
pub(crate) const CONFIG: u8 = 78;
pub const FAILURE: u8 = 1;

fn db(e: &DbError) -> u8 {
    match e {
        DbError::Unavailable { .. } => UNAVAILABLE,
        DbError::Missing { .. } => DATA,
        // A URL comes from the configuration or its environment overrides: bad configuration.
        DbError::BadUrl { .. } => CONFIG,
        DbError::Other { .. } => FAILURE,
    }
}

fn source(e: &SourceError) -> u8 {
    match e {
        SourceError::Db(e) => db(e),
        SourceError::MissingColumn { .. } | SourceError::Unusable { .. } | SourceError::ColumnType { .. } => DATA,
        SourceError::Value { .. } | SourceError::Frame { .. } | SourceError::Stream { .. } => FAILURE,
    }
}

fn store(e: &StoreError) -> u8 {
    match e {
        StoreError::Db(e) => db(e),
        StoreError::Held(_) | StoreError::NoStore(_) => UNAVAILABLE,
        StoreError::LostClaim { .. } => UNAVAILABLE,
        StoreError::Corrupt { .. } | StoreError::Migrate(_) | StoreError::State(_) => FAILURE,
    }
}

fn mail(e: &MailError) -> u8 {
    match e {
        MailError::Undelivered { .. } => UNAVAILABLE,
        MailError::BadUrl { .. } => CONFIG,
        MailError::Store(e) => store(e),
    }
}

/// The exit code of a failure: the outermost typed error of the chain decides.
pub fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(said) = cause.downcast_ref::<Said>() {
            return said.code;
        }
        if cause.is::<ConfigError>() {
            return CONFIG;
        }
        if cause.is::<UsageError>() {
            return USAGE;
        }
        if cause.is::<Refused>() {
            return DATA;
        }
        if let Some(e) = cause.downcast_ref::<DbError>() {
            return db(e);
        }
        if let Some(e) = cause.downcast_ref::<SourceError>() {
            return source(e);
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return store(e);
        }
        if let Some(e) = cause.downcast_ref::<MailError>() {
            return mail(e);
        }
    }
    FAILURE
}

/// A failure as the terminal shows it: the whole chain, with anything a store or another
/// system put in it (a control character, a bidirectional override) escaped.
pub fn message(error: &anyhow::Error) -> String {
    crate::domain::text::escape(&format!("{error:#}"), true).into_owned()
}

/// Whether trying the same thing again later may work: a server unreachable or a store locked,
/// not another process holding the period (that one finishes it) and not data or configuration.
pub(crate) fn is_retryable(error: &anyhow::Error) -> bool {
    code(error) == UNAVAILABLE && !is_held(error)
}

/// Whether another process holds the job period.
pub(crate) fn is_held(error: &anyhow::Error) -> bool {
    error.chain().any(|c| matches!(c.downcast_ref::<StoreError>(), Some(StoreError::Held(_))))
}

/// Whether the results are committed and only the mail waits.
pub(crate) fn is_mail_queued(error: &anyhow::Error) -> bool {
    error.chain().any(|c| matches!(c.downcast_ref::<MailError>(), Some(MailError::Undelivered { .. })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ledger::Held;

    #[test]
    fn each_layer_maps_by_variant() {
        let config: anyhow::Error = ConfigError { problems: vec!["x".into()] }.into();
        assert_eq!(code(&config), CONFIG);
        let down: anyhow::Error = StoreError::Db(DbError::unavailable("opening", "refused")).into();
        assert_eq!(code(&down), UNAVAILABLE);
        assert!(is_retryable(&down));
        let job = crate::domain::job::JobKind::Monthly;
        let held: anyhow::Error =
            StoreError::Held(Box::new(Held { job: job.into(), period: "2026-10".into(), holder: None })).into();
        assert_eq!(code(&held), UNAVAILABLE);
        assert!(is_held(&held) && !is_retryable(&held));
        let missing: anyhow::Error = SourceError::MissingColumn { dataset: "tickets", column: "opened_at" }.into();
        assert_eq!(code(&missing), DATA);
        let queued: anyhow::Error = MailError::Undelivered { sent: 0, waiting: 3 }.into();
        assert_eq!(code(&queued), UNAVAILABLE);
        assert!(is_mail_queued(&queued.context("monthly 2026-10")));
        assert_eq!(code(&anyhow::anyhow!("anything else")), FAILURE);
        assert_eq!(code(&UsageError("--by NAME is required".into()).into()), USAGE);
    }
}
