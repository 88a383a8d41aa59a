//! The run ledger and the per-period lock: every attempt at a job period is a row (running,
//! succeeded, failed, aborted; a success replaced by a later one is superseded), and no two
//! processes compute the same period at once. PostgreSQL holds a session advisory lock and MySQL a
//! `GET_LOCK` on a connection of their own for the whole run, so a crashed process loses its lock
//! with its connection; SQLite has no such locks, so there the running row is the lock, with a lease
//! the run keeps extending and the next claimant takes over once it has run out.

use super::{sql, Store};
use crate::error::classify_sqlx;
use crate::sources::Dialect;
use sqlx::{Connection, Row};
use std::time::Duration;

/// Who holds a job period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub run_id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: String,
    pub started_by: String,
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

/// Why a claim was not granted.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("{job} {period} is being computed by {}; nothing was done", .holder.as_ref().map_or_else(|| "another process".to_string(), |h| h.to_string()))]
    Held { job: String, period: String, holder: Option<Holder> },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A granted claim on a job period: the ledger row, the lock connection (servers) and the
/// heartbeat that keeps the lease. Dropping it stops the heartbeat and closes the lock connection.
pub struct Claim {
    pub run_id: String,
    pub attempt: i64,
    job: String,
    period: String,
    lock: Option<sqlx::AnyConnection>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// How a run ended, for its ledger row (`aborted` is written by whoever finds the run abandoned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
        }
    }
}

/// UTC wall-clock time in the ledger's text form.
fn utc(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The advisory-lock key of a job period (PostgreSQL locks are per database already).
fn lock_key(job: &str, period: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("ict-partners/{job}/{period}"));
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// This machine's name, for the ledger and the "held by" message.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether a process of this machine is alive (a zombie is not: it only waits to be reaped).
fn process_alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

const ABANDONED: &str = "the process running it ended without finishing (killed or crashed); nothing of it was kept";

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Store {
    /// Claims a job period for this process, or says who holds it.
    pub async fn claim(&self, job: &str, period: &str, started_by: &str, lease: Duration) -> Result<Claim, ClaimError> {
        let held = |holder| ClaimError::Held { job: job.into(), period: period.into(), holder };
        let lock = match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres | Dialect::MySql => {
                let mut conn = sqlx::AnyConnection::connect(&self.url)
                    .await
                    .map_err(|e| classify_sqlx(e, "opening the lock connection"))?;
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
                .map_err(|e| classify_sqlx(e, "taking the period lock"))?;
                if !granted {
                    let _ = conn.close().await;
                    return Err(held(self.holder(job, period).await.ok().flatten()));
                }
                Some(conn)
            }
        };
        if self.dialect == Dialect::Sqlite {
            // A run of this machine whose process is gone need not wait for its lease to run out.
            if let Some(h) = self.holder(job, period).await?.filter(|h| h.host == host_name() && !process_alive(h.pid))
            {
                sqlx::query(&self.sql(
                    "UPDATE run_ledger SET status = 'aborted', finished_at = ?, lease_until = NULL, error = ? \
                     WHERE run_id = ? AND status = 'running'",
                ))
                .bind(utc(chrono::Utc::now()))
                .bind(ABANDONED)
                .bind(&h.run_id)
                .execute(&self.pool)
                .await
                .map_err(|e| classify_sqlx(e, "recording an abandoned run"))?;
            }
        }
        let now = chrono::Utc::now();
        let lease_until = utc(now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60)));
        let run_id = format!("{job}-{period}-{}-{:08x}", now.format("%Y%m%dT%H%M%S"), rand::random::<u32>());
        let attempt = match self.insert_running(job, period, started_by, &run_id, &utc(now), &lease_until).await {
            Ok(attempt) => attempt,
            Err(e) if e.downcast_ref::<sqlx::Error>().is_some_and(is_unique_violation) => {
                return Err(held(self.holder(job, period).await.ok().flatten()))
            }
            Err(e) => return Err(e.into()),
        };
        let heartbeat = {
            let (pool, text, run_id) = (
                self.pool.clone(),
                self.sql("UPDATE run_ledger SET lease_until = ? WHERE run_id = ? AND status = 'running'"),
                run_id.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    let until = utc(chrono::Utc::now() + chrono::Duration::from_std(lease).unwrap_or_default());
                    if let Err(e) = sqlx::query(&text).bind(until).bind(&run_id).execute(&pool).await {
                        tracing::warn!(error = %e, "could not extend the run's lease");
                    }
                }
            })
        };
        Ok(Claim { run_id, attempt, job: job.into(), period: period.into(), lock, heartbeat })
    }

    /// Marks rows left running by dead processes aborted and adds this run's running row, in one
    /// transaction. Returns the attempt number.
    async fn insert_running(
        &self,
        job: &str,
        period: &str,
        started_by: &str,
        run_id: &str,
        now: &str,
        lease_until: &str,
    ) -> anyhow::Result<i64> {
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the ledger write"))?;
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
        let mut q = sqlx::query(&stale).bind(now).bind(ABANDONED).bind(job).bind(period);
        if self.dialect == Dialect::Sqlite {
            q = q.bind(now);
        }
        q.execute(&mut *tx).await?;
        let attempt: i64 = sqlx::query_scalar(
            &self.sql("SELECT COALESCE(MAX(attempt), 0) + 1 FROM run_ledger WHERE job = ? AND period = ?"),
        )
        .bind(job)
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
        .bind(job)
        .bind(period)
        .bind(attempt)
        .bind(started_by)
        .bind(now)
        .bind(lease_until)
        .bind(host_name())
        .bind(std::process::id() as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(attempt)
    }

    /// The running row of a job period, if any.
    pub async fn holder(&self, job: &str, period: &str) -> anyhow::Result<Option<Holder>> {
        let row = sqlx::query(&self.sql(
            "SELECT run_id, host, pid, started_at, started_by FROM run_ledger \
             WHERE job = ? AND period = ? AND status = 'running'",
        ))
        .bind(job)
        .bind(period)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the run ledger"))?;
        Ok(row.map(|r| Holder {
            run_id: r.get(0),
            host: r.get(1),
            pid: r.get(2),
            started_at: r.get(3),
            started_by: r.get(4),
        }))
    }

    /// Closes a claim: its row gets the outcome (a success supersedes the period's earlier one),
    /// then the lock is released.
    pub async fn finish(
        &self,
        mut claim: Claim,
        outcome: Outcome,
        row_counts: &str,
        error: Option<&str>,
        rules_hash: &str,
    ) -> anyhow::Result<()> {
        claim.heartbeat.abort();
        let written = async {
            let mut tx = self.pool.begin().await?;
            if outcome == Outcome::Succeeded {
                sqlx::query(&self.sql(
                    "UPDATE run_ledger SET status = 'superseded' WHERE job = ? AND period = ? AND status = 'succeeded'",
                ))
                .bind(&claim.job)
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
            .bind(outcome.as_str())
            .bind(utc(chrono::Utc::now()))
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
        .map_err(|e| classify_sqlx(e, "recording the run in the ledger"))
        .and_then(|closed| {
            if closed {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "run {} lost its claim on {} {} (its lease ran out and another run took the period over); its end is not recorded",
                    claim.run_id,
                    claim.job,
                    claim.period
                ))
            }
        });
        if let Some(mut conn) = claim.lock.take() {
            let release = match self.dialect {
                Dialect::Postgres => {
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(lock_key(&claim.job, &claim.period))
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
    pub async fn abort_own_runs(&self, reason: &str) -> anyhow::Result<u64> {
        let r = sqlx::query(&self.sql(
            "UPDATE run_ledger SET status = 'aborted', finished_at = ?, lease_until = NULL, error = ? \
             WHERE status = 'running' AND host = ? AND pid = ?",
        ))
        .bind(utc(chrono::Utc::now()))
        .bind(reason)
        .bind(host_name())
        .bind(std::process::id() as i64)
        .execute(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "recording aborted runs"))?;
        Ok(r.rows_affected())
    }

    /// Whether a job period is done: it succeeded, or the ledger never saw it and it has stored
    /// results (computed before the ledger existed).
    pub async fn is_done(&self, job: &str, period: &str) -> anyhow::Result<bool> {
        let count = |condition: &'static str| {
            let text = self.sql(&format!("SELECT COUNT(*) FROM run_ledger WHERE job = ? AND period = ?{condition}"));
            async move {
                sqlx::query_scalar::<_, i64>(&text)
                    .bind(job)
                    .bind(period)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| classify_sqlx(e, "reading the run ledger"))
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
                .bind(job)
                .bind(period)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| classify_sqlx(e, "reading period states"))?;
        Ok(computed > 0)
    }

    /// The ledger's latest rows, newest first: (run_id, job, period, attempt, status, started_by,
    /// started_at, finished_at, host, row_counts, error).
    pub async fn ledger(&self, limit: i64) -> anyhow::Result<Vec<LedgerRow>> {
        let rows = sqlx::query(&self.sql(
            "SELECT run_id, job, period, attempt, status, started_by, started_at, finished_at, host, pid, row_counts, \
             error FROM run_ledger ORDER BY started_at DESC, run_id DESC LIMIT ?",
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the run ledger"))?;
        Ok(rows
            .into_iter()
            .map(|r| LedgerRow {
                run_id: r.get(0),
                job: r.get(1),
                period: r.get(2),
                attempt: r.get(3),
                status: r.get(4),
                started_by: r.get(5),
                started_at: r.get(6),
                finished_at: r.get(7),
                host: r.get(8),
                pid: r.get(9),
                row_counts: sql::text(&r, 10),
                error: sql::text(&r, 11),
            })
            .collect())
    }
}

/// One attempt at a job period, as the ledger has it.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub run_id: String,
    pub job: String,
    pub period: String,
    pub attempt: i64,
    pub status: String,
    pub started_by: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub host: String,
    pub pid: i64,
    pub row_counts: Option<String>,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;
    use crate::store::PoolSettings;

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
        let url = Secret::new(format!("sqlite://{}", dir.path().join("store.sqlite").display()));
        let store = Store::connect(&url, PoolSettings::default()).await.unwrap();
        let lease = Duration::from_secs(60);
        let first = store.claim("monthly", "2026-10", "manual", lease).await.unwrap();
        let first_id = first.run_id.clone();
        // As if the first run were another machine's whose lease ran out: the next claimant takes over.
        sqlx::query("UPDATE run_ledger SET host = 'elsewhere', lease_until = '2000-01-01 00:00:00' WHERE run_id = ?")
            .bind(&first_id)
            .execute(store.pool())
            .await
            .unwrap();
        let second = store.claim("monthly", "2026-10", "manual", lease).await.unwrap();
        let second_id = second.run_id.clone();
        store.finish(second, Outcome::Succeeded, "second", None, "h").await.unwrap();
        // The first run ends late: it is told, and the ledger keeps what happened.
        let late = store.finish(first, Outcome::Succeeded, "first", None, "h").await;
        assert!(late.is_err_and(|e| e.to_string().contains("lost its claim")));
        let rows = statuses(&store).await;
        assert!(rows.contains(&(first_id, "aborted".into())), "{rows:?}");
        assert!(rows.contains(&(second_id, "succeeded".into())), "{rows:?}");
        store.close().await;
    }
}
