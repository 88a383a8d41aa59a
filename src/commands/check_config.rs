//! `check-config`: the configuration, rules, calendar and job files validated together (every
//! problem at once, exit 78), then each source's extraction queries described against it (exit
//! 65 naming every missing table or column), the store opened read only, and what is due now.

use crate::config::{missing_years, ConfigError};
use crate::jobs::{due, Context};
use crate::schedule::{next_firings, period_of};
use crate::sources::{SourceError, Sources};
use chrono::Datelike;

/// Where each dataset comes from: the default source, a named one, or the records people import.
fn dataset_origins(settings: &crate::config::Settings) -> Vec<String> {
    use crate::domain::records::RecordKind;
    let mut lines: Vec<String> = crate::domain::inputs::ALL_DATASETS
        .iter()
        .map(|d| {
            let entered = RecordKind::ALL.iter().any(|k| k.as_str() == d.name && settings.entered.contains(k));
            let from = match settings.dataset_sources.get(d.name) {
                _ if entered => "entered records (ict-partners import …)".to_string(),
                Some(named) => format!("[sources.{named}]"),
                None => "[source]".to_string(),
            };
            format!("dataset {}: {from}", d.name)
        })
        .collect();
    let scores = if settings.entered.contains(&RecordKind::PresalesScores) {
        "entered records (ict-partners import presales-scores)"
    } else {
        "presales_supports.assessment_score"
    };
    lines.push(format!("dataset presales_scores: {scores}"));
    lines
}

pub(super) async fn run(cx: &Context) -> anyhow::Result<()> {
    let settings = &cx.settings;
    let now = cx.now();
    for origin in &settings.origins {
        println!("{origin}");
    }
    let missing = missing_years(&settings.rules.calendar, now.year());
    if !missing.is_empty() {
        let years: Vec<String> = missing.iter().map(ToString::to_string).collect();
        return Err(ConfigError {
            problems: vec![format!(
                "calendar: no holiday data for {} (working-clock tickets of those years would be quarantined)",
                years.join(", ")
            )],
        }
        .into());
    }
    if let Some(warning) = settings.calendar_warning(now.date()) {
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
        None => println!("mail: no SMTP server; messages are written to {}/outbox/", settings.output_dir.display()),
    }
    println!("rules: {} indicators, hash {}", settings.rules.indicators.len(), settings.rules.hash);
    for line in dataset_origins(settings) {
        println!("{line}");
    }
    // The extraction queries against the source: every contract column, no rows read.
    let source = Sources::connect(settings).await?;
    let problems = source.verify().await;
    source.close().await;
    let problems = problems?;
    if !problems.is_empty() {
        return Err(SourceError::Unusable { problems }.into());
    }
    println!("source queries: every dataset returns the contract's columns");
    for def in &settings.jobs {
        let next: Vec<String> = next_firings(def, settings.rules.timezone, now, 5)
            .iter()
            .map(|t| format!("{} ({})", t.format("%Y-%m-%d %H:%M"), period_of(def.covers, *t).period()))
            .collect();
        let state = if def.enabled { "enabled" } else { "disabled" };
        println!("job {} ({state}): next {}", def.name, next.join(", "));
    }
    // The store is reachable and its schema current; what `run due` would do now. Read only: a
    // check never creates or migrates a store.
    let store = cx.store_read_only().await?;
    let pending = due::pending(cx, &store, now).await;
    store.close().await;
    let pending: Vec<String> = pending?.iter().map(|d| d.job.to_string()).collect();
    match pending.len() {
        0 => println!("store: reachable; nothing is due now"),
        n => println!("store: reachable; due now ({n}): {}", pending.join(", ")),
    }
    println!("configuration OK");
    Ok(())
}
