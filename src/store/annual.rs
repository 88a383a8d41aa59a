//! The annual results (rules.md §10, §12): stored once the year is over, each partner with the
//! departments that approve it (those of its assessed months), and read back for publication.

use super::{commit, decimal, failed, get, insert_all, join, opt2, parsed, split, text, text_req, Result, Store};
use crate::domain::annual::AnnualRow;
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::rules::Grade;
use std::collections::{BTreeMap, BTreeSet};

impl Store {
    /// The departments of each partner's assessed months of the year: who approves its result.
    pub(crate) async fn year_departments(&self, year: i32) -> Result<BTreeMap<String, BTreeSet<String>>> {
        let what = "monthly_partner_results";
        let rows = sqlx::query(&self.sql(
            "SELECT partner_id, departments FROM monthly_partner_results WHERE month LIKE ? AND status = 'assessed'",
        ))
        .bind(format!("{year:04}-%"))
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the year's departments"))?;
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &rows {
            out.entry(text_req(r, 0, what)?).or_default().extend(split(text(r, 1, what)?));
        }
        Ok(out)
    }

    /// Replaces the year's results in one transaction (committing only while `run_id` holds the
    /// year); the partners in `keep` (of departments approved or published) stay as stored.
    pub(crate) async fn save_year(
        &self,
        year: i32,
        rows: &[AnnualRow],
        departments: &BTreeMap<String, BTreeSet<String>>,
        keep: &BTreeSet<String>,
        stamp: (&str, &str),
        run_id: Option<&str>,
    ) -> Result<()> {
        let (rules_hash, computed_at) = stamp;
        let y = year.to_string();
        let mut tx = self.begin("starting the store write").await?;
        self.ensure_claim(&mut tx, run_id).await?;
        let stored: Vec<String> = sqlx::query(&self.sql("SELECT partner_id FROM annual_results WHERE year = ?"))
            .bind(&y)
            .fetch_all(&mut *tx)
            .await
            .map_err(failed("replacing the year"))?
            .iter()
            .map(|r| text_req(r, 0, "annual_results"))
            .collect::<Result<_>>()?;
        for partner in stored.iter().filter(|p| !keep.contains(*p)) {
            sqlx::query(&self.sql("DELETE FROM annual_results WHERE year = ? AND partner_id = ?"))
                .bind(&y)
                .bind(partner)
                .execute(&mut *tx)
                .await
                .map_err(failed("replacing the year"))?;
        }
        let fresh: Vec<&AnnualRow> = rows.iter().filter(|r| !keep.contains(&r.partner_id)).collect();
        let empty = BTreeSet::new();
        insert_all(
            &mut tx,
            self.dialect,
            "annual_results (year, partner_id, partner_name, months_assessed, average_score, annual_grade, \
             credit_points, revenue, tier, departments, rules_hash)",
            "?, ?, ?, ?, {M}, ?, {M}, {M}, ?, ?, ?",
            &fresh,
            500,
            |q, r| {
                q.bind(y.clone())
                    .bind(&r.partner_id)
                    .bind(&r.partner_name)
                    .bind(i64::from(r.months_assessed))
                    .bind(opt2(r.average_score))
                    .bind(r.annual_grade.map(|g| g.as_str()))
                    .bind(fmt2(r.credit_points))
                    .bind(fmt2(r.revenue))
                    .bind(r.tier.to_string())
                    .bind(join(departments.get(&r.partner_id).unwrap_or(&empty)))
                    .bind(rules_hash.to_string())
            },
        )
        .await
        .map_err(failed("storing the year"))?;
        self.mark_draft(&mut tx, JobKind::Annual, &y, computed_at).await?;
        commit(tx, "committing the year").await
    }

    /// The year's stored results.
    pub(crate) async fn annual_rows(&self, year: i32) -> Result<Vec<AnnualRow>> {
        let what = "annual_results";
        sqlx::query(&self.sql(
            "SELECT partner_id, partner_name, months_assessed, {m:average_score}, annual_grade, {m:credit_points}, \
             {m:revenue}, tier FROM annual_results WHERE year = ? ORDER BY partner_id",
        ))
        .bind(year.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the year"))?
        .iter()
        .map(|r| {
            let grade = text(r, 4, what)?
                .map(|g| parsed(&g, what, |s| Grade::parse(s).ok_or_else(|| format!("not a grade: {s:?}"))))
                .transpose()?;
            Ok(AnnualRow {
                partner_id: text_req(r, 0, what)?,
                partner_name: text(r, 1, what)?.unwrap_or_default(),
                months_assessed: get::<i64>(r, 2, what)? as u32,
                average_score: decimal(r, 3, what)?,
                annual_grade: grade,
                credit_points: decimal(r, 5, what)?.unwrap_or_default(),
                revenue: decimal(r, 6, what)?.unwrap_or_default(),
                tier: text_req(r, 7, what)?.chars().next().unwrap_or('D'),
                // Not kept: a banned partner's tier is D, which is.
                blacklisted: false,
            })
        })
        .collect()
    }
}
