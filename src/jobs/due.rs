//! Running by itself: `run due` (what cron or a systemd timer calls) and `serve` (the daemon that
//! fires the same `run_due` on the job schedules). Both go through `run_job`, one period at a time,
//! oldest first, with retries for transient failures, an alert to the operators for a period that
//! failed for good, and a heartbeat ping (dead man's switch) after each pass.

use super::{run_job, Job, RunOptions, StartedBy};
use crate::error::{exit_code_of, AppError};
use crate::schedule::{self, Due};
use crate::settings::Settings;
use crate::store::Store;
use chrono::NaiveDateTime;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set when the daemon is asked to stop: no new job period is started after it.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a pass of `run due` did.
#[derive(Debug, Default)]
pub struct DuePass {
    /// One line per job period, for the operator.
    pub lines: Vec<String>,
    /// The first failure that outlived its retries, if any (it decides the exit code).
    pub failure: Option<anyhow::Error>,
}

/// The instant `run due --as-of DAY` looks from: now without a day or for today, the end of a
/// past day; a day in the future is refused rather than guessed at (exit 64).
pub fn as_of(day: Option<chrono::NaiveDate>, now: NaiveDateTime) -> Result<NaiveDateTime, AppError> {
    match day {
        None => Ok(now),
        Some(day) if day > now.date() => Err(AppError::Usage(format!("--as-of {day} is in the future"))),
        Some(day) if day == now.date() => Ok(now),
        Some(day) => Ok(day.and_hms_opt(23, 59, 59).expect("a valid time")),
    }
}

/// The job periods due by `as_of` that are not done yet, oldest first.
pub async fn pending(settings: &Settings, as_of: NaiveDateTime) -> anyhow::Result<Vec<Due>> {
    pending_in(settings, as_of, false).await
}

/// [`pending`] for a command that only looks (`check-config`): the store is opened read only.
pub async fn pending_read_only(settings: &Settings, as_of: NaiveDateTime) -> anyhow::Result<Vec<Due>> {
    pending_in(settings, as_of, true).await
}

async fn pending_in(settings: &Settings, as_of: NaiveDateTime, read_only: bool) -> anyhow::Result<Vec<Due>> {
    let s = &settings.schedule;
    let due = schedule::due(&settings.jobs, settings.rules.timezone, as_of, s.look_back_months, s.first_period);
    if due.is_empty() {
        return Ok(due);
    }
    let store = if read_only { Store::open_read_only(settings).await? } else { Store::open(settings).await? };
    let mut out = Vec::new();
    for d in due {
        if !store.is_done(d.job.name(), &d.job.period()).await? {
            out.push(d);
        }
    }
    store.close().await;
    Ok(out)
}

/// Runs every pending job period (see [`pending`]). A period another process holds is skipped, and
/// so are the later periods of its job, which build on it (grade history, settled projects); the
/// same after a period fails for good. Other jobs go on.
pub async fn run_due(settings: &Settings, as_of: NaiveDateTime, started_by: StartedBy, stop: &StopFlag) -> DuePass {
    let mut pass = DuePass::default();
    let pending = match pending(settings, as_of).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "run due could not start");
            pass.lines.push(format!("FAILED before any job period (exit {}): {e:#}", exit_code_of(&e)));
            alert(settings, None, &e).await;
            pass.failure = Some(e);
            ping(settings, false).await;
            return pass;
        }
    };
    if let Some(warning) = settings.calendar_warning(as_of.date()) {
        // Once a day (the alert rule), not at every timer tick: the operators must add next year's
        // holidays in time.
        let year = settings.rules.calendar.running_out(as_of.date(), settings.calendar_warning_days).map_or(0, |y| y.0);
        let subject = format!("[ict-partners] the working calendar has no data for {year}");
        if notify_once_a_day(settings, "calendar", &year.to_string(), &subject, &format!("{warning}.\n")).await {
            tracing::warn!("{warning}");
            pass.lines.push(format!("warning: {warning}"));
        }
    }
    if pending.is_empty() {
        pass.lines.push(format!("nothing due as of {}", as_of.format("%Y-%m-%d %H:%M")));
    }
    let mut blocked: Vec<&'static str> = Vec::new();
    for due in pending {
        let job = due.job;
        let what = format!("{} {}", job.name(), job.period());
        if stop.is_stopped() {
            pass.lines.push(format!("{what}: not started (stopping)"));
            continue;
        }
        if blocked.contains(&job.name()) {
            pass.lines.push(format!("{what}: not started (an earlier {} period did not complete)", job.name()));
            continue;
        }
        match run_with_retries(settings, job, started_by, stop).await {
            Ok(summary) => {
                let prefix = format!("{what}: ");
                let detail: Vec<&str> = summary.lines.iter().map(|l| l.strip_prefix(&prefix).unwrap_or(l)).collect();
                pass.lines.push(format!("{what}: done ({})", detail.join("; ")));
            }
            Err(e) => match e.downcast_ref::<AppError>() {
                Some(AppError::Held(message)) => {
                    tracing::warn!(job = job.name(), period = %job.period(), "{message}");
                    pass.lines.push(format!("{what}: skipped, {message}"));
                    blocked.push(job.name());
                }
                Some(AppError::MailQueued(message)) => {
                    pass.lines.push(format!("{what}: done, but {message}"));
                    pass.failure.get_or_insert(e);
                }
                _ => {
                    tracing::error!(job = job.name(), period = %job.period(), error = %format!("{e:#}"), "the run failed");
                    pass.lines.push(format!("{what}: FAILED (exit {}): {e:#}", exit_code_of(&e)));
                    alert(settings, Some(job), &e).await;
                    blocked.push(job.name());
                    pass.failure.get_or_insert(e);
                }
            },
        }
    }
    ping(settings, pass.failure.is_none()).await;
    pass
}

/// One job period, attempted again after a transient failure (a server unreachable: exit 69)
/// with a doubling wait; configuration and data errors are not retried.
async fn run_with_retries(
    settings: &Settings,
    job: Job,
    started_by: StartedBy,
    stop: &StopFlag,
) -> anyhow::Result<super::RunSummary> {
    let attempts = settings.schedule.retry_attempts.max(1);
    let mut attempt = 1;
    loop {
        let now = crate::clock::now_local(settings.rules.timezone);
        let options = RunOptions { started_by, ..Default::default() };
        let result = run_job(settings, job, options, now).await;
        let retryable = match &result {
            Err(e) => exit_code_of(e) == 69 && !matches!(e.downcast_ref::<AppError>(), Some(AppError::Held(_))),
            Ok(_) => false,
        };
        if !retryable
            || attempt >= attempts
            || !wait_before(settings, job, attempt + 1, result.as_ref().err(), stop).await
        {
            return result;
        }
        attempt += 1;
        if result.as_ref().is_err_and(|e| matches!(e.downcast_ref::<AppError>(), Some(AppError::MailQueued(_)))) {
            // The results are stored: only the mail is tried again, not the computation.
            return flush_until_sent(settings, job, attempt, attempts, stop).await.map(|line| super::RunSummary {
                job,
                output_dir: settings.output_dir.clone(),
                lines: vec![format!("results stored; queued {line}")],
            });
        }
    }
}

/// Sleeps the backoff before attempt `next`, saying why; false when the daemon was told to stop
/// meanwhile (the wait ends early then).
async fn wait_before(settings: &Settings, job: Job, next: u32, error: Option<&anyhow::Error>, stop: &StopFlag) -> bool {
    let wait = schedule::backoff(settings.schedule.retry_backoff, next);
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
    settings: &Settings,
    job: Job,
    mut attempt: u32,
    attempts: u32,
    stop: &StopFlag,
) -> anyhow::Result<String> {
    loop {
        let now = crate::clock::now_local(settings.rules.timezone);
        let result = super::flush_outbox(settings, now).await;
        if result.is_ok()
            || attempt >= attempts
            || !wait_before(settings, job, attempt + 1, result.as_ref().err(), stop).await
        {
            return result;
        }
        attempt += 1;
    }
}

/// Tells the operators that a job period failed for good. Sent directly (not through the store's
/// outbox: the store may be what failed); a failure to send is logged, never fatal.
/// `job` is `None` when the pass could not even start (the store unreachable, say). While the
/// same thing keeps failing, the operators hear of it once a day, not at every timer tick.
async fn alert(settings: &Settings, job: Option<Job>, error: &anyhow::Error) {
    let (name, period) = match job {
        Some(job) => (job.name(), job.period()),
        None => ("due", crate::clock::today(settings.rules.timezone).to_string()),
    };
    let host = crate::store::ledger::host_name();
    let code = exit_code_of(error);
    let text = format!(
        "ict-partners could not complete {name} {period} on {host} (exit {code}).\n\n{error:#}\n\n\
         Exit 69: a database or mail server could not be reached; the next `run due` tries again.\n\
         Exit 65: the source data is unusable (a missing table or column); fix the source or the query.\n\
         Exit 78: the configuration is invalid; `ict-partners check-config` lists every problem.\n\
         The run ledger has the details; nothing partial was kept. While this keeps failing, this\n\
         alert is repeated once a day.\n"
    );
    notify_once_a_day(settings, name, &period, &format!("[ict-partners] {name} {period} failed (exit {code})"), &text)
        .await;
}

/// Mails the alert recipients (and the job's own, when `name` is a job) directly, not through the
/// store's outbox (the store may be what failed). While the same thing keeps happening they hear
/// of it once a day, not at every timer tick: a marker per (name, period) outside the store says
/// when the last one went out. A failure to send is logged, never fatal.
/// Returns whether this was the first time within the day (the marker is then renewed).
async fn notify_once_a_day(settings: &Settings, name: &str, period: &str, subject: &str, text: &str) -> bool {
    let marker =
        settings.output_dir.join(".alerts").join(format!("{name}-{}", crate::report::forms::safe_name(period)));
    let recent = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().is_ok_and(|age| age < std::time::Duration::from_secs(24 * 3600)));
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
    let letter = crate::mail::Letter {
        subject: subject.to_string(),
        html: format!("<pre>{}</pre>", minijinja::HtmlEscape(text)),
        text: text.to_string(),
        images: vec![],
    };
    let kind = format!("alert-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    let messages = super::letters_to(settings, name, period, &kind, &recipients, &letter, &[]);
    let outbox = settings.output_dir.join("outbox");
    let errors = crate::mail::send_without_outbox(
        settings.smtp_url.as_ref(),
        settings.smtp_timeout,
        &settings.mail_from,
        &outbox,
        &messages,
    )
    .await;
    for e in &errors {
        tracing::warn!(error = %e, "the alert could not be sent");
    }
    if errors.len() < messages.len() {
        note();
    }
    true
}

/// Pings the heartbeat URL (success) or the fail URL; a ping that fails is logged, never fatal.
async fn ping(settings: &Settings, ok: bool) {
    let url = if ok { &settings.schedule.heartbeat_url } else { &settings.schedule.heartbeat_fail_url };
    let Some(url) = url.clone() else { return };
    let result = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(10))).build().into();
        agent.get(url.expose()).call().map(|_| ()).map_err(|e| crate::error::redact_url(&e.to_string()))
    })
    .await;
    match result {
        Ok(Ok(())) => tracing::debug!("heartbeat sent"),
        Ok(Err(e)) => tracing::warn!(error = %e, "the heartbeat ping failed"),
        Err(e) => tracing::warn!(error = %e, "the heartbeat ping failed"),
    }
}

/// The daemon: `run due` once at start (catch-up), then again at every firing of an enabled job's
/// schedule, one pass at a time. SIGTERM or SIGINT stops new work; the running job period gets
/// `grace` to finish, after which it is abandoned (its transaction rolls back) and its ledger row
/// is marked aborted. Returns when stopped.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let defs = settings.jobs.clone();
    let settings = Arc::new(settings);
    let stop = StopFlag::default();
    // One pass at a time: a firing while a pass runs waits for it, then finds its periods done.
    let gate = Arc::new(tokio::sync::Mutex::new(()));
    let (fire_tx, mut fire_rx) = tokio::sync::mpsc::channel::<String>(16);
    let mut scheduler =
        tokio_cron_scheduler::JobScheduler::new().await.map_err(|e| anyhow::anyhow!("starting the scheduler: {e}"))?;
    for def in defs.iter().filter(|d| d.enabled) {
        let (tx, name) = (fire_tx.clone(), def.name.clone());
        let fired = name.clone();
        let cron_job =
            tokio_cron_scheduler::Job::new_async_tz(def.schedule.to_string(), settings.rules.timezone, move |_, _| {
                let (tx, fired) = (tx.clone(), fired.clone());
                Box::pin(async move {
                    let _ = tx.send(fired).await;
                })
            })
            .map_err(|e| anyhow::anyhow!("jobs/{name}.toml: the scheduler refused the schedule: {e}"))?;
        scheduler.add(cron_job).await.map_err(|e| anyhow::anyhow!("scheduling {name}: {e}"))?;
    }
    scheduler.start().await.map_err(|e| anyhow::anyhow!("starting the scheduler: {e}"))?;
    tracing::info!(jobs = defs.iter().filter(|d| d.enabled).count(), "serving: catching up, then on schedule");

    let pass = {
        let (settings, stop, gate) = (settings.clone(), stop.clone(), gate.clone());
        move |trigger: String| {
            let (settings, stop, gate) = (settings.clone(), stop.clone(), gate.clone());
            async move {
                let _one_at_a_time = gate.lock().await;
                if stop.is_stopped() {
                    return;
                }
                let now = crate::clock::now_local(settings.rules.timezone);
                let span = tracing::info_span!("pass", trigger = %trigger);
                let pass =
                    tracing::Instrument::instrument(run_due(&settings, now, StartedBy::Serve, &stop), span).await;
                for line in &pass.lines {
                    tracing::info!(trigger = %trigger, "{line}");
                }
                if let Some(e) = pass.failure {
                    // Recorded in the ledger and alerted; the schedule goes on.
                    tracing::error!(trigger = %trigger, exit = exit_code_of(&e), error = %format!("{e:#}"), "a pass ended with a failure");
                }
            }
        }
    };
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    // Passes in flight: at most one runs (the gate), later firings wait behind it.
    let mut passes: Vec<tokio::task::JoinHandle<()>> = vec![tokio::spawn(pass("start".into()))];
    loop {
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            fired = fire_rx.recv() => {
                let Some(name) = fired else { break };
                tracing::info!(job = %name, "schedule fired");
                passes.retain(|h| !h.is_finished());
                passes.push(tokio::spawn(pass(name)));
            }
        }
    }
    stop.stop();
    let _ = scheduler.shutdown().await;
    tracing::info!(
        grace_seconds = settings.schedule.grace.as_secs(),
        "stopping: no new work; letting the running job finish"
    );
    let mut abandoned = false;
    let deadline = tokio::time::Instant::now() + settings.schedule.grace;
    for mut handle in passes {
        // Waiting passes see the stop flag and return at once; the running one gets the grace
        // period (a second signal ends it sooner).
        let finished = tokio::select! {
            _ = &mut handle => true,
            _ = tokio::time::sleep_until(deadline) => false,
            _ = sigterm.recv() => false,
            _ = sigint.recv() => false,
        };
        if !finished {
            handle.abort();
            let _ = handle.await;
            abandoned = true;
        }
    }
    if abandoned {
        // The abandoned run's transaction rolled back with its connection; its ledger row says so.
        match Store::open(&settings).await {
            Ok(store) => {
                match store
                    .abort_own_runs("stopped by SIGTERM/SIGINT after the grace period; nothing of it was kept")
                    .await
                {
                    Ok(n) => {
                        tracing::warn!(runs = n, "abandoned the running job period; it runs again on the next pass")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not mark the abandoned run aborted; the next claimant will")
                    }
                }
                store.close().await;
            }
            Err(e) => tracing::warn!(error = %e, "could not mark the abandoned run aborted; the next claimant will"),
        }
    }
    tracing::info!("stopped");
    Ok(())
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
        assert!(matches!(as_of(parse_date("2026-11-04"), now), Err(AppError::Usage(_))));
    }
}
