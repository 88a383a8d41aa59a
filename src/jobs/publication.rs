//! Publication of an approved unit (rules.md §11–§12, 第二十六条), whole or not at all: who to
//! tell and their addresses are read, every scorecard (form, annual result) is built, and only
//! then are the unit's publication, its partners' dispute windows and its messages committed in
//! one transaction. A failure changes nothing and a retry completes it; `--resend` queues a
//! published unit's messages again. A month's partners each get their scorecard, a quarter's
//! partners and commissioning unit their 结算确认表, a year's partners their annual result.

use super::approval::{actor, describe_changes, job_words};
use super::contacts::{contacts, Contacts};
use super::mailing::{letters_to, send};
use super::settlement::{settle, Settlement};
use super::units::{chosen, Chosen};
use super::{stamp, Context, RunOptions};
use crate::domain::job::{Job, JobKind};
use crate::domain::money::fmt2;
use crate::domain::monthly::Rows;
use crate::domain::refusal::StateError;
use crate::domain::units::{Change, Figures, UnitChoice, UnitStatus};
use crate::files::safe_name;
use crate::mail::AttachedFile;
use crate::report::forms::{self, Form};
use crate::report::templates::{self, label};
use crate::report::{explain, Letter};
use crate::store::disputes::Window;
use crate::store::monthly::StoredExplanation;
use crate::store::outbox::OutboxMessage;
use crate::store::units::Release;
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Everything a unit's publication records, built before anything is.
struct Built {
    windows: Vec<Window>,
    /// Every partner the unit tells (their accepted disputes are put right with it).
    partners: Vec<String>,
    messages: Vec<OutboxMessage>,
    /// Partners told (scorecards, forms or annual results).
    told: usize,
    /// Of them, told a correction.
    corrected: usize,
}

/// Publishes the named approved units of a period (or, with `resend`, queues a published unit's
/// messages again). One line per unit, then the mail's.
pub(crate) async fn publish(
    cx: &Context,
    store: &Store,
    job: Job,
    choice: &UnitChoice,
    by: &str,
    resend: bool,
) -> anyhow::Result<Vec<String>> {
    let (kind, period, now) = (job.kind(), job.period(), cx.now());
    let locale = cx.settings.locale.as_str();
    let wanted = |s: UnitStatus| if resend { s == UnitStatus::Published } else { s == UnitStatus::Approved };
    let mut c = chosen(cx, store, kind, &period, choice, by, wanted).await?;
    let states = store.unit_states(kind, &period).await?;
    let mut lines = Vec::new();
    let units = c.units.clone();
    for unit in &units {
        let unit_words = super::standing::unit_name(locale, unit);
        let args = |extra: &[(&'static str, String)]| {
            let mut all =
                vec![("job", job_words(locale, kind)), ("period", period.clone()), ("unit", unit_words.clone())];
            all.extend(extra.iter().cloned());
            all
        };
        match (c.status.get(unit).copied().unwrap_or(UnitStatus::Draft), resend) {
            (UnitStatus::Draft, _) => return Err(StateError::NotApproved { unit: unit.clone() }.into()),
            (UnitStatus::Approved, true) => return Err(StateError::NotPublished { unit: unit.clone() }.into()),
            (UnitStatus::Published, false) => {
                let at = states.get(unit).and_then(|s| s.published_at.clone()).unwrap_or_default();
                lines.push(words(locale, "published_already", &args(&[("at", at)])));
            }
            (UnitStatus::Published, true) => {
                let built = build(cx, store, job, unit, &c, now, true).await?;
                let user = cx.system.actor();
                let asked = format!("{by} ({user}@{})", cx.system.host());
                store.enqueue(&built.messages, true, &stamp(now), &asked).await?;
                lines.push(words(locale, "resent_line", &args(&[("count", built.messages.len().to_string())])));
            }
            (UnitStatus::Approved, false) => {
                // Built first: a source that cannot be read or a scorecard that cannot be made
                // stops here, with nothing recorded.
                c.status.insert(unit.clone(), UnitStatus::Published);
                let built = build(cx, store, job, unit, &c, now, false).await?;
                let (at, user) = (stamp(now), cx.system.actor());
                let who = actor(cx, by, &at, &user);
                let release = Release { windows: &built.windows, told: &built.partners, messages: &built.messages };
                store.publish_unit(kind, &period, unit, release, who).await?;
                let finance = match kind {
                    JobKind::Monthly | JobKind::Quarterly => match settle(cx, store, job, unit, now, by).await? {
                        Settlement::Written(path, _) => {
                            words(locale, "finance_written", &[("path", path.display().to_string())])
                        }
                        Settlement::Waiting(_) => words(locale, "finance_waits", &[]),
                        Settlement::Nothing => String::new(),
                    },
                    _ => String::new(),
                };
                lines.push(words(
                    locale,
                    "published_line",
                    &args(&[
                        ("by", by.to_string()),
                        ("told", built.told.to_string()),
                        ("corrected", built.corrected.to_string()),
                        ("finance", finance),
                    ]),
                ));
            }
        }
    }
    super::standing::refresh(cx, store, kind, &period).await;
    // The messages are committed: delivering them may fail (exit 69) and a later run or `mail
    // flush` sends them, but the publication stands.
    lines.push(send(cx, store, &[], RunOptions::default(), now).await?);
    Ok(lines)
}

fn words(locale: &str, key: &str, args: &[(&str, String)]) -> String {
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    label(locale, key, &args)
}

/// The windows and messages of a unit's publication (`resend`: every told partner's messages
/// as they stand, no new windows).
async fn build(
    cx: &Context,
    store: &Store,
    job: Job,
    unit: &str,
    c: &Chosen,
    now: NaiveDateTime,
    resend: bool,
) -> anyhow::Result<Built> {
    let (kind, period) = (job.kind(), job.period());
    // The addresses come from the source of record: read before anything is recorded.
    let contacts = contacts(cx, job).await?;
    let told: BTreeSet<String> = c.membership.told_by(unit, &c.status);
    let items = store.items(kind, &period).await?;
    let window_unit = if kind == JobKind::Quarterly { unit.to_string() } else { String::new() };
    // Figures per (partner, window unit): a quarter's partner is told its shares of the unit.
    let mut current: BTreeMap<(String, String), Figures> = BTreeMap::new();
    for item in &told {
        let Some(f) = items.get(item) else { continue };
        let partner = super::standing::partner_of(kind, item).to_string();
        if partner.is_empty() {
            continue;
        }
        let slot = current.entry((partner, window_unit.clone())).or_default();
        if kind == JobKind::Quarterly {
            if f.grade.as_deref() == Some("settled") {
                slot.amount = Some(slot.amount.unwrap_or_default() + f.amount.unwrap_or_default());
            }
        } else {
            *slot = f.clone();
        }
    }
    let opened: Vec<(Window, Option<Figures>)> = if kind == JobKind::Annual {
        vec![]
    } else {
        super::windows::opened(cx, store, kind, &period, &current, now).await?
    };
    let stored_windows: HashMap<(String, String), Window> =
        store.windows(kind, &period).await?.into_iter().map(|w| ((w.partner_id.clone(), w.unit.clone()), w)).collect();
    // Who is written to: the partners whose figures are new or changed (a resend: all told).
    let writes: Vec<(Window, Option<Figures>)> = if resend {
        current.keys().filter_map(|k| stored_windows.get(k).map(|w| (w.clone(), None))).collect()
    } else if kind == JobKind::Annual {
        current
            .iter()
            .map(|((p, u), f)| {
                let w = Window {
                    partner_id: p.clone(),
                    unit: u.clone(),
                    revision: 1,
                    published_at: stamp(now),
                    closes_at: stamp(now),
                    figures: f.clone(),
                };
                (w, None)
            })
            .collect()
    } else {
        opened.clone()
    };
    let state = store.unit_states(kind, &period).await?.remove(unit);
    let approved = templates::label(
        &cx.settings.locale,
        "scorecard_approved",
        &[
            ("by", state.as_ref().map_or("", |s| s.approved_by.as_str())),
            ("at", state.as_ref().map_or("", |s| s.approved_at.as_str())),
        ],
    );
    let messages = match job {
        Job::Monthly(month) => {
            let partners: BTreeSet<String> = writes.iter().map(|(w, _)| w.partner_id.clone()).collect();
            // One pass over the month's evidence for every partner written to, and last month's
            // figures to say what changed.
            let stored = store.explanations(month, &partners, Rows::Exceptions).await?;
            let before = store.explanations(month.prev(), &partners, Rows::Figures).await?;
            let mut out = Vec::new();
            for (window, corrected) in &writes {
                let Some(s) = stored.get(&window.partner_id) else { continue };
                let published_at = crate::domain::period::parse_timestamp(&window.published_at).unwrap_or(now);
                let card = Scorecard {
                    partner: &window.partner_id,
                    stored: s,
                    previous: before.get(&window.partner_id),
                    period: &period,
                    approved: &approved,
                    corrected: corrected.as_ref(),
                    published_at,
                };
                let letter = scorecard(cx, &card)?;
                let kind = match window.revision {
                    1 => format!("scorecard:{}", window.partner_id),
                    r => format!("scorecard:{}:r{r}", window.partner_id),
                };
                out.extend(letters_to(
                    cx,
                    "monthly",
                    &period,
                    &kind,
                    &contacts.email(&window.partner_id),
                    &letter,
                    &[],
                ));
            }
            out
        }
        Job::Quarterly(quarter) => quarter_messages(cx, store, quarter, unit, &told, &contacts).await?,
        Job::Annual(year) => annual_messages(cx, store, year, &writes, &contacts, &approved).await?,
        Job::Renewal(_) => vec![],
    };
    let corrected = writes.iter().filter(|(_, before)| before.is_some()).count();
    let windows = if resend { vec![] } else { opened.into_iter().map(|(w, _)| w).collect() };
    let partners = current.keys().map(|(p, _)| p.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    Ok(Built { told: writes.len(), corrected, windows, partners, messages })
}

/// What a partner's scorecard is made of.
struct Scorecard<'a> {
    partner: &'a str,
    stored: &'a StoredExplanation,
    /// The month before, when stored: the change and its cause.
    previous: Option<&'a StoredExplanation>,
    period: &'a str,
    approved: &'a str,
    /// The figures last told, when this corrects them.
    corrected: Option<&'a Figures>,
    published_at: NaiveDateTime,
}

/// The rows of each kind a scorecard lists; `explain` and the department's workbook have all.
const SCORECARD_ROWS: usize = 20;

/// A partner's scorecard: the result first (score, grade, payment, the change and its cause, the
/// dispute deadline), the indicators in words, the rows behind them, the arithmetic last; what
/// changed since it was last told (a correction), and how and until when it may dispute (§11).
fn scorecard(cx: &Context, c: &Scorecard) -> anyhow::Result<Letter> {
    let settings = &cx.settings;
    let locale = settings.locale.as_str();
    let (partner, stored) = (c.partner, c.stored);
    let args = [("period", c.period), ("name", stored.partner.partner_name.as_str()), ("partner", partner)];
    let card = explain::card(partner, c.period, stored, c.previous, &settings.rules, locale, Some(SCORECARD_ROWS));
    let changes = c.corrected.map(|old| {
        let after = Figures {
            score: stored.partner.score,
            grade: stored.partner.grade.map(|g| g.as_str().to_string()),
            amount: stored.partner.settlement,
        };
        let change = Change { item: partner.to_string(), before: Some(old.clone()), after: Some(after) };
        format!("{}\n{}", label(locale, "scorecard_changes", &[]), describe_changes(locale, &[change]).join("\n"))
    });
    // Rows worth quoting: late tickets and orders, penalty events, fee lines; any rows otherwise.
    let mut quotable: Vec<&str> = stored
        .evidence
        .iter()
        .filter(|e| matches!(e.outcome.as_str(), "late" | "event" | "included" | "excluded"))
        .map(|e| e.row_id.as_str())
        .collect();
    if quotable.is_empty() {
        quotable = stored.evidence.iter().map(|e| e.row_id.as_str()).collect();
    }
    let examples = quotable.iter().take(3).copied().collect::<Vec<_>>().join("、");
    let (deadline, dispute) = match super::windows::last_day(cx, c.published_at)? {
        Some(day) => {
            let day = day.format("%Y-%m-%d").to_string();
            let text = label(locale, "scorecard_dispute", &[("deadline", &day), ("examples", &examples)]);
            (Some(label(locale, "scorecard_deadline", &[("deadline", &day)])), text)
        }
        None => (None, label(locale, "scorecard_dispute_closed", &[])),
    };
    let key = if c.corrected.is_some() { "scorecard_corrected_subject" } else { "scorecard_subject" };
    let title = label(locale, key, &args);
    let text = explain::text(&card, locale);
    let approved = c.approved;
    let html =
        templates::render("scorecard.html", minijinja::context! { title, card, approved, changes, deadline, dispute })?;
    let mut plain = text;
    if let Some(deadline) = &deadline {
        plain = insert_after_result(&plain, deadline);
    }
    if let Some(changes) = &changes {
        plain = format!("{changes}\n\n{plain}");
    }
    plain.push_str(&format!("\n{dispute}\n"));
    Ok(Letter { subject: label(locale, key, &args), html, text: plain, images: vec![] })
}

/// The text with `line` after its first two lines (the heading and the result).
fn insert_after_result(text: &str, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(lines.len().min(2), line);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A form as an attachment: an ASCII name for every client, the Chinese one for those that read it.
struct FormFile<'a> {
    form: &'a Form,
    ascii: String,
    name: String,
    html: Vec<u8>,
}

/// The unit's 结算确认表: one letter to the commissioning unit with all of them, and one to each
/// partner with its own (谁委托、谁付费).
async fn quarter_messages(
    cx: &Context,
    store: &Store,
    quarter: crate::domain::period::Quarter,
    unit: &str,
    told: &BTreeSet<String>,
    contacts: &Contacts,
) -> anyhow::Result<Vec<OutboxMessage>> {
    let mut result = store.quarter_result(quarter).await?;
    result.rows.retain(|r| r.commissioning_unit == unit);
    let all = forms::forms(&result, &contacts.names, false);
    let forms: Vec<&Form> =
        all.iter().filter(|f| told.iter().any(|t| t.ends_with(&format!("/{}", f.partner_id)))).collect();
    let period = quarter.to_string();
    let locale = cx.settings.locale.as_str();
    let files: Vec<FormFile> = forms
        .iter()
        .filter(|form| form.payable)
        .map(|form| {
            Ok(FormFile {
                form,
                ascii: format!("form-{}-{}.html", safe_name(&form.partner_id), &crate::report::short_hash(unit)),
                name: format!("结算确认表-{}-{}.html", form.partner_name, form.unit),
                html: forms::html(form)?.into_bytes(),
            })
        })
        .collect::<Result<_, minijinja::Error>>()?;
    let mut out = Vec::new();
    let mut push = |kind: String,
                    title: String,
                    recipients: Vec<String>,
                    listed: &[&Form],
                    group: &[&FormFile]|
     -> anyhow::Result<()> {
        let letter = forms::letter(&title, &period, listed)?;
        let attached: Vec<AttachedFile> = group
            .iter()
            .map(|f| AttachedFile {
                ascii_name: &f.ascii,
                name: &f.name,
                content_type: "text/html; charset=utf-8",
                bytes: &f.html,
            })
            .collect();
        out.extend(letters_to(cx, "quarterly", &period, &kind, &recipients, &letter, &attached));
        Ok(())
    };
    if !forms.is_empty() {
        let all: Vec<&FormFile> = files.iter().collect();
        let recipients = cx.settings.commissioning_units.get(unit).cloned().unwrap_or_default();
        let title = label(locale, "subject_forms", &[("quarter", &period), ("to", unit)]);
        // Keyed by their content: forms corrected after a reopening go again, the same ones never.
        let version =
            crate::report::short_hash(&files.iter().map(|f| String::from_utf8_lossy(&f.html)).collect::<String>());
        push(format!("forms_unit:{unit}:v{version}"), title, recipients, &forms, &all)?;
    }
    let mut by_partner: BTreeMap<&str, Vec<&FormFile>> = BTreeMap::new();
    for f in &files {
        by_partner.entry(&f.form.partner_id).or_default().push(f);
    }
    for (partner, group) in &by_partner {
        let to = group[0].form.partner_name.as_str();
        let title = label(locale, "subject_forms", &[("quarter", &period), ("to", to)]);
        let version =
            crate::report::short_hash(&group.iter().map(|f| String::from_utf8_lossy(&f.html)).collect::<String>());
        let listed: Vec<&Form> = group.iter().map(|f| f.form).collect();
        push(format!("forms_partner:{partner}:{unit}:v{version}"), title, contacts.email(partner), &listed, group)?;
    }
    Ok(out)
}

/// Each told partner's annual result: its annual grade, credit points and tier (第二十四条).
async fn annual_messages(
    cx: &Context,
    store: &Store,
    year: i32,
    writes: &[(Window, Option<Figures>)],
    contacts: &Contacts,
    approved: &str,
) -> anyhow::Result<Vec<OutboxMessage>> {
    let locale = cx.settings.locale.as_str();
    let rows = store.annual_rows(year).await?;
    let period = year.to_string();
    let mut out = Vec::new();
    for (w, _) in writes {
        let Some(r) = rows.iter().find(|r| r.partner_id == w.partner_id) else { continue };
        let dash = || "—".to_string();
        let tier = r.tier.to_string();
        let args = [
            ("year", period.clone()),
            ("name", r.partner_name.clone()),
            ("partner", r.partner_id.clone()),
            ("months", r.months_assessed.to_string()),
            ("average", r.average_score.map(fmt2).unwrap_or_else(dash)),
            ("grade", r.annual_grade.map(|g| g.as_str().to_string()).unwrap_or_else(dash)),
            ("credit", fmt2(r.credit_points)),
            ("revenue", fmt2(r.revenue)),
            ("tier", tier.clone()),
            ("tier_words", label(locale, &format!("tier_{tier}"), &[])),
            ("approved", approved.to_string()),
        ];
        let text = words(locale, "annual_result_body", &args);
        let letter = Letter {
            subject: words(locale, "annual_result_subject", &args),
            html: templates::render("annual_result.html", minijinja::context! { text })?,
            text,
            images: vec![],
        };
        // Keyed by its content: a result corrected after a reopening goes again.
        let kind = format!("annual:{}:v{}", r.partner_id, crate::report::short_hash(&letter.text));
        out.extend(letters_to(cx, "annual", &period, &kind, &contacts.email(&r.partner_id), &letter, &[]));
    }
    Ok(out)
}
