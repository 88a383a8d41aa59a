//! Errors callers branch on, and the exit codes they map to (interface.md: exit codes are API).

use thiserror::Error;

/// The failures the binary turns into documented exit codes.
#[derive(Debug, Error)]
pub enum AppError {
    /// Bad usage, e.g. a period that is not over without `--preview` (exit 64).
    #[error("{0}")]
    Usage(String),
    /// Invalid configuration, rules or calendar: every problem listed (exit 78).
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Config(Vec<String>),
    /// A database or mail server could not be reached (exit 69, safe to retry).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The source data as a whole is unusable: a missing table or column (exit 65).
    #[error("source data unusable: {0}")]
    SourceUnusable(String),
    /// Another process is computing the same job period: nothing was done (exit 69, retry later).
    #[error("{0}")]
    Held(String),
    /// The results are stored and written, but messages stay queued for the next run (exit 69).
    #[error("{0}")]
    MailQueued(String),
}

impl AppError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Usage(_) => 64,
            AppError::Config(_) => 78,
            AppError::Unavailable(_) | AppError::Held(_) | AppError::MailQueued(_) => 69,
            AppError::SourceUnusable(_) => 65,
        }
    }
}

/// The exit code for any error chain: the first `AppError` found decides; a database error that
/// means "the server went away or is busy" anywhere in the chain is 69; anything else is 1.
pub fn exit_code_of(error: &anyhow::Error) -> i32 {
    if let Some(app) = error.chain().find_map(|e| e.downcast_ref::<AppError>()) {
        return app.exit_code();
    }
    if error.chain().filter_map(|e| e.downcast_ref::<sqlx::Error>()).any(is_transient) {
        return 69;
    }
    1
}

/// Connection trouble, a terminated session, or a database locked by someone else: retryable.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Protocol(_) => true,
        sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            code.starts_with("08")
                || code.starts_with("57")
                || code == "5"
                || code == "517"
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Classifies a sqlx error: connection trouble is retryable (69), a missing table or column makes
/// the source unusable (65), anything else stays a plain error.
pub fn classify_sqlx(error: sqlx::Error, what: &str) -> anyhow::Error {
    match &error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            AppError::Unavailable(format!("{what}: {error}")).into()
        }
        // SQLSTATE 08 (connection exception) and 57 (operator intervention: a terminated backend,
        // a server shutting down) are the server going away: retryable.
        sqlx::Error::Database(db) if is_transient(&error) => {
            AppError::Unavailable(format!("{what}: {}", db.message())).into()
        }
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => {
            AppError::Unavailable(format!("{what}: {error}")).into()
        }
        sqlx::Error::Database(db) => {
            let message = db.message().to_ascii_lowercase();
            let missing = message.contains("no such table")
                || message.contains("no such column")
                || message.contains("does not exist")
                || message.contains("unknown column")
                || message.contains("doesn't exist");
            if missing {
                AppError::SourceUnusable(format!("{what}: {}", db.message())).into()
            } else if message.contains("unable to open") {
                AppError::Unavailable(format!("{what}: {}", db.message())).into()
            } else {
                anyhow::Error::new(error).context(what.to_string())
            }
        }
        _ => anyhow::Error::new(error).context(what.to_string()),
    }
}

/// Replaces the password of a `scheme://user:password@host/…` URL so it can be logged.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let redacted = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}://{redacted}");
    if let Some(p) = path {
        out.push('/');
        // Query parameters may carry a password too (e.g. `?password=`).
        out.push_str(&redact_query(p));
    }
    out
}

fn redact_query(path: &str) -> String {
    let Some((before, query)) = path.split_once('?') else { return path.to_string() };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.to_ascii_lowercase().contains("pass") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{before}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/ops"), "postgres://app:***@db:5432/ops");
        assert_eq!(redact_url("smtp://u:p%40ss@mail?tls=required"), "smtp://u:***@mail?tls=required");
        assert_eq!(redact_url("mysql://h/db?user=a&password=x"), "mysql://h/db?user=a&password=***");
        assert_eq!(redact_url("sqlite://data/ops.sqlite"), "sqlite://data/ops.sqlite");
    }

    #[test]
    fn config_error_lists_every_problem() {
        let e = AppError::Config(vec!["one".into(), "two".into()]);
        let text = e.to_string();
        assert!(text.contains("- one") && text.contains("- two"));
        assert_eq!(e.exit_code(), 78);
    }
}
