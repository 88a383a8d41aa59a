//! Monthly results: a month's partner results, indicators, evidence and data-quality rows,
//! replaced in one transaction; the grade history the C-grade flag reads; and what `explain`, the
//! scorecards and the reports read back.

use super::{commit, decimal, failed, get, insert_all, join, opt2, parsed, split, sql, text, text_req, Result, Store};
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::monthly::{
    Assessment, Evidence, Flag, GradeHistory, IndicatorResult, MonthResult, PartnerResult, Rows,
};
use crate::domain::period::Month;
use crate::domain::renewal::MonthlyScore;
use crate::domain::rules::Grade;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

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
    /// transaction, which commits only while `run_id` still holds the period. The partners in
    /// `keep` (of units approved or published) keep their stored rows exactly as they were: the
    /// others' rows are replaced, and their evidence goes into a new generation of parts.
    pub(crate) async fn save_month(
        &self,
        result: &MonthResult,
        keep: &BTreeSet<String>,
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
        let generation = if keep.is_empty() {
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
            0
        } else {
            let stored: Vec<String> =
                sqlx::query(&self.sql("SELECT partner_id FROM monthly_partner_results WHERE month = ?"))
                    .bind(&m)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(failed("replacing the month"))?
                    .iter()
                    .map(|r| text_req(r, 0, "monthly_partner_results"))
                    .collect::<Result<_>>()?;
            for partner in stored.iter().filter(|p| !keep.contains(*p)) {
                for table in ["monthly_indicator_results", "monthly_partner_results"] {
                    sqlx::query(&self.sql(&format!("DELETE FROM {table} WHERE month = ? AND partner_id = ?")))
                        .bind(&m)
                        .bind(partner)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("replacing the month"))?;
                }
            }
            for (table, condition) in [
                ("monthly_evidence_frames", " AND kind = 'data_quality'"),
                ("monthly_evidence", ""),
                ("monthly_data_quality", ""),
            ] {
                sqlx::query(&self.sql(&format!("DELETE FROM {table} WHERE month = ?{condition}")))
                    .bind(&m)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("replacing the month"))?;
            }
            let last: Option<i64> =
                sqlx::query_scalar(&self.sql("SELECT MAX(generation) FROM monthly_evidence_frames WHERE month = ?"))
                    .bind(&m)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(failed("replacing the month"))?;
            last.map_or(0, |g| g + 1)
        };
        let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count() as i64;
        // The kept partners' rows refer to the month's run row: it is replaced in place.
        sqlx::query(&self.sql(
            "DELETE FROM monthly_runs WHERE month = ? AND NOT EXISTS \
             (SELECT 1 FROM monthly_partner_results WHERE month = ?)",
        ))
        .bind(&m)
        .bind(&m)
        .execute(&mut *tx)
        .await
        .map_err(failed("replacing the month"))?;
        sqlx::query(&self.sql(
            "UPDATE monthly_runs SET rules_hash = ?, computed_at = ?, partners = ?, on_hold = ?, quarantined = ?, \
             missing_history_months = ? WHERE month = ?",
        ))
        .bind(rules_hash)
        .bind(computed_at)
        .bind(result.partners.len() as i64)
        .bind(on_hold)
        .bind(result.data_quality.len() as i64)
        .bind(result.missing_history_months.len() as i64)
        .bind(&m)
        .execute(&mut *tx)
        .await
        .map_err(failed("storing the month"))?;
        sqlx::query(&sql::insert_ignore(
            d,
            "monthly_runs (month, rules_hash, computed_at, partners, on_hold, quarantined, missing_history_months)",
            "(?, ?, ?, ?, ?, ?, ?)",
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
        let partners: Vec<&PartnerResult> = result.partners.iter().filter(|p| !keep.contains(&p.partner_id)).collect();
        insert_all(
            &mut tx,
            d,
            "monthly_partner_results (month, partner_id, partner_name, status, effectiveness, credit_deduction, \
             score, grade, fees_total, fees_excluded, settlement, c_grades_window, flags, hold_reasons, \
             departments, rules_hash, evidence_generation)",
            "?, ?, ?, ?, {M}, {M}, {M}, ?, {M}, {M}, {M}, ?, ?, ?, ?, ?, ?",
            &partners,
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
                    .bind(generation)
            },
        )
        .await
        .map_err(failed("storing the partner results"))?;
        let indicators: Vec<&IndicatorResult> =
            result.indicators.iter().filter(|i| !keep.contains(&i.partner_id)).collect();
        insert_all(
            &mut tx,
            d,
            "monthly_indicator_results (month, partner_id, indicator, measured, counted, points, weight)",
            "?, ?, ?, {M}, ?, {M}, {M}",
            &indicators,
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
        self.write_evidence(&mut tx, &m, &frames, generation).await?;
        // Parts no partner row points at any more go.
        sqlx::query(&self.sql(
            "DELETE FROM monthly_evidence_frames WHERE month = ? AND kind <> 'data_quality' AND generation NOT IN \
             (SELECT DISTINCT evidence_generation FROM monthly_partner_results WHERE month = ?)",
        ))
        .bind(&m)
        .bind(&m)
        .execute(&mut *tx)
        .await
        .map_err(failed("replacing the month"))?;
        self.mark_draft(&mut tx, JobKind::Monthly, &m, computed_at).await?;
        commit(tx, "committing the month").await
    }

    /// The stored results of some partners of a month, as the assessment gives them: what a
    /// rerun keeps for the partners of approved units.
    pub(crate) async fn stored_results(
        &self,
        month_: Month,
        partners: &BTreeSet<String>,
    ) -> Result<(Vec<PartnerResult>, Vec<IndicatorResult>)> {
        self.stored_results_of(month_, |p| partners.contains(p)).await
    }

    /// Every stored result of a month (a what-if compares with them).
    pub(crate) async fn stored_month(&self, month_: Month) -> Result<(Vec<PartnerResult>, Vec<IndicatorResult>)> {
        self.stored_results_of(month_, |_| true).await
    }

    async fn stored_results_of(
        &self,
        month_: Month,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<(Vec<PartnerResult>, Vec<IndicatorResult>)> {
        let m = month_.to_string();
        let what = "monthly_partner_results";
        let rows = sqlx::query(&self.sql(
            "SELECT partner_id, partner_name, status, {m:effectiveness}, {m:credit_deduction}, {m:score}, grade, \
             {m:fees_total}, {m:fees_excluded}, {m:settlement}, c_grades_window, flags, hold_reasons, departments \
             FROM monthly_partner_results WHERE month = ? ORDER BY partner_id",
        ))
        .bind(&m)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the kept results"))?;
        let mut out = Vec::new();
        for r in &rows {
            let partner_id = text_req(r, 0, what)?;
            if !wanted(&partner_id) {
                continue;
            }
            let status = parsed(&text_req(r, 2, what)?, what, PartnerStatus::parse)?;
            let money = |i| decimal(r, i, what).map(Option::unwrap_or_default);
            let assessment = match (status, grade(text(r, 6, what)?, what)?) {
                (PartnerStatus::Assessed, Some(g)) => Some(Assessment {
                    effectiveness: money(3)?,
                    credit_deduction: money(4)?,
                    score: money(5)?,
                    grade: g,
                    fees_total: money(7)?,
                    fees_excluded: money(8)?,
                    settlement: money(9)?,
                }),
                _ => None,
            };
            let flags = split(text(r, 11, what)?)
                .iter()
                .map(|f| parsed(f, what, |s| Flag::parse(s).ok_or_else(|| format!("not a flag: {s:?}"))))
                .collect::<Result<_>>()?;
            out.push(PartnerResult {
                partner_id,
                partner_name: text(r, 1, what)?.unwrap_or_default(),
                assessment,
                c_grades_window: get::<i64>(r, 10, what)? as u32,
                flags,
                hold_reasons: split(text(r, 12, what)?),
                departments: split(text(r, 13, what)?),
            });
        }
        let what = "monthly_indicator_results";
        let rows = sqlx::query(&self.sql(
            "SELECT partner_id, indicator, {m:measured}, counted, {m:points}, {m:weight} FROM monthly_indicator_results \
             WHERE month = ? ORDER BY partner_id, indicator",
        ))
        .bind(&m)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the kept results"))?;
        let mut indicators = Vec::new();
        for r in &rows {
            let partner_id = text_req(r, 0, what)?;
            if !wanted(&partner_id) {
                continue;
            }
            indicators.push(IndicatorResult {
                partner_id,
                indicator: text_req(r, 1, what)?,
                measured: decimal(r, 2, what)?,
                counted: get::<i64>(r, 3, what)? as u64,
                points: decimal(r, 4, what)?.unwrap_or_default(),
                weight: decimal(r, 5, what)?.unwrap_or_default(),
            });
        }
        Ok((out, indicators))
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
        let partners = BTreeSet::from([partner.to_string()]);
        Ok(self.explanations(month_, &partners, Rows::Exceptions).await?.remove(partner))
    }

    /// Everything stored about some partners' month (those assessed then): their rows and
    /// indicators in one query each, their evidence in one pass over the month's parts.
    pub(crate) async fn explanations(
        &self,
        month_: Month,
        partners: &BTreeSet<String>,
        which: Rows,
    ) -> Result<BTreeMap<String, StoredExplanation>> {
        let m = month_.to_string();
        let what = "monthly_partner_results";
        let mut stored: BTreeMap<String, StoredPartner> = BTreeMap::new();
        for row in sqlx::query(&self.sql(
            "SELECT partner_id, partner_name, status, {m:effectiveness}, {m:credit_deduction}, {m:score}, grade, \
             {m:fees_total}, {m:fees_excluded}, {m:settlement}, flags, hold_reasons, rules_hash \
             FROM monthly_partner_results WHERE month = ?",
        ))
        .bind(&m)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the partners' month"))?
        {
            let partner = text_req(&row, 0, what)?;
            if !partners.contains(&partner) {
                continue;
            }
            let p = StoredPartner {
                partner_name: text(&row, 1, what)?.unwrap_or_default(),
                status: parsed(&text_req(&row, 2, what)?, what, PartnerStatus::parse)?,
                effectiveness: decimal(&row, 3, what)?,
                credit_deduction: decimal(&row, 4, what)?,
                score: decimal(&row, 5, what)?,
                grade: grade(text(&row, 6, what)?, what)?,
                fees_total: decimal(&row, 7, what)?,
                fees_excluded: decimal(&row, 8, what)?,
                settlement: decimal(&row, 9, what)?,
                flags: text(&row, 10, what)?.unwrap_or_default(),
                hold_reasons: text(&row, 11, what)?.unwrap_or_default(),
                rules_hash: text(&row, 12, what)?.unwrap_or_default(),
            };
            stored.insert(partner, p);
        }
        let what = "monthly_indicator_results";
        let mut indicators: BTreeMap<String, Vec<StoredIndicator>> = BTreeMap::new();
        for r in sqlx::query(&self.sql(
            "SELECT partner_id, indicator, {m:measured}, counted, {m:points}, {m:weight} \
             FROM monthly_indicator_results WHERE month = ? ORDER BY {seq}",
        ))
        .bind(&m)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the partners' indicators"))?
        {
            let partner = text_req(&r, 0, what)?;
            if !stored.contains_key(&partner) {
                continue;
            }
            indicators.entry(partner).or_default().push(StoredIndicator {
                indicator: text_req(&r, 1, what)?,
                measured: decimal(&r, 2, what)?,
                counted: get(&r, 3, what)?,
                points: decimal(&r, 4, what)?.unwrap_or_default(),
                weight: decimal(&r, 5, what)?.unwrap_or_default(),
            });
        }
        let found: BTreeSet<String> = stored.keys().cloned().collect();
        let mut evidence = self.evidence_of(month_, &found, which).await?;
        Ok(stored
            .into_iter()
            .map(|(id, partner)| {
                let e = StoredExplanation {
                    partner,
                    indicators: indicators.remove(&id).unwrap_or_default(),
                    evidence: evidence.remove(&id).unwrap_or_default(),
                };
                (id, e)
            })
            .collect())
    }
}
