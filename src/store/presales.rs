//! Presales and renewal state: each quarter's settlements (a project is settled once across
//! quarters), the presales revenue of a year, and the renewal notices sent (one per contract, ever).

use super::{commit, decimal, failed, insert_all, join, sql, text, text_req, Result, Store};
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::period::Quarter;
use crate::domain::presales::QuarterResult;
use crate::domain::renewal::RenewalRow;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// still holds the period.
    pub(crate) async fn save_quarter(
        &self,
        result: &QuarterResult,
        rules_hash: &str,
        computed_at: &str,
        run_id: Option<&str>,
    ) -> Result<()> {
        let q = result.quarter.to_string();
        let d = self.dialect;
        let mut tx = self.begin("starting the store write").await?;
        self.ensure_claim(&mut tx, run_id).await?;
        for table in ["presales_results", "quarterly_runs"] {
            sqlx::query(&self.sql(&format!("DELETE FROM {table} WHERE quarter = ?")))
                .bind(&q)
                .execute(&mut *tx)
                .await
                .map_err(failed("replacing the quarter"))?;
        }
        sqlx::query(&sql::insert_rows(d, "quarterly_runs (quarter, rules_hash, computed_at)", "?, ?, ?", 1))
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
        .await
        .map_err(failed("storing the presales rows"))?;
        self.mark_draft(&mut tx, JobKind::Quarterly, &q, computed_at).await?;
        commit(tx, "committing the quarter").await
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
