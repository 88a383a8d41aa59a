//! The renewal job: contracts in the notice window, exit checks, blacklist breaches and exit
//! proposals as of a day; one notice per contract, ever, and one per contract a banned partner
//! still holds (and ban); and each managing department's list, sent when it changes.

use super::mailing::letters_to;
use super::{JobSteps, Outputs, Run};
use crate::domain::inputs::*;
use crate::domain::job::Job;
use crate::domain::period::Month;
use crate::domain::records::RecordKind;
use crate::domain::renewal::{
    breaches, count_by_partner, exit_proposals, exits, notice_state, renewals, Breach, ExitProposal, ExitRow,
    MonthlyScore, Notice, RenewalInput, RenewalRow, CONTRACT_IN_FORCE,
};
use crate::files::safe_name;
use crate::report::templates::label;
use crate::report::{csv, lifecycle, Letter};
use crate::sources::{Sources, Window};
use chrono::{Duration, NaiveDate};
use polars::prelude::DataFrame;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub(super) struct Renewal(pub(super) NaiveDate);

/// Per partner leaving: its periods not yet settled and its open disputes (第三十八条).
type Outstanding = BTreeMap<String, (Vec<String>, Vec<String>)>;

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
    /// The content each department's last list was sent with.
    lists_before: BTreeMap<String, String>,
    outstanding: Outstanding,
}

pub(super) struct Output {
    rows: Vec<RenewalRow>,
    with_notice: Vec<(RenewalRow, Notice)>,
    exit_rows: Vec<ExitRow>,
    breach_rows: Vec<Breach>,
    proposals: Vec<ExitProposal>,
    partners: DataFrame,
    contracts: DataFrame,
    /// Per department: its list's content hash, and whether it changed since it was last sent.
    lists: Vec<(String, String, bool)>,
    lists_before: BTreeMap<String, String>,
    outstanding: Outstanding,
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
        let requests =
            super::records::entered_or(run.cx, run.store, RecordKind::ExitRequests, f.take(EXIT_REQUESTS)).await?;
        let leaving: BTreeSet<String> = values(&requests, "partner_id").flatten().map(str::to_string).collect();
        let outstanding = run.store.outstanding(&leaving).await?;
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
            blacklist: super::records::entered_or(run.cx, run.store, RecordKind::Blacklist, f.take(BLACKLIST)).await?,
            requests,
            open_tickets: f.take(OPEN_TICKETS),
            monthly: run.store.stored_months(first, Month::of(as_of)).await?,
            held: run.store.latest_held_projects().await?,
            sent_before: run.store.renewal_notices().await?,
            lists_before: run.store.renewal_lists().await?,
            outstanding,
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
        let mut o = Output {
            rows,
            with_notice,
            exit_rows,
            breach_rows,
            proposals,
            partners: i.partners,
            contracts: i.contracts,
            lists: vec![],
            lists_before: i.lists_before,
            outstanding: i.outstanding,
        };
        o.lists = department_lists(&o)
            .into_iter()
            .map(|l| {
                let hash = l.content_hash();
                let changed = o.lists_before.get(&l.department).is_none_or(|before| !hash.starts_with(before.as_str()));
                (l.department, hash, changed)
            })
            .collect();
        Ok(o)
    }

    async fn store(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<()> {
        // A list counts as sent when its message is in the outbox (its key carries its content).
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
        // One notice per contract a banned partner still holds (and per ban), ever: its owner
        // must terminate it (第三十六条).
        let owners: HashMap<&str, &str> = values(&o.contracts, "contract_id")
            .zip(values(&o.contracts, "owner_email"))
            .filter_map(|(c, e)| Some((c?, e?)))
            .collect();
        for b in o.breach_rows.iter().filter(|b| b.kind == CONTRACT_IN_FORCE) {
            let name = names.get(&b.partner_id).map_or(b.partner_id.as_str(), String::as_str);
            let until = crate::domain::period::add_years(b.date, run.rules.ban_years) - Duration::days(1);
            let page = lifecycle::ban_notice(b, name, until, as_of)?;
            files.push((
                format!("notices/ban-{}-{}.html", safe_name(&b.ref_id), b.date.format("%Y%m%d")),
                page.clone().into_bytes(),
            ));
            let (contract, decided) = (b.ref_id.clone(), b.date.to_string());
            let args = [("contract", contract.as_str()), ("name", name), ("decided", decided.as_str())];
            let subject = label(run.locale(), "subject_ban_notice", &args);
            let text =
                label(run.locale(), "ban_notice_text", &[("until", &until.to_string()), ("contract", &contract)]);
            let letter =
                Letter { subject: subject.clone(), html: page, text: format!("{subject}\n{text}"), images: vec![] };
            let to: Vec<String> = owners.get(b.ref_id.as_str()).map(|e| vec![e.to_string()]).unwrap_or_default();
            messages.extend(letters_to(
                run.cx,
                "renewal",
                &decided,
                &format!("ban_notice:{contract}"),
                &to,
                &letter,
                &[],
            ));
        }
        // Each managing department gets its list, when it changed since it was last sent.
        let outstanding = &o.outstanding;
        for (k, list) in department_lists(o).into_iter().enumerate() {
            let department = list.department.clone();
            let page = lifecycle::renewal_list(&list.view(as_of, &names, outstanding))?;
            let changed = o.lists.iter().any(|(d, _, changed)| *d == department && *changed);
            let hash = list.content_hash();
            if changed {
                let letter = Letter {
                    subject: label(
                        run.locale(),
                        "subject_renewal_list",
                        &[("as_of", &as_of.to_string()), ("department", &department)],
                    ),
                    html: page.clone(),
                    text: label(
                        run.locale(),
                        "renewal_list_text",
                        &[("department", &department), ("count", &list.rows.len().to_string())],
                    ),
                    images: vec![],
                };
                let managers = run.settings().departments.get(&department).cloned().unwrap_or_default();
                let kind = format!("list:{department}:{}", &hash[..12]);
                messages.extend(letters_to(run.cx, "renewal", &as_of.to_string(), &kind, &managers, &letter, &[]));
            }
            files.push((format!("list-{:02}.html", k + 1), page.into_bytes()));
        }
        if !run.options.stores() {
            messages.clear();
        }
        let eligible = o.rows.iter().filter(|r| r.eligible).count();
        let line = label(
            run.locale(),
            "summary_renewal",
            &[
                ("as_of", &as_of.to_string()),
                ("window", &o.rows.len().to_string()),
                ("eligible", &eligible.to_string()),
                ("exits", &o.exit_rows.len().to_string()),
                ("proposals", &o.proposals.len().to_string()),
                ("breaches", &o.breach_rows.len().to_string()),
            ],
        );
        Ok(Outputs { files, messages, lines: vec![line] })
    }
}

/// What a department's list holds: its contracts in the window, the exits, breaches and exit
/// proposals of its partners.
struct DepartmentList<'a> {
    department: String,
    rows: Vec<&'a (RenewalRow, Notice)>,
    exits: Vec<&'a ExitRow>,
    breaches: Vec<&'a Breach>,
    proposals: Vec<&'a ExitProposal>,
}

impl DepartmentList<'_> {
    /// The list's content, without what changes every day (the day, whether a notice went now):
    /// a list is sent again only when this changes (rules.md §12).
    fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        // Whether the owner was noticed now or before changes from day to day: it is not content.
        for (r, _) in &self.rows {
            h.update(format!("{r:?}\n").as_bytes());
        }
        for e in &self.exits {
            h.update(format!("{e:?}\n").as_bytes());
        }
        for b in &self.breaches {
            h.update(format!("{b:?}\n").as_bytes());
        }
        for p in &self.proposals {
            h.update(format!("{p:?}\n").as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn view<'b>(
        &'b self,
        as_of: NaiveDate,
        names: &'b HashMap<String, String>,
        outstanding: &'b BTreeMap<String, (Vec<String>, Vec<String>)>,
    ) -> lifecycle::ListView<'b> {
        lifecycle::ListView {
            department: &self.department,
            as_of,
            rows: &self.rows,
            exits: &self.exits,
            breaches: &self.breaches,
            proposals: &self.proposals,
            names,
            outstanding,
        }
    }
}

/// Every department's list: the departments of the contracts in the window, and those of the
/// partners with exits, breaches or exit proposals (a partner's lists go to every department of
/// its contracts).
fn department_lists(o: &Output) -> Vec<DepartmentList<'_>> {
    let mut of_partner: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (p, d) in values(&o.contracts, "partner_id").zip(values(&o.contracts, "department")) {
        if let (Some(p), Some(d)) = (p, d) {
            of_partner.entry(p).or_default().insert(d);
        }
    }
    let department_of: HashMap<&str, &str> = values(&o.contracts, "contract_id")
        .zip(values(&o.contracts, "department"))
        .filter_map(|(c, d)| Some((c?, d?)))
        .collect();
    let of = |p: &str| of_partner.get(p).cloned().unwrap_or_default();
    let mut departments: BTreeSet<&str> = o.with_notice.iter().map(|(r, _)| r.department.as_str()).collect();
    departments.extend(o.exit_rows.iter().filter_map(|e| department_of.get(e.contract_id.as_str()).copied()));
    departments.extend(o.breach_rows.iter().flat_map(|b| of(&b.partner_id)));
    departments.extend(o.proposals.iter().flat_map(|p| of(&p.partner_id)));
    departments
        .into_iter()
        .map(|d| DepartmentList {
            department: d.to_string(),
            rows: o.with_notice.iter().filter(|(r, _)| r.department == d).collect(),
            exits: o.exit_rows.iter().filter(|e| department_of.get(e.contract_id.as_str()) == Some(&d)).collect(),
            breaches: o.breach_rows.iter().filter(|b| of(&b.partner_id).contains(d)).collect(),
            proposals: o.proposals.iter().filter(|p| of(&p.partner_id).contains(d)).collect(),
        })
        .collect()
}
