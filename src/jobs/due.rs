//! Running by itself: `run due` (what cron or a systemd timer calls, and what each firing of the
//! `serve` daemon runs). Every due period goes through `run_job`, one at a time, oldest first, with
//! retries for transient failures, an alert to the operators for a period that failed for good,
//! and a heartbeat ping (dead man's switch) after each pass.

use super::alerts::{alert, notify_once_a_day, ping};
use super::{mailing, run_job, Context, RunOptions, RunSummary};
use crate::domain::job::Job;
use crate::exit::{self, UsageError};
use crate::schedule::{self, Due};
use crate::store::ledger::StartedBy;
use crate::store::Store;
use chrono::NaiveDateTime;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set when the daemon is asked to stop: no new job period is started after it.
#[derive(Debug, Clone, Default)]
pub(crate) struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub(crate) fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub(crate) fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a pass of `run due` did.
#[derive(Debug, Default)]
pub(crate) struct DuePass {
    /// One line per job period, for the operator.
    pub(crate) lines: Vec<String>,
    /// The first failure that outlived its retries, if any (it decides the exit code).
    pub(crate) failure: Option<anyhow::Error>,
}

/// The instant `run due --as-of DAY` looks from: now without a day or for today, the end of a
/// past day; a day in the future is refused rather than guessed at (exit 64).
pub(crate) fn as_of(day: Option<chrono::NaiveDate>, now: NaiveDateTime) -> Result<NaiveDateTime, UsageError> {
    match day {
        None => Ok(now),
        Some(day) if day > now.date() => Err(UsageError(format!("--as-of {day} is in the future"))),
        Some(day) if day == now.date() => Ok(now),
        Some(day) => Ok(day.and_time(chrono::NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default())),
    }
}

/// The job periods due by `as_of` that are not done yet, oldest first.
pub(crate) async fn pending(cx: &Context, store: &Store, as_of: NaiveDateTime) -> anyhow::Result<Vec<Due>> {
    let (s, tz) = (&cx.settings.schedule, cx.settings.rules.timezone);
    let due = schedule::due(&cx.settings.jobs, tz, as_of, s.look_back_months, s.first_period);
    let mut out = Vec::new();
    for d in due {
        if !store.is_done(d.job.kind(), &d.job.period()).await? {
            out.push(d);
        }
    }
    Ok(out)
}

/// Runs every pending job period (see [`pending`]) with one store for the pass. A period another
/// process holds is skipped, and so are the later periods of its job, which build on it (grade
/// history, settled projects); the same after a period fails for good. Other jobs go on.
pub(crate) async fn run_due(cx: &Context, as_of: NaiveDateTime, started_by: StartedBy, stop: &StopFlag) -> DuePass {
    let mut pass = DuePass::default();
    let locale = cx.settings.locale.as_str();
    let l = |key: &str, args: &[(&str, &str)]| crate::report::templates::label(locale, key, args);
    // An error in the locale's words where it has some, else its chain.
    let said = |e: &anyhow::Error| crate::report::failures::words(locale, e).unwrap_or_else(|| format!("{e:#}"));
    if let Some(warning) = cx.calendar_warning(as_of.date()) {
        // Once a day (the alert rule), not at every timer tick: the operators must add next year's
        // holidays in time.
        let year = cx.settings.rules.calendar.running_out(as_of.date(), cx.settings.calendar_warning_days);
        let year = year.map_or(0, |y| y.0);
        let subject = format!("[ict-partners] the working calendar has no data for {year}");
        if notify_once_a_day(cx, "calendar", &year.to_string(), &subject, &format!("{warning}.\n")).await {
            tracing::warn!("{warning}");
            pass.lines.push(l("due_warning", &[("warning", &warning)]));
        }
    }
    let opened = match cx.store().await {
        Ok(store) => {
            let pending = pending(cx, &store, as_of).await;
            pending.map(|p| (store, p))
        }
        Err(e) => Err(e.into()),
    };
    let (store, pending) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "run due could not start");
            let code = exit::code(&e).to_string();
            pass.lines.push(l("due_failed_start", &[("code", &code), ("error", &said(&e))]));
            alert(cx, None, &e).await;
            pass.failure = Some(e);
            ping(&cx.settings, false).await;
            return pass;
        }
    };
    if pending.is_empty() {
        pass.lines.push(l("due_nothing", &[("as_of", &as_of.format("%Y-%m-%d %H:%M").to_string())]));
    }
    let mut blocked: Vec<&'static str> = Vec::new();
    for due in pending {
        let job = due.job;
        let job_words = l(&format!("job_{}", job.name()), &[]);
        let what = format!("{job_words} {}", job.period());
        if stop.is_stopped() {
            pass.lines.push(l("due_not_started_stopping", &[("what", &what)]));
            continue;
        }
        if blocked.contains(&job.name()) {
            pass.lines.push(l("due_not_started_blocked", &[("what", &what), ("job", &job_words)]));
            continue;
        }
        match run_with_retries(cx, &store, job, started_by, stop).await {
            Ok(summary) => {
                let (sep, colon) = if locale == "en" { ("; ", ": ") } else { ("；", "：") };
                // The job's own summary starts with what it is: said once.
                let prefix = format!("{what}{colon}");
                let detail: Vec<&str> = summary.lines.iter().map(|l| l.strip_prefix(&prefix).unwrap_or(l)).collect();
                pass.lines.push(l("due_done", &[("what", &what), ("detail", &detail.join(sep))]));
            }
            Err(e) if exit::is_held(&e) => {
                tracing::warn!(job = job.name(), period = %job.period(), "{e:#}");
                pass.lines.push(l("due_skipped", &[("what", &what), ("error", &said(&e))]));
                blocked.push(job.name());
            }
            Err(e) if exit::is_mail_queued(&e) => {
                pass.lines.push(l("due_done_but", &[("what", &what), ("error", &said(&e))]));
                pass.failure.get_or_insert(e);
            }
            Err(e) => {
                tracing::error!(job = job.name(), period = %job.period(), error = %format!("{e:#}"), "the run failed");
                let code = exit::code(&e).to_string();
                pass.lines.push(l("due_failed", &[("what", &what), ("code", &code), ("error", &said(&e))]));
                alert(cx, Some(job), &e).await;
                blocked.push(job.name());
                pass.failure.get_or_insert(e);
            }
        }
    }
    if !stop.is_stopped() {
        // Settlement with finance is a step like the others: due once a period's windows have
        // closed and no dispute holds it back (rules.md §11), as of the scheduled instant.
        let (lines, failure) = super::settlement::settle_due(cx, &store, as_of, started_by).await;
        pass.lines.extend(lines);
        if let Some(e) = failure {
            pass.failure.get_or_insert(e);
        }
    }
    store.close().await;
    ping(&cx.settings, pass.failure.is_none()).await;
    pass
}

/// One job period, attempted again after a transient failure (a server unreachable: exit 69)
/// with a doubling wait; configuration and data errors are not retried.
async fn run_with_retries(
    cx: &Context,
    store: &Store,
    job: Job,
    started_by: StartedBy,
    stop: &StopFlag,
) -> anyhow::Result<RunSummary> {
    let attempts = cx.settings.schedule.retry_attempts.max(1);
    let mut attempt = 1;
    loop {
        let options = RunOptions { started_by, ..Default::default() };
        let result = run_job(cx, store, job, options).await;
        let retryable = result.as_ref().is_err_and(exit::is_retryable);
        if !retryable || attempt >= attempts || !wait_before(cx, job, attempt + 1, result.as_ref().err(), stop).await {
            return result;
        }
        attempt += 1;
        if result.as_ref().is_err_and(exit::is_mail_queued) {
            // The results are stored: only the mail is tried again, not the computation.
            return flush_until_sent(cx, store, job, attempt, attempts, stop).await.map(|line| RunSummary {
                output_dir: cx.settings.output_dir.clone(),
                lines: vec![crate::report::templates::label(&cx.settings.locale, "due_mail_retry", &[("line", &line)])],
            });
        }
    }
}

/// Sleeps the backoff before attempt `next`, saying why; false when the daemon was told to stop
/// meanwhile (the wait ends early then).
async fn wait_before(cx: &Context, job: Job, next: u32, error: Option<&anyhow::Error>, stop: &StopFlag) -> bool {
    let wait = schedule::backoff(cx.settings.schedule.retry_backoff, next);
    if let Some(e) = error {
        tracing::warn!(job = job.name(), period = %job.period(), attempt = next, wait_seconds = wait.as_secs(), error = %format!("{e:#}"), "transient failure; trying again");
    }
    let deadline = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < deadline && !stop.is_stopped() {
        tokio::time::sleep(std::time::Duration::from_millis(200).min(wait)).await;
    }
    !stop.is_stopped()
}

/// Delivers the outbox, again after each backoff while the mail server refuses.
async fn flush_until_sent(
    cx: &Context,
    store: &Store,
    job: Job,
    mut attempt: u32,
    attempts: u32,
    stop: &StopFlag,
) -> anyhow::Result<String> {
    loop {
        let result = mailing::flush_outbox(cx, store).await;
        if result.is_ok()
            || attempt >= attempts
            || !wait_before(cx, job, attempt + 1, result.as_ref().err(), stop).await
        {
            return result;
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::{parse_date, parse_timestamp};

    #[test]
    fn as_of_is_now_today_the_end_of_a_past_day_and_never_the_future() {
        let now = parse_timestamp("2026-11-03 01:30:00").unwrap();
        assert_eq!(as_of(None, now).unwrap(), now);
        // Today: what has fired by now, not what fires later today (the 02:00 monthly job).
        assert_eq!(as_of(parse_date("2026-11-03"), now).unwrap(), now);
        assert_eq!(as_of(parse_date("2026-11-02"), now).unwrap(), parse_timestamp("2026-11-02 23:59:59").unwrap());
        assert!(as_of(parse_date("2026-11-04"), now).is_err());
    }
}
