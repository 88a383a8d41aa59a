//! Departmental records (interface.md): the template a department fills in, built from what the
//! period's run would read; the import of the filled workbook (checked against rules.md, every
//! problem at once, stored in one transaction with the audit trail); and the entered records in
//! place of the operations database's datasets where `[datasets]` routes them.

use super::{rules_for, stamp, Context};
use crate::domain::inputs::{
    values, AUDIT_EXCLUSIONS, BLACKLIST, CONTRACTS, EXIT_REQUESTS, FEE_ITEMS, MANUAL_SCORES, PARTNERS,
    PRESALES_PROJECTS, PRESALES_SUPPORTS, VIOLATIONS,
};
use crate::domain::job::JobKind;
use crate::domain::monthly::{assessed_partners, MonthInput};
use crate::domain::period::{Month, Quarter};
use crate::domain::presales::{settle, Status};
use crate::domain::records::{self, Context as Checks, Period, RecordKind, Refused};
use crate::domain::rules::{IndicatorKind, Rules};
use crate::exit::UsageError;
use crate::files::PathRefused;
use crate::report::records::{
    change_lines, problem_lines, unreadable, ContractLine, FeeLine, ManualLine, PresalesLine, Template,
};
use crate::report::templates::label;
use crate::sources::{Sources, Window};
use crate::store::records::Source;
use crate::store::Store;
use anyhow::Context as _;
use polars::prelude::{DataFrame, IntoColumn, NewChunkedArray, StringChunked};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// What the source says about a period: partners, the ones assessed and their departments, and
/// (for a quarter) the supports the quarterly run would consider; every contract (blacklist
/// decisions, exit requests), and the month's fee items (audit exclusions).
struct Known {
    names: BTreeMap<String, String>,
    assessed: BTreeMap<String, BTreeSet<String>>,
    supports: Vec<PresalesLine>,
    /// Every support of the source: a score may be entered for any of them (renewal averages
    /// supports of projects of any outcome, rules.md §8), not only the ones the quarter settles.
    every_support: BTreeSet<(String, String)>,
    /// Contract → partner.
    contracts: BTreeMap<String, String>,
    contract_lines: Vec<ContractLine>,
    fees: Vec<FeeLine>,
}

async fn known(cx: &Context, store: &Store, kind: RecordKind, period: Period, rules: &Rules) -> anyhow::Result<Known> {
    let today = Month::of(cx.now().date());
    let (first, last) = match period {
        Period::Month(m) => (m, m),
        Period::Quarter(q) => (q.first_month(), q.last_month()),
        Period::Standing => (today, today),
    };
    let sources = Sources::connect(&cx.settings).await?;
    let datasets: &[_] = match kind {
        RecordKind::PresalesScores => &[PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS],
        RecordKind::AuditExclusions => &[PARTNERS, CONTRACTS, FEE_ITEMS],
        _ => &[PARTNERS, CONTRACTS],
    };
    let read = sources.fetch_all(datasets, &Window::between(first.start(), last.end())).await;
    sources.close().await;
    let mut read = read?;
    let partners = read.take(PARTNERS);
    let names: BTreeMap<String, String> = values(&partners, "partner_id")
        .zip(values(&partners, "name"))
        .filter_map(|(id, name)| Some((id?.to_string(), name.unwrap_or("").to_string())))
        .collect();
    let mut known = Known {
        names,
        assessed: BTreeMap::new(),
        supports: Vec::new(),
        every_support: BTreeSet::new(),
        contracts: BTreeMap::new(),
        contract_lines: Vec::new(),
        fees: Vec::new(),
    };
    if kind != RecordKind::PresalesScores {
        let contracts = read.take(CONTRACTS);
        let col = |n| values(&contracts, n).map(|v| v.unwrap_or("").to_string()).collect::<Vec<_>>();
        let (ids, partners, kinds, starts, ends, depts) =
            (col("contract_id"), col("partner_id"), col("kind"), col("start_date"), col("end_date"), col("department"));
        for k in 0..ids.len() {
            known.contracts.insert(ids[k].clone(), partners[k].clone());
            known.contract_lines.push(ContractLine {
                contract_id: ids[k].clone(),
                partner_id: partners[k].clone(),
                partner_name: known.names.get(&partners[k]).cloned().unwrap_or_default(),
                kind: kinds[k].clone(),
                term: format!("{} ~ {}", starts[k], ends[k]),
                department: depts[k].clone(),
            });
        }
        if let Period::Month(m) = period {
            known.assessed = assessed_partners(&contracts, m);
        }
        if kind == RecordKind::AuditExclusions {
            let fees = read.take(FEE_ITEMS);
            let month = first.to_string();
            let rows = values(&fees, "fee_id")
                .zip(values(&fees, "contract_id"))
                .zip(values(&fees, "service_month").zip(values(&fees, "amount").zip(values(&fees, "description"))));
            for ((fee, contract), (service_month, (amount, description))) in rows {
                let (Some(fee), Some(contract)) = (fee, contract) else { continue };
                if service_month.map(str::trim) != Some(month.as_str()) {
                    continue;
                }
                let partner = known.contracts.get(contract).cloned().unwrap_or_default();
                known.fees.push(FeeLine {
                    fee_id: fee.to_string(),
                    contract_id: contract.to_string(),
                    partner_name: known.names.get(&partner).cloned().unwrap_or_default(),
                    partner_id: partner,
                    amount: amount.unwrap_or("").to_string(),
                    description: description.unwrap_or("").to_string(),
                });
            }
        }
        return Ok(known);
    }
    let Period::Quarter(q) = period else { return Ok(known) };
    let supports = overlay_supports(cx, store, read.take(PRESALES_SUPPORTS)).await?;
    let projects = read.take(PRESALES_PROJECTS);
    let elsewhere = store.presales_settled_elsewhere(q).await?;
    // The supports of the projects the quarterly run would settle or hold: the ones a score can
    // still change.
    let considered: BTreeMap<String, (String, String)> = settle(q, &projects, &supports, &rules.presales, &elsewhere)
        .rows
        .into_iter()
        .filter(|r| r.status != Status::NotPayable)
        .map(|r| (r.project_id, (r.project_name, r.commissioning_unit)))
        .collect();
    let rows = values(&supports, "project_id")
        .zip(values(&supports, "partner_id"))
        .zip(values(&supports, "workload_share").zip(values(&supports, "assessment_score")));
    for ((project, partner), (share, score)) in rows {
        let (Some(project), Some(partner)) = (project, partner) else { continue };
        known.every_support.insert((project.to_string(), partner.to_string()));
        let Some((name, unit)) = considered.get(project) else { continue };
        known.supports.push(PresalesLine {
            project_id: project.to_string(),
            project_name: name.clone(),
            unit: unit.clone(),
            partner_id: partner.to_string(),
            partner_name: known.names.get(partner).cloned().unwrap_or_default(),
            share: share.unwrap_or("").to_string(),
            score: score.map(str::to_string),
        });
    }
    known.supports.sort_by(|a, b| (&a.project_id, &a.partner_id).cmp(&(&b.project_id, &b.partner_id)));
    Ok(known)
}

/// The `manual` indicators of the rules and their weights (the upper limit of their points).
fn manual_indicators(rules: &Rules) -> BTreeMap<String, rust_decimal::Decimal> {
    rules
        .indicators
        .iter()
        .filter(|i| matches!(i.kind, IndicatorKind::Manual))
        .map(|i| (i.id.clone(), i.weight))
        .collect()
}

fn rules_month(cx: &Context, period: Period) -> Month {
    match period {
        Period::Month(m) => m,
        Period::Quarter(q) => q.last_month(),
        Period::Standing => Month::of(cx.now().date()),
    }
}

/// Points already given per (partner, indicator), to fill a manual-scores template with.
pub(crate) type Prefill = BTreeMap<(String, String), rust_decimal::Decimal>;

/// Writes the template of a kind of records for a period; returns what to tell the person.
pub(crate) async fn template(
    cx: &Context,
    kind: RecordKind,
    period: Period,
    department: Option<&str>,
    out: &Path,
) -> anyhow::Result<String> {
    template_with(cx, kind, period, department, out, &Prefill::new()).await
}

/// A template with some points already filled in, as a manager would return it (the demo).
pub(crate) async fn template_with(
    cx: &Context,
    kind: RecordKind,
    period: Period,
    department: Option<&str>,
    out: &Path,
    prefill: &Prefill,
) -> anyhow::Result<String> {
    // Read-write: a template may be the first thing a deployment does, before any run made the store.
    let store = cx.store().await?;
    let locale = cx.settings.locale.as_str();
    let result = async {
        let rules = rules_for(cx, &store, rules_month(cx, period)).await?;
        let known = known(cx, &store, kind, period, &rules).await?;
        let day = cx.now().date();
        let (bytes, rows) = match (kind, period) {
            (RecordKind::ManualScores, Period::Month(month)) => {
                let manual = manual_indicators(&rules);
                if manual.is_empty() {
                    return Err(UsageError(format!("the rules for {month} have no manual indicator to score")).into());
                }
                if let Some(d) = department {
                    if !known.assessed.values().any(|ds| ds.contains(d)) {
                        let all: BTreeSet<&String> = known.assessed.values().flatten().collect();
                        let all: Vec<&str> = all.into_iter().map(String::as_str).collect();
                        return Err(UsageError(format!(
                            "no partner assessed in {month} is managed by {d:?} (departments: {})",
                            all.join(", ")
                        ))
                        .into());
                    }
                }
                let mut lines = Vec::new();
                for (indicator, limit) in &manual {
                    for (partner, departments) in &known.assessed {
                        if department.is_some_and(|d| !departments.contains(d)) {
                            continue;
                        }
                        lines.push(ManualLine {
                            partner_id: partner.clone(),
                            partner_name: known.names.get(partner).cloned().unwrap_or_default(),
                            departments: departments.iter().cloned().collect::<Vec<_>>().join("、"),
                            indicator: indicator.clone(),
                            limit: *limit,
                            points: prefill.get(&(partner.clone(), indicator.clone())).copied(),
                        });
                    }
                }
                let m = month.to_string();
                let t = Template::Manual { month: &m, department, lines: &lines };
                (crate::report::records::template(locale, &t, day)?, lines.len())
            }
            (RecordKind::Violations, Period::Month(month)) => {
                let partners: Vec<(String, String, String)> = known
                    .assessed
                    .iter()
                    .map(|(p, ds)| {
                        let name = known.names.get(p).cloned().unwrap_or_default();
                        (p.clone(), name, ds.iter().cloned().collect::<Vec<_>>().join("、"))
                    })
                    .collect();
                let m = month.to_string();
                let t = Template::Violations {
                    month: &m,
                    first: month.first_day(),
                    last: month.last_day(),
                    partners: &partners,
                };
                (crate::report::records::template(locale, &t, day)?, 0)
            }
            (RecordKind::PresalesScores, Period::Quarter(quarter)) => {
                let q = quarter.to_string();
                let t = Template::Presales { quarter: &q, lines: &known.supports };
                (crate::report::records::template(locale, &t, day)?, known.supports.len())
            }
            (RecordKind::Blacklist, _) => {
                let entries = prefilled(cx, &store, kind, BLACKLIST).await?;
                let t = Template::Blacklist { entries: &entries, contracts: &known.contract_lines };
                (crate::report::records::template(locale, &t, day)?, entries.len())
            }
            (RecordKind::ExitRequests, _) => {
                let requests = prefilled(cx, &store, kind, EXIT_REQUESTS).await?;
                let t = Template::ExitRequests { requests: &requests, contracts: &known.contract_lines };
                (crate::report::records::template(locale, &t, day)?, requests.len())
            }
            (RecordKind::AuditExclusions, Period::Month(month)) => {
                let m = month.to_string();
                let reasons: BTreeMap<String, (String, String)> = prefilled(cx, &store, kind, AUDIT_EXCLUSIONS)
                    .await?
                    .into_iter()
                    .map(|row| {
                        let get = |t: &str| row.get(t).cloned().unwrap_or_default();
                        (get(records::T_FEE), (get(records::T_REASON), get(records::T_FOUND_ON)))
                    })
                    .collect();
                let t = Template::AuditExclusions { month: &m, fees: &known.fees, reasons: &reasons };
                (crate::report::records::template(locale, &t, day)?, known.fees.len())
            }
            _ => return Err(UsageError(format!("{} is not kept for {period}", kind.as_str())).into()),
        };
        crate::files::write_named(out, &bytes).map_err(|e| match e {
            PathRefused::NotRegular => anyhow::Error::new(UsageError(label(
                locale,
                "usage_out_not_regular",
                &[("path", &crate::domain::text::escape(&out.display().to_string(), false))],
            ))),
            e => anyhow::Error::new(e).context(format!("writing {}", out.display())),
        })?;
        let file = out.display().to_string();
        Ok(label(locale, "records_template_written", &[("file", &file), ("rows", &rows.to_string())]))
    }
    .await;
    store.close().await;
    result
}

/// The rows a template of `kind` starts with: the entered ones where `[datasets]` routes the
/// kind to the entered records, else the source's (a department adds to what is decided).
async fn prefilled(
    cx: &Context,
    store: &Store,
    kind: RecordKind,
    dataset: crate::domain::inputs::Dataset,
) -> anyhow::Result<crate::report::records::Prefilled> {
    let frame = if cx.settings.entered.contains(&kind) {
        store.entered_frame(kind, None, dataset).await?
    } else {
        let sources = Sources::connect(&cx.settings).await?;
        let now = Month::of(cx.now().date());
        let read = sources.fetch_all(&[dataset], &Window::month(now)).await;
        sources.close().await;
        read?.take(dataset)
    };
    // The dataset's columns under the workbook's titles.
    let titles: &[(&str, &'static str)] = match kind {
        RecordKind::Blacklist => {
            &[("partner_id", records::T_PARTNER), ("decided_on", records::T_DECIDED_ON), ("reason", records::T_REASON)]
        }
        RecordKind::ExitRequests => &[
            ("request_id", records::T_REQUEST),
            ("partner_id", records::T_PARTNER),
            ("contract_id", records::T_CONTRACT),
            ("exit_type", records::T_EXIT_TYPE),
            ("requested_on", records::T_REQUESTED_ON),
            ("planned_exit_on", records::T_PLANNED_EXIT_ON),
        ],
        _ => &[("fee_id", records::T_FEE), ("reason", records::T_REASON), ("found_on", records::T_FOUND_ON)],
    };
    let columns: Vec<Vec<Option<String>>> =
        titles.iter().map(|(c, _)| values(&frame, c).map(|v| v.map(str::to_string)).collect()).collect();
    Ok((0..frame.height())
        .map(|i| {
            titles
                .iter()
                .zip(&columns)
                .filter_map(|((c, title), col)| {
                    let v = col.get(i).cloned().flatten()?;
                    // An exit type is offered in words.
                    let v = if *c == "exit_type" {
                        records::EXIT_TYPES.iter().find(|(code, _)| *code == v).map_or(v, |(_, w)| w.to_string())
                    } else {
                        v
                    };
                    Some((*title, v))
                })
                .collect()
        })
        .collect())
}

/// Imports a filled workbook: checked, then (unless a dry run) stored in one transaction. Returns
/// the lines to print: the changes, then the summary.
pub(crate) async fn import(
    cx: &Context,
    kind: RecordKind,
    file: &Path,
    by: &str,
    given: Option<Period>,
    dry_run: bool,
) -> anyhow::Result<Vec<String>> {
    let locale = cx.settings.locale.as_str();
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Every problem is counted; the first hundred are listed (one unreadable column of a
    // 20,000-row sheet would otherwise print 20,000 lines).
    const LISTED: usize = 100;
    let refused = |lines: Vec<String>| {
        let count = lines.len();
        let mut all = vec![label(locale, "records_refused", &[("file", &file_name), ("count", &count.to_string())])];
        all.extend(lines.into_iter().take(LISTED).map(|l| format!("  {l}")));
        if count > LISTED {
            all.push(format!(
                "  {}",
                label(locale, "records_more_problems", &[("count", &(count - LISTED).to_string())])
            ));
        }
        anyhow::Error::new(Refused { lines: all })
    };
    let shown = crate::domain::text::escape(&file.display().to_string(), false).into_owned();
    // Sized from the file's own metadata before a byte is read; a device or a FIFO is refused.
    let bytes = crate::files::read_regular(file, records::MAX_FILE_BYTES as u64).map_err(|e| match e {
        PathRefused::NotRegular => UsageError(label(locale, "usage_not_regular_file", &[("path", &shown)])).into(),
        PathRefused::TooLarge(n) => refused(vec![label(locale, "records_too_large", &[("bytes", &n.to_string())])]),
        PathRefused::Io(e) => {
            UsageError(label(locale, "usage_cannot_read", &[("path", &shown), ("error", &e.to_string())])).into()
        }
    })?;
    let sheet = crate::workbooks::first_sheet(&bytes).map_err(|e| refused(vec![unreadable(locale, &e)]))?;
    // The period is the workbook's own; the checks need it before the rows can be read. One
    // for another period than the one given is refused once, not row by row.
    let given_text = given.map(|p| p.to_string());
    if let (Some(found), Some(given)) = (period_of(kind, &sheet), given) {
        if found != given {
            let issue = records::Issue::PeriodMismatch { found: found.to_string(), given: given.to_string() };
            let problem = records::Problem { sheet: sheet.name.clone(), row: None, column: None, issue };
            return Err(refused(problem_lines(locale, &[problem])));
        }
    }
    let standing = (!kind.has_period()).then_some(Period::Standing);
    let period = standing.or(period_of(kind, &sheet)).or(given).ok_or_else(|| {
        let cx = Checks { period: given_text.clone(), ..Checks::default() };
        let problems = records::read(kind, &sheet, &cx, by).err().unwrap_or_default();
        refused(problem_lines(locale, &problems))
    })?;
    let store = cx.store().await?;
    let result = async {
        let rules = rules_for(cx, &store, rules_month(cx, period)).await?;
        let known = known(cx, &store, kind, period, &rules).await?;
        let department = department_of(kind, &sheet);
        let taken = if kind == RecordKind::ManualScores {
            store
                .entered_rows(kind, Some(&period.to_string()))
                .await?
                .into_iter()
                .filter(|r| r.department != department)
                .map(|r| (r.key, r.department))
                .collect()
        } else {
            BTreeMap::new()
        };
        let checks = Checks {
            known: known.names.keys().cloned().collect(),
            assessed: known.assessed,
            manual: manual_indicators(&rules),
            supports: known.every_support.clone(),
            taken,
            class_two: (rules.credit.class_two_min, rules.credit.class_two_max),
            period: given_text.clone(),
            contracts: known.contracts.clone(),
            fees: known.fees.iter().map(|f| f.fee_id.clone()).collect(),
        };
        let entered =
            records::read(kind, &sheet, &checks, by.trim()).map_err(|p| refused(problem_lines(locale, &p)))?;
        // The rows were checked against the period and department found first; they must be the
        // ones the rows say (a blank first row may name another month).
        if entered.period != period.to_string() || entered.department != department {
            let issue = if entered.period != period.to_string() {
                records::Issue::MixedPeriods { found: entered.period.clone(), first: period.to_string() }
            } else {
                records::Issue::MixedDepartments { found: entered.department.clone(), first: department.clone() }
            };
            let problem = records::Problem { sheet: sheet.name.clone(), row: None, column: None, issue };
            return Err(refused(problem_lines(locale, &[problem])));
        }
        let job = if kind == RecordKind::PresalesScores { JobKind::Quarterly } else { JobKind::Monthly };
        // An approved unit's results are frozen, and so are the records they were computed from;
        // a dry run says so too, rather than show changes that could not be made.
        let fee_partner: BTreeMap<String, String> =
            known.fees.iter().map(|f| (f.fee_id.clone(), f.partner_id.clone())).collect();
        if kind.has_period() {
            frozen_check(&store, job, &entered, &fee_partner).await?;
        }
        // A blacklist decision changes every computed month that begins inside a ban it adds or
        // removes: those wait for a rerun before approval, and approved ones keep their results.
        let (marks, approved) =
            if kind == RecordKind::Blacklist { touched_months(&store, &entered).await? } else { (vec![], vec![]) };
        let summary = |changes: &crate::store::records::Changes| {
            let mut lines = change_lines(locale, kind, changes);
            let department =
                if entered.department.is_empty() { String::new() } else { format!(" {}", entered.department) };
            lines.push(label(
                locale,
                "records_imported",
                &[
                    ("kind", &label(locale, &format!("records_sheet_{}", kind.as_str()), &[])),
                    // A standing kind (a ban, an exit request) belongs to no period.
                    ("period", &if entered.period.is_empty() { String::new() } else { format!(" {}", entered.period) }),
                    ("department", &department),
                    ("added", &changes.added.len().to_string()),
                    ("changed", &changes.changed.len().to_string()),
                    ("removed", &changes.removed.len().to_string()),
                    ("unchanged", &changes.unchanged.to_string()),
                    ("blank", &entered.blank.to_string()),
                ],
            ));
            lines
        };
        if dry_run {
            let mut lines = summary(&store.entered_changes(&entered).await?);
            lines.push(label(locale, "records_dry_run", &[]));
            return Ok(lines);
        }
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        let at = stamp(cx.now());
        let from =
            Source { file_name: &file_name, sha256: &sha256, by: by.trim(), at: &at, nonce: cx.system.random_u32() };
        // The changes are taken inside the import's transaction, under the period's lock: what
        // is printed and audited is what this import replaced.
        let (id, changes) = store.import_entered(&entered, from, &marks).await?;
        tracing::info!(import = %id, rows = entered.rows.len(), sha256 = %sha256, "imported");
        let mut lines = summary(&changes);
        if !approved.is_empty() {
            lines.push(label(locale, "records_approved_kept", &[("periods", &approved.join("、"))]));
        }
        if kind.has_period() && store.computed(job, &entered.period).await?.is_some() {
            let flag = if job == JobKind::Quarterly { "quarter" } else { "month" };
            let command = format!("ict-partners run {job} --{flag} {}", entered.period);
            lines.push(label(locale, "records_rerun", &[("command", &command)]));
        }
        // A ban changes the months computed since it was decided: each waits for its rerun.
        if let Some((job, first)) = marks.first() {
            let periods: Vec<&str> = marks.iter().map(|(_, p)| p.as_str()).collect();
            let command = format!("ict-partners run {job} --month {first}");
            lines.push(label(
                locale,
                "records_rerun_months",
                &[("periods", &periods.join("、")), ("command", &command)],
            ));
        }
        Ok(lines)
    }
    .await;
    store.close().await;
    result
}

/// Refuses an import that would change what an approved or published unit was computed from:
/// manual scores of its department, violations or presales scores of its partners or projects.
async fn frozen_check(
    store: &Store,
    job: JobKind,
    entered: &records::Entered,
    fee_partner: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    if store.computed(job, &entered.period).await?.is_none() {
        return Ok(());
    }
    let membership = store.membership(job, &entered.period).await?;
    let status = store.unit_statuses(job, &entered.period, &membership).await?;
    let frozen: BTreeSet<&String> = status.iter().filter(|(_, s)| s.frozen()).map(|(u, _)| u).collect();
    if frozen.is_empty() {
        return Ok(());
    }
    let touched: BTreeSet<String> = if !entered.department.is_empty() {
        BTreeSet::from([entered.department.clone()])
    } else {
        // The units of the rows' partners (or projects), as the stored period has them.
        let field = |r: &BTreeMap<String, Option<String>>, c: &str| r.get(c).cloned().flatten().unwrap_or_default();
        let keys: BTreeSet<String> = entered
            .rows
            .values()
            .map(|r| match entered.kind {
                RecordKind::PresalesScores => format!("{}/{}", field(r, "project_id"), field(r, "partner_id")),
                RecordKind::AuditExclusions => fee_partner.get(&field(r, "fee_id")).cloned().unwrap_or_default(),
                _ => field(r, "partner_id"),
            })
            .collect();
        let all_units = entered.kind == RecordKind::ManualScores;
        membership
            .items
            .iter()
            .filter(|(item, _)| all_units || keys.contains(*item))
            .flat_map(|(_, units)| units.iter().cloned())
            .collect()
    };
    if let Some(unit) = touched.iter().find(|u| frozen.contains(u)) {
        return Err(crate::domain::refusal::StateError::Frozen {
            job: job.as_str().into(),
            period: format!("{}「{unit}」", entered.period),
        }
        .into());
    }
    Ok(())
}

/// The computed months a blacklist import may change (from the earliest decision it or the
/// stored list names), and those of them with an approved unit holding one of its partners.
async fn touched_months(
    store: &Store,
    entered: &records::Entered,
) -> anyhow::Result<(Vec<(JobKind, String)>, Vec<String>)> {
    let stored = store.entered_rows(RecordKind::Blacklist, Some("")).await?;
    let field = |f: &BTreeMap<String, Option<String>>, c: &str| f.get(c).cloned().flatten().unwrap_or_default();
    let mut days: Vec<String> = entered.rows.values().map(|r| field(r, "decided_on")).collect();
    days.extend(stored.iter().map(|r| field(&r.fields, "decided_on")));
    let mut partners: BTreeSet<String> = entered.rows.values().map(|r| field(r, "partner_id")).collect();
    partners.extend(stored.iter().map(|r| field(&r.fields, "partner_id")));
    let Some(from) = days.iter().filter_map(|d| d.get(..7)).min().map(str::to_string) else {
        return Ok((vec![], vec![]));
    };
    let mut marks = Vec::new();
    let mut approved = Vec::new();
    for (job, period) in store.period_list().await? {
        if job != JobKind::Monthly || period < from {
            continue;
        }
        marks.push((job, period.clone()));
        let membership = store.membership(job, &period).await?;
        let status = store.unit_statuses(job, &period, &membership).await?;
        let frozen = membership.frozen_items(&status);
        if partners.iter().any(|p| frozen.contains(p)) {
            approved.push(period);
        }
    }
    approved.sort();
    Ok((marks, approved))
}

/// The period a workbook says it is for (its first filled period cell), if it says one.
fn period_of(kind: RecordKind, sheet: &records::Sheet) -> Option<Period> {
    let title = if kind == RecordKind::PresalesScores { records::T_PERIOD_QUARTER } else { records::T_PERIOD_MONTH };
    let text = column_texts(sheet, title).into_iter().next()?;
    match kind {
        RecordKind::PresalesScores => text.parse::<Quarter>().ok().map(Period::Quarter),
        _ => text.parse::<Month>().ok().map(Period::Month),
    }
}

/// The department a manual-scores workbook is for ("" for all departments).
fn department_of(kind: RecordKind, sheet: &records::Sheet) -> String {
    if kind != RecordKind::ManualScores {
        return String::new();
    }
    column_texts(sheet, records::T_DEPARTMENT).into_iter().next().unwrap_or_default()
}

fn column_texts(sheet: &records::Sheet, title: &str) -> Vec<String> {
    let Some(header) = sheet.rows.first() else { return vec![] };
    let Some(col) = header.iter().position(|c| matches!(c, records::Cell::Text(t) if records::normalize(t) == title))
    else {
        return vec![];
    };
    sheet.rows[1..]
        .iter()
        .filter_map(|r| match r.get(col) {
            Some(records::Cell::Text(t)) | Some(records::Cell::Number(t)) => Some(records::normalize(t)),
            _ => None,
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// The month's manual scores, violations, audit exclusions and blacklist from the entered records
/// where `[datasets]` says so.
pub(super) async fn overlay_month(cx: &Context, store: &Store, input: &mut MonthInput) -> anyhow::Result<()> {
    let month = input.month.to_string();
    if cx.settings.entered.contains(&RecordKind::ManualScores) {
        input.manual_scores = store.entered_frame(RecordKind::ManualScores, Some(&month), MANUAL_SCORES).await?;
    }
    if let Some(v) = entered_violations(cx, store).await? {
        input.violations = v;
    }
    // Every exclusion: a fee item is of one month, whichever month's workbook excluded it.
    input.audit_exclusions =
        entered_or(cx, store, RecordKind::AuditExclusions, std::mem::take(&mut input.audit_exclusions)).await?;
    input.blacklist = entered_or(cx, store, RecordKind::Blacklist, std::mem::take(&mut input.blacklist)).await?;
    Ok(())
}

/// The entered records of a kind of no period (or of every period) as its dataset's frame where
/// `[datasets]` routes it to them, else the source's frame as read.
pub(super) async fn entered_or(
    cx: &Context,
    store: &Store,
    kind: RecordKind,
    source: DataFrame,
) -> anyhow::Result<DataFrame> {
    if !cx.settings.entered.contains(&kind) {
        return Ok(source);
    }
    let dataset = match kind {
        RecordKind::Blacklist => BLACKLIST,
        RecordKind::ExitRequests => EXIT_REQUESTS,
        RecordKind::AuditExclusions => AUDIT_EXCLUSIONS,
        RecordKind::ManualScores => MANUAL_SCORES,
        RecordKind::Violations | RecordKind::PresalesScores => VIOLATIONS,
    };
    Ok(store.entered_frame(kind, None, dataset).await?)
}

/// Every entered violation (monthly deductions, renewal and annual credit all read them), where
/// `[datasets] violations = "entered"`.
pub(super) async fn entered_violations(cx: &Context, store: &Store) -> anyhow::Result<Option<DataFrame>> {
    if !cx.settings.entered.contains(&RecordKind::Violations) {
        return Ok(None);
    }
    Ok(Some(store.entered_frame(RecordKind::Violations, None, VIOLATIONS).await?))
}

/// The supports with their `assessment_score` from the entered records where
/// `[datasets] presales_scores = "entered"` (the latest import that scores a support wins, whichever
/// quarter it was for; a support nobody scored has none).
pub(super) async fn overlay_supports(cx: &Context, store: &Store, supports: DataFrame) -> anyhow::Result<DataFrame> {
    if !cx.settings.entered.contains(&RecordKind::PresalesScores) {
        return Ok(supports);
    }
    let mut scores: HashMap<(String, String), Option<String>> = HashMap::new();
    for row in store.entered_rows_by_import(RecordKind::PresalesScores).await? {
        let get = |c: &str| row.fields.get(c).cloned().flatten().unwrap_or_default();
        scores.insert((get("project_id"), get("partner_id")), row.fields.get("assessment_score").cloned().flatten());
    }
    let column: Vec<Option<String>> = values(&supports, "project_id")
        .zip(values(&supports, "partner_id"))
        .map(|(project, partner)| {
            let key = (project.unwrap_or("").to_string(), partner.unwrap_or("").to_string());
            scores.get(&key).cloned().flatten()
        })
        .collect();
    let mut supports = supports;
    supports
        .with_column(StringChunked::from_iter_options("assessment_score".into(), column.into_iter()).into_column())
        .context("replacing the assessment scores")?;
    Ok(supports)
}
