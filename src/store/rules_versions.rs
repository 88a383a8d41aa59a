//! Rules versions: the text of every rules file a result was computed with, kept once per hash,
//! so that a month computed under earlier rules keeps them when the rules change.

use super::{failed, parsed, sql, text, text_req, Result, Store};
use crate::domain::period::Month;
use crate::domain::rules::Rules;

/// A stored rules file.
#[derive(Debug, Clone)]
pub(crate) struct RulesVersion {
    pub(crate) hash: String,
    pub(crate) effective_from: Option<Month>,
    pub(crate) text: String,
}

impl Store {
    /// Keeps the text of the rules a result is computed with (once per hash).
    pub(crate) async fn record_rules(&self, rules: &Rules, at: &str) -> Result<()> {
        sqlx::query(&sql::insert_ignore(
            self.dialect,
            "rules_versions (hash, effective_from, text, first_used_at)",
            "(?, ?, ?, ?)",
        ))
        .bind(&rules.hash)
        .bind(rules.effective_from.map(|m| m.to_string()))
        .bind(&rules.text)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(failed("recording the rules"))?;
        Ok(())
    }

    /// Stored rules versions, oldest first.
    pub(crate) async fn rules_versions(&self) -> Result<Vec<RulesVersion>> {
        let what = "rules_versions";
        sqlx::query(&self.sql("SELECT hash, effective_from, text FROM rules_versions ORDER BY first_used_at, hash"))
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading rules versions"))?
            .iter()
            .map(|r| {
                Ok(RulesVersion {
                    hash: text_req(r, 0, what)?,
                    effective_from: text(r, 1, what)?.map(|m| parsed(&m, what, str::parse::<Month>)).transpose()?,
                    text: text(r, 2, what)?.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The rules hash a stored month was computed with.
    pub(crate) async fn month_rules_hash(&self, month: Month) -> Result<Option<String>> {
        let row = sqlx::query(&self.sql("SELECT rules_hash FROM monthly_runs WHERE month = ?"))
            .bind(month.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("reading the month's rules"))?;
        row.map(|r| text_req(&r, 0, "monthly_runs")).transpose()
    }
}
