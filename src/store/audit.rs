//! The audit trail: every act of a person (approve, reopen, publish, resend, settle, import,
//! dispute) in the transaction that makes it, with who, when and what.

use super::{failed, sql, Result};
use crate::db::Dialect;
use sqlx::AnyConnection;

/// Appends to the audit trail: (at, actor, action, job, period, detail).
pub(super) async fn audit(tx: &mut AnyConnection, dialect: Dialect, entry: [&str; 6]) -> Result<()> {
    let text = sql::insert_rows(dialect, "audit_trail (at, actor, action, job, period, detail)", "?, ?, ?, ?, ?, ?", 1);
    entry
        .iter()
        .fold(sqlx::query(&text), |q, v| q.bind(*v))
        .execute(tx)
        .await
        .map_err(failed("writing the audit trail"))?;
    Ok(())
}
