//! Orchestration: the one `run_job` path every trigger uses (`run`, `run due`, `serve`, the demo),
//! and the one skeleton every job goes through: claim the period, take the rules that govern it,
//! extract, compute, store, report, mail, finish. Each job says only what is its own
//! ([`JobSteps`]); nothing else computes results.

pub(crate) mod alerts;
mod annual;
pub(crate) mod approval;
mod contacts;
pub(crate) mod disputes;
pub(crate) mod due;
pub(crate) mod index;
pub(crate) mod mailing;
mod monthly;
pub(crate) mod publication;
mod quarterly;
pub(crate) mod records;
mod renewal;
pub(crate) mod serve;
pub(crate) mod settlement;
pub(crate) mod standing;
mod units;
pub(crate) mod whatif;
mod windows;

use crate::config::{ConfigError, Settings};
use crate::domain::job::Job;
use crate::domain::period::Month;
use crate::domain::rules::Rules;
use crate::exit::UsageError;
use crate::files::period_dir;
use crate::sources::Sources;
use crate::store::ledger::{Outcome, StartedBy};
use crate::store::outbox::OutboxMessage;
use crate::store::{Access, Store, StoreError};
use crate::system::System;
use chrono::NaiveDateTime;
use std::path::PathBuf;
use tracing::Instrument;

/// What every command works with: the validated settings and the machine it runs on.
pub(crate) struct Context {
    pub(crate) settings: Settings,
    pub(crate) system: System,
}

impl Context {
    /// The warning to give when the working calendar runs out soon, in the locale's words: which
    /// year is missing and which file to edit.
    pub(crate) fn calendar_warning(&self, today: chrono::NaiveDate) -> Option<String> {
        let (year, left, file) = self.settings.calendar_running_out(today)?;
        let l = |key: &str, args: &[(&str, &str)]| crate::report::templates::label(&self.settings.locale, key, args);
        let file = file.map_or_else(|| l("calendar_builtin", &[]), |p| p.display().to_string());
        let when = if left > 0 {
            l("calendar_when_left", &[("days", &left.to_string())])
        } else {
            l("calendar_when_out", &[])
        };
        Some(l("calendar_warning", &[("year", &year.to_string()), ("when", &when), ("file", &file)]))
    }

    /// Local time now in the rules' time zone.
    pub(crate) fn now(&self) -> NaiveDateTime {
        self.system.now_local(self.settings.rules.timezone)
    }

    /// Opens the store for a command that writes (created and migrated if needed).
    pub(crate) async fn store(&self) -> Result<Store, StoreError> {
        Store::open(self.settings.store_url.expose(), self.settings.store_pool, Access::ReadWrite).await
    }

    /// Opens the store for a command that only looks: never created, never migrated.
    pub(crate) async fn store_read_only(&self) -> Result<Store, StoreError> {
        Store::open(self.settings.store_url.expose(), self.settings.store_pool, Access::ReadOnly).await
    }

    /// The store a run reads and writes: read-write when it stores; for a preview or a dry run
    /// the existing store read only, or an empty one in memory when there is none yet.
    pub(crate) async fn store_for(&self, options: RunOptions) -> Result<Store, StoreError> {
        if options.stores() {
            return self.store().await;
        }
        match self.store_read_only().await {
            Ok(store) => Ok(store),
            Err(StoreError::NoStore(_)) => {
                tracing::info!("no results store yet: computing against an empty one");
                Store::empty().await
            }
            Err(e) => Err(e),
        }
    }
}

/// How a run treats its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RunOptions {
    /// Run a period that is not over: outputs marked as a preview, nothing stored as final.
    pub(crate) preview: bool,
    /// Compute and write outputs, store nothing and send nothing.
    pub(crate) dry_run: bool,
    /// Queue this period's messages again even if they were sent before (a person asked).
    pub(crate) resend: bool,
    /// What started the run, for the ledger.
    pub(crate) started_by: StartedBy,
}

impl RunOptions {
    pub(crate) fn stores(&self) -> bool {
        !self.preview && !self.dry_run
    }

    /// Where a run writes (interface.md): the period's own folder holds only the stored, final
    /// results; a dry run writes under `what-if/<first 12 hex digits of the rules hash>/` and a
    /// preview under `preview/`, so neither can ever replace what finance and partners read.
    pub(crate) fn output_dir(&self, period_dir: PathBuf, rules_hash: &str) -> PathBuf {
        if self.dry_run {
            period_dir.join("what-if").join(rules_hash.get(..12).unwrap_or(rules_hash))
        } else if self.preview {
            period_dir.join("preview")
        } else {
            period_dir
        }
    }
}

/// What a run did, for the operator.
#[derive(Debug, Clone)]
pub(crate) struct RunSummary {
    pub(crate) output_dir: PathBuf,
    pub(crate) lines: Vec<String>,
}

/// A run in progress: what every step of a job may use.
pub(crate) struct Run<'a> {
    pub(crate) cx: &'a Context,
    pub(crate) store: &'a Store,
    /// The rules that govern the period.
    pub(crate) rules: Rules,
    pub(crate) options: RunOptions,
    pub(crate) now: NaiveDateTime,
    /// The ledger row that holds the period (runs that store).
    pub(crate) run_id: Option<String>,
}

impl Run<'_> {
    pub(crate) fn settings(&self) -> &Settings {
        &self.cx.settings
    }
    pub(crate) fn locale(&self) -> &str {
        &self.cx.settings.locale
    }
    /// The time stamp results and messages carry.
    pub(crate) fn stamp(&self) -> String {
        stamp(self.now)
    }
}

/// What a job's report step leaves: its files, its messages and the lines for the operator.
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    /// (path under the output folder, bytes).
    pub(crate) files: Vec<(String, Vec<u8>)>,
    pub(crate) messages: Vec<OutboxMessage>,
    pub(crate) lines: Vec<String>,
}

/// What is a job's own; the order of the steps, the claim, the folders and the mail are not.
pub(crate) trait JobSteps: Sync {
    /// What the job reads: one snapshot of each source, and what it needs of the store.
    type Input;
    /// What it computes (pure, from the input and the rules). Shared by the store and the report
    /// steps, which run at the same time.
    type Output: Sync;
    /// The job period.
    fn job(&self) -> Job;
    /// Whether a preview also writes into the period's own folder: a year's results are stored
    /// only once it is over, so until then the latest preview is all there is (the conformance
    /// check reads `annual/<year>/annual.csv` after `--preview`).
    fn preview_into_period(&self) -> bool {
        false
    }
    async fn extract(&self, run: &Run<'_>, sources: &Sources) -> anyhow::Result<Self::Input>;
    fn compute(&self, run: &Run<'_>, input: Self::Input) -> anyhow::Result<Self::Output>;
    /// Stores the output in one transaction (only runs that store).
    async fn store(&self, run: &Run<'_>, output: &Self::Output) -> anyhow::Result<()>;
    /// The period's files and messages, and what to tell the operator.
    fn report(&self, run: &Run<'_>, output: &Self::Output) -> anyhow::Result<Outputs>;
}

pub(crate) fn stamp(now: NaiveDateTime) -> String {
    now.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Runs one job for one period: the only function that computes results. A run that stores
/// claims its period in the run ledger first (no two processes compute the same period at once)
/// and records how it ended there.
pub(crate) async fn run_job(cx: &Context, store: &Store, job: Job, options: RunOptions) -> anyhow::Result<RunSummary> {
    let now = cx.now();
    if now < job.period_end() && !options.preview {
        return Err(UsageError(format!(
            "{job} is not over yet (it ends {}); use --preview to compute it anyway",
            job.period_end()
        ))
        .into());
    }
    let span = tracing::info_span!("run", job = job.name(), period = %job.period(), run_id = tracing::field::Empty);
    if !options.stores() {
        // Previews and dry runs store nothing: no claim, no ledger row.
        return compute(cx, store, job, options, now, None).instrument(span).await;
    }
    let work = |run_id: String| async move {
        let mut result = compute(cx, store, job, options, now, Some(run_id)).await;
        if let Ok(summary) = &mut result {
            match mailing::overview(cx, store, job, summary, options, now).await {
                Ok(Some(line)) => summary.lines.push(line),
                Ok(None) => {}
                Err(e) => result = Err(e),
            }
        }
        result
    };
    claimed(cx, store, job.kind(), &job.period(), options.started_by, work).instrument(span).await
}

/// What the ledger keeps of a step's result: its lines for the operator.
pub(crate) trait Summary {
    fn summary(&self) -> String;
}

impl Summary for RunSummary {
    fn summary(&self) -> String {
        self.lines.join("; ")
    }
}

/// The one skeleton of every step that claims a period (a job's run, a unit's settlement):
/// claim it in the run ledger (no two processes do the same at once), do the work, and record
/// how it ended. A step whose results are committed and whose mail waits succeeded.
pub(crate) async fn claimed<T: Summary, F: std::future::Future<Output = anyhow::Result<T>>>(
    cx: &Context,
    store: &Store,
    ledger: impl Into<crate::store::ledger::LedgerJob>,
    period: &str,
    started_by: StartedBy,
    work: impl FnOnce(String) -> F,
) -> anyhow::Result<T> {
    let lease = cx.settings.schedule.lease;
    let claim = store.claim(ledger, period, started_by, lease, &cx.system).await?;
    tracing::Span::current().record("run_id", claim.run_id.as_str());
    tracing::info!(attempt = claim.attempt, "period claimed");
    let result = work(claim.run_id.clone()).await;
    let (outcome, error) = match &result {
        Ok(_) => (Outcome::Succeeded, None),
        // The results are committed; only mail waits (it goes with the next run or `mail flush`).
        Err(e) if crate::exit::is_mail_queued(e) => (Outcome::Succeeded, Some(format!("{e:#}"))),
        Err(e) => (Outcome::Failed, Some(format!("{e:#}"))),
    };
    let counts = result.as_ref().map(Summary::summary).unwrap_or_default();
    let rules_hash = &cx.settings.rules.hash;
    if let Err(e) = store.finish(claim, outcome, &counts, error.as_deref(), rules_hash, &cx.system).await {
        // The row stays running; the next claimant sees its process gone and marks it aborted.
        tracing::warn!(error = %e, "could not record the end in the ledger");
    }
    result
}

/// The computation of one job period, behind the claim.
async fn compute(
    cx: &Context,
    store: &Store,
    job: Job,
    options: RunOptions,
    now: NaiveDateTime,
    run_id: Option<String>,
) -> anyhow::Result<RunSummary> {
    let result = match job {
        Job::Monthly(month) => execute(monthly::Monthly(month), cx, store, options, now, run_id).await,
        Job::Quarterly(quarter) => execute(quarterly::Quarterly(quarter), cx, store, options, now, run_id).await,
        Job::Renewal(day) => execute(renewal::Renewal(day), cx, store, options, now, run_id).await,
        Job::Annual(year) => execute(annual::Annual(year), cx, store, options, now, run_id).await,
    };
    // The index is rewritten whatever happened to the mail: the period's files are there.
    index::write_index(cx, store).await;
    result
}

/// The skeleton every job goes through.
async fn execute<J: JobSteps>(
    steps: J,
    cx: &Context,
    store: &Store,
    options: RunOptions,
    now: NaiveDateTime,
    run_id: Option<String>,
) -> anyhow::Result<RunSummary> {
    let job = steps.job();
    let rules = rules_for(cx, store, job.rules_month()).await?;
    let run = Run { cx, store, rules, options, now, run_id };
    let sources = Sources::connect(&cx.settings).await?;
    let input = steps.extract(&run, &sources).await;
    sources.close().await;
    let output = steps.compute(&run, input?)?;
    let started = std::time::Instant::now();
    let outputs = if options.stores() {
        // The files are rendered on a thread of their own while the month is stored: storing a
        // large month is mostly compression and database writes, rendering mostly one core's
        // work, and neither reads what the other makes. The files reach the period folder only
        // after the store has committed.
        let (stored, outputs) = tokio::task::block_in_place(|| {
            let span = tracing::Span::current();
            std::thread::scope(|scope| {
                let outputs = scope.spawn(|| {
                    let _run = span.enter();
                    let outputs = steps.report(&run, &output);
                    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "reported");
                    outputs
                });
                let stored = tokio::runtime::Handle::current().block_on(async {
                    store.record_rules(&run.rules, &run.stamp()).await?;
                    steps.store(&run, &output).await
                });
                tracing::debug!(seconds = started.elapsed().as_secs_f64(), "stored");
                (stored, outputs.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            })
        });
        stored?;
        outputs?
    } else {
        steps.report(&run, &output)?
    };
    let period = period_dir(&cx.settings.output_dir, job.name(), &job.period());
    let dir = options.output_dir(period.clone(), &run.rules.hash);
    crate::files::write_all(&dir, &outputs.files)?;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "written");
    if options.preview && !options.dry_run && steps.preview_into_period() {
        crate::files::write_all(&period, &outputs.files)?;
    }
    let mut lines = outputs.lines;
    if options.stores() {
        lines.push(mailing::send(cx, store, &outputs.messages, options, now).await?);
    }
    if options.preview {
        lines.push(crate::report::templates::label(&cx.settings.locale, "line_preview", &[]));
    } else if options.dry_run {
        lines.push(crate::report::templates::label(&cx.settings.locale, "line_dry_run", &[]));
    }
    Ok(RunSummary { output_dir: dir, lines })
}

/// The rules that govern a period (by the month it ends in): the configured ones when they are
/// effective for it; otherwise (they carry a later `effective_from`) the rules a stored month
/// was computed with, or the latest stored version effective by then. Earlier periods keep their
/// rules when the rules change.
pub(crate) async fn rules_for(cx: &Context, store: &Store, month: Month) -> anyhow::Result<Rules> {
    let current = &cx.settings.rules;
    if current.effective_from.is_none_or(|from| from <= month) {
        return Ok(current.clone());
    }
    let stored_hash = store.month_rules_hash(month).await?;
    let mut versions: Vec<_> =
        store.rules_versions().await?.into_iter().filter(|v| v.effective_from.is_none_or(|f| f <= month)).collect();
    versions.sort_by_key(|v| (Some(&v.hash) == stored_hash.as_ref(), v.effective_from));
    let Some(version) = versions.pop() else {
        return Err(ConfigError {
            problems: vec![format!(
                "the rules apply from {} on, and no earlier rules are stored for {month}",
                current.effective_from.map(|m| m.to_string()).unwrap_or_default()
            )],
        }
        .into());
    };
    let mut problems = Vec::new();
    let Some(rules) = crate::config::compile_rules(&version.text, cx.settings.calendar_years.clone(), &mut problems)
    else {
        return Err(ConfigError { problems }.into());
    };
    tracing::info!(hash = %version.hash, "the configured rules apply from a later month: using the stored rules for this month");
    Ok(rules)
}
