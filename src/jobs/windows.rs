//! Each told partner's window to dispute (rules.md §11): opened at publication for the partners
//! told for the first time or told figures that changed; the others keep theirs.

use super::{stamp, Context};
use crate::domain::disputes as rules;
use crate::domain::job::JobKind;
use crate::domain::units::Figures;
use crate::store::disputes::Window;
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, HashMap};

/// The windows a publication opens: for each (partner, unit) told now whose figures are new or
/// changed since it was last told, a window from `now`, with what it was told before (if
/// anything). `current` is keyed by (partner, window unit: '' for a month or a year).
pub(crate) async fn opened(
    cx: &Context,
    store: &Store,
    kind: JobKind,
    period: &str,
    current: &BTreeMap<(String, String), Figures>,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<(Window, Option<Figures>)>> {
    let before: HashMap<(String, String), Window> =
        store.windows(kind, period).await?.into_iter().map(|w| ((w.partner_id.clone(), w.unit.clone()), w)).collect();
    let rules = &cx.settings.rules;
    let closes = rules::closes_at(now, rules.dispute_window_working_days, &rules.calendar)?;
    Ok(current
        .iter()
        .filter_map(|((partner, unit), figures)| {
            let old = before.get(&(partner.clone(), unit.clone()));
            (old.map(|w| &w.figures) != Some(figures)).then(|| {
                let window = Window {
                    partner_id: partner.clone(),
                    unit: unit.clone(),
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
