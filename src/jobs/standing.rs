//! Where each unit of a period stands, in the locale's words (草稿, 已审批, 已发布 with the dispute
//! window, 申诉中, 已结算): for `runs`, `index.html`, the state line of the unit's page, and the
//! settlement's readiness, which reads the same windows and disputes.

use super::Context;
use crate::domain::job::JobKind;
use crate::domain::period::parse_timestamp;
use crate::domain::units::{Membership, UnitStatus};
use crate::report::templates::label;
use crate::store::units::UnitState;
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::BTreeSet;

/// One unit of a period: its decisions, its told partners' windows and the disputes that hold
/// its settlement back.
#[derive(Debug, Clone)]
pub(crate) struct UnitView {
    pub(crate) unit: String,
    pub(crate) status: UnitStatus,
    pub(crate) state: Option<UnitState>,
    /// When the windows of the partners it told close.
    pub(crate) closes: Vec<NaiveDateTime>,
    /// Disputes of its partners still open, or accepted and not yet put right.
    pub(crate) holding: Vec<String>,
    /// Its items (partners, or project shares).
    pub(crate) items: BTreeSet<String>,
}

/// The partner of an item (a quarter's items are `project/partner`).
pub(crate) fn partner_of(job: JobKind, item: &str) -> &str {
    match job {
        JobKind::Quarterly => item.split_once('/').map_or(item, |(_, p)| p),
        _ => item,
    }
}

/// Every unit of a computed period with where it stands.
pub(crate) async fn views(store: &Store, job: JobKind, period: &str) -> anyhow::Result<(Membership, Vec<UnitView>)> {
    let membership = store.membership(job, period).await?;
    let states = store.unit_states(job, period).await?;
    let windows = store.windows(job, period).await?;
    let disputes = store.disputes(Some((job, period)), true).await?;
    let mut out = Vec::new();
    for unit in membership.units() {
        let items: BTreeSet<String> = membership.items_of(&unit).cloned().collect();
        let partners: BTreeSet<&str> = items.iter().map(|i| partner_of(job, i)).collect();
        let closes = windows
            .iter()
            .filter(|w| partners.contains(w.partner_id.as_str()))
            .filter(|w| job != JobKind::Quarterly || w.unit == unit)
            .filter_map(|w| parse_timestamp(&w.closes_at))
            .collect();
        let holding = disputes
            .iter()
            .filter(|d| d.state.holds_settlement() && partners.contains(d.partner_id.as_str()))
            .map(|d| d.id.clone())
            .collect();
        let state = states.get(&unit).cloned();
        let status = state.as_ref().map_or(UnitStatus::Draft, |s| s.status);
        out.push(UnitView { unit, status, state, closes, holding, items });
    }
    Ok((membership, out))
}

/// A unit's standing in the locale's words.
pub(crate) fn words(locale: &str, view: &UnitView) -> String {
    match (view.status, &view.state) {
        (UnitStatus::Draft, _) => label(locale, "state_draft", &[]),
        (UnitStatus::Approved, _) => label(locale, "state_approved", &[]),
        (UnitStatus::Published, Some(s)) if s.settled_at.is_some() => label(locale, "state_settled", &[]),
        (UnitStatus::Published, _) if !view.holding.is_empty() => label(locale, "state_in_dispute", &[]),
        (UnitStatus::Published, _) => match view.closes.iter().max() {
            Some(closes) => {
                // The window closes at midnight after its last day: people read the last day.
                let last = closes.date().pred_opt().unwrap_or(closes.date());
                label(locale, "state_published_until", &[("date", &last.format("%Y-%m-%d").to_string())])
            }
            None => label(locale, "state_published", &[]),
        },
    }
}

/// The period's units and standings on one line (`网络部：已审批；政企客户部：草稿`), for the index.
pub(crate) async fn summary(cx: &Context, store: &Store, job: JobKind, period: &str) -> Option<String> {
    // Only a computed period has units to show.
    store.computed(job, period).await.ok()??;
    let (_, views) = views(store, job, period).await.ok()?;
    let locale = cx.settings.locale.as_str();
    let parts: Vec<String> =
        views.iter().map(|v| format!("{}：{}", unit_name(locale, &v.unit), words(locale, v))).collect();
    Some(if parts.is_empty() { label(locale, "state_draft", &[]) } else { parts.join("；") })
}

/// A unit's name as people read it ('' is a partner without a managing department).
pub(crate) fn unit_name(locale: &str, unit: &str) -> String {
    if unit.is_empty() {
        label(locale, "unit_unnamed", &[])
    } else {
        unit.to_string()
    }
}

/// Every unit of every computed period, newest period first, as rows for `runs`: job, period,
/// unit, where it stands, approved (by, at), published, settled.
pub(crate) async fn rows(cx: &Context, store: &Store) -> anyhow::Result<Vec<Vec<String>>> {
    let locale = cx.settings.locale.as_str();
    let mut rows = Vec::new();
    for (kind, period) in store.period_list().await? {
        if kind == JobKind::Renewal {
            continue;
        }
        let (_, views) = views(store, kind, &period).await?;
        for v in &views {
            let approved = v.state.as_ref().map_or("-".to_string(), |s| format!("{} {}", s.approved_by, s.approved_at));
            let published = v.state.as_ref().and_then(|s| s.published_at.clone()).unwrap_or_else(|| "-".into());
            let settled = v.state.as_ref().and_then(|s| s.settled_at.clone()).unwrap_or_else(|| "-".into());
            rows.push(vec![
                label(locale, &format!("job_{kind}"), &[]),
                period.clone(),
                unit_name(locale, &v.unit),
                words(locale, v),
                approved,
                published,
                settled,
            ]);
        }
    }
    Ok(rows)
}

/// After a decision: the index, and the state line of the period's unit pages, say where each
/// unit stands now. A failure is logged, never fatal: the decision is recorded.
pub(crate) async fn refresh(cx: &Context, store: &Store, job: JobKind, period: &str) {
    if job == JobKind::Monthly {
        if let Ok((_, views)) = views(store, job, period).await {
            let dir = crate::files::period_dir(&cx.settings.output_dir, job.as_str(), period);
            for v in &views {
                let path = dir.join(crate::report::monthly::department_file(&v.unit));
                let line =
                    crate::report::monthly::state_line(&cx.settings.locale, v.status, &words(&cx.settings.locale, v));
                if let Err(e) = crate::files::replace_marked(&path, "state", &line) {
                    tracing::debug!(error = %e, path = %path.display(), "the unit's page keeps its state line");
                }
            }
        }
    }
    super::index::write_index(cx, store).await;
}
