//! The quarterly job: settle presales projects ready by the quarter's end, once across quarters.

use super::{stamp, write_outputs, Job, RunOptions, RunSummary};
use crate::domain::inputs::{values, PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS};
use crate::domain::period::Quarter;
use crate::domain::presales::{settle, Status};
use crate::report::{csv, forms, period_dir};
use crate::settings::Settings;
use crate::sources::{Source, Window};
use crate::store::Store;
use chrono::NaiveDateTime;

pub async fn run(
    settings: &Settings,
    quarter: Quarter,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<RunSummary> {
    let source = Source::connect(&settings.source_url).await?;
    let window = Window::between(quarter.first_month().start(), quarter.last_month().end());
    let mut f = source.fetch_all(&[PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS], &window).await?;
    source.close().await;
    let (partners, projects, supports) = (f.take(PARTNERS), f.take(PRESALES_PROJECTS), f.take(PRESALES_SUPPORTS));
    let names = values(&partners, "partner_id")
        .zip(values(&partners, "name"))
        .filter_map(|(id, name)| Some((id?.to_string(), name.unwrap_or("").to_string())))
        .collect();
    let store = Store::connect(&settings.store_url).await?;
    let elsewhere = store.presales_settled_elsewhere(quarter).await?;
    let result = settle(quarter, &projects, &supports, &settings.rules.presales, &elsewhere);
    if options.stores() {
        store.save_quarter(&result, &settings.rules.hash, &stamp(now)).await?;
    }
    store.close().await;
    let dir = period_dir(&settings.output_dir, "quarterly", &quarter.to_string());
    // One 结算确认表 per (partner, commissioning unit): a sheet of the workbook and a printable page.
    let forms = forms::forms(&result, &names, options.preview);
    let mut files = vec![
        ("presales.csv".to_string(), csv::presales(&result)),
        ("confirmation_forms.xlsx".to_string(), forms::workbook(&forms)?),
    ];
    let mut per_partner: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for form in &forms {
        let k = per_partner.entry(&form.partner_id).or_default();
        *k += 1;
        let name = format!("forms/{}-{k:02}.html", forms::safe_name(&form.partner_id));
        files.push((name, forms::html(form)?.into_bytes()));
    }
    write_outputs(&dir, &files)?;
    let count = |s| result.rows.iter().filter(|r| r.status == s).count();
    let total: rust_decimal::Decimal = result.rows.iter().filter_map(|r| r.share.as_ref()).map(|s| s.amount).sum();
    let line = format!(
        "quarterly {quarter}: {} shares settled ({} CNY, {} confirmation forms), {} projects held, {} not payable",
        count(Status::Settled),
        crate::domain::money::fmt2(total),
        forms.len(),
        count(Status::Held),
        count(Status::NotPayable)
    );
    Ok(RunSummary { job: Job::Quarterly(quarter), output_dir: dir, lines: vec![line] })
}
