//! E-mail: building messages from the reports' letters (pure) and delivering the outbox, through
//! SMTP when configured and as `.eml` files otherwise, each message at most once.

mod delivery;
mod message;

pub(crate) use delivery::MailError;
pub(crate) use delivery::{deliver, send_without_outbox, Delivered, MailServer};
pub(crate) use message::{build, message_id, AttachedFile};
