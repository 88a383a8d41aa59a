//! Settlement with finance, per unit (rules.md §11–§12): once a published unit's windows have
//! closed and no dispute of its partners holds it back, its items go to finance. The period's
//! export (`finance_settlement.csv`/`.xlsx`) holds every item settled so far with its units, and
//! finance (`mail.finance`) gets each unit's rows once. `run due` settles each unit under a claim
//! of the one skeleton every period-claiming step uses.

use super::mailing::letters_to;
use super::standing::{views, UnitView};
use super::{claimed, stamp, Context};
use crate::domain::disputes::{self as rules, NotYet};
use crate::domain::job::{Job, JobKind};
use crate::domain::money::fmt2;
use crate::domain::period::{Month, Quarter};
use crate::domain::units::UnitStatus;
use crate::files::{period_dir, write_all};
use crate::mail::AttachedFile;
use crate::report::templates::label;
use crate::report::{csv, finance, Letter};
use crate::store::ledger::{LedgerJob, StartedBy};
use crate::store::units::{Actor, SettledItem};
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::BTreeSet;
use tracing::Instrument;

/// The job period a stored job name and period stand for (settled periods are months and quarters).
pub(crate) fn job_of(kind: JobKind, period: &str) -> Option<Job> {
    match kind {
        JobKind::Monthly => period.parse::<Month>().ok().map(Job::Monthly),
        JobKind::Quarterly => period.parse::<Quarter>().ok().map(Job::Quarterly),
        JobKind::Renewal | JobKind::Annual => None,
    }
}

/// What a settlement attempt did.
pub(crate) enum Settlement {
    /// The unit's items went to finance (the export's CSV path, how many items).
    Written(std::path::PathBuf, usize),
    /// Not yet: a window is open or a dispute holds it back (why, in words).
    Waiting(String),
    /// The unit is not waiting for settlement (not published, or settled already).
    Nothing,
}

impl super::Summary for Settlement {
    fn summary(&self) -> String {
        match self {
            Settlement::Written(path, n) => format!("{n} items to finance ({})", path.display()),
            Settlement::Waiting(why) => why.clone(),
            Settlement::Nothing => "nothing to settle".into(),
        }
    }
}

/// Whether a unit may be settled at `at`, and if not why.
fn readiness(view: &UnitView, at: NaiveDateTime) -> Result<(), NotYet> {
    let disputes: Vec<(String, crate::domain::disputes::DisputeState)> =
        view.holding.iter().map(|id| (id.clone(), crate::domain::disputes::DisputeState::Open)).collect();
    rules::settlement(at, view.closes.clone(), &disputes)
}

/// A job period in the locale's words (`月度考核 2026-10`).
pub(crate) fn job_words(locale: &str, job: Job) -> String {
    format!("{} {}", super::approval::job_words(locale, job.kind()), job.period())
}

fn waiting(locale: &str, job: Job, unit: &str, why: &NotYet) -> String {
    let (job, unit) = (job_words(locale, job), super::standing::unit_name(locale, unit));
    match why {
        NotYet::WindowOpen(closes) => {
            label(locale, "settle_window_open", &[("job", &job), ("unit", &unit), ("closes", &closes.to_string())])
        }
        NotYet::InDispute(ids) => {
            label(locale, "settle_in_dispute", &[("job", &job), ("unit", &unit), ("ids", &ids.join("、"))])
        }
    }
}

/// The export's rows: every settled item with its figures, its units and the settlement that
/// released it; `header`, and which column is money.
async fn export_rows(
    store: &Store,
    job: Job,
    settled: &[SettledItem],
) -> anyhow::Result<(Vec<&'static str>, Vec<Vec<String>>, usize)> {
    let period = job.period();
    let states = store.unit_states(job.kind(), &period).await?;
    let approved = |s: &SettledItem| {
        let mut who: Vec<String> = s
            .units
            .iter()
            .filter_map(|u| states.get(u).map(|st| format!("{} {}", st.approved_by, st.approved_at)))
            .collect();
        who.dedup();
        who.join(";")
    };
    match job {
        Job::Monthly(month) => {
            let partners: BTreeSet<String> = settled.iter().map(|s| s.item.clone()).collect();
            let stored = store.explanations(month, &partners, crate::domain::monthly::Rows::Events).await?;
            let rows = settled
                .iter()
                .filter_map(|s| {
                    let e = stored.get(&s.item)?;
                    let mut contracts: Vec<&str> =
                        e.evidence.iter().filter(|r| r.source == "fee_items").map(|r| r.detail.as_str()).collect();
                    contracts.sort_unstable();
                    contracts.dedup();
                    Some(vec![
                        s.item.clone(),
                        e.partner.partner_name.clone(),
                        contracts.join(";"),
                        period.clone(),
                        e.partner.settlement.map(fmt2).unwrap_or_default(),
                        s.units.iter().cloned().collect::<Vec<_>>().join(";"),
                        approved(s),
                        s.settled_at.clone(),
                    ])
                })
                .collect();
            let header = vec![
                "partner_id",
                "partner_name",
                "contracts",
                "month",
                "settlement",
                "unit",
                "approved",
                "settled_at",
            ];
            Ok((header, rows, 4))
        }
        Job::Quarterly(quarter) => {
            let shares = store.quarter_settlements(quarter).await?;
            let rows = settled
                .iter()
                .filter_map(|s| {
                    let (project, partner) = s.item.split_once('/')?;
                    let share = shares.iter().find(|x| x.project_id == project && x.partner_id == partner)?;
                    Some(vec![
                        partner.to_string(),
                        project.to_string(),
                        share.commissioning_unit.clone(),
                        period.clone(),
                        fmt2(share.amount),
                        s.unit.clone(),
                        approved(s),
                        s.settled_at.clone(),
                    ])
                })
                .collect();
            let header = vec![
                "partner_id",
                "project_id",
                "commissioning_unit",
                "quarter",
                "amount",
                "unit",
                "approved",
                "settled_at",
            ];
            Ok((header, rows, 4))
        }
        Job::Renewal(_) | Job::Annual(_) => Ok((vec![], vec![], 0)),
    }
}

/// The export's files from its rows (a total row in the workbook).
fn export_files(
    locale: &str,
    job: Job,
    header: &[&str],
    rows: &[Vec<String>],
    money: usize,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let period = job.period();
    let book = finance::workbook(locale, &period, header, rows, money, job.first_month().first_day())?;
    Ok(vec![
        ("finance_settlement.csv".into(), csv::to_csv(header, rows.iter().cloned())),
        ("finance_settlement.xlsx".into(), book),
    ])
}

/// Writes the period's export again from what is settled (after a reopening withdrew a unit's
/// items); with nothing settled, the export is removed. True when anything was withdrawn.
pub(crate) async fn rewrite_export(cx: &Context, store: &Store, kind: JobKind, period: &str) -> anyhow::Result<bool> {
    let Some(job) = job_of(kind, period) else { return Ok(false) };
    let dir = period_dir(&cx.settings.output_dir, kind.as_str(), period);
    let existed = dir.join("finance_settlement.csv").exists();
    let settled = store.settled_items(kind, period).await?;
    if settled.is_empty() {
        for name in ["finance_settlement.csv", "finance_settlement.xlsx"] {
            let _ = std::fs::remove_file(dir.join(name));
        }
        return Ok(existed);
    }
    let (header, rows, money) = export_rows(store, job, &settled).await?;
    write_all(&dir, &export_files(&cx.settings.locale, job, &header, &rows, money)?)?;
    Ok(existed)
}

/// Settles a published unit at `at` when its windows have closed and no dispute of its partners
/// holds it back: the items of the unit whose every unit is then settled go to finance. The
/// export is written and finance's message queued before the settlement is recorded; a retry
/// after a failure writes the same files and queues no second message.
pub(crate) async fn settle(
    cx: &Context,
    store: &Store,
    job: Job,
    unit: &str,
    at: NaiveDateTime,
    by: &str,
) -> anyhow::Result<Settlement> {
    let (kind, period, locale) = (job.kind(), job.period(), cx.settings.locale.as_str());
    let (membership, all) = views(store, kind, &period).await?;
    let Some(view) = all.iter().find(|v| v.unit == unit) else { return Ok(Settlement::Nothing) };
    if view.status != UnitStatus::Published || view.state.as_ref().is_some_and(|s| s.settled_at.is_some()) {
        return Ok(Settlement::Nothing);
    }
    if let Err(why) = readiness(view, at) {
        return Ok(Settlement::Waiting(waiting(locale, job, unit, &why)));
    }
    // The unit's items whose every other unit is settled already go now; the others wait for
    // the last of their units.
    let settled_units: BTreeSet<&str> = all
        .iter()
        .filter(|v| v.state.as_ref().is_some_and(|s| s.settled_at.is_some()) || v.unit == unit)
        .map(|v| v.unit.as_str())
        .collect();
    let released: Vec<(String, BTreeSet<String>)> = view
        .items
        .iter()
        .map(|i| (i.clone(), membership.items[i].clone()))
        .filter(|(_, units)| units.iter().all(|u| settled_units.contains(u.as_str())))
        .collect();
    let when = stamp(at);
    let mut settled = store.settled_items(kind, &period).await?;
    let known: BTreeSet<String> = settled.iter().map(|s| s.item.clone()).collect();
    let fresh: Vec<SettledItem> = released
        .iter()
        .filter(|(i, _)| !known.contains(i))
        .map(|(i, units)| SettledItem {
            item: i.clone(),
            units: units.clone(),
            unit: unit.to_string(),
            settled_at: when.clone(),
        })
        .collect();
    settled.extend(fresh.iter().cloned());
    settled.sort_by(|a, b| a.item.cmp(&b.item));
    let (header, rows, money) = export_rows(store, job, &settled).await?;
    let files = export_files(locale, job, &header, &rows, money)?;
    // Finance gets this unit's rows once, with the period's export attached.
    let (_, mine, _) = export_rows(store, job, &fresh).await?;
    let unit_name = super::standing::unit_name(locale, unit);
    let args = [("period", period.as_str()), ("unit", unit_name.as_str()), ("count", &mine.len().to_string())];
    let text = label(locale, "finance_body", &args);
    let letter = Letter {
        subject: label(locale, "finance_subject", &args),
        html: format!("<pre>{}</pre>", minijinja::HtmlEscape(&text)),
        text,
        images: vec![],
    };
    let attached: Vec<AttachedFile> = files
        .iter()
        .map(|(name, bytes)| AttachedFile {
            ascii_name: name,
            name,
            content_type: if name.ends_with(".csv") {
                "text/csv; charset=utf-8"
            } else {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            },
            bytes,
        })
        .collect();
    // Keyed by the rows it hands over: a unit settled again after a reopening tells finance again.
    let version = crate::report::short_hash(&format!("{mine:?}"));
    let key = format!("finance:{unit}:v{version}");
    let messages = letters_to(cx, kind.as_str(), &period, &key, &cx.settings.finance, &letter, &attached);
    let dir = period_dir(&cx.settings.output_dir, kind.as_str(), &period);
    write_all(&dir, &files)?;
    let user = cx.system.actor();
    let actor = Actor { by, user: &user, host: cx.system.host(), at: &when };
    if !store.settle_unit(kind, &period, unit, &released, &messages, actor).await? {
        return Ok(Settlement::Nothing);
    }
    super::mailing::deliver_quietly(cx, store).await;
    super::standing::refresh(cx, store, kind, &period).await;
    Ok(Settlement::Written(dir.join("finance_settlement.csv"), fresh.len()))
}

/// Settles every published unit whose time has come (`run due`): each under the ledger's claim on
/// its settlement, so that two passes at once settle it once. One line per unit.
pub(crate) async fn settle_due(
    cx: &Context,
    store: &Store,
    as_of: NaiveDateTime,
    started_by: StartedBy,
) -> (Vec<String>, Option<anyhow::Error>) {
    let (mut lines, mut failure) = (Vec::new(), None);
    let locale = cx.settings.locale.as_str();
    let unsettled = match store.unsettled_units().await {
        Ok(u) => u,
        Err(e) => return (vec![label(locale, "settle_failed", &[("error", &format!("{e:#}"))])], Some(e.into())),
    };
    for (kind, period, unit) in unsettled {
        let Some(job) = job_of(kind, &period) else { continue };
        // Waiting is said without a claim: nothing is done then.
        let ready = match views(store, kind, &period).await {
            Ok((_, all)) => all.into_iter().find(|v| v.unit == unit).map(|v| readiness(&v, as_of)),
            Err(e) => {
                lines.push(label(locale, "settle_failed", &[("error", &format!("{e:#}"))]));
                failure.get_or_insert(e);
                continue;
            }
        };
        if let Some(Err(why)) = ready {
            lines.push(waiting(locale, job, &unit, &why));
            continue;
        }
        // The ledger's period is short (16 characters on MySQL): the unit goes in as a hash.
        let claim_period = format!("{period}/{}", crate::report::short_hash(&unit));
        let span = tracing::info_span!("settle", job = kind.as_str(), %period, %unit, run_id = tracing::field::Empty);
        let result = claimed(cx, store, LedgerJob::Settlement(kind), &claim_period, started_by, |_| {
            settle(cx, store, job, &unit, as_of, started_by.as_str())
        })
        .instrument(span)
        .await;
        let unit_name = super::standing::unit_name(locale, &unit);
        match result {
            Ok(Settlement::Written(path, n)) => lines.push(label(
                locale,
                "settle_written",
                &[
                    ("job", &job_words(locale, job)),
                    ("unit", &unit_name),
                    ("count", &n.to_string()),
                    ("path", &path.display().to_string()),
                ],
            )),
            Ok(Settlement::Waiting(why)) => lines.push(why),
            Ok(Settlement::Nothing) => {
                lines.push(label(locale, "settle_already", &[("job", &job_words(locale, job)), ("unit", &unit_name)]))
            }
            Err(e) if crate::exit::is_held(&e) => {
                lines.push(label(locale, "settle_held", &[("job", &job_words(locale, job)), ("unit", &unit_name)]))
            }
            Err(e) => {
                let what = format!("{} {unit_name}: {e:#}", job_words(locale, job));
                lines.push(label(locale, "settle_failed", &[("error", &what)]));
                failure.get_or_insert(e);
            }
        }
    }
    (lines, failure)
}
