//! Approval state of job periods (draft → approved → published, 第二十一条, 第二十六条), the
//! snapshot of the last approved figures, and the audit trail of every act.

use super::{commit, decimal, failed, parsed, sql, text, text_req, Result, Store};
use crate::db::Dialect;
use crate::domain::job::JobKind;
use rust_decimal::Decimal;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// Where a job period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeriodStatus {
    /// Computed; may be recomputed.
    Draft,
    /// Approved by the managing department's leader: frozen until reopened.
    Approved,
    /// Published to the partners.
    Published,
}

impl PeriodStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PeriodStatus::Draft => "draft",
            PeriodStatus::Approved => "approved",
            PeriodStatus::Published => "published",
        }
    }
    fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "draft" => Ok(PeriodStatus::Draft),
            "approved" => Ok(PeriodStatus::Approved),
            "published" => Ok(PeriodStatus::Published),
            other => Err(format!("not a period state: {other:?}")),
        }
    }
}

/// A job period's state with who approved it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeriodState {
    pub(crate) status: PeriodStatus,
    pub(crate) approved_by: Option<String>,
    pub(crate) approved_at: Option<String>,
    pub(crate) published_at: Option<String>,
    /// When the finance export of a published period was written (rules.md §11).
    pub(crate) settled_at: Option<String>,
}

/// One item's approved figures: score, grade (or status), amount (settlement or presales amount).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Figures {
    pub(crate) score: Option<Decimal>,
    pub(crate) grade: Option<String>,
    pub(crate) amount: Option<Decimal>,
}

/// What changed for one item between the last approval and now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) item: String,
    pub(crate) before: Option<Figures>,
    pub(crate) after: Option<Figures>,
}

pub(crate) use crate::domain::refusal::StateError;

/// The items of a period and their figures; the key is built here, not in SQL (MySQL's `||` is OR).
fn items_sql(job: JobKind) -> &'static str {
    match job {
        JobKind::Monthly => {
            "SELECT partner_id, '', {m:score}, grade, {m:settlement} FROM monthly_partner_results WHERE month = ?"
        }
        _ => {
            "SELECT project_id, partner_id, {m:assessment_score}, status, {m:amount} FROM presales_results \
             WHERE quarter = ?"
        }
    }
}

/// Appends to the audit trail: (at, actor, action, job, period, detail).
pub(super) async fn audit(tx: &mut AnyConnection, dialect: Dialect, entry: [&str; 6]) -> Result<()> {
    let text = sql::insert_rows(dialect, "audit_trail (at, actor, action, job, period, detail)", "?, ?, ?, ?, ?, ?", 1);
    entry
        .iter()
        .fold(sqlx::query(&text), |q, v| q.bind(*v))
        .execute(tx)
        .await
        .map_err(failed("writing the audit trail"))?;
    Ok(())
}

impl Store {
    pub(crate) async fn period_state(&self, job: JobKind, period: &str) -> Result<Option<PeriodState>> {
        let what = "period_states";
        let row = sqlx::query(&self.sql(
            "SELECT state, approved_by, approved_at, published_at, settled_at FROM period_states \
             WHERE job = ? AND period = ?",
        ))
        .bind(job.as_str())
        .bind(period)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed("reading the period state"))?;
        row.map(|r| {
            Ok(PeriodState {
                status: parsed(&text_req(&r, 0, what)?, what, PeriodStatus::parse)?,
                approved_by: text(&r, 1, what)?,
                approved_at: text(&r, 2, what)?,
                published_at: text(&r, 3, what)?,
                settled_at: text(&r, 4, what)?,
            })
        })
        .transpose()
    }

    /// A computed period is a draft (kept as it is when it is one already), inside the
    /// transaction that stores its results.
    pub(super) async fn mark_draft(
        &self,
        tx: &mut AnyConnection,
        job: JobKind,
        period: &str,
        computed_at: &str,
    ) -> Result<()> {
        sqlx::query(&sql::insert_ignore(self.dialect, "period_states (job, period, state)", "(?, ?, 'draft')"))
            .bind(job.as_str())
            .bind(period)
            .execute(&mut *tx)
            .await
            .map_err(failed("recording the period as a draft"))?;
        // Computed from the records as they were when the run started (imports are refused
        // while a run holds the period): an import after that still holds it back from approval.
        sqlx::query(&self.sql(
            "UPDATE period_states SET records_changed_at = NULL \
             WHERE job = ? AND period = ? AND records_changed_at <= ?",
        ))
        .bind(job.as_str())
        .bind(period)
        .bind(computed_at)
        .execute(tx)
        .await
        .map_err(failed("recording the period as a draft"))?;
        Ok(())
    }

    /// Refuses to recompute a period that is approved or published.
    pub(crate) async fn ensure_open(&self, job: JobKind, period: &str) -> Result<()> {
        if let Some(s) = self.period_state(job, period).await? {
            if s.status != PeriodStatus::Draft {
                return Err(StateError::Other(format!(
                    "{job} {period} is {} (by {} at {}): its results are frozen. To recompute it, reopen it first: \
                     ict-partners reopen {job} … --by NAME --reason \"…\"",
                    s.status.as_str(),
                    s.approved_by.unwrap_or_default(),
                    s.approved_at.unwrap_or_default()
                ))
                .into());
            }
        }
        Ok(())
    }

    pub(crate) async fn items(&self, job: JobKind, period: &str) -> Result<BTreeMap<String, Figures>> {
        let what = "the period's results";
        let rows = sqlx::query(&self.sql(items_sql(job)))
            .bind(period)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading the period's results"))?;
        rows.iter()
            .map(|r| {
                let (first, second) = (text_req(r, 0, what)?, text(r, 1, what)?.unwrap_or_default());
                let key = if job == JobKind::Monthly { first } else { format!("{first}/{second}") };
                Ok((
                    key,
                    Figures { score: decimal(r, 2, what)?, grade: text(r, 3, what)?, amount: decimal(r, 4, what)? },
                ))
            })
            .collect()
    }

    /// Approves a computed draft: freezes it, and returns what changed since the last approval
    /// (empty on a first approval).
    pub(crate) async fn approve(
        &self,
        job: JobKind,
        period: &str,
        by: &str,
        comment: Option<&str>,
        at: &str,
    ) -> Result<Vec<Change>> {
        match self.period_state(job, period).await? {
            None => {
                return Err(StateError::Other(format!("{job} {period} has not been computed yet: run it first")).into())
            }
            Some(s) if s.status != PeriodStatus::Draft => {
                return Err(StateError::Other(format!(
                    "{job} {period} is already {} (by {})",
                    s.status.as_str(),
                    s.approved_by.unwrap_or_default()
                ))
                .into())
            }
            Some(_) => {}
        }
        let changed: Option<String> =
            sqlx::query(&self.sql("SELECT records_changed_at FROM period_states WHERE job = ? AND period = ?"))
                .bind(job.as_str())
                .bind(period)
                .fetch_optional(&self.pool)
                .await
                .map_err(failed("reading the period state"))?
                .map(|r| text(&r, 0, "period_states"))
                .transpose()?
                .flatten();
        if let Some(at) = changed {
            return Err(StateError::Other(format!(
                "{job} {period}: departmental records were imported at {at}, after its results were computed. \
                 Rerun it first so that what is approved is computed from them: ict-partners run {job} …"
            ))
            .into());
        }
        let now = self.items(job, period).await?;
        let what = "approved_snapshots";
        let before: BTreeMap<String, Figures> = sqlx::query(
            &self.sql("SELECT item, {m:score}, grade, {m:amount} FROM approved_snapshots WHERE job = ? AND period = ?"),
        )
        .bind(job.as_str())
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the approved snapshot"))?
        .iter()
        .map(|r| {
            Ok((
                text_req(r, 0, what)?,
                Figures { score: decimal(r, 1, what)?, grade: text(r, 2, what)?, amount: decimal(r, 3, what)? },
            ))
        })
        .collect::<Result<_>>()?;
        let mut changes = Vec::new();
        if !before.is_empty() {
            let keys: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
            for k in keys {
                let (b, a) = (before.get(k), now.get(k));
                if b != a {
                    changes.push(Change { item: k.clone(), before: b.cloned(), after: a.cloned() });
                }
            }
        }
        let mut tx = self.begin("starting the approval").await?;
        // Only a draft whose records have not changed since it was computed, checked again here:
        // an import or another approval may have landed since the checks above.
        let approved = sqlx::query(&self.sql(
            "UPDATE period_states SET state = 'approved', approved_by = ?, approved_at = ?, comment = ? \
             WHERE job = ? AND period = ? AND state = 'draft' AND records_changed_at IS NULL",
        ))
        .bind(by)
        .bind(at)
        .bind(comment)
        .bind(job.as_str())
        .bind(period)
        .execute(&mut *tx)
        .await
        .map_err(failed("approving the period"))?;
        if approved.rows_affected() != 1 {
            return Err(StateError::Other(format!(
                "{job} {period} changed while it was being approved: look and try again"
            ))
            .into());
        }
        sqlx::query(&self.sql("DELETE FROM approved_snapshots WHERE job = ? AND period = ?"))
            .bind(job.as_str())
            .bind(period)
            .execute(&mut *tx)
            .await
            .map_err(failed("replacing the approved snapshot"))?;
        let insert = sql::insert_rows(
            self.dialect,
            "approved_snapshots (job, period, item, score, grade, amount)",
            "?, ?, ?, {M}, ?, {M}",
            1,
        );
        let money = |d: Option<Decimal>| d.map(crate::domain::money::fmt2);
        for (item, f) in &now {
            sqlx::query(&insert)
                .bind(job.as_str())
                .bind(period)
                .bind(item)
                .bind(money(f.score))
                .bind(f.grade.clone())
                .bind(money(f.amount))
                .execute(&mut *tx)
                .await
                .map_err(failed("storing the approved snapshot"))?;
        }
        let detail = format!(
            "{}{} changes since the last approval",
            comment.map(|c| format!("{c}; ")).unwrap_or_default(),
            changes.len()
        );
        audit(&mut tx, self.dialect, [at, by, "approve", job.as_str(), period, &detail]).await?;
        commit(tx, "committing the approval").await?;
        Ok(changes)
    }

    /// Reopens an approved or published period so it can be recomputed; the reason is recorded.
    pub(crate) async fn reopen(&self, job: JobKind, period: &str, by: &str, reason: &str, at: &str) -> Result<()> {
        match self.period_state(job, period).await? {
            Some(s) if s.status != PeriodStatus::Draft => {}
            _ => return Err(StateError::Other(format!("{job} {period} is not approved: nothing to reopen")).into()),
        }
        let mut tx = self.begin("starting the reopening").await?;
        sqlx::query(&self.sql("UPDATE period_states SET state = 'draft' WHERE job = ? AND period = ?"))
            .bind(job.as_str())
            .bind(period)
            .execute(&mut *tx)
            .await
            .map_err(failed("reopening the period"))?;
        audit(&mut tx, self.dialect, [at, by, "reopen", job.as_str(), period, reason]).await?;
        commit(tx, "committing the reopening").await
    }

    /// Marks an approved period published (a published one stays as it is).
    /// Publishes an approved period and records each told partner's dispute window in the same
    /// transaction: a period is never published without its windows (it would settle at once).
    pub(crate) async fn publish(
        &self,
        job: JobKind,
        period: &str,
        windows: &[super::disputes::Window],
        by: &str,
        at: &str,
    ) -> Result<PeriodState> {
        let state = match self.period_state(job, period).await? {
            Some(s) if s.status == PeriodStatus::Approved => s,
            Some(s) if s.status == PeriodStatus::Published => return Ok(s),
            _ => {
                return Err(StateError::Other(format!("{job} {period} must be approved before it is published")).into())
            }
        };
        let mut tx = self.begin("starting the publication").await?;
        sqlx::query(
            &self.sql("UPDATE period_states SET state = 'published', published_at = ? WHERE job = ? AND period = ?"),
        )
        .bind(at)
        .bind(job.as_str())
        .bind(period)
        .execute(&mut *tx)
        .await
        .map_err(failed("publishing the period"))?;
        audit(&mut tx, self.dialect, [at, by, "publish", job.as_str(), period, ""]).await?;
        self.record_publication(&mut tx, job, period, windows, by, at).await?;
        commit(tx, "committing the publication").await?;
        Ok(PeriodState { status: PeriodStatus::Published, published_at: Some(at.to_string()), ..state })
    }
}
