//! Departmental records entered through workbooks: each import replaces the rows of its
//! (dataset, period, department) in one transaction, with every row's change in the audit trail;
//! jobs read the entered rows as frames of the contract's columns.

use super::audit::audit;
use super::ledger::Held;
use super::{commit, failed, sql, text_req, Result, Store, StoreError};
use crate::domain::inputs::Dataset;
use crate::domain::job::JobKind;
use crate::domain::records::{Entered, RecordKind};
use crate::domain::refusal::StateError;
use polars::prelude::{Column, DataFrame, IntoColumn, NewChunkedArray, StringChunked};
use std::collections::BTreeMap;

/// One entered row: the import's department, its key and the contract columns' values.
pub(crate) type Fields = BTreeMap<String, Option<String>>;

/// A stored entered row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnteredRow {
    pub(crate) period: String,
    pub(crate) department: String,
    pub(crate) key: String,
    pub(crate) fields: Fields,
}

/// What an import changes against what is stored: per row key, the old and new values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) added: Vec<(String, Fields)>,
    pub(crate) changed: Vec<(String, Fields, Fields)>,
    pub(crate) removed: Vec<(String, Fields)>,
    pub(crate) unchanged: usize,
}

/// The file an import came from.
pub(crate) struct Source<'a> {
    pub(crate) file_name: &'a str,
    pub(crate) sha256: &'a str,
    pub(crate) by: &'a str,
    pub(crate) at: &'a str,
    /// Tells apart imports of the same file at the same second.
    pub(crate) nonce: u32,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt { what: "entered_rows (fields)".into(), source: Box::new(e) }
}

/// A row's values in a line of the audit trail (`points=18; scored_by=张经理`).
pub(crate) fn describe(fields: &Fields) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or(""))).collect::<Vec<_>>().join("; ")
}

impl Store {
    /// The entered rows of a dataset (of one period, or all), by period, department and key.
    pub(crate) async fn entered_rows(&self, kind: RecordKind, period: Option<&str>) -> Result<Vec<EnteredRow>> {
        self.read_entered(kind, period, "r.period, r.department, r.row_key").await
    }

    /// Every entered row of a dataset in the order of the imports that brought them, the latest
    /// last (a score given again in a later import wins).
    pub(crate) async fn entered_rows_by_import(&self, kind: RecordKind) -> Result<Vec<EnteredRow>> {
        self.read_entered(kind, None, "i.imported_at, i.import_id, r.row_key").await
    }

    async fn read_entered(&self, kind: RecordKind, period: Option<&str>, order: &str) -> Result<Vec<EnteredRow>> {
        let what = "entered_rows";
        let mut text = "SELECT r.period, r.department, r.row_key, r.fields FROM entered_rows r \
                        JOIN entered_imports i ON i.import_id = r.import_id WHERE r.dataset = ?"
            .to_string();
        if period.is_some() {
            text.push_str(" AND r.period = ?");
        }
        text.push_str(&format!(" ORDER BY {order}"));
        let text = self.sql(&text);
        let mut q = sqlx::query(&text).bind(kind.as_str());
        if let Some(p) = period {
            q = q.bind(p);
        }
        q.fetch_all(&self.pool)
            .await
            .map_err(failed("reading the entered records"))?
            .iter()
            .map(|r| {
                Ok(EnteredRow {
                    period: text_req(r, 0, what)?,
                    department: text_req(r, 1, what)?,
                    key: text_req(r, 2, what)?,
                    fields: serde_json::from_str(&text_req(r, 3, what)?).map_err(corrupt)?,
                })
            })
            .collect()
    }

    /// The entered rows as a frame of a dataset's contract columns (text), like a source's.
    pub(crate) async fn entered_frame(
        &self,
        kind: RecordKind,
        period: Option<&str>,
        dataset: Dataset,
    ) -> Result<DataFrame> {
        let rows = self.entered_rows(kind, period).await?;
        let columns: Vec<Column> = dataset
            .columns
            .iter()
            .map(|c| {
                let values = rows.iter().map(|r| r.fields.get(*c).cloned().flatten());
                StringChunked::from_iter_options((*c).into(), values).into_column()
            })
            .collect();
        DataFrame::new(rows.len(), columns)
            .map_err(|e| StoreError::Corrupt { what: "entered_rows".into(), source: Box::new(e) })
    }

    /// What importing `entered` would change (for a dry run: an import computes it again
    /// under its lock).
    pub(crate) async fn entered_changes(&self, entered: &Entered) -> Result<Changes> {
        let before: BTreeMap<String, Fields> = self
            .entered_rows(entered.kind, Some(&entered.period))
            .await?
            .into_iter()
            .filter(|r| r.department == entered.department)
            .map(|r| (r.key, r.fields))
            .collect();
        Ok(changes(&before, entered))
    }

    /// Replaces the rows of the import's (dataset, period, department) with `entered`, in one
    /// transaction: the import recorded, each added, changed or removed row in the audit trail.
    /// What is stored is read under the period's import lock, so the changes returned and
    /// audited are against what this import really replaced.
    pub(crate) async fn import_entered(
        &self,
        entered: &Entered,
        from: Source<'_>,
        also_changed: &[(JobKind, String)],
    ) -> Result<(String, Changes)> {
        let (dataset, period, department) =
            (entered.kind.as_str(), entered.period.as_str(), entered.department.as_str());
        let stamp = from.at.replace([' ', ':', '-'], "");
        let import_id = format!("{dataset}-{period}-{stamp}-{}-{:08x}", &from.sha256[..8], from.nonce);
        let job = if entered.kind == RecordKind::PresalesScores { JobKind::Quarterly } else { JobKind::Monthly };
        let mut tx = self.begin("starting the import").await?;
        // The lock first: a concurrent import of the period waits here until this one commits
        // (on SQLite the write takes the database's write lock), then reads what this one wrote.
        sqlx::query(&sql::insert_ignore(self.dialect, "entered_locks (dataset, period, imports)", "(?, ?, 0)"))
            .bind(dataset)
            .bind(period)
            .execute(&mut *tx)
            .await
            .map_err(failed("locking the period's records"))?;
        sqlx::query(&self.sql("UPDATE entered_locks SET imports = imports + 1 WHERE dataset = ? AND period = ?"))
            .bind(dataset)
            .bind(period)
            .execute(&mut *tx)
            .await
            .map_err(failed("locking the period's records"))?;
        // A run computing the period now may already have read the records: wait for it.
        let running =
            sqlx::query(&self.sql("SELECT run_id FROM run_ledger WHERE job = ? AND period = ? AND status = 'running'"))
                .bind(job.as_str())
                .bind(period)
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed("reading the run ledger"))?;
        if running.is_some() {
            let held = Held { job: job.into(), period: period.to_string(), holder: None };
            return Err(StoreError::Held(Box::new(held)));
        }
        let state = sqlx::query(&self.sql("SELECT state FROM period_states WHERE job = ? AND period = ?"))
            .bind(job.as_str())
            .bind(period)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed("reading the period state"))?
            .map(|r| text_req(&r, 0, "period_states"))
            .transpose()?;
        if state.as_deref().is_some_and(|s| s != "draft") {
            return Err(StateError::Frozen { job: job.as_str().into(), period: period.into() }.into());
        }
        let what = "entered_rows";
        let stored = sqlx::query(
            &self.sql("SELECT department, row_key, fields FROM entered_rows WHERE dataset = ? AND period = ?"),
        )
        .bind(dataset)
        .bind(period)
        .fetch_all(&mut *tx)
        .await
        .map_err(failed("reading the entered records"))?;
        let mut before: BTreeMap<String, Fields> = BTreeMap::new();
        for r in &stored {
            let (other, key) = (text_req(r, 0, what)?, text_req(r, 1, what)?);
            if other == department {
                before.insert(key, serde_json::from_str(&text_req(r, 2, what)?).map_err(corrupt)?);
            } else if entered.kind == RecordKind::ManualScores && entered.rows.contains_key(&key) {
                return Err(StateError::EnteredMeanwhile { key, department: other }.into());
            }
        }
        let changes = changes(&before, entered);
        let changed = !(changes.added.is_empty() && changes.changed.is_empty() && changes.removed.is_empty());
        if changed {
            let mark = self.sql("UPDATE period_states SET records_changed_at = ? WHERE job = ? AND period = ?");
            let own = (job, period.to_string());
            for (job, period) in std::iter::once(&own).chain(also_changed) {
                sqlx::query(&mark)
                    .bind(from.at)
                    .bind(job.as_str())
                    .bind(period)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("recording that the period's records changed"))?;
            }
        }

        sqlx::query(&self.sql("DELETE FROM entered_rows WHERE dataset = ? AND period = ? AND department = ?"))
            .bind(dataset)
            .bind(period)
            .bind(department)
            .execute(&mut *tx)
            .await
            .map_err(failed("replacing the entered records"))?;
        let insert = sql::insert_rows(
            self.dialect,
            "entered_rows (dataset, period, department, row_key, import_id, fields)",
            "?, ?, ?, ?, ?, ?",
            1,
        );
        for (key, fields) in &entered.rows {
            let json = serde_json::to_string(fields).map_err(corrupt)?;
            sqlx::query(&insert)
                .bind(dataset)
                .bind(period)
                .bind(department)
                .bind(key)
                .bind(&import_id)
                .bind(json)
                .execute(&mut *tx)
                .await
                .map_err(failed("storing the entered records"))?;
        }
        let record = sql::insert_rows(
            self.dialect,
            "entered_imports (import_id, dataset, period, department, file_name, sha256, row_count, imported_by, imported_at)",
            "?, ?, ?, ?, ?, ?, ?, ?, ?",
            1,
        );
        sqlx::query(&record)
            .bind(&import_id)
            .bind(dataset)
            .bind(period)
            .bind(department)
            .bind(from.file_name)
            .bind(from.sha256)
            .bind(entered.rows.len() as i64)
            .bind(from.by)
            .bind(from.at)
            .execute(&mut *tx)
            .await
            .map_err(failed("recording the import"))?;
        let job = job.as_str();
        let file = format!("{} sha256 {}", from.file_name, from.sha256);
        let scope = if department.is_empty() { dataset.to_string() } else { format!("{dataset} {department}") };
        let mut entries: Vec<String> = Vec::new();
        for (key, new) in &changes.added {
            entries.push(format!("{scope} {key}: (none) → {}; {file}", describe(new)));
        }
        for (key, old, new) in &changes.changed {
            entries.push(format!("{scope} {key}: {} → {}; {file}", describe(old), describe(new)));
        }
        for (key, old) in &changes.removed {
            entries.push(format!("{scope} {key}: {} → (removed); {file}", describe(old)));
        }
        if entries.is_empty() {
            entries.push(format!("{scope}: no row changed; {file}"));
        }
        for detail in entries {
            audit(&mut tx, self.dialect, [from.at, from.by, "import", job, period, &detail]).await?;
        }
        commit(tx, "committing the import").await?;
        Ok((import_id, changes))
    }
}

/// What replacing `before` (one department's stored rows of the period) with `entered` changes.
fn changes(before: &BTreeMap<String, Fields>, entered: &Entered) -> Changes {
    let mut changes = Changes::default();
    for (key, new) in &entered.rows {
        match before.get(key) {
            None => changes.added.push((key.clone(), new.clone())),
            Some(old) if old != new => changes.changed.push((key.clone(), old.clone(), new.clone())),
            Some(_) => changes.unchanged += 1,
        }
    }
    for (key, old) in before {
        if !entered.rows.contains_key(key) {
            changes.removed.push((key.clone(), old.clone()));
        }
    }
    changes
}
