//! Disputes after publication (rules.md §11, 第二条, 第二十六条): recording a partner's objection
//! within its window and telling the managing department, deciding it and telling the partner,
//! and the reopening that must name the accepted disputes it puts right.

use super::mailing::{letters_to, send};
use super::{stamp, Context, RunOptions};
use crate::domain::disputes::DisputeState;
use crate::domain::job::{Job, JobKind};
use crate::domain::period::parse_timestamp;
use crate::domain::refusal::StateError;
use crate::exit::is_mail_queued;
use crate::report::templates::label;
use crate::report::Letter;
use crate::store::disputes::{Dispute, NewDispute};
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, BTreeSet};

use super::contacts::{contacts, managers};
pub(crate) use super::settlement::job_of;

fn instant(text: &str) -> anyhow::Result<NaiveDateTime> {
    parse_timestamp(text).ok_or_else(|| anyhow::anyhow!("the store holds {text:?} where an instant belongs"))
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
        Job::Monthly(month) => store
            .evidence_of(month, &BTreeSet::from([partner.to_string()]), crate::domain::monthly::Rows::All)
            .await?
            .remove(partner)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.row_id)
            .collect(),
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
    // A partner disputes a result it has been told: its window exists once its units published.
    let windows = store.windows(kind, &period).await?;
    let Some(window) = windows.iter().filter(|w| w.partner_id == partner).max_by(|a, b| a.closes_at.cmp(&b.closes_at))
    else {
        return Err(StateError::Other(label(
            &cx.settings.locale,
            "dispute_not_told",
            &[("partner", partner), ("period", &period)],
        ))
        .into());
    };
    let closes = instant(&window.closes_at)?;
    let locale = cx.settings.locale.as_str();
    if now >= closes {
        let args = [("partner", partner), ("period", period.as_str()), ("closes", window.closes_at.as_str())];
        return Err(StateError::Other(label(locale, "dispute_window_closed", &args)).into());
    }
    let known = quotable_rows(store, job, partner).await?;
    let unknown: Vec<&str> = refs.iter().map(String::as_str).filter(|r| !known.contains(*r)).collect();
    if !unknown.is_empty() {
        let rows = unknown.join("、");
        let args = [("partner", partner), ("period", period.as_str()), ("rows", rows.as_str())];
        return Err(StateError::Other(label(locale, "dispute_unknown_rows", &args)).into());
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
    super::standing::refresh(cx, store, kind, &period).await;
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
    let count = refs.len().to_string();
    let args = [
        ("id", id.as_str()),
        ("partner", partner),
        ("period", period.as_str()),
        ("count", count.as_str()),
        ("closes", window.closes_at.as_str()),
    ];
    Ok(vec![label(locale, "dispute_recorded", &args), mail, id])
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
    super::standing::refresh(cx, store, d.job, &d.period).await;
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
    let args = [("id", id), ("by", by), ("period", d.period.as_str())];
    let next = label(locale, if accept { "dispute_accepted_line" } else { "dispute_rejected_line" }, &args);
    let _ = job;
    Ok(vec![next, mail])
}

/// A reopening of a period with accepted disputes must name them (so that the audit trail says
/// what was put right).
pub(crate) async fn check_reopen_reason(
    locale: &str,
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
        let ids = ids.join("、");
        return Err(
            StateError::Other(label(locale, "reopen_names_disputes", &[("period", period), ("ids", &ids)])).into()
        );
    }
    Ok(())
}

/// `dispute list`: the disputes with their state, age and the partner's window.
pub(crate) async fn list(cx: &Context, store: &Store, job: Option<Job>, open_only: bool) -> anyhow::Result<String> {
    let period = job.map(|j| (j.kind(), j.period()));
    let disputes = store.disputes(period.as_ref().map(|(k, p)| (*k, p.as_str())), open_only).await?;
    let locale = cx.settings.locale.as_str();
    if disputes.is_empty() {
        return Ok(format!("{}\n", label(locale, "dispute_none", &[])));
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
                label(locale, &format!("job_{}", d.job), &[]),
                d.period.clone(),
                d.partner_id.clone(),
                label(locale, &format!("dispute_state_{}", d.state.as_str()), &[]),
                d.opened_at.clone(),
                label(locale, "dispute_age", &[("days", &age.to_string())]),
                window,
                d.refs.join(";"),
                d.reason.clone(),
            ]
        })
        .collect();
    let header: Vec<String> = ["id", "job", "period", "partner", "state", "opened", "age", "closes", "rows", "reason"]
        .iter()
        .map(|k| label(locale, &format!("dispute_col_{k}"), &[]))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    Ok(crate::report::ledger::aligned(&header, &rows))
}
