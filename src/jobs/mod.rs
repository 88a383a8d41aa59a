//! Orchestration: the one `run_job` path every trigger uses (source → rules → store → outputs).

pub mod annual;
pub mod approval;
pub mod due;
pub mod monthly;
pub mod quarterly;
pub mod renewal;

use crate::domain::period::{Month, Quarter};
use crate::error::AppError;
use crate::settings::Settings;
use chrono::{NaiveDate, NaiveDateTime};
use std::path::PathBuf;
use tracing::Instrument;

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
    /// What started the run, for the ledger.
    pub started_by: StartedBy,
}

/// What started a run: a person, `run due` (cron, a systemd timer) or the `serve` daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartedBy {
    #[default]
    Manual,
    Due,
    Serve,
}

impl StartedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            StartedBy::Manual => "manual",
            StartedBy::Due => "due",
            StartedBy::Serve => "serve",
        }
    }
}

impl RunOptions {
    pub fn stores(&self) -> bool {
        !self.preview && !self.dry_run
    }

    /// Where a run writes (interface.md): the period's own folder holds only the stored, final
    /// results; a dry run writes under `what-if/<first 12 hex digits of the rules hash>/` and a
    /// preview under `preview/`, so neither can ever replace what finance and partners read.
    pub fn output_dir(&self, period_dir: PathBuf, rules_hash: &str) -> PathBuf {
        if self.dry_run {
            period_dir.join("what-if").join(rules_hash.get(..12).unwrap_or(rules_hash))
        } else if self.preview {
            period_dir.join("preview")
        } else {
            period_dir
        }
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

/// Runs one job for one period: the only function that computes results. A run that stores
/// claims its period in the run ledger first (no two processes compute the same period at once)
/// and records how it ended there.
pub async fn run_job(
    settings: &Settings,
    job: Job,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<RunSummary> {
    use crate::store::ledger::{ClaimError, Outcome};
    if now < job.period_end() && !options.preview {
        return Err(AppError::Usage(format!(
            "{} {} is not over yet (it ends {}); use --preview to compute it anyway",
            job.name(),
            job.period(),
            job.period_end()
        ))
        .into());
    }
    let span = tracing::info_span!("run", job = job.name(), period = %job.period(), run_id = tracing::field::Empty);
    if !options.stores() {
        // Previews and dry runs store nothing: no claim, no ledger row.
        return compute(settings, job, options, now).instrument(span).await;
    }
    let ledger = crate::store::Store::open(settings).await?;
    let claim =
        match ledger.claim(job.name(), &job.period(), options.started_by.as_str(), settings.schedule.lease).await {
            Ok(claim) => claim,
            Err(e @ ClaimError::Held { .. }) => {
                ledger.close().await;
                return Err(AppError::Held(e.to_string()).into());
            }
            Err(ClaimError::Other(e)) => {
                ledger.close().await;
                return Err(e);
            }
        };
    span.record("run_id", claim.run_id.as_str());
    span.in_scope(|| tracing::info!(attempt = claim.attempt, "period claimed"));
    let mut result = compute(settings, job, options, now).instrument(span.clone()).await;
    if let Ok(summary) = &mut result {
        match overview(settings, &ledger, job, summary, options, now).instrument(span.clone()).await {
            Ok(Some(line)) => summary.lines.push(line),
            Ok(None) => {}
            Err(e) => result = Err(e),
        }
    }
    let (outcome, error) = match &result {
        Ok(_) => (Outcome::Succeeded, None),
        // The results are committed; only mail waits (it goes with the next run or `mail flush`).
        Err(e) if matches!(e.downcast_ref::<AppError>(), Some(AppError::MailQueued(_))) => {
            (Outcome::Succeeded, Some(e.to_string()))
        }
        Err(e) => (Outcome::Failed, Some(format!("{e:#}"))),
    };
    let counts = result.as_ref().map(|s| s.lines.join("; ")).unwrap_or_default();
    if let Err(e) = ledger.finish(claim, outcome, &counts, error.as_deref(), &settings.rules.hash).await {
        // The row stays running; the next claimant sees its process gone and marks it aborted.
        span.in_scope(|| tracing::warn!(error = %e, "could not record the run's end in the ledger"));
    }
    ledger.close().await;
    result
}

/// Mails the job's overview to the recipients its definition names (`recipients` in
/// `jobs/<job>.toml`): the run's summary with the period's CSV files attached, once per period
/// and recipient like every message. `None` when the job names no one.
async fn overview(
    settings: &Settings,
    store: &crate::store::Store,
    job: Job,
    summary: &RunSummary,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<Option<String>> {
    let Some(def) = settings.jobs.iter().find(|d| d.name == job.name()).filter(|d| !d.recipients.is_empty()) else {
        return Ok(None);
    };
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&summary.output_dir)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", summary.output_dir.display()))?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "csv"))
        .filter_map(|e| Some((e.file_name().to_str()?.to_string(), std::fs::read(e.path()).ok()?)))
        .collect();
    files.sort();
    let title = match (settings.locale.as_str(), job) {
        ("en", _) => format!("ict-partners: {} {} overview", job.name(), job.period()),
        (_, Job::Monthly(_)) => format!("【月度考核】{} 概览", job.period()),
        (_, Job::Quarterly(_)) => format!("【季度售前结算】{} 概览", job.period()),
        (_, Job::Renewal(_)) => format!("【合同到期续约】{} 概览", job.period()),
        (_, Job::Annual(_)) => format!("【年度评级】{} 概览", job.period()),
    };
    let mut text = summary.lines.join("\n");
    text.push_str("\n\n");
    for (name, _) in &files {
        text.push_str(&format!("{name}\n"));
    }
    let html = format!("<pre>{}</pre>", minijinja::HtmlEscape(&text));
    let letter = crate::mail::Letter { subject: title, html, text, images: vec![] };
    let attached: Vec<crate::mail::AttachedFile> = files
        .iter()
        .map(|(name, bytes)| crate::mail::AttachedFile {
            ascii_name: name,
            name,
            content_type: "text/csv; charset=utf-8",
            bytes,
        })
        .collect();
    let messages = letters_to(settings, job.name(), &job.period(), "overview", &def.recipients, &letter, &attached);
    send(settings, store, &messages, options, now).await.map(|line| Some(format!("overview {line}")))
}

/// The computation of one job period, behind the claim.
async fn compute(settings: &Settings, job: Job, options: RunOptions, now: NaiveDateTime) -> anyhow::Result<RunSummary> {
    let result = match job {
        Job::Monthly(month) => monthly::run(settings, month, options, now).await,
        Job::Quarterly(quarter) => quarterly::run(settings, quarter, options, now).await,
        Job::Renewal(day) => renewal::run(settings, day, options, now).await,
        Job::Annual(year) => annual::run(settings, year, options).await,
    };
    // The index is rewritten whatever happened to the mail: the period's files are there.
    write_index(&settings.output_dir);
    result
}

/// The rules that govern a month: the configured ones when they are effective for it; otherwise
/// (they carry a later `effective_from`) the rules the month was computed with, or the latest
/// stored version effective by then. Earlier months keep their rules when the rules change.
pub async fn rules_for(
    settings: &Settings,
    store: &crate::store::Store,
    month: Month,
) -> anyhow::Result<crate::domain::rules::Rules> {
    let current = &settings.rules;
    if current.effective_from.is_none_or(|from| from <= month) {
        return Ok(current.clone());
    }
    let stored_hash = store.month_rules_hash(month).await?;
    let mut versions: Vec<_> =
        store.rules_versions().await?.into_iter().filter(|(_, from, _)| from.is_none_or(|f| f <= month)).collect();
    versions.sort_by_key(|(hash, from, _)| (Some(hash) == stored_hash.as_ref(), *from));
    let Some((hash, _, text)) = versions.pop() else {
        return Err(AppError::Config(vec![format!(
            "the rules apply from {} on, and no earlier rules are stored for {month}",
            current.effective_from.map(|m| m.to_string()).unwrap_or_default()
        )])
        .into());
    };
    let mut problems = Vec::new();
    let Some(rules) = crate::settings::compile_rules(&text, settings.calendar_years.clone(), &mut problems) else {
        return Err(AppError::Config(problems).into());
    };
    tracing::info!(hash = %hash, "the configured rules apply from a later month: using the stored rules for this month");
    Ok(rules)
}

/// Records the messages in the outbox and delivers everything queued. Returns the line for the
/// operator, or `AppError::Unavailable` (exit 69) when messages stay queued: the results are
/// committed by then, and the next run or `mail flush` sends them.
pub async fn send(
    settings: &Settings,
    store: &crate::store::Store,
    messages: &[crate::store::OutboxMessage],
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<String> {
    let at = stamp(now);
    let queued = store.enqueue(messages, options.resend, &at).await?;
    let outbox = settings.output_dir.join("outbox");
    let delivered = crate::mail::deliver(
        store,
        settings.smtp_url.as_ref(),
        settings.smtp_timeout,
        &settings.mail_from,
        &outbox,
        &at,
    )
    .await?;
    if delivered.failed > 0 {
        return Err(AppError::MailQueued(format!(
            "the results are stored and written, but {} messages could not be sent; they stay queued for the next run or `ict-partners mail flush`",
            delivered.failed
        ))
        .into());
    }
    Ok(format!(
        "mail: {queued} new messages queued, {} delivered ({})",
        delivered.sent,
        if settings.smtp_url.is_some() { "SMTP" } else { "written to outbox/" }
    ))
}

/// Delivers every queued message (after the mail server was down): `mail flush`, and `run due`
/// retrying a period whose results are stored but whose mail is not. Exit 69 while any wait.
pub async fn flush_outbox(settings: &Settings, now: NaiveDateTime) -> anyhow::Result<String> {
    let store = crate::store::Store::open(settings).await?;
    let done = crate::mail::deliver(
        &store,
        settings.smtp_url.as_ref(),
        settings.smtp_timeout,
        &settings.mail_from,
        &settings.output_dir.join("outbox"),
        &stamp(now),
    )
    .await;
    store.close().await;
    let done = done?;
    if done.failed > 0 {
        return Err(AppError::MailQueued(format!(
            "mail: {} delivered, {} could not be sent and stay queued",
            done.sent, done.failed
        ))
        .into());
    }
    Ok(format!("mail: {} delivered, 0 waiting", done.sent))
}

/// The last step of a run that mails: when the run stores, queue and deliver the messages; in any
/// case close the store. `Ok(None)` when nothing was sent (preview, dry run).
pub async fn send_and_close(
    settings: &Settings,
    store: crate::store::Store,
    messages: &[crate::store::OutboxMessage],
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<Option<String>> {
    let sent = if options.stores() { Some(send(settings, &store, messages, options, now).await) } else { None };
    store.close().await;
    sent.transpose()
}

/// Builds one outbox message per recipient of a letter; recipients that are not addresses are
/// skipped with a warning (they come from other systems).
pub fn letters_to(
    settings: &Settings,
    job: &str,
    period: &str,
    kind: &str,
    recipients: &[String],
    letter: &crate::mail::Letter,
    attachments: &[crate::mail::AttachedFile],
) -> Vec<crate::store::OutboxMessage> {
    if recipients.is_empty() {
        tracing::warn!(kind, "no recipients: the report is written but not mailed");
    }
    recipients
        .iter()
        .filter_map(|to| {
            let id = crate::mail::message_id(&settings.mail_from, job, period, kind, to);
            match crate::mail::build(&settings.mail_from, to, letter, attachments, &id) {
                Ok(eml) => Some(crate::store::OutboxMessage {
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

/// Rewrites `index.html` at the output root; a failure is logged, never fatal.
pub fn write_index(root: &std::path::Path) {
    let page = crate::report::index::html(&crate::report::index::scan(root));
    match page.map(|p| crate::report::write_atomic(&root.join("index.html"), p.as_bytes())) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not write index.html"),
        Err(e) => tracing::warn!(error = %e, "could not render index.html"),
    }
}
