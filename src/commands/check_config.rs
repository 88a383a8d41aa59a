//! `check-config`: the configuration, rules, calendar and job files validated together (every
//! problem at once, exit 78), then each source's extraction queries described against it (exit
//! 65 naming every missing table or column), the store opened read only, and what is due now.

use crate::config::{missing_years, ConfigError};
use crate::jobs::{due, Context};
use crate::report::templates::label;
use crate::schedule::{next_firings, period_of};
use crate::sources::{SourceError, Sources};
use chrono::Datelike;

/// Where each dataset comes from: the default source, a named one, or the records people import.
fn dataset_origins(settings: &crate::config::Settings) -> Vec<String> {
    use crate::domain::records::RecordKind;
    let locale = settings.locale.as_str();
    let l = |key: &str, args: &[(&str, &str)]| label(locale, key, args);
    let mut lines: Vec<String> = crate::domain::inputs::ALL_DATASETS
        .iter()
        .map(|d| {
            let entered = RecordKind::ALL.iter().any(|k| k.as_str() == d.name && settings.entered.contains(k));
            let from = match settings.dataset_sources.get(d.name) {
                _ if entered => l("check_from_entered", &[]),
                Some(named) => l("check_from_named", &[("name", named)]),
                None => l("check_from_source", &[]),
            };
            l("check_dataset", &[("name", &crate::report::words::source(locale, d.name)), ("from", &from)])
        })
        .collect();
    let scores = if settings.entered.contains(&RecordKind::PresalesScores) {
        l("check_from_entered", &[])
    } else {
        l("check_from_supports", &[])
    };
    lines.push(l(
        "check_dataset",
        &[("name", &crate::report::words::source(locale, "presales_scores")), ("from", &scores)],
    ));
    lines
}

pub(super) async fn run(cx: &Context) -> anyhow::Result<()> {
    let settings = &cx.settings;
    let now = cx.now();
    let locale = settings.locale.as_str();
    let l = |key: &str, args: &[(&str, &str)]| label(locale, key, args);
    for origin in &settings.origins {
        // `config: path`, `rules: built-in default`: said in words.
        let (what, place) = origin.split_once(": ").unwrap_or(("config", origin));
        let what = l(&format!("check_origin_{what}"), &[]);
        let place = if place == "built-in default" { l("check_builtin", &[]) } else { place.to_string() };
        say!("{}", l("check_origin", &[("what", &what), ("place", &place)]));
    }
    let missing = missing_years(&settings.rules.calendar, now.year());
    if !missing.is_empty() {
        let years: Vec<String> = missing.iter().map(ToString::to_string).collect();
        return Err(ConfigError { problems: vec![l("check_calendar_missing", &[("years", &years.join("、"))])] }.into());
    }
    if let Some(warning) = cx.calendar_warning(now.date()) {
        tracing::warn!("{warning}");
        say!("{}", l("due_warning", &[("warning", &warning)]));
    }
    let redact = |u: &crate::config::Secret| crate::db::redact_url(u.expose());
    say!(
        "{}",
        l(
            "check_places",
            &[
                ("source", &redact(&settings.source_url)),
                ("store", &redact(&settings.store_url)),
                ("output", &settings.output_dir.display().to_string())
            ]
        )
    );
    let outbox = format!("{}/outbox/", settings.output_dir.display());
    match &settings.smtp_url {
        Some(url) => say!("{}", l("check_mail_smtp", &[("url", &redact(url)), ("from", &settings.mail_from)])),
        None => say!("{}", l("check_mail_none", &[("dir", &outbox)])),
    }
    let count = settings.rules.indicators.len().to_string();
    say!("{}", l("check_rules", &[("count", &count), ("hash", &settings.rules.hash)]));
    for line in dataset_origins(settings) {
        say!("{line}");
    }
    // The extraction queries against the source: every contract column, no rows read.
    let source = Sources::connect(settings).await?;
    let problems = source.verify().await;
    source.close().await;
    let problems = problems?;
    if !problems.is_empty() {
        return Err(SourceError::Unusable { problems }.into());
    }
    say!("{}", l("check_queries_ok", &[]));
    for def in &settings.jobs {
        let next: Vec<String> = next_firings(def, settings.rules.timezone, now, 5)
            .iter()
            .map(|t| format!("{}（{}）", t.format("%Y-%m-%d %H:%M"), period_of(def.covers, *t).period()))
            .collect();
        let state = l(if def.enabled { "check_enabled" } else { "check_disabled" }, &[]);
        let job = l(&format!("job_{}", def.name), &[]);
        let tz = settings.rules.timezone.to_string();
        say!("{}", l("check_job", &[("job", &job), ("state", &state), ("next", &next.join("、")), ("zone", &tz)]));
    }
    // The store is reachable and its schema current; what `run due` would do now. Read only: a
    // check never creates or migrates a store.
    let store = cx.store_read_only().await?;
    let pending = due::pending(cx, &store, now).await;
    store.close().await;
    let pending: Vec<String> =
        pending?.iter().map(|d| format!("{} {}", l(&format!("job_{}", d.job.name()), &[]), d.job.period())).collect();
    match pending.len() {
        0 => say!("{}", l("check_store_idle", &[])),
        n => say!("{}", l("check_store_due", &[("count", &n.to_string()), ("list", &pending.join("、"))])),
    }
    say!("{}", l("check_ok", &[]));
    Ok(())
}
