//! Building a message (pure: a letter in, RFC 5322 bytes out): multipart/alternative text and
//! HTML with inline images by CID, attachments with an ASCII file name for every client and the
//! Chinese one (RFC 2231) for those that read it, a stable Message-ID.

use crate::domain::text::escape;
use crate::report::Letter;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// A message could not be built (bad address, bad header).
#[derive(Debug, thiserror::Error)]
#[error("building a message: {0}")]
pub(crate) struct BuildError(String);

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

/// Header text from other systems (department names) must not carry line breaks into a header,
/// nor any other control, format or bidirectional character into a mail client's list.
pub(crate) fn header_text(s: &str) -> String {
    let spaced: String = s.chars().map(|c| if matches!(c, '\r' | '\n' | '\t') { ' ' } else { c }).collect();
    escape(&spaced, false).into_owned()
}

/// A file attached to a message.
pub(crate) struct AttachedFile<'a> {
    pub(crate) ascii_name: &'a str,
    pub(crate) name: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) bytes: &'a [u8],
}

/// The stable Message-ID of (job, period, kind, recipient) on our own domain.
pub(crate) fn message_id(from: &str, job: &str, period: &str, kind: &str, recipient: &str) -> String {
    use sha2::{Digest, Sha256};
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d).trim_end_matches('>');
    let digest = Sha256::digest(format!("{job}\n{period}\n{kind}\n{recipient}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("<{job}.{period}.{hex}@{domain}>")
}

/// Builds a multipart/mixed message: (plain text | HTML with inline PNGs by CID) + attachments.
pub(crate) fn build(
    from: &str,
    to: &str,
    letter: &Letter,
    attachments: &[AttachedFile],
    message_id: &str,
) -> Result<Vec<u8>, BuildError> {
    let from: Mailbox = from.parse().map_err(berr)?;
    let to: Mailbox = to.parse().map_err(berr)?;
    let png = ContentType::parse("image/png").map_err(berr)?;
    // What a store or another system put in the text shows escaped instead of acting.
    let mut related = MultiPart::related().singlepart(SinglePart::html(escape(&letter.html, true).into_owned()));
    for (cid, bytes) in &letter.images {
        related = related.singlepart(Attachment::new_inline(cid.clone()).body(bytes.clone(), png.clone()));
    }
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(escape(&letter.text, true).into_owned()))
        .multipart(related);
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for file in attachments {
        let part = SinglePart::builder()
            .header(ContentType::parse(file.content_type).map_err(berr)?)
            .header(Disposition::attachment(file.ascii_name, &header_text(file.name)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Letter;

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
