//! Extraction: the operations database (read only) → one polars frame per dataset of the contract.
//! Queries live in `sql/extract/<dialect>/<dataset>.sql`; rows stream into column builders and
//! every storage type is normalised to canonical text, so numbers stored as text or as numbers
//! read exactly (a REAL is taken through its shortest round-trip text: 0.1 is 0.1).

use crate::domain::inputs::*;
use crate::domain::monthly::MonthInput;
use crate::domain::period::Month;
use crate::error::{classify_sqlx, redact_url, AppError};
use crate::settings::Secret;
use anyhow::Context;
use futures_util::TryStreamExt;
use polars::prelude::*;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Decode, Row, Sqlite, TypeInfo, ValueRef};
use std::str::FromStr;
use std::time::Duration;

/// The embedded extraction queries of the SQLite dialect, by dataset name.
fn sqlite_query(dataset: &str) -> &'static str {
    match dataset {
        "partners" => include_str!("../../sql/extract/sqlite/partners.sql"),
        "contracts" => include_str!("../../sql/extract/sqlite/contracts.sql"),
        "tickets" => include_str!("../../sql/extract/sqlite/tickets.sql"),
        "ticket_pauses" => include_str!("../../sql/extract/sqlite/ticket_pauses.sql"),
        "orders" => include_str!("../../sql/extract/sqlite/orders.sql"),
        "complaints" => include_str!("../../sql/extract/sqlite/complaints.sql"),
        "surveys" => include_str!("../../sql/extract/sqlite/surveys.sql"),
        "manual_scores" => include_str!("../../sql/extract/sqlite/manual_scores.sql"),
        "violations" => include_str!("../../sql/extract/sqlite/violations.sql"),
        "fee_items" => include_str!("../../sql/extract/sqlite/fee_items.sql"),
        "audit_exclusions" => include_str!("../../sql/extract/sqlite/audit_exclusions.sql"),
        "presales_projects" => include_str!("../../sql/extract/sqlite/presales_projects.sql"),
        "presales_supports" => include_str!("../../sql/extract/sqlite/presales_supports.sql"),
        "exit_requests" => include_str!("../../sql/extract/sqlite/exit_requests.sql"),
        "blacklist_entries" => include_str!("../../sql/extract/sqlite/blacklist_entries.sql"),
        "open_tickets" => include_str!("../../sql/extract/sqlite/open_tickets.sql"),
        other => unreachable!("no query for dataset {other}"),
    }
}

/// The parameters a query may use: `?1` period start, `?2` period end (exclusive timestamps),
/// `?3` the month as `YYYY-MM`.
#[derive(Debug, Clone)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub month: String,
}

impl Window {
    pub fn month(m: Month) -> Self {
        Self::between(m.start(), m.end())
    }

    /// `[start, end)`; `?3` is the month of `start`.
    pub fn between(start: chrono::NaiveDateTime, end: chrono::NaiveDateTime) -> Self {
        let f = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
        Self { start: f(start), end: f(end), month: Month::of_instant(start).to_string() }
    }
}

/// Highest `?N` placeholder of a query: binding more than a query declares is an error in SQLite.
fn placeholder_count(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut max = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'?' {
            let digits: String = sql[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            max = max.max(digits.parse().unwrap_or(0));
        }
    }
    max
}

/// The frames of one snapshot, by dataset.
pub struct Extract {
    frames: std::collections::HashMap<&'static str, DataFrame>,
}

impl Extract {
    /// The frame of a dataset that was read; an empty frame for one that was not asked for.
    pub fn take(&mut self, dataset: Dataset) -> DataFrame {
        self.frames.remove(dataset.name).unwrap_or_else(|| empty_frame(dataset))
    }
}

/// A connection to the operations database.
pub struct Source {
    pool: SqlitePool,
}

impl Source {
    /// Opens the source read only: it belongs to another system, and the pipeline never writes to
    /// it or changes its journal mode.
    pub async fn connect(url: &Secret) -> anyhow::Result<Self> {
        let raw = url.expose();
        if !raw.starts_with("sqlite:") {
            return Err(AppError::Usage(format!(
                "source {}: only sqlite:// sources are supported in this version",
                redact_url(raw)
            ))
            .into());
        }
        let options = SqliteConnectOptions::from_str(raw)
            .map_err(|e| AppError::Usage(format!("source URL {}: {e}", redact_url(raw))))?
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(_) | sqlx::Error::Io(_) => {
                    AppError::Unavailable(format!("cannot open source {}: {e}", redact_url(raw))).into()
                }
                other => classify_sqlx(other, "connecting to the source"),
            })?;
        Ok(Self { pool })
    }

    /// Reads several datasets from one snapshot (a single read transaction).
    pub async fn fetch_all(&self, datasets: &[Dataset], window: &Window) -> anyhow::Result<Extract> {
        let mut tx = self.pool.begin().await.map_err(|e| classify_sqlx(e, "starting the source read"))?;
        let mut frames = Vec::with_capacity(datasets.len());
        for dataset in datasets {
            let sql = sqlite_query(dataset.name);
            let mut query = sqlx::query(sql);
            let params = [&window.start, &window.end, &window.month];
            for p in params.iter().take(placeholder_count(sql)) {
                query = query.bind(p.as_str());
            }
            let mut builders: Vec<StringChunkedBuilder> =
                dataset.columns.iter().map(|c| StringChunkedBuilder::new((*c).into(), 1024)).collect();
            let mut rows = query.fetch(&mut *tx);
            let mut height = 0usize;
            let what = format!("reading {}", dataset.name);
            while let Some(row) = rows.try_next().await.map_err(|e| classify_sqlx(e, &what))? {
                append_row(&row, dataset, &mut builders).with_context(|| what.clone())?;
                height += 1;
            }
            drop(rows);
            let columns = builders.into_iter().map(|b| b.finish().into_column()).collect();
            frames.push(DataFrame::new(height, columns)?);
            tracing::debug!(dataset = dataset.name, rows = height, "extracted");
        }
        tx.rollback().await.ok();
        Ok(Extract { frames: datasets.iter().map(|d| d.name).zip(frames).collect() })
    }

    /// Everything a monthly assessment reads, from one snapshot.
    pub async fn month_input(&self, month: Month) -> anyhow::Result<MonthInput> {
        let datasets = [
            PARTNERS,
            CONTRACTS,
            TICKETS,
            PAUSES,
            ORDERS,
            COMPLAINTS,
            SURVEYS,
            MANUAL_SCORES,
            VIOLATIONS,
            FEE_ITEMS,
            AUDIT_EXCLUSIONS,
        ];
        let mut f = self.fetch_all(&datasets, &Window::month(month)).await?;
        Ok(MonthInput {
            month,
            partners: f.take(PARTNERS),
            contracts: f.take(CONTRACTS),
            tickets: f.take(TICKETS),
            pauses: f.take(PAUSES),
            orders: f.take(ORDERS),
            complaints: f.take(COMPLAINTS),
            surveys: f.take(SURVEYS),
            manual_scores: f.take(MANUAL_SCORES),
            violations: f.take(VIOLATIONS),
            fee_items: f.take(FEE_ITEMS),
            audit_exclusions: f.take(AUDIT_EXCLUSIONS),
        })
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Appends one row, column by column, as canonical text; a column missing from the query is an
/// unusable source (exit 65), named.
fn append_row(row: &SqliteRow, dataset: &Dataset, builders: &mut [StringChunkedBuilder]) -> anyhow::Result<()> {
    for (i, column) in dataset.columns.iter().enumerate() {
        let raw = row
            .try_get_raw(*column)
            .map_err(|_| AppError::SourceUnusable(format!("the {} query returns no column {column}", dataset.name)))?;
        let b = &mut builders[i];
        if raw.is_null() {
            b.append_null();
            continue;
        }
        let kind = raw.type_info().name().to_string();
        match kind.as_str() {
            "INTEGER" => b.append_value(<i64 as Decode<Sqlite>>::decode(raw).map_err(anyhow::Error::msg)?.to_string()),
            // Rust prints the shortest text that reads back to the same double.
            "REAL" => b.append_value(<f64 as Decode<Sqlite>>::decode(raw).map_err(anyhow::Error::msg)?.to_string()),
            "BLOB" => {
                let bytes = <&[u8] as Decode<Sqlite>>::decode(raw).map_err(anyhow::Error::msg)?;
                b.append_value(String::from_utf8_lossy(bytes))
            }
            _ => b.append_value(<&str as Decode<Sqlite>>::decode(raw).map_err(anyhow::Error::msg)?),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_numbered_placeholders() {
        assert_eq!(placeholder_count("SELECT 1"), 0);
        assert_eq!(placeholder_count("WHERE a < ?2 AND b >= ?1"), 2);
        assert_eq!(placeholder_count("WHERE month = ?3"), 3);
    }

    #[test]
    fn every_dataset_has_a_query_naming_its_columns() {
        for d in ALL_DATASETS.iter().chain([&OPEN_TICKETS]) {
            let sql = sqlite_query(d.name);
            for c in d.columns {
                assert!(sql.contains(c), "{}.sql lacks {c}", d.name);
            }
        }
    }
}
