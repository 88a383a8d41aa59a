//! The monthly job: extract the month, assess, store in one transaction, write the CSVs.

use super::write_outputs;
use super::{Job, RunOptions, RunSummary};
use crate::domain::monthly::assess;
use crate::domain::period::Month;
use crate::mail::AttachedFile;
use crate::report::monthly::{Report, ReportInput};
use crate::report::{self, csv, period_dir};
use crate::settings::Settings;
use crate::sources::Sources;
use crate::store::OutboxMessage;
use crate::store::Store;
use anyhow::Context;
use chrono::NaiveDateTime;

pub async fn run(
    settings: &Settings,
    month: Month,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<RunSummary> {
    let source = Sources::connect(settings).await?;
    let store = Store::open(settings).await?;
    if options.stores() {
        // An approved period is frozen: recomputing it needs an explicit, recorded reopen.
        store.ensure_open("monthly", &month.to_string()).await?;
    }
    let rules = &super::rules_for(settings, &store, month).await?;
    let input = source.month_input(month).await?;
    source.close().await;
    tracing::info!(tickets = input.tickets.height(), orders = input.orders.height(), "extracted");

    let history = store.grade_history(month, rules.flags.c_grade_window_months).await?;
    let result = assess(&input, rules, &history).context("assessing the month")?;
    drop(input);
    if !result.missing_history_months.is_empty() {
        let list: Vec<String> = result.missing_history_months.iter().map(ToString::to_string).collect();
        tracing::warn!(
            missing = result.missing_history_months.len(),
            months = %list.join(","),
            "the C-grade window has months with no stored results; two_c_grades counts only the stored ones"
        );
    }
    // A dry run is a what-if: how each partner would differ from what is stored for the month.
    let what_if = if options.dry_run { what_if(&result, &store.stored_months(month, month).await?) } else { vec![] };
    if options.stores() {
        store.record_rules(rules, &super::stamp(now)).await?;
        store
            .save_month(&result, &rules.hash, &now.format("%Y-%m-%d %H:%M:%S").to_string())
            .await
            .context("storing the month")?;
    }
    // Reports read the stored months (this one included once stored) for trends and changes.
    let history = store.stored_months(month.plus(-12), month.prev()).await?;
    let input = ReportInput {
        result: &result,
        history: &history,
        departments: &settings.departments,
        grades: rules.grades,
        locale: &settings.locale,
        preview: options.preview,
    };
    let reports = report::monthly::reports(&input)?;
    let workbook = report::monthly::workbook(&result, &settings.locale)?;

    let dir = options.output_dir(period_dir(&settings.output_dir, "monthly", &month.to_string()), &rules.hash);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("scores.csv".into(), csv::scores(&result)),
        ("indicators.csv".into(), csv::indicators(&result)),
        ("data_quality.csv".into(), csv::data_quality(&result)),
        ("assessment.xlsx".into(), workbook.clone()),
    ];
    for (k, r) in reports.iter().enumerate() {
        let name = if r.department.is_some() { format!("department-{:02}.html", k + 1) } else { "summary.html".into() };
        files.push((name, r.html_file.clone().into_bytes()));
        files.extend(r.images.iter().map(|(stem, png)| (format!("{stem}.png"), png.clone())));
    }
    write_outputs(&dir, &files)?;

    let outgoing = if options.stores() { messages(settings, month, &reports, &workbook) } else { vec![] };
    let mail_line = super::send_and_close(settings, store, &outgoing, options, now).await?;
    let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count();
    let flagged = result.partners.iter().filter(|p| !p.flags.is_empty()).count();
    let mut lines = vec![format!(
        "monthly {month}: {} partners assessed ({on_hold} on hold, {flagged} flagged), {} rows quarantined or ignored",
        result.partners.len(),
        result.data_quality.len()
    )];
    lines.extend(mail_line);
    lines.extend(what_if);
    if options.preview {
        lines.push("preview: nothing was stored as final".into());
    } else if options.dry_run {
        lines.push("dry run: nothing was stored".into());
    }
    tracing::info!(
        partners = result.partners.len(),
        on_hold,
        flagged,
        quarantined = result.data_quality.len(),
        "assessed"
    );
    Ok(RunSummary { job: Job::Monthly(month), output_dir: dir, lines })
}

/// One message per recipient and report: each department's managers get their page, leadership
/// the summary; every message carries the month's workbook.
fn messages(settings: &Settings, month: Month, reports: &[Report], workbook: &[u8]) -> Vec<OutboxMessage> {
    let ascii = format!("ict-partners-{month}.xlsx");
    let name = format!("{}-{month}.xlsx", report::templates::label(&settings.locale, "workbook", &[]));
    let xlsx = AttachedFile {
        ascii_name: &ascii,
        name: &name,
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes: workbook,
    };
    let period = month.to_string();
    reports
        .iter()
        .flat_map(|r| {
            let recipients: &[String] = match &r.department {
                Some(d) => settings.departments.get(d).map_or(&[], Vec::as_slice),
                None => &settings.leadership,
            };
            super::letters_to(
                settings,
                "monthly",
                &period,
                &r.kind,
                recipients,
                &r.letter(),
                std::slice::from_ref(&xlsx),
            )
        })
        .collect()
}

/// Per partner whose score, grade or settlement would change: stored → computed.
fn what_if(
    result: &crate::domain::monthly::MonthResult,
    stored: &[crate::domain::renewal::MonthlyScore],
) -> Vec<String> {
    use crate::domain::money::fmt2;
    if stored.is_empty() {
        return vec!["what-if: nothing is stored for this month to compare with".into()];
    }
    let show = |s: Option<rust_decimal::Decimal>| s.map(fmt2).unwrap_or_else(|| "—".into());
    let grade = |g: Option<crate::domain::rules::Grade>| g.map_or("—", |g| g.as_str());
    let mut lines = Vec::new();
    let mut grade_changes = 0;
    for p in &result.partners {
        let old = stored.iter().find(|s| s.partner_id == p.partner_id);
        let (os, og, oset) = (old.and_then(|o| o.score), old.and_then(|o| o.grade), old.and_then(|o| o.settlement));
        let a = p.assessment.as_ref();
        let (ns, ng, nset) = (a.map(|a| a.score), a.map(|a| a.grade), a.map(|a| a.settlement));
        if (os, og, oset) != (ns, ng, nset) {
            grade_changes += usize::from(og != ng);
            lines.push(format!(
                "  {}: score {} → {}, grade {} → {}{}, settlement {} → {}",
                p.partner_id,
                show(os),
                show(ns),
                grade(og),
                grade(ng),
                if og != ng { " (grade changes)" } else { "" },
                show(oset),
                show(nset)
            ));
        }
    }
    let mut out = vec![format!(
        "what-if against the stored results: {} partners differ, {grade_changes} change grade",
        lines.len()
    )];
    out.extend(lines);
    out
}
