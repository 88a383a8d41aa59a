//! E-mail: message building (pure: report in, RFC 5322 bytes out) and delivery of the outbox,
//! through SMTP when configured and as `.eml` files otherwise, each message at most once.

use crate::error::{redact_url, AppError};
use crate::report::forms::safe_name;
use crate::settings::Secret;
use crate::store::{OutboxMessage, Store};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::Path;
use std::time::Duration;

/// A message could not be built (bad address, bad header).
#[derive(Debug, thiserror::Error)]
#[error("building a message: {0}")]
pub struct BuildError(String);

fn berr(e: impl std::fmt::Display) -> BuildError {
    BuildError(e.to_string())
}

/// `Content-Disposition: attachment` with an ASCII `filename` for every client and the real
/// (Chinese) name as RFC 2231 `filename*` for the clients that read it.
#[derive(Debug, Clone)]
struct Disposition {
    raw: String,
    encoded: String,
}

impl Disposition {
    fn attachment(ascii: &str, utf8: &str) -> Self {
        let ascii: String = ascii.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').collect();
        let encoded = format!("attachment; filename=\"{ascii}\";\r\n filename*=UTF-8''{}", rfc2231(utf8));
        Self { raw: format!("attachment; filename=\"{ascii}\""), encoded }
    }
}

impl Header for Disposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self { raw: s.to_string(), encoded: s.to_string() })
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::dangerous_new_pre_encoded(Self::name(), self.raw.clone(), self.encoded.clone())
    }
}

/// RFC 2231 / 5987 value encoding: attr-chars as they are, every other byte as %XX.
fn rfc2231(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Header text from other systems (department names) must not carry line breaks into a header.
pub fn header_text(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// What a message says: subject, HTML (images by `cid:`), plain text and the inline images.
#[derive(Debug, Clone, Default)]
pub struct Letter {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// (content id, PNG bytes).
    pub images: Vec<(String, Vec<u8>)>,
}

/// A file attached to a message.
pub struct AttachedFile<'a> {
    pub ascii_name: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// The stable Message-ID of (job, period, kind, recipient) on our own domain.
pub fn message_id(from: &str, job: &str, period: &str, kind: &str, recipient: &str) -> String {
    use sha2::{Digest, Sha256};
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d).trim_end_matches('>');
    let digest = Sha256::digest(format!("{job}\n{period}\n{kind}\n{recipient}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("<{job}.{period}.{hex}@{domain}>")
}

/// Builds a multipart/mixed message: (plain text | HTML with inline PNGs by CID) + attachments.
pub fn build(
    from: &str,
    to: &str,
    letter: &Letter,
    attachments: &[AttachedFile],
    message_id: &str,
) -> Result<Vec<u8>, BuildError> {
    let from: Mailbox = from.parse().map_err(berr)?;
    let to: Mailbox = to.parse().map_err(berr)?;
    let png = ContentType::parse("image/png").map_err(berr)?;
    let mut related = MultiPart::related().singlepart(SinglePart::html(letter.html.clone()));
    for (cid, bytes) in &letter.images {
        related = related.singlepart(Attachment::new_inline(cid.clone()).body(bytes.clone(), png.clone()));
    }
    let alternative = MultiPart::alternative().singlepart(SinglePart::plain(letter.text.clone())).multipart(related);
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for file in attachments {
        let part = SinglePart::builder()
            .header(ContentType::parse(file.content_type).map_err(berr)?)
            .header(Disposition::attachment(file.ascii_name, file.name))
            .body(file.bytes.to_vec());
        mixed = mixed.singlepart(part);
    }
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(header_text(&letter.subject))
        .message_id(Some(message_id.to_string()))
        .multipart(mixed)
        .map_err(berr)?;
    Ok(message.formatted())
}

/// What a delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
}

/// Sends every queued message: through SMTP when configured, else as `.eml` files under
/// `outbox_dir`. A message is marked sent only after the server (or the file system) has it; a
/// server that cannot be reached leaves the rest queued and the caller reports exit 69.
pub async fn deliver(
    store: &Store,
    smtp: Option<&Secret>,
    timeout: Duration,
    from: &str,
    outbox_dir: &Path,
    now: &str,
) -> anyhow::Result<Delivered> {
    let queued = store.queued_messages().await?;
    let mut done = Delivered::default();
    if queued.is_empty() {
        return Ok(done);
    }
    let transport = match smtp {
        Some(url) => Some(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                .map_err(|e| AppError::Usage(format!("SMTP URL {}: {e}", redact_url(url.expose()))))?
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
) -> Result<&'static str, String> {
    match transport {
        // lettre's timeout covers connecting and commands; the whole exchange, DATA included,
        // is bounded here too, so a server that never answers cannot hang the run.
        Some(t) => match tokio::time::timeout(timeout * 2, send_smtp(t, sender, message)).await {
            Ok(sent) => sent.map(|_| "smtp"),
            Err(_) => Err(format!("the SMTP server did not answer within {}s", (timeout * 2).as_secs())),
        },
        None => write_file(outbox_dir, message).map(|_| "file"),
    }
}

/// Sends messages now, bypassing the store's outbox: for alerts about a run that failed, which
/// must go out even when the store is what failed. Returns the errors, one per message not sent.
pub async fn send_without_outbox(
    smtp: Option<&Secret>,
    timeout: std::time::Duration,
    from: &str,
    outbox_dir: &Path,
    messages: &[OutboxMessage],
) -> Vec<String> {
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
    crate::report::write_atomic(&dir.join(name), &m.eml).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Letter {
        Letter {
            subject: "【月度考核】2026-10\r\nBcc: x@evil.example".into(),
            html: "<p>考核得分</p><img src=\"cid:grades\">".into(),
            text: "考核得分".into(),
            images: vec![("grades".into(), vec![0x89, b'P', b'N', b'G'])],
        }
    }

    #[test]
    fn message_has_alternatives_inline_image_and_a_safe_attachment_name() {
        let id = message_id("ict@sc.example.cn", "monthly", "2026-10", "summary", "a@b.cn");
        let file = AttachedFile {
            ascii_name: "ict-partners-2026-10.xlsx",
            name: "月度考核-2026-10.xlsx",
            content_type: "application/octet-stream",
            bytes: b"PK",
        };
        let eml = String::from_utf8(build("ict@sc.example.cn", "a@b.cn", &report(), &[file], &id).unwrap()).unwrap();
        assert!(
            eml.contains("multipart/mixed")
                && eml.contains("multipart/alternative")
                && eml.contains("multipart/related")
        );
        assert!(eml.contains("Content-ID: <grades>"));
        assert!(eml.contains("filename=\"ict-partners-2026-10.xlsx\""));
        assert!(eml.contains("filename*=UTF-8''%E6%9C%88"));
        assert!(eml.contains(&format!("Message-ID: {id}")) && id.ends_with("@sc.example.cn>"));
        // The subject is encoded (RFC 2047) and cannot open a new header line.
        assert!(eml.contains("Subject: =?utf-8?"));
        assert!(!eml.contains("\r\nBcc:"));
    }

    #[test]
    fn message_ids_are_stable_and_distinct() {
        let a = message_id("x@d.cn", "monthly", "2026-10", "summary", "a@b.cn");
        assert_eq!(a, message_id("x@d.cn", "monthly", "2026-10", "summary", "a@b.cn"));
        assert_ne!(a, message_id("x@d.cn", "monthly", "2026-10", "summary", "c@b.cn"));
    }
}
