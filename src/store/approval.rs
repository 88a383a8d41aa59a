//! Approval state of job periods, the snapshot of the last approved figures, and the audit trail.

use super::{sql, Store};
use crate::error::classify_sqlx;
use crate::sources::Dialect;
use sqlx::AnyConnection;
use sqlx::Row;
use std::collections::BTreeMap;

/// Where a job period stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodState {
    pub state: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
}

/// One item's figures: score, grade, amount (settlement or presales amount).
pub type Figures = (Option<String>, Option<String>, Option<String>);

/// What changed for one item between the last approval and now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub item: String,
    pub before: Option<Figures>,
    pub after: Option<Figures>,
}

/// An approval act refused because of the period's state (exit 1, with the reason).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StateError(pub String);

/// The items of a period and their figures; the key is built here, not in SQL (MySQL's `||` is OR).
fn items_sql(job: &str) -> &'static str {
    match job {
        "monthly" => {
            "SELECT partner_id, '', {m:score}, grade, {m:settlement} FROM monthly_partner_results WHERE month = ?"
        }
        _ => {
            "SELECT project_id, partner_id, {m:assessment_score}, status, {m:amount} FROM presales_results \
             WHERE quarter = ?"
        }
    }
}

/// Appends to the audit trail: (at, actor, action, job, period, detail).
pub(super) async fn audit(tx: &mut AnyConnection, dialect: Dialect, entry: [&str; 6]) -> anyhow::Result<()> {
    let text = sql::insert_rows(dialect, "audit_trail (at, actor, action, job, period, detail)", "?, ?, ?, ?, ?, ?", 1);
    let mut q = sqlx::query(&text);
    for v in entry {
        q = q.bind(v);
    }
    q.execute(tx).await?;
    Ok(())
}

impl Store {
    pub async fn period_state(&self, job: &str, period: &str) -> anyhow::Result<Option<PeriodState>> {
        let row = sqlx::query(
            &self.sql("SELECT state, approved_by, approved_at FROM period_states WHERE job = ? AND period = ?"),
        )
        .bind(job)
        .bind(period)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the period state"))?;
        Ok(row.map(|r| PeriodState { state: r.get(0), approved_by: r.get(1), approved_at: r.get(2) }))
    }

    /// Refuses to recompute a period that is approved or published.
    pub async fn ensure_open(&self, job: &str, period: &str) -> anyhow::Result<()> {
        if let Some(s) = self.period_state(job, period).await? {
            if s.state != "draft" {
                return Err(StateError(format!(
                    "{job} {period} is {} (by {} at {}): its results are frozen. To recompute it, reopen it first: \
                     ict-partners reopen {job} … --by NAME --reason \"…\"",
                    s.state,
                    s.approved_by.unwrap_or_default(),
                    s.approved_at.unwrap_or_default()
                ))
                .into());
            }
        }
        Ok(())
    }

    async fn items(&self, job: &str, period: &str) -> anyhow::Result<BTreeMap<String, Figures>> {
        let rows = sqlx::query(&self.sql(items_sql(job))).bind(period).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let (first, second): (String, String) = (r.get(0), r.get(1));
                let key = if job == "monthly" { first } else { format!("{first}/{second}") };
                (key, (r.get(2), r.get(3), r.get(4)))
            })
            .collect())
    }

    /// Approves a computed draft: freezes it, and returns what changed since the last approval
    /// (empty on a first approval).
    pub async fn approve(
        &self,
        job: &str,
        period: &str,
        by: &str,
        comment: Option<&str>,
        at: &str,
    ) -> anyhow::Result<Vec<Change>> {
        match self.period_state(job, period).await? {
            None => return Err(StateError(format!("{job} {period} has not been computed yet: run it first")).into()),
            Some(s) if s.state != "draft" => {
                return Err(StateError(format!(
                    "{job} {period} is already {} (by {})",
                    s.state,
                    s.approved_by.unwrap_or_default()
                ))
                .into())
            }
            Some(_) => {}
        }
        let now = self.items(job, period).await?;
        let snapshot = sqlx::query(
            &self.sql("SELECT item, {m:score}, grade, {m:amount} FROM approved_snapshots WHERE job = ? AND period = ?"),
        )
        .bind(job)
        .bind(period)
        .fetch_all(&self.pool)
        .await?;
        let had_snapshot = !snapshot.is_empty();
        let before: BTreeMap<String, Figures> =
            snapshot.into_iter().map(|r| (r.get::<String, _>(0), (r.get(1), r.get(2), r.get(3)))).collect();
        let mut changes = Vec::new();
        if had_snapshot {
            let keys: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
            for k in keys {
                let (b, a) = (before.get(k), now.get(k));
                if b != a {
                    changes.push(Change { item: k.clone(), before: b.cloned(), after: a.cloned() });
                }
            }
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(&self.sql(
            "UPDATE period_states SET state = 'approved', approved_by = ?, approved_at = ?, comment = ? \
             WHERE job = ? AND period = ?",
        ))
        .bind(by)
        .bind(at)
        .bind(comment)
        .bind(job)
        .bind(period)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.sql("DELETE FROM approved_snapshots WHERE job = ? AND period = ?"))
            .bind(job)
            .bind(period)
            .execute(&mut *tx)
            .await?;
        let insert = sql::insert_rows(
            self.dialect,
            "approved_snapshots (job, period, item, score, grade, amount)",
            "?, ?, ?, {M}, ?, {M}",
            1,
        );
        for (item, (score, grade, amount)) in &now {
            sqlx::query(&insert)
                .bind(job)
                .bind(period)
                .bind(item)
                .bind(score)
                .bind(grade)
                .bind(amount)
                .execute(&mut *tx)
                .await?;
        }
        let detail = format!(
            "{}{} changes since the last approval",
            comment.map(|c| format!("{c}; ")).unwrap_or_default(),
            changes.len()
        );
        audit(&mut tx, self.dialect, [at, by, "approve", job, period, &detail]).await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// Reopens an approved or published period so it can be recomputed; the reason is recorded.
    pub async fn reopen(&self, job: &str, period: &str, by: &str, reason: &str, at: &str) -> anyhow::Result<()> {
        match self.period_state(job, period).await? {
            Some(s) if s.state != "draft" => {}
            _ => return Err(StateError(format!("{job} {period} is not approved: nothing to reopen")).into()),
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(&self.sql("UPDATE period_states SET state = 'draft' WHERE job = ? AND period = ?"))
            .bind(job)
            .bind(period)
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, self.dialect, [at, by, "reopen", job, period, reason]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks an approved period published.
    pub async fn publish(&self, job: &str, period: &str, by: &str, at: &str) -> anyhow::Result<PeriodState> {
        let state = match self.period_state(job, period).await? {
            Some(s) if s.state == "approved" => s,
            Some(s) if s.state == "published" => return Ok(s),
            _ => return Err(StateError(format!("{job} {period} must be approved before it is published")).into()),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            &self.sql("UPDATE period_states SET state = 'published', published_at = ? WHERE job = ? AND period = ?"),
        )
        .bind(at)
        .bind(job)
        .bind(period)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, self.dialect, [at, by, "publish", job, period, ""]).await?;
        tx.commit().await?;
        Ok(state)
    }

    /// The audit trail, oldest first.
    pub async fn audit_trail(&self) -> anyhow::Result<Vec<(String, String, String, String, String, String)>> {
        let rows =
            sqlx::query(&self.sql("SELECT at, actor, action, job, period, detail FROM audit_trail ORDER BY {seq}"))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), sql::text(&r, 5).unwrap_or_default()))
            .collect())
    }
}
