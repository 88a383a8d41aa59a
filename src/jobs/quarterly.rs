//! The quarterly job: settle presales projects ready by the quarter's end, once across quarters.

use super::{stamp, write_outputs, Job, RunOptions, RunSummary};
use crate::domain::inputs::{PRESALES_PROJECTS, PRESALES_SUPPORTS};
use crate::domain::period::Quarter;
use crate::domain::presales::{settle, Status};
use crate::report::{csv, period_dir};
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
    let mut frames = source.fetch_all(&[PRESALES_PROJECTS, PRESALES_SUPPORTS], &window).await?.into_iter();
    source.close().await;
    let (projects, supports) = (frames.next().expect("projects"), frames.next().expect("supports"));
    let store = Store::connect(&settings.store_url).await?;
    let elsewhere = store.presales_settled_elsewhere(quarter).await?;
    let result = settle(quarter, &projects, &supports, &settings.rules.presales, &elsewhere);
    if options.stores() {
        store.save_quarter(&result, &settings.rules.hash, &stamp(now)).await?;
    }
    store.close().await;
    let dir = period_dir(&settings.output_dir, "quarterly", &quarter.to_string());
    write_outputs(&dir, &[("presales.csv", csv::presales(&result))])?;
    let count = |s| result.rows.iter().filter(|r| r.status == s).count();
    let total: rust_decimal::Decimal = result.rows.iter().filter_map(|r| r.share.as_ref()).map(|s| s.amount).sum();
    let line = format!(
        "quarterly {quarter}: {} shares settled ({} CNY), {} projects held, {} not payable",
        count(Status::Settled),
        crate::domain::money::fmt2(total),
        count(Status::Held),
        count(Status::NotPayable)
    );
    Ok(RunSummary { job: Job::Quarterly(quarter), output_dir: dir, lines: vec![line] })
}
