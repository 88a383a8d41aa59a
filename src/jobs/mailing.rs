//! Turning letters into outbox messages, recording them and delivering the outbox: the last step
//! of every run that mails, `mail flush`, and the overview a job file asks for.

use super::{stamp, Context, RunOptions, RunSummary};
use crate::domain::job::Job;
use crate::mail::{self, AttachedFile, MailError, MailServer};
use crate::report::Letter;
use crate::store::outbox::OutboxMessage;
use crate::store::Store;
use chrono::NaiveDateTime;

/// Where this configuration sends mail: its SMTP server, else the outbox folder.
pub(crate) fn server(cx: &Context) -> MailServer<'_> {
    let s = &cx.settings;
    MailServer {
        smtp: s.smtp_url.as_ref(),
        timeout: s.smtp_timeout,
        from: &s.mail_from,
        outbox_dir: s.output_dir.join("outbox"),
    }
}

/// Delivers the outbox with this configuration's server (or folder).
async fn deliver(cx: &Context, store: &Store, now: NaiveDateTime) -> Result<mail::Delivered, MailError> {
    mail::deliver(store, &server(cx), &stamp(now)).await
}

/// Records the messages in the outbox and delivers everything queued. Returns the line for the
/// operator, or `MailError::Undelivered` (exit 69) when messages stay queued: the results are
/// committed by then, and the next run or `mail flush` sends them.
pub(crate) async fn send(
    cx: &Context,
    store: &Store,
    messages: &[OutboxMessage],
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<String> {
    let queued = store.enqueue(messages, options.resend, &stamp(now), &cx.system.actor()).await?;
    let delivered = deliver(cx, store, now).await?;
    if delivered.failed > 0 {
        let waiting = MailError::Undelivered { sent: delivered.sent, waiting: delivered.failed };
        return Err(anyhow::Error::new(waiting).context("the results are stored and written, but mail waits"));
    }
    let locale = cx.settings.locale.as_str();
    let how = crate::report::templates::label(
        locale,
        if cx.settings.smtp_url.is_some() { "mail_how_smtp" } else { "mail_how_outbox" },
        &[],
    );
    let (queued, sent) = (queued.to_string(), delivered.sent.to_string());
    Ok(crate::report::templates::label(
        locale,
        "mail_sent_line",
        &[("queued", &queued), ("sent", &sent), ("how", &how)],
    ))
}

/// Delivers what is queued after a step that committed its messages; a server that does not
/// answer leaves them queued for the next run or `mail flush` (logged, not a failure here).
pub(crate) async fn deliver_quietly(cx: &Context, store: &Store) {
    match deliver(cx, store, cx.now()).await {
        Ok(done) if done.failed > 0 => tracing::warn!(waiting = done.failed, "mail waits in the outbox"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "mail waits in the outbox"),
    }
}

/// Delivers every queued message (after the mail server was down): `mail flush`, and `run due`
/// retrying a period whose results are stored but whose mail is not. Exit 69 while any wait.
pub(crate) async fn flush_outbox(cx: &Context, store: &Store) -> anyhow::Result<String> {
    let done = deliver(cx, store, cx.now()).await?;
    if done.failed > 0 {
        return Err(MailError::Undelivered { sent: done.sent, waiting: done.failed }.into());
    }
    Ok(crate::report::templates::label(&cx.settings.locale, "mail_flushed", &[("sent", &done.sent.to_string())]))
}

/// Builds one outbox message per recipient of a letter; recipients that are not addresses are
/// skipped with a warning (they come from other systems).
pub(crate) fn letters_to(
    cx: &Context,
    job: &str,
    period: &str,
    kind: &str,
    recipients: &[String],
    letter: &Letter,
    attachments: &[AttachedFile],
) -> Vec<OutboxMessage> {
    let from = &cx.settings.mail_from;
    if recipients.is_empty() {
        tracing::warn!(kind, "no recipients: the report is written but not mailed");
    }
    recipients
        .iter()
        .filter_map(|to| {
            let id = mail::message_id(from, job, period, kind, to);
            match mail::build(from, to, letter, attachments, &id) {
                Ok(eml) => Some(OutboxMessage {
                    job: job.into(),
                    period: period.into(),
                    recipient: to.clone(),
                    kind: kind.into(),
                    subject: letter.subject.clone(),
                    message_id: id,
                    eml,
                }),
                Err(e) => {
                    tracing::warn!(kind, recipient = %to, error = %e, "message not built");
                    None
                }
            }
        })
        .collect()
}

/// Mails the job's overview to the recipients its definition names (`recipients` in
/// `jobs/<job>.toml`): the run's summary with the period's CSV files attached, once per period
/// and recipient like every message. `None` when the job names no one.
pub(super) async fn overview(
    cx: &Context,
    store: &Store,
    job: Job,
    summary: &RunSummary,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<Option<String>> {
    let Some(def) = cx.settings.jobs.iter().find(|d| d.name == job.name()).filter(|d| !d.recipients.is_empty()) else {
        return Ok(None);
    };
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&summary.output_dir)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", summary.output_dir.display()))?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "csv"))
        .filter_map(|e| Some((e.file_name().to_str()?.to_string(), std::fs::read(e.path()).ok()?)))
        .collect();
    files.sort();
    let title = crate::report::templates::label(
        &cx.settings.locale,
        &format!("subject_overview_{}", job.name()),
        &[("period", &job.period())],
    );
    let mut text = summary.lines.join("\n");
    text.push_str("\n\n");
    for (name, _) in &files {
        text.push_str(&format!("{name}\n"));
    }
    let html = format!("<pre>{}</pre>", minijinja::HtmlEscape(&text));
    let letter = Letter { subject: title, html, text, images: vec![] };
    let attached: Vec<AttachedFile> = files
        .iter()
        .map(|(name, bytes)| AttachedFile { ascii_name: name, name, content_type: "text/csv; charset=utf-8", bytes })
        .collect();
    let messages = letters_to(cx, job.name(), &job.period(), "overview", &def.recipients, &letter, &attached);
    let locale = cx.settings.locale.as_str();
    send(cx, store, &messages, options, now)
        .await
        .map(|line| Some(crate::report::templates::label(locale, "overview_line", &[("line", &line)])))
}
