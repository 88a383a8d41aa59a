//! A period's own state (computed, and whether departmental records changed since) and the
//! snapshot of each item's last approved figures, so that a reapproval shows what changed. Who
//! approved which unit is `units.rs`'s.

use super::{decimal, failed, sql, text, text_req, Result, Store};
use crate::domain::job::JobKind;
pub(crate) use crate::domain::units::{Change, Figures};
use rust_decimal::Decimal;
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet};

/// The items of a period and their figures; the key is built here, not in SQL (MySQL's `||` is OR).
fn items_sql(job: JobKind) -> &'static str {
    match job {
        JobKind::Monthly => {
            "SELECT partner_id, '', {m:score}, grade, {m:settlement} FROM monthly_partner_results WHERE month = ?"
        }
        JobKind::Annual => {
            "SELECT partner_id, annual_grade, {m:average_score}, tier, {m:credit_points} FROM annual_results \
             WHERE year = ?"
        }
        _ => {
            "SELECT project_id, partner_id, {m:assessment_score}, status, {m:amount} FROM presales_results \
             WHERE quarter = ?"
        }
    }
}

/// The key of a period's item as the store's rows give it.
pub(crate) fn item_key(job: JobKind, first: String, second: &str) -> String {
    match job {
        JobKind::Quarterly => format!("{first}/{second}"),
        _ => first,
    }
}

impl Store {
    /// Whether the period was computed (a draft is stored), and when departmental records
    /// changed since (`Some(Some(at))`: it must be rerun before it is approved).
    pub(crate) async fn computed(&self, job: JobKind, period: &str) -> Result<Option<Option<String>>> {
        let row = sqlx::query(&self.sql("SELECT records_changed_at FROM period_states WHERE job = ? AND period = ?"))
            .bind(job.as_str())
            .bind(period)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("reading the period state"))?;
        row.map(|r| text(&r, 0, "period_states")).transpose()
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

    /// Every item of a period with its figures.
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
                let grade = match (job, text(r, 3, what)?) {
                    (JobKind::Annual, tier) => Some(format!("{second}/{}", tier.unwrap_or_default())),
                    (_, grade) => grade,
                };
                Ok((
                    item_key(job, first, &second),
                    Figures { score: decimal(r, 2, what)?, grade, amount: decimal(r, 4, what)? },
                ))
            })
            .collect()
    }

    /// Replaces the approved snapshot of `items` (those of the units being approved) inside the
    /// approval's transaction; returns what changed since they were last approved (nothing on a
    /// first approval).
    pub(super) async fn snapshot(
        &self,
        tx: &mut AnyConnection,
        job: JobKind,
        period: &str,
        items: &BTreeMap<String, Figures>,
    ) -> Result<Vec<Change>> {
        let what = "approved_snapshots";
        let before: BTreeMap<String, Figures> = sqlx::query(
            &self.sql("SELECT item, {m:score}, grade, {m:amount} FROM approved_snapshots WHERE job = ? AND period = ?"),
        )
        .bind(job.as_str())
        .bind(period)
        .fetch_all(&mut *tx)
        .await
        .map_err(failed("reading the approved snapshot"))?
        .iter()
        .map(|r| {
            Ok((
                text_req(r, 0, what)?,
                Figures { score: decimal(r, 1, what)?, grade: text(r, 2, what)?, amount: decimal(r, 3, what)? },
            ))
        })
        .collect::<Result<BTreeMap<_, _>>>()?
        .into_iter()
        .filter(|(k, _)| items.contains_key(k))
        .collect();
        let mut changes = Vec::new();
        if !before.is_empty() {
            let keys: BTreeSet<&String> = before.keys().chain(items.keys()).collect();
            for k in keys {
                let (b, a) = (before.get(k), items.get(k));
                if b != a {
                    changes.push(Change { item: k.clone(), before: b.cloned(), after: a.cloned() });
                }
            }
        }
        let delete = self.sql("DELETE FROM approved_snapshots WHERE job = ? AND period = ? AND item = ?");
        let insert = sql::insert_rows(
            self.dialect,
            "approved_snapshots (job, period, item, score, grade, amount)",
            "?, ?, ?, {M}, ?, {M}",
            1,
        );
        let money = |d: Option<Decimal>| d.map(crate::domain::money::fmt2);
        for (item, f) in items {
            sqlx::query(&delete)
                .bind(job.as_str())
                .bind(period)
                .bind(item)
                .execute(&mut *tx)
                .await
                .map_err(failed("replacing the approved snapshot"))?;
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
        Ok(changes)
    }
}
