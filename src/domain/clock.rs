//! The SLA clock as coordinates (rules.md §3 at national scale). Every instant of a covered day maps
//! to the working seconds counted since the calendar's first day (a prefix sum per day), so
//! `due_at` of a working-clock ticket is a binary search instead of a walk through its days, and
//! instants are plain integers (local seconds since 1970-01-01 00:00:00). `sla::due_at` is the
//! reference this follows exactly; the property tests below hold them together.

use super::calendar::WorkCalendar;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// How a class's clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClockKind {
    /// Every second counts (24×7).
    Natural,
    /// Only seconds inside the working windows of working days count.
    Working,
}

/// An SLA class of the rules: its limit in whole seconds and its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlaClass {
    pub(crate) limit_seconds: i64,
    pub(crate) clock: ClockKind,
}

/// The deadline needs a working day of a year the calendar does not cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the working calendar has no data for {0}")]
pub(crate) struct NoCalendarYear(pub(crate) i32);

/// Local wall-clock seconds since 1970-01-01 00:00:00 (`NaiveDateTime` as an integer).
pub type Stamp = i64;

const DAY: i64 = 86_400;

pub fn stamp(t: NaiveDateTime) -> Stamp {
    t.and_utc().timestamp()
}

pub fn instant(s: Stamp) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(s, 0).map_or(NaiveDateTime::MIN, |t| t.naive_utc())
}

/// A pause on the clock's integer time line, after clipping and merging (`sla::merge_pauses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: Stamp,
    /// `None` while still paused.
    pub end: Option<Stamp>,
}

/// A deadline on the integer time line (see `sla::Due`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    At(Stamp),
    /// Not reached by this instant (the resolution), and not needed.
    After(Stamp),
    Never,
}

/// Clips spans to `[opened, resolved)` (or `[opened, ∞)`), merges overlaps and sorts them, in place
/// of a new vector: the integer form of `sla::merge_pauses`.
pub fn merge(opened: Stamp, resolved: Option<Stamp>, spans: &mut Vec<Span>) {
    spans.retain_mut(|p| {
        let start = p.start.max(opened);
        let end = match (p.end, resolved) {
            (Some(r), Some(res)) => Some(r.min(res)),
            (Some(r), None) => Some(r),
            (None, res) => res,
        };
        *p = Span { start, end };
        end.is_none_or(|e| e > start)
    });
    spans.sort_unstable_by_key(|p| p.start);
    let mut merged = 0;
    for i in 0..spans.len() {
        let p = spans[i];
        if merged > 0 {
            let last = &mut spans[merged - 1];
            if last.end.is_none_or(|end| p.start <= end) {
                last.end = match (last.end, p.end) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                continue;
            }
        }
        spans[merged] = p;
        merged += 1;
    }
    spans.truncate(merged);
}

/// The working calendar as a table over the days from its first covered day to its last: for
/// each day whether it is covered and working, and the working seconds before it.
#[derive(Debug, Clone)]
pub struct ClockTable {
    /// Day number (days since 1970-01-01) of the table's first day.
    first_day: i64,
    /// Working seconds before each day; one more entry than days.
    before: Vec<i64>,
    covered: Vec<bool>,
    working: Vec<bool>,
    /// For each day, the first day at or after it that is not covered (`days` when none is).
    next_gap: Vec<usize>,
    /// Working windows as seconds of the day.
    windows: Vec<(i64, i64)>,
}

fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - i64::from(NaiveDate::from_ymd_opt(1970, 1, 1).map_or(0, |e| e.num_days_from_ce()))
}

impl ClockTable {
    pub fn new(calendar: &WorkCalendar) -> Self {
        let windows: Vec<(i64, i64)> = calendar
            .windows()
            .iter()
            .map(|(s, e)| (i64::from(s.num_seconds_from_midnight()), i64::from(e.num_seconds_from_midnight())))
            .collect();
        let day_total = windows.iter().map(|(s, e)| e - s).sum();
        let years: Vec<i32> = calendar.covered_years().collect();
        let (Some(&first), Some(&last)) = (years.iter().min(), years.iter().max()) else {
            return Self { first_day: 0, before: vec![0], covered: vec![], working: vec![], next_gap: vec![], windows };
        };
        let start = NaiveDate::from_ymd_opt(first, 1, 1).unwrap_or(NaiveDate::MIN);
        let end = NaiveDate::from_ymd_opt(last, 12, 31).unwrap_or(NaiveDate::MAX);
        let mut covered = Vec::new();
        let mut working = Vec::new();
        let mut before = vec![0];
        for day in start.iter_days().take_while(|d| *d <= end) {
            let w = calendar.is_working_day(day);
            covered.push(w.is_some());
            working.push(w == Some(true));
            let total = if w == Some(true) { day_total } else { 0 };
            before.push(before.last().copied().unwrap_or(0) + total);
        }
        let days = covered.len();
        let mut next_gap = vec![days; days];
        for i in (0..days).rev() {
            next_gap[i] = if !covered[i] {
                i
            } else if i + 1 < days {
                next_gap[i + 1]
            } else {
                days
            };
        }
        Self { first_day: day_number(start), before, covered, working, next_gap, windows }
    }

    /// The index of the day of `t` in the table, when the calendar covers it.
    fn day(&self, t: Stamp) -> Option<usize> {
        let i = t.div_euclid(DAY) - self.first_day;
        usize::try_from(i).ok().filter(|&i| i < self.covered.len() && self.covered[i])
    }

    /// Working seconds counted from the table's origin to `t`; `None` on a day not covered.
    fn coordinate(&self, t: Stamp) -> Option<i64> {
        let i = self.day(t)?;
        let mut c = self.before[i];
        if self.working[i] {
            let second = t.rem_euclid(DAY);
            c += self.windows.iter().map(|(s, e)| (second - s).clamp(0, e - s)).sum::<i64>();
        }
        Some(c)
    }

    /// The earliest instant at or after day `from` whose coordinate is `target`, if the covered
    /// days from `from` on reach it; otherwise the first day (its midnight) they do not cover.
    fn instant_of(&self, target: i64, from: usize) -> Result<Stamp, Stamp> {
        let gap = self.next_gap[from];
        if self.before[gap] < target {
            return Err((self.first_day + gap as i64) * DAY);
        }
        // The first day d in [from, gap) with before[d + 1] >= target.
        let d = from + self.before[from + 1..=gap].partition_point(|&b| b < target);
        let mut rest = target - self.before[d];
        let midnight = (self.first_day + d as i64) * DAY;
        for (s, e) in &self.windows {
            if rest <= e - s {
                return Ok(midnight + s + rest);
            }
            rest -= e - s;
        }
        // Unreachable for a working day (rest ≤ the day's total); a defensive end of day.
        Ok(midnight + self.windows.last().map_or(0, |w| w.1))
    }

    /// `due_at` (rules.md §3) on the integer time line: exactly `sla::due_at` with the same
    /// arguments, pauses merged by [`merge`].
    pub fn due(
        &self,
        class: SlaClass,
        opened: Stamp,
        pauses: &[Span],
        resolved: Option<Stamp>,
    ) -> Result<Deadline, NoCalendarYear> {
        match class.clock {
            ClockKind::Natural => Ok(natural_due(class.limit_seconds, opened, pauses)),
            ClockKind::Working => self.working_due(class.limit_seconds, opened, pauses, resolved),
        }
    }

    fn working_due(
        &self,
        limit: i64,
        opened: Stamp,
        pauses: &[Span],
        resolved: Option<Stamp>,
    ) -> Result<Deadline, NoCalendarYear> {
        let (mut t, mut remaining, mut next) = (opened, limit, 0);
        let gap_year = |at: Stamp| NoCalendarYear(instant(at).year());
        loop {
            while next < pauses.len() && pauses[next].end.is_some_and(|e| e <= t) {
                next += 1;
            }
            if let Some(p) = pauses.get(next).filter(|p| p.start <= t) {
                match p.end {
                    Some(end) => {
                        t = end;
                        next += 1;
                        continue;
                    }
                    None => return Ok(Deadline::Never),
                }
            }
            let pause_start = pauses.get(next).map(|p| p.start);
            let Some(day) = self.day(t) else {
                // A day the calendar does not cover: needed only before the resolution.
                return match resolved {
                    Some(h) if t >= h => Ok(Deadline::After(h)),
                    _ => Err(gap_year(t)),
                };
            };
            let here = self.coordinate(t).unwrap_or_default();
            match self.instant_of(here + remaining, day) {
                Ok(x) if pause_start.is_none_or(|p| x <= p) => return Ok(Deadline::At(x)),
                Ok(_) => {
                    // The next pause starts before the limit: its start lies in a covered day.
                    let p = pause_start.unwrap_or(t);
                    remaining -= self.coordinate(p).unwrap_or(here) - here;
                    t = p;
                }
                Err(gap) => match pause_start.filter(|p| *p <= gap) {
                    Some(p) => {
                        remaining -= self.coordinate(p).unwrap_or(self.before[self.next_gap[day]]) - here;
                        t = p;
                    }
                    None => {
                        return match resolved {
                            Some(h) if gap >= h => Ok(Deadline::After(h)),
                            _ => Err(gap_year(gap)),
                        }
                    }
                },
            }
        }
    }
}

/// The natural clock: every second counts outside the pauses.
fn natural_due(limit: i64, opened: Stamp, pauses: &[Span]) -> Deadline {
    let (mut t, mut remaining) = (opened, limit);
    for p in pauses {
        if p.end.is_some_and(|e| e <= t) {
            continue;
        }
        if p.start > t {
            if remaining <= p.start - t {
                return Deadline::At(t + remaining);
            }
            remaining -= p.start - t;
        }
        match p.end {
            Some(e) => t = t.max(e),
            None => return Deadline::Never,
        }
    }
    Deadline::At(t + remaining)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::tests::calendar_2026;
    use crate::domain::sla::{due_at, merge_pauses, Due, Pause};
    use proptest::prelude::*;

    fn reference(
        class: SlaClass,
        cal: &WorkCalendar,
        opened: Stamp,
        pauses: &[(Stamp, Option<Stamp>)],
        resolved: Option<Stamp>,
    ) -> Result<Deadline, NoCalendarYear> {
        let raw: Vec<Pause> =
            pauses.iter().map(|(p, r)| Pause { paused_at: instant(*p), resumed_at: r.map(instant) }).collect();
        let merged = merge_pauses(instant(opened), resolved.map(instant), &raw);
        due_at(class, cal, instant(opened), &merged, resolved.map(instant)).map(|d| match d {
            Due::At(t) => Deadline::At(stamp(t)),
            Due::After(t) => Deadline::After(stamp(t)),
            Due::Never => Deadline::Never,
        })
    }

    fn fast(
        class: SlaClass,
        table: &ClockTable,
        opened: Stamp,
        pauses: &[(Stamp, Option<Stamp>)],
        resolved: Option<Stamp>,
    ) -> Result<Deadline, NoCalendarYear> {
        let mut spans: Vec<Span> = pauses.iter().map(|(p, r)| Span { start: *p, end: *r }).collect();
        merge(opened, resolved, &mut spans);
        table.due(class, opened, &spans, resolved)
    }

    fn at(s: &str) -> Stamp {
        stamp(crate::domain::period::parse_timestamp(s).unwrap())
    }

    #[test]
    fn worked_examples_give_the_reference_deadlines() {
        let cal = calendar_2026();
        let table = ClockTable::new(&cal);
        let standard = SlaClass { limit_seconds: 15 * 3600, clock: ClockKind::Working };
        for (opened, due) in [
            ("2026-02-13 14:00:00", "2026-02-24 14:00:00"),
            ("2026-10-09 09:00:00", "2026-10-10 18:00:00"),
            ("2026-03-02 13:30:00", "2026-03-04 12:00:00"),
            ("2026-03-02 12:45:00", "2026-03-04 12:00:00"),
            ("2026-03-02 18:30:00", "2026-03-04 18:00:00"),
            ("2026-01-02 10:00:00", "2026-01-05 18:00:00"),
            ("2026-09-30 16:00:00", "2026-10-09 16:00:00"),
        ] {
            assert_eq!(fast(standard, &table, at(opened), &[], None), Ok(Deadline::At(at(due))), "opened {opened}");
        }
        // The pause removes only working seconds.
        let paused = [(at("2026-05-11 10:00:00"), Some(at("2026-05-12 10:00:00")))];
        assert_eq!(
            fast(standard, &table, at("2026-05-11 09:00:00"), &paused, None),
            Ok(Deadline::At(at("2026-05-13 18:00:00")))
        );
        // 12-31: resolved by 16:00 needs no day of 2027; unresolved it does.
        let opened = at("2026-12-31 09:00:00");
        let resolved = at("2026-12-31 16:00:00");
        assert_eq!(fast(standard, &table, opened, &[], Some(resolved)), Ok(Deadline::After(resolved)));
        assert_eq!(fast(standard, &table, opened, &[], None), Err(NoCalendarYear(2027)));
    }

    /// Instants from mid-December 2025 to mid-January 2027 against a calendar of 2026 only, so
    /// that deadlines run into the years it does not cover on both sides.
    fn arb_instant() -> impl Strategy<Value = Stamp> {
        (at("2025-12-20 00:00:00")..at("2027-01-10 00:00:00")).prop_map(|s| s - s.rem_euclid(60) + (s % 7) * 15)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn the_table_gives_what_the_walk_gives(
            opened in arb_instant(),
            limit in prop_oneof![1i64..600, 3600i64..40 * 3600, Just(15 * 3600), Just(4 * 3600)],
            working in prop::bool::weighted(0.7),
            raw in prop::collection::vec((-2 * DAY..6 * DAY, prop::option::weighted(0.85, 0i64..3 * DAY)), 0..4),
            resolved in prop::option::weighted(0.8, 0i64..20 * DAY),
        ) {
            let cal = calendar_2026();
            let table = ClockTable::new(&cal);
            let class = SlaClass { limit_seconds: limit, clock: if working { ClockKind::Working } else { ClockKind::Natural } };
            // Pauses and resolutions on window edges and whole minutes as often as not.
            let pauses: Vec<(Stamp, Option<Stamp>)> = raw.iter().map(|(o, len)| {
                let start = opened + o - o.rem_euclid(1800);
                (start, len.map(|l| start + l - l.rem_euclid(900)))
            }).collect();
            let resolved = resolved.map(|r| opened + r - r.rem_euclid(300));
            prop_assert_eq!(
                fast(class, &table, opened, &pauses, resolved),
                reference(class, &cal, opened, &pauses, resolved)
            );
        }

        #[test]
        fn merging_spans_is_merging_pauses(
            opened in arb_instant(),
            raw in prop::collection::vec((-2 * DAY..6 * DAY, prop::option::weighted(0.85, 0i64..3 * DAY)), 0..6),
            resolved in prop::option::weighted(0.8, 0i64..10 * DAY),
        ) {
            let resolved = resolved.map(|r| opened + r);
            let pauses: Vec<Pause> = raw.iter().map(|(o, len)| Pause {
                paused_at: instant(opened + o), resumed_at: len.map(|l| instant(opened + o + l)),
            }).collect();
            let reference: Vec<Span> = merge_pauses(instant(opened), resolved.map(instant), &pauses)
                .iter().map(|p| Span { start: stamp(p.paused_at), end: p.resumed_at.map(stamp) }).collect();
            let mut spans: Vec<Span> = raw.iter().map(|(o, len)| Span { start: opened + o, end: len.map(|l| opened + o + l) }).collect();
            merge(opened, resolved, &mut spans);
            prop_assert_eq!(spans, reference);
        }
    }
}
