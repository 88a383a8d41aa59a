//! Approval, reopening and publication of job periods, and `explain`: orchestration around the
//! store's approval state, the explanation formatter, the partners' scorecards and the finance
//! export.

use super::disputes::{self, Settlement};
use super::mailing::{letters_to, send};
use super::{stamp, Context, RunOptions};
use crate::domain::inputs::{values, PARTNERS};
use crate::domain::job::{Job, JobKind};
use crate::domain::money::fmt2;
use crate::domain::period::{Month, Quarter};
use crate::exit::UsageError;
use crate::report::{explain, templates, Letter};
use crate::sources::{Sources, Window};
use crate::store::approval::{Change, Figures, PeriodStatus, StateError};
use crate::store::monthly::{MonthPartner, StoredExplanation};
use crate::store::Store;
use std::collections::{BTreeMap, HashMap};

fn figures(f: &Option<Figures>) -> String {
    let dash = || "—".to_string();
    match f {
        Some(f) => format!(
            "{} {} {}",
            f.score.map(fmt2).unwrap_or_else(dash),
            f.grade.clone().unwrap_or_else(dash),
            f.amount.map(fmt2).unwrap_or_else(dash)
        ),
        None => "(none)".into(),
    }
}

/// Lines describing what changed since the last approval (score grade amount).
pub(crate) fn describe_changes(changes: &[Change]) -> Vec<String> {
    changes.iter().map(|c| format!("  {}: {} → {}", c.item, figures(&c.before), figures(&c.after))).collect()
}

pub(crate) async fn approve(
    cx: &Context,
    store: &Store,
    job: JobKind,
    period: &str,
    by: &str,
    comment: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let changes = store.approve(job, period, by, comment, &stamp(cx.now())).await?;
    super::index::write_index(cx, store).await;
    let mut lines = vec![format!("{job} {period} approved by {by}")];
    if !changes.is_empty() {
        lines.push(format!("changes since the last approval ({}; score grade amount):", changes.len()));
        lines.extend(describe_changes(&changes));
    }
    Ok(lines)
}

pub(crate) async fn reopen(
    cx: &Context,
    store: &Store,
    job: JobKind,
    period: &str,
    by: &str,
    reason: &str,
) -> anyhow::Result<Vec<String>> {
    disputes::check_reopen_reason(store, job, period, reason).await?;
    store.reopen(job, period, by, reason, &stamp(cx.now())).await?;
    super::index::write_index(cx, store).await;
    let mut lines = vec![format!("{job} {period} reopened by {by}: {reason}; rerun it, then approve it again")];
    // A finance export no longer stands for what is stored: it is written again at the next settlement.
    let dir = crate::files::period_dir(&cx.settings.output_dir, job.as_str(), period);
    let mut withdrawn = false;
    for name in ["finance_settlement.csv", "finance_settlement.xlsx"] {
        withdrawn |= std::fs::remove_file(dir.join(name)).is_ok();
    }
    if withdrawn {
        lines.push("the finance export was withdrawn; it is written again when the period settles".into());
    }
    Ok(lines)
}

pub(crate) async fn explain_month(cx: &Context, store: &Store, partner: &str, month: Month) -> anyhow::Result<String> {
    match store.explanation(month, partner).await? {
        Some(s) => Ok(explain::explain(partner, &month.to_string(), &s, &cx.settings.rules, &cx.settings.locale)),
        None => Err(UsageError(format!("{partner} has no stored result for {month}")).into()),
    }
}

/// What `publish` says about the finance export: written now (a window of 0 days), or when.
async fn settlement_line(cx: &Context, store: &Store, job: Job, by: &str) -> anyhow::Result<String> {
    Ok(match disputes::settle(cx, store, job, cx.now(), by).await? {
        Settlement::Written(path) => format!("finance export {}", path.display()),
        Settlement::Waiting(why) => format!("{why}; `run due` writes it then"),
        Settlement::Nothing => "finance export: settled already".into(),
    })
}

/// The period as it was before `publish`: refused unless approved; `Some(line)` when it is
/// published already (nothing to do).
async fn before_publication(store: &Store, job: JobKind, period: &str) -> anyhow::Result<Option<String>> {
    match store.period_state(job, period).await? {
        Some(s) if s.status == PeriodStatus::Published => {
            Ok(Some(format!("{job} {period} was published at {}; nothing to do", s.published_at.unwrap_or_default())))
        }
        Some(s) if s.status == PeriodStatus::Approved => Ok(None),
        _ => Err(StateError::Other(format!("{job} {period} must be approved before it is published")).into()),
    }
}

/// A partner's scorecard: its month traced row by row, what changed since it was last told (a
/// correction), and how and until when it may dispute (rules.md §11).
fn scorecard(
    cx: &Context,
    p: &MonthPartner,
    stored: &StoredExplanation,
    period: &str,
    approved: &str,
    before: Option<&Figures>,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<Letter> {
    let settings = &cx.settings;
    let locale = settings.locale.as_str();
    let args = [("period", period), ("name", p.partner_name.as_str()), ("partner", p.partner_id.as_str())];
    let text = explain::explain(&p.partner_id, period, stored, &settings.rules, locale);
    let changes = before.map(|old| {
        let after = Figures {
            score: stored.partner.score,
            grade: stored.partner.grade.map(|g| g.as_str().to_string()),
            amount: stored.partner.settlement,
        };
        let change = Change { item: p.partner_id.clone(), before: Some(old.clone()), after: Some(after) };
        format!("{}\n{}", templates::label(locale, "scorecard_changes", &[]), describe_changes(&[change]).join("\n"))
    });
    // Rows worth quoting: late tickets and orders, penalty events, fee lines; any rows otherwise.
    let mut quotable: Vec<&str> = stored
        .evidence
        .iter()
        .filter(|e| matches!(e.outcome.as_str(), "late" | "event" | "included" | "excluded"))
        .map(|e| e.row_id.as_str())
        .collect();
    if quotable.is_empty() {
        quotable = stored.evidence.iter().map(|e| e.row_id.as_str()).collect();
    }
    let examples = quotable.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    let dispute = match disputes::last_day(cx, now)? {
        Some(day) => templates::label(
            locale,
            "scorecard_dispute",
            &[("deadline", &day.format("%Y-%m-%d").to_string()), ("examples", &examples)],
        ),
        None => templates::label(locale, "scorecard_dispute_closed", &[]),
    };
    let key = if before.is_some() { "scorecard_corrected_subject" } else { "scorecard_subject" };
    let title = templates::label(locale, key, &args);
    let html = templates::render("scorecard.html", minijinja::context! { title, text, approved, changes, dispute })?;
    let mut plain = text;
    if let Some(changes) = &changes {
        plain = format!("{changes}\n\n{plain}");
    }
    plain.push_str(&format!("\n{dispute}\n"));
    Ok(Letter { subject: templates::label(locale, key, &args), html, text: plain, images: vec![] })
}

/// Publishes an approved month: each partner told for the first time, or whose result changed
/// since it was last told, gets its scorecard and a window to dispute it; finance gets the export
/// when every window has closed and no dispute is open (at once for a window of 0 days).
pub(crate) async fn publish_month(cx: &Context, store: &Store, month: Month, by: &str) -> anyhow::Result<Vec<String>> {
    let (settings, now) = (&cx.settings, cx.now());
    let period = month.to_string();
    if let Some(line) = before_publication(store, JobKind::Monthly, &period).await? {
        return Ok(vec![line]);
    }
    let current = store.items(JobKind::Monthly, &period).await?;
    let told = disputes::publication(cx, store, JobKind::Monthly, &period, &current, now).await?;
    let windows: Vec<_> = told.iter().map(|(w, _)| w.clone()).collect();
    let state = store.publish(JobKind::Monthly, &period, &windows, by, &stamp(now)).await?;
    let source = Sources::connect(settings).await?;
    let partners = source.fetch_all(&[PARTNERS], &Window::month(month)).await;
    source.close().await;
    let partners = partners?.take(PARTNERS);
    let emails: HashMap<&str, &str> = values(&partners, "partner_id")
        .zip(values(&partners, "contact_email"))
        .filter_map(|(p, e)| Some((p?, e?)))
        .collect();
    let approved = templates::label(
        &settings.locale,
        "scorecard_approved",
        &[
            ("by", state.approved_by.as_deref().unwrap_or_default()),
            ("at", state.approved_at.as_deref().unwrap_or_default()),
        ],
    );
    let partners = store.month_partners(month).await?;
    let mut messages = Vec::new();
    let mut corrected = 0;
    for (window, before) in &told {
        let Some(p) = partners.iter().find(|p| p.partner_id == window.partner_id) else { continue };
        let Some(stored) = store.explanation(month, &p.partner_id).await? else { continue };
        // The partner's own scorecard, and nothing of anyone else's.
        let letter = scorecard(cx, p, &stored, &period, &approved, before.as_ref(), now)?;
        let to: Vec<String> = emails.get(p.partner_id.as_str()).map(|e| vec![e.to_string()]).unwrap_or_default();
        let kind = match window.revision {
            1 => format!("scorecard:{}", p.partner_id),
            r => format!("scorecard:{}:r{r}", p.partner_id),
        };
        corrected += usize::from(before.is_some());
        messages.extend(letters_to(cx, "monthly", &period, &kind, &to, &letter, &[]));
    }
    let line = send(cx, store, &messages, RunOptions::default(), now).await?;
    let finance = settlement_line(cx, store, Job::Monthly(month), by).await?;
    super::index::write_index(cx, store).await;
    let told_line = if corrected > 0 {
        format!(
            "{} scorecards ({corrected} corrected; partners whose result did not change are not written to)",
            messages.len()
        )
    } else {
        format!("{} scorecards", messages.len())
    };
    Ok(vec![format!("monthly {period} published by {by}: {told_line}; {finance}"), line])
}

/// Publishes an approved quarter: each partner with settled shares gets a window to dispute them
/// (the confirmation forms went to the units and partners when the quarter was computed); finance
/// gets the export when every window has closed and no dispute is open.
pub(crate) async fn publish_quarter(
    cx: &Context,
    store: &Store,
    quarter: Quarter,
    by: &str,
) -> anyhow::Result<Vec<String>> {
    let (period, now) = (quarter.to_string(), cx.now());
    if let Some(line) = before_publication(store, JobKind::Quarterly, &period).await? {
        return Ok(vec![line]);
    }
    let mut current: BTreeMap<String, Figures> = BTreeMap::new();
    for s in store.quarter_settlements(quarter).await? {
        let f = current.entry(s.partner_id).or_default();
        f.amount = Some(f.amount.unwrap_or_default() + s.amount);
    }
    let told = disputes::publication(cx, store, JobKind::Quarterly, &period, &current, now).await?;
    let windows: Vec<_> = told.into_iter().map(|(w, _)| w).collect();
    store.publish(JobKind::Quarterly, &period, &windows, by, &stamp(now)).await?;
    let finance = settlement_line(cx, store, Job::Quarterly(quarter), by).await?;
    super::index::write_index(cx, store).await;
    Ok(vec![format!("quarterly {period} published by {by}: {} partners told; {finance}", windows.len())])
}
