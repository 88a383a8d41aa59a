//! Where each approving unit of a period stands (rules.md §12): approved (who, as which
//! operating-system user, on which host, when), published, settled with finance; and each step in
//! one transaction with its audit line. A unit without a row is a draft. Stores that approved
//! whole periods before units existed are converted when opened for writing.

use super::audit::audit;
use super::disputes::Window;
use super::outbox::OutboxMessage;
use super::{commit, failed, join, parsed, split, sql, text, text_req, Result, Store};
use crate::domain::job::JobKind;
use crate::domain::refusal::StateError;
use crate::domain::units::{Change, Figures, Membership, UnitStatus};
use std::collections::{BTreeMap, BTreeSet};

/// A unit's recorded decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnitState {
    pub(crate) status: UnitStatus,
    pub(crate) approved_by: String,
    pub(crate) approved_at: String,
    pub(crate) published_at: Option<String>,
    pub(crate) settled_at: Option<String>,
}

/// Who acts: the name given, the operating-system user and the host, and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor<'a> {
    pub(crate) by: &'a str,
    pub(crate) user: &'a str,
    pub(crate) host: &'a str,
    pub(crate) at: &'a str,
}

impl Actor<'_> {
    /// The actor as the audit trail records it.
    fn recorded(&self) -> String {
        format!("{} ({}@{})", self.by, self.user, self.host)
    }
}

fn status(s: &str) -> std::result::Result<UnitStatus, String> {
    match s {
        "approved" => Ok(UnitStatus::Approved),
        "published" => Ok(UnitStatus::Published),
        other => Err(format!("not a unit state: {other:?}")),
    }
}

/// A unit's rows of a period, as the settlement hands them to finance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettledItem {
    pub(crate) item: String,
    /// Every unit the item belongs to.
    pub(crate) units: BTreeSet<String>,
    /// The unit whose settlement released it.
    pub(crate) unit: String,
    pub(crate) settled_at: String,
}

/// What a publication releases: the partners' dispute windows (new or changed), every
/// partner it tells, and the messages that tell them.
#[derive(Clone, Copy)]
pub(crate) struct Release<'a> {
    pub(crate) windows: &'a [Window],
    pub(crate) told: &'a [String],
    pub(crate) messages: &'a [OutboxMessage],
}

impl Store {
    /// The recorded decisions of every unit of a period that has some.
    pub(crate) async fn unit_states(&self, job: JobKind, period: &str) -> Result<BTreeMap<String, UnitState>> {
        let what = "unit_states";
        sqlx::query(&self.sql(
            "SELECT unit, state, approved_by, approved_at, published_at, settled_at FROM unit_states \
             WHERE job = ? AND period = ?",
        ))
        .bind(job.as_str())
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the units' states"))?
        .iter()
        .map(|r| {
            Ok((
                text_req(r, 0, what)?,
                UnitState {
                    status: parsed(&text_req(r, 1, what)?, what, status)?,
                    approved_by: text_req(r, 2, what)?,
                    approved_at: text_req(r, 3, what)?,
                    published_at: text(r, 4, what)?,
                    settled_at: text(r, 5, what)?,
                },
            ))
        })
        .collect()
    }

    /// Each unit's status (draft for every unit of `membership` without a decision).
    pub(crate) async fn unit_statuses(
        &self,
        job: JobKind,
        period: &str,
        membership: &Membership,
    ) -> Result<BTreeMap<String, UnitStatus>> {
        let states = self.unit_states(job, period).await?;
        Ok(membership
            .units()
            .into_iter()
            .map(|u| {
                let s = states.get(&u).map_or(UnitStatus::Draft, |s| s.status);
                (u, s)
            })
            .collect())
    }

    /// The items of a stored period and their units: a month's partners and their departments,
    /// a quarter's rows and their commissioning unit, a year's partners with an assessed month.
    pub(crate) async fn membership(&self, job: JobKind, period: &str) -> Result<Membership> {
        let (sql, what) = match job {
            JobKind::Monthly => (
                "SELECT partner_id, '', departments FROM monthly_partner_results WHERE month = ?",
                "monthly_partner_results",
            ),
            JobKind::Quarterly => (
                "SELECT project_id, partner_id, commissioning_unit FROM presales_results WHERE quarter = ?",
                "presales_results",
            ),
            JobKind::Annual => {
                ("SELECT partner_id, '', departments FROM annual_results WHERE year = ?", "annual_results")
            }
            JobKind::Renewal => return Ok(Membership::default()),
        };
        let rows = sqlx::query(&self.sql(sql))
            .bind(period)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading the period's units"))?;
        let mut items = BTreeMap::new();
        for r in &rows {
            let (first, second) = (text_req(r, 0, what)?, text(r, 1, what)?.unwrap_or_default());
            let units = match job {
                JobKind::Quarterly => BTreeSet::from([text(r, 2, what)?.unwrap_or_default()]),
                _ => split(text(r, 2, what)?),
            };
            if !units.is_empty() {
                items.insert(super::approval::item_key(job, first, &second), units);
            }
        }
        Ok(Membership { items })
    }

    /// Approves units of a computed period as one decision: each must be a draft, and the period's
    /// records unchanged since it was computed. Returns what changed for their items since they
    /// were last approved.
    pub(crate) async fn approve_units(
        &self,
        job: JobKind,
        period: &str,
        units: &[String],
        items: &BTreeMap<String, Figures>,
        actor: Actor<'_>,
        comment: Option<&str>,
    ) -> Result<Vec<Change>> {
        let mut tx = self.begin("starting the approval").await?;
        // A run computing the period now would store figures nobody approved under it: wait.
        let running =
            sqlx::query(&self.sql("SELECT run_id FROM run_ledger WHERE job = ? AND period = ? AND status = 'running'"))
                .bind(job.as_str())
                .bind(period)
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed("reading the run ledger"))?;
        if running.is_some() {
            let held = super::ledger::Held { job: job.into(), period: period.to_string(), holder: None };
            return Err(super::StoreError::Held(Box::new(held)));
        }
        // Checked inside the transaction: an import or another approval may have landed.
        let changed =
            sqlx::query(&self.sql("SELECT records_changed_at FROM period_states WHERE job = ? AND period = ?"))
                .bind(job.as_str())
                .bind(period)
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed("reading the period state"))?;
        match changed {
            None => return Err(StateError::NotComputed { job: job.as_str().into(), period: period.into() }.into()),
            Some(r) => {
                if let Some(at) = text(&r, 0, "period_states")? {
                    return Err(
                        StateError::RecordsChanged { job: job.as_str().into(), period: period.into(), at }.into()
                    );
                }
            }
        }
        let insert = sql::insert_rows(
            self.dialect,
            "unit_states (job, period, unit, state, approved_by, approved_at, approved_user, approved_host, comment)",
            "?, ?, ?, 'approved', ?, ?, ?, ?, ?",
            1,
        );
        for unit in units {
            let existing = sqlx::query(
                &self.sql("SELECT approved_by, approved_at FROM unit_states WHERE job = ? AND period = ? AND unit = ?"),
            )
            .bind(job.as_str())
            .bind(period)
            .bind(unit)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed("reading the unit's state"))?;
            if let Some(r) = existing {
                return Err(StateError::AlreadyApproved {
                    unit: unit.clone(),
                    by: text_req(&r, 0, "unit_states")?,
                    at: text_req(&r, 1, "unit_states")?,
                }
                .into());
            }
            sqlx::query(&insert)
                .bind(job.as_str())
                .bind(period)
                .bind(unit)
                .bind(actor.by)
                .bind(actor.at)
                .bind(actor.user)
                .bind(actor.host)
                .bind(comment)
                .execute(&mut *tx)
                .await
                .map_err(failed("approving the unit"))?;
        }
        let changes = self.snapshot(&mut tx, job, period, items).await?;
        let detail = format!(
            "units {}; {}{} changes since the last approval",
            units.join(", "),
            comment.map(|c| format!("{c}; ")).unwrap_or_default(),
            changes.len()
        );
        audit(&mut tx, self.dialect, [actor.at, &actor.recorded(), "approve", job.as_str(), period, &detail]).await?;
        commit(tx, "committing the approval").await?;
        Ok(changes)
    }

    /// Reopens approved or published units so their items can be recomputed; the reason is
    /// recorded. What their settlement handed to finance is withdrawn with them.
    pub(crate) async fn reopen_units(
        &self,
        job: JobKind,
        period: &str,
        units: &[String],
        actor: Actor<'_>,
        reason: &str,
    ) -> Result<()> {
        let mut tx = self.begin("starting the reopening").await?;
        for unit in units {
            let gone = sqlx::query(&self.sql("DELETE FROM unit_states WHERE job = ? AND period = ? AND unit = ?"))
                .bind(job.as_str())
                .bind(period)
                .bind(unit)
                .execute(&mut *tx)
                .await
                .map_err(failed("reopening the unit"))?
                .rows_affected();
            if gone == 0 {
                return Err(StateError::NotApproved { unit: unit.clone() }.into());
            }
            // Every item of the unit goes back: those it released, and those of several units that
            // another released (a converted store's whole-period settlement among them).
            let settled = sqlx::query(&self.sql("SELECT item, units FROM settled_items WHERE job = ? AND period = ?"))
                .bind(job.as_str())
                .bind(period)
                .fetch_all(&mut *tx)
                .await
                .map_err(failed("withdrawing the unit's settlement"))?;
            for r in &settled {
                let (item, units) = (text_req(r, 0, "settled_items")?, split(text(r, 1, "settled_items")?));
                if units.contains(unit) {
                    sqlx::query(&self.sql("DELETE FROM settled_items WHERE job = ? AND period = ? AND item = ?"))
                        .bind(job.as_str())
                        .bind(period)
                        .bind(&item)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("withdrawing the unit's settlement"))?;
                }
            }
        }
        let detail = format!("units {}: {reason}", units.join(", "));
        audit(&mut tx, self.dialect, [actor.at, &actor.recorded(), "reopen", job.as_str(), period, &detail]).await?;
        commit(tx, "committing the reopening").await
    }

    /// Publishes an approved unit in one transaction: its state, the windows of the partners it
    /// tells, their accepted disputes put right, and its messages in the outbox. Nothing of it is
    /// recorded unless all of it is.
    pub(crate) async fn publish_unit(
        &self,
        job: JobKind,
        period: &str,
        unit: &str,
        release: Release<'_>,
        actor: Actor<'_>,
    ) -> Result<usize> {
        let Release { windows, told, messages } = release;
        let mut tx = self.begin("starting the publication").await?;
        let published = sqlx::query(&self.sql(
            "UPDATE unit_states SET state = 'published', published_by = ?, published_at = ?, published_user = ?, \
             published_host = ?, settled_at = NULL WHERE job = ? AND period = ? AND unit = ? AND state = 'approved'",
        ))
        .bind(actor.by)
        .bind(actor.at)
        .bind(actor.user)
        .bind(actor.host)
        .bind(job.as_str())
        .bind(period)
        .bind(unit)
        .execute(&mut *tx)
        .await
        .map_err(failed("publishing the unit"))?
        .rows_affected();
        if published != 1 {
            return Err(StateError::NotApproved { unit: unit.to_string() }.into());
        }
        let corrected = self.record_windows(&mut tx, job, period, windows, told).await?;
        let queued = self.enqueue_in(&mut tx, messages, false, actor.at).await?;
        let detail = format!(
            "unit {unit}: {} partners told ({} new or changed), {queued} messages queued, {corrected} accepted disputes put right",
            told.len(),
            windows.len()
        );
        audit(&mut tx, self.dialect, [actor.at, &actor.recorded(), "publish", job.as_str(), period, &detail]).await?;
        commit(tx, "committing the publication").await?;
        Ok(queued)
    }

    /// Settles a published unit: its items not yet handed to finance whose every unit is settled
    /// now are recorded as settled by it. False when it was not waiting (settled meanwhile, or
    /// reopened).
    pub(crate) async fn settle_unit(
        &self,
        job: JobKind,
        period: &str,
        unit: &str,
        released: &[(String, BTreeSet<String>)],
        messages: &[OutboxMessage],
        actor: Actor<'_>,
    ) -> Result<bool> {
        let mut tx = self.begin("starting the settlement").await?;
        let changed = sqlx::query(&self.sql(
            "UPDATE unit_states SET settled_at = ? \
             WHERE job = ? AND period = ? AND unit = ? AND state = 'published' AND settled_at IS NULL",
        ))
        .bind(actor.at)
        .bind(job.as_str())
        .bind(period)
        .bind(unit)
        .execute(&mut *tx)
        .await
        .map_err(failed("settling the unit"))?
        .rows_affected();
        if changed != 1 {
            return Ok(false);
        }
        let insert = sql::insert_ignore(
            self.dialect,
            "settled_items (job, period, item, units, unit, settled_at)",
            "(?, ?, ?, ?, ?, ?)",
        );
        for (item, units) in released {
            sqlx::query(&insert)
                .bind(job.as_str())
                .bind(period)
                .bind(item)
                .bind(join(units))
                .bind(unit)
                .bind(actor.at)
                .execute(&mut *tx)
                .await
                .map_err(failed("recording the settled items"))?;
        }
        self.enqueue_in(&mut tx, messages, false, actor.at).await?;
        let detail = format!("unit {unit}: {} items to finance", released.len());
        audit(&mut tx, self.dialect, [actor.at, &actor.recorded(), "settle", job.as_str(), period, &detail]).await?;
        commit(tx, "committing the settlement").await?;
        Ok(true)
    }

    /// The items of a period handed to finance so far.
    pub(crate) async fn settled_items(&self, job: JobKind, period: &str) -> Result<Vec<SettledItem>> {
        let what = "settled_items";
        sqlx::query(
            &self.sql(
                "SELECT item, units, unit, settled_at FROM settled_items WHERE job = ? AND period = ? ORDER BY item",
            ),
        )
        .bind(job.as_str())
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the settled items"))?
        .iter()
        .map(|r| {
            Ok(SettledItem {
                item: text_req(r, 0, what)?,
                units: split(text(r, 1, what)?),
                unit: text_req(r, 2, what)?,
                settled_at: text_req(r, 3, what)?,
            })
        })
        .collect()
    }

    /// The published units not yet settled, oldest period first.
    pub(crate) async fn unsettled_units(&self) -> Result<Vec<(JobKind, String, String)>> {
        let what = "unit_states";
        sqlx::query(
            "SELECT job, period, unit FROM unit_states WHERE state = 'published' AND settled_at IS NULL \
             AND job IN ('monthly', 'quarterly') ORDER BY period, job, unit",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the units to settle"))?
        .iter()
        .map(|r| {
            let job = parsed(&text_req(r, 0, what)?, what, |s| JobKind::parse(s).ok_or("not a job"))?;
            Ok((job, text_req(r, 1, what)?, text_req(r, 2, what)?))
        })
        .collect()
    }

    /// Moves approvals of whole periods (before units existed) onto each unit of the period:
    /// the same decision, recorded for every unit. Idempotent: a converted period is a draft at
    /// the period level and has its units' rows.
    pub(super) async fn convert_period_approvals(&self) -> Result<()> {
        let what = "period_states";
        let old = sqlx::query(
            "SELECT job, period, state, approved_by, approved_at, comment, published_at, settled_at FROM period_states \
             WHERE state <> 'draft'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the period states"))?;
        for r in &old {
            let job = parsed(&text_req(r, 0, what)?, what, |s| JobKind::parse(s).ok_or("not a job"))?;
            let period = text_req(r, 1, what)?;
            let membership = self.membership(job, &period).await?;
            let state = text_req(r, 2, what)?;
            let mut tx = self.begin("converting an approval to units").await?;
            let insert = sql::insert_ignore(
                self.dialect,
                "unit_states (job, period, unit, state, approved_by, approved_at, approved_user, approved_host, comment, \
                 published_by, published_at, settled_at)",
                "(?, ?, ?, ?, ?, ?, '', '', ?, ?, ?, ?)",
            );
            for unit in membership.units() {
                sqlx::query(&insert)
                    .bind(job.as_str())
                    .bind(&period)
                    .bind(&unit)
                    .bind(&state)
                    .bind(text(r, 3, what)?.unwrap_or_default())
                    .bind(text(r, 4, what)?.unwrap_or_default())
                    .bind(text(r, 5, what)?)
                    .bind((state == "published").then(String::new))
                    .bind(text(r, 6, what)?)
                    .bind(text(r, 7, what)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("converting an approval to units"))?;
            }
            if text(r, 7, what)?.is_some() {
                // Settled before units: every item went to finance then.
                let items = membership.items.iter().map(|(i, u)| (i.clone(), join(u)));
                let insert = sql::insert_ignore(
                    self.dialect,
                    "settled_items (job, period, item, units, unit, settled_at)",
                    "(?, ?, ?, ?, '', ?)",
                );
                for (item, units) in items {
                    sqlx::query(&insert)
                        .bind(job.as_str())
                        .bind(&period)
                        .bind(item)
                        .bind(units)
                        .bind(text(r, 7, what)?)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("converting an approval to units"))?;
                }
            }
            if job == JobKind::Quarterly {
                // A quarter's partner was told once for all its units: its window is now one per
                // commissioning unit, each with its shares of that unit.
                let shares = sqlx::query(&self.sql(
                    "SELECT partner_id, commissioning_unit, {m:amount} FROM presales_results \
                     WHERE quarter = ? AND status = 'settled'",
                ))
                .bind(&period)
                .fetch_all(&mut *tx)
                .await
                .map_err(failed("converting an approval to units"))?;
                let mut per_unit: BTreeMap<(String, String), rust_decimal::Decimal> = BTreeMap::new();
                for r in &shares {
                    let what = "presales_results";
                    let key = (text_req(r, 0, what)?, text(r, 1, what)?.unwrap_or_default());
                    *per_unit.entry(key).or_default() += super::decimal(r, 2, what)?.unwrap_or_default();
                }
                let old = sqlx::query(&self.sql(
                    "SELECT partner_id, revision, published_at, closes_at FROM dispute_windows \
                     WHERE job = 'quarterly' AND period = ? AND unit = ''",
                ))
                .bind(&period)
                .fetch_all(&mut *tx)
                .await
                .map_err(failed("converting an approval to units"))?;
                let insert = sql::insert_rows(
                    self.dialect,
                    "dispute_windows (job, period, partner_id, unit, revision, published_at, closes_at, amount)",
                    "'quarterly', ?, ?, ?, ?, ?, ?, {M}",
                    1,
                );
                for r in &old {
                    let what = "dispute_windows";
                    let partner = text_req(r, 0, what)?;
                    let (revision, published, closes) =
                        (super::get::<i64>(r, 1, what)?, text_req(r, 2, what)?, text_req(r, 3, what)?);
                    for ((p, unit), amount) in per_unit.iter().filter(|((p, _), _)| *p == partner) {
                        sqlx::query(&insert)
                            .bind(&period)
                            .bind(p)
                            .bind(unit)
                            .bind(revision)
                            .bind(&published)
                            .bind(&closes)
                            .bind(crate::domain::money::fmt2(*amount))
                            .execute(&mut *tx)
                            .await
                            .map_err(failed("converting an approval to units"))?;
                    }
                }
                sqlx::query(
                    &self.sql("DELETE FROM dispute_windows WHERE job = 'quarterly' AND period = ? AND unit = ''"),
                )
                .bind(&period)
                .execute(&mut *tx)
                .await
                .map_err(failed("converting an approval to units"))?;
            }
            sqlx::query(&self.sql("UPDATE period_states SET state = 'draft' WHERE job = ? AND period = ?"))
                .bind(job.as_str())
                .bind(&period)
                .execute(&mut *tx)
                .await
                .map_err(failed("converting an approval to units"))?;
            commit(tx, "committing the converted approval").await?;
            tracing::info!(job = job.as_str(), %period, "moved the period's approval onto its units");
        }
        Ok(())
    }
}
