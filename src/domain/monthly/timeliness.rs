//! Ticket and order timeliness at national scale (rules.md §3, the `rate` indicators and the
//! ticket penalties of §4): every candidate row decided on typed columns with the clock table, in
//! parallel chunks, counted per partner as it goes, its evidence kept as columns.

use super::{Collector, DataQualityRow, Evidence};
use crate::domain::clock::SlaClass;
use crate::domain::clock::{ClockTable, Deadline, Span, Stamp};
use crate::domain::frames::{
    Orders, Pauses, Tickets, BAD_STAMP, CRITICAL_OUTAGE, DISPATCH_VIOLATION, FALSE_INFO, INVALID_FLAG, NULL_CODE,
    NULL_STAMP,
};
use crate::domain::period::Month;
use crate::domain::rules::{IndicatorKind, Penalties, Rules};
use polars::prelude::PlHashMap;
use rust_decimal::Decimal;

/// The counted rows of a timeliness indicator: which row of the frame, its deadline, on time or
/// late, and (tickets) the paused seconds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counted {
    pub(crate) row: Vec<u32>,
    pub(crate) due: Vec<Stamp>,
    pub(crate) on_time: Vec<bool>,
    pub(crate) paused: Vec<u32>,
}

impl Counted {
    fn push(&mut self, row: usize, due: Stamp, on_time: bool, paused: i64) {
        self.row.push(row as u32);
        self.due.push(due);
        self.on_time.push(on_time);
        self.paused.push(u32::try_from(paused).unwrap_or(u32::MAX));
    }
    /// Gives back the slack of the columns' growth: they are held through the store and reports.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.row.shrink_to_fit();
        self.due.shrink_to_fit();
        self.on_time.shrink_to_fit();
        self.paused.shrink_to_fit();
    }

    fn extend(&mut self, other: Counted) {
        self.row.extend(other.row);
        self.due.extend(other.due);
        self.on_time.extend(other.on_time);
        self.paused.extend(other.paused);
    }
}

/// What the tickets (or orders) of a month gave: per partner code (counted, on time), the counted
/// rows, the penalty events, the quarantined rows.
#[derive(Debug, Default)]
pub(crate) struct Timeliness {
    pub(crate) counts: Vec<(u64, u64)>,
    pub(crate) counted: Counted,
    pub(crate) events: Vec<Evidence>,
    pub(crate) penalties: Vec<(String, Decimal)>,
    pub(crate) dq: Vec<DataQualityRow>,
    partners: super::Partners,
}

impl Timeliness {
    fn with_partners(partners: usize) -> Self {
        Self { counts: vec![(0, 0); partners], ..Self::default() }
    }
    fn merge(&mut self, other: Timeliness) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.counted.extend(other.counted);
        self.events.extend(other.events);
        self.penalties.extend(other.penalties);
        self.dq.extend(other.dq);
    }
    fn quarantine(&mut self, source: &'static str, partner: &str, row_id: &str, problem: &'static str) {
        let partner = self.partners.get(partner);
        self.dq.push(DataQualityRow::of_partner(source, partner, row_id, problem));
    }
}

/// The month as a half-open range of instants.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    start: Stamp,
    end: Stamp,
}

impl Bounds {
    fn of(month: Month) -> Self {
        Self { start: crate::domain::clock::stamp(month.start()), end: crate::domain::clock::stamp(month.end()) }
    }
    fn holds(self, t: Stamp) -> bool {
        (self.start..self.end).contains(&t)
    }
}

/// Runs `work` over the rows in `threads` contiguous chunks (both cores at scale, one for a small
/// month) and merges what they give in row order.
fn in_chunks(rows: usize, partners: usize, work: impl Fn(std::ops::Range<usize>) -> Timeliness + Sync) -> Timeliness {
    let threads = if rows < 50_000 { 1 } else { std::thread::available_parallelism().map_or(2, |n| n.get().min(8)) };
    let size = rows.div_ceil(threads.max(1)).max(1);
    let parts: Vec<Timeliness> = std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> =
            (0..rows).step_by(size).map(|lo| scope.spawn(move || work(lo..(lo + size).min(rows)))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    // The first part is the base, so the counted rows are copied once, not twice.
    let mut parts = parts.into_iter();
    let mut all = parts.next().unwrap_or_else(|| Timeliness::with_partners(partners));
    for part in parts {
        all.merge(part);
    }
    all
}

/// Valid pauses by ticket (a slice of one sorted vector per ticket), after the `resumed_at <
/// paused_at` and parse checks; the invalid ones reported in the month of `paused_at`.
///
/// The tickets with pauses are kept in id order beside a hash map of them: tickets read in
/// ascending id order (the usual case: ids grow with time, and so does the rowid) are matched by
/// walking that list ([`PauseCursor`]), which reads memory front to back; at ten million tickets a
/// hash probe per ticket missed the cache on most of them and cost more than the SLA clock.
pub(crate) struct PauseIndex<'a> {
    spans: Vec<Span>,
    /// The tickets with valid pauses, ascending, and where their spans are.
    tickets: Vec<&'a str>,
    ranges: Vec<(u32, u32)>,
    /// A ticket's place in `tickets`, built when a lookup first comes out of order.
    by_ticket: std::sync::OnceLock<PlHashMap<&'a str, u32>>,
}

impl<'a> PauseIndex<'a> {
    pub(crate) fn new(pauses: &'a Pauses, tickets: &Tickets, c: &mut Collector) -> Self {
        let bounds = Bounds::of(c.month);
        let mut valid: Vec<(&'a str, Span)> = Vec::new();
        // An unreadable `paused_at` is listed in the month of its own timestamp as written (the
        // month whose bounds it falls between as text), in the months its ticket is a candidate
        // of, and, when it is not even date-shaped (or empty), in every month.
        let (start, end) = (c.month.start().format(STAMP).to_string(), c.month.end().format(STAMP).to_string());
        let bad_tickets: std::collections::HashSet<&str> =
            pauses.ticket.iter().zip(&pauses.paused).filter(|(_, p)| **p == BAD_STAMP).filter_map(|(t, _)| t).collect();
        let candidates: std::collections::HashSet<&str> = if bad_tickets.is_empty() {
            Default::default()
        } else {
            tickets.id.iter().flatten().filter(|t| bad_tickets.contains(t)).collect()
        };
        let listed_here = |ticket: &str, text: &str| {
            !crate::domain::frames::date_shaped(text.as_bytes())
                || (start.as_str() <= text && text < end.as_str())
                || candidates.contains(ticket)
        };
        // The id columns are read front to back: they may be several chunks (one per piece read).
        for (i, (ticket, text)) in pauses.ticket.iter().zip(pauses.paused_text.iter()).enumerate() {
            let ticket = ticket.unwrap_or("");
            let row_id = || format!("{ticket}@{}", text.unwrap_or(""));
            let (paused, resumed) = (pauses.paused[i], pauses.resumed[i]);
            match (paused, resumed) {
                (BAD_STAMP, _) => {
                    if listed_here(ticket, text.unwrap_or("")) {
                        c.quarantine("ticket_pauses", "", &row_id(), "unparsable_value");
                    }
                }
                (NULL_STAMP, _) => c.quarantine("ticket_pauses", "", &row_id(), "unparsable_value"),
                (p, BAD_STAMP) => {
                    if bounds.holds(p) {
                        c.quarantine("ticket_pauses", "", &row_id(), "unparsable_value");
                    }
                }
                (p, r) if r != NULL_STAMP && r < p => {
                    if bounds.holds(p) {
                        c.quarantine("ticket_pauses", "", &row_id(), "resumed_before_paused");
                    }
                }
                (p, r) => valid.push((ticket, Span { start: p, end: (r != NULL_STAMP).then_some(r) })),
            }
        }
        Self::of_valid(valid)
    }

    /// The index of valid pauses given as (ticket, span).
    fn of_valid(mut valid: Vec<(&'a str, Span)>) -> Self {
        valid.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.start.cmp(&b.1.start)));
        let (mut tickets, mut ranges) = (Vec::new(), Vec::new());
        let mut start = 0;
        while start < valid.len() {
            let ticket = valid[start].0;
            let end = start + valid[start..].iter().take_while(|(t, _)| *t == ticket).count();
            tickets.push(ticket);
            ranges.push((start as u32, (end - start) as u32));
            start = end;
        }
        Self { spans: valid.into_iter().map(|(_, s)| s).collect(), tickets, ranges, by_ticket: Default::default() }
    }

    fn spans_at(&self, k: usize) -> &[Span] {
        let (at, n) = self.ranges[k];
        &self.spans[at as usize..(at + n) as usize]
    }

    /// A ticket's valid pauses, by the hash map: the plain lookup [`PauseCursor`] must agree with.
    pub(crate) fn of(&self, ticket: &str) -> &[Span] {
        let by_ticket =
            self.by_ticket.get_or_init(|| self.tickets.iter().enumerate().map(|(k, t)| (*t, k as u32)).collect());
        by_ticket.get(ticket).map_or(&[], |&k| self.spans_at(k as usize))
    }

    /// A lookup for one run of tickets taken in turn.
    pub(crate) fn cursor(&self) -> PauseCursor<'_, 'a> {
        PauseCursor { index: self, next: 0, last: None, hashed: 0 }
    }
}

/// Looks tickets up in a [`PauseIndex`] in the order they come: while the ids ascend, by walking
/// the index's sorted tickets (a binary search of the rest past eight steps); after an id that goes back, by the hash
/// map for a while, then by the walk again from a binary search. Gives exactly what
/// [`PauseIndex::of`] gives, whatever the order.
pub(crate) struct PauseCursor<'i, 'a> {
    index: &'i PauseIndex<'a>,
    /// The first of the index's tickets not below the last id looked up by walking.
    next: usize,
    last: Option<&'i str>,
    /// Lookups left to do by the hash map before walking again.
    hashed: u32,
}

impl<'i> PauseCursor<'i, '_> {
    /// How many lookups an id that goes back sends to the hash map: ids in no order cost one
    /// binary search per this many tickets, ids in order only the walk.
    const BY_HASH_AFTER_DESCENT: u32 = 1024;
    /// Steps walked one by one before the rest is binary-searched.
    const WALK: usize = 8;

    pub(crate) fn of(&mut self, ticket: &'i str) -> &'i [Span] {
        let index = self.index;
        if self.hashed > 0 {
            self.hashed -= 1;
            return index.of(ticket);
        }
        match self.last {
            Some(last) if ticket < last => {
                // Out of order: the hash map for a while, then a fresh start.
                self.last = None;
                self.hashed = Self::BY_HASH_AFTER_DESCENT;
                return index.of(ticket);
            }
            Some(_) => {
                let rest = &index.tickets[self.next..];
                let walked = rest.iter().take(Self::WALK).take_while(|t| **t < ticket).count();
                self.next += if walked < Self::WALK { walked } else { rest.partition_point(|t| *t < ticket) };
            }
            None => self.next = index.tickets.partition_point(|t| *t < ticket),
        }
        self.last = Some(ticket);
        match index.tickets.get(self.next) {
            Some(t) if *t == ticket => index.spans_at(self.next),
            _ => &[],
        }
    }
}

const STAMP: &str = "%Y-%m-%d %H:%M:%S";

/// How a `responsibility` value counts (rules.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Responsibility {
    Partner,
    Other,
    Unknown,
}

/// The ticket indicator, the penalty indicator and the penalties, as the rules name them.
pub(crate) struct TicketRules<'a> {
    pub(crate) indicator: String,
    pub(crate) penalties: Option<(String, Penalties)>,
    classes: &'a Rules,
}

impl<'a> TicketRules<'a> {
    pub(crate) fn new(rules: &'a Rules) -> Self {
        let penalties = rules.indicators.iter().find_map(|i| match &i.kind {
            IndicatorKind::Penalty(p) => Some((i.id.clone(), *p)),
            _ => None,
        });
        let indicator = rules
            .indicators
            .iter()
            .find_map(|i| match i.kind {
                IndicatorKind::Rate { source: crate::domain::rules::RateSource::Tickets, .. } => Some(i.id.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "fault_timeliness".into());
        Self { indicator, penalties, classes: rules }
    }
}

/// Decides every candidate ticket (rules.md §3) and counts those attributed to the month.
/// `assessed[code]` says whether the partner of a partner code is assessed.
pub(crate) fn tickets(
    tickets: &Tickets,
    pauses: &PauseIndex,
    table: &ClockTable,
    r: &TicketRules,
    month: Month,
    as_of: Option<Stamp>,
    assessed: &[bool],
) -> Timeliness {
    let bounds = Bounds::of(month);
    let classes: Vec<Option<SlaClass>> =
        tickets.sla_class.names.iter().map(|n| r.classes.sla_classes.get(n).copied()).collect();
    let responsibility: Vec<Responsibility> = tickets
        .responsibility
        .names
        .iter()
        .map(|n| match n.as_str() {
            "partner" => Responsibility::Partner,
            "customer" | "third_party" | "force_majeure" => Responsibility::Other,
            _ => Responsibility::Unknown,
        })
        .collect();
    let code = |codes: &[u32], i: usize| Some(codes[i]).filter(|c| *c != NULL_CODE).map(|c| c as usize);
    in_chunks(tickets.len(), tickets.partner.names.len(), |rows| {
        let mut out = Timeliness::with_partners(tickets.partner.names.len());
        let mut spans: Vec<Span> = Vec::new();
        let mut pauses = pauses.cursor();
        // The ids are read front to back: the column is one chunk per piece read.
        let ids = tickets.id.slice(rows.start as i64, rows.len());
        for (i, id) in rows.zip(ids.iter()) {
            let id = id.unwrap_or("");
            // Named only when a row is quarantined (rare): the hot path never looks it up.
            let partner_of = || code(&tickets.partner.codes, i).map_or("", |c| tickets.partner.names[c].as_str());
            let opened = tickets.opened[i];
            if opened == NULL_STAMP || opened == BAD_STAMP {
                out.quarantine("tickets", partner_of(), id, "unparsable_opened_at");
                continue;
            }
            let here = bounds.holds(opened);
            let quarantine_here = |out: &mut Timeliness, problem: &'static str| {
                if here {
                    out.quarantine("tickets", partner_of(), id, problem);
                }
            };
            match code(&tickets.responsibility.codes, i).map_or(Responsibility::Unknown, |c| responsibility[c]) {
                Responsibility::Partner => {}
                Responsibility::Other => continue,
                Responsibility::Unknown => {
                    quarantine_here(&mut out, "unknown_responsibility");
                    continue;
                }
            }
            let resolved = match tickets.resolved[i] {
                BAD_STAMP => {
                    quarantine_here(&mut out, "unparsable_resolved_at");
                    continue;
                }
                NULL_STAMP => None,
                t => Some(t),
            };
            if resolved.is_some_and(|t| t < opened) {
                quarantine_here(&mut out, "resolved_before_opened");
                continue;
            }
            let Some(class) = code(&tickets.sla_class.codes, i).and_then(|c| classes[c]) else {
                quarantine_here(&mut out, "unknown_sla_class");
                continue;
            };
            let flags = tickets.flags[i];
            if flags & INVALID_FLAG != 0 {
                quarantine_here(&mut out, "invalid_flag");
                continue;
            }
            spans.clear();
            spans.extend_from_slice(pauses.of(id));
            crate::domain::clock::merge(opened, resolved, &mut spans);
            let Ok(due) = table.due(class, opened, &spans, resolved) else {
                quarantine_here(&mut out, "no_calendar_year");
                continue;
            };
            // Attribution (rules.md §3): on time in the month of the resolution, late in the month
            // of the deadline; neither resolved nor past its deadline: nowhere yet.
            let (on_time, counts_at) = match (resolved, due) {
                (Some(done), Deadline::At(d)) if done > d => (false, d),
                (Some(done), _) => (true, done),
                (None, Deadline::At(d)) if as_of.is_none_or(|now| d < now) => (false, d),
                (None, _) => continue,
            };
            if !bounds.holds(counts_at) {
                continue;
            }
            let Some(partner) = code(&tickets.partner.codes, i).filter(|c| assessed[*c]) else {
                out.quarantine("tickets", partner_of(), id, "partner_not_assessed");
                continue;
            };
            out.counts[partner].0 += 1;
            out.counts[partner].1 += u64::from(on_time);
            let paused: i64 = spans.iter().map(|p| (p.end.unwrap_or(opened.max(p.start)) - p.start).max(0)).sum();
            let due = if let Deadline::At(d) = due { d } else { NULL_STAMP };
            out.counted.push(i, due, on_time, paused);
            if let Some((indicator, p)) = &r.penalties {
                let partner_id = tickets.partner.names[partner].as_str();
                for (bit, what, points) in [
                    (CRITICAL_OUTAGE, "critical_outage", p.critical_outage),
                    (DISPATCH_VIOLATION, "dispatch_violation", p.dispatch_violation),
                    (FALSE_INFO, "false_info", p.false_info),
                ] {
                    if flags & bit != 0 {
                        out.penalties.push((partner_id.to_string(), points));
                        out.events.push(super::event(
                            partner_id,
                            indicator,
                            "tickets",
                            id,
                            what,
                            points,
                            Some(crate::domain::clock::instant(opened)),
                        ));
                    }
                }
            }
        }
        out
    })
}

/// Decides every candidate order (a plain deadline) and counts those attributed to the month.
pub(crate) fn orders(orders: &Orders, month: Month, as_of: Option<Stamp>, assessed: &[bool]) -> Timeliness {
    let bounds = Bounds::of(month);
    in_chunks(orders.accepted.len(), orders.partner.names.len(), |rows| {
        let mut out = Timeliness::with_partners(orders.partner.names.len());
        let ids = orders.id.slice(rows.start as i64, rows.len());
        for (i, id) in rows.zip(ids.iter()) {
            let id = id.unwrap_or("");
            let partner_of = || {
                let code = orders.partner.codes[i];
                if code == NULL_CODE {
                    ""
                } else {
                    orders.partner.names[code as usize].as_str()
                }
            };
            let accepted = orders.accepted[i];
            if accepted == NULL_STAMP || accepted == BAD_STAMP {
                out.quarantine("orders", partner_of(), id, "unparsable_accepted_at");
                continue;
            }
            let here = bounds.holds(accepted);
            let quarantine_here = |out: &mut Timeliness, problem: &'static str| {
                if here {
                    out.quarantine("orders", partner_of(), id, problem);
                }
            };
            let (due, completed) = (orders.due[i], orders.completed[i]);
            if due == NULL_STAMP || due == BAD_STAMP || completed == BAD_STAMP {
                quarantine_here(&mut out, "unparsable_value");
                continue;
            }
            let completed = (completed != NULL_STAMP).then_some(completed);
            if due < accepted {
                quarantine_here(&mut out, "due_before_accepted");
                continue;
            }
            if completed.is_some_and(|t| t < accepted) {
                quarantine_here(&mut out, "completed_before_accepted");
                continue;
            }
            let (on_time, counts_at) = match completed {
                Some(done) if done > due => (false, due),
                Some(done) => (true, done),
                // Still open: late once past its deadline, nowhere yet before.
                None if as_of.is_none_or(|now| due < now) => (false, due),
                None => continue,
            };
            if !bounds.holds(counts_at) {
                continue;
            }
            let code = orders.partner.codes[i];
            if code == NULL_CODE || !assessed[code as usize] {
                out.quarantine("orders", partner_of(), id, "partner_not_assessed");
                continue;
            }
            out.counts[code as usize].0 += 1;
            out.counts[code as usize].1 += u64::from(on_time);
            out.counted.push(i, due, on_time, 0);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lookups in ascending runs, in no order, and repeated: ids of different lengths, so that
    /// their text order is not their number order.
    fn lookups() -> impl Strategy<Value = Vec<String>> {
        let run = (0u32..400, 1usize..600, 1u32..4, any::<bool>()).prop_map(|(from, len, step, ascending)| {
            let ids: Vec<u32> = (0..len as u32).map(|k| from + k * step).collect();
            let mut ids: Vec<String> = ids.into_iter().map(|n| format!("T{n}")).collect();
            if ascending {
                ids.sort();
            }
            ids
        });
        prop::collection::vec(run, 1..8).prop_map(|runs| runs.concat())
    }

    /// Every way the cursor moves, on one fixed sequence: walking, a jump past eight tickets, an
    /// id that goes back (then the hash map for a while), and a fresh start by binary search.
    #[test]
    fn the_cursor_walks_jumps_falls_back_and_starts_again() {
        let ids: Vec<String> = (0..100).map(|n| format!("T{n:03}")).collect();
        let valid = ids.iter().enumerate().map(|(n, id)| (id.as_str(), Span { start: n as i64, end: None })).collect();
        let index = PauseIndex::of_valid(valid);
        let mut cursor = index.cursor();
        let mut lookups: Vec<String> = ["T001", "T002", "T050", "T051", "T010"].map(String::from).to_vec();
        lookups.extend((0..PauseCursor::BY_HASH_AFTER_DESCENT + 1).map(|k| format!("T{:03}", (k * 37) % 100)));
        // The last of those was T088, looked up after a binary search; from there on, walking.
        lookups.extend(["T090", "T091", "T099", "T0995", "T100"].map(String::from));
        for id in &lookups {
            let found = cursor.of(id);
            assert_eq!(found, index.of(id), "{id}");
            let expected =
                id.strip_prefix('T').and_then(|n| n.parse::<i64>().ok()).filter(|n| *n < 100 && id.len() == 4);
            assert_eq!(found.first().map(|s| s.start), expected, "{id}");
        }
        assert!(cursor.last.is_some() && cursor.hashed == 0, "walking again at the end");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// The walking cursor finds exactly the pauses the hash map does, in any order of lookups.
        #[test]
        fn the_cursor_agrees_with_the_hash_map(
            paused in prop::collection::vec((0u32..2000, 0i64..1_000, prop::option::of(0i64..1_000)), 0..400),
            lookups in lookups(),
        ) {
            let ids: Vec<String> = paused.iter().map(|(t, _, _)| format!("T{t}")).collect();
            let valid = ids.iter().zip(&paused).map(|(id, (_, start, end))| (id.as_str(), Span { start: *start, end: *end })).collect();
            let index = PauseIndex::of_valid(valid);
            let mut cursor = index.cursor();
            for id in &lookups {
                prop_assert_eq!(cursor.of(id), index.of(id), "ticket {}", id);
            }
        }
    }
}
