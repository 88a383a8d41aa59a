//! Command-line interface (clap): parsing only; `main` dispatches.

use crate::domain::job::JobKind;
use crate::domain::period::{Month, Quarter};
use crate::telemetry::LogFormat;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ict-partners",
    version,
    about = "Assessment, grading and settlement of ICT support partners (ICT支撑合作伙伴)"
)]
pub struct Cli {
    /// Application configuration file (default: config/ict-partners.toml, else the built-in default).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Rules file to use instead of the configured one.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) rules: Option<PathBuf>,
    /// Log format on standard error (`json` for the journal or a log collector).
    #[arg(long, global = true, value_enum, default_value = "text", env = "ICT_PARTNERS_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// More log on standard error: -v for the progress of each step, -vv for details.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one job for one period.
    Run {
        #[command(subcommand)]
        job: RunJob,
    },
    /// Try a rules revision over months (第三十九条): `--rules` names the candidate; every month
    /// of the range is recomputed under it, in order, and compared with the stored results.
    /// Stores nothing, sends nothing.
    WhatIf {
        /// Inclusive range of months that are over, e.g. 2025-11..2026-10.
        #[arg(long, value_parser = parse_month_range)]
        months: (Month, Month),
        /// Folder for the outputs (default what-if/<candidate hash>/ in the output directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Make a demo operations database and store under a folder, run every job, say where to look.
    Demo {
        /// Folder for the demo database, store and outputs.
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
    },
    /// Write a synthetic operations database of the contract's shape.
    GenData(GenDataArgs),
    /// Validate the configuration, rules and calendar; print every problem at once.
    CheckConfig,
    /// Approve a unit of a computed period (第二十一条): its results are frozen until reopened.
    Approve {
        #[command(subcommand)]
        period: PeriodRef,
        #[command(flatten)]
        unit: UnitArgs,
        /// Who approves (recorded with the operating-system user and the host).
        #[arg(long, global = true, value_name = "NAME")]
        by: Option<String>,
        /// A remark recorded with the approval.
        #[arg(long, global = true, value_name = "TEXT")]
        comment: Option<String>,
    },
    /// Reopen an approved unit so it can be recomputed; the reason is recorded.
    Reopen {
        #[command(subcommand)]
        period: PeriodRef,
        #[command(flatten)]
        unit: UnitArgs,
        /// Who reopens (recorded).
        #[arg(long, global = true, value_name = "NAME")]
        by: Option<String>,
        /// Why (recorded; names the accepted disputes it puts right).
        #[arg(long, global = true, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Publish an approved unit: its partners' scorecards (forms, annual results) and their
    /// dispute windows, in one transaction.
    Publish {
        #[command(subcommand)]
        period: PeriodRef,
        #[command(flatten)]
        unit: UnitArgs,
        /// Who publishes (recorded).
        #[arg(long, global = true, value_name = "NAME")]
        by: Option<String>,
        /// Queue a published unit's messages again (when a person asks).
        #[arg(long, global = true)]
        resend: bool,
    },
    /// Every point of a partner's month, traced to its rows, and the arithmetic.
    Explain {
        /// The partner id (合作伙伴编号), as in the operations database.
        #[arg(long)]
        partner: String,
        /// The month, YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: Month,
    },
    /// Partner disputes (申诉) after publication (rules.md §11).
    Dispute {
        #[command(subcommand)]
        action: DisputeAction,
    },
    /// A workbook for a department to fill in: manual scores, violations or presales scores.
    Template {
        #[command(subcommand)]
        records: TemplateOf,
    },
    /// Import a filled workbook of departmental records (every problem at once; exit 65 and
    /// nothing stored when any row is invalid).
    Import {
        #[command(subcommand)]
        records: ImportOf,
    },
    /// The outbox.
    Mail {
        #[command(subcommand)]
        action: MailAction,
    },
    /// Run on the job schedules until SIGTERM/SIGINT (catches up first, like `run due`).
    Serve,
    /// The run ledger: the latest attempts at each job period, newest first.
    Runs {
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
}

#[derive(Debug, Subcommand, Clone, Copy)]
pub(crate) enum PeriodRef {
    /// A month's assessment (its units: the managing departments).
    Monthly {
        /// The month (YYYY-MM).
        #[arg(long, value_parser = parse_month)]
        month: Month,
    },
    /// A quarter's presales settlement (its units: the commissioning units).
    Quarterly {
        /// The quarter (YYYY-Qn).
        #[arg(long, value_parser = parse_quarter)]
        quarter: Quarter,
    },
    /// A year's annual results (its units: the managing departments).
    Annual {
        /// The year (YYYY).
        #[arg(long, value_parser = clap::value_parser!(i32).range(1900..=9999))]
        year: i32,
    },
}

impl PeriodRef {
    pub(crate) fn job(&self) -> JobKind {
        match self {
            PeriodRef::Monthly { .. } => JobKind::Monthly,
            PeriodRef::Quarterly { .. } => JobKind::Quarterly,
            PeriodRef::Annual { .. } => JobKind::Annual,
        }
    }

    pub(crate) fn period(&self) -> String {
        match self {
            PeriodRef::Monthly { month } => month.to_string(),
            PeriodRef::Quarterly { quarter } => quarter.to_string(),
            PeriodRef::Annual { year } => year.to_string(),
        }
    }

    pub(crate) fn as_job(&self) -> crate::domain::job::Job {
        use crate::domain::job::Job;
        match *self {
            PeriodRef::Monthly { month } => Job::Monthly(month),
            PeriodRef::Quarterly { quarter } => Job::Quarterly(quarter),
            PeriodRef::Annual { year } => Job::Annual(year),
        }
    }
}

/// Which unit a decision is for (rules.md §12).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct UnitArgs {
    /// The unit: a managing department (months, years) or a commissioning unit (quarters). May
    /// be left out when the period has one unit.
    #[arg(long, global = true, value_name = "UNIT", conflicts_with = "all_units")]
    pub(crate) unit: Option<String>,
    /// One joint decision for every unit of the period.
    #[arg(long, global = true)]
    pub(crate) all_units: bool,
}

/// A published month or quarter (a dispute is of one or the other).
#[derive(Debug, Args, Clone, Copy)]
#[group(multiple = false)]
pub(crate) struct PublishedPeriod {
    /// A month's result (YYYY-MM).
    #[arg(long, value_parser = parse_month)]
    pub(crate) month: Option<Month>,
    /// A quarter's presales settlement (its 结算确认表), instead of a month.
    #[arg(long, value_parser = parse_quarter)]
    pub(crate) quarter: Option<Quarter>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DisputeAction {
    /// Record a partner's objection to its published result; the last line printed is the dispute id.
    Open {
        #[command(flatten)]
        period: PublishedPeriod,
        /// The partner id (合作伙伴编号), as in the operations database.
        #[arg(long)]
        partner: String,
        /// Why the partner objects, in its words (one line, at most 2,000 characters).
        #[arg(long)]
        reason: String,
        /// Who records it.
        #[arg(long)]
        by: String,
        /// A row the partner contests (a ticket, order, event or fee line id of its result); repeatable.
        #[arg(long = "ref", value_name = "ROW_ID")]
        refs: Vec<String>,
    },
    /// The disputes with their state, age and window, newest first. Changes nothing.
    List {
        #[command(flatten)]
        period: PublishedPeriod,
        /// Only disputes still holding a settlement back (open, or accepted and not yet put right).
        #[arg(long)]
        open: bool,
    },
    /// Decide a dispute; the partner is told.
    Resolve {
        /// The dispute id (printed by `dispute open`, listed by `dispute list`).
        id: String,
        /// Accept it: the result is to be corrected (reopen, correct, approve and publish again).
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        accept: bool,
        /// Reject it: the result stands.
        #[arg(long)]
        reject: bool,
        /// Who does it (recorded in the audit trail).
        #[arg(long)]
        by: String,
        /// Why it was decided so (the partner is told).
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TemplateOf {
    /// 支撑配合评分: one row per assessed partner and manual indicator of the month.
    ManualScores {
        /// The month, YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: Month,
        /// Only the partners this managing department (归口部门) manages.
        #[arg(long)]
        department: Option<String>,
        /// The workbook to write (a path that exists must be a regular file).
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
    /// 信用考核 violation determinations of the month.
    Violations {
        /// The month, YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: Month,
        /// The workbook to write (a path that exists must be a regular file).
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
    /// 附件二 assessment scores of the supports the quarterly run would consider.
    PresalesScores {
        /// The quarter, YYYY-Qn (2026-Q3).
        #[arg(long, value_parser = parse_quarter)]
        quarter: Quarter,
        /// The workbook to write (a path that exists must be a regular file).
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
    /// 不良信用记录名单 decisions: those entered so far, and the partners and contracts.
    Blacklist {
        /// The workbook to write (a path that exists must be a regular file).
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
    /// 退出申请: those entered so far, and the partners' contracts.
    ExitRequests {
        /// The workbook to write (a path that exists must be a regular file).
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
    /// 稽核剔除: the month's fee items, to write the reason of those excluded.
    AuditExclusions {
        /// The month of the fee items (YYYY-MM).
        #[arg(long, value_parser = parse_month)]
        month: Month,
        /// The workbook to write (a path that exists must be a regular file).
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
}

/// The file and who imports it (recorded in the audit trail).
#[derive(Debug, Args, Clone)]
pub(crate) struct ImportArgs {
    /// The filled workbook (a regular file of at most 20 MiB).
    #[arg(value_name = "FILE.xlsx")]
    pub(crate) file: PathBuf,
    /// Who imports it (recorded in the audit trail).
    #[arg(long, value_name = "NAME")]
    pub(crate) by: String,
    /// Check the workbook and print what would change; store nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The month of a workbook without a 月份 column (manual scores, violations).
    #[arg(long, value_parser = parse_month, conflicts_with = "quarter")]
    pub(crate) month: Option<Month>,
    /// The quarter of a workbook without a 季度 column (presales scores).
    #[arg(long, value_parser = parse_quarter)]
    pub(crate) quarter: Option<Quarter>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportOf {
    /// 支撑配合 points of a month (a template of `template manual-scores`, filled).
    ManualScores(ImportArgs),
    /// 信用考核 violation determinations of a month.
    Violations(ImportArgs),
    /// 附件二 assessment scores of a quarter's presales supports.
    PresalesScores(ImportArgs),
    /// 不良信用记录名单 decisions (of no period: they take effect at each period's next run).
    Blacklist(ImportArgs),
    /// Partners' exit requests (of no period).
    ExitRequests(ImportArgs),
    /// Fee items the audit excluded from a month's settlement.
    AuditExclusions(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum MailAction {
    /// Send every queued message (after the mail server was down).
    Flush,
    /// The outbox: every message with its state (queued or sent), newest first. Changes nothing.
    List {
        /// Only the messages still waiting to be sent.
        #[arg(long)]
        queued: bool,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
}

#[derive(Debug, Args, Clone, Copy, Default)]
pub(crate) struct PeriodFlags {
    /// Run a period that is not over yet: outputs marked as a preview, nothing stored as final.
    #[arg(long)]
    pub(crate) preview: bool,
    /// Compute and write outputs, but store nothing as final and send nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Send this period's messages again, even those sent before (when a person asks).
    #[arg(long)]
    pub(crate) resend: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RunJob {
    /// Monthly assessment, grading, settlement and flags.
    Monthly {
        /// The month, YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: Month,
        #[command(flatten)]
        flags: PeriodFlags,
    },
    /// Quarterly presales fee settlement.
    Quarterly {
        /// The quarter, YYYY-Qn (2026-Q3).
        #[arg(long, value_parser = parse_quarter)]
        quarter: Quarter,
        #[command(flatten)]
        flags: PeriodFlags,
    },
    /// Pre-expiry renewal summary, exits and blacklist breaches as of a day (default today).
    Renewal {
        /// The day to look from, YYYY-MM-DD (default today).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        #[command(flatten)]
        flags: PeriodFlags,
    },
    /// Annual grades, credit points and tiers.
    Annual {
        /// The year, YYYY.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1900..=9999))]
        year: i32,
        #[command(flatten)]
        flags: PeriodFlags,
    },
    /// Every job period due by the schedules (jobs/*.toml) and not done yet, oldest first: what
    /// cron or a systemd timer calls. Nothing due: exit 0 at once.
    Due {
        /// Look as of the end of this day instead of now (not in the future).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
    },
}

#[derive(Debug, Args, Clone)]
pub(crate) struct GenDataArgs {
    /// SQLite file to write (replaced if it exists).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// How many partners to generate.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) partners: u32,
    /// How many fault tickets each month (orders, surveys and events scale with it).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(0..=100_000_000))]
    pub(crate) tickets_per_month: u32,
    /// Inclusive month range, e.g. 2026-01..2026-10.
    #[arg(long, default_value = "2026-01..2026-10", value_parser = parse_month_range)]
    pub(crate) months: (Month, Month),
    /// The random seed: the same seed writes the same database.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

/// A `YYYY-MM-DD` date the jobs can compute with (1900–9999).
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    use chrono::Datelike;
    crate::domain::period::parse_date(s)
        .filter(|d| (1900..=9999).contains(&d.year()))
        .ok_or_else(|| format!("not a date between 1900-01-01 and 9999-12-31 (YYYY-MM-DD): {s:?}"))
}

fn parse_month(s: &str) -> Result<Month, String> {
    s.parse()
}

fn parse_quarter(s: &str) -> Result<Quarter, String> {
    s.parse()
}

fn parse_month_range(s: &str) -> Result<(Month, Month), String> {
    let (a, b) = s.split_once("..").ok_or_else(|| format!("not a month range (YYYY-MM..YYYY-MM): {s:?}"))?;
    let (a, b): (Month, Month) = (a.parse()?, b.parse()?);
    if a > b {
        return Err(format!("the range {s} runs backwards"));
    }
    Ok((a, b))
}

/// The exit code of a command line clap refused: 64 (bad usage), or 0 for `--help` and `--version`.
impl Cli {
    /// How much log: a person at a terminal reads the command's own lines, in the locale's
    /// language, and the log only when something failed (what a person must know is said in
    /// those lines) unless they ask with `-v`; the journal or a log collector (`--log-format
    /// json`, `serve`, `run due`) gets each step's progress and the warnings.
    pub fn log_level(&self) -> &'static str {
        // The daemon and `run due` log their progress: their stderr is the journal.
        let unattended = matches!(self.command, Command::Serve | Command::Run { job: RunJob::Due { .. } });
        let quiet = matches!(self.command, Command::Demo { .. }) || (self.log_format == LogFormat::Text && !unattended);
        match (self.verbose, quiet) {
            (0, true) => "error",
            (0, false) | (1, _) => "info",
            _ => "debug",
        }
    }
}

pub fn parse_error_exit_code(error: &clap::Error) -> u8 {
    if error.use_stderr() {
        64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A command line clap accepted must describe a period the jobs can handle without panicking.
    fn exercise(cli: &Cli) {
        use crate::domain::job::Job;
        if let Command::Run { job } = &cli.command {
            let job = match job {
                RunJob::Monthly { month, .. } => Job::Monthly(*month),
                RunJob::Quarterly { quarter, .. } => Job::Quarterly(*quarter),
                RunJob::Annual { year, .. } => Job::Annual(*year),
                RunJob::Renewal { as_of, .. } | RunJob::Due { as_of } => {
                    Job::Renewal(as_of.map_or(chrono::NaiveDate::MIN, |d| crate::domain::period::add_months(d, 3)))
                }
            };
            let _ = (job.period_end(), job.period());
        }
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ict-partners").chain(args.iter().copied()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Arbitrary period strings and numbers: accepted and usable, or refused with exit 64 and a
        /// message; never a panic.
        #[test]
        fn arbitrary_period_arguments_are_parsed_or_refused_never_panic(
            value in prop_oneof![
                "[0-9]{1,7}",
                "-?[0-9]{1,12}",
                "[0-9]{4}-[0-9]{1,3}",
                "[0-9]{4}-Q[0-9]{1,2}",
                "[0-9]{4}-[0-9]{2}-[0-9]{2}",
                "[0-9]{5,6}-[0-9]{2}(-[0-9]{2})?",
                "\\PC{0,12}",
            ],
            which in 0usize..8,
        ) {
            let args: Vec<&str> = match which {
                0 => vec!["run", "monthly", "--month", &value],
                1 => vec!["run", "quarterly", "--quarter", &value],
                2 => vec!["run", "annual", "--year", &value],
                3 => vec!["run", "renewal", "--as-of", &value],
                4 => vec!["run", "due", "--as-of", &value],
                5 => vec!["explain", "--partner", "P01", "--month", &value],
                6 => vec!["runs", "--limit", &value],
                _ => vec!["gen-data", "--out", "x.sqlite", "--partners", &value, "--months", &value],
            };
            match parse(&args) {
                Ok(cli) => exercise(&cli),
                Err(e) => {
                    prop_assert_eq!(parse_error_exit_code(&e), 64);
                    prop_assert!(!e.to_string().trim().is_empty());
                }
            }
        }
    }

    #[test]
    fn years_out_of_range_are_refused_by_the_parser() {
        let e = parse(&["run", "annual", "--year", "300000"]).unwrap_err();
        assert_eq!(parse_error_exit_code(&e), 64);
        assert!(e.to_string().contains("300000"), "{e}");
        assert!(parse(&["run", "annual", "--year", "2026"]).is_ok());
        assert_eq!(parse_error_exit_code(&parse(&["--help"]).unwrap_err()), 0);
    }
}
