//! `what-if --rules FILE --months A..B`: a rules revision tried over a range of months
//! (第三十九条). Each month is read once, overlaid with the entered records and assessed under
//! the candidate on the same code path as a real run, its C-grade window built from the
//! candidate's own earlier months (the store's before the range); it is compared with what is
//! stored, or, for a month with no stored result, with the month assessed under the rules that
//! govern it. Nothing is stored or sent, and no period's folder is touched: the outputs go to
//! `what-if/<candidate hash>/` or the folder named.

use super::{rules_for, Context};
use crate::config::rules_diff::differences;
use crate::config::ConfigError;
use crate::domain::job::Job;
use crate::domain::monthly::{assess, GradeHistory};
use crate::domain::period::Month;
use crate::domain::rules::Rules;
use crate::domain::whatif::{self, MonthSide, WhatIf};
use crate::exit::UsageError;
use crate::report::templates::label;
use crate::sources::Sources;
use anyhow::Context as _;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The longest range a what-if computes, in months.
const MAX_MONTHS: i32 = 120;

/// The largest rules file a what-if reads (a rules file is a few kilobytes).
const RULES_FILE_MAX: u64 = 1 << 20;

/// Reads and compiles the candidate: every problem at once (exit 78), nothing computed.
pub(crate) fn candidate(cx: &Context, path: &Path) -> anyhow::Result<Rules> {
    let l = |key: &str, args: &[(&str, &str)]| label(&cx.settings.locale, key, args);
    let shown = crate::domain::text::escape(&path.display().to_string(), false).into_owned();
    let bytes = crate::files::read_regular(path, RULES_FILE_MAX).map_err(|e| ConfigError {
        problems: vec![l("whatif_unreadable", &[("path", &shown), ("why", &e.to_string())])],
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ConfigError { problems: vec![l("whatif_not_utf8", &[("path", &shown)])] })?;
    let mut problems = Vec::new();
    match crate::config::compile_rules(&text, cx.settings.calendar_years.clone(), &mut problems) {
        Some(rules) if problems.is_empty() => Ok(rules),
        _ => Err(ConfigError { problems }.into()),
    }
}

/// Tries the candidate over `[first, last]`, month by month, in order.
pub(crate) async fn what_if(cx: &Context, candidate: Rules, first: Month, last: Month) -> anyhow::Result<WhatIf> {
    let end = Job::Monthly(last).period_end();
    if cx.now() < end {
        let args = [("month", last.to_string()), ("end", end.to_string())];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        return Err(UsageError(label(&cx.settings.locale, "whatif_not_over", &args)).into());
    }
    // Each month is a month's computation: a range is a person's question about a revision,
    // not a sweep of the calendar (at most ten years).
    let months = (last.year() - first.year()) * 12 + last.month() as i32 - first.month() as i32 + 1;
    if months > MAX_MONTHS {
        let args = [("months", months.to_string()), ("max", MAX_MONTHS.to_string())];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        return Err(UsageError(label(&cx.settings.locale, "whatif_too_long", &args)).into());
    }
    let options = super::RunOptions { dry_run: true, ..Default::default() };
    let store = cx.store_for(options).await?;
    let result = over_months(cx, &store, candidate, first, last).await;
    store.close().await;
    result
}

async fn over_months(
    cx: &Context,
    store: &crate::store::Store,
    candidate: Rules,
    first: Month,
    last: Month,
) -> anyhow::Result<WhatIf> {
    // Every month's governing rules first: a stored rules version that no longer compiles is a
    // configuration problem found before anything is computed.
    let mut months = Vec::new();
    let mut month = first;
    while month <= last {
        months.push((month, rules_for(cx, store, month).await?));
        month = month.next();
    }
    // The candidate's own grades, month by month, on top of the store's before the range.
    let keep = months.iter().map(|(_, r)| r.flags.c_grade_window_months).chain([candidate.flags.c_grade_window_months]);
    let keep = keep.max().unwrap_or(1);
    let mut history: GradeHistory = store.grade_history(first, keep).await?;
    let sources = Sources::connect(&cx.settings).await?;
    let mut out = WhatIf {
        first,
        last,
        before_hashes: BTreeSet::new(),
        differences: differences(&months.last().map(|(_, r)| r.text.clone()).unwrap_or_default(), &candidate.text),
        candidate_hash: candidate.hash.clone(),
        effective_from: candidate.effective_from,
        rows: Vec::new(),
        totals: Vec::new(),
        not_stored: Vec::new(),
    };
    let result = async {
        for (month, governing) in &months {
            let month = *month;
            let started = std::time::Instant::now();
            let mut input = sources.month_input(month).await?;
            super::records::overlay_month(cx, store, &mut input).await?;
            // A revision applies from its effective month on, as a real one would.
            let rules = if candidate.effective_from.is_none_or(|f| f <= month) { &candidate } else { governing };
            let (stored, stored_indicators) = store.stored_month(month).await?;
            let hash = store.month_rules_hash(month).await?;
            let (before, after) = if let (false, Some(hash)) = (stored.is_empty(), hash) {
                out.before_hashes.insert(hash);
                let after = assess(input, rules, &history).with_context(|| format!("assessing {month}"))?;
                ((stored, stored_indicators), after)
            } else {
                out.not_stored.push(month);
                out.before_hashes.insert(governing.hash.clone());
                let own = store.grade_history(month, governing.flags.c_grade_window_months).await?;
                let before = assess(input.clone(), governing, &own).with_context(|| format!("assessing {month}"))?;
                let after = assess(input, rules, &history).with_context(|| format!("assessing {month}"))?;
                ((before.partners, before.indicators), after)
            };
            let rows = whatif::compare(
                month,
                MonthSide { partners: &before.0, indicators: &before.1 },
                MonthSide { partners: &after.partners, indicators: &after.indicators },
            );
            whatif::remember(&mut history, month, &after.partners, keep);
            out.totals.extend(whatif::totals(month, &rows));
            tracing::info!(
                %month,
                partners = rows.len(),
                moved = rows.iter().filter(|r| r.moves()).count(),
                seconds = started.elapsed().as_secs_f64(),
                "tried"
            );
            out.rows.extend(rows);
        }
        anyhow::Ok(())
    }
    .await;
    sources.close().await;
    result?;
    Ok(out)
}

/// Where the outputs go: the folder named, else `what-if/<first 12 hex digits of the hash>/`
/// in the output directory.
pub(crate) fn output_dir(cx: &Context, named: Option<PathBuf>, hash: &str) -> PathBuf {
    named.unwrap_or_else(|| cx.settings.output_dir.join("what-if").join(hash.get(..12).unwrap_or(hash)))
}

/// The command: candidate checked first (exit 78), the range tried, the outputs written; the
/// lines for the operator, the folder last.
pub(crate) async fn run(
    cx: &Context,
    path: &Path,
    (first, last): (Month, Month),
    named: Option<PathBuf>,
) -> anyhow::Result<Vec<String>> {
    let rules = candidate(cx, path)?;
    let hash = rules.hash.clone();
    let found = what_if(cx, rules, first, last).await?;
    let locale = &cx.settings.locale;
    let mut files = vec![
        ("what-if.csv".to_string(), crate::report::whatif::csv(&found)),
        ("what-if.xlsx".to_string(), crate::report::whatif::workbook(locale, &found)?),
    ];
    files.extend(crate::report::whatif::page(locale, &found)?);
    let dir = output_dir(cx, named, &hash);
    crate::files::write_all(&dir, &files)?;
    let mut lines = crate::report::whatif::lines(locale, &found);
    lines.push(label(locale, "outputs_line", &[("path", &dir.display().to_string())]));
    Ok(lines)
}
