//! The daemon (`serve`): `run due` once at start (catch-up), then again at every firing of an
//! enabled job's schedule (tokio-cron-scheduler), one pass at a time; SIGTERM or SIGINT stops it
//! cleanly.

use super::due::{run_due, StopFlag};
use super::Context;
use crate::store::ledger::StartedBy;
use std::sync::Arc;

/// The daemon: `run due` once at start (catch-up), then again at every firing of an enabled job's
/// schedule, one pass at a time. SIGTERM or SIGINT stops new work; the running job period gets
/// `grace` to finish, after which it is abandoned (its transaction rolls back) and its ledger row
/// is marked aborted. Returns when stopped.
pub(crate) async fn serve(cx: Context) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let defs = cx.settings.jobs.clone();
    let tz = cx.settings.rules.timezone;
    let cx = Arc::new(cx);
    let stop = StopFlag::default();
    // One pass at a time: a firing while a pass runs waits for it, then finds its periods done.
    let gate = Arc::new(tokio::sync::Mutex::new(()));
    let (fire_tx, mut fire_rx) = tokio::sync::mpsc::channel::<String>(16);
    let mut scheduler =
        tokio_cron_scheduler::JobScheduler::new().await.map_err(|e| anyhow::anyhow!("starting the scheduler: {e}"))?;
    for def in defs.iter().filter(|d| d.enabled) {
        let (tx, name) = (fire_tx.clone(), def.name.clone());
        let fired = name.clone();
        let cron_job = tokio_cron_scheduler::Job::new_async_tz(def.schedule.to_string(), tz, move |_, _| {
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
        let (cx, stop, gate) = (cx.clone(), stop.clone(), gate.clone());
        move |trigger: String| {
            let (cx, stop, gate) = (cx.clone(), stop.clone(), gate.clone());
            async move {
                let _one_at_a_time = gate.lock().await;
                if stop.is_stopped() {
                    return;
                }
                let now = cx.now();
                let span = tracing::info_span!("pass", trigger = %trigger);
                let pass = tracing::Instrument::instrument(run_due(&cx, now, StartedBy::Serve, &stop), span).await;
                for line in &pass.lines {
                    tracing::info!(trigger = %trigger, "{line}");
                }
                if let Some(e) = pass.failure {
                    // Recorded in the ledger and alerted; the schedule goes on.
                    tracing::error!(trigger = %trigger, exit = crate::exit::code(&e), error = %format!("{e:#}"), "a pass ended with a failure");
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
        grace_seconds = cx.settings.schedule.grace.as_secs(),
        "stopping: no new work; letting the running job finish"
    );
    let mut abandoned = false;
    let deadline = tokio::time::Instant::now() + cx.settings.schedule.grace;
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
        match cx.store().await {
            Ok(store) => {
                let reason = "stopped by SIGTERM/SIGINT after the grace period; nothing of it was kept";
                match store.abort_own_runs(reason, &cx.system).await {
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
