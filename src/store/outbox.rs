//! The outbox: each message is recorded with its full text before anything is sent and marked sent
//! once the server (or the outbox folder) has it, so a message goes out at most once per
//! (job, period, recipient, kind), and one that could not be sent waits for the next run.

use super::audit::audit;
use super::{commit, failed, get, sql, text, text_req, Result, Store};
use std::collections::BTreeSet;

/// A message to record and send.
#[derive(Debug, Clone)]
pub(crate) struct OutboxMessage {
    pub(crate) job: String,
    pub(crate) period: String,
    pub(crate) recipient: String,
    pub(crate) kind: String,
    pub(crate) subject: String,
    pub(crate) message_id: String,
    pub(crate) eml: Vec<u8>,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutboxStatus {
    Queued,
    Sent,
}

impl OutboxStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sent => "sent",
        }
    }
    fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "queued" => Ok(OutboxStatus::Queued),
            "sent" => Ok(OutboxStatus::Sent),
            other => Err(format!("not an outbox status: {other:?}")),
        }
    }
}

/// How a message went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Smtp,
    File,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Smtp => "smtp",
            Transport::File => "file",
        }
    }
}

/// One outbox row as `mail list` shows it.
#[derive(Debug, Clone)]
pub(crate) struct OutboxEntry {
    pub(crate) job: String,
    pub(crate) period: String,
    pub(crate) recipient: String,
    pub(crate) kind: String,
    pub(crate) status: OutboxStatus,
    pub(crate) created_at: String,
    pub(crate) sent_at: Option<String>,
    pub(crate) attempts: i64,
    pub(crate) last_error: Option<String>,
}

impl Store {
    /// Records messages before anything is sent. A message already recorded for the same
    /// (job, period, recipient, kind) is kept as it is (sent or queued) unless `resend` asks to
    /// queue it again with the new text; a resend is a person's act and goes to the audit trail
    /// with who asked (`actor`).
    pub(crate) async fn enqueue(
        &self,
        messages: &[OutboxMessage],
        resend: bool,
        now: &str,
        actor: &str,
    ) -> Result<usize> {
        let mut tx = self.begin("starting the outbox write").await?;
        let added = self.enqueue_in(&mut tx, messages, resend, now).await?;
        if resend {
            let periods: BTreeSet<(&String, &String)> = messages.iter().map(|m| (&m.job, &m.period)).collect();
            for (job, period) in periods {
                let n = messages.iter().filter(|m| &m.job == job && &m.period == period).count();
                let detail = format!("{n} messages queued again");
                audit(&mut tx, self.dialect, [now, actor, "resend", job, period, &detail]).await?;
            }
        }
        commit(tx, "committing the outbox").await?;
        Ok(added)
    }

    /// Records messages inside a caller's transaction (a publication queues its messages with
    /// the decision that makes them due). Returns how many were new.
    pub(super) async fn enqueue_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        messages: &[OutboxMessage],
        resend: bool,
        now: &str,
    ) -> Result<usize> {
        let columns = "outbox (job, period, recipient, kind, subject, message_id, eml, status, created_at)";
        let values = "(?, ?, ?, ?, ?, ?, ?, 'queued', ?)";
        let insert = if resend {
            sql::insert_rows(self.dialect, columns, &values[1..values.len() - 1], 1)
        } else {
            sql::insert_ignore(self.dialect, columns, values)
        };
        let delete = self.sql("DELETE FROM outbox WHERE job = ? AND period = ? AND recipient = ? AND kind = ?");
        let mut added = 0;
        for m in messages {
            if resend {
                sqlx::query(&delete)
                    .bind(&m.job)
                    .bind(&m.period)
                    .bind(&m.recipient)
                    .bind(&m.kind)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("queueing a message again"))?;
            }
            let r = sqlx::query(&insert)
                .bind(&m.job)
                .bind(&m.period)
                .bind(&m.recipient)
                .bind(&m.kind)
                .bind(&m.subject)
                .bind(&m.message_id)
                .bind(&m.eml)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(failed("recording a message"))?;
            added += r.rows_affected() as usize;
        }
        Ok(added)
    }

    pub(crate) async fn queued_messages(&self) -> Result<Vec<OutboxMessage>> {
        let what = "outbox";
        sqlx::query(&self.sql(
            "SELECT job, period, recipient, kind, subject, message_id, eml FROM outbox WHERE status = 'queued' \
             ORDER BY created_at, job, period, kind, recipient",
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the outbox"))?
        .iter()
        .map(|r| {
            Ok(OutboxMessage {
                job: text_req(r, 0, what)?,
                period: text_req(r, 1, what)?,
                recipient: text_req(r, 2, what)?,
                kind: text_req(r, 3, what)?,
                subject: text(r, 4, what)?.unwrap_or_default(),
                message_id: text_req(r, 5, what)?,
                eml: get(r, 6, what)?,
            })
        })
        .collect()
    }

    /// The outbox as a table for operators (`mail list`), newest first.
    pub(crate) async fn outbox_entries(&self, queued_only: bool, limit: i64) -> Result<Vec<OutboxEntry>> {
        let filter = if queued_only { "WHERE status = 'queued' " } else { "" };
        let what = "outbox";
        sqlx::query(&self.sql(&format!(
            "SELECT job, period, recipient, kind, status, created_at, sent_at, attempts, last_error \
             FROM outbox {filter}ORDER BY created_at DESC, job, period, kind, recipient LIMIT ?"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the outbox"))?
        .iter()
        .map(|r| {
            Ok(OutboxEntry {
                job: text_req(r, 0, what)?,
                period: text_req(r, 1, what)?,
                recipient: text_req(r, 2, what)?,
                kind: text_req(r, 3, what)?,
                status: super::parsed(&text_req(r, 4, what)?, what, OutboxStatus::parse)?,
                created_at: text_req(r, 5, what)?,
                sent_at: text(r, 6, what)?,
                attempts: get(r, 7, what)?,
                last_error: text(r, 8, what)?,
            })
        })
        .collect()
    }

    pub(crate) async fn mark_sent(&self, m: &OutboxMessage, at: &str, transport: Transport) -> Result<()> {
        sqlx::query(&self.sql(
            "UPDATE outbox SET status = 'sent', sent_at = ?, transport = ?, attempts = attempts + 1, last_error = NULL \
             WHERE job = ? AND period = ? AND recipient = ? AND kind = ?",
        ))
        .bind(at)
        .bind(transport.as_str())
        .bind(&m.job)
        .bind(&m.period)
        .bind(&m.recipient)
        .bind(&m.kind)
        .execute(&self.pool)
        .await
        .map_err(failed("marking a message sent"))?;
        Ok(())
    }

    pub(crate) async fn mark_failed(&self, m: &OutboxMessage, error: &str) -> Result<()> {
        sqlx::query(&self.sql(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? \
             WHERE job = ? AND period = ? AND recipient = ? AND kind = ?",
        ))
        .bind(error)
        .bind(&m.job)
        .bind(&m.period)
        .bind(&m.recipient)
        .bind(&m.kind)
        .execute(&self.pool)
        .await
        .map_err(failed("recording a failed delivery"))?;
        Ok(())
    }
}
