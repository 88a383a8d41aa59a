//! Approving and reopening the units of a period (rules.md §12, 第二十一条), and `explain`:
//! orchestration around the store's unit states, in the locale's words.

use super::units::{chosen, Chosen};
use super::{stamp, Context};
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::period::Month;
use crate::domain::units::{Change, Figures, UnitChoice, UnitStatus};
use crate::exit::UsageError;
use crate::report::explain;
use crate::report::templates::label;
use crate::store::units::Actor;
use crate::store::Store;

fn figures(locale: &str, f: &Option<Figures>) -> String {
    let dash = || "—".to_string();
    match f {
        Some(f) => format!(
            "{} {} {}",
            f.score.map(fmt2).unwrap_or_else(dash),
            f.grade.clone().unwrap_or_else(dash),
            f.amount.map(fmt2).unwrap_or_else(dash)
        ),
        None => label(locale, "none", &[]),
    }
}

/// Lines describing what changed since the last approval (score grade amount).
pub(crate) fn describe_changes(locale: &str, changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| format!("  {}: {} → {}", c.item, figures(locale, &c.before), figures(locale, &c.after)))
        .collect()
}

/// Who acts, as the audit trail records it.
pub(crate) fn actor<'a>(cx: &'a Context, by: &'a str, at: &'a str, user: &'a str) -> Actor<'a> {
    Actor { by, user, host: cx.system.host(), at }
}

/// The job's name in the locale's words.
pub(crate) fn job_words(locale: &str, job: JobKind) -> String {
    label(locale, &format!("job_{job}"), &[])
}

/// Approves the named units of a computed period as one decision (`--all-units`: every unit).
pub(crate) async fn approve(
    cx: &Context,
    store: &Store,
    job: JobKind,
    period: &str,
    choice: &UnitChoice,
    by: &str,
    comment: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let locale = cx.settings.locale.as_str();
    let Chosen { membership, units, .. } =
        chosen(cx, store, job, period, choice, by, |s| s == UnitStatus::Draft).await?;
    let all = store.items(job, period).await?;
    let items = units
        .iter()
        .flat_map(|u| membership.items_of(u))
        .filter_map(|i| all.get(i).map(|f| (i.clone(), f.clone())))
        .collect();
    let (at, user) = (stamp(cx.now()), cx.system.actor());
    let changes = store.approve_units(job, period, &units, &items, actor(cx, by, &at, &user), comment).await?;
    super::standing::refresh(cx, store, job, period).await;
    let mut lines = vec![label(
        locale,
        "approved_line",
        &[("job", &job_words(locale, job)), ("period", period), ("units", &units.join("、")), ("by", by)],
    )];
    if !changes.is_empty() {
        lines.push(label(locale, "approved_changes", &[("count", &changes.len().to_string())]));
        lines.extend(describe_changes(locale, &changes));
    }
    Ok(lines)
}

/// Reopens the named units so that their items can be recomputed; the reason is recorded (and
/// names the accepted disputes it puts right). Their settlement with finance is withdrawn.
pub(crate) async fn reopen(
    cx: &Context,
    store: &Store,
    job: JobKind,
    period: &str,
    choice: &UnitChoice,
    by: &str,
    reason: &str,
) -> anyhow::Result<Vec<String>> {
    let locale = cx.settings.locale.as_str();
    super::disputes::check_reopen_reason(locale, store, job, period, reason).await?;
    let Chosen { units, .. } = chosen(cx, store, job, period, choice, by, UnitStatus::frozen).await?;
    let (at, user) = (stamp(cx.now()), cx.system.actor());
    store.reopen_units(job, period, &units, actor(cx, by, &at, &user), reason).await?;
    let mut lines = vec![label(
        locale,
        "reopened_line",
        &[("job", &job_words(locale, job)), ("period", period), ("units", &units.join("、")), ("by", by)],
    )];
    // The finance export stands for what is settled: it is written again without those units.
    if super::settlement::rewrite_export(cx, store, job, period).await? {
        lines.push(label(locale, "reopened_finance", &[]));
    }
    super::standing::refresh(cx, store, job, period).await;
    Ok(lines)
}

pub(crate) async fn explain_month(cx: &Context, store: &Store, partner: &str, month: Month) -> anyhow::Result<String> {
    match store.explanation(month, partner).await? {
        Some(s) => Ok(explain::explain(partner, &month.to_string(), &s, &cx.settings.rules, &cx.settings.locale)),
        None => Err(UsageError(label(
            &cx.settings.locale,
            "explain_nothing",
            &[("partner", partner), ("month", &month.to_string())],
        ))
        .into()),
    }
}
