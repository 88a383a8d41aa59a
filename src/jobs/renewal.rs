//! The renewal job: contracts in the notice window, exit checks and blacklist breaches as of a
//! day; one notice per contract, ever, and each managing department's list.

use super::mailing::letters_to;
use super::{JobSteps, Outputs, Run};
use crate::domain::inputs::*;
use crate::domain::job::Job;
use crate::domain::period::Month;
use crate::domain::renewal::{
    breaches, count_by_partner, exit_proposals, exits, notice_state, renewals, Breach, ExitProposal, ExitRow,
    MonthlyScore, Notice, RenewalInput, RenewalRow,
};
use crate::files::safe_name;
use crate::report::templates::label;
use crate::report::{csv, lifecycle, Letter};
use crate::sources::{Sources, Window};
use chrono::{Duration, NaiveDate};
use polars::prelude::DataFrame;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub(super) struct Renewal(pub(super) NaiveDate);

pub(super) struct Input {
    partners: DataFrame,
    contracts: DataFrame,
    projects: DataFrame,
    supports: DataFrame,
    violations: DataFrame,
    blacklist: DataFrame,
    requests: DataFrame,
    open_tickets: DataFrame,
    monthly: Vec<MonthlyScore>,
    held: HashSet<String>,
    sent_before: BTreeMap<String, NaiveDate>,
}

pub(super) struct Output {
    rows: Vec<RenewalRow>,
    with_notice: Vec<(RenewalRow, Notice)>,
    exit_rows: Vec<ExitRow>,
    breach_rows: Vec<Breach>,
    proposals: Vec<ExitProposal>,
    partners: DataFrame,
    contracts: DataFrame,
}

impl JobSteps for Renewal {
    type Input = Input;
    type Output = Output;

    fn job(&self) -> Job {
        Job::Renewal(self.0)
    }

    async fn extract(&self, run: &Run<'_>, sources: &Sources) -> anyhow::Result<Input> {
        let as_of = self.0;
        let midnight = chrono::NaiveTime::MIN;
        let window = Window::between(as_of.and_time(midnight), (as_of + Duration::days(1)).and_time(midnight));
        let datasets = [
            PARTNERS,
            CONTRACTS,
            PRESALES_PROJECTS,
            PRESALES_SUPPORTS,
            VIOLATIONS,
            BLACKLIST,
            EXIT_REQUESTS,
            OPEN_TICKETS,
        ];
        let mut f = sources.fetch_all(&datasets, &window).await?;
        let first = Month::new(1900, 1).unwrap_or_else(|| Month::of(as_of));
        Ok(Input {
            partners: f.take(PARTNERS),
            contracts: f.take(CONTRACTS),
            projects: f.take(PRESALES_PROJECTS),
            supports: super::records::overlay_supports(run.cx, run.store, f.take(PRESALES_SUPPORTS)).await?,
            violations: match super::records::entered_violations(run.cx, run.store).await? {
                Some(entered) => entered,
                None => f.take(VIOLATIONS),
            },
            blacklist: f.take(BLACKLIST),
            requests: f.take(EXIT_REQUESTS),
            open_tickets: f.take(OPEN_TICKETS),
            monthly: run.store.stored_months(first, Month::of(as_of)).await?,
            held: run.store.latest_held_projects().await?,
            sent_before: run.store.renewal_notices().await?,
        })
    }

    fn compute(&self, run: &Run<'_>, i: Input) -> anyhow::Result<Output> {
        let (as_of, rules) = (self.0, &run.rules);
        let input = RenewalInput {
            as_of,
            contracts: &i.contracts,
            projects: &i.projects,
            supports: &i.supports,
            violations: &i.violations,
            blacklist: &i.blacklist,
            monthly: &i.monthly,
        };
        let rows = renewals(&input, rules);
        let open_tickets = count_by_partner(
            values(&i.open_tickets, "partner_id")
                .zip(values(&i.open_tickets, "ticket_id"))
                .filter_map(|(p, t)| Some((p?, t?))),
        );
        let held_by_partner = count_by_partner(
            values(&i.supports, "partner_id")
                .zip(values(&i.supports, "project_id"))
                .filter_map(|(p, j)| Some((p?, j?)))
                .filter(|(_, j)| i.held.contains(*j)),
        );
        let exit_rows = exits(as_of, &i.requests, &i.contracts, &open_tickets, &held_by_partner, rules);
        let breach_rows = breaches(as_of, &i.contracts, &i.projects, &i.supports, &i.blacklist, rules);
        let proposals = exit_proposals(&input, &i.requests, rules);
        let with_notice = rows.iter().map(|r| (r.clone(), notice_state(r, &i.sent_before, as_of))).collect();
        Ok(Output {
            rows,
            with_notice,
            exit_rows,
            breach_rows,
            proposals,
            partners: i.partners,
            contracts: i.contracts,
        })
    }

    async fn store(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<()> {
        run.store.record_renewal_notices(&output.rows, self.0).await?;
        Ok(())
    }

    fn report(&self, run: &Run<'_>, o: &Output) -> anyhow::Result<Outputs> {
        let as_of = self.0;
        let mut files = vec![
            ("renewals.csv".to_string(), csv::renewals(&o.with_notice)),
            ("exits.csv".to_string(), csv::exits(&o.exit_rows)),
            ("blacklist_breaches.csv".to_string(), csv::breaches(&o.breach_rows)),
            ("exit_proposals.csv".to_string(), csv::exit_proposals(&o.proposals)),
        ];
        let names: HashMap<String, String> = values(&o.partners, "partner_id")
            .zip(values(&o.partners, "name"))
            .filter_map(|(id, name)| Some((id?.to_string(), name.unwrap_or("").to_string())))
            .collect();
        let mut messages = Vec::new();
        // One notice per contract, ever: only contracts noticed for the first time get a page and a
        // message, keyed by the contract's end date (not the run day).
        for (row, notice) in &o.with_notice {
            if *notice != Notice::Sent {
                continue;
            }
            let name = names.get(&row.partner_id).map_or(row.partner_id.as_str(), String::as_str);
            let page = lifecycle::renewal_notice(row, name, as_of)?;
            files.push((format!("notices/{}.html", safe_name(&row.contract_id)), page.clone().into_bytes()));
            let end = row.end_date.to_string();
            let subject = label(
                run.locale(),
                "subject_renewal_notice",
                &[("contract", &row.contract_id), ("name", name), ("end", &end)],
            );
            let verdict =
                label(run.locale(), if row.eligible { "renewal_eligible" } else { "renewal_not_eligible" }, &[]);
            let body = label(run.locale(), "renewal_notice_text", &[("end", &end), ("verdict", &verdict)]);
            let text = format!("{subject}\n{body}");
            let letter = Letter { subject, html: page, text, images: vec![] };
            messages.extend(letters_to(
                run.cx,
                "renewal",
                &row.end_date.to_string(),
                &format!("notice:{}", row.contract_id),
                std::slice::from_ref(&row.owner_email),
                &letter,
                &[],
            ));
        }
        // Each managing department gets its contracts, and the exits and breaches of its partners.
        let department_of: HashMap<&str, &str> = values(&o.contracts, "contract_id")
            .zip(values(&o.contracts, "department"))
            .filter_map(|(c, d)| Some((c?, d?)))
            .collect();
        let mut departments: BTreeSet<&str> = o.with_notice.iter().map(|(r, _)| r.department.as_str()).collect();
        departments.extend(o.exit_rows.iter().filter_map(|e| department_of.get(e.contract_id.as_str()).copied()));
        for (k, department) in departments.iter().enumerate() {
            let rows: Vec<_> = o.with_notice.iter().filter(|(r, _)| r.department == *department).collect();
            let exits: Vec<_> =
                o.exit_rows.iter().filter(|e| department_of.get(e.contract_id.as_str()) == Some(department)).collect();
            let partners_here: BTreeSet<&str> = values(&o.contracts, "partner_id")
                .zip(values(&o.contracts, "department"))
                .filter_map(|(p, d)| (d? == *department).then_some(p?))
                .collect();
            let breaches: Vec<_> =
                o.breach_rows.iter().filter(|b| partners_here.contains(b.partner_id.as_str())).collect();
            let page = lifecycle::renewal_list(department, as_of, &rows, &exits, &breaches, &names)?;
            let letter = Letter {
                subject: label(
                    run.locale(),
                    "subject_renewal_list",
                    &[("as_of", &as_of.to_string()), ("department", department)],
                ),
                html: page.clone(),
                text: label(
                    run.locale(),
                    "renewal_list_text",
                    &[("department", department), ("count", &rows.len().to_string())],
                ),
                images: vec![],
            };
            let managers = run.settings().departments.get(*department).cloned().unwrap_or_default();
            messages.extend(letters_to(
                run.cx,
                "renewal",
                &as_of.to_string(),
                &format!("list:{department}"),
                &managers,
                &letter,
                &[],
            ));
            files.push((format!("list-{:02}.html", k + 1), page.into_bytes()));
        }
        if !run.options.stores() {
            messages.clear();
        }
        let eligible = o.rows.iter().filter(|r| r.eligible).count();
        let line = format!(
            "renewal {as_of}: {} contracts in the notice window ({eligible} eligible), {} exit requests, {} blacklist breaches",
            o.rows.len(),
            o.exit_rows.len(),
            o.breach_rows.len()
        );
        Ok(Outputs { files, messages, lines: vec![line] })
    }
}
