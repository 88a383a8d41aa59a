//! The commands of the binary, one function each: what `main` dispatches to once the command line
//! is parsed. They load the settings once, open the store once (read only where they only look)
//! and hand both down to the jobs.

/// Prints a line on standard output; a reader that went away (`| head`) ends nothing badly.
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod check_config;
mod demo;
pub(crate) mod gen_data;

use crate::cli::{Cli, Command, DisputeAction, ImportOf, MailAction, PublishedPeriod, RunJob, TemplateOf, UnitArgs};
use crate::config::{self, LoadOptions};
use crate::domain::job::Job;
use crate::domain::records::{Period, RecordKind};
use crate::domain::text::{self, TextIssue};
use crate::domain::units::UnitChoice;
use crate::exit::UsageError;
use crate::jobs::{approval, disputes, due, mailing, publication, records, run_job, standing, Context, RunOptions};
use crate::report;
use crate::report::templates::label;
use crate::store::ledger::StartedBy;
use crate::system::System;

/// Runs the command the command line names on this machine.
pub async fn run(cli: Cli, system: System) -> anyhow::Result<()> {
    let load = LoadOptions { config: cli.config.clone(), rules: cli.rules.clone() };
    match cli.command {
        Command::GenData(args) => {
            say!("{}", gen_data::generate(&args).await?);
            Ok(())
        }
        Command::Demo { dir } => demo::run(&dir, &load, &system).await,
        Command::WhatIf { months, out } => {
            // `--rules` names the candidate: the settings keep the configured rules (the months'
            // own, for the "before" side).
            let Some(candidate) = cli.rules.clone() else {
                return Err(UsageError("what-if needs --rules FILE (the candidate rules)".into()).into());
            };
            let load = LoadOptions { rules: None, ..load };
            let cx = Context { settings: config::load(&load, &system)?, system };
            let lines = crate::jobs::whatif::run(&cx, &candidate, months, out).await.map_err(|e| in_words(&cx, e))?;
            print_lines(lines);
            Ok(())
        }
        command => {
            let cx = Context { settings: config::load(&load, &system)?, system };
            run_with_settings(&cx, command).await.map_err(|e| in_words(&cx, e))
        }
    }
}

async fn run_with_settings(cx: &Context, command: Command) -> anyhow::Result<()> {
    match command {
        Command::CheckConfig => check_config::run(cx).await,
        Command::Run { job: RunJob::Due { as_of } } => {
            let as_of = due::as_of(as_of, cx.now())?;
            let pass = due::run_due(cx, as_of, StartedBy::Due, &due::StopFlag::default()).await;
            print_lines(pass.lines);
            pass.failure.map_or(Ok(()), Err)
        }
        Command::Run { job } => run_one(cx, job).await,
        Command::Serve => {
            let cx = Context { settings: cx.settings.clone(), system: cx.system.clone() };
            crate::jobs::serve::serve(cx).await
        }
        Command::Approve { period, unit, by, comment } => {
            let by = name_arg(cx, by, "what_by")?;
            let comment = comment.map(|c| text_arg(cx, Some(c), "what_comment")).transpose()?;
            let choice = unit_choice(cx, unit)?;
            let store = cx.store().await?;
            let lines =
                approval::approve(cx, &store, period.job(), &period.period(), &choice, &by, comment.as_deref()).await;
            store.close().await;
            print_lines(lines?);
            Ok(())
        }
        Command::Reopen { period, unit, by, reason } => {
            let (by, reason) = (name_arg(cx, by, "what_by")?, text_arg(cx, reason, "what_reason")?);
            let choice = unit_choice(cx, unit)?;
            let store = cx.store().await?;
            let lines = approval::reopen(cx, &store, period.job(), &period.period(), &choice, &by, &reason).await;
            store.close().await;
            print_lines(lines?);
            Ok(())
        }
        Command::Publish { period, unit, by, resend } => {
            let by = name_arg(cx, by, "what_by")?;
            let choice = unit_choice(cx, unit)?;
            let store = cx.store().await?;
            let lines = publication::publish(cx, &store, period.as_job(), &choice, &by, resend).await;
            store.close().await;
            print_lines(lines?);
            Ok(())
        }
        Command::Explain { partner, month } => {
            let store = cx.store_read_only().await?;
            let text = approval::explain_month(cx, &store, &partner, month).await;
            store.close().await;
            print_page(&text?);
            Ok(())
        }
        Command::Dispute { action } => dispute(cx, action).await,
        Command::Template { records: of } => {
            let (kind, period, department, out) = match of {
                TemplateOf::ManualScores { month, department, out } => {
                    (RecordKind::ManualScores, Period::Month(month), department, out)
                }
                TemplateOf::Violations { month, out } => (RecordKind::Violations, Period::Month(month), None, out),
                TemplateOf::PresalesScores { quarter, out } => {
                    (RecordKind::PresalesScores, Period::Quarter(quarter), None, out)
                }
                TemplateOf::Blacklist { out } => (RecordKind::Blacklist, Period::Standing, None, out),
                TemplateOf::ExitRequests { out } => (RecordKind::ExitRequests, Period::Standing, None, out),
                TemplateOf::AuditExclusions { month, out } => {
                    (RecordKind::AuditExclusions, Period::Month(month), None, out)
                }
            };
            say!("{}", records::template(cx, kind, period, department.as_deref(), &out).await?);
            Ok(())
        }
        Command::Import { records: of } => {
            let (kind, args) = match of {
                ImportOf::ManualScores(a) => (RecordKind::ManualScores, a),
                ImportOf::Violations(a) => (RecordKind::Violations, a),
                ImportOf::PresalesScores(a) => (RecordKind::PresalesScores, a),
                ImportOf::Blacklist(a) => (RecordKind::Blacklist, a),
                ImportOf::ExitRequests(a) => (RecordKind::ExitRequests, a),
                ImportOf::AuditExclusions(a) => (RecordKind::AuditExclusions, a),
            };
            let period = match (kind, args.month, args.quarter) {
                (_, None, None) => None,
                (RecordKind::PresalesScores, None, Some(q)) => Some(Period::Quarter(q)),
                (RecordKind::ManualScores | RecordKind::Violations | RecordKind::AuditExclusions, Some(m), None) => {
                    Some(Period::Month(m))
                }
                _ => {
                    let which = if kind == RecordKind::PresalesScores { "--quarter" } else { "--month" };
                    return Err(UsageError(format!("{} takes {which}", kind.as_str())).into());
                }
            };
            let by = name_arg(cx, Some(args.by), "what_by")?;
            print_lines(records::import(cx, kind, &args.file, &by, period, args.dry_run).await?);
            Ok(())
        }
        Command::Mail { action: MailAction::Flush } => {
            let store = cx.store().await?;
            let line = mailing::flush_outbox(cx, &store).await;
            store.close().await;
            say!("{}", line?);
            Ok(())
        }
        Command::Mail { action: MailAction::List { queued, limit } } => {
            let store = cx.store_read_only().await?;
            let rows = store.outbox_entries(queued, limit).await;
            store.close().await;
            print_page(&report::ledger::outbox_table(&cx.settings.locale, &rows?));
            Ok(())
        }
        Command::Runs { limit } => {
            let store = cx.store_read_only().await?;
            let rows = store.ledger(limit).await;
            let units = standing::rows(cx, &store).await;
            store.close().await;
            print_page(&report::ledger::table(&cx.settings.locale, &rows?));
            let units = units?;
            if !units.is_empty() {
                say!();
                let header = report::ledger::unit_header(&cx.settings.locale);
                let header: Vec<&str> = header.iter().map(String::as_str).collect();
                print_page(&report::ledger::aligned(&header, &units));
            }
            Ok(())
        }
        Command::GenData(_) | Command::Demo { .. } | Command::WhatIf { .. } => {
            unreachable!("dispatched before the settings are loaded")
        }
    }
}

/// `run monthly|quarterly|renewal|annual`: one job period, with the store opened once.
async fn run_one(cx: &Context, job: RunJob) -> anyhow::Result<()> {
    let (job, flags) = match job {
        RunJob::Monthly { month, flags } => (Job::Monthly(month), flags),
        RunJob::Quarterly { quarter, flags } => (Job::Quarterly(quarter), flags),
        RunJob::Renewal { as_of, flags } => (Job::Renewal(as_of.unwrap_or(cx.now().date())), flags),
        RunJob::Annual { year, flags } => (Job::Annual(year), flags),
        RunJob::Due { .. } => unreachable!("run due is dispatched before"),
    };
    let options =
        RunOptions { preview: flags.preview, dry_run: flags.dry_run, resend: flags.resend, ..Default::default() };
    let store = cx.store_for(options).await?;
    let summary = run_job(cx, &store, job, options).await;
    store.close().await;
    let summary = summary?;
    print_lines(summary.lines);
    say!("{}", label(&cx.settings.locale, "outputs_line", &[("path", &summary.output_dir.display().to_string())]));
    Ok(())
}

/// `dispute open|list|resolve`.
async fn dispute(cx: &Context, action: DisputeAction) -> anyhow::Result<()> {
    fn job(p: PublishedPeriod) -> Option<Job> {
        p.month.map(Job::Monthly).or(p.quarter.map(Job::Quarterly))
    }
    match action {
        DisputeAction::Open { period, partner, reason, by, refs } => {
            let job = job(period).ok_or_else(|| UsageError("--month M or --quarter Q is required".into()))?;
            let (reason, by) = (text_arg(cx, Some(reason), "what_reason")?, name_arg(cx, Some(by), "what_by")?);
            let partner = name_arg(cx, Some(partner), "what_partner")?;
            let refs = refs.into_iter().map(|r| name_arg(cx, Some(r), "what_ref")).collect::<Result<Vec<_>, _>>()?;
            let store = cx.store().await?;
            let lines = disputes::open(cx, &store, job, &partner, &reason, &by, &refs).await;
            store.close().await;
            print_lines(lines?);
        }
        DisputeAction::List { period, open } => {
            let store = cx.store_read_only().await?;
            let page = disputes::list(cx, &store, job(period), open).await;
            store.close().await;
            print_page(&page?);
        }
        DisputeAction::Resolve { id, accept, reject: _, by, note } => {
            let (by, note) = (name_arg(cx, Some(by), "what_by")?, text_arg(cx, Some(note), "what_note")?);
            let store = cx.store().await?;
            let lines = disputes::resolve(cx, &store, &id, accept, &by, &note).await;
            store.close().await;
            print_lines(lines?);
        }
    }
    Ok(())
}

/// A failure people meet at the terminal, in the locale's words where it has some (its exit
/// code kept); the technical chain goes to the log.
fn in_words(cx: &Context, error: anyhow::Error) -> anyhow::Error {
    let locale = cx.settings.locale.as_str();
    // Mail sits above the reports, so its one worded failure is said here.
    let queued = error.chain().find_map(|c| match c.downcast_ref::<crate::mail::MailError>() {
        Some(crate::mail::MailError::Undelivered { sent, waiting }) => {
            Some(label(locale, "failure_mail_waits", &[("sent", &sent.to_string()), ("waiting", &waiting.to_string())]))
        }
        _ => None,
    });
    let Some(text) = queued.or_else(|| report::failures::words(locale, &error)) else { return error };
    tracing::info!(error = %format!("{error:#}"), "failed");
    crate::exit::Said { code: crate::exit::code(&error), text }.into()
}

/// A value given on the command line that goes into the store and the audit trail: required,
/// trimmed, and refused with the locale's words when it carries a control, format or
/// bidirectional character or is too long (a name, an id: 100 characters; text: 2,000).
fn checked_arg(
    cx: &Context,
    value: Option<String>,
    what: &str,
    check: fn(&str) -> Result<(), TextIssue>,
) -> Result<String, UsageError> {
    let locale = cx.settings.locale.as_str();
    let what = label(locale, what, &[]);
    let value = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let value = value.ok_or_else(|| UsageError(label(locale, "usage_required", &[("what", &what)])))?;
    check(&value).map_err(|issue| {
        UsageError(match issue {
            TextIssue::Unsafe(c) => {
                label(locale, "usage_unsafe_text", &[("what", &what), ("code", &format!("U+{c:04X}"))])
            }
            TextIssue::TooLong { chars, max } => label(
                locale,
                "usage_text_too_long",
                &[("what", &what), ("count", &chars.to_string()), ("max", &max.to_string())],
            ),
        })
    })?;
    Ok(value)
}

/// The unit a decision names (`--unit`, `--all-units`, or none).
fn unit_choice(cx: &Context, args: UnitArgs) -> Result<UnitChoice, UsageError> {
    Ok(match (args.unit, args.all_units) {
        (_, true) => UnitChoice::All,
        (Some(u), false) => UnitChoice::One(name_arg(cx, Some(u), "what_unit")?),
        (None, false) => UnitChoice::Unnamed,
    })
}

/// A person's name or an identifier (`--by`, `--partner`, `--ref`).
fn name_arg(cx: &Context, value: Option<String>, what: &str) -> Result<String, UsageError> {
    checked_arg(cx, value, what, text::check_name)
}

/// Free text (`--reason`, `--note`, `--comment`).
fn text_arg(cx: &Context, value: Option<String>, what: &str) -> Result<String, UsageError> {
    checked_arg(cx, value, what, text::check_text)
}

/// Prints lines for a terminal: what came from a store or another system shows escaped.
fn print_lines(lines: Vec<String>) {
    for line in lines {
        say!("{}", text::escape(&line, false));
    }
}

/// Prints a page of lines (a table, an explanation) with the same escaping, line breaks kept.
fn print_page(page: &str) {
    {
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), "{}", text::escape(page, true));
    }
}
