//! The annual job: annual grade, credit points, revenue and tier per partner.

use super::{write_outputs, Job, RunOptions, RunSummary};
use crate::domain::annual::{annual, AnnualInput};
use crate::domain::inputs::*;
use crate::domain::period::Month;
use crate::report::{csv, lifecycle, period_dir};
use crate::settings::Settings;
use crate::sources::{Sources, Window};
use crate::store::Store;

pub async fn run(settings: &Settings, year: i32, options: RunOptions) -> anyhow::Result<RunSummary> {
    let (first, last) = (
        Month::new(year, 1).ok_or_else(|| crate::error::AppError::Usage(format!("not a year: {year}")))?,
        Month::new(year, 12).expect("valid"),
    );
    let source = Sources::connect(settings).await?;
    let window = Window::between(first.start(), last.end());
    let mut f = source.fetch_all(&[PARTNERS, VIOLATIONS, COMPLAINTS, BLACKLIST], &window).await?;
    source.close().await;
    let (partners, violations, complaints, blacklist) =
        (f.take(PARTNERS), f.take(VIOLATIONS), f.take(COMPLAINTS), f.take(BLACKLIST));
    let store = Store::open(settings).await?;
    let monthly = store.stored_months(first, last).await?;
    let presales_revenue = store.presales_revenue(year).await?;
    store.close().await;
    let input = AnnualInput {
        year,
        partners: &partners,
        violations: &violations,
        complaints: &complaints,
        blacklist: &blacklist,
        monthly: &monthly,
        presales_revenue: &presales_revenue,
    };
    let rows = annual(&input, &settings.rules);
    let period = period_dir(&settings.output_dir, "annual", &year.to_string());
    let dir = options.output_dir(period.clone(), &settings.rules.hash);
    let report = lifecycle::annual_report(year, &rows, options.preview)?;
    let files = [("annual.csv", csv::annual(&rows)), ("annual.html", report.into_bytes())];
    write_outputs(&dir, &files)?;
    if options.preview && !options.dry_run {
        // The annual job stores nothing: its year folder never holds stored results that a preview
        // could contradict, and until the year is over the latest preview is all there is (the
        // conformance check reads `annual/<year>/annual.csv` after `--preview`). The year's final
        // run replaces it.
        write_outputs(&period, &files)?;
    }
    let tiers = |t| rows.iter().filter(|r| r.tier == t).count();
    let line = format!(
        "annual {year}: {} partners, tiers A {} / B {} / C {} / D {}",
        rows.len(),
        tiers('A'),
        tiers('B'),
        tiers('C'),
        tiers('D')
    );
    Ok(RunSummary { job: Job::Annual(year), output_dir: dir, lines: vec![line] })
}
