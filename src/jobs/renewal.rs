//! The renewal job: contracts in the notice window, exit checks and blacklist breaches as of a day.

use super::{write_outputs, Job, RunOptions, RunSummary};
use crate::domain::inputs::*;
use crate::domain::period::Month;
use crate::domain::renewal::{breaches, count_by_partner, exits, notice_state, renewals, Notice, RenewalInput};
use crate::report::{csv, forms, lifecycle, period_dir};
use crate::settings::Settings;
use crate::sources::{Sources, Window};
use crate::store::Store;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use std::collections::{BTreeSet, HashMap};

pub async fn run(
    settings: &Settings,
    as_of: NaiveDate,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<RunSummary> {
    let rules = &settings.rules;
    let source = Sources::connect(settings).await?;
    let midnight = chrono::NaiveTime::MIN;
    let window = Window::between(as_of.and_time(midnight), (as_of + Duration::days(1)).and_time(midnight));
    let datasets =
        [PARTNERS, CONTRACTS, PRESALES_PROJECTS, PRESALES_SUPPORTS, VIOLATIONS, BLACKLIST, EXIT_REQUESTS, OPEN_TICKETS];
    let mut f = source.fetch_all(&datasets, &window).await?;
    source.close().await;
    let (partners, contracts, projects, supports) =
        (f.take(PARTNERS), f.take(CONTRACTS), f.take(PRESALES_PROJECTS), f.take(PRESALES_SUPPORTS));
    let (violations, blacklist, requests, open) =
        (f.take(VIOLATIONS), f.take(BLACKLIST), f.take(EXIT_REQUESTS), f.take(OPEN_TICKETS));

    let store = Store::open(settings).await?;
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

    let dir = options.output_dir(period_dir(&settings.output_dir, "renewal", &as_of.to_string()), &rules.hash);
    let mut files = vec![
        ("renewals.csv".to_string(), csv::renewals(&with_notice)),
        ("exits.csv".to_string(), csv::exits(&exit_rows)),
        ("blacklist_breaches.csv".to_string(), csv::breaches(&breach_rows)),
    ];
    let names: HashMap<String, String> = values(&partners, "partner_id")
        .zip(values(&partners, "name"))
        .filter_map(|(id, name)| Some((id?.to_string(), name.unwrap_or("").to_string())))
        .collect();
    // One notice per contract, ever: only contracts noticed for the first time get a page.
    for (row, notice) in &with_notice {
        if *notice == Notice::Sent {
            let name = names.get(&row.partner_id).map_or(row.partner_id.as_str(), String::as_str);
            let page = lifecycle::renewal_notice(row, name, as_of)?;
            files.push((format!("notices/{}.html", forms::safe_name(&row.contract_id)), page.into_bytes()));
        }
    }
    // Each managing department gets its contracts, and the exits and breaches of its partners.
    let department_of: HashMap<&str, &str> = values(&contracts, "contract_id")
        .zip(values(&contracts, "department"))
        .filter_map(|(c, d)| Some((c?, d?)))
        .collect();
    let mut messages = Vec::new();
    for (row, notice) in &with_notice {
        if *notice == Notice::Sent {
            let name = names.get(&row.partner_id).map_or(row.partner_id.as_str(), String::as_str);
            let html = lifecycle::renewal_notice(row, name, as_of)?;
            let subject = format!("【合同到期续约提示】{} {}（{} 到期）", row.contract_id, name, row.end_date);
            let text = format!(
                "{subject}\n请在 {} 前作出是否续约的决定。评估结论：{}。",
                row.end_date,
                if row.eligible { "可考虑续约" } else { "不建议续约" }
            );
            let letter = crate::mail::Letter { subject, html, text, images: vec![] };
            // Keyed by the contract's end date, not the run day: one notice per contract, ever.
            let kind = format!("notice:{}", row.contract_id);
            messages.extend(super::letters_to(
                settings,
                "renewal",
                &row.end_date.to_string(),
                &kind,
                std::slice::from_ref(&row.owner_email),
                &letter,
                &[],
            ));
        }
    }
    let mut departments: BTreeSet<&str> = with_notice.iter().map(|(r, _)| r.department.as_str()).collect();
    departments.extend(exit_rows.iter().filter_map(|e| department_of.get(e.contract_id.as_str()).copied()));
    for (k, department) in departments.iter().enumerate() {
        let rows: Vec<_> = with_notice.iter().filter(|(r, _)| r.department == *department).collect();
        let exits: Vec<_> =
            exit_rows.iter().filter(|e| department_of.get(e.contract_id.as_str()) == Some(department)).collect();
        let partners_here: BTreeSet<&str> = values(&contracts, "partner_id")
            .zip(values(&contracts, "department"))
            .filter_map(|(p, d)| (d? == *department).then_some(p?))
            .collect();
        let breaches: Vec<_> = breach_rows.iter().filter(|b| partners_here.contains(b.partner_id.as_str())).collect();
        let page = lifecycle::renewal_list(department, as_of, &rows, &exits, &breaches, &names)?;
        let letter = crate::mail::Letter {
            subject: format!("【合同到期续约汇总】{as_of} {department}"),
            html: page.clone(),
            text: format!("{department}：{} 份合同将在三个月内到期，详见正文。", rows.len()),
            images: vec![],
        };
        let managers = settings.departments.get(*department).cloned().unwrap_or_default();
        messages.extend(super::letters_to(
            settings,
            "renewal",
            &as_of.to_string(),
            &format!("list:{department}"),
            &managers,
            &letter,
            &[],
        ));
        files.push((format!("list-{:02}.html", k + 1), page.into_bytes()));
    }
    write_outputs(&dir, &files)?;
    let mail_line = super::send_and_close(settings, store, &messages, options, now).await?;
    let eligible = rows.iter().filter(|r| r.eligible).count();
    let line = format!(
        "renewal {as_of}: {} contracts in the notice window ({eligible} eligible), {} exit requests, {} blacklist breaches",
        rows.len(),
        exit_rows.len(),
        breach_rows.len()
    );
    Ok(RunSummary {
        job: Job::Renewal(as_of),
        output_dir: dir,
        lines: std::iter::once(line).chain(mail_line).collect(),
    })
}
