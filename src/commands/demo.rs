//! `demo`: a demo operations database and store under one folder, every finished month of the demo
//! year run through the same `run_job` path as production, and where to look afterwards.

use crate::cli::GenDataArgs;
use crate::domain::period::Month;
use crate::jobs::{run_job, Job, RunOptions};
use crate::settings::{self, Environment, LoadOptions};
use std::path::Path;

/// The demo year: the one the shipped calendar covers.
const DEMO_YEAR: i32 = 2026;

pub async fn run(dir: &Path, load: &LoadOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let ops = dir.join("ops.sqlite");
    let store = dir.join("store.sqlite");
    let out = dir.join("out");
    for stale in [&store, &dir.join("store.sqlite-wal"), &dir.join("store.sqlite-shm")] {
        let _ = std::fs::remove_file(stale);
    }
    let env = Environment {
        config: None,
        source_url: Some(format!("sqlite://{}", ops.display())),
        store_url: Some(format!("sqlite://{}", store.display())),
        output_dir: Some(out.display().to_string()),
        smtp_url: None,
    };
    let settings = settings::load(load, &env)?;
    let now = crate::clock::now_local(settings.rules.timezone);
    let first = Month::new(DEMO_YEAR, 1).expect("valid month");
    let last = Month::of(now.date()).prev().min(Month::new(DEMO_YEAR, 12).expect("valid month"));
    let args =
        GenDataArgs { out: ops.clone(), partners: 12, tickets_per_month: 300, months: (first, last), seed: 2026 };
    println!("{}", crate::gendata::generate(&args).await?);
    let mut jobs = Vec::new();
    let mut month = first;
    while month <= last {
        jobs.push((Job::Monthly(month), false));
        month = month.next();
    }
    let mut quarter = first.quarter();
    while quarter.last_month() <= last {
        jobs.push((Job::Quarterly(quarter), false));
        quarter = quarter.next();
    }
    // As of the day after the last finished month: presales contracts, one after-sales contract and
    // the blacklisted partner's contract fall in the three-month window.
    jobs.push((Job::Renewal(last.next().first_day()), false));
    jobs.push((Job::Annual(DEMO_YEAR), last < Month::new(DEMO_YEAR, 12).expect("valid month")));
    for (job, preview) in jobs {
        let summary = run_job(&settings, job, RunOptions { preview, ..RunOptions::default() }, now).await?;
        summary.lines.iter().for_each(|l| println!("{l}"));
    }
    println!();
    println!("demo operations database: {}", ops.display());
    println!("results store:            {}", store.display());
    println!("outputs:                  {}", out.display());
    println!("  index.html          every period's reports, newest first (open it in a browser)");
    println!("  monthly/YYYY-MM/    summary.html, department-NN.html, assessment.xlsx, scores.csv, indicators.csv, data_quality.csv");
    println!("  quarterly/YYYY-Qn/  presales.csv, confirmation_forms.xlsx, forms/*.html (结算确认表)");
    println!("  renewal/YYYY-MM-DD/ renewals.csv, exits.csv, blacklist_breaches.csv, notices/*.html, list-NN.html");
    println!("  annual/{DEMO_YEAR}/        annual.csv, annual.html");
    println!("  outbox/             the e-mails as .eml files (no SMTP server is configured)");
    Ok(())
}
