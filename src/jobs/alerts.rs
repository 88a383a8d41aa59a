//! Telling people when something needs them: an alert mail for a job period that failed for good
//! (once a day while it keeps failing), and the heartbeat ping after each pass (a dead man's
//! switch). Sent directly, not through the store: the store may be what failed.

use super::mailing::{letters_to, server};
use super::Context;
use crate::config::Settings;
use crate::domain::job::Job;
use crate::files::safe_name;
use crate::report::Letter;

/// Tells the operators that a job period failed for good. Sent directly (not through the store's
/// outbox: the store may be what failed); a failure to send is logged, never fatal.
/// `job` is `None` when the pass could not even start (the store unreachable, say). While the
/// same thing keeps failing, the operators hear of it once a day, not at every timer tick.
pub(crate) async fn alert(cx: &Context, job: Option<Job>, error: &anyhow::Error) {
    let settings = &cx.settings;
    let (name, period) = match job {
        Some(job) => (job.name(), job.period()),
        None => ("due", cx.system.today(settings.rules.timezone).to_string()),
    };
    let host = cx.system.host();
    let code = crate::exit::code(error);
    let text = format!(
        "ict-partners could not complete {name} {period} on {host} (exit {code}).\n\n{error:#}\n\n\
         Exit 69: a database or mail server could not be reached; the next `run due` tries again.\n\
         Exit 65: the source data is unusable (a missing table or column); fix the source or the query.\n\
         Exit 78: the configuration is invalid; `ict-partners check-config` lists every problem.\n\
         The run ledger has the details; nothing partial was kept. While this keeps failing, this\n\
         alert is repeated once a day.\n"
    );
    notify_once_a_day(cx, name, &period, &format!("[ict-partners] {name} {period} failed (exit {code})"), &text).await;
}

/// Mails the alert recipients (and the job's own, when `name` is a job) directly, not through the
/// store's outbox (the store may be what failed). While the same thing keeps happening they hear
/// of it once a day, not at every timer tick: a marker per (name, period) outside the store says
/// when the last one went out. A failure to send is logged, never fatal.
/// Returns whether this was the first time within the day (the marker is then renewed).
pub(crate) async fn notify_once_a_day(cx: &Context, name: &str, period: &str, subject: &str, text: &str) -> bool {
    let settings = &cx.settings;
    let marker = settings.output_dir.join(".alerts").join(format!("{name}-{}", safe_name(period)));
    let recent = cx.system.age_of(&marker).is_some_and(|age| age < std::time::Duration::from_secs(24 * 3600));
    if recent {
        tracing::info!(job = name, period = %period, "already alerted within the last day");
        return false;
    }
    let note = || {
        let written =
            marker.parent().map(std::fs::create_dir_all).transpose().and_then(|_| std::fs::write(&marker, b""));
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not note the alert; the next pass alerts again");
        }
    };
    let job_recipients = settings.jobs.iter().find(|d| d.name == name).map(|d| d.recipients.clone());
    let mut recipients = settings.schedule.alert_recipients.clone();
    for r in job_recipients.unwrap_or_default() {
        if !recipients.contains(&r) {
            recipients.push(r);
        }
    }
    if recipients.is_empty() {
        note();
        return true;
    }
    let letter = Letter {
        subject: subject.to_string(),
        html: format!("<pre>{}</pre>", minijinja::HtmlEscape(text)),
        text: text.to_string(),
        images: vec![],
    };
    let kind = format!("alert-{}", cx.system.utc_now().format("%Y%m%d%H%M%S"));
    let messages = letters_to(cx, name, period, &kind, &recipients, &letter, &[]);
    let errors = crate::mail::send_without_outbox(&server(cx), &messages).await;
    for e in &errors {
        tracing::warn!(error = %e, "the alert could not be sent");
    }
    if errors.len() < messages.len() {
        note();
    }
    true
}

/// Pings the heartbeat URL (success) or the fail URL; a ping that fails is logged, never fatal.
pub(crate) async fn ping(settings: &Settings, ok: bool) {
    let url = if ok { &settings.schedule.heartbeat_url } else { &settings.schedule.heartbeat_fail_url };
    let Some(url) = url.clone() else { return };
    let result = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(10))).build().into();
        agent.get(url.expose()).call().map(|_| ()).map_err(|e| crate::db::redact_url(&e.to_string()))
    })
    .await;
    match result {
        Ok(Ok(())) => tracing::debug!("heartbeat sent"),
        Ok(Err(e)) => tracing::warn!(error = %e, "the heartbeat ping failed"),
        Err(e) => tracing::warn!(error = %e, "the heartbeat ping failed"),
    }
}
