//! The renewal job: contracts in the notice window, exit checks and blacklist breaches as of a day.

use super::{write_outputs, Job, RunOptions, RunSummary};
use crate::domain::inputs::*;
use crate::domain::period::Month;
use crate::domain::renewal::{breaches, count_by_partner, exits, notice_state, renewals, RenewalInput};
use crate::report::{csv, period_dir};
use crate::settings::Settings;
use crate::sources::{Source, Window};
use crate::store::Store;
use chrono::{Duration, NaiveDate};

pub async fn run(settings: &Settings, as_of: NaiveDate, options: RunOptions) -> anyhow::Result<RunSummary> {
    let rules = &settings.rules;
    let source = Source::connect(&settings.source_url).await?;
    let midnight = chrono::NaiveTime::MIN;
    let window = Window::between(as_of.and_time(midnight), (as_of + Duration::days(1)).and_time(midnight));
    let datasets =
        [CONTRACTS, PRESALES_PROJECTS, PRESALES_SUPPORTS, VIOLATIONS, BLACKLIST, EXIT_REQUESTS, OPEN_TICKETS];
    let mut f = source.fetch_all(&datasets, &window).await?.into_iter();
    source.close().await;
    let mut next = || f.next().expect("one frame per dataset");
    let (contracts, projects, supports, violations, blacklist, requests, open) =
        (next(), next(), next(), next(), next(), next(), next());

    let store = Store::connect(&settings.store_url).await?;
    let monthly = store.stored_months(Month::new(1900, 1).expect("valid"), Month::of(as_of)).await?;
    let held = store.latest_held_projects().await?;
    let sent_before = store.renewal_notices().await?;

    let input = RenewalInput {
        as_of,
        contracts: &contracts,
        projects: &projects,
        supports: &supports,
        violations: &violations,
        blacklist: &blacklist,
        monthly: &monthly,
    };
    let rows = renewals(&input, rules);
    let open_tickets = count_by_partner(
        values(&open, "partner_id").zip(values(&open, "ticket_id")).filter_map(|(p, t)| Some((p?, t?))),
    );
    let held_by_partner = count_by_partner(
        values(&supports, "partner_id")
            .zip(values(&supports, "project_id"))
            .filter_map(|(p, j)| Some((p?, j?)))
            .filter(|(_, j)| held.contains(*j)),
    );
    let exit_rows = exits(as_of, &requests, &contracts, &open_tickets, &held_by_partner, rules);
    let breach_rows = breaches(&contracts, &projects, &supports, &blacklist, rules);
    let with_notice: Vec<_> = rows.iter().map(|r| (r.clone(), notice_state(r, &sent_before, as_of))).collect();
    if options.stores() {
        store.record_renewal_notices(&rows, as_of).await?;
    }
    store.close().await;

    let dir = period_dir(&settings.output_dir, "renewal", &as_of.to_string());
    write_outputs(
        &dir,
        &[
            ("renewals.csv", csv::renewals(&with_notice)),
            ("exits.csv", csv::exits(&exit_rows)),
            ("blacklist_breaches.csv", csv::breaches(&breach_rows)),
        ],
    )?;
    let eligible = rows.iter().filter(|r| r.eligible).count();
    let line = format!(
        "renewal {as_of}: {} contracts in the notice window ({eligible} eligible), {} exit requests, {} blacklist breaches",
        rows.len(),
        exit_rows.len(),
        breach_rows.len()
    );
    Ok(RunSummary { job: Job::Renewal(as_of), output_dir: dir, lines: vec![line] })
}
