//! Orchestration: the one `run_job` path every trigger uses (source → rules → store → outputs).

pub mod annual;
pub mod monthly;
pub mod quarterly;
pub mod renewal;

use crate::domain::period::{Month, Quarter};
use crate::error::AppError;
use crate::settings::Settings;
use chrono::{NaiveDate, NaiveDateTime};
use std::path::PathBuf;

/// A job and the period it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Monthly(Month),
    Quarterly(Quarter),
    Renewal(NaiveDate),
    Annual(i32),
}

impl Job {
    pub fn name(&self) -> &'static str {
        match self {
            Job::Monthly(_) => "monthly",
            Job::Quarterly(_) => "quarterly",
            Job::Renewal(_) => "renewal",
            Job::Annual(_) => "annual",
        }
    }
    pub fn period(&self) -> String {
        match self {
            Job::Monthly(m) => m.to_string(),
            Job::Quarterly(q) => q.to_string(),
            Job::Renewal(d) => d.to_string(),
            Job::Annual(y) => y.to_string(),
        }
    }
    /// The first local instant after the period, when it may run without `--preview`.
    pub fn period_end(&self) -> NaiveDateTime {
        let midnight = chrono::NaiveTime::MIN;
        match self {
            Job::Monthly(m) => m.end(),
            Job::Quarterly(q) => q.last_month().end(),
            // Renewal is as of a day: it may run on that day.
            Job::Renewal(d) => d.and_time(midnight),
            Job::Annual(y) => NaiveDate::from_ymd_opt(y + 1, 1, 1).expect("valid year").and_time(midnight),
        }
    }
}

/// How a run treats its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Run a period that is not over: outputs marked as a preview, nothing stored as final.
    pub preview: bool,
    /// Compute and write outputs, store nothing and send nothing.
    pub dry_run: bool,
    /// Queue this period's messages again even if they were sent before (a person asked).
    pub resend: bool,
}

impl RunOptions {
    pub fn stores(&self) -> bool {
        !self.preview && !self.dry_run
    }
}

/// Writes named outputs into a period folder, atomically each.
pub fn write_outputs<N: AsRef<str>>(dir: &std::path::Path, files: &[(N, Vec<u8>)]) -> anyhow::Result<()> {
    for (name, bytes) in files {
        let path = dir.join(name.as_ref());
        crate::report::write_atomic(&path, bytes).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

pub fn stamp(now: NaiveDateTime) -> String {
    now.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// What a run did, for the operator.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub job: Job,
    pub output_dir: PathBuf,
    pub lines: Vec<String>,
}

/// Runs one job for one period: the only function that computes results.
pub async fn run_job(
    settings: &Settings,
    job: Job,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<RunSummary> {
    if now < job.period_end() && !options.preview {
        return Err(AppError::Usage(format!(
            "{} {} is not over yet (it ends {}); use --preview to compute it anyway",
            job.name(),
            job.period(),
            job.period_end()
        ))
        .into());
    }
    let span = tracing::info_span!("run", job = job.name(), period = %job.period());
    let _guard = span.enter();
    let result = match job {
        Job::Monthly(month) => monthly::run(settings, month, options, now).await,
        Job::Quarterly(quarter) => quarterly::run(settings, quarter, options, now).await,
        Job::Renewal(day) => renewal::run(settings, day, options).await,
        Job::Annual(year) => annual::run(settings, year, options).await,
    };
    // The index is rewritten whatever happened to the mail: the period's files are there.
    write_index(&settings.output_dir);
    result
}

/// Rewrites `index.html` at the output root; a failure is logged, never fatal.
pub fn write_index(root: &std::path::Path) {
    let page = crate::report::index::html(&crate::report::index::scan(root));
    match page.map(|p| crate::report::write_atomic(&root.join("index.html"), p.as_bytes())) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not write index.html"),
        Err(e) => tracing::warn!(error = %e, "could not render index.html"),
    }
}
