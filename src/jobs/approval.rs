//! Approval, reopening and publication of job periods, and `explain`: orchestration around the
//! store's approval state, the explanation formatter, the partners' scorecards and the finance export.

use super::{stamp, write_outputs, RunOptions};
use crate::domain::inputs::{values, PARTNERS};
use crate::domain::period::Month;
use crate::domain::period::Quarter;
use crate::report::{csv, explain, finance, period_dir, templates};
use crate::settings::Settings;
use crate::sources::{Sources, Window};
use crate::store::approval::{Change, Figures};
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::HashMap;

fn figures(f: &Option<Figures>) -> String {
    match f {
        Some((score, grade, amount)) => format!(
            "{} {} {}",
            score.clone().unwrap_or_else(|| "—".into()),
            grade.clone().unwrap_or_else(|| "—".into()),
            amount.clone().unwrap_or_else(|| "—".into())
        ),
        None => "(none)".into(),
    }
}

/// Lines describing what changed since the last approval (score grade amount).
pub fn describe_changes(changes: &[Change]) -> Vec<String> {
    changes.iter().map(|c| format!("  {}: {} → {}", c.item, figures(&c.before), figures(&c.after))).collect()
}

pub async fn approve(
    settings: &Settings,
    job: &str,
    period: &str,
    by: &str,
    comment: Option<&str>,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<String>> {
    let store = Store::open(settings).await?;
    let changes = store.approve(job, period, by, comment, &stamp(now)).await;
    store.close().await;
    let changes = changes?;
    let mut lines = vec![format!("{job} {period} approved by {by}")];
    if !changes.is_empty() {
        lines.push(format!("changes since the last approval ({}; score grade amount):", changes.len()));
        lines.extend(describe_changes(&changes));
    }
    Ok(lines)
}

pub async fn reopen(
    settings: &Settings,
    job: &str,
    period: &str,
    by: &str,
    reason: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<String>> {
    let store = Store::open(settings).await?;
    let done = store.reopen(job, period, by, reason, &stamp(now)).await;
    store.close().await;
    done?;
    Ok(vec![format!("{job} {period} reopened by {by}: {reason}; rerun it, then approve it again")])
}

pub async fn explain_month(settings: &Settings, partner: &str, month: Month) -> anyhow::Result<String> {
    let store = Store::open_read_only(settings).await?;
    let stored = store.explanation(month, partner).await;
    store.close().await;
    match stored? {
        Some(s) => Ok(explain::explain(partner, &month.to_string(), &s, &settings.rules, &settings.locale)),
        None => Err(crate::error::AppError::Usage(format!("{partner} has no stored result for {month}")).into()),
    }
}

/// Publishes an approved month: each partner gets its own scorecard, finance gets the export.
pub async fn publish_month(
    settings: &Settings,
    month: Month,
    by: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<String>> {
    let period = month.to_string();
    let store = Store::open(settings).await?;
    let state = store.publish("monthly", &period, by, &stamp(now)).await?;
    let source = Sources::connect(settings).await?;
    let mut f = source.fetch_all(&[PARTNERS], &Window::month(month)).await?;
    source.close().await;
    let partners = f.take(PARTNERS);
    let emails: HashMap<&str, &str> = values(&partners, "partner_id")
        .zip(values(&partners, "contact_email"))
        .filter_map(|(p, e)| Some((p?, e?)))
        .collect();
    let approved =
        format!("{} {}", state.approved_by.clone().unwrap_or_default(), state.approved_at.clone().unwrap_or_default());

    let mut export = Vec::new();
    let mut messages = Vec::new();
    for (partner, name, settlement) in store.month_partners(month).await? {
        let Some(stored) = store.explanation(month, &partner).await? else { continue };
        let mut contracts: Vec<&str> =
            stored.evidence.iter().filter(|e| e.source == "fee_items").map(|e| e.detail.as_str()).collect();
        contracts.sort_unstable();
        contracts.dedup();
        export.push(vec![
            partner.clone(),
            name.clone(),
            contracts.join(";"),
            period.clone(),
            settlement.clone().unwrap_or_default(),
            state.approved_by.clone().unwrap_or_default(),
            state.approved_at.clone().unwrap_or_default(),
        ]);
        // The partner's own scorecard, and nothing of anyone else's.
        let text = explain::explain(&partner, &period, &stored, &settings.rules, &settings.locale);
        let title = format!("【ICT支撑合作伙伴月度考核结果通知】{period} {name}");
        let html = templates::render(
            "scorecard.html",
            minijinja::context! { title, text, approved => format!("审批：{approved}") },
        )?;
        let letter = crate::mail::Letter { subject: title, html, text, images: vec![] };
        let to: Vec<String> = emails.get(partner.as_str()).map(|e| vec![e.to_string()]).unwrap_or_default();
        messages.extend(super::letters_to(
            settings,
            "monthly",
            &period,
            &format!("scorecard:{partner}"),
            &to,
            &letter,
            &[],
        ));
    }
    let header = ["partner_id", "partner_name", "contracts", "month", "settlement", "approved_by", "approved_at"];
    let dir = period_dir(&settings.output_dir, "monthly", &period);
    let book = finance::workbook(&header, &export, 4, month.first_day())?;
    write_outputs(
        &dir,
        &[("finance_settlement.csv", csv::to_csv(&header, export)), ("finance_settlement.xlsx", book)],
    )?;
    let options = RunOptions::default();
    let line = super::send(settings, &store, &messages, options, now).await;
    store.close().await;
    Ok(vec![
        format!(
            "monthly {period} published by {by}: {} scorecards, finance export {}",
            messages.len(),
            dir.join("finance_settlement.csv").display()
        ),
        line?,
    ])
}

/// Publishes an approved quarter: finance gets the export of its settled presales shares (the
/// confirmation forms went to the units and partners when the quarter was computed).
pub async fn publish_quarter(
    settings: &Settings,
    quarter: Quarter,
    by: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<String>> {
    let period = quarter.to_string();
    let store = Store::open(settings).await?;
    let state = store.publish("quarterly", &period, by, &stamp(now)).await;
    let rows = store.quarter_settlements(quarter).await;
    store.close().await;
    let state = state?;
    let export: Vec<Vec<String>> = rows?
        .into_iter()
        .map(|(project, partner, unit, amount)| {
            let approver =
                (state.approved_by.clone().unwrap_or_default(), state.approved_at.clone().unwrap_or_default());
            vec![partner, project, unit, period.clone(), amount, approver.0, approver.1]
        })
        .collect();
    let header = ["partner_id", "project_id", "commissioning_unit", "quarter", "amount", "approved_by", "approved_at"];
    let dir = period_dir(&settings.output_dir, "quarterly", &period);
    let book = finance::workbook(&header, &export, 4, quarter.first_day())?;
    let n = export.len();
    write_outputs(
        &dir,
        &[("finance_settlement.csv", csv::to_csv(&header, export)), ("finance_settlement.xlsx", book)],
    )?;
    Ok(vec![format!(
        "quarterly {period} published by {by}: {n} settled shares in {}",
        dir.join("finance_settlement.csv").display()
    )])
}
