//! What the operations databases and the results store share: the three SQL dialects, pool
//! settings, connecting (with a fast failure on a refused server), and the classification of
//! database errors into what a caller can act on (retry, fix the source, or give up).

use std::time::Duration;

/// The SQL dialect of a database URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

impl Dialect {
    /// The dialect a URL's scheme names (`sqlite:`, `postgres:`/`postgresql:`, `mysql:`/`mariadb:`).
    pub(crate) fn of_url(url: &str) -> Option<Self> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Some(Dialect::Sqlite),
            Some("postgres" | "postgresql") => Some(Dialect::Postgres),
            Some("mysql" | "mariadb") => Some(Dialect::MySql),
            _ => None,
        }
    }
}

/// Pool size and how long to wait for a connection (`[store]`, `[source]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolSettings {
    pub(crate) max_connections: u32,
    pub(crate) acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 4, acquire_timeout: Duration::from_secs(30) }
    }
}

/// A database failure, by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// The server could not be reached, went away, is busy or locked by someone else: retrying
    /// later may work, and nothing partial was committed.
    #[error("{what}: the database could not be reached")]
    Unavailable {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A table or column the query needs does not exist.
    #[error("{what}: a table or column is missing")]
    Missing {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The URL itself is wrong.
    #[error("{what}: the database URL {url} is not usable")]
    BadUrl {
        what: String,
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Anything else the database said.
    #[error("{what}")]
    Other {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A plain message as an error source (a timeout, a missing file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Reason(pub(crate) String);

impl DbError {
    pub(crate) fn unavailable(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DbError::Unavailable { what: what.into(), source: Box::new(Reason(reason.into())) }
    }
}

/// Connection trouble, a terminated session, or a database locked by someone else: retryable.
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Protocol(_) => true,
        sqlx::Error::WorkerCrashed | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            // SQLSTATE 08 (connection exception) and 57 (operator intervention: a terminated
            // backend, a server shutting down); SQLite 5 (busy) and 517 (busy snapshot).
            let code = db.code().unwrap_or_default();
            code.starts_with("08")
                || code.starts_with("57")
                || code == "5"
                || code == "517"
                || db.message().contains("database is locked")
                || db.message().contains("unable to open")
        }
        _ => false,
    }
}

/// Classifies a sqlx error: connection trouble is retryable, a missing table or column is the
/// source's (or the mapping's) to fix, anything else stays as it is.
pub(crate) fn classify(error: sqlx::Error, what: impl Into<String>) -> DbError {
    let what = what.into();
    if is_transient(&error) {
        return DbError::Unavailable { what, source: Box::new(error) };
    }
    let missing = match &error {
        sqlx::Error::ColumnNotFound(_) => true,
        sqlx::Error::Database(db) => {
            // PostgreSQL 42P01/42703 (undefined table/column), MySQL 1146/1054; SQLite has no
            // code of its own for it, only its message.
            let code = db.code().unwrap_or_default();
            let message = db.message().to_ascii_lowercase();
            matches!(code.as_ref(), "42P01" | "42703" | "42S02" | "42S22" | "1146" | "1054")
                || message.contains("no such table")
                || message.contains("no such column")
        }
        _ => false,
    };
    if missing {
        DbError::Missing { what, source: Box::new(error) }
    } else {
        DbError::Other { what, source: Box::new(error) }
    }
}

/// Classifies an error of the SQLite source (read through rusqlite) the same way.
pub(crate) fn classify_sqlite(error: rusqlite::Error, what: impl Into<String>) -> DbError {
    use rusqlite::ErrorCode;
    let what = what.into();
    let (code, message) = match &error {
        rusqlite::Error::SqliteFailure(e, message) => (Some(e.code), message.clone().unwrap_or_default()),
        _ => (None, String::new()),
    };
    match code {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::PermissionDenied,
        ) => DbError::Unavailable { what, source: Box::new(error) },
        _ if message.contains("no such table") || message.contains("no such column") => {
            DbError::Missing { what, source: Box::new(error) }
        }
        _ => DbError::Other { what, source: Box::new(error) },
    }
}

/// Replaces the password of a `scheme://user:password@host/…` URL so it can be logged.
pub(crate) fn redact_url(url: &str) -> String {
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

/// One direct connection before a pool is built, so that a refused or silent server fails now
/// (exit 69) instead of after the pool's retries.
pub(crate) async fn probe<C: sqlx::Connection>(
    options: &C::Options,
    url: &str,
    timeout: Duration,
) -> Result<(), DbError> {
    let what = format!("connecting to {}", redact_url(url));
    match tokio::time::timeout(timeout, C::connect_with(options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(DbError::Unavailable { what, source: Box::new(e) }),
        Err(_) => Err(DbError::unavailable(what, format!("no answer within {} s", timeout.as_secs()))),
    }
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
    fn dialects_come_from_the_scheme() {
        assert_eq!(Dialect::of_url("sqlite://x"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::of_url("postgresql://h/d"), Some(Dialect::Postgres));
        assert_eq!(Dialect::of_url("mariadb://h/d"), Some(Dialect::MySql));
        assert_eq!(Dialect::of_url("oracle://h/d"), None);
    }
}
