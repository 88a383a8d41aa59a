//! Delivering the outbox: through SMTP when configured, as `.eml` files otherwise. A message is
//! marked sent only once the server (or the file system) has it; the first timeout or refusal
//! ends a delivery, and whatever is left stays queued for the next run or `mail flush`.

use crate::config::Secret;
use crate::db::redact_url;
use crate::files::safe_name;
use crate::store::outbox::{OutboxMessage, Transport};
use crate::store::{Store, StoreError};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::Path;
use std::time::Duration;

/// Where messages go: an SMTP server (each exchange bounded by `timeout`), else the outbox folder.
#[derive(Debug, Clone)]
pub(crate) struct MailServer<'a> {
    pub(crate) smtp: Option<&'a Secret>,
    pub(crate) timeout: Duration,
    pub(crate) from: &'a str,
    pub(crate) outbox_dir: std::path::PathBuf,
}

/// What went wrong delivering mail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MailError {
    #[error("the SMTP URL {url} is not usable")]
    BadUrl {
        url: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// Messages stay queued: the server did not take them (exit 69; the next run or
    /// `mail flush` sends them).
    #[error("{sent} messages delivered, {waiting} could not be sent and stay queued for the next run or `ict-partners mail flush`")]
    Undelivered { sent: usize, waiting: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) sent: usize,
    pub(crate) failed: usize,
}

/// Sends every queued message: through SMTP when configured, else as `.eml` files under
/// `outbox_dir`. A message is marked sent only after the server (or the file system) has it; a
/// server that cannot be reached leaves the rest queued and the caller reports exit 69.
pub(crate) async fn deliver(store: &Store, server: &MailServer<'_>, now: &str) -> Result<Delivered, MailError> {
    let MailServer { smtp, timeout, from, ref outbox_dir } = *server;
    let outbox_dir: &Path = outbox_dir;
    let queued = store.queued_messages().await?;
    let mut done = Delivered::default();
    if queued.is_empty() {
        return Ok(done);
    }
    let transport = match smtp {
        Some(url) => Some(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                .map_err(|source| MailError::BadUrl { url: redact_url(url.expose()), source })?
                .timeout(Some(timeout))
                .build(),
        ),
        None => None,
    };
    let sender: Option<lettre::Address> = from.parse::<Mailbox>().ok().map(|m| m.email);
    let total = queued.len();
    for message in queued {
        let result = send_one(transport.as_ref(), sender.clone(), timeout, outbox_dir, &message).await;
        match result {
            Ok(how) => {
                store.mark_sent(&message, now, how).await?;
                done.sent += 1;
            }
            Err(e) => {
                // The first timeout or refusal ends the delivery: a server that does not answer
                // would otherwise cost one full timeout per message. Everything left stays queued
                // for the next run or `mail flush`.
                let text = redact_url(&e);
                store.mark_failed(&message, &text).await?;
                done.failed = total - done.sent;
                tracing::warn!(
                    recipient = %message.recipient,
                    kind = %message.kind,
                    error = %text,
                    waiting = done.failed,
                    "mail server failed; stopped delivering, {} messages still waiting in the outbox",
                    done.failed
                );
                break;
            }
        }
    }
    Ok(done)
}

/// Sends one message by SMTP, or writes it to the outbox folder when there is no server.
async fn send_one(
    transport: Option<&AsyncSmtpTransport<Tokio1Executor>>,
    sender: Option<lettre::Address>,
    timeout: std::time::Duration,
    outbox_dir: &Path,
    message: &OutboxMessage,
) -> Result<Transport, String> {
    match transport {
        // lettre's timeout covers connecting and commands; the whole exchange, DATA included,
        // is bounded here too, so a server that never answers cannot hang the run.
        Some(t) => match tokio::time::timeout(timeout * 2, send_smtp(t, sender, message)).await {
            Ok(sent) => sent.map(|_| Transport::Smtp),
            Err(_) => Err(format!("the SMTP server did not answer within {}s", (timeout * 2).as_secs())),
        },
        None => write_file(outbox_dir, message).map(|_| Transport::File),
    }
}

/// Sends messages now, bypassing the store's outbox: for alerts about a run that failed, which
/// must go out even when the store is what failed. Returns the errors, one per message not sent.
pub(crate) async fn send_without_outbox(server: &MailServer<'_>, messages: &[OutboxMessage]) -> Vec<String> {
    let MailServer { smtp, timeout, from, ref outbox_dir } = *server;
    let outbox_dir: &Path = outbox_dir;
    let transport = match smtp.map(|url| AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())) {
        Some(Ok(t)) => Some(t.timeout(Some(timeout)).build()),
        Some(Err(e)) => return vec![redact_url(&e.to_string())],
        None => None,
    };
    let sender: Option<lettre::Address> = from.parse::<Mailbox>().ok().map(|m| m.email);
    let mut errors = Vec::new();
    for m in messages {
        if let Err(e) = send_one(transport.as_ref(), sender.clone(), timeout, outbox_dir, m).await {
            errors.push(format!("{}: {}", m.recipient, redact_url(&e)));
        }
    }
    errors
}

async fn send_smtp(
    t: &AsyncSmtpTransport<Tokio1Executor>,
    from: Option<lettre::Address>,
    m: &OutboxMessage,
) -> Result<(), String> {
    let to: lettre::Address = m.recipient.parse().map_err(|e: lettre::address::AddressError| e.to_string())?;
    let envelope = lettre::address::Envelope::new(from, vec![to]).map_err(|e| e.to_string())?;
    t.send_raw(&envelope, &m.eml).await.map(|_| ()).map_err(|e| e.to_string())
}

fn write_file(dir: &Path, m: &OutboxMessage) -> Result<(), String> {
    // The Message-ID's hash names the file: unique per (job, period, kind, recipient) and ASCII.
    let hash = m.message_id.trim_start_matches('<').split('@').next().unwrap_or("").rsplit('.').next().unwrap_or("");
    let name = format!("{}-{}-{}.eml", safe_name(&m.job), safe_name(&m.period), safe_name(hash));
    crate::files::write_atomic(&dir.join(name), &m.eml).map_err(|e| e.to_string())
}
