//! The `ict-partners` binary: parse, set up logging, load settings, dispatch, map errors to the
//! documented exit codes (0, 64, 65, 69, 78, 1).

use clap::Parser;
use ict_partners::cli::{Cli, Command, MailAction, PeriodRef, RunJob};
use ict_partners::error::{exit_code_of, AppError};
use ict_partners::jobs::approval;
use ict_partners::jobs::{due, run_job, Job, RunOptions, StartedBy};
use ict_partners::settings::{self, Environment, LoadOptions};
use ict_partners::sources::Sources;
use ict_partners::store::Store;
use ict_partners::{clock, demo, gendata, telemetry};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(ict_partners::cli::parse_error_exit_code(&e));
        }
    };
    telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code_of(&e);
            eprintln!("error: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let load = LoadOptions { config: cli.config.clone(), rules: cli.rules.clone() };
    match cli.command {
        Command::GenData(args) => {
            let summary = gendata::generate(&args).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Demo { dir } => demo::run(&dir, &load).await,
        Command::CheckConfig => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let year = chrono::Datelike::year(&clock::today(settings.rules.timezone));
            let missing = settings::missing_calendar_years(&settings.rules.calendar, year);
            for origin in &settings.origins {
                println!("{origin}");
            }
            if !missing.is_empty() {
                let years: Vec<String> = missing.iter().map(ToString::to_string).collect();
                return Err(AppError::Config(vec![format!(
                    "calendar: no holiday data for {} (working-clock tickets of those years would be quarantined)",
                    years.join(", ")
                )])
                .into());
            }
            if let Some(warning) = settings.calendar_warning(clock::today(settings.rules.timezone)) {
                tracing::warn!("{warning}");
                println!("warning: {warning}");
            }
            println!(
                "source: {:?}\nstore: {:?}\noutput: {}",
                settings.source_url,
                settings.store_url,
                settings.output_dir.display()
            );
            match &settings.smtp_url {
                Some(url) => println!("mail: SMTP {url:?}, from {}", settings.mail_from),
                None => {
                    println!("mail: no SMTP server; messages are written to {}/outbox/", settings.output_dir.display())
                }
            }
            println!("rules: {} indicators, hash {}", settings.rules.indicators.len(), settings.rules.hash);
            // The extraction queries against the source: every contract column, no rows read.
            let source = Sources::connect(&settings).await?;
            let problems = source.verify().await;
            source.close().await;
            let problems = problems?;
            if !problems.is_empty() {
                return Err(AppError::SourceUnusable(problems.join("; ")).into());
            }
            println!("source queries: every dataset returns the contract's columns");
            let jobs = &settings.jobs;
            let now = clock::now_local(settings.rules.timezone);
            for def in jobs {
                let next: Vec<String> = ict_partners::schedule::next_firings(def, settings.rules.timezone, now, 5)
                    .iter()
                    .map(|t| {
                        format!(
                            "{} ({})",
                            t.format("%Y-%m-%d %H:%M"),
                            ict_partners::schedule::period_of(def.covers, *t).period()
                        )
                    })
                    .collect();
                let state = if def.enabled { "enabled" } else { "disabled" };
                println!("job {} ({state}): next {}", def.name, next.join(", "));
            }
            // The store is reachable and its schema current; what `run due` would do now.
            let pending = due::pending_read_only(&settings, now).await?;
            let pending: Vec<String> = pending.iter().map(|d| format!("{} {}", d.job.name(), d.job.period())).collect();
            match pending.len() {
                0 => println!("store: reachable; nothing is due now"),
                n => println!("store: reachable; due now ({n}): {}", pending.join(", ")),
            }
            println!("configuration OK");
            Ok(())
        }
        Command::Approve { period, by, comment } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let by = required(by, "--by NAME")?;
            let now = clock::now_local(settings.rules.timezone);
            print_lines(
                approval::approve(&settings, period.job(), &period.period(), &by, comment.as_deref(), now).await?,
            );
            Ok(())
        }
        Command::Reopen { period, by, reason } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let (by, reason) = (required(by, "--by NAME")?, required(reason, "--reason TEXT")?);
            let now = clock::now_local(settings.rules.timezone);
            print_lines(approval::reopen(&settings, period.job(), &period.period(), &by, &reason, now).await?);
            Ok(())
        }
        Command::Publish { period, by } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let by = required(by, "--by NAME")?;
            let now = clock::now_local(settings.rules.timezone);
            match period {
                PeriodRef::Monthly { month } => print_lines(approval::publish_month(&settings, month, &by, now).await?),
                PeriodRef::Quarterly { quarter } => {
                    print_lines(approval::publish_quarter(&settings, quarter, &by, now).await?)
                }
            }
            Ok(())
        }
        Command::Explain { partner, month } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            print!("{}", approval::explain_month(&settings, &partner, month).await?);
            Ok(())
        }
        Command::Mail { action: MailAction::List { queued, limit } } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let store = Store::open_read_only(&settings).await?;
            let rows = store.outbox_entries(queued, limit).await;
            store.close().await;
            print!("{}", ict_partners::report::ledger::outbox_table(&rows?));
            Ok(())
        }
        Command::Mail { action: MailAction::Flush } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let now = clock::now_local(settings.rules.timezone);
            println!("{}", ict_partners::jobs::flush_outbox(&settings, now).await?);
            Ok(())
        }
        Command::Run { job: RunJob::Due { as_of } } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let now = clock::now_local(settings.rules.timezone);
            let as_of = due::as_of(as_of, now)?;
            let pass = due::run_due(&settings, as_of, StartedBy::Due, &due::StopFlag::default()).await;
            print_lines(pass.lines);
            pass.failure.map_or(Ok(()), Err)
        }
        Command::Serve => {
            let settings = settings::load(&load, &Environment::from_process())?;
            due::serve(settings).await
        }
        Command::Runs { limit } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let store = Store::open_read_only(&settings).await?;
            let rows = store.ledger(limit).await;
            store.close().await;
            print!("{}", ict_partners::report::ledger::table(&rows?));
            Ok(())
        }
        Command::Run { job } => {
            let settings = settings::load(&load, &Environment::from_process())?;
            let now = clock::now_local(settings.rules.timezone);
            let (job, flags) = match job {
                RunJob::Due { .. } => unreachable!("handled above"),
                RunJob::Monthly { month, flags } => (Job::Monthly(month), flags),
                RunJob::Quarterly { quarter, flags } => (Job::Quarterly(quarter), flags),
                RunJob::Renewal { as_of, flags } => (Job::Renewal(as_of.unwrap_or(now.date())), flags),
                RunJob::Annual { year, flags } => (Job::Annual(year), flags),
            };
            let options = RunOptions {
                preview: flags.preview,
                dry_run: flags.dry_run,
                resend: flags.resend,
                ..Default::default()
            };
            let summary = run_job(&settings, job, options, now).await?;
            for line in summary.lines {
                println!("{line}");
            }
            println!("outputs: {}", summary.output_dir.display());
            Ok(())
        }
    }
}

fn required(value: Option<String>, what: &str) -> anyhow::Result<String> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| AppError::Usage(format!("{what} is required")).into())
}

fn print_lines(lines: Vec<String>) {
    for line in lines {
        println!("{line}");
    }
}
