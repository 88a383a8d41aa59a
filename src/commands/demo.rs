//! `demo`: a demo operations database and store under one folder, every finished month of the demo
//! year run through the same `run_job` path as production, and where to look afterwards.

use crate::cli::GenDataArgs;
use crate::config::{self, LoadOptions};
use crate::domain::job::Job;
use crate::domain::period::Month;
use crate::jobs::{self, run_job, Context, RunOptions};
use crate::system::System;
use anyhow::Context as _;
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
    let config_file = write_config(&dir, &ops, &store, &out, load)?;
    // The demo's own configuration decides, whatever the environment names; it mails nobody.
    let system = system.with_vars(&[
        ("ICT_PARTNERS_SOURCE_URL", String::new()),
        ("ICT_PARTNERS_STORE_URL", String::new()),
        ("ICT_PARTNERS_OUTPUT_DIR", String::new()),
        ("ICT_PARTNERS_SMTP_URL", String::new()),
        ("ICT_PARTNERS_CONFIG", String::new()),
    ]);
    let load = LoadOptions { config: Some(config_file.clone()), rules: None };
    let cx = Context { settings: config::load(&load, &system)?, system };
    let now = cx.now();
    let first = Month::new(DEMO_YEAR, 1).expect("valid month");
    let last = Month::of(now.date()).prev().min(Month::new(DEMO_YEAR, 12).expect("valid month"));
    let args =
        GenDataArgs { out: ops.clone(), partners: 12, tickets_per_month: 300, months: (first, last), seed: 2026 };
    say!("{}", super::gen_data::generate(&args).await?);
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
    let records = dir.join("records");
    // The department meeting's 不良信用记录名单 decision, as the demo database holds it: entered
    // through its workbook before the run of the month it was taken in (nothing computed earlier
    // is touched), then held, listed and noticed by the runs that follow.
    let ban = match decided_ban(&cx, first).await {
        Ok(ban) => ban,
        Err(e) => {
            results.close().await;
            return Err(e);
        }
    };
    let mut ban_entered = false;
    for (job, preview) in jobs {
        let entered = async {
            if let (Some((_, decided)), false) = (&ban, ban_entered) {
                let due = match job {
                    Job::Monthly(month) => month >= Month::of(*decided),
                    _ => true,
                };
                if due {
                    enter_blacklist(&cx, &records).await?;
                    ban_entered = true;
                }
            }
            if let Job::Monthly(month) = job {
                // The managers' 支撑配合 points come in through the workbook they fill in.
                enter_manual_scores(&cx, month, &records).await?;
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = entered {
            results.close().await;
            return Err(e);
        }
        let summary = run_job(&cx, &results, job, RunOptions { preview, ..RunOptions::default() }).await;
        match summary {
            Ok(summary) => summary.lines.iter().for_each(|l| say!("{l}")),
            Err(e) => {
                results.close().await;
                return Err(e);
            }
        }
    }
    // The units of the last month: the printed commands name the first (each department approves
    // its own partners, rules.md §12).
    let units = results.membership(crate::domain::job::JobKind::Monthly, &last.to_string()).await?.units();
    results.close().await;
    let unit = units.into_iter().next().unwrap_or_default();
    let locale = cx.settings.locale.clone();
    let l = |key: &str, args: &[(&str, &str)]| crate::report::templates::label(&locale, key, args);
    let (ops_s, store_s, out_s, records_s) = (
        ops.display().to_string(),
        store.display().to_string(),
        out.display().to_string(),
        records.display().to_string(),
    );
    say!();
    say!("{}", l("demo_where", &[("ops", &ops_s), ("store", &store_s), ("out", &out_s), ("records", &records_s)]));
    if let Some((partner, decided)) = &ban {
        for line in ban_effect(&out, partner, *decided, last) {
            say!("{}", l(line.0, &line.1.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()));
        }
    }
    let exe = std::env::args().next().filter(|a| a.ends_with("ict-partners")).unwrap_or("ict-partners".into());
    let config = config_file.display().to_string();
    say!();
    say!("{}", l("demo_try_next", &[("config", &config)]));
    say!("  {exe} --config {config} explain --partner P01 --month {last}");
    say!("  {exe} --config {config} approve monthly --month {last} --unit {unit} --by 张经理");
    say!("  {exe} --config {config} publish monthly --month {last} --unit {unit} --by 张经理");
    Ok(())
}

/// The demo's configuration: the shipped one, with the demo's database, store and output folder,
/// and the 支撑配合 points entered through workbooks. Written beside the demo so that every
/// command can be tried on it with `--config`.
fn write_config(
    dir: &Path,
    ops: &Path,
    store: &Path,
    out: &Path,
    load: &LoadOptions,
) -> anyhow::Result<std::path::PathBuf> {
    let rules = match &load.rules {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => crate::config::DEFAULT_RULES.to_string(),
    };
    let text = crate::config::DEFAULT_APP
        .replacen("sqlite://data/ops.sqlite", &format!("sqlite://{}", ops.display()), 1)
        .replacen("sqlite://data/store.sqlite", &format!("sqlite://{}", store.display()), 1)
        .replacen("dir = \"reports/out\"", &format!("dir = {:?}", out.display().to_string()), 1)
        .replacen("# first_period = \"2026-01\"", &format!("first_period = \"{DEMO_YEAR}-01\""), 1);
    let text = format!(
        "# Written by `ict-partners demo`: the shipped configuration with the demo's files.\n{text}\n\
         # The managing departments enter their 支撑配合 points through workbooks\n\
         # (ict-partners template manual-scores / import manual-scores), not the operations database.\n\
         # So is the department meeting's 不良信用记录名单 (ict-partners template|import blacklist).\n\
         [datasets]\nmanual_scores = \"entered\"\nblacklist_entries = \"entered\"\n"
    );
    let path = dir.join("ict-partners.toml");
    crate::files::write_atomic(&path, text.as_bytes())?;
    crate::files::write_atomic(&dir.join("rules.toml"), rules.as_bytes())?;
    crate::files::write_atomic(&dir.join("calendar-cn.toml"), crate::config::DEFAULT_CALENDAR.as_bytes())?;
    Ok(path)
}

/// One month's round trip: the template, the same filled with the points the demo's managers gave
/// (the demo database holds them), and its import.
async fn enter_manual_scores(cx: &Context, month: Month, records: &Path) -> anyhow::Result<()> {
    use crate::domain::inputs::{values, MANUAL_SCORES};
    use crate::domain::records::{Period, RecordKind};
    std::fs::create_dir_all(records)?;
    let empty = records.join(format!("manual-scores-{month}.xlsx"));
    let filled = records.join(format!("manual-scores-{month}-filled.xlsx"));
    let period = Period::Month(month);
    jobs::records::template(cx, RecordKind::ManualScores, period, None, &empty).await?;
    let mut plain = cx.settings.clone();
    plain.entered.clear();
    let sources = crate::sources::Sources::connect(&plain).await?;
    let read = sources.fetch_all(&[MANUAL_SCORES], &crate::sources::Window::month(month)).await;
    sources.close().await;
    let scores = read?.take(MANUAL_SCORES);
    let prefill: jobs::records::Prefill = values(&scores, "partner_id")
        .zip(values(&scores, "indicator"))
        .zip(values(&scores, "points"))
        .filter_map(|((p, i), v)| Some(((p?.to_string(), i?.to_string()), v?.parse().ok()?)))
        .collect();
    jobs::records::template_with(cx, RecordKind::ManualScores, period, None, &filled, &prefill).await?;
    let lines = jobs::records::import(cx, RecordKind::ManualScores, &filled, "演示部门经理", None, false).await?;
    if let Some(summary) = lines.last() {
        say!("{summary}");
    }
    Ok(())
}

/// The demo database's first 不良信用记录名单 decision: the partner and the day.
async fn decided_ban(cx: &Context, first: Month) -> anyhow::Result<Option<(String, chrono::NaiveDate)>> {
    use crate::domain::inputs::{values, BLACKLIST};
    let mut plain = cx.settings.clone();
    plain.entered.clear();
    let sources = crate::sources::Sources::connect(&plain).await?;
    let read = sources.fetch_all(&[BLACKLIST], &crate::sources::Window::month(first)).await;
    sources.close().await;
    let entries = read?.take(BLACKLIST);
    Ok(values(&entries, "partner_id")
        .zip(values(&entries, "decided_on"))
        .filter_map(|(p, d)| Some((p?.to_string(), d?.parse().ok()?)))
        .min_by_key(|(_, d): &(String, chrono::NaiveDate)| *d))
}

/// The meeting's decisions in through the blacklist workbook: the template, the same filled in as
/// the department returned it (the decisions the demo database holds), and its import.
async fn enter_blacklist(cx: &Context, records: &Path) -> anyhow::Result<()> {
    use crate::domain::records::{Period, RecordKind};
    std::fs::create_dir_all(records)?;
    let empty = records.join("blacklist.xlsx");
    let filled = records.join("blacklist-filled.xlsx");
    jobs::records::template(cx, RecordKind::Blacklist, Period::Standing, None, &empty).await?;
    // A template starts from the decisions already known: read from the demo database, that is
    // the filled-in workbook.
    let mut plain = cx.settings.clone();
    plain.entered.clear();
    let from_source = Context { settings: plain, system: cx.system.clone() };
    jobs::records::template(&from_source, RecordKind::Blacklist, Period::Standing, None, &filled).await?;
    let lines = jobs::records::import(cx, RecordKind::Blacklist, &filled, "演示部门会议", None, false).await?;
    if let Some(summary) = lines.last() {
        say!("{summary}");
    }
    Ok(())
}

/// What the entered ban did, read back from the outputs: the first month held `banned`, the
/// contracts listed as still held, the owners' notices. Each line: a label and its arguments.
fn ban_effect(
    out: &Path,
    partner: &str,
    decided: chrono::NaiveDate,
    last: Month,
) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let mut lines =
        vec![("demo_ban_entered", vec![("partner", partner.to_string()), ("decided", decided.to_string())])];
    let mut month = Month::of(decided);
    while month <= last {
        let scores = std::fs::read_to_string(out.join(format!("monthly/{month}/scores.csv"))).unwrap_or_default();
        if scores.lines().any(|l| l.starts_with(&format!("{partner},")) && l.contains("banned")) {
            let file = format!("monthly/{month}/scores.csv");
            lines.push((
                "demo_ban_held",
                vec![("partner", partner.to_string()), ("month", month.to_string()), ("file", file)],
            ));
            break;
        }
        month = month.next();
    }
    let renewal = format!("renewal/{}", last.next().first_day());
    let breaches = std::fs::read_to_string(out.join(&renewal).join("blacklist_breaches.csv")).unwrap_or_default();
    let held: Vec<&str> = breaches
        .lines()
        .filter(|l| l.starts_with(&format!("{partner},contract_in_force,")))
        .filter_map(|l| l.split(',').nth(2))
        .collect();
    if !held.is_empty() {
        let file = format!("{renewal}/blacklist_breaches.csv");
        lines.push(("demo_ban_breach", vec![("contracts", held.join("、")), ("file", file)]));
        let notices = format!("{renewal}/notices/ban-*.html");
        lines.push(("demo_ban_notice", vec![("files", notices)]));
    }
    lines
}
