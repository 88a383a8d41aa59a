//! The run ledger and the per-period lock: every attempt at a job period is a row (running,
//! succeeded, failed, aborted; a success replaced by a later one is superseded), and no two
//! processes compute the same period at once. PostgreSQL holds a session advisory lock and MySQL a
//! `GET_LOCK` on a connection of their own for the whole run, so a crashed process loses its lock
//! with its connection; SQLite has no such locks, so there the running row is the lock, with a lease
//! the run keeps extending and the next claimant takes over once it has run out.

use super::{failed, get, parsed, sql, text, text_req, Result, Store, StoreError};
use crate::db::{self, Dialect};
use crate::domain::job::JobKind;
use crate::system::System;
use sqlx::Connection;
use std::time::Duration;

/// What a ledger row is an attempt at: a job period, or the settlement of a published one with
/// finance (rules.md §11), which `run due` claims like any step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LedgerJob {
    Job(JobKind),
    Settlement(JobKind),
}

impl LedgerJob {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LedgerJob::Job(kind) => kind.as_str(),
            LedgerJob::Settlement(JobKind::Monthly) => "settle-monthly",
            LedgerJob::Settlement(JobKind::Quarterly) => "settle-quarterly",
            LedgerJob::Settlement(JobKind::Renewal) => "settle-renewal",
            LedgerJob::Settlement(JobKind::Annual) => "settle-annual",
        }
    }
}

impl From<JobKind> for LedgerJob {
    fn from(kind: JobKind) -> Self {
        LedgerJob::Job(kind)
    }
}

impl std::fmt::Display for LedgerJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who holds a job period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) run_id: String,
    pub(crate) host: String,
    pub(crate) pid: i64,
    pub(crate) started_at: String,
    pub(crate) started_by: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {} on {} (pid {}, started by {} at {} UTC)",
            self.run_id, self.host, self.pid, self.started_by, self.started_at
        )
    }
}

/// A job period another process is computing: nothing was done (exit 69, retry later).
#[derive(Debug, thiserror::Error)]
#[error("{job} {period} is being computed by {}; nothing was done", .holder.as_ref().map_or_else(|| "another process".to_string(), |h| h.to_string()))]
pub(crate) struct Held {
    pub(crate) job: LedgerJob,
    pub(crate) period: String,
    pub(crate) holder: Option<Holder>,
}

/// A granted claim on a job period: the ledger row, the lock connection (servers) and the
/// heartbeat that keeps the lease. Dropping it stops the heartbeat and closes the lock connection.
pub(crate) struct Claim {
    pub(crate) run_id: String,
    pub(crate) attempt: i64,
    job: LedgerJob,
    period: String,
    lock: Option<sqlx::AnyConnection>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// Where an attempt stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// Abandoned (killed, crashed, stopped after the grace period): written by whoever finds it.
    Aborted,
    /// A success replaced by a later one.
    Superseded,
}

impl RunStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
            RunStatus::Superseded => "superseded",
        }
    }
    fn parse(s: &str) -> std::result::Result<Self, String> {
        [RunStatus::Running, RunStatus::Succeeded, RunStatus::Failed, RunStatus::Aborted, RunStatus::Superseded]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("not a run status: {s:?}"))
    }
}

/// How a run ended, for its ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Failed,
}

impl Outcome {
    fn status(self) -> RunStatus {
        match self {
            Outcome::Succeeded => RunStatus::Succeeded,
            Outcome::Failed => RunStatus::Failed,
        }
    }
}

/// Who started a run: a person, `run due` (cron, a systemd timer) or the `serve` daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum StartedBy {
    #[default]
    Manual,
    Due,
    Serve,
}

impl StartedBy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StartedBy::Manual => "manual",
            StartedBy::Due => "due",
            StartedBy::Serve => "serve",
        }
    }
}

/// UTC wall-clock time in the ledger's text form.
fn utc(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The advisory-lock key of a job period (PostgreSQL locks are per database already).
fn lock_key(job: LedgerJob, period: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("ict-partners/{job}/{period}"));
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

const ABANDONED: &str = "the process running it ended without finishing (killed or crashed); nothing of it was kept";

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Store {
    /// Claims a job period for this process, or says who holds it (`StoreError::Held`).
    pub(crate) async fn claim(
        &self,
        job: impl Into<LedgerJob>,
        period: &str,
        started_by: StartedBy,
        lease: Duration,
        system: &System,
    ) -> Result<Claim> {
        let job: LedgerJob = job.into();
        let held = |holder| StoreError::Held(Box::new(Held { job, period: period.into(), holder }));
        let lock = match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres | Dialect::MySql => {
                let mut conn = sqlx::AnyConnection::connect(&self.url)
                    .await
                    .map_err(|e| db::classify(e, "opening the lock connection"))?;
                let granted = if self.dialect == Dialect::Postgres {
                    sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                        .bind(lock_key(job, period))
                        .fetch_one(&mut conn)
                        .await
                } else {
                    // GET_LOCK names are server-wide: the database name keeps deployments apart.
                    sqlx::query_scalar::<_, Option<i64>>("SELECT GET_LOCK(CONCAT(DATABASE(), ':', ?), 0)")
                        .bind(format!("{job}:{period}"))
                        .fetch_one(&mut conn)
                        .await
                        .map(|v| v == Some(1))
                }
                .map_err(|e| db::classify(e, "taking the period lock"))?;
                if !granted {
                    let _ = conn.close().await;
                    return Err(held(self.holder(job, period).await.ok().flatten()));
                }
                Some(conn)
            }
        };
        if self.dialect == Dialect::Sqlite {
            // A run of this machine whose process is gone need not wait for its lease to run out.
            let dead =
                self.holder(job, period).await?.filter(|h| h.host == system.host() && !system.process_alive(h.pid));
            if let Some(h) = dead {
                sqlx::query(&self.sql(
                    "UPDATE run_ledger SET status = 'aborted', finished_at = ?, lease_until = NULL, error = ? \
                     WHERE run_id = ? AND status = 'running'",
                ))
                .bind(utc(system.utc_now()))
                .bind(ABANDONED)
                .bind(&h.run_id)
                .execute(&self.pool)
                .await
                .map_err(failed("recording an abandoned run"))?;
            }
        }
        let now = system.utc_now();
        let lease_until = utc(now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60)));
        let run_id = format!("{job}-{period}-{}-{:08x}", now.format("%Y%m%dT%H%M%S"), system.random_u32());
        let attempt = match self.insert_running(job, period, started_by, &run_id, &utc(now), &lease_until, system).await
        {
            Ok(attempt) => attempt,
            Err(e) if is_unique_violation(&e) => return Err(held(self.holder(job, period).await.ok().flatten())),
            Err(e) => return Err(db::classify(e, "starting the run in the ledger").into()),
        };
        let heartbeat = {
            let (pool, text, run_id, system) = (
                self.pool.clone(),
                self.sql("UPDATE run_ledger SET lease_until = ? WHERE run_id = ? AND status = 'running'"),
                run_id.clone(),
                system.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    let until = utc(system.utc_now() + chrono::Duration::from_std(lease).unwrap_or_default());
                    if let Err(e) = sqlx::query(&text).bind(until).bind(&run_id).execute(&pool).await {
                        tracing::warn!(error = %e, "could not extend the run's lease");
                    }
                }
            })
        };
        Ok(Claim { run_id, attempt, job, period: period.into(), lock, heartbeat })
    }

    /// Marks rows left running by dead processes aborted and adds this run's running row, in one
    /// transaction. Returns the attempt number.
    #[allow(clippy::too_many_arguments)]
    async fn insert_running(
        &self,
        job: LedgerJob,
        period: &str,
        started_by: StartedBy,
        run_id: &str,
        now: &str,
        lease_until: &str,
        system: &System,
    ) -> std::result::Result<i64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // On a server the lock we hold proves the process of any running row is gone; on SQLite
        // only an expired lease does.
        let stale = match self.dialect {
            Dialect::Sqlite => {
                "UPDATE run_ledger SET status = 'aborted', finished_at = ?, lease_until = NULL, error = ? \
                 WHERE job = ? AND period = ? AND status = 'running' AND lease_until < ?"
            }
            _ => {
                "UPDATE run_ledger SET status = 'aborted', finished_at = ?, lease_until = NULL, error = ? \
                 WHERE job = ? AND period = ? AND status = 'running'"
            }
        };
        let stale = self.sql(stale);
        let mut q = sqlx::query(&stale).bind(now).bind(ABANDONED).bind(job.as_str()).bind(period);
        if self.dialect == Dialect::Sqlite {
            q = q.bind(now);
        }
        q.execute(&mut *tx).await?;
        let attempt: i64 = sqlx::query_scalar(
            &self.sql("SELECT COALESCE(MAX(attempt), 0) + 1 FROM run_ledger WHERE job = ? AND period = ?"),
        )
        .bind(job.as_str())
        .bind(period)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(&sql::insert_rows(
            self.dialect,
            "run_ledger (run_id, job, period, attempt, status, started_by, started_at, lease_until, host, pid)",
            "?, ?, ?, ?, 'running', ?, ?, ?, ?, ?",
            1,
        ))
        .bind(run_id)
        .bind(job.as_str())
        .bind(period)
        .bind(attempt)
        .bind(started_by.as_str())
        .bind(now)
        .bind(lease_until)
        .bind(system.host())
        .bind(i64::from(system.pid()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(attempt)
    }

    /// Inside a transaction that stores a run's results: refuses to go on when the run's row is
    /// no longer running (its lease ran out and another run took the period over), so that a run
    /// taken over never commits results. `None`: a write that claims nothing.
    pub(super) async fn ensure_claim(&self, tx: &mut sqlx::AnyConnection, run_id: Option<&str>) -> Result<()> {
        let Some(run_id) = run_id else { return Ok(()) };
        let status: Option<String> = sqlx::query_scalar(&self.sql("SELECT status FROM run_ledger WHERE run_id = ?"))
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed("checking the run's claim"))?;
        match status.as_deref() {
            Some("running") => Ok(()),
            _ => Err(StoreError::LostClaim { run_id: run_id.to_string() }),
        }
    }

    /// The running row of a job period, if any.
    pub(crate) async fn holder(&self, job: LedgerJob, period: &str) -> Result<Option<Holder>> {
        let row = sqlx::query(&self.sql(
            "SELECT run_id, host, pid, started_at, started_by FROM run_ledger \
             WHERE job = ? AND period = ? AND status = 'running'",
        ))
        .bind(job.as_str())
        .bind(period)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed("reading the run ledger"))?;
        let what = "run_ledger";
        row.map(|r| {
            Ok(Holder {
                run_id: text_req(&r, 0, what)?,
                host: text_req(&r, 1, what)?,
                pid: get(&r, 2, what)?,
                started_at: text_req(&r, 3, what)?,
                started_by: text_req(&r, 4, what)?,
            })
        })
        .transpose()
    }

    /// Closes a claim: its row gets the outcome (a success supersedes the period's earlier one),
    /// then the lock is released. A run whose row is no longer running (taken over) closes
    /// nothing and is told so.
    pub(crate) async fn finish(
        &self,
        mut claim: Claim,
        outcome: Outcome,
        row_counts: &str,
        error: Option<&str>,
        rules_hash: &str,
        system: &System,
    ) -> Result<()> {
        claim.heartbeat.abort();
        let written = async {
            let mut tx = self.pool.begin().await?;
            if outcome == Outcome::Succeeded {
                sqlx::query(&self.sql(
                    "UPDATE run_ledger SET status = 'superseded' WHERE job = ? AND period = ? AND status = 'succeeded'",
                ))
                .bind(claim.job.as_str())
                .bind(&claim.period)
                .execute(&mut *tx)
                .await?;
            }
            // Only a row still running is this run's to close: a run whose lease ran out and whose
            // period was taken over (marked aborted) must neither overwrite that nor supersede the
            // newer success; the transaction is rolled back, the superseding included.
            let closed = sqlx::query(&self.sql(
                "UPDATE run_ledger SET status = ?, finished_at = ?, lease_until = NULL, row_counts = ?, error = ?, \
                 rules_hash = ? WHERE run_id = ? AND status = 'running'",
            ))
            .bind(outcome.status().as_str())
            .bind(utc(system.utc_now()))
            .bind(row_counts.chars().take(1900).collect::<String>())
            .bind(error)
            .bind(rules_hash)
            .bind(&claim.run_id)
            .execute(&mut *tx)
            .await?;
            if closed.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await.map(|()| true)
        }
        .await
        .map_err(|e| StoreError::Db(db::classify(e, "recording the run in the ledger")))
        .and_then(|closed| if closed { Ok(()) } else { Err(StoreError::LostClaim { run_id: claim.run_id.clone() }) });
        if let Some(mut conn) = claim.lock.take() {
            let release = match self.dialect {
                Dialect::Postgres => {
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(lock_key(claim.job, &claim.period))
                        .execute(&mut conn)
                        .await
                }
                _ => {
                    sqlx::query("SELECT RELEASE_LOCK(CONCAT(DATABASE(), ':', ?))")
                        .bind(format!("{}:{}", claim.job, claim.period))
                        .execute(&mut conn)
                        .await
                }
            };
            if let Err(e) = release {
                // Closing the connection releases it all the same.
                tracing::warn!(error = %e, "could not release the period lock explicitly");
            }
            let _ = conn.close().await;
        }
        written
    }

    /// Marks the rows this process left running aborted (the daemon's shutdown after its grace).
    pub(crate) async fn abort_own_runs(&self, reason: &str, system: &System) -> Result<u64> {
        let r = sqlx::query(&self.sql(
            "UPDATE run_ledger SET status = 'aborted', finished_at = ?, lease_until = NULL, error = ? \
             WHERE status = 'running' AND host = ? AND pid = ?",
        ))
        .bind(utc(system.utc_now()))
        .bind(reason)
        .bind(system.host())
        .bind(i64::from(system.pid()))
        .execute(&self.pool)
        .await
        .map_err(failed("recording aborted runs"))?;
        Ok(r.rows_affected())
    }

    /// Whether a job period is done: it succeeded, or the ledger never saw it and it has stored
    /// results (computed before the ledger existed).
    pub(crate) async fn is_done(&self, job: JobKind, period: &str) -> Result<bool> {
        let count = |condition: &'static str| {
            let text = self.sql(&format!("SELECT COUNT(*) FROM run_ledger WHERE job = ? AND period = ?{condition}"));
            async move {
                sqlx::query_scalar::<_, i64>(&text)
                    .bind(job.as_str())
                    .bind(period)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(failed("reading the run ledger"))
            }
        };
        if count(" AND status = 'succeeded'").await? > 0 {
            return Ok(true);
        }
        if count("").await? > 0 {
            return Ok(false);
        }
        let computed: i64 =
            sqlx::query_scalar(&self.sql("SELECT COUNT(*) FROM period_states WHERE job = ? AND period = ?"))
                .bind(job.as_str())
                .bind(period)
                .fetch_one(&self.pool)
                .await
                .map_err(failed("reading period states"))?;
        Ok(computed > 0)
    }

    /// The ledger's latest rows, newest first.
    pub(crate) async fn ledger(&self, limit: i64) -> Result<Vec<LedgerRow>> {
        let what = "run_ledger";
        sqlx::query(&self.sql(
            "SELECT job, period, attempt, status, started_by, started_at, finished_at, host, pid, error \
             FROM run_ledger ORDER BY started_at DESC, run_id DESC LIMIT ?",
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the run ledger"))?
        .iter()
        .map(|r| {
            Ok(LedgerRow {
                job: text_req(r, 0, what)?,
                period: text_req(r, 1, what)?,
                attempt: get(r, 2, what)?,
                status: parsed(&text_req(r, 3, what)?, what, RunStatus::parse)?,
                started_by: text_req(r, 4, what)?,
                started_at: text_req(r, 5, what)?,
                finished_at: text(r, 6, what)?,
                host: text_req(r, 7, what)?,
                pid: get(r, 8, what)?,
                error: text(r, 9, what)?,
            })
        })
        .collect()
    }
}

/// One attempt at a job period, as the ledger has it.
#[derive(Debug, Clone)]
pub(crate) struct LedgerRow {
    pub(crate) job: String,
    pub(crate) period: String,
    pub(crate) attempt: i64,
    pub(crate) status: RunStatus,
    pub(crate) started_by: String,
    pub(crate) started_at: String,
    pub(crate) finished_at: Option<String>,
    pub(crate) host: String,
    pub(crate) pid: i64,
    pub(crate) error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::PoolSettings;
    use crate::store::Access;
    use sqlx::Row;

    async fn statuses(store: &Store) -> Vec<(String, String)> {
        sqlx::query("SELECT run_id, status FROM run_ledger ORDER BY started_at, run_id")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    #[tokio::test]
    async fn a_run_whose_period_was_taken_over_cannot_close_it_late() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.sqlite").display());
        let store = Store::open(&url, PoolSettings::default(), Access::ReadWrite).await.unwrap();
        let system = System::fixed(crate::domain::period::parse_timestamp("2026-11-03 02:00:00").unwrap(), &[]);
        let lease = Duration::from_secs(60);
        let (job, period) = (JobKind::Monthly, "2026-10");
        let first = store.claim(job, period, StartedBy::Manual, lease, &system).await.unwrap();
        let first_id = first.run_id.clone();
        // As if the first run were another machine's whose lease ran out: the next claimant takes over.
        sqlx::query("UPDATE run_ledger SET host = 'elsewhere', lease_until = '2000-01-01 00:00:00' WHERE run_id = ?")
            .bind(&first_id)
            .execute(store.pool())
            .await
            .unwrap();
        let second = store.claim(job, period, StartedBy::Manual, lease, &system).await.unwrap();
        let second_id = second.run_id.clone();
        // The run taken over may not commit results either.
        let mut tx = store.pool().begin().await.unwrap();
        assert!(matches!(store.ensure_claim(&mut tx, Some(&first_id)).await, Err(StoreError::LostClaim { .. })));
        assert!(store.ensure_claim(&mut tx, Some(&second_id)).await.is_ok());
        drop(tx);
        store.finish(second, Outcome::Succeeded, "second", None, "h", &system).await.unwrap();
        // The first run ends late: it is told, and the ledger keeps what happened.
        let late = store.finish(first, Outcome::Succeeded, "first", None, "h", &system).await;
        assert!(matches!(late, Err(StoreError::LostClaim { .. })), "{late:?}");
        let rows = statuses(&store).await;
        assert!(rows.contains(&(first_id, "aborted".into())), "{rows:?}");
        assert!(rows.contains(&(second_id, "succeeded".into())), "{rows:?}");
        store.close().await;
    }
}
