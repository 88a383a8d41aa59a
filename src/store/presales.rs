//! Presales and renewal state: each quarter's settlements (a project is settled once across
//! quarters), the presales revenue of a year, and the renewal notices sent (one per contract, ever).

use super::{commit, decimal, failed, insert_all, join, sql, text, text_req, Result, Store};
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::period::Quarter;
use crate::domain::presales::{PresalesRow, QuarterResult, Share, Status};
use crate::domain::renewal::RenewalRow;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

/// A settled presales share of a quarter (the finance export).
#[derive(Debug, Clone)]
pub(crate) struct QuarterSettlement {
    pub(crate) project_id: String,
    pub(crate) partner_id: String,
    pub(crate) commissioning_unit: String,
    pub(crate) amount: Decimal,
}

impl Store {
    /// Projects settled or listed as not payable in any quarter other than `quarter`.
    pub(crate) async fn presales_settled_elsewhere(&self, quarter: Quarter) -> Result<HashSet<String>> {
        let rows = sqlx::query(&self.sql(
            "SELECT DISTINCT project_id FROM presales_results WHERE quarter <> ? AND status IN ('settled', 'not_payable')",
        ))
        .bind(quarter.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading presales settlements"))?;
        rows.iter().map(|r| text_req(r, 0, "presales_results")).collect()
    }

    /// Replaces the quarter's presales rows in one transaction, which commits only while `run_id`
    /// still holds the period. The rows of the commissioning units in `keep` (approved or
    /// published) stay exactly as stored.
    pub(crate) async fn save_quarter(
        &self,
        result: &QuarterResult,
        keep: &BTreeSet<String>,
        rules_hash: &str,
        computed_at: &str,
        run_id: Option<&str>,
    ) -> Result<()> {
        let q = result.quarter.to_string();
        let d = self.dialect;
        let mut tx = self.begin("starting the store write").await?;
        self.ensure_claim(&mut tx, run_id).await?;
        let units: Vec<String> =
            sqlx::query(&self.sql("SELECT DISTINCT commissioning_unit FROM presales_results WHERE quarter = ?"))
                .bind(&q)
                .fetch_all(&mut *tx)
                .await
                .map_err(failed("replacing the quarter"))?
                .iter()
                .map(|r| Ok(text(r, 0, "presales_results")?.unwrap_or_default()))
                .collect::<Result<_>>()?;
        for unit in units.iter().filter(|u| !keep.contains(*u)) {
            sqlx::query(&self.sql("DELETE FROM presales_results WHERE quarter = ? AND commissioning_unit = ?"))
                .bind(&q)
                .bind(unit)
                .execute(&mut *tx)
                .await
                .map_err(failed("replacing the quarter"))?;
        }
        let rows: Vec<&PresalesRow> = result.rows.iter().filter(|r| !keep.contains(&r.commissioning_unit)).collect();
        // The kept units' rows refer to the quarter's run row: it is replaced in place.
        sqlx::query(&self.sql(
            "DELETE FROM quarterly_runs WHERE quarter = ? AND NOT EXISTS (SELECT 1 FROM presales_results WHERE quarter = ?)",
        ))
        .bind(&q)
        .bind(&q)
        .execute(&mut *tx)
        .await
        .map_err(failed("replacing the quarter"))?;
        sqlx::query(&self.sql("UPDATE quarterly_runs SET rules_hash = ?, computed_at = ? WHERE quarter = ?"))
            .bind(rules_hash)
            .bind(computed_at)
            .bind(&q)
            .execute(&mut *tx)
            .await
            .map_err(failed("storing the quarter"))?;
        sqlx::query(&sql::insert_ignore(d, "quarterly_runs (quarter, rules_hash, computed_at)", "(?, ?, ?)"))
            .bind(&q)
            .bind(rules_hash)
            .bind(computed_at)
            .execute(&mut *tx)
            .await
            .map_err(failed("storing the quarter"))?;
        insert_all(
            &mut tx,
            d,
            "presales_results (quarter, project_id, partner_id, project_name, commissioning_unit, project_class, \
             fee_type, base_fee, coefficient, workload_share, assessment_score, amount, status, reason)",
            "?, ?, ?, ?, ?, ?, ?, {M}, ?, ?, {M}, {M}, ?, ?",
            &rows,
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
        .await
        .map_err(failed("storing the presales rows"))?;
        self.mark_draft(&mut tx, JobKind::Quarterly, &q, computed_at).await?;
        commit(tx, "committing the quarter").await
    }

    /// The quarter's stored rows as the settlement gives them (a rerun keeps the rows of its
    /// approved units; a publication builds its forms from them).
    pub(crate) async fn quarter_result(&self, quarter: Quarter) -> Result<QuarterResult> {
        let what = "presales_results";
        let rows = sqlx::query(&self.sql(
            "SELECT project_id, partner_id, project_name, commissioning_unit, project_class, fee_type, {m:base_fee}, \
             coefficient, workload_share, {m:assessment_score}, {m:amount}, status, reason FROM presales_results \
             WHERE quarter = ? ORDER BY project_id, partner_id",
        ))
        .bind(quarter.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the quarter"))?;
        let number = |r: &sqlx::any::AnyRow, i: usize| -> Result<Decimal> {
            let t = text(r, i, what)?.unwrap_or_default();
            super::parsed(&t, what, |s| Decimal::from_str(s).map_err(|e| e.to_string()))
        };
        let mut out = Vec::new();
        for r in &rows {
            let status = match text_req(r, 11, what)?.as_str() {
                "settled" => Status::Settled,
                "held" => Status::Held,
                "not_payable" => Status::NotPayable,
                other => {
                    return Err(super::StoreError::Corrupt {
                        what: what.into(),
                        source: Box::new(std::io::Error::other(format!("not a status: {other:?}"))),
                    })
                }
            };
            let share = if status == Status::Settled {
                Some(Share {
                    partner_id: text_req(r, 1, what)?,
                    fee_type: text(r, 5, what)?.unwrap_or_default(),
                    base_fee: decimal(r, 6, what)?.unwrap_or_default(),
                    coefficient: number(r, 7)?,
                    workload_share: number(r, 8)?,
                    assessment_score: decimal(r, 9, what)?.unwrap_or_default(),
                    amount: decimal(r, 10, what)?.unwrap_or_default(),
                })
            } else {
                None
            };
            out.push(PresalesRow {
                project_id: text_req(r, 0, what)?,
                project_name: text(r, 2, what)?.unwrap_or_default(),
                commissioning_unit: text(r, 3, what)?.unwrap_or_default(),
                project_class: text(r, 4, what)?.unwrap_or_default(),
                status,
                share,
                reasons: super::split(text(r, 12, what)?),
            });
        }
        Ok(QuarterResult { quarter, rows: out })
    }

    /// Projects the most recent quarterly run listed as held.
    pub(crate) async fn latest_held_projects(&self) -> Result<HashSet<String>> {
        let rows = sqlx::query(
            "SELECT project_id FROM presales_results WHERE status = 'held' \
             AND quarter = (SELECT max(quarter) FROM quarterly_runs)",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading held projects"))?;
        rows.iter().map(|r| text_req(r, 0, "presales_results")).collect()
    }

    /// Presales amounts settled in the year's quarters, per partner.
    pub(crate) async fn presales_revenue(&self, year: i32) -> Result<HashMap<String, Decimal>> {
        let rows = sqlx::query(
            &self
                .sql("SELECT partner_id, {m:amount} FROM presales_results WHERE status = 'settled' AND quarter LIKE ?"),
        )
        .bind(format!("{year:04}-Q%"))
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading presales revenue"))?;
        let mut out: HashMap<String, Decimal> = HashMap::new();
        for r in &rows {
            let what = "presales_results";
            *out.entry(text_req(r, 0, what)?).or_default() += decimal(r, 1, what)?.unwrap_or_default();
        }
        Ok(out)
    }

    /// Settled presales shares of a quarter, by project and partner.
    pub(crate) async fn quarter_settlements(&self, quarter: Quarter) -> Result<Vec<QuarterSettlement>> {
        let what = "presales_results";
        sqlx::query(&self.sql(
            "SELECT project_id, partner_id, commissioning_unit, {m:amount} FROM presales_results \
             WHERE quarter = ? AND status = 'settled' ORDER BY project_id, partner_id",
        ))
        .bind(quarter.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the quarter's settlements"))?
        .iter()
        .map(|r| {
            Ok(QuarterSettlement {
                project_id: text_req(r, 0, what)?,
                partner_id: text_req(r, 1, what)?,
                commissioning_unit: text(r, 2, what)?.unwrap_or_default(),
                amount: decimal(r, 3, what)?.unwrap_or_default(),
            })
        })
        .collect()
    }

    /// Contracts whose renewal notice went out, with the day it did.
    pub(crate) async fn renewal_notices(&self) -> Result<BTreeMap<String, NaiveDate>> {
        let rows = sqlx::query("SELECT contract_id, first_as_of FROM renewal_notices")
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading renewal notices"))?;
        let what = "renewal_notices";
        rows.iter()
            .map(|r| {
                let day = text_req(r, 1, what)?;
                let day = super::parsed(&day, what, |d| crate::domain::period::parse_date(d).ok_or("not a date"))?;
                Ok((text_req(r, 0, what)?, day))
            })
            .collect()
    }

    /// The content each department's last renewal list was queued with: the hash its outbox
    /// key carries (`list:<department>:<hash>`). Read from the outbox itself, so a list counts as
    /// sent exactly when its message was recorded.
    pub(crate) async fn renewal_lists(&self) -> Result<BTreeMap<String, String>> {
        let what = "outbox";
        let rows = sqlx::query(
            "SELECT kind FROM outbox WHERE job = 'renewal' AND kind LIKE 'list:%' ORDER BY created_at, period",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading renewal lists"))?;
        let mut out = BTreeMap::new();
        for r in &rows {
            let kind = text_req(r, 0, what)?;
            if let Some((department, hash)) = kind.strip_prefix("list:").and_then(|k| k.rsplit_once(':')) {
                out.insert(department.to_string(), hash.to_string());
            }
        }
        Ok(out)
    }

    /// What each partner must still clear before it leaves (第三十八条), besides its tickets and
    /// held projects: its periods not yet settled with finance, and its disputes still open.
    pub(crate) async fn outstanding(
        &self,
        partners: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, (Vec<String>, Vec<String>)>> {
        let mut out: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
        let months = sqlx::query(
            "SELECT r.partner_id, r.month FROM monthly_partner_results r WHERE r.status = 'assessed' AND NOT EXISTS \
             (SELECT 1 FROM settled_items s WHERE s.job = 'monthly' AND s.period = r.month AND s.item = r.partner_id) \
             ORDER BY r.month",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading what is outstanding"))?;
        for r in &months {
            let partner = text_req(r, 0, "monthly_partner_results")?;
            if partners.contains(&partner) {
                out.entry(partner).or_default().0.push(text_req(r, 1, "monthly_partner_results")?);
            }
        }
        // Quarters are matched here: the item key is built in code (MySQL reads `||` as OR).
        let settled: BTreeSet<(String, String)> =
            sqlx::query("SELECT period, item FROM settled_items WHERE job = 'quarterly'")
                .fetch_all(&self.pool)
                .await
                .map_err(failed("reading what is outstanding"))?
                .iter()
                .map(|r| Ok((text_req(r, 0, "settled_items")?, text_req(r, 1, "settled_items")?)))
                .collect::<Result<_>>()?;
        let shares = sqlx::query(
            "SELECT partner_id, quarter, project_id FROM presales_results WHERE status = 'settled' ORDER BY quarter",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading what is outstanding"))?;
        for r in &shares {
            let what = "presales_results";
            let (partner, quarter, project) = (text_req(r, 0, what)?, text_req(r, 1, what)?, text_req(r, 2, what)?);
            if partners.contains(&partner) && !settled.contains(&(quarter.clone(), format!("{project}/{partner}"))) {
                let periods = &mut out.entry(partner).or_default().0;
                if !periods.contains(&quarter) {
                    periods.push(quarter);
                }
            }
        }
        for d in self.disputes(None, true).await? {
            if partners.contains(&d.partner_id) {
                out.entry(d.partner_id.clone()).or_default().1.push(d.id);
            }
        }
        Ok(out)
    }

    /// Records the notices of this run; a contract noticed before keeps its first day.
    pub(crate) async fn record_renewal_notices(&self, rows: &[RenewalRow], as_of: NaiveDate) -> Result<()> {
        let text = sql::insert_ignore(
            self.dialect,
            "renewal_notices (contract_id, partner_id, owner_email, end_date, first_as_of)",
            "(?, ?, ?, ?, ?)",
        );
        let mut tx = self.begin("starting the store write").await?;
        for r in rows {
            sqlx::query(&text)
                .bind(&r.contract_id)
                .bind(&r.partner_id)
                .bind(&r.owner_email)
                .bind(r.end_date.to_string())
                .bind(as_of.to_string())
                .execute(&mut *tx)
                .await
                .map_err(failed("recording renewal notices"))?;
        }
        commit(tx, "committing renewal notices").await
    }
}
