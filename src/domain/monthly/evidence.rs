//! The rows behind a month's numbers, kept as columns: every counted ticket and order (the row of
//! its frame, its deadline, on time or late) and every event (penalties, complaints, surveys,
//! violations, fee items). The store keeps them as a few compressed frames per month, and
//! `explain` reads a partner's rows back out of them.
//!
//! The counted tickets and orders stay in the order they were read, cut into parts of
//! [`ROWS_PER_PART`] rows: building a part reads every column front to back, where grouping ten
//! million rows by partner would jump around memory and cost more than the rules themselves. The
//! words that repeat on every row (partner, source, indicator, outcome, SLA class) are small codes,
//! and the deadline and the resolution are seconds after the opening: a part compresses to a few
//! bytes a ticket.

use super::timeliness::Counted;
use super::{DataQualityRow, Evidence};
use crate::domain::clock::{instant, stamp, Stamp};
use crate::domain::frames::{Codes, Orders, Tickets, NULL_CODE, NULL_STAMP};
use polars::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Everything a month's numbers rest on.
#[derive(Debug, Clone, Default)]
pub(crate) struct MonthEvidence {
    pub(crate) tickets: Tickets,
    pub(crate) ticket_indicator: String,
    pub(crate) ticket_rows: Counted,
    pub(crate) orders: Orders,
    pub(crate) order_indicator: String,
    pub(crate) order_rows: Counted,
    pub(crate) events: Vec<Evidence>,
}

/// The sources and outcomes a frame codes (fixed: they are the contract's and the rules'). Codes
/// are `u32`: polars is built without its small integer types, and zstd makes them as small.
const SOURCES: [&str; 6] = ["tickets", "orders", "complaints", "surveys", "violations", "fee_items"];
const OUTCOMES: [&str; 7] = ["on_time", "late", "event", "included", "excluded", "answered", "entered"];

/// Counted tickets and orders per part: about five megabytes compressed, well under what a
/// MariaDB server accepts in one packet by default (16 MiB), and enough parts for every core.
pub(crate) const ROWS_PER_PART: usize = 1 << 19;

/// What a part holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartKind {
    /// Counted tickets, then counted orders.
    Timeliness,
    /// Penalties, complaints, surveys, violations, fee items.
    Events,
    /// The month's quarantined and ignored rows (`data_quality.csv`); not evidence of a partner.
    DataQuality,
}

impl PartKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PartKind::Timeliness => "timeliness",
            PartKind::Events => "events",
            PartKind::DataQuality => "data_quality",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [PartKind::Timeliness, PartKind::Events, PartKind::DataQuality].into_iter().find(|k| k.as_str() == s)
    }
}

/// One part of a month's evidence.
#[derive(Debug, Clone)]
pub(crate) struct EvidencePart {
    pub(crate) kind: PartKind,
    /// Its place among the month's parts of its kind.
    pub(crate) index: usize,
    pub(crate) frame: DataFrame,
}

/// The words the codes of a month's parts stand for: partners, indicator ids, SLA classes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Words {
    pub(crate) partners: Vec<String>,
    pub(crate) indicators: Vec<String>,
    pub(crate) classes: Vec<String>,
}

fn code_of(list: &[&str], word: &str) -> Option<u32> {
    list.iter().position(|w| *w == word).map(|i| i as u32)
}

fn code_in(list: &[String], word: &str) -> Option<u32> {
    list.iter().position(|w| w == word).map(|i| i as u32)
}

/// A partner's code: its place in the month's sorted partner list.
fn partner_code(partners: &[String], partner: &str) -> Option<u32> {
    partners.binary_search_by(|p| p.as_str().cmp(partner)).ok().map(|i| i as u32)
}

fn delta(from: Stamp, to: Stamp) -> Option<i64> {
    (from != NULL_STAMP && to != NULL_STAMP).then(|| to - from)
}

/// Seconds from one instant to another, when both are known.
fn seconds(from: Stamp, to: Stamp) -> Option<i32> {
    delta(from, to).and_then(|d| i32::try_from(d).ok())
}

/// The columns of a timeliness part, in order: the partner (a code), `order` (false: a ticket),
/// the row id, opened (accepted), the deadline and the resolution (completion) as seconds after
/// it, late, and for a ticket its SLA class (a code) and paused seconds.
#[allow(clippy::too_many_arguments)]
fn timeliness_frame(
    height: usize,
    partner: UInt32Chunked,
    order: BooleanChunked,
    row_id: StringChunked,
    started: Int64Chunked,
    due_in: Int32Chunked,
    finished_in: Int32Chunked,
    late: BooleanChunked,
    class: UInt32Chunked,
    paused: UInt32Chunked,
) -> PolarsResult<DataFrame> {
    let columns = vec![
        partner.with_name("partner".into()).into_column(),
        order.with_name("order".into()).into_column(),
        row_id.with_name("row_id".into()).into_column(),
        started.with_name("started_at".into()).into_column(),
        due_in.with_name("due_in".into()).into_column(),
        finished_in.with_name("finished_in".into()).into_column(),
        late.with_name("late".into()).into_column(),
        class.with_name("sla_class".into()).into_column(),
        paused.with_name("paused_seconds".into()).into_column(),
    ];
    DataFrame::new(height, columns)
}

/// The columns of an events part, in order.
#[allow(clippy::too_many_arguments)]
fn events_columns(
    height: usize,
    partner: UInt32Chunked,
    source: UInt32Chunked,
    indicator: UInt32Chunked,
    row_id: StringChunked,
    started: Int64Chunked,
    due_in: Int64Chunked,
    finished_in: Int64Chunked,
    outcome: UInt32Chunked,
    value: StringChunked,
    detail: StringChunked,
) -> PolarsResult<DataFrame> {
    let columns = vec![
        partner.with_name("partner".into()).into_column(),
        source.with_name("source".into()).into_column(),
        indicator.with_name("indicator".into()).into_column(),
        row_id.with_name("row_id".into()).into_column(),
        started.with_name("started_at".into()).into_column(),
        due_in.with_name("due_in".into()).into_column(),
        finished_in.with_name("finished_in".into()).into_column(),
        outcome.with_name("outcome".into()).into_column(),
        value.with_name("value".into()).into_column(),
        detail.with_name("detail".into()).into_column(),
    ];
    DataFrame::new(height, columns)
}

/// A dataset's partner codes as codes of the month's partner list.
fn recode(codes: &Codes, partners: &[String]) -> Vec<u32> {
    codes.names.iter().map(|n| partner_code(partners, n).unwrap_or(NULL_CODE)).collect()
}

fn partner_of(codes: &Codes, recoded: &[u32], row: usize) -> Option<u32> {
    let code = codes.codes[row];
    (code != NULL_CODE).then(|| recoded[code as usize])
}

impl MonthEvidence {
    /// The words the month's parts code.
    pub(crate) fn words(&self) -> Words {
        let mut indicators = vec![self.ticket_indicator.clone(), self.order_indicator.clone()];
        for e in &self.events {
            if !indicators.contains(&e.indicator) {
                indicators.push(e.indicator.clone());
            }
        }
        let mut partners: Vec<String> = self.tickets.partner.names.clone();
        partners.extend(self.orders.partner.names.iter().cloned());
        partners.extend(self.events.iter().map(|e| e.partner_id.clone()));
        partners.sort_unstable();
        partners.dedup();
        Words { partners, indicators, classes: self.tickets.sla_class.names.clone() }
    }

    /// The counted tickets `k` in `from..to` (an index into the counted tickets, then the orders).
    fn timeliness_part(&self, (tp, op): (&[u32], &[u32]), from: usize, to: usize) -> PolarsResult<DataFrame> {
        let (t, tc, o, oc) = (&self.tickets, &self.ticket_rows, &self.orders, &self.order_rows);
        let split = tc.row.len();
        let (tk, ok) = (from.min(split)..to.min(split), from.max(split) - split..to.max(split) - split);
        let trows = &tc.row[tk.clone()];
        let orows = &oc.row[ok.clone()];
        let n = trows.len() + orows.len();
        // Counted rows ascend: their ids are picked out of one slice of the id column, in order.
        let ids = |column: &StringChunked, rows: &[u32]| -> StringChunked {
            let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
                return StringChunked::from_iter_values("".into(), std::iter::empty::<&str>());
            };
            let slice = column.slice(i64::from(first), (last - first + 1) as usize);
            let mut wanted = rows.iter().map(|&r| r - first).peekable();
            let picked = slice
                .iter()
                .enumerate()
                .filter(|(i, _)| wanted.next_if_eq(&(*i as u32)).is_some())
                .map(|(_, id)| id.unwrap_or(""));
            StringChunked::from_iter_values("".into(), picked)
        };
        let mut row_id = ids(&t.id, trows);
        row_id.append_owned(ids(&o.id, orows))?;
        let tr = |k: usize| tc.row[k] as usize;
        let or = |k: usize| oc.row[k] as usize;
        timeliness_frame(
            n,
            UInt32Chunked::from_iter_options(
                "".into(),
                tk.clone()
                    .map(|k| partner_of(&t.partner, tp, tr(k)))
                    .chain(ok.clone().map(|k| partner_of(&o.partner, op, or(k)))),
            ),
            BooleanChunked::from_iter_values("".into(), (0..n).map(|i| i >= trows.len())),
            row_id.rechunk().into_owned(),
            Int64Chunked::from_iter_values(
                "".into(),
                tk.clone().map(|k| t.opened[tr(k)]).chain(ok.clone().map(|k| o.accepted[or(k)])),
            ),
            Int32Chunked::from_iter_options(
                "".into(),
                tk.clone()
                    .map(|k| seconds(t.opened[tr(k)], tc.due[k]))
                    .chain(ok.clone().map(|k| seconds(o.accepted[or(k)], o.due[or(k)]))),
            ),
            Int32Chunked::from_iter_options(
                "".into(),
                tk.clone()
                    .map(|k| seconds(t.opened[tr(k)], t.resolved[tr(k)]))
                    .chain(ok.clone().map(|k| seconds(o.accepted[or(k)], o.completed[or(k)]))),
            ),
            BooleanChunked::from_iter_values(
                "".into(),
                tk.clone().map(|k| !tc.on_time[k]).chain(ok.clone().map(|k| !oc.on_time[k])),
            ),
            UInt32Chunked::from_iter_options(
                "".into(),
                tk.clone()
                    .map(|k| Some(t.sla_class.codes[tr(k)]).filter(|c| *c != NULL_CODE))
                    .chain(ok.clone().map(|_| None)),
            ),
            UInt32Chunked::from_iter_options("".into(), tk.clone().map(|k| Some(tc.paused[k])).chain(ok.map(|_| None))),
        )
    }

    /// The month's parts, each handed to `encode` as soon as it is built (so that only the encoded
    /// forms are kept), built on every core; in order, the events part last.
    pub(crate) fn encode_parts<T: Send>(
        &self,
        words: &Words,
        encode: impl Fn(EvidencePart) -> PolarsResult<T> + Sync,
    ) -> PolarsResult<Vec<T>> {
        let rows = self.ticket_rows.row.len() + self.order_rows.row.len();
        let parts = rows.div_ceil(ROWS_PER_PART);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4).min(parts.max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let recoded = (recode(&self.tickets.partner, &words.partners), recode(&self.orders.partner, &words.partners));
        let (encode, next, recoded) = (&encode, &next, (recoded.0.as_slice(), recoded.1.as_slice()));
        let done: Vec<Vec<(usize, PolarsResult<T>)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        loop {
                            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if index >= parts {
                                break out;
                            }
                            let (from, to) = (index * ROWS_PER_PART, ((index + 1) * ROWS_PER_PART).min(rows));
                            let part = self.timeliness_part(recoded, from, to);
                            out.push((
                                index,
                                part.and_then(|frame| {
                                    encode(EvidencePart { kind: PartKind::Timeliness, index, frame })
                                }),
                            ));
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        });
        let mut done: Vec<(usize, PolarsResult<T>)> = done.into_iter().flatten().collect();
        done.sort_by_key(|(index, _)| *index);
        let mut out = Vec::with_capacity(parts + 1);
        for (_, part) in done {
            out.push(part?);
        }
        let events: Vec<&Evidence> = self.events.iter().collect();
        out.push(encode(EvidencePart { kind: PartKind::Events, index: 0, frame: events_frame(&events, words)? })?);
        Ok(out)
    }

    /// Every row as evidence, partners in order (tests).
    #[cfg(test)]
    pub(crate) fn rows(&self) -> Vec<Evidence> {
        let words = self.words();
        let parts = self.encode_parts(&words, Ok).expect("parts of its own rows");
        let mut all = Vec::new();
        for partner in &words.partners {
            all.extend(parts.iter().flat_map(|p| rows_of(p, &words, partner).expect("its own part")));
        }
        all
    }
}

/// Rows one by one into an events part (events, and a store's rows of the old table).
fn events_frame(events: &[&Evidence], words: &Words) -> PolarsResult<DataFrame> {
    let n = events.len();
    let stamp_of = |t: Option<chrono::NaiveDateTime>| t.map_or(NULL_STAMP, stamp);
    let started: Vec<Stamp> = events.iter().map(|e| stamp_of(e.started_at)).collect();
    events_columns(
        n,
        UInt32Chunked::from_iter_options(
            "".into(),
            events.iter().map(|e| partner_code(&words.partners, &e.partner_id)),
        ),
        UInt32Chunked::from_iter_options("".into(), events.iter().map(|e| code_of(&SOURCES, &e.source))),
        UInt32Chunked::from_iter_options("".into(), events.iter().map(|e| code_in(&words.indicators, &e.indicator))),
        StringChunked::from_iter_values("".into(), events.iter().map(|e| e.row_id.as_str())),
        Int64Chunked::from_iter_options("".into(), started.iter().map(|&s| (s != NULL_STAMP).then_some(s))),
        Int64Chunked::from_iter_options(
            "".into(),
            events.iter().zip(&started).map(|(e, &s)| delta(s, stamp_of(e.due_at))),
        ),
        Int64Chunked::from_iter_options(
            "".into(),
            events.iter().zip(&started).map(|(e, &s)| delta(s, stamp_of(e.finished_at))),
        ),
        UInt32Chunked::from_iter_options("".into(), events.iter().map(|e| code_of(&OUTCOMES, &e.outcome))),
        StringChunked::from_iter_options("".into(), events.iter().map(|e| e.value.map(|v| v.normalize().to_string()))),
        StringChunked::from_iter_values("".into(), events.iter().map(|e| e.detail.as_str())),
    )
}

/// A store's rows of the old table as a month's events parts (every row as an event, as the old
/// table kept them), with the words they code.
pub(crate) fn events_parts_of(rows: &[Evidence]) -> PolarsResult<(Vec<EvidencePart>, Words)> {
    let mut words = Words { indicators: vec![String::new(), String::new()], ..Words::default() };
    for e in rows {
        if !words.indicators.contains(&e.indicator) {
            words.indicators.push(e.indicator.clone());
        }
    }
    words.partners = rows.iter().map(|e| e.partner_id.clone()).collect();
    words.partners.sort_unstable();
    words.partners.dedup();
    let refs: Vec<&Evidence> = rows.iter().collect();
    let parts = refs
        .chunks(ROWS_PER_PART)
        .enumerate()
        .map(|(index, chunk)| Ok(EvidencePart { kind: PartKind::Events, index, frame: events_frame(chunk, &words)? }))
        .collect::<PolarsResult<_>>()?;
    Ok((parts, words))
}

/// The month's quarantined and ignored rows as parts, each built as it is asked for (a national
/// month can have millions; as rows they were half the store).
pub(crate) fn data_quality_parts(rows: &[DataQualityRow]) -> impl Iterator<Item = PolarsResult<EvidencePart>> + '_ {
    rows.chunks(ROWS_PER_PART).enumerate().map(|(index, chunk)| {
        let column = |name: &str, f: fn(&DataQualityRow) -> &str| {
            StringChunked::from_iter_values(name.into(), chunk.iter().map(f)).into_column()
        };
        let frame = DataFrame::new(
            chunk.len(),
            vec![column("source", |r| &r.source), column("row_id", |r| &r.row_id), column("problem", |r| &r.problem)],
        )?;
        Ok(EvidencePart { kind: PartKind::DataQuality, index, frame })
    })
}

/// A data-quality part back as rows.
#[cfg(test)]
pub(crate) fn data_quality_rows(part: &EvidencePart) -> PolarsResult<Vec<DataQualityRow>> {
    let (source, row_id, problem) = (
        part.frame.column("source")?.str()?,
        part.frame.column("row_id")?.str()?,
        part.frame.column("problem")?.str()?,
    );
    Ok((0..part.frame.height())
        .map(|k| DataQualityRow {
            source: source.get(k).unwrap_or("").to_string().into(),
            partner_id: "".into(),
            row_id: row_id.get(k).unwrap_or("").to_string(),
            problem: problem.get(k).unwrap_or("").to_string().into(),
        })
        .collect())
}

/// One partner's rows of a part.
#[cfg(test)]
pub(crate) fn rows_of(part: &EvidencePart, words: &Words, partner: &str) -> PolarsResult<Vec<Evidence>> {
    if part.kind == PartKind::DataQuality {
        return Ok(vec![]);
    }
    let Some(code) = partner_code(&words.partners, partner) else { return Ok(vec![]) };
    let mask = part.frame.column("partner")?.u32()?.equal(code);
    rows_in(part.kind, &part.frame.filter(&mask)?, words)
}

/// Which of a month's rows a command needs. A 10M-ticket month holds millions of tickets on time
/// that no scorecard lists: decoding them into rows would cost gigabytes for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Every row (the rows a dispute may name).
    All,
    /// What a reader is shown: the late tickets and orders, and every event, survey, violation
    /// and fee line. The counts come from the stored indicator results.
    Exceptions,
    /// Only the events part (fee lines, violations): no ticket at all.
    Events,
    /// No row: the stored figures alone (last month's, to compare with).
    Figures,
}

impl Rows {
    /// Whether a part of this kind holds any row wanted.
    pub(crate) fn reads(self, kind: PartKind) -> bool {
        match kind {
            _ if self == Rows::Figures => false,
            PartKind::DataQuality => false,
            PartKind::Timeliness => self != Rows::Events,
            PartKind::Events => true,
        }
    }
}

/// The rows of a part that belong to any of `partners`, each with its partner: a command that
/// needs many partners' rows (a publication, a settlement) decodes each part once and splits it.
pub(crate) fn rows_of_partners(
    part: &EvidencePart,
    words: &Words,
    partners: &std::collections::BTreeSet<String>,
    which: Rows,
) -> PolarsResult<Vec<Evidence>> {
    if !which.reads(part.kind) {
        return Ok(vec![]);
    }
    let wanted: Vec<bool> = words.partners.iter().map(|p| partners.contains(p)).collect();
    if !wanted.iter().any(|w| *w) {
        return Ok(vec![]);
    }
    let codes = part.frame.column("partner")?.u32()?;
    let late = match (part.kind, which) {
        (PartKind::Timeliness, Rows::Exceptions) => Some(part.frame.column("late")?.bool()?),
        _ => None,
    };
    let mask: BooleanChunked = BooleanChunked::from_iter_values(
        "keep".into(),
        (0..codes.len()).map(|k| {
            let of_partner = codes.get(k).and_then(|c| wanted.get(c as usize).copied()).unwrap_or(false);
            of_partner && late.is_none_or(|l| l.get(k).unwrap_or(false))
        }),
    );
    rows_in(part.kind, &part.frame.filter(&mask)?, words)
}

/// Every row of a (filtered) part as evidence.
fn rows_in(kind: PartKind, df: &DataFrame, words: &Words) -> PolarsResult<Vec<Evidence>> {
    let codes = df.column("partner")?.u32()?;
    let partner = |k: usize| codes.get(k).and_then(|c| words.partners.get(c as usize)).cloned().unwrap_or_default();
    match kind {
        PartKind::Timeliness => timeliness_rows(partner, df, words),
        PartKind::Events => event_rows(partner, df, words),
        PartKind::DataQuality => Ok(vec![]),
    }
}

fn timeliness_rows(partner: impl Fn(usize) -> String, df: &DataFrame, words: &Words) -> PolarsResult<Vec<Evidence>> {
    let (order, late) = (df.column("order")?.bool()?, df.column("late")?.bool()?);
    let row_id = df.column("row_id")?.str()?;
    let started = df.column("started_at")?.i64()?;
    let (due_in, finished_in) = (df.column("due_in")?.i32()?, df.column("finished_in")?.i32()?);
    let (class, paused) = (df.column("sla_class")?.u32()?, df.column("paused_seconds")?.u32()?);
    let mut out = Vec::with_capacity(df.height());
    for k in 0..df.height() {
        let start = started.get(k);
        let after = |d: Option<i32>| Some(instant(start? + i64::from(d?)));
        let is_order = order.get(k).unwrap_or(false);
        let class_name = class.get(k).and_then(|c| words.classes.get(c as usize)).map_or("", String::as_str);
        out.push(Evidence {
            partner_id: partner(k),
            indicator: words.indicators.get(usize::from(is_order)).cloned().unwrap_or_default(),
            source: if is_order { "orders" } else { "tickets" }.to_string(),
            row_id: row_id.get(k).unwrap_or("").to_string(),
            started_at: start.map(instant),
            due_at: after(due_in.get(k)),
            finished_at: after(finished_in.get(k)),
            outcome: if late.get(k).unwrap_or(false) { "late" } else { "on_time" }.to_string(),
            value: None,
            detail: if is_order {
                String::new()
            } else {
                format!("sla_class={class_name} paused_seconds={}", paused.get(k).unwrap_or(0))
            },
        });
    }
    Ok(out)
}

fn event_rows(partner: impl Fn(usize) -> String, df: &DataFrame, words: &Words) -> PolarsResult<Vec<Evidence>> {
    let s = |name: &str| df.column(name).and_then(|c| c.str().cloned());
    let i = |name: &str| df.column(name).and_then(|c| c.i64().cloned());
    let u = |name: &str| df.column(name).and_then(|c| c.u32().cloned());
    let (source, indicator, outcome) = (u("source")?, u("indicator")?, u("outcome")?);
    let (row_id, value, detail) = (s("row_id")?, s("value")?, s("detail")?);
    let (started, due_in, finished_in) = (i("started_at")?, i("due_in")?, i("finished_in")?);
    let word =
        |list: &[String], code: Option<u32>| code.and_then(|c| list.get(c as usize)).cloned().unwrap_or_default();
    fn fixed(list: &[&'static str], code: Option<u32>) -> &'static str {
        code.and_then(|c| list.get(c as usize)).copied().unwrap_or("")
    }
    let mut out = Vec::with_capacity(df.height());
    for k in 0..df.height() {
        let start = started.get(k);
        let after = |d: Option<i64>| Some(instant(start? + d?));
        out.push(Evidence {
            partner_id: partner(k),
            indicator: word(&words.indicators, indicator.get(k)),
            source: fixed(&SOURCES, source.get(k)).to_string(),
            row_id: row_id.get(k).unwrap_or("").to_string(),
            started_at: start.map(instant),
            due_at: after(due_in.get(k)),
            finished_at: after(finished_in.get(k)),
            outcome: fixed(&OUTCOMES, outcome.get(k)).to_string(),
            value: value.get(k).and_then(|v| Decimal::from_str(v).ok()),
            detail: detail.get(k).unwrap_or("").to_string(),
        });
    }
    Ok(out)
}
