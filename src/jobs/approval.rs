//! Approval, reopening and publication of job periods, and `explain`: orchestration around the
//! store's approval state, the explanation formatter, the partners' scorecards and the finance
//! export.

use super::mailing::{letters_to, send};
use super::{stamp, Context, RunOptions};
use crate::domain::inputs::{values, PARTNERS};
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::period::{Month, Quarter};
use crate::exit::UsageError;
use crate::files::{period_dir, write_all};
use crate::report::{csv, explain, finance, templates, Letter};
use crate::sources::{Sources, Window};
use crate::store::approval::{Change, Figures};
use crate::store::Store;
use std::collections::HashMap;

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
    store.reopen(job, period, by, reason, &stamp(cx.now())).await?;
    Ok(vec![format!("{job} {period} reopened by {by}: {reason}; rerun it, then approve it again")])
}

pub(crate) async fn explain_month(cx: &Context, store: &Store, partner: &str, month: Month) -> anyhow::Result<String> {
    match store.explanation(month, partner).await? {
        Some(s) => Ok(explain::explain(partner, &month.to_string(), &s, &cx.settings.rules, &cx.settings.locale)),
        None => Err(UsageError(format!("{partner} has no stored result for {month}")).into()),
    }
}

/// Publishes an approved month: each partner gets its own scorecard, finance gets the export.
pub(crate) async fn publish_month(cx: &Context, store: &Store, month: Month, by: &str) -> anyhow::Result<Vec<String>> {
    let (settings, now) = (&cx.settings, cx.now());
    let period = month.to_string();
    let state = store.publish(JobKind::Monthly, &period, by, &stamp(now)).await?;
    let source = Sources::connect(settings).await?;
    let partners = source.fetch_all(&[PARTNERS], &Window::month(month)).await;
    source.close().await;
    let partners = partners?.take(PARTNERS);
    let emails: HashMap<&str, &str> = values(&partners, "partner_id")
        .zip(values(&partners, "contact_email"))
        .filter_map(|(p, e)| Some((p?, e?)))
        .collect();
    let (approved_by, approved_at) =
        (state.approved_by.clone().unwrap_or_default(), state.approved_at.clone().unwrap_or_default());
    let mut export = Vec::new();
    let mut messages = Vec::new();
    for p in store.month_partners(month).await? {
        let Some(stored) = store.explanation(month, &p.partner_id).await? else { continue };
        let mut contracts: Vec<&str> =
            stored.evidence.iter().filter(|e| e.source == "fee_items").map(|e| e.detail.as_str()).collect();
        contracts.sort_unstable();
        contracts.dedup();
        export.push(vec![
            p.partner_id.clone(),
            p.partner_name.clone(),
            contracts.join(";"),
            period.clone(),
            p.settlement.map(fmt2).unwrap_or_default(),
            approved_by.clone(),
            approved_at.clone(),
        ]);
        // The partner's own scorecard, and nothing of anyone else's.
        let text = explain::explain(&p.partner_id, &period, &stored, &settings.rules, &settings.locale);
        let title = format!("【ICT支撑合作伙伴月度考核结果通知】{period} {}", p.partner_name);
        let html = templates::render(
            "scorecard.html",
            minijinja::context! { title, text, approved => format!("审批：{approved_by} {approved_at}") },
        )?;
        let letter = Letter { subject: title, html, text, images: vec![] };
        let to: Vec<String> = emails.get(p.partner_id.as_str()).map(|e| vec![e.to_string()]).unwrap_or_default();
        let kind = format!("scorecard:{}", p.partner_id);
        messages.extend(letters_to(cx, "monthly", &period, &kind, &to, &letter, &[]));
    }
    let header = ["partner_id", "partner_name", "contracts", "month", "settlement", "approved_by", "approved_at"];
    let dir = period_dir(&settings.output_dir, "monthly", &period);
    let book = finance::workbook(&header, &export, 4, month.first_day())?;
    let files = [("finance_settlement.csv", csv::to_csv(&header, export)), ("finance_settlement.xlsx", book)];
    write_all(&dir, &files)?;
    let line = send(cx, store, &messages, RunOptions::default(), now).await?;
    Ok(vec![
        format!(
            "monthly {period} published by {by}: {} scorecards, finance export {}",
            messages.len(),
            dir.join("finance_settlement.csv").display()
        ),
        line,
    ])
}

/// Publishes an approved quarter: finance gets the export of its settled presales shares (the
/// confirmation forms went to the units and partners when the quarter was computed).
pub(crate) async fn publish_quarter(
    cx: &Context,
    store: &Store,
    quarter: Quarter,
    by: &str,
) -> anyhow::Result<Vec<String>> {
    let period = quarter.to_string();
    let state = store.publish(JobKind::Quarterly, &period, by, &stamp(cx.now())).await?;
    let (approved_by, approved_at) = (state.approved_by.unwrap_or_default(), state.approved_at.unwrap_or_default());
    let export: Vec<Vec<String>> = store
        .quarter_settlements(quarter)
        .await?
        .into_iter()
        .map(|s| {
            let row = [s.partner_id, s.project_id, s.commissioning_unit, period.clone(), fmt2(s.amount)];
            row.into_iter().chain([approved_by.clone(), approved_at.clone()]).collect()
        })
        .collect();
    let header = ["partner_id", "project_id", "commissioning_unit", "quarter", "amount", "approved_by", "approved_at"];
    let dir = period_dir(&cx.settings.output_dir, "quarterly", &period);
    let book = finance::workbook(&header, &export, 4, quarter.first_day())?;
    let n = export.len();
    let files = [("finance_settlement.csv", csv::to_csv(&header, export)), ("finance_settlement.xlsx", book)];
    write_all(&dir, &files)?;
    Ok(vec![format!(
        "quarterly {period} published by {by}: {n} settled shares in {}",
        dir.join("finance_settlement.csv").display()
    )])
}
