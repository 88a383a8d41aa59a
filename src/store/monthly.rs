//! Monthly results: a month's partner results, indicators, evidence and data-quality rows,
//! replaced in one transaction; the grade history the C-grade flag reads; and what `explain`, the
//! scorecards and the reports read back.

use super::{commit, decimal, failed, get, insert_all, join, opt2, parsed, split, sql, text, text_req, Result, Store};
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::monthly::{Evidence, GradeHistory, MonthResult};
use crate::domain::period::Month;
use crate::domain::renewal::MonthlyScore;
use crate::domain::rules::Grade;
use rust_decimal::Decimal;

/// Whether a stored partner was assessed or put on hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartnerStatus {
    Assessed,
    OnHold,
}

impl PartnerStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Assessed => "assessed",
            PartnerStatus::OnHold => "on_hold",
        }
    }
    fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "assessed" => Ok(PartnerStatus::Assessed),
            "on_hold" => Ok(PartnerStatus::OnHold),
            other => Err(format!("not a partner status: {other:?}")),
        }
    }
}

/// A stored partner result (one row of `scores.csv`).
#[derive(Debug, Clone)]
pub(crate) struct StoredPartner {
    pub(crate) partner_name: String,
    pub(crate) status: PartnerStatus,
    pub(crate) effectiveness: Option<Decimal>,
    pub(crate) credit_deduction: Option<Decimal>,
    pub(crate) score: Option<Decimal>,
    pub(crate) grade: Option<Grade>,
    pub(crate) fees_total: Option<Decimal>,
    pub(crate) fees_excluded: Option<Decimal>,
    pub(crate) settlement: Option<Decimal>,
    /// `;`-joined flag codes.
    pub(crate) flags: String,
    /// `;`-joined hold reasons.
    pub(crate) hold_reasons: String,
    pub(crate) rules_hash: String,
}

/// A stored indicator result (one row of `indicators.csv`).
#[derive(Debug, Clone)]
pub(crate) struct StoredIndicator {
    pub(crate) indicator: String,
    pub(crate) measured: Option<Decimal>,
    pub(crate) counted: i64,
    pub(crate) points: Decimal,
    pub(crate) weight: Decimal,
}

/// A stored partner result with its indicators and evidence, for `explain` and the scorecards.
#[derive(Debug, Clone)]
pub(crate) struct StoredExplanation {
    pub(crate) partner: StoredPartner,
    pub(crate) indicators: Vec<StoredIndicator>,
    pub(crate) evidence: Vec<Evidence>,
}

/// A partner of a stored month with its settlement (finance export, scorecards).
#[derive(Debug, Clone)]
pub(crate) struct MonthPartner {
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    pub(crate) settlement: Option<Decimal>,
}

fn grade(value: Option<String>, what: &str) -> Result<Option<Grade>> {
    value.map(|g| parsed(&g, what, |s| Grade::parse(s).ok_or_else(|| format!("not a grade: {s:?}")))).transpose()
}

fn month(value: &str, what: &str) -> Result<Month> {
    parsed(value, what, str::parse::<Month>)
}

impl Store {
    /// Grades of the months before `month` within the C-grade window.
    pub(crate) async fn grade_history(&self, month_: Month, window_months: u32) -> Result<GradeHistory> {
        let first = month_.plus(-(window_months as i32 - 1)).to_string();
        let rows = sqlx::query(
            &self.sql("SELECT month, partner_id, grade FROM monthly_partner_results WHERE month >= ? AND month < ?"),
        )
        .bind(&first)
        .bind(month_.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the grade history"))?;
        let mut history = GradeHistory::default();
        for r in rows {
            let what = "monthly_partner_results";
            let m = month(&text_req(&r, 0, what)?, what)?;
            let g = grade(text(&r, 2, what)?, what)?;
            history.grades.entry(text_req(&r, 1, what)?).or_default().insert(m, g);
        }
        let runs = sqlx::query(&self.sql("SELECT month FROM monthly_runs WHERE month >= ? AND month < ?"))
            .bind(&first)
            .bind(month_.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading the run history"))?;
        for r in runs {
            history.months_run.insert(month(&text_req(&r, 0, "monthly_runs")?, "monthly_runs")?);
        }
        Ok(history)
    }

    /// Replaces the month's results, indicators, evidence and data-quality rows in one
    /// transaction, which commits only while `run_id` still holds the period.
    pub(crate) async fn save_month(
        &self,
        result: &MonthResult,
        rules_hash: &str,
        computed_at: &str,
        run_id: Option<&str>,
    ) -> Result<()> {
        let m = result.month.to_string();
        let d = self.dialect;
        // The evidence is encoded before the transaction opens: it is the month's heavy part.
        let started = std::time::Instant::now();
        let frames = super::evidence::encode_month(&result.evidence, &result.data_quality)?;
        tracing::debug!(
            seconds = started.elapsed().as_secs_f64(),
            bytes = frames.iter().map(|f| f.bytes()).sum::<usize>(),
            "evidence encoded"
        );
        let mut tx = self.begin("starting the store write").await?;
        self.ensure_claim(&mut tx, run_id).await?;
        for table in [
            "monthly_evidence_frames",
            "monthly_evidence",
            "monthly_data_quality",
            "monthly_indicator_results",
            "monthly_partner_results",
            "monthly_runs",
        ] {
            sqlx::query(&self.sql(&format!("DELETE FROM {table} WHERE month = ?")))
                .bind(&m)
                .execute(&mut *tx)
                .await
                .map_err(failed("replacing the month"))?;
        }
        let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count() as i64;
        sqlx::query(&sql::insert_rows(
            d,
            "monthly_runs (month, rules_hash, computed_at, partners, on_hold, quarantined, missing_history_months)",
            "?, ?, ?, ?, ?, ?, ?",
            1,
        ))
        .bind(&m)
        .bind(rules_hash)
        .bind(computed_at)
        .bind(result.partners.len() as i64)
        .bind(on_hold)
        .bind(result.data_quality.len() as i64)
        .bind(result.missing_history_months.len() as i64)
        .execute(&mut *tx)
        .await
        .map_err(failed("storing the month"))?;
        insert_all(
            &mut tx,
            d,
            "monthly_partner_results (month, partner_id, partner_name, status, effectiveness, credit_deduction, \
             score, grade, fees_total, fees_excluded, settlement, c_grades_window, flags, hold_reasons, \
             departments, rules_hash)",
            "?, ?, ?, ?, {M}, {M}, {M}, ?, {M}, {M}, {M}, ?, ?, ?, ?, ?",
            &result.partners,
            500,
            |q, p| {
                let a = p.assessment.as_ref();
                let status = if a.is_some() { PartnerStatus::Assessed } else { PartnerStatus::OnHold };
                q.bind(m.clone())
                    .bind(&p.partner_id)
                    .bind(&p.partner_name)
                    .bind(status.as_str())
                    .bind(opt2(a.map(|a| a.effectiveness)))
                    .bind(opt2(a.map(|a| a.credit_deduction)))
                    .bind(opt2(a.map(|a| a.score)))
                    .bind(a.map(|a| a.grade.as_str()))
                    .bind(opt2(a.map(|a| a.fees_total)))
                    .bind(opt2(a.map(|a| a.fees_excluded)))
                    .bind(opt2(a.map(|a| a.settlement)))
                    .bind(p.c_grades_window as i64)
                    .bind(join(p.flags.iter().map(|f| f.as_str())))
                    .bind(join(&p.hold_reasons))
                    .bind(join(&p.departments))
                    .bind(rules_hash.to_string())
            },
        )
        .await
        .map_err(failed("storing the partner results"))?;
        insert_all(
            &mut tx,
            d,
            "monthly_indicator_results (month, partner_id, indicator, measured, counted, points, weight)",
            "?, ?, ?, {M}, ?, {M}, {M}",
            &result.indicators,
            1000,
            |q, i| {
                q.bind(m.clone())
                    .bind(&i.partner_id)
                    .bind(&i.indicator)
                    .bind(opt2(i.measured))
                    .bind(i.counted as i64)
                    .bind(fmt2(i.points))
                    .bind(fmt2(i.weight))
            },
        )
        .await
        .map_err(failed("storing the indicator results"))?;
        self.write_evidence(&mut tx, &m, &frames).await?;
        self.mark_draft(&mut tx, JobKind::Monthly, &m, computed_at).await?;
        commit(tx, "committing the month").await
    }

    /// Stored monthly rows of the months in `[first, last]`.
    pub(crate) async fn stored_months(&self, first: Month, last: Month) -> Result<Vec<MonthlyScore>> {
        let rows = sqlx::query(&self.sql(
            "SELECT month, partner_id, {m:score}, grade, {m:settlement}, flags, hold_reasons \
             FROM monthly_partner_results WHERE month >= ? AND month <= ? ORDER BY month, partner_id",
        ))
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading stored months"))?;
        let what = "monthly_partner_results";
        rows.iter()
            .map(|r| {
                Ok(MonthlyScore {
                    month: month(&text_req(r, 0, what)?, what)?,
                    partner_id: text_req(r, 1, what)?,
                    score: decimal(r, 2, what)?,
                    grade: grade(text(r, 3, what)?, what)?,
                    settlement: decimal(r, 4, what)?,
                    flags: split(text(r, 5, what)?),
                    hold_reasons: split(text(r, 6, what)?),
                })
            })
            .collect()
    }

    /// Everything stored about one partner's month; `None` when it was not assessed then.
    pub(crate) async fn explanation(&self, month_: Month, partner: &str) -> Result<Option<StoredExplanation>> {
        let m = month_.to_string();
        let what = "monthly_partner_results";
        let Some(row) = sqlx::query(&self.sql(
            "SELECT partner_name, status, {m:effectiveness}, {m:credit_deduction}, {m:score}, grade, {m:fees_total}, \
             {m:fees_excluded}, {m:settlement}, flags, hold_reasons, rules_hash FROM monthly_partner_results \
             WHERE month = ? AND partner_id = ?",
        ))
        .bind(&m)
        .bind(partner)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed("reading the partner's month"))?
        else {
            return Ok(None);
        };
        let stored = StoredPartner {
            partner_name: text(&row, 0, what)?.unwrap_or_default(),
            status: parsed(&text_req(&row, 1, what)?, what, PartnerStatus::parse)?,
            effectiveness: decimal(&row, 2, what)?,
            credit_deduction: decimal(&row, 3, what)?,
            score: decimal(&row, 4, what)?,
            grade: grade(text(&row, 5, what)?, what)?,
            fees_total: decimal(&row, 6, what)?,
            fees_excluded: decimal(&row, 7, what)?,
            settlement: decimal(&row, 8, what)?,
            flags: text(&row, 9, what)?.unwrap_or_default(),
            hold_reasons: text(&row, 10, what)?.unwrap_or_default(),
            rules_hash: text(&row, 11, what)?.unwrap_or_default(),
        };
        let what = "monthly_indicator_results";
        let indicators = sqlx::query(&self.sql(
            "SELECT indicator, {m:measured}, counted, {m:points}, {m:weight} FROM monthly_indicator_results \
             WHERE month = ? AND partner_id = ? ORDER BY {seq}",
        ))
        .bind(&m)
        .bind(partner)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the partner's indicators"))?
        .iter()
        .map(|r| {
            Ok(StoredIndicator {
                indicator: text_req(r, 0, what)?,
                measured: decimal(r, 1, what)?,
                counted: get(r, 2, what)?,
                points: decimal(r, 3, what)?.unwrap_or_default(),
                weight: decimal(r, 4, what)?.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let evidence = self.partner_evidence(month_, partner).await?;
        Ok(Some(StoredExplanation { partner: stored, indicators, evidence }))
    }

    /// Partners of a stored month with their settlement (for the finance export and scorecards).
    pub(crate) async fn month_partners(&self, month_: Month) -> Result<Vec<MonthPartner>> {
        let what = "monthly_partner_results";
        sqlx::query(&self.sql(
            "SELECT partner_id, partner_name, {m:settlement} FROM monthly_partner_results WHERE month = ? \
             ORDER BY partner_id",
        ))
        .bind(month_.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the month's partners"))?
        .iter()
        .map(|r| {
            Ok(MonthPartner {
                partner_id: text_req(r, 0, what)?,
                partner_name: text(r, 1, what)?.unwrap_or_default(),
                settlement: decimal(r, 2, what)?,
            })
        })
        .collect()
    }
}
