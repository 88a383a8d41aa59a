//! `demo`: a demo operations database and store under one folder, every finished month of the demo
//! year run through the same `run_job` path as production, and where to look afterwards.

use crate::cli::GenDataArgs;
use crate::config::{self, LoadOptions};
use crate::domain::job::Job;
use crate::domain::period::Month;
use crate::jobs::{run_job, Context, RunOptions};
use crate::system::System;
use std::path::Path;

/// The demo year: the one the shipped calendar covers.
const DEMO_YEAR: i32 = 2026;

pub(super) async fn run(dir: &Path, load: &LoadOptions, system: &System) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let ops = dir.join("ops.sqlite");
    let store = dir.join("store.sqlite");
    let out = dir.join("out");
    for stale in [&store, &dir.join("store.sqlite-wal"), &dir.join("store.sqlite-shm")] {
        let _ = std::fs::remove_file(stale);
    }
    let system = system.with_vars(&[
        ("ICT_PARTNERS_SOURCE_URL", format!("sqlite://{}", ops.display())),
        ("ICT_PARTNERS_STORE_URL", format!("sqlite://{}", store.display())),
        ("ICT_PARTNERS_OUTPUT_DIR", out.display().to_string()),
        // The demo mails nobody: whatever the environment names, the messages go to out/outbox/.
        ("ICT_PARTNERS_SMTP_URL", String::new()),
        ("ICT_PARTNERS_CONFIG", String::new()),
    ]);
    let cx = Context { settings: config::load(load, &system)?, system };
    let now = cx.now();
    let first = Month::new(DEMO_YEAR, 1).expect("valid month");
    let last = Month::of(now.date()).prev().min(Month::new(DEMO_YEAR, 12).expect("valid month"));
    let args =
        GenDataArgs { out: ops.clone(), partners: 12, tickets_per_month: 300, months: (first, last), seed: 2026 };
    println!("{}", super::gen_data::generate(&args).await?);
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
    let results = cx.store().await?;
    for (job, preview) in jobs {
        let summary = run_job(&cx, &results, job, RunOptions { preview, ..RunOptions::default() }).await;
        match summary {
            Ok(summary) => summary.lines.iter().for_each(|l| println!("{l}")),
            Err(e) => {
                results.close().await;
                return Err(e);
            }
        }
    }
    results.close().await;
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
