//! Disputes after publication and each partner's window (rules.md §11), and the settlement of a
//! published period with finance: the rows, the state changes in one transaction each, the audit.

use super::audit::audit;
use super::{commit, decimal, failed, get, opt2, parsed, sql, text, text_req, Result, Store};
use crate::domain::disputes::DisputeState;
use crate::domain::job::JobKind;
use crate::domain::refusal::StateError;
use crate::domain::units::Figures;

/// One dispute as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dispute {
    pub(crate) id: String,
    pub(crate) job: JobKind,
    pub(crate) period: String,
    pub(crate) partner_id: String,
    pub(crate) reason: String,
    pub(crate) refs: Vec<String>,
    pub(crate) state: DisputeState,
    pub(crate) opened_by: String,
    pub(crate) opened_at: String,
    pub(crate) resolved_by: Option<String>,
    pub(crate) resolved_at: Option<String>,
    pub(crate) note: Option<String>,
}

/// A partner's window for a published period: what it was told, when, and until when it may
/// object (`YYYY-MM-DD HH:MM:SS`, local time of the rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) partner_id: String,
    /// The commissioning unit of a quarter's window; '' for a month (one window per partner).
    pub(crate) unit: String,
    pub(crate) revision: i64,
    pub(crate) published_at: String,
    pub(crate) closes_at: String,
    pub(crate) figures: Figures,
}

/// A dispute to record.
pub(crate) struct NewDispute<'a> {
    pub(crate) job: JobKind,
    pub(crate) period: &'a str,
    pub(crate) partner_id: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) refs: &'a [String],
    pub(crate) by: &'a str,
    pub(crate) at: &'a str,
}

const COLUMNS: &str =
    "dispute_id, job, period, partner_id, reason, refs, state, opened_by, opened_at, resolved_by, resolved_at, note";

fn dispute_of(r: &sqlx::any::AnyRow) -> Result<Dispute> {
    let what = "disputes";
    let refs = text_req(r, 5, what)?;
    Ok(Dispute {
        id: text_req(r, 0, what)?,
        job: parsed(&text_req(r, 1, what)?, what, |s| JobKind::parse(s).ok_or("not a job"))?,
        period: text_req(r, 2, what)?,
        partner_id: text_req(r, 3, what)?,
        reason: text_req(r, 4, what)?,
        refs: refs.split(';').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        state: parsed(&text_req(r, 6, what)?, what, |s| DisputeState::parse(s).ok_or("not a dispute state"))?,
        opened_by: text_req(r, 7, what)?,
        opened_at: text_req(r, 8, what)?,
        resolved_by: text(r, 9, what)?,
        resolved_at: text(r, 10, what)?,
        note: text(r, 11, what)?,
    })
}

impl Store {
    /// Every partner's window of a published period, by partner.
    pub(crate) async fn windows(&self, job: JobKind, period: &str) -> Result<Vec<Window>> {
        let what = "dispute_windows";
        sqlx::query(&self.sql(
            "SELECT partner_id, revision, published_at, closes_at, {m:score}, grade, {m:amount}, unit \
             FROM dispute_windows WHERE job = ? AND period = ? ORDER BY partner_id, unit",
        ))
        .bind(job.as_str())
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the dispute windows"))?
        .iter()
        .map(|r| {
            Ok(Window {
                partner_id: text_req(r, 0, what)?,
                revision: get(r, 1, what)?,
                published_at: text_req(r, 2, what)?,
                closes_at: text_req(r, 3, what)?,
                figures: Figures {
                    score: decimal(r, 4, what)?,
                    grade: text(r, 5, what)?,
                    amount: decimal(r, 6, what)?,
                },
                unit: text(r, 7, what)?.unwrap_or_default(),
            })
        })
        .collect()
    }

    /// The disputes, newest first: of one period, or all; only those still holding a settlement
    /// back with `open_only`.
    pub(crate) async fn disputes(&self, period: Option<(JobKind, &str)>, open_only: bool) -> Result<Vec<Dispute>> {
        let mut text = format!("SELECT {COLUMNS} FROM disputes WHERE 1 = 1");
        if period.is_some() {
            text.push_str(" AND job = ? AND period = ?");
        }
        if open_only {
            text.push_str(" AND state IN ('open', 'accepted')");
        }
        text.push_str(" ORDER BY opened_at DESC, dispute_id DESC");
        let text = self.sql(&text);
        let mut q = sqlx::query(&text);
        if let Some((job, p)) = period {
            q = q.bind(job.as_str()).bind(p);
        }
        q.fetch_all(&self.pool).await.map_err(failed("reading the disputes"))?.iter().map(dispute_of).collect()
    }

    pub(crate) async fn dispute(&self, id: &str) -> Result<Option<Dispute>> {
        let text = self.sql(&format!("SELECT {COLUMNS} FROM disputes WHERE dispute_id = ?"));
        let row = sqlx::query(&text).bind(id).fetch_optional(&self.pool).await.map_err(failed("reading a dispute"))?;
        row.as_ref().map(dispute_of).transpose()
    }

    /// Records a dispute, numbered per period and partner (`2026-10-P01-1`); returns its id.
    pub(crate) async fn open_dispute(&self, d: NewDispute<'_>) -> Result<String> {
        let mut tx = self.begin("starting the dispute").await?;
        let earlier: i64 = sqlx::query_scalar(
            &self.sql("SELECT COUNT(*) FROM disputes WHERE job = ? AND period = ? AND partner_id = ?"),
        )
        .bind(d.job.as_str())
        .bind(d.period)
        .bind(d.partner_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(failed("numbering the dispute"))?;
        let id = format!("{}-{}-{}", d.period, d.partner_id, earlier + 1);
        let insert = sql::insert_rows(
            self.dialect,
            "disputes (dispute_id, job, period, partner_id, reason, refs, state, opened_by, opened_at)",
            "?, ?, ?, ?, ?, ?, 'open', ?, ?",
            1,
        );
        sqlx::query(&insert)
            .bind(&id)
            .bind(d.job.as_str())
            .bind(d.period)
            .bind(d.partner_id)
            .bind(d.reason)
            .bind(d.refs.join(";"))
            .bind(d.by)
            .bind(d.at)
            .execute(&mut *tx)
            .await
            .map_err(failed("recording the dispute"))?;
        let detail = format!("dispute {id} by {}: {}; refs {}", d.partner_id, d.reason, d.refs.join(";"));
        audit(&mut tx, self.dialect, [d.at, d.by, "dispute_open", d.job.as_str(), d.period, &detail]).await?;
        commit(tx, "committing the dispute").await?;
        Ok(id)
    }

    /// Decides an open dispute (accepted or rejected), with the decision in the audit trail.
    pub(crate) async fn resolve_dispute(
        &self,
        id: &str,
        accept: bool,
        by: &str,
        note: &str,
        at: &str,
    ) -> Result<Dispute> {
        let Some(d) = self.dispute(id).await? else {
            return Err(StateError::NoDispute { id: id.to_string() }.into());
        };
        if d.state != DisputeState::Open {
            return Err(StateError::Decided {
                id: id.to_string(),
                state: d.state.as_str().to_string(),
                by: d.resolved_by.unwrap_or_default(),
                at: d.resolved_at.unwrap_or_default(),
            }
            .into());
        }
        let state = if accept { DisputeState::Accepted } else { DisputeState::Rejected };
        let mut tx = self.begin("starting the decision").await?;
        let changed = sqlx::query(&self.sql(
            "UPDATE disputes SET state = ?, resolved_by = ?, resolved_at = ?, note = ? \
             WHERE dispute_id = ? AND state = 'open'",
        ))
        .bind(state.as_str())
        .bind(by)
        .bind(at)
        .bind(note)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(failed("deciding the dispute"))?
        .rows_affected();
        if changed != 1 {
            return Err(StateError::DecidedMeanwhile { id: id.to_string() }.into());
        }
        let action = if accept { "dispute_accept" } else { "dispute_reject" };
        audit(&mut tx, self.dialect, [at, by, action, d.job.as_str(), &d.period, &format!("dispute {id}: {note}")])
            .await?;
        commit(tx, "committing the decision").await?;
        Ok(Dispute { state, resolved_by: Some(by.into()), resolved_at: Some(at.into()), note: Some(note.into()), ..d })
    }

    /// Records a publication's windows (only the partners in `windows`: first told, or whose
    /// figures changed) and marks the accepted disputes of every partner it tells put right
    /// (whether or not the correction changed the figures), inside the publication's
    /// transaction. Returns how many disputes were put right.
    pub(super) async fn record_windows(
        &self,
        tx: &mut sqlx::AnyConnection,
        job: JobKind,
        period: &str,
        windows: &[Window],
        told: &[String],
    ) -> Result<u64> {
        let delete =
            self.sql("DELETE FROM dispute_windows WHERE job = ? AND period = ? AND partner_id = ? AND unit = ?");
        let insert = sql::insert_rows(
            self.dialect,
            "dispute_windows (job, period, partner_id, unit, revision, published_at, closes_at, score, grade, amount)",
            "?, ?, ?, ?, ?, ?, ?, {M}, ?, {M}",
            1,
        );
        let correct = self.sql(
            "UPDATE disputes SET state = 'corrected' WHERE job = ? AND period = ? AND partner_id = ? AND state = 'accepted'",
        );
        let mut corrected = 0;
        for w in windows {
            sqlx::query(&delete)
                .bind(job.as_str())
                .bind(period)
                .bind(&w.partner_id)
                .bind(&w.unit)
                .execute(&mut *tx)
                .await
                .map_err(failed("replacing a dispute window"))?;
            sqlx::query(&insert)
                .bind(job.as_str())
                .bind(period)
                .bind(&w.partner_id)
                .bind(&w.unit)
                .bind(w.revision)
                .bind(&w.published_at)
                .bind(&w.closes_at)
                .bind(opt2(w.figures.score))
                .bind(w.figures.grade.clone())
                .bind(opt2(w.figures.amount))
                .execute(&mut *tx)
                .await
                .map_err(failed("recording a dispute window"))?;
        }
        for partner in told {
            corrected += sqlx::query(&correct)
                .bind(job.as_str())
                .bind(period)
                .bind(partner)
                .execute(&mut *tx)
                .await
                .map_err(failed("closing the accepted disputes"))?
                .rows_affected();
        }
        Ok(corrected)
    }

    /// Every period that was computed, newest first.
    pub(crate) async fn period_list(&self) -> Result<Vec<(JobKind, String)>> {
        let what = "period_states";
        sqlx::query("SELECT job, period FROM period_states ORDER BY period DESC, job")
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading the period states"))?
            .iter()
            .map(|r| {
                let job = parsed(&text_req(r, 0, what)?, what, |s| JobKind::parse(s).ok_or("not a job"))?;
                Ok((job, text_req(r, 1, what)?))
            })
            .collect()
    }
}
