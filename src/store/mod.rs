//! The results store: migrations, monthly results with their evidence, and the grade history the
//! C-grade flag reads. A month is replaced in one transaction, so a failure keeps the old results.

use crate::domain::money::fmt2;
use crate::domain::monthly::{GradeHistory, MonthResult};
use crate::domain::period::{Month, Quarter};
use crate::domain::presales::QuarterResult;
use crate::domain::renewal::{MonthlyScore, RenewalRow};
use crate::domain::rules::Grade;
use crate::error::{classify_sqlx, redact_url, AppError};
use crate::settings::Secret;
use crate::sources::Dialect;
use anyhow::Context;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::{Connection, Executor, Row};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

pub mod approval;
pub mod ledger;
mod sql;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./sql/migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./sql/migrations/postgres");
static MYSQL: sqlx::migrate::Migrator = sqlx::migrate!("./sql/migrations/mysql");

/// The results store on SQLite, PostgreSQL or MySQL/MariaDB, through one `Any` pool; the SQL that
/// differs between them is rendered per dialect by [`sql`].
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// For the lock connection a run holds besides the pool (PostgreSQL, MySQL).
    url: String,
}

/// Whether a command may create and migrate the store, or only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
}

/// Pool size and how long to wait for a connection, from `[store]` (and `[source]`) in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 4, acquire_timeout: Duration::from_secs(30) }
    }
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

fn join(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v.join(";")
}

fn opt2(d: Option<Decimal>) -> Option<String> {
    d.map(fmt2)
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
) -> Result<(), sqlx::Error> {
    for chunk in items.chunks(per_statement) {
        let text = sql::insert_rows(dialect, table_and_columns, row, chunk.len());
        chunk.iter().fold(sqlx::query(&text), &bind).execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Opens the store the settings name.
    pub async fn open(settings: &crate::settings::Settings) -> anyhow::Result<Self> {
        Self::connect(&settings.store_url, settings.store_pool).await
    }

    /// Opens an existing store for reading only: never creates, migrates or changes it (the
    /// commands that only look: `check-config`, `runs`, `explain`, `mail list`). A store that
    /// does not exist yet is exit 69, saying so.
    pub async fn open_read_only(settings: &crate::settings::Settings) -> anyhow::Result<Self> {
        Self::connect_as(&settings.store_url, settings.store_pool, Access::ReadOnly).await
    }

    /// Opens (creating if needed, for SQLite) the store and brings its schema up to date.
    pub async fn connect(url: &Secret, pool: PoolSettings) -> anyhow::Result<Self> {
        Self::connect_as(url, pool, Access::ReadWrite).await
    }

    async fn connect_as(url: &Secret, pool: PoolSettings, access: Access) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        // `?busy_timeout=SECONDS` (SQLite, default 30): how long to wait for a store another process holds.
        let (raw, busy) = busy_timeout(url.expose());
        let dialect = match raw.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Dialect::Sqlite,
            Some("postgres" | "postgresql") => Dialect::Postgres,
            Some("mysql" | "mariadb") => Dialect::MySql,
            _ => {
                return Err(AppError::Usage(format!(
                    "store {}: use sqlite://, postgres:// or mysql://",
                    redact_url(&raw)
                ))
                .into())
            }
        };
        let unavailable = |e: &dyn std::fmt::Display| {
            anyhow::Error::from(AppError::Unavailable(format!("cannot open store {}: {e}", redact_url(&raw))))
        };
        let url = match dialect {
            Dialect::Sqlite if access == Access::ReadOnly => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&raw)
                    .map_err(|e| AppError::Usage(format!("store URL {}: {e}", redact_url(&raw))))?;
                if !options.get_filename().exists() {
                    return Err(AppError::Unavailable(format!(
                        "there is no results store at {} yet (the first run creates it); nothing was changed",
                        options.get_filename().display()
                    ))
                    .into());
                }
                let base = raw.split('?').next().unwrap_or(&raw);
                format!("{base}?mode=ro")
            }
            Dialect::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&raw)
                    .map_err(|e| AppError::Usage(format!("store URL {}: {e}", redact_url(&raw))))?;
                if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                    crate::report::create_private_dir(dir).map_err(|e| {
                        AppError::Unavailable(format!("cannot create the store folder {}: {e}", dir.display()))
                    })?;
                }
                if raw.contains("mode=") {
                    raw.clone()
                } else {
                    format!("{raw}{}mode=rwc", if raw.contains('?') { '&' } else { '?' })
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
                Ok(Err(e)) => return Err(unavailable(&e)),
                Err(_) => return Err(unavailable(&format!("no answer within {} s", pool.acquire_timeout.as_secs()))),
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
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| unavailable(&e))?;
        if access == Access::ReadOnly {
            let store = Self { pool, dialect, url };
            // A server database the pipeline never wrote to has no tables yet: say so, change nothing.
            let migrated = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&store.pool).await;
            if let Err(e) = migrated {
                store.close().await;
                return Err(AppError::Unavailable(format!(
                    "the results store {} has no tables yet (the first run creates them): {e}",
                    redact_url(&raw)
                ))
                .into());
            }
            return Ok(store);
        }
        if dialect == Dialect::Sqlite {
            // WAL lets readers (explain, check-config) in while a run writes; it is a property of
            // the file, so it is set once rather than on every connection.
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await?;
            if !mode.eq_ignore_ascii_case("wal") {
                sqlx::query("PRAGMA journal_mode = WAL")
                    .fetch_all(&pool)
                    .await
                    .map_err(|e| classify_sqlx(e, "setting the store's journal mode"))?;
            }
        }
        let migrator = match dialect {
            Dialect::Sqlite => &SQLITE,
            Dialect::Postgres => &POSTGRES,
            Dialect::MySql => &MYSQL,
        };
        migrator.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) if crate::error::is_transient(&inner) => {
                anyhow::Error::from(AppError::Unavailable(format!("store {}: {inner}", redact_url(&raw))))
            }
            other => anyhow::anyhow!("migrating the store: {other}"),
        })?;
        if dialect == Dialect::Sqlite {
            // The store holds partners' money: owner and group only.
            if let Ok(options) = sqlx::sqlite::SqliteConnectOptions::from_str(&raw) {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(options.get_filename(), std::fs::Permissions::from_mode(0o640));
            }
        }
        Ok(Self { pool, dialect, url })
    }

    /// A neutral SQL template in this store's dialect.
    fn sql(&self, template: &str) -> String {
        sql::render(self.dialect, template)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Grades of the months before `month` within the C-grade window.
    pub async fn grade_history(&self, month: Month, window_months: u32) -> anyhow::Result<GradeHistory> {
        let first = month.plus(-(window_months as i32 - 1)).to_string();
        let rows = sqlx::query(
            &self.sql("SELECT month, partner_id, grade FROM monthly_partner_results WHERE month >= ? AND month < ?"),
        )
        .bind(&first)
        .bind(month.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the grade history"))?;
        let mut history = GradeHistory::default();
        for r in rows {
            let m: Month = r.get::<String, _>(0).parse().map_err(anyhow::Error::msg)?;
            let grade = r.get::<Option<String>, _>(2).as_deref().and_then(Grade::parse);
            history.grades.entry(r.get(1)).or_default().insert(m, grade);
        }
        let runs = sqlx::query(&self.sql("SELECT month FROM monthly_runs WHERE month >= ? AND month < ?"))
            .bind(&first)
            .bind(month.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "reading the run history"))?;
        for r in runs {
            history.months_run.insert(r.get::<String, _>(0).parse().map_err(anyhow::Error::msg)?);
        }
        Ok(history)
    }

    /// Replaces the month's results, indicators, evidence and data-quality rows in one transaction.
    pub async fn save_month(&self, result: &MonthResult, rules_hash: &str, computed_at: &str) -> anyhow::Result<()> {
        let m = result.month.to_string();
        let d = self.dialect;
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the store write"))?;
        for table in [
            "monthly_evidence",
            "monthly_data_quality",
            "monthly_indicator_results",
            "monthly_partner_results",
            "monthly_runs",
        ] {
            sqlx::query(&self.sql(&format!("DELETE FROM {table} WHERE month = ?"))).bind(&m).execute(&mut *tx).await?;
        }
        let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count() as i64;
        sqlx::query(&sql::insert_rows(
            d,
            "monthly_runs (month, rules_hash, computed_at, partners, on_hold, quarantined, missing_history_months)",
            "?, ?, ?, ?, ?, ?, ?",
            1,
        ))
        .bind(&m)
        .bind(rules_hash)
        .bind(computed_at)
        .bind(result.partners.len() as i64)
        .bind(on_hold)
        .bind(result.data_quality.len() as i64)
        .bind(result.missing_history_months.len() as i64)
        .execute(&mut *tx)
        .await?;
        insert_all(
            &mut tx,
            d,
            "monthly_partner_results (month, partner_id, partner_name, status, effectiveness, credit_deduction, \
             score, grade, fees_total, fees_excluded, settlement, c_grades_window, flags, hold_reasons, \
             departments, rules_hash)",
            "?, ?, ?, ?, {M}, {M}, {M}, ?, {M}, {M}, {M}, ?, ?, ?, ?, ?",
            &result.partners,
            500,
            |q, p| {
                let a = p.assessment.as_ref();
                q.bind(m.clone())
                    .bind(&p.partner_id)
                    .bind(&p.partner_name)
                    .bind(if a.is_some() { "assessed" } else { "on_hold" })
                    .bind(opt2(a.map(|a| a.effectiveness)))
                    .bind(opt2(a.map(|a| a.credit_deduction)))
                    .bind(opt2(a.map(|a| a.score)))
                    .bind(a.map(|a| a.grade.as_str()))
                    .bind(opt2(a.map(|a| a.fees_total)))
                    .bind(opt2(a.map(|a| a.fees_excluded)))
                    .bind(opt2(a.map(|a| a.settlement)))
                    .bind(p.c_grades_window as i64)
                    .bind(join(p.flags.iter().map(|f| f.as_str())))
                    .bind(join(&p.hold_reasons))
                    .bind(join(&p.departments))
                    .bind(rules_hash.to_string())
            },
        )
        .await?;
        insert_all(
            &mut tx,
            d,
            "monthly_indicator_results (month, partner_id, indicator, measured, counted, points, weight)",
            "?, ?, ?, {M}, ?, {M}, {M}",
            &result.indicators,
            1000,
            |q, i| {
                q.bind(m.clone())
                    .bind(&i.partner_id)
                    .bind(&i.indicator)
                    .bind(opt2(i.measured))
                    .bind(i.counted as i64)
                    .bind(fmt2(i.points))
                    .bind(fmt2(i.weight))
            },
        )
        .await?;
        let ts = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        insert_all(
            &mut tx,
            d,
            "monthly_evidence (month, partner_id, indicator, source, row_id, started_at, due_at, finished_at, \
             outcome, value, detail)",
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?",
            &result.evidence,
            2000,
            |q, e| {
                q.bind(m.clone())
                    .bind(&e.partner_id)
                    .bind(&e.indicator)
                    .bind(&e.source)
                    .bind(&e.row_id)
                    .bind(ts(e.started_at))
                    .bind(ts(e.due_at))
                    .bind(ts(e.finished_at))
                    .bind(&e.outcome)
                    .bind(e.value.map(|v| v.normalize().to_string()))
                    .bind(&e.detail)
            },
        )
        .await?;
        insert_all(
            &mut tx,
            d,
            "monthly_data_quality (month, source, row_id, problem)",
            "?, ?, ?, ?",
            &result.data_quality,
            2000,
            |q, dq| q.bind(m.clone()).bind(&dq.source).bind(&dq.row_id).bind(&dq.problem),
        )
        .await?;
        sqlx::query(&sql::insert_ignore(d, "period_states (job, period, state)", "('monthly', ?, 'draft')"))
            .bind(&m)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing the month"))?;
        Ok(())
    }

    /// Stored monthly rows of the months in `[first, last]`.
    pub async fn stored_months(&self, first: Month, last: Month) -> anyhow::Result<Vec<MonthlyScore>> {
        let rows = sqlx::query(&self.sql(
            "SELECT month, partner_id, {m:score}, grade, {m:settlement} FROM monthly_partner_results \
             WHERE month >= ? AND month <= ? ORDER BY month, partner_id",
        ))
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading stored months"))?;
        let dec = |s: Option<String>| s.and_then(|s| Decimal::from_str(&s).ok());
        rows.into_iter()
            .map(|r| {
                Ok(MonthlyScore {
                    month: r.get::<String, _>(0).parse().map_err(anyhow::Error::msg)?,
                    partner_id: r.get(1),
                    score: dec(r.get(2)),
                    grade: r.get::<Option<String>, _>(3).as_deref().and_then(Grade::parse),
                    settlement: dec(r.get(4)),
                })
            })
            .collect()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Presales and renewal state.
impl Store {
    /// Projects settled or listed as not payable in any quarter other than `quarter`.
    pub async fn presales_settled_elsewhere(&self, quarter: Quarter) -> anyhow::Result<HashSet<String>> {
        let rows = sqlx::query(&self.sql(
            "SELECT DISTINCT project_id FROM presales_results WHERE quarter <> ? AND status IN ('settled', 'not_payable')",
        ))
        .bind(quarter.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading presales settlements"))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// Replaces the quarter's presales rows in one transaction.
    pub async fn save_quarter(
        &self,
        result: &QuarterResult,
        rules_hash: &str,
        computed_at: &str,
    ) -> anyhow::Result<()> {
        let q = result.quarter.to_string();
        let d = self.dialect;
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the store write"))?;
        sqlx::query(&self.sql("DELETE FROM presales_results WHERE quarter = ?")).bind(&q).execute(&mut *tx).await?;
        sqlx::query(&self.sql("DELETE FROM quarterly_runs WHERE quarter = ?")).bind(&q).execute(&mut *tx).await?;
        sqlx::query(&sql::insert_rows(d, "quarterly_runs (quarter, rules_hash, computed_at)", "?, ?, ?", 1))
            .bind(&q)
            .bind(rules_hash)
            .bind(computed_at)
            .execute(&mut *tx)
            .await?;
        insert_all(
            &mut tx,
            d,
            "presales_results (quarter, project_id, partner_id, project_name, commissioning_unit, project_class, \
             fee_type, base_fee, coefficient, workload_share, assessment_score, amount, status, reason)",
            "?, ?, ?, ?, ?, ?, ?, {M}, ?, ?, {M}, {M}, ?, ?",
            &result.rows,
            500,
            |b, r| {
                let s = r.share.as_ref();
                b.bind(q.clone())
                    .bind(&r.project_id)
                    .bind(s.map_or("", |s| s.partner_id.as_str()))
                    .bind(&r.project_name)
                    .bind(&r.commissioning_unit)
                    .bind(&r.project_class)
                    .bind(s.map(|s| s.fee_type.clone()))
                    .bind(s.map(|s| fmt2(s.base_fee)))
                    .bind(s.map(|s| s.coefficient.normalize().to_string()))
                    .bind(s.map(|s| s.workload_share.normalize().to_string()))
                    .bind(s.map(|s| fmt2(s.assessment_score)))
                    .bind(s.map(|s| fmt2(s.amount)))
                    .bind(r.status.as_str())
                    .bind(join(&r.reasons))
            },
        )
        .await?;
        sqlx::query(&sql::insert_ignore(d, "period_states (job, period, state)", "('quarterly', ?, 'draft')"))
            .bind(&q)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing the quarter"))?;
        Ok(())
    }

    /// Projects the most recent quarterly run listed as held.
    pub async fn latest_held_projects(&self) -> anyhow::Result<HashSet<String>> {
        let rows = sqlx::query(
            "SELECT project_id FROM presales_results WHERE status = 'held' \
             AND quarter = (SELECT max(quarter) FROM quarterly_runs)",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading held projects"))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// Presales amounts settled in the year's quarters, per partner.
    pub async fn presales_revenue(&self, year: i32) -> anyhow::Result<HashMap<String, Decimal>> {
        let rows = sqlx::query(
            &self
                .sql("SELECT partner_id, {m:amount} FROM presales_results WHERE status = 'settled' AND quarter LIKE ?"),
        )
        .bind(format!("{year:04}-Q%"))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading presales revenue"))?;
        let mut out: HashMap<String, Decimal> = HashMap::new();
        for r in rows {
            let amount: String = r.get(1);
            *out.entry(r.get(0)).or_default() += Decimal::from_str(&amount)?;
        }
        Ok(out)
    }

    /// Contracts whose renewal notice went out, with the day it did.
    pub async fn renewal_notices(&self) -> anyhow::Result<BTreeMap<String, NaiveDate>> {
        let rows = sqlx::query("SELECT contract_id, first_as_of FROM renewal_notices")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "reading renewal notices"))?;
        let mut out = BTreeMap::new();
        for r in rows {
            let day: String = r.get(1);
            out.insert(r.get(0), crate::domain::period::parse_date(&day).context("stored notice day")?);
        }
        Ok(out)
    }

    /// Records the notices of this run; a contract noticed before keeps its first day.
    pub async fn record_renewal_notices(&self, rows: &[RenewalRow], as_of: NaiveDate) -> anyhow::Result<()> {
        let text = sql::insert_ignore(
            self.dialect,
            "renewal_notices (contract_id, partner_id, owner_email, end_date, first_as_of)",
            "(?, ?, ?, ?, ?)",
        );
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the store write"))?;
        for r in rows {
            sqlx::query(&text)
                .bind(&r.contract_id)
                .bind(&r.partner_id)
                .bind(&r.owner_email)
                .bind(r.end_date.to_string())
                .bind(as_of.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing renewal notices"))?;
        Ok(())
    }
}

/// A message of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub job: String,
    pub period: String,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub message_id: String,
    pub eml: Vec<u8>,
}

/// One outbox row as `mail list` shows it.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub job: String,
    pub period: String,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// The outbox.
impl Store {
    /// Records messages before anything is sent. A message already recorded for the same
    /// (job, period, recipient, kind) is kept as it is (sent or queued) unless `resend` asks to
    /// queue it again with the new text.
    pub async fn enqueue(&self, messages: &[OutboxMessage], resend: bool, now: &str) -> anyhow::Result<usize> {
        let columns = "outbox (job, period, recipient, kind, subject, message_id, eml, status, created_at)";
        let values = "(?, ?, ?, ?, ?, ?, ?, 'queued', ?)";
        let insert = if resend {
            sql::insert_rows(self.dialect, columns, &values[1..values.len() - 1], 1)
        } else {
            sql::insert_ignore(self.dialect, columns, values)
        };
        let delete = self.sql("DELETE FROM outbox WHERE job = ? AND period = ? AND recipient = ? AND kind = ?");
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the outbox write"))?;
        let mut added = 0;
        for m in messages {
            if resend {
                sqlx::query(&delete)
                    .bind(&m.job)
                    .bind(&m.period)
                    .bind(&m.recipient)
                    .bind(&m.kind)
                    .execute(&mut *tx)
                    .await?;
            }
            let r = sqlx::query(&insert)
                .bind(&m.job)
                .bind(&m.period)
                .bind(&m.recipient)
                .bind(&m.kind)
                .bind(&m.subject)
                .bind(&m.message_id)
                .bind(&m.eml)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            added += r.rows_affected() as usize;
        }
        if resend {
            // A resend is a person's decision: it goes to the audit trail with who asked.
            let actor =
                std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into());
            for (job, period) in messages.iter().map(|m| (&m.job, &m.period)).collect::<std::collections::BTreeSet<_>>()
            {
                let detail = format!(
                    "{} messages queued again",
                    messages.iter().filter(|m| &m.job == job && &m.period == period).count()
                );
                approval::audit(&mut tx, self.dialect, [now, &actor, "resend", job, period, &detail]).await?;
            }
        }
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing the outbox"))?;
        Ok(added)
    }

    pub async fn queued_messages(&self) -> anyhow::Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(&self.sql(
            "SELECT job, period, recipient, kind, subject, message_id, eml FROM outbox WHERE status = 'queued' \
             ORDER BY created_at, job, period, kind, recipient",
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the outbox"))?;
        Ok(rows
            .into_iter()
            .map(|r| OutboxMessage {
                job: r.get(0),
                period: r.get(1),
                recipient: r.get(2),
                kind: r.get(3),
                subject: sql::text(&r, 4).unwrap_or_default(),
                message_id: r.get(5),
                eml: r.get(6),
            })
            .collect())
    }

    /// The outbox as a table for operators (`mail list`), newest first.
    pub async fn outbox_entries(&self, queued_only: bool, limit: i64) -> anyhow::Result<Vec<OutboxEntry>> {
        let filter = if queued_only { "WHERE status = 'queued' " } else { "" };
        let rows = sqlx::query(&self.sql(&format!(
            "SELECT job, period, recipient, kind, subject, status, created_at, sent_at, attempts, last_error \
             FROM outbox {filter}ORDER BY created_at DESC, job, period, kind, recipient LIMIT ?"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the outbox"))?;
        rows.iter()
            .map(|r| {
                Ok(OutboxEntry {
                    job: r.try_get(0)?,
                    period: r.try_get(1)?,
                    recipient: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    subject: sql::text(r, 4).unwrap_or_default(),
                    status: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    sent_at: r.try_get(7)?,
                    attempts: r.try_get(8)?,
                    last_error: sql::text(r, 9),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| classify_sqlx(e, "reading the outbox"))
    }

    pub async fn mark_sent(&self, m: &OutboxMessage, at: &str, transport: &str) -> anyhow::Result<()> {
        sqlx::query(&self.sql(
            "UPDATE outbox SET status = 'sent', sent_at = ?, transport = ?, attempts = attempts + 1, last_error = NULL \
             WHERE job = ? AND period = ? AND recipient = ? AND kind = ?",
        ))
        .bind(at)
        .bind(transport)
        .bind(&m.job)
        .bind(&m.period)
        .bind(&m.recipient)
        .bind(&m.kind)
        .execute(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "marking a message sent"))?;
        Ok(())
    }

    pub async fn mark_failed(&self, m: &OutboxMessage, error: &str) -> anyhow::Result<()> {
        sqlx::query(&self.sql(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? \
             WHERE job = ? AND period = ? AND recipient = ? AND kind = ?",
        ))
        .bind(error)
        .bind(&m.job)
        .bind(&m.period)
        .bind(&m.recipient)
        .bind(&m.kind)
        .execute(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "recording a failed delivery"))?;
        Ok(())
    }
}

/// A stored partner result with its indicators and evidence, for `explain` and the scorecards.
#[derive(Debug, Clone, Default)]
pub struct StoredExplanation {
    /// (name, status, effectiveness, credit_deduction, score, grade, fees_total, fees_excluded, settlement, flags, hold_reasons, rules_hash)
    pub result: Vec<Option<String>>,
    /// (indicator, measured, counted, points, weight)
    pub indicators: Vec<(String, Option<String>, i64, String, String)>,
    pub evidence: Vec<crate::domain::monthly::Evidence>,
}

impl Store {
    /// Everything stored about one partner's month; `None` when it was not assessed then.
    pub async fn explanation(&self, month: Month, partner: &str) -> anyhow::Result<Option<StoredExplanation>> {
        let m = month.to_string();
        let Some(row) = sqlx::query(&self.sql(
            "SELECT partner_name, status, {m:effectiveness}, {m:credit_deduction}, {m:score}, grade, {m:fees_total}, \
             {m:fees_excluded}, {m:settlement}, flags, hold_reasons, rules_hash FROM monthly_partner_results \
             WHERE month = ? AND partner_id = ?",
        ))
        .bind(&m)
        .bind(partner)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let result = (0..12).map(|i| sql::text(&row, i)).collect();
        let indicators = sqlx::query(&self.sql(
            "SELECT indicator, {m:measured}, counted, {m:points}, {m:weight} FROM monthly_indicator_results \
             WHERE month = ? AND partner_id = ? ORDER BY {seq}",
        ))
        .bind(&m)
        .bind(partner)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
        let ts = |s: Option<String>| s.and_then(|s| crate::domain::period::parse_timestamp(&s));
        let mut evidence: Vec<crate::domain::monthly::Evidence> = sqlx::query(&self.sql(
            "SELECT indicator, source, row_id, started_at, due_at, finished_at, outcome, value, detail \
             FROM monthly_evidence WHERE month = ? AND partner_id = ?",
        ))
        .bind(&m)
        .bind(partner)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| crate::domain::monthly::Evidence {
            partner_id: partner.to_string(),
            indicator: r.get(0),
            source: r.get(1),
            row_id: r.get(2),
            started_at: ts(r.get(3)),
            due_at: ts(r.get(4)),
            finished_at: ts(r.get(5)),
            outcome: r.get(6),
            value: r.get::<Option<String>, _>(7).and_then(|v| Decimal::from_str(&v).ok()),
            detail: sql::text(&r, 8).unwrap_or_default(),
        })
        .collect();
        // Sorted here rather than in SQL: the backends disagree on where NULLs go.
        evidence.sort_by(|a, b| (&a.indicator, a.started_at, &a.row_id).cmp(&(&b.indicator, b.started_at, &b.row_id)));
        Ok(Some(StoredExplanation { result, indicators, evidence }))
    }

    /// Partners of a stored month with their settlement (for the finance export and scorecards).
    pub async fn month_partners(&self, month: Month) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
        let rows = sqlx::query(&self.sql(
            "SELECT partner_id, partner_name, {m:settlement} FROM monthly_partner_results WHERE month = ? \
             ORDER BY partner_id",
        ))
        .bind(month.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }
}

/// Rules versions.
impl Store {
    /// Keeps the text of the rules a result is computed with (once per hash).
    pub async fn record_rules(&self, rules: &crate::domain::rules::Rules, at: &str) -> anyhow::Result<()> {
        sqlx::query(&sql::insert_ignore(
            self.dialect,
            "rules_versions (hash, effective_from, text, first_used_at)",
            "(?, ?, ?, ?)",
        ))
        .bind(&rules.hash)
        .bind(rules.effective_from.map(|m| m.to_string()))
        .bind(&rules.text)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "recording the rules"))?;
        Ok(())
    }

    /// Stored rules versions: (hash, effective_from, text).
    pub async fn rules_versions(&self) -> anyhow::Result<Vec<(String, Option<Month>, String)>> {
        let rows = sqlx::query(
            &self.sql("SELECT hash, effective_from, text FROM rules_versions ORDER BY first_used_at, hash"),
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading rules versions"))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get::<Option<String>, _>(1).and_then(|m| m.parse().ok()),
                    sql::text(&r, 2).unwrap_or_default(),
                )
            })
            .collect())
    }

    /// The rules hash a stored month was computed with.
    pub async fn month_rules_hash(&self, month: Month) -> anyhow::Result<Option<String>> {
        sqlx::query_scalar(&self.sql("SELECT rules_hash FROM monthly_runs WHERE month = ?"))
            .bind(month.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "reading the month's rules"))
    }
}

impl Store {
    /// Settled presales shares of a quarter: (project, partner, commissioning unit, amount).
    pub async fn quarter_settlements(&self, quarter: Quarter) -> anyhow::Result<Vec<(String, String, String, String)>> {
        let rows = sqlx::query(&self.sql(
            "SELECT project_id, partner_id, commissioning_unit, {m:amount} FROM presales_results \
             WHERE quarter = ? AND status = 'settled' ORDER BY project_id, partner_id",
        ))
        .bind(quarter.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the quarter's settlements"))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }
}
