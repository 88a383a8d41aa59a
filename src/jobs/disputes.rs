//! Disputes after publication (rules.md §11, 第二条, 第二十六条): each partner's window at
//! publication, recording a dispute and telling the managing department, deciding it and telling
//! the partner, and the settlement with finance once every window has closed and no dispute holds
//! the period back (by `run due`, or by `publish` when the window is 0 days).

use super::mailing::{letters_to, send};
use super::{stamp, Context, RunOptions};
use crate::domain::disputes::{self as rules, DisputeState, NotYet};
use crate::domain::inputs::{values, CONTRACTS, PARTNERS};
use crate::domain::job::{Job, JobKind};
use crate::domain::money::fmt2;
use crate::domain::period::{parse_timestamp, Month, Quarter};
use crate::exit::is_mail_queued;
use crate::files::{period_dir, write_all};
use crate::report::templates::label;
use crate::report::{csv, finance, Letter};
use crate::sources::{Sources, Window};
use crate::store::approval::{Figures, PeriodState, PeriodStatus, StateError};
use crate::store::disputes::{Dispute, NewDispute, Window as PartnerWindow};
use crate::store::ledger::{LedgerJob, Outcome, StartedBy};
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The job period a stored job name and period stand for (disputes are of months and quarters).
pub(crate) fn job_of(kind: JobKind, period: &str) -> Option<Job> {
    match kind {
        JobKind::Monthly => period.parse::<Month>().ok().map(Job::Monthly),
        JobKind::Quarterly => period.parse::<Quarter>().ok().map(Job::Quarterly),
        JobKind::Renewal | JobKind::Annual => None,
    }
}

fn instant(text: &str) -> anyhow::Result<NaiveDateTime> {
    parse_timestamp(text).ok_or_else(|| anyhow::anyhow!("the store holds {text:?} where an instant belongs"))
}

/// The partners' contact addresses and managing departments, from the source (the source of
/// record for both).
struct Contacts {
    emails: HashMap<String, String>,
    departments: HashMap<String, BTreeSet<String>>,
}

async fn contacts(cx: &Context, job: Job) -> anyhow::Result<Contacts> {
    let window = Window::between(job.first_month().start(), job.period_end());
    let source = Sources::connect(&cx.settings).await?;
    let read = source.fetch_all(&[PARTNERS, CONTRACTS], &window).await;
    source.close().await;
    let mut read = read?;
    let (partners, contracts) = (read.take(PARTNERS), read.take(CONTRACTS));
    let emails = values(&partners, "partner_id")
        .zip(values(&partners, "contact_email"))
        .filter_map(|(p, e)| Some((p?.to_string(), e?.to_string())))
        .collect();
    // A month is the after-sales partners' assessment, a quarter the presales settlement: the
    // departments that manage those contracts are the ones told.
    let kind = if job.kind() == JobKind::Monthly { "aftersales" } else { "presales" };
    let mut departments: HashMap<String, BTreeSet<String>> = HashMap::new();
    let rows = values(&contracts, "partner_id").zip(values(&contracts, "department")).zip(values(&contracts, "kind"));
    for ((p, d), k) in rows {
        if let (Some(p), Some(d), Some(k)) = (p, d, k) {
            if k.trim() == kind {
                departments.entry(p.to_string()).or_default().insert(d.to_string());
            }
        }
    }
    Ok(Contacts { emails, departments })
}

/// The managers of the departments that manage a partner.
fn managers(cx: &Context, contacts: &Contacts, partner: &str) -> Vec<String> {
    let mut to: Vec<String> = contacts
        .departments
        .get(partner)
        .into_iter()
        .flatten()
        .flat_map(|d| cx.settings.departments.get(d).cloned().unwrap_or_default())
        .collect();
    to.sort();
    to.dedup();
    to
}

/// Records messages and delivers them; a mail server that does not answer leaves them queued
/// (the line says so) without undoing what was recorded.
async fn mail_line(
    cx: &Context,
    store: &Store,
    letters: &[crate::store::outbox::OutboxMessage],
) -> anyhow::Result<String> {
    match send(cx, store, letters, RunOptions::default(), cx.now()).await {
        Ok(line) => Ok(line),
        Err(e) if is_mail_queued(&e) => Ok(format!("mail waits: {e:#}")),
        Err(e) => Err(e),
    }
}

/// The rows of a partner's period that a dispute may name: the rows behind its month (tickets,
/// orders, events, fee lines), or its settled presales projects of the quarter.
async fn quotable_rows(store: &Store, job: Job, partner: &str) -> anyhow::Result<BTreeSet<String>> {
    Ok(match job {
        Job::Monthly(month) => store.partner_evidence(month, partner).await?.into_iter().map(|e| e.row_id).collect(),
        Job::Quarterly(quarter) => store
            .quarter_settlements(quarter)
            .await?
            .into_iter()
            .filter(|s| s.partner_id == partner)
            .map(|s| s.project_id)
            .collect(),
        Job::Renewal(_) | Job::Annual(_) => BTreeSet::new(),
    })
}

/// `dispute open`: records a partner's objection to its published result and tells the managing
/// department's managers (one message per dispute). The last line is the dispute id alone.
pub(crate) async fn open(
    cx: &Context,
    store: &Store,
    job: Job,
    partner: &str,
    reason: &str,
    by: &str,
    refs: &[String],
) -> anyhow::Result<Vec<String>> {
    let (kind, period, now) = (job.kind(), job.period(), cx.now());
    let published = matches!(store.period_state(kind, &period).await?, Some(s) if s.status == PeriodStatus::Published);
    if !published {
        return Err(StateError::Other(format!(
            "{job} is not published: a partner disputes a result it has been told (approve and publish it first)"
        ))
        .into());
    }
    let windows = store.windows(kind, &period).await?;
    let Some(window) = windows.iter().find(|w| w.partner_id == partner) else {
        return Err(StateError::Other(format!("{partner} has no published result for {job}")).into());
    };
    let closes = instant(&window.closes_at)?;
    if now >= closes {
        return Err(StateError::Other(format!(
            "the dispute window of {partner} for {job} closed at {}: a dispute is no longer accepted",
            window.closes_at
        ))
        .into());
    }
    let known = quotable_rows(store, job, partner).await?;
    let unknown: Vec<&str> = refs.iter().map(String::as_str).filter(|r| !known.contains(*r)).collect();
    if !unknown.is_empty() {
        return Err(StateError::Other(format!(
            "not rows of {partner}'s {job}: {}; quote the row ids its scorecard (or `ict-partners explain`) lists",
            unknown.join(", ")
        ))
        .into());
    }
    let mut refs: Vec<String> = refs.to_vec();
    refs.sort();
    refs.dedup();
    // Who to tell is read before anything is recorded: a source that cannot be read (exit 69)
    // leaves nothing committed, and a retry records the dispute once.
    let contacts = contacts(cx, job).await?;
    let to = managers(cx, &contacts, partner);
    let at = stamp(now);
    let new = NewDispute { job: kind, period: &period, partner_id: partner, reason, refs: &refs, by, at: &at };
    let id = store.open_dispute(new).await?;
    super::index::write_index(cx, store).await;
    let locale = cx.settings.locale.as_str();
    let refs_text = if refs.is_empty() { "—".to_string() } else { refs.join(", ") };
    let args = [
        ("id", id.as_str()),
        ("period", period.as_str()),
        ("partner", partner),
        ("reason", reason),
        ("refs", refs_text.as_str()),
        ("closes", window.closes_at.as_str()),
        ("by", by),
    ];
    let text = label(locale, "dispute_body", &args);
    let letter = Letter {
        subject: label(locale, "dispute_subject", &args),
        html: format!("<pre>{}</pre>", minijinja::HtmlEscape(&text)),
        text,
        images: vec![],
    };
    let messages = letters_to(cx, kind.as_str(), &period, &format!("dispute:{id}"), &to, &letter, &[]);
    let mail = mail_line(cx, store, &messages).await?;
    Ok(vec![
        format!(
            "dispute {id} recorded: {partner} {job}, {} row(s) named; the window closes {}",
            refs.len(),
            window.closes_at
        ),
        mail,
        id,
    ])
}

/// `dispute resolve`: decides an open dispute and tells the partner. An accepted one is put right
/// by reopening the period (naming the dispute), rerunning, approving and publishing it again.
pub(crate) async fn resolve(
    cx: &Context,
    store: &Store,
    id: &str,
    accept: bool,
    by: &str,
    note: &str,
) -> anyhow::Result<Vec<String>> {
    // The partner's address is read before the decision is recorded (see `open`); an unknown
    // dispute is refused by `resolve_dispute` as before.
    let job = store.dispute(id).await?.and_then(|d| job_of(d.job, &d.period));
    let contacts = match job {
        Some(job) => Some(contacts(cx, job).await?),
        None => None,
    };
    let d = store.resolve_dispute(id, accept, by, note, &stamp(cx.now())).await?;
    super::index::write_index(cx, store).await;
    let (Some(job), Some(contacts)) = (job, contacts) else {
        anyhow::bail!("dispute {id} is of {} {}", d.job, d.period)
    };
    let to: Vec<String> = contacts.emails.get(&d.partner_id).cloned().into_iter().collect();
    let locale = cx.settings.locale.as_str();
    let key = if accept { "ruling_accepted" } else { "ruling_rejected" };
    let args = [("id", id), ("period", d.period.as_str()), ("partner", d.partner_id.as_str()), ("note", note)];
    let text = label(locale, &format!("{key}_body"), &args);
    let letter = Letter {
        subject: label(locale, &format!("{key}_subject"), &args),
        html: format!("<pre>{}</pre>", minijinja::HtmlEscape(&text)),
        text,
        images: vec![],
    };
    let messages = letters_to(cx, d.job.as_str(), &d.period, &format!("ruling:{id}"), &to, &letter, &[]);
    let mail = mail_line(cx, store, &messages).await?;
    let next = if accept {
        format!(
            "dispute {id} accepted by {by}; put it right: ict-partners reopen {} --{} {} --by NAME --reason \"dispute {id}: …\", \
             then run, approve and publish it again",
            d.job,
            if d.job == JobKind::Monthly { "month" } else { "quarter" },
            d.period
        )
    } else {
        format!("dispute {id} rejected by {by}; {} settles once its windows have closed", job)
    };
    Ok(vec![next, mail])
}

/// A reopening of a period with accepted disputes must name them (so that the audit trail says
/// what was put right).
pub(crate) async fn check_reopen_reason(
    store: &Store,
    kind: JobKind,
    period: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let accepted: Vec<Dispute> = store
        .disputes(Some((kind, period)), true)
        .await?
        .into_iter()
        .filter(|d| d.state == DisputeState::Accepted)
        .collect();
    if !accepted.is_empty() && !accepted.iter().any(|d| reason.contains(&d.id)) {
        let ids: Vec<&str> = accepted.iter().map(|d| d.id.as_str()).collect();
        return Err(StateError::Other(format!(
            "{kind} {period} has accepted disputes ({}): name the one(s) this reopening puts right in --reason",
            ids.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// `dispute list`: the disputes with their state, age and the partner's window.
pub(crate) async fn list(cx: &Context, store: &Store, job: Option<Job>, open_only: bool) -> anyhow::Result<String> {
    let period = job.map(|j| (j.kind(), j.period()));
    let disputes = store.disputes(period.as_ref().map(|(k, p)| (*k, p.as_str())), open_only).await?;
    if disputes.is_empty() {
        return Ok("no disputes\n".into());
    }
    let mut closes: BTreeMap<(JobKind, String, String), String> = BTreeMap::new();
    let periods: BTreeSet<(JobKind, String)> = disputes.iter().map(|d| (d.job, d.period.clone())).collect();
    for (kind, p) in periods {
        for w in store.windows(kind, &p).await? {
            closes.insert((kind, p.clone(), w.partner_id), w.closes_at);
        }
    }
    let now = cx.now();
    let rows: Vec<Vec<String>> = disputes
        .iter()
        .map(|d| {
            let age = parse_timestamp(&d.opened_at).map_or(0, |t| (now - t).num_days());
            let window = closes.get(&(d.job, d.period.clone(), d.partner_id.clone())).cloned().unwrap_or_default();
            vec![
                d.id.clone(),
                format!("{} {}", d.job, d.period),
                d.partner_id.clone(),
                d.state.as_str().to_string(),
                d.opened_at.clone(),
                format!("{age} d"),
                window,
                d.refs.join(";"),
                d.reason.clone(),
            ]
        })
        .collect();
    let header = ["dispute", "period", "partner", "state", "opened", "age", "window closes", "rows", "reason"];
    Ok(crate::report::ledger::aligned(&header, &rows))
}

/// The windows a publication opens: for each partner told for the first time, or told figures
/// that changed since it was last told, a new window from `now`, with the figures it was told
/// before (if any). Partners whose figures did not change keep their window.
pub(crate) async fn publication(
    cx: &Context,
    store: &Store,
    kind: JobKind,
    period: &str,
    current: &BTreeMap<String, Figures>,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<(PartnerWindow, Option<Figures>)>> {
    let before: HashMap<String, PartnerWindow> =
        store.windows(kind, period).await?.into_iter().map(|w| (w.partner_id.clone(), w)).collect();
    let rules = &cx.settings.rules;
    let closes = rules::closes_at(now, rules.dispute_window_working_days, &rules.calendar)?;
    Ok(current
        .iter()
        .filter_map(|(partner, figures)| {
            let old = before.get(partner);
            (old.map(|w| &w.figures) != Some(figures)).then(|| {
                let window = PartnerWindow {
                    partner_id: partner.clone(),
                    revision: old.map_or(1, |w| w.revision + 1),
                    published_at: stamp(now),
                    closes_at: stamp(closes),
                    figures: figures.clone(),
                };
                (window, old.map(|w| w.figures.clone()))
            })
        })
        .collect())
}

/// The last day a partner may dispute a result published at `published_at` (for its scorecard).
pub(crate) fn last_day(cx: &Context, published_at: NaiveDateTime) -> anyhow::Result<Option<chrono::NaiveDate>> {
    let rules = &cx.settings.rules;
    Ok(rules::last_day(published_at, rules.dispute_window_working_days, &rules.calendar)?)
}

/// Whether a published period may be settled at `at`, and if not why.
async fn readiness(store: &Store, job: Job, at: NaiveDateTime) -> anyhow::Result<Result<(), NotYet>> {
    let (kind, period) = (job.kind(), job.period());
    let closes: Vec<NaiveDateTime> =
        store.windows(kind, &period).await?.iter().map(|w| instant(&w.closes_at)).collect::<anyhow::Result<_>>()?;
    let disputes: Vec<(String, DisputeState)> =
        store.disputes(Some((kind, &period)), false).await?.into_iter().map(|d| (d.id, d.state)).collect();
    Ok(rules::settlement(at, closes, &disputes))
}

fn waiting(job: Job, why: &NotYet) -> String {
    match why {
        NotYet::WindowOpen(closes) => {
            format!("{job}: published; the finance export waits for the dispute window (closes {closes})")
        }
        NotYet::InDispute(ids) => format!("{job}: in dispute ({}); the finance export waits", ids.join(", ")),
    }
}

/// The monthly finance export of an approved month: each partner's settlement.
async fn finance_month(
    store: &Store,
    month: Month,
    state: &PeriodState,
    locale: &str,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let period = month.to_string();
    let (by, at) = (state.approved_by.clone().unwrap_or_default(), state.approved_at.clone().unwrap_or_default());
    let mut export = Vec::new();
    for p in store.month_partners(month).await? {
        let Some(stored) = store.explanation(month, &p.partner_id).await? else { continue };
        let mut contracts: Vec<&str> =
            stored.evidence.iter().filter(|e| e.source == "fee_items").map(|e| e.detail.as_str()).collect();
        contracts.sort_unstable();
        contracts.dedup();
        export.push(vec![
            p.partner_id.clone(),
            p.partner_name.clone(),
            contracts.join(";"),
            period.clone(),
            p.settlement.map(fmt2).unwrap_or_default(),
            by.clone(),
            at.clone(),
        ]);
    }
    let header = ["partner_id", "partner_name", "contracts", "month", "settlement", "approved_by", "approved_at"];
    let book = finance::workbook(locale, &period, &header, &export, 4, month.first_day())?;
    Ok(vec![("finance_settlement.csv".into(), csv::to_csv(&header, export)), ("finance_settlement.xlsx".into(), book)])
}

/// The quarterly finance export of an approved quarter: its settled presales shares.
async fn finance_quarter(
    store: &Store,
    quarter: Quarter,
    state: &PeriodState,
    locale: &str,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let period = quarter.to_string();
    let (by, at) = (state.approved_by.clone().unwrap_or_default(), state.approved_at.clone().unwrap_or_default());
    let export: Vec<Vec<String>> = store
        .quarter_settlements(quarter)
        .await?
        .into_iter()
        .map(|s| {
            let row = [s.partner_id, s.project_id, s.commissioning_unit, period.clone(), fmt2(s.amount)];
            row.into_iter().chain([by.clone(), at.clone()]).collect()
        })
        .collect();
    let header = ["partner_id", "project_id", "commissioning_unit", "quarter", "amount", "approved_by", "approved_at"];
    let book = finance::workbook(locale, &period, &header, &export, 4, quarter.first_day())?;
    Ok(vec![("finance_settlement.csv".into(), csv::to_csv(&header, export)), ("finance_settlement.xlsx".into(), book)])
}

/// What a settlement attempt did.
pub(crate) enum Settlement {
    /// The finance export is written (its CSV's path).
    Written(std::path::PathBuf),
    /// Not yet: a window is open or a dispute holds it back.
    Waiting(String),
    /// The period is not waiting for settlement (not published, or settled already).
    Nothing,
}

/// Settles a published period at `at` when every window has closed and no dispute holds it back:
/// writes its finance export, then records it settled (the export is the same if two processes
/// both get this far; the record is made once).
pub(crate) async fn settle(
    cx: &Context,
    store: &Store,
    job: Job,
    at: NaiveDateTime,
    by: &str,
) -> anyhow::Result<Settlement> {
    let (kind, period) = (job.kind(), job.period());
    let state = match store.period_state(kind, &period).await? {
        Some(s) if s.status == PeriodStatus::Published && s.settled_at.is_none() => s,
        _ => return Ok(Settlement::Nothing),
    };
    if let Err(why) = readiness(store, job, at).await? {
        return Ok(Settlement::Waiting(waiting(job, &why)));
    }
    let files = match job {
        Job::Monthly(month) => finance_month(store, month, &state, &cx.settings.locale).await?,
        Job::Quarterly(quarter) => finance_quarter(store, quarter, &state, &cx.settings.locale).await?,
        Job::Renewal(_) | Job::Annual(_) => return Ok(Settlement::Nothing),
    };
    let dir = period_dir(&cx.settings.output_dir, kind.as_str(), &period);
    write_all(&dir, &files)?;
    store.mark_settled(kind, &period, by, &stamp(at)).await?;
    Ok(Settlement::Written(dir.join("finance_settlement.csv")))
}

/// Settles every published period whose time has come (`run due`): each under the ledger's claim
/// on its settlement, so that two passes at once settle it once. One line per period.
pub(crate) async fn settle_due(
    cx: &Context,
    store: &Store,
    as_of: NaiveDateTime,
    started_by: StartedBy,
) -> (Vec<String>, Option<anyhow::Error>) {
    let (mut lines, mut failure) = (Vec::new(), None);
    let unsettled = match store.unsettled().await {
        Ok(u) => u,
        Err(e) => return (vec![format!("settlement: FAILED: {e:#}")], Some(e.into())),
    };
    for (kind, period) in unsettled {
        let Some(job) = job_of(kind, &period) else { continue };
        match readiness(store, job, as_of).await {
            Ok(Err(why)) => {
                lines.push(waiting(job, &why));
                continue;
            }
            Ok(Ok(())) => {}
            Err(e) => {
                lines.push(format!("{job} settlement: FAILED: {e:#}"));
                failure.get_or_insert(e);
                continue;
            }
        }
        let lease = cx.settings.schedule.lease;
        let claim = match store.claim(LedgerJob::Settlement(kind), &period, started_by, lease, &cx.system).await {
            Ok(claim) => claim,
            Err(e) => {
                let e = anyhow::Error::from(e);
                if crate::exit::is_held(&e) {
                    lines.push(format!("{job} settlement: skipped, {e:#}"));
                } else {
                    lines.push(format!("{job} settlement: FAILED: {e:#}"));
                    failure.get_or_insert(e);
                }
                continue;
            }
        };
        let result = settle(cx, store, job, as_of, started_by.as_str()).await;
        let (outcome, error, line) = match &result {
            Ok(Settlement::Written(path)) => {
                (Outcome::Succeeded, None, format!("{job} settlement: finance export written ({})", path.display()))
            }
            Ok(Settlement::Waiting(why)) => (Outcome::Succeeded, None, why.clone()),
            Ok(Settlement::Nothing) => (Outcome::Succeeded, None, format!("{job} settlement: settled already")),
            Err(e) => (Outcome::Failed, Some(format!("{e:#}")), format!("{job} settlement: FAILED: {e:#}")),
        };
        let rules_hash = &cx.settings.rules.hash;
        if let Err(e) = store.finish(claim, outcome, &line, error.as_deref(), rules_hash, &cx.system).await {
            tracing::warn!(error = %e, "could not record the settlement's end in the ledger");
        }
        lines.push(line);
        if let Err(e) = result {
            failure.get_or_insert(e);
        }
        super::index::write_index(cx, store).await;
    }
    (lines, failure)
}

/// Where a period stands, in the locale's words: draft, approved, published (window open), in
/// dispute, settled.
pub(crate) async fn standing(
    cx: &Context,
    store: &Store,
    kind: JobKind,
    period: &str,
) -> anyhow::Result<Option<String>> {
    let Some(state) = store.period_state(kind, period).await? else { return Ok(None) };
    let locale = cx.settings.locale.as_str();
    let key = match state.status {
        PeriodStatus::Draft => "state_draft",
        PeriodStatus::Approved => "state_approved",
        PeriodStatus::Published if state.settled_at.is_some() => "state_settled",
        PeriodStatus::Published => {
            let holding = store.disputes(Some((kind, period)), true).await?;
            if holding.is_empty() {
                "state_published"
            } else {
                "state_in_dispute"
            }
        }
    };
    Ok(Some(label(locale, key, &[])))
}

/// Every period with a state, newest first, as rows for `runs`: job, period, where it stands,
/// approved (by, at), published, settled.
pub(crate) async fn periods(cx: &Context, store: &Store) -> anyhow::Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for (kind, period) in store.period_list().await? {
        let Some(state) = store.period_state(kind, &period).await? else { continue };
        let standing = standing(cx, store, kind, &period).await?.unwrap_or_default();
        let approved = match (&state.approved_by, &state.approved_at) {
            (Some(by), Some(at)) => format!("{by} {at}"),
            _ => "-".into(),
        };
        rows.push(vec![
            kind.to_string(),
            period,
            standing,
            approved,
            state.published_at.unwrap_or_else(|| "-".into()),
            state.settled_at.unwrap_or_else(|| "-".into()),
        ]);
    }
    Ok(rows)
}
