//! The results store on SQLite, PostgreSQL or MySQL/MariaDB, through one `Any` pool; the SQL that
//! differs between them is rendered per dialect by [`sql`]. Opened once per command: read-write
//! (created and migrated) where the command writes, read only where it only looks.
//!
//! One file per concern: monthly results, presales and renewal state, the outbox, rules versions,
//! the run ledger, and approval with its audit trail. Each reads its rows into row types of its
//! own, and a value that does not read (a NULL or a type drift in a store edited by hand) is a
//! named error, never a panic.

pub(crate) mod annual;
pub(crate) mod approval;
mod audit;
pub(crate) mod disputes;
mod evidence;
pub(crate) mod ledger;
pub(crate) mod monthly;
pub(crate) mod outbox;
pub(crate) mod presales;
pub(crate) mod records;
pub(crate) mod rules_versions;
mod sql;
pub(crate) mod units;

use crate::db::{self, redact_url, DbError, Dialect, PoolSettings};
use rust_decimal::Decimal;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Executor, Row};
use std::str::FromStr;
use std::time::Duration;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./sql/migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./sql/migrations/postgres");
static MYSQL: sqlx::migrate::Migrator = sqlx::migrate!("./sql/migrations/mysql");

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// A command that only looks found no store (the first run creates it): nothing was changed.
    #[error("there is no results store at {0} yet (the first run creates it); nothing was changed")]
    NoStore(String),
    /// A stored value does not read as its type: a NULL where there should be none, or a column
    /// whose type drifted (a store edited or migrated by hand).
    #[error("the results store holds an unreadable value in {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The schema could not be brought up to date.
    #[error("migrating the results store")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// An act the period's state does not allow (approve a draft only, reopen an approved one…).
    #[error(transparent)]
    State(#[from] crate::domain::refusal::StateError),
    /// Another process holds the job period.
    #[error(transparent)]
    Held(#[from] Box<ledger::Held>),
    /// This run's claim on its period was taken over (its lease ran out): nothing it computed
    /// may be committed.
    #[error("run {run_id} lost its claim on its period (its lease ran out and another run took it over); nothing was committed")]
    LostClaim { run_id: String },
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// The results store.
pub(crate) struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// For the lock connection a run holds besides the pool (PostgreSQL, MySQL).
    url: String,
}

/// Whether a command may create and migrate the store, or only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    ReadWrite,
    ReadOnly,
}

/// Splits `busy_timeout=N` off a store URL's query.
fn busy_timeout(url: &str) -> (String, Duration) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), Duration::from_secs(30)) };
    let mut seconds = 30;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("busy_timeout=") {
            Some(v) => {
                seconds = v.parse().unwrap_or(30);
                false
            }
            None => true,
        })
        .collect();
    let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
    (url, Duration::from_secs(seconds))
}

/// A `;`-joined sorted list, as the store keeps flags and reasons.
fn join(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v.join(";")
}

/// The items of a stored `;`-joined list (an empty or NULL field is none).
fn split(field: Option<String>) -> std::collections::BTreeSet<String> {
    field.iter().flat_map(|f| f.split(';')).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn opt2(d: Option<Decimal>) -> Option<String> {
    d.map(crate::domain::money::fmt2)
}

/// Column `i` of a row, or the named error saying where the value did not read.
fn get<'r, T>(row: &'r AnyRow, i: usize, what: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(i).map_err(|e| StoreError::Corrupt { what: format!("{what} (column {i})"), source: Box::new(e) })
}

/// A text column that may be NULL (MySQL reports TEXT columns to the `Any` driver as blobs).
fn text(row: &AnyRow, i: usize, what: &str) -> Result<Option<String>> {
    sql::text(row, i).map_err(|e| StoreError::Corrupt { what: format!("{what} (column {i})"), source: Box::new(e) })
}

/// A text column that must not be NULL.
fn text_req(row: &AnyRow, i: usize, what: &str) -> Result<String> {
    text(row, i, what)?.ok_or_else(|| StoreError::Corrupt {
        what: format!("{what} (column {i})"),
        source: Box::new(db::Reason("NULL where a value is required".into())),
    })
}

/// An exact decimal stored as text (money is read back through `{m:col}` as text).
fn decimal(row: &AnyRow, i: usize, what: &str) -> Result<Option<Decimal>> {
    text(row, i, what)?
        .map(|s| {
            Decimal::from_str(&s)
                .map_err(|e| StoreError::Corrupt { what: format!("{what} (column {i}: {s:?})"), source: Box::new(e) })
        })
        .transpose()
}

/// A value parsed from stored text (a month, a date, a grade).
fn parsed<T, E: std::fmt::Display>(
    value: &str,
    what: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<T> {
    parse(value).map_err(|e| StoreError::Corrupt {
        what: format!("{what} ({value:?})"),
        source: Box::new(db::Reason(e.to_string())),
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Inserts `items` in multi-row statements of at most `per_statement` rows (few round trips, and
/// within every backend's limit on parameters): `row` is one row's neutral template, `bind` binds
/// one item's values in its order.
async fn insert_all<T>(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    table_and_columns: &str,
    row: &str,
    items: &[T],
    per_statement: usize,
    bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
) -> std::result::Result<(), sqlx::Error> {
    for chunk in items.chunks(per_statement) {
        let text = sql::insert_rows(dialect, table_and_columns, row, chunk.len());
        chunk.iter().fold(sqlx::query(&text), &bind).execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Opens the store at `url`; with `Access::ReadWrite` a SQLite store is created if needed and
    /// every store's schema brought up to date; with `Access::ReadOnly` nothing is created or
    /// changed, and a store that does not exist yet is an error that says so (exit 69).
    pub(crate) async fn open(url: &str, pool: PoolSettings, access: Access) -> Result<Self> {
        sqlx::any::install_default_drivers();
        // `?busy_timeout=SECONDS` (SQLite, default 30): how long to wait for a store another process holds.
        let (raw, busy) = busy_timeout(url);
        let shown = redact_url(&raw);
        let what = format!("cannot open store {shown}");
        let bad_url = |e: sqlx::Error| DbError::BadUrl {
            what: "opening the results store".into(),
            url: shown.clone(),
            source: Box::new(e),
        };
        let Some(dialect) = Dialect::of_url(&raw) else {
            return Err(DbError::BadUrl {
                what: "opening the results store".into(),
                url: shown.clone(),
                source: Box::new(db::Reason("use sqlite://, postgres:// or mysql://".into())),
            }
            .into());
        };
        let url = match dialect {
            Dialect::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&raw).map_err(bad_url)?;
                let file = options.get_filename();
                if access == Access::ReadOnly {
                    if !file.exists() {
                        return Err(StoreError::NoStore(file.display().to_string()));
                    }
                    format!("{}?mode=ro", raw.split('?').next().unwrap_or(&raw))
                } else {
                    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                        crate::files::create_private_dir(dir).map_err(|e| DbError::Unavailable {
                            what: format!("cannot create the store folder {}", dir.display()),
                            source: Box::new(e),
                        })?;
                    }
                    if raw.contains("mode=") {
                        raw.clone()
                    } else {
                        format!("{raw}{}mode=rwc", if raw.contains('?') { '&' } else { '?' })
                    }
                }
            }
            Dialect::Postgres => raw.clone(),
            Dialect::MySql => raw.replacen("mariadb:", "mysql:", 1),
        };
        if dialect != Dialect::Sqlite {
            // One direct connection first: a refused connection fails now, not after the pool's retries.
            match tokio::time::timeout(pool.acquire_timeout, sqlx::AnyConnection::connect(&url)).await {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                }
                Ok(Err(e)) => return Err(DbError::Unavailable { what, source: Box::new(e) }.into()),
                Err(_) => {
                    return Err(DbError::unavailable(
                        what,
                        format!("no answer within {} s", pool.acquire_timeout.as_secs()),
                    )
                    .into())
                }
            }
        }
        let busy_ms = busy.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str()).await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // A national month commits over a hundred megabytes at once; without a
                        // limit the write-ahead log keeps that size on disk after its checkpoint.
                        conn.execute("PRAGMA journal_size_limit = 67108864").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| DbError::Unavailable { what: what.clone(), source: Box::new(e) })?;
        let store = Self { pool, dialect, url };
        if access == Access::ReadOnly {
            // A server database the pipeline never wrote to has no tables yet: say so, change nothing.
            let migrated = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&store.pool).await;
            if let Err(e) = migrated {
                store.close().await;
                return Err(DbError::unavailable(
                    what,
                    format!("the results store has no tables yet (the first run creates them): {e}"),
                )
                .into());
            }
            return Ok(store);
        }
        if let Err(e) = store.prepare(&raw).await {
            store.close().await;
            return Err(e);
        }
        Ok(store)
    }

    /// An empty store in memory, with the current schema: what a preview or a dry run reads when
    /// no store exists yet (no history, nothing approved), without creating one.
    pub(crate) async fn empty() -> Result<Self> {
        Self::open("sqlite::memory:", PoolSettings { max_connections: 1, ..PoolSettings::default() }, Access::ReadWrite)
            .await
    }

    /// WAL for a SQLite file, then the migrations; the store file private to owner and group.
    async fn prepare(&self, raw: &str) -> Result<()> {
        if self.dialect == Dialect::Sqlite && !raw.contains(":memory:") {
            // WAL lets readers (explain, check-config) in while a run writes; it is a property of
            // the file, so it is set once rather than on every connection.
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| db::classify(e, "reading the store's journal mode"))?;
            if !mode.eq_ignore_ascii_case("wal") {
                sqlx::query("PRAGMA journal_mode = WAL")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| db::classify(e, "setting the store's journal mode"))?;
            }
        }
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE,
            Dialect::Postgres => &POSTGRES,
            Dialect::MySql => &MYSQL,
        };
        migrator.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) if db::is_transient(&inner) => {
                StoreError::Db(db::classify(inner, format!("migrating the store {}", redact_url(raw))))
            }
            other => StoreError::Migrate(other),
        })?;
        // A store written before the evidence became frames gets its old rows moved now.
        self.convert_row_evidence().await?;
        // A store that approved whole periods gets each period's decision onto its units.
        self.convert_period_approvals().await?;
        if self.dialect == Dialect::Sqlite {
            // The store holds partners' money: owner and group only.
            if let Ok(options) = sqlx::sqlite::SqliteConnectOptions::from_str(raw) {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(options.get_filename(), std::fs::Permissions::from_mode(0o640));
            }
        }
        Ok(())
    }

    /// A neutral SQL template in this store's dialect.
    fn sql(&self, template: &str) -> String {
        sql::render(self.dialect, template)
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) async fn close(self) {
        self.pool.close().await;
    }

    /// Starts a write transaction.
    async fn begin(&self, what: &str) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(self.pool.begin().await.map_err(|e| db::classify(e, what))?)
    }
}

/// Commits a transaction, classifying the failure.
async fn commit(tx: sqlx::Transaction<'static, sqlx::Any>, what: &str) -> Result<()> {
    Ok(tx.commit().await.map_err(|e| db::classify(e, what))?)
}

/// Maps a failed statement to the store's error.
fn failed(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Db(db::classify(e, what))
}
