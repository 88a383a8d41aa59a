//! The monthly job: extract the month, assess, store in one transaction, write the CSVs.

use super::{Job, RunOptions, RunSummary};
use crate::domain::monthly::assess;
use crate::domain::period::Month;
use crate::report::{csv, period_dir, write_atomic};
use crate::settings::Settings;
use crate::sources::Source;
use crate::store::Store;
use anyhow::Context;
use chrono::NaiveDateTime;

pub async fn run(
    settings: &Settings,
    month: Month,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<RunSummary> {
    let rules = &settings.rules;
    let source = Source::connect(&settings.source_url).await?;
    let input = source.month_input(month).await?;
    source.close().await;
    tracing::info!(tickets = input.tickets.height(), orders = input.orders.height(), "extracted");

    let store = Store::connect(&settings.store_url).await?;
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
    if options.stores() {
        store
            .save_month(&result, &rules.hash, &now.format("%Y-%m-%d %H:%M:%S").to_string())
            .await
            .context("storing the month")?;
    }
    store.close().await;

    let dir = period_dir(&settings.output_dir, "monthly", &month.to_string());
    for (name, bytes) in [
        ("scores.csv", csv::scores(&result)),
        ("indicators.csv", csv::indicators(&result)),
        ("data_quality.csv", csv::data_quality(&result)),
    ] {
        write_atomic(&dir.join(name), &bytes).with_context(|| format!("writing {}", dir.join(name).display()))?;
    }
    let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count();
    let flagged = result.partners.iter().filter(|p| !p.flags.is_empty()).count();
    let mut lines = vec![format!(
        "monthly {month}: {} partners assessed ({on_hold} on hold, {flagged} flagged), {} rows quarantined or ignored",
        result.partners.len(),
        result.data_quality.len()
    )];
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
