//! The results store: migrations, monthly results with their evidence, and the grade history the
//! C-grade flag reads. A month is replaced in one transaction, so a failure keeps the old results.

use crate::domain::money::fmt2;
use crate::domain::monthly::{GradeHistory, MonthResult};
use crate::domain::period::{Month, Quarter};
use crate::domain::presales::QuarterResult;
use crate::domain::renewal::{MonthlyScore, RenewalRow};
use crate::domain::rules::Grade;
use crate::error::{classify_sqlx, redact_url, AppError};
use crate::settings::Secret;
use anyhow::Context;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

pub mod approval;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./sql/migrations/sqlite");

pub struct Store {
    pool: SqlitePool,
}

/// Splits `busy_timeout=N` off a store URL's query.
fn busy_timeout(url: &str) -> (String, Duration) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), Duration::from_secs(30)) };
    let mut seconds = 30;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("busy_timeout=") {
            Some(v) => {
                seconds = v.parse().unwrap_or(30);
                false
            }
            None => true,
        })
        .collect();
    let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
    (url, Duration::from_secs(seconds))
}

fn join(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v.join(";")
}

fn opt2(d: Option<Decimal>) -> Option<String> {
    d.map(fmt2)
}

impl Store {
    /// Opens (creating if needed) the store and brings its schema up to date.
    pub async fn connect(url: &Secret) -> anyhow::Result<Self> {
        // `?busy_timeout=SECONDS` (default 30): how long to wait for a store another process holds.
        let (raw, busy) = busy_timeout(url.expose());
        let raw = raw.as_str();
        if !raw.starts_with("sqlite:") {
            return Err(AppError::Usage(format!(
                "store {}: only sqlite:// stores are supported in this version",
                redact_url(raw)
            ))
            .into());
        }
        let options = SqliteConnectOptions::from_str(raw)
            .map_err(|e| AppError::Usage(format!("store URL {}: {e}", redact_url(raw))))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(busy)
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::report::create_private_dir(dir)
                .map_err(|e| AppError::Unavailable(format!("cannot create the store folder {}: {e}", dir.display())))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(|e| AppError::Unavailable(format!("cannot open store {}: {e}", redact_url(raw))))?;
        MIGRATOR.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) if crate::error::is_transient(&inner) => {
                anyhow::Error::from(AppError::Unavailable(format!("store {}: {inner}", redact_url(raw))))
            }
            other => anyhow::anyhow!("migrating the store: {other}"),
        })?;
        // The store holds partners' money: owner and group only.
        let file = options.get_filename();
        if file.exists() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o640));
        }
        Ok(Self { pool })
    }

    /// Grades of the months before `month` within the C-grade window.
    pub async fn grade_history(&self, month: Month, window_months: u32) -> anyhow::Result<GradeHistory> {
        let first = month.plus(-(window_months as i32 - 1)).to_string();
        let rows = sqlx::query(
            "SELECT month, partner_id, grade FROM monthly_partner_results WHERE month >= ?1 AND month < ?2",
        )
        .bind(&first)
        .bind(month.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the grade history"))?;
        let mut history = GradeHistory::default();
        for r in rows {
            let m: Month = r.get::<String, _>(0).parse().map_err(anyhow::Error::msg)?;
            let grade = r.get::<Option<String>, _>(2).as_deref().and_then(Grade::parse);
            history.grades.entry(r.get(1)).or_default().insert(m, grade);
        }
        let runs = sqlx::query("SELECT month FROM monthly_runs WHERE month >= ?1 AND month < ?2")
            .bind(&first)
            .bind(month.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "reading the run history"))?;
        for r in runs {
            history.months_run.insert(r.get::<String, _>(0).parse().map_err(anyhow::Error::msg)?);
        }
        Ok(history)
    }

    /// Replaces the month's results, indicators, evidence and data-quality rows in one transaction.
    pub async fn save_month(&self, result: &MonthResult, rules_hash: &str, computed_at: &str) -> anyhow::Result<()> {
        let m = result.month.to_string();
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the store write"))?;
        for table in [
            "monthly_evidence",
            "monthly_data_quality",
            "monthly_indicator_results",
            "monthly_partner_results",
            "monthly_runs",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE month = ?1")).bind(&m).execute(&mut *tx).await?;
        }
        let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count() as i64;
        sqlx::query("INSERT INTO monthly_runs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .bind(&m)
            .bind(rules_hash)
            .bind(computed_at)
            .bind(result.partners.len() as i64)
            .bind(on_hold)
            .bind(result.data_quality.len() as i64)
            .bind(result.missing_history_months.len() as i64)
            .execute(&mut *tx)
            .await?;
        for chunk in result.partners.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO monthly_partner_results ");
            q.push_values(chunk, |mut b, p| {
                let a = p.assessment.as_ref();
                b.push_bind(&m)
                    .push_bind(&p.partner_id)
                    .push_bind(&p.partner_name)
                    .push_bind(if a.is_some() { "assessed" } else { "on_hold" })
                    .push_bind(opt2(a.map(|a| a.effectiveness)))
                    .push_bind(opt2(a.map(|a| a.credit_deduction)))
                    .push_bind(opt2(a.map(|a| a.score)))
                    .push_bind(a.map(|a| a.grade.as_str()))
                    .push_bind(opt2(a.map(|a| a.fees_total)))
                    .push_bind(opt2(a.map(|a| a.fees_excluded)))
                    .push_bind(opt2(a.map(|a| a.settlement)))
                    .push_bind(p.c_grades_window as i64)
                    .push_bind(join(p.flags.iter().map(|f| f.as_str())))
                    .push_bind(join(&p.hold_reasons))
                    .push_bind(join(&p.departments))
                    .push_bind(rules_hash);
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in result.indicators.chunks(1000) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO monthly_indicator_results ");
            q.push_values(chunk, |mut b, i| {
                b.push_bind(&m)
                    .push_bind(&i.partner_id)
                    .push_bind(&i.indicator)
                    .push_bind(opt2(i.measured))
                    .push_bind(i.counted as i64)
                    .push_bind(fmt2(i.points))
                    .push_bind(fmt2(i.weight));
            });
            q.build().execute(&mut *tx).await?;
        }
        let ts = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        for chunk in result.evidence.chunks(2000) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO monthly_evidence ");
            q.push_values(chunk, |mut b, e| {
                b.push_bind(&m)
                    .push_bind(&e.partner_id)
                    .push_bind(&e.indicator)
                    .push_bind(&e.source)
                    .push_bind(&e.row_id)
                    .push_bind(ts(e.started_at))
                    .push_bind(ts(e.due_at))
                    .push_bind(ts(e.finished_at))
                    .push_bind(&e.outcome)
                    .push_bind(e.value.map(|v| v.normalize().to_string()))
                    .push_bind(&e.detail);
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in result.data_quality.chunks(2000) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO monthly_data_quality ");
            q.push_values(chunk, |mut b, d| {
                b.push_bind(&m).push_bind(&d.source).push_bind(&d.row_id).push_bind(&d.problem);
            });
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query("INSERT OR IGNORE INTO period_states (job, period, state) VALUES ('monthly', ?1, 'draft')")
            .bind(&m)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing the month"))?;
        Ok(())
    }

    /// Stored monthly rows of the months in `[first, last]`.
    pub async fn stored_months(&self, first: Month, last: Month) -> anyhow::Result<Vec<MonthlyScore>> {
        let rows = sqlx::query(
            "SELECT month, partner_id, score, grade, settlement FROM monthly_partner_results \
             WHERE month >= ?1 AND month <= ?2 ORDER BY month, partner_id",
        )
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading stored months"))?;
        let dec = |s: Option<String>| s.and_then(|s| Decimal::from_str(&s).ok());
        rows.into_iter()
            .map(|r| {
                Ok(MonthlyScore {
                    month: r.get::<String, _>(0).parse().map_err(anyhow::Error::msg)?,
                    partner_id: r.get(1),
                    score: dec(r.get(2)),
                    grade: r.get::<Option<String>, _>(3).as_deref().and_then(Grade::parse),
                    settlement: dec(r.get(4)),
                })
            })
            .collect()
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Presales and renewal state.
impl Store {
    /// Projects settled or listed as not payable in any quarter other than `quarter`.
    pub async fn presales_settled_elsewhere(&self, quarter: Quarter) -> anyhow::Result<HashSet<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT project_id FROM presales_results WHERE quarter <> ?1 AND status IN ('settled', 'not_payable')",
        )
        .bind(quarter.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading presales settlements"))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// Replaces the quarter's presales rows in one transaction.
    pub async fn save_quarter(
        &self,
        result: &QuarterResult,
        rules_hash: &str,
        computed_at: &str,
    ) -> anyhow::Result<()> {
        let q = result.quarter.to_string();
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the store write"))?;
        sqlx::query("DELETE FROM presales_results WHERE quarter = ?1").bind(&q).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM quarterly_runs WHERE quarter = ?1").bind(&q).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO quarterly_runs VALUES (?1, ?2, ?3)")
            .bind(&q)
            .bind(rules_hash)
            .bind(computed_at)
            .execute(&mut *tx)
            .await?;
        for chunk in result.rows.chunks(500) {
            let mut b = QueryBuilder::<Sqlite>::new("INSERT INTO presales_results ");
            b.push_values(chunk, |mut v, r| {
                let s = r.share.as_ref();
                v.push_bind(&q)
                    .push_bind(&r.project_id)
                    .push_bind(s.map_or("", |s| s.partner_id.as_str()))
                    .push_bind(&r.project_name)
                    .push_bind(&r.commissioning_unit)
                    .push_bind(&r.project_class)
                    .push_bind(s.map(|s| s.fee_type.clone()))
                    .push_bind(s.map(|s| fmt2(s.base_fee)))
                    .push_bind(s.map(|s| s.coefficient.normalize().to_string()))
                    .push_bind(s.map(|s| s.workload_share.normalize().to_string()))
                    .push_bind(s.map(|s| fmt2(s.assessment_score)))
                    .push_bind(s.map(|s| fmt2(s.amount)))
                    .push_bind(r.status.as_str())
                    .push_bind(join(&r.reasons));
            });
            b.build().execute(&mut *tx).await?;
        }
        sqlx::query("INSERT OR IGNORE INTO period_states (job, period, state) VALUES ('quarterly', ?1, 'draft')")
            .bind(&q)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing the quarter"))?;
        Ok(())
    }

    /// Projects the most recent quarterly run listed as held.
    pub async fn latest_held_projects(&self) -> anyhow::Result<HashSet<String>> {
        let rows = sqlx::query(
            "SELECT project_id FROM presales_results WHERE status = 'held' \
             AND quarter = (SELECT max(quarter) FROM quarterly_runs)",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading held projects"))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// Presales amounts settled in the year's quarters, per partner.
    pub async fn presales_revenue(&self, year: i32) -> anyhow::Result<HashMap<String, Decimal>> {
        let rows =
            sqlx::query("SELECT partner_id, amount FROM presales_results WHERE status = 'settled' AND quarter LIKE ?1")
                .bind(format!("{year:04}-Q%"))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| classify_sqlx(e, "reading presales revenue"))?;
        let mut out: HashMap<String, Decimal> = HashMap::new();
        for r in rows {
            let amount: String = r.get(1);
            *out.entry(r.get(0)).or_default() += Decimal::from_str(&amount)?;
        }
        Ok(out)
    }

    /// Contracts whose renewal notice went out, with the day it did.
    pub async fn renewal_notices(&self) -> anyhow::Result<BTreeMap<String, NaiveDate>> {
        let rows = sqlx::query("SELECT contract_id, first_as_of FROM renewal_notices")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "reading renewal notices"))?;
        let mut out = BTreeMap::new();
        for r in rows {
            let day: String = r.get(1);
            out.insert(r.get(0), crate::domain::period::parse_date(&day).context("stored notice day")?);
        }
        Ok(out)
    }

    /// Records the notices of this run; a contract noticed before keeps its first day.
    pub async fn record_renewal_notices(&self, rows: &[RenewalRow], as_of: NaiveDate) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the store write"))?;
        for r in rows {
            sqlx::query("INSERT OR IGNORE INTO renewal_notices VALUES (?1, ?2, ?3, ?4, ?5)")
                .bind(&r.contract_id)
                .bind(&r.partner_id)
                .bind(&r.owner_email)
                .bind(r.end_date.to_string())
                .bind(as_of.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing renewal notices"))?;
        Ok(())
    }
}

/// A message of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub job: String,
    pub period: String,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub message_id: String,
    pub eml: Vec<u8>,
}

/// The outbox.
impl Store {
    /// Records messages before anything is sent. A message already recorded for the same
    /// (job, period, recipient, kind) is kept as it is (sent or queued) unless `resend` asks to
    /// queue it again with the new text.
    pub async fn enqueue(&self, messages: &[OutboxMessage], resend: bool, now: &str) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the outbox write"))?;
        let verb = if resend { "INSERT OR REPLACE" } else { "INSERT OR IGNORE" };
        let mut added = 0;
        for m in messages {
            let r = sqlx::query(&format!(
                "{verb} INTO outbox (job, period, recipient, kind, subject, message_id, eml, status, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8)"
            ))
            .bind(&m.job)
            .bind(&m.period)
            .bind(&m.recipient)
            .bind(&m.kind)
            .bind(&m.subject)
            .bind(&m.message_id)
            .bind(&m.eml)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            added += r.rows_affected() as usize;
        }
        if resend {
            // A resend is a person's decision: it goes to the audit trail with who asked.
            let actor =
                std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into());
            for (job, period) in messages.iter().map(|m| (&m.job, &m.period)).collect::<std::collections::BTreeSet<_>>()
            {
                sqlx::query("INSERT INTO audit_trail VALUES (?1, ?2, 'resend', ?3, ?4, ?5)")
                    .bind(now)
                    .bind(&actor)
                    .bind(job)
                    .bind(period)
                    .bind(format!(
                        "{} messages queued again",
                        messages.iter().filter(|m| &m.job == job && &m.period == period).count()
                    ))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await.map_err(|e| classify_sqlx(e, "committing the outbox"))?;
        Ok(added)
    }

    pub async fn queued_messages(&self) -> anyhow::Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT job, period, recipient, kind, subject, message_id, eml FROM outbox WHERE status = 'queued' \
             ORDER BY created_at, job, period, kind, recipient",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the outbox"))?;
        Ok(rows
            .into_iter()
            .map(|r| OutboxMessage {
                job: r.get(0),
                period: r.get(1),
                recipient: r.get(2),
                kind: r.get(3),
                subject: r.get(4),
                message_id: r.get(5),
                eml: r.get(6),
            })
            .collect())
    }

    pub async fn mark_sent(&self, m: &OutboxMessage, at: &str, transport: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = ?5, transport = ?6, attempts = attempts + 1, last_error = NULL \
             WHERE job = ?1 AND period = ?2 AND recipient = ?3 AND kind = ?4",
        )
        .bind(&m.job)
        .bind(&m.period)
        .bind(&m.recipient)
        .bind(&m.kind)
        .bind(at)
        .bind(transport)
        .execute(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "marking a message sent"))?;
        Ok(())
    }

    pub async fn mark_failed(&self, m: &OutboxMessage, error: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?5 \
             WHERE job = ?1 AND period = ?2 AND recipient = ?3 AND kind = ?4",
        )
        .bind(&m.job)
        .bind(&m.period)
        .bind(&m.recipient)
        .bind(&m.kind)
        .bind(error)
        .execute(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "recording a failed delivery"))?;
        Ok(())
    }
}

/// A stored partner result with its indicators and evidence, for `explain` and the scorecards.
#[derive(Debug, Clone, Default)]
pub struct StoredExplanation {
    /// (name, status, effectiveness, credit_deduction, score, grade, fees_total, fees_excluded, settlement, flags, hold_reasons, rules_hash)
    pub result: Vec<Option<String>>,
    /// (indicator, measured, counted, points, weight)
    pub indicators: Vec<(String, Option<String>, i64, String, String)>,
    pub evidence: Vec<crate::domain::monthly::Evidence>,
}

impl Store {
    /// Everything stored about one partner's month; `None` when it was not assessed then.
    pub async fn explanation(&self, month: Month, partner: &str) -> anyhow::Result<Option<StoredExplanation>> {
        let m = month.to_string();
        let Some(row) = sqlx::query(
            "SELECT partner_name, status, effectiveness, credit_deduction, score, grade, fees_total, fees_excluded, \
             settlement, flags, hold_reasons, rules_hash FROM monthly_partner_results WHERE month = ?1 AND partner_id = ?2",
        )
        .bind(&m)
        .bind(partner)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let result = (0..12).map(|i| row.get::<Option<String>, _>(i)).collect();
        let indicators = sqlx::query(
            "SELECT indicator, measured, counted, points, weight FROM monthly_indicator_results \
             WHERE month = ?1 AND partner_id = ?2 ORDER BY rowid",
        )
        .bind(&m)
        .bind(partner)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
        let ts = |s: Option<String>| s.and_then(|s| crate::domain::period::parse_timestamp(&s));
        let evidence = sqlx::query(
            "SELECT indicator, source, row_id, started_at, due_at, finished_at, outcome, value, detail FROM monthly_evidence \
             WHERE month = ?1 AND partner_id = ?2 ORDER BY indicator, started_at, row_id",
        )
        .bind(&m)
        .bind(partner)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| crate::domain::monthly::Evidence {
            partner_id: partner.to_string(),
            indicator: r.get(0),
            source: r.get(1),
            row_id: r.get(2),
            started_at: ts(r.get(3)),
            due_at: ts(r.get(4)),
            finished_at: ts(r.get(5)),
            outcome: r.get(6),
            value: r.get::<Option<String>, _>(7).and_then(|v| Decimal::from_str(&v).ok()),
            detail: r.get(8),
        })
        .collect();
        Ok(Some(StoredExplanation { result, indicators, evidence }))
    }

    /// Partners of a stored month with their settlement (for the finance export and scorecards).
    pub async fn month_partners(&self, month: Month) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
        let rows = sqlx::query("SELECT partner_id, partner_name, settlement FROM monthly_partner_results WHERE month = ?1 ORDER BY partner_id")
            .bind(month.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }
}

/// Rules versions.
impl Store {
    /// Keeps the text of the rules a result is computed with (once per hash).
    pub async fn record_rules(&self, rules: &crate::domain::rules::Rules, at: &str) -> anyhow::Result<()> {
        sqlx::query("INSERT OR IGNORE INTO rules_versions VALUES (?1, ?2, ?3, ?4)")
            .bind(&rules.hash)
            .bind(rules.effective_from.map(|m| m.to_string()))
            .bind(&rules.text)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "recording the rules"))?;
        Ok(())
    }

    /// Stored rules versions: (hash, effective_from, text).
    pub async fn rules_versions(&self) -> anyhow::Result<Vec<(String, Option<Month>, String)>> {
        let rows = sqlx::query("SELECT hash, effective_from, text FROM rules_versions ORDER BY first_used_at")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "reading rules versions"))?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get(0), r.get::<Option<String>, _>(1).and_then(|m| m.parse().ok()), r.get(2)))
            .collect())
    }

    /// The rules hash a stored month was computed with.
    pub async fn month_rules_hash(&self, month: Month) -> anyhow::Result<Option<String>> {
        sqlx::query_scalar("SELECT rules_hash FROM monthly_runs WHERE month = ?1")
            .bind(month.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| classify_sqlx(e, "reading the month's rules"))
    }
}

impl Store {
    /// Settled presales shares of a quarter: (project, partner, commissioning unit, amount).
    pub async fn quarter_settlements(&self, quarter: Quarter) -> anyhow::Result<Vec<(String, String, String, String)>> {
        let rows = sqlx::query(
            "SELECT project_id, partner_id, commissioning_unit, amount FROM presales_results \
             WHERE quarter = ?1 AND status = 'settled' ORDER BY project_id, partner_id",
        )
        .bind(quarter.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_sqlx(e, "reading the quarter's settlements"))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }
}
