//! The SLA clock as rules.md §3 words it, walked stretch by stretch (挂起 pauses, working windows,
//! holidays): the reference the coordinate clock (`clock.rs`) is held to by the property tests,
//! and the worked examples of examples.md, one test each.

use super::calendar::WorkCalendar;
pub(crate) use super::clock::{ClockKind, NoCalendarYear, SlaClass};
use super::period::Month;
use chrono::{Duration, NaiveDateTime, NaiveTime};

/// A pause as read from the source, after the `resumed_at < paused_at` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pause {
    pub(crate) paused_at: NaiveDateTime,
    /// `None` while still paused.
    pub(crate) resumed_at: Option<NaiveDateTime>,
}

/// A deadline: an instant, or never (an open-ended pause stopped the clock first), or not
/// reached by the instant the ticket was resolved (so it is on time, and where the deadline would
/// lie need not be known: it may fall in a year the calendar does not cover, rules.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Due {
    At(NaiveDateTime),
    /// Later than this instant (the resolution); not computed further.
    After(NaiveDateTime),
    Never,
}

/// Clips pauses to `[opened, resolved)` (or `[opened, ∞)`), merges overlaps and sorts them.
/// Invalid pauses (`resumed_at < paused_at`) must already have been removed and reported.
pub(crate) fn merge_pauses(opened: NaiveDateTime, resolved: Option<NaiveDateTime>, pauses: &[Pause]) -> Vec<Pause> {
    let mut clipped: Vec<Pause> = pauses
        .iter()
        .filter_map(|p| {
            let start = p.paused_at.max(opened);
            let end = match (p.resumed_at, resolved) {
                (Some(r), Some(res)) => Some(r.min(res)),
                (Some(r), None) => Some(r),
                (None, res) => res,
            };
            match end {
                Some(e) if e <= start => None,
                _ => Some(Pause { paused_at: start, resumed_at: end }),
            }
        })
        .collect();
    clipped.sort_by_key(|p| p.paused_at);
    let mut merged: Vec<Pause> = Vec::with_capacity(clipped.len());
    for p in clipped {
        match merged.last_mut() {
            Some(last) if last.resumed_at.is_none_or(|end| p.paused_at <= end) => {
                last.resumed_at = match (last.resumed_at, p.resumed_at) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => merged.push(p),
        }
    }
    merged
}

/// Where the clock stands: the pause holding `t`, if any, and the next pause start after `t`.
fn pause_at(pauses: &[Pause], t: NaiveDateTime) -> (Option<&Pause>, Option<NaiveDateTime>) {
    for p in pauses {
        if p.paused_at <= t && p.resumed_at.is_none_or(|end| t < end) {
            return (Some(p), None);
        }
        if p.paused_at > t {
            return (None, Some(p.paused_at));
        }
    }
    (None, None)
}

/// Where the clock runs next after an instant.
enum Stretch {
    /// `[start, end)`; `end = None` is an unbounded natural stretch.
    Running(NaiveDateTime, Option<NaiveDateTime>),
    /// It never runs again (an open-ended pause).
    Stopped,
    /// A day the calendar does not cover was reached at or after the horizon: nothing from there on
    /// is needed.
    Horizon,
}

/// The next stretch after `t` in which the clock runs. A day the calendar does not cover is needed
/// only before `horizon`: a resolved ticket is decided by the days before its resolution alone
/// (rules.md §3), so reaching such a day at or after the resolution is not an error.
fn next_running_stretch(
    clock: ClockKind,
    calendar: &WorkCalendar,
    pauses: &[Pause],
    mut t: NaiveDateTime,
    horizon: Option<NaiveDateTime>,
) -> Result<Stretch, NoCalendarYear> {
    loop {
        let (holding, next_pause) = pause_at(pauses, t);
        if let Some(p) = holding {
            match p.resumed_at {
                Some(end) => {
                    t = end;
                    continue;
                }
                None => return Ok(Stretch::Stopped),
            }
        }
        let stretch_end = match clock {
            ClockKind::Natural => return Ok(Stretch::Running(t, next_pause)),
            ClockKind::Working => {
                let day = t.date();
                let Some(working) = calendar.is_working_day(day) else {
                    if horizon.is_some_and(|h| t >= h) {
                        return Ok(Stretch::Horizon);
                    }
                    return Err(NoCalendarYear(chrono::Datelike::year(&day)));
                };
                let window =
                    working.then(|| calendar.windows().iter().find(|(_, end)| day.and_time(*end) > t)).flatten();
                let Some(&(start, end)) = window else {
                    t = (day + Duration::days(1)).and_time(NaiveTime::MIN);
                    continue;
                };
                let start = day.and_time(start).max(t);
                if next_pause.is_some_and(|p| p <= start) {
                    t = start;
                    continue;
                }
                t = start;
                let end = day.and_time(end);
                next_pause.map_or(end, |p| p.min(end))
            }
        };
        return Ok(Stretch::Running(t, Some(stretch_end)));
    }
}

/// `due_at`: the earliest instant at which the counted seconds since `opened` reach the limit.
/// With `resolved`, a working clock that reaches a day the calendar does not cover at or after the
/// resolution, the limit not reached, gives `Due::After(resolved)` (on time) instead of an error:
/// no day from the resolution on is needed to decide the ticket.
pub(crate) fn due_at(
    class: SlaClass,
    calendar: &WorkCalendar,
    opened: NaiveDateTime,
    merged_pauses: &[Pause],
    resolved: Option<NaiveDateTime>,
) -> Result<Due, NoCalendarYear> {
    let mut remaining = class.limit_seconds;
    let mut t = opened;
    loop {
        let (start, end) = match next_running_stretch(class.clock, calendar, merged_pauses, t, resolved)? {
            Stretch::Running(start, end) => (start, end),
            Stretch::Stopped => return Ok(Due::Never),
            Stretch::Horizon => return Ok(Due::After(resolved.unwrap_or(t))),
        };
        match end {
            None => return Ok(Due::At(start + Duration::seconds(remaining))),
            Some(end) => {
                let length = (end - start).num_seconds();
                if remaining <= length {
                    return Ok(Due::At(start + Duration::seconds(remaining)));
                }
                remaining -= length;
                t = end;
            }
        }
    }
}

/// `elapsed(t)`: the seconds in `[opened, t)` that the clock counts outside every pause (rules.md
/// §3's definition, which the tests check `due_at` against).
#[cfg(test)]
pub(crate) fn elapsed(
    clock: ClockKind,
    calendar: &WorkCalendar,
    opened: NaiveDateTime,
    merged_pauses: &[Pause],
    until: NaiveDateTime,
) -> Result<i64, NoCalendarYear> {
    let mut total = 0;
    let mut t = opened;
    while t < until {
        let Stretch::Running(start, end) = next_running_stretch(clock, calendar, merged_pauses, t, Some(until))? else {
            break;
        };
        if start >= until {
            break;
        }
        let stop = end.map_or(until, |e| e.min(until));
        total += (stop - start).num_seconds();
        t = stop;
    }
    Ok(total)
}

/// Whether a counted row was on time and the month it counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attribution {
    pub(crate) month: Month,
    pub(crate) on_time: bool,
}

/// Attributes a ticket or order (rules.md §3): on time counts in the month it was finished, late in
/// the month of its deadline; neither finished nor past a deadline counts nowhere yet.
pub(crate) fn attribute(finished: Option<NaiveDateTime>, due: Due) -> Option<Attribution> {
    match (finished, due) {
        (Some(done), Due::At(d)) if done > d => Some(Attribution { month: Month::of_instant(d), on_time: false }),
        (Some(done), _) => Some(Attribution { month: Month::of_instant(done), on_time: true }),
        (None, Due::At(d)) => Some(Attribution { month: Month::of_instant(d), on_time: false }),
        (None, Due::After(_) | Due::Never) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::tests::calendar_2026;
    use crate::domain::period::parse_timestamp;
    use proptest::prelude::*;

    fn ts(s: &str) -> NaiveDateTime {
        parse_timestamp(s).unwrap_or_else(|| panic!("bad timestamp {s}"))
    }
    fn hours(h: i64, clock: ClockKind) -> SlaClass {
        SlaClass { limit_seconds: h * 3600, clock }
    }
    fn standard() -> SlaClass {
        hours(15, ClockKind::Working)
    }
    fn due(class: SlaClass, opened: &str, pauses: &[(&str, Option<&str>)], resolved: Option<&str>) -> Due {
        let raw: Vec<Pause> = pauses.iter().map(|(p, r)| Pause { paused_at: ts(p), resumed_at: r.map(ts) }).collect();
        let merged = merge_pauses(ts(opened), resolved.map(ts), &raw);
        due_at(class, &calendar_2026(), ts(opened), &merged, None).unwrap()
    }
    fn at(s: &str) -> Due {
        Due::At(ts(s))
    }

    // examples.md, working clock table, one test per row.
    #[test]
    fn spring_festival_with_two_adjusted_saturdays() {
        // Fri 4 h; Sat 02-14 (调休) 7.5 → 11.5; 02-16..20 and 02-23 off; Tue 02-24 09–12 → 14.5; 13:30 + 0.5 h.
        assert_eq!(due(standard(), "2026-02-13 14:00:00", &[], None), at("2026-02-24 14:00:00"));
    }

    #[test]
    fn limit_reached_at_end_of_window_is_18_00_not_next_working_day() {
        // Fri 10-09 7.5 h; Sat 10-10 (调休) 7.5 h → exactly 15 h at 18:00:00.
        assert_eq!(due(standard(), "2026-10-09 09:00:00", &[], None), at("2026-10-10 18:00:00"));
        assert_eq!(due(standard(), "2026-02-27 09:00:00", &[], None), at("2026-02-28 18:00:00"));
    }

    #[test]
    fn limit_reached_at_noon_is_12_00_not_13_30() {
        // Mon 4.5 h; Tue 7.5 → 12; Wed 09:00 + 3 h = 12:00:00.
        assert_eq!(due(standard(), "2026-03-02 13:30:00", &[], None), at("2026-03-04 12:00:00"));
        // Opened in the lunch break: counting starts at 13:30 the same.
        assert_eq!(due(standard(), "2026-03-02 12:45:00", &[], None), at("2026-03-04 12:00:00"));
    }

    #[test]
    fn opened_after_hours_starts_next_morning() {
        assert_eq!(due(standard(), "2026-03-02 18:30:00", &[], None), at("2026-03-04 18:00:00"));
    }

    #[test]
    fn opened_on_a_holiday_counts_the_adjusted_sunday() {
        // 01-02 holiday, Sat 01-03 off, Sun 01-04 working 7.5 h, Mon 01-05 7.5 h.
        assert_eq!(due(standard(), "2026-01-02 10:00:00", &[], None), at("2026-01-05 18:00:00"));
    }

    #[test]
    fn labour_day_and_national_day_holidays() {
        assert_eq!(due(standard(), "2026-04-29 14:00:00", &[], None), at("2026-05-06 14:00:00"));
        assert_eq!(due(standard(), "2026-09-30 16:00:00", &[], None), at("2026-10-09 16:00:00"));
    }

    #[test]
    fn pause_removes_only_working_seconds() {
        // Mon 09–10 → 1 h; Tue 10–12 → 3 h, 13:30–18 → 7.5 h (11.5); Wed 7.5 → 15 h at 18:00.
        let d = due(standard(), "2026-05-11 09:00:00", &[("2026-05-11 10:00:00", Some("2026-05-12 10:00:00"))], None);
        assert_eq!(d, at("2026-05-13 18:00:00"));
    }

    #[test]
    fn year_without_calendar_data_is_an_error_not_a_weekday_guess() {
        // examples.md: Thu 2026-12-31 09:00, unresolved (or resolved in 2027): needs 2027's days.
        let opened = ts("2026-12-31 09:00:00");
        let merged = merge_pauses(opened, None, &[]);
        assert_eq!(due_at(standard(), &calendar_2026(), opened, &merged, None), Err(NoCalendarYear(2027)));
        let resolved = ts("2027-01-04 10:00:00");
        let merged = merge_pauses(opened, Some(resolved), &[]);
        assert_eq!(due_at(standard(), &calendar_2026(), opened, &merged, Some(resolved)), Err(NoCalendarYear(2027)));
    }

    #[test]
    fn a_ticket_resolved_before_its_limit_needs_no_day_after_its_resolution() {
        // examples.md: Thu 2026-12-31 09:00, resolved 16:00: 5.5 working hours, the limit (15 h)
        // not reached, so due_at (in 2027) is not needed: on time, counted in 2026-12.
        let (opened, resolved) = (ts("2026-12-31 09:00:00"), ts("2026-12-31 16:00:00"));
        let merged = merge_pauses(opened, Some(resolved), &[]);
        let d = due_at(standard(), &calendar_2026(), opened, &merged, Some(resolved)).unwrap();
        assert_eq!(d, Due::After(resolved));
        let a = attribute(Some(resolved), d).unwrap();
        assert_eq!((a.month.to_string(), a.on_time), ("2026-12".into(), true));
        // Resolved at the very end of the covered year: still only 2026's days are looked at.
        let midnight = ts("2027-01-01 00:00:00");
        let merged = merge_pauses(opened, Some(midnight), &[]);
        assert_eq!(due_at(standard(), &calendar_2026(), opened, &merged, Some(midnight)), Ok(Due::After(midnight)));
    }

    #[test]
    fn deadline_inside_covered_year_is_decided_even_if_resolved_next_year() {
        let resolved = ts("2027-01-05 10:00:00");
        let merged = merge_pauses(ts("2026-12-28 09:00:00"), Some(resolved), &[]);
        let d = due_at(standard(), &calendar_2026(), ts("2026-12-28 09:00:00"), &merged, Some(resolved)).unwrap();
        assert_eq!(d, at("2026-12-29 18:00:00"));
        let a = attribute(Some(ts("2027-01-05 10:00:00")), d).unwrap();
        assert_eq!((a.month.to_string(), a.on_time), ("2026-12".into(), false));
    }

    #[test]
    fn on_time_means_resolved_at_or_before_due() {
        let d = at("2026-02-28 18:00:00");
        // No working second passed, but the deadline did: late, counted in February.
        let a = attribute(Some(ts("2026-03-02 08:59:59")), d).unwrap();
        assert_eq!((a.month.to_string(), a.on_time), ("2026-02".into(), false));
        let noon = at("2026-03-04 12:00:00");
        assert!(attribute(Some(ts("2026-03-04 12:00:00")), noon).unwrap().on_time);
        // Resolved in the lunch break after a 12:00:00 deadline: late, counted in the due month.
        let lunch = attribute(Some(ts("2026-03-04 13:15:00")), noon).unwrap();
        assert_eq!((lunch.month.to_string(), lunch.on_time), ("2026-03".into(), false));
        assert!(!attribute(Some(ts("2026-03-03 19:30:00")), at("2026-03-03 18:00:00")).unwrap().on_time);
    }

    #[test]
    fn natural_clock_late_ticket_counts_in_its_due_month() {
        let d = due(hours(24, ClockKind::Natural), "2026-03-30 10:00:00", &[], None);
        assert_eq!(d, at("2026-03-31 10:00:00"));
        let a = attribute(Some(ts("2026-04-02 09:00:00")), d).unwrap();
        assert_eq!((a.month.to_string(), a.on_time), ("2026-03".into(), false));
    }

    #[test]
    fn resolved_exactly_at_midnight_deadline_is_on_time_next_month() {
        let d = due(hours(4, ClockKind::Natural), "2026-03-31 20:00:00", &[], None);
        assert_eq!(d, at("2026-04-01 00:00:00"));
        let a = attribute(Some(ts("2026-04-01 00:00:00")), d).unwrap();
        assert_eq!((a.month.to_string(), a.on_time), ("2026-04".into(), true));
        let b = attribute(Some(ts("2026-04-01 00:00:01")), d).unwrap();
        assert_eq!((b.month.to_string(), b.on_time), ("2026-04".into(), false));
    }

    #[test]
    fn unresolved_ticket_is_late_in_its_due_month() {
        let d = due(hours(24, ClockKind::Natural), "2026-05-31 10:00:00", &[], None);
        let a = attribute(None, d).unwrap();
        assert_eq!((a.month.to_string(), a.on_time), ("2026-06".into(), false));
    }

    #[test]
    fn open_ended_pause_means_no_deadline_and_no_month() {
        let d = due(hours(24, ClockKind::Natural), "2026-06-05 10:00:00", &[("2026-06-05 12:00:00", None)], None);
        assert_eq!(d, Due::Never);
        assert_eq!(attribute(None, d), None);
    }

    #[test]
    fn open_ended_pause_after_the_deadline_does_not_matter() {
        let d = due(hours(8, ClockKind::Natural), "2026-06-08 10:00:00", &[("2026-06-08 20:00:00", None)], None);
        assert_eq!(d, at("2026-06-08 18:00:00"));
        assert_eq!(attribute(None, d).unwrap().month.to_string(), "2026-06");
    }

    #[test]
    fn overlapping_pauses_are_merged_not_summed() {
        // [09:00,10:00) [09:30,11:00) [09:10,09:20) merge to [09:00,11:00) = 2 h → due 14:00.
        let pauses = [
            ("2026-07-01 09:00:00", Some("2026-07-01 10:00:00")),
            ("2026-07-01 09:30:00", Some("2026-07-01 11:00:00")),
            ("2026-07-01 09:10:00", Some("2026-07-01 09:20:00")),
        ];
        let d = due(hours(4, ClockKind::Natural), "2026-07-01 08:00:00", &pauses, Some("2026-07-01 14:30:00"));
        assert_eq!(d, at("2026-07-01 14:00:00"));
        assert!(!attribute(Some(ts("2026-07-01 14:30:00")), d).unwrap().on_time);
    }

    #[test]
    fn pause_before_opening_is_clipped() {
        let pauses = [("2026-03-10 08:00:00", Some("2026-03-10 11:00:00"))];
        let d = due(hours(4, ClockKind::Natural), "2026-03-10 10:00:00", &pauses, Some("2026-03-10 15:30:00"));
        assert_eq!(d, at("2026-03-10 15:00:00"));
    }

    #[test]
    fn elapsed_matches_the_limit_at_the_deadline() {
        let cal = calendar_2026();
        let opened = ts("2026-02-13 14:00:00");
        assert_eq!(elapsed(ClockKind::Working, &cal, opened, &[], ts("2026-02-24 14:00:00")).unwrap(), 15 * 3600);
        assert_eq!(elapsed(ClockKind::Working, &cal, opened, &[], ts("2026-02-14 12:00:00")).unwrap(), 7 * 3600);
    }

    fn arb_instant() -> impl Strategy<Value = NaiveDateTime> {
        // Any second of 2026 up to mid-December, so that working deadlines stay inside the calendar.
        (0i64..340 * 86400).prop_map(|s| ts("2026-01-01 00:00:00") + Duration::seconds(s))
    }

    fn arb_pauses() -> impl Strategy<Value = Vec<(i64, Option<i64>)>> {
        prop::collection::vec((-86400i64..5 * 86400, prop::option::weighted(0.9, 0i64..2 * 86400)), 0..4)
    }

    proptest! {
        #[test]
        fn elapsed_never_exceeds_wall_time(opened in arb_instant(), span in 0i64..20 * 86400,
                                           raw in arb_pauses(), working in any::<bool>()) {
            let clock = if working { ClockKind::Working } else { ClockKind::Natural };
            let pauses: Vec<Pause> = raw.iter().map(|(o, len)| Pause {
                paused_at: opened + Duration::seconds(*o),
                resumed_at: len.map(|l| opened + Duration::seconds(o + l)),
            }).collect();
            let until = opened + Duration::seconds(span);
            let merged = merge_pauses(opened, None, &pauses);
            let e = elapsed(clock, &calendar_2026(), opened, &merged, until).unwrap();
            prop_assert!(e >= 0 && e <= span);
        }

        #[test]
        fn due_is_where_elapsed_reaches_the_limit(opened in arb_instant(), limit in 1i64..40 * 3600,
                                                   raw in arb_pauses(), working in any::<bool>()) {
            let clock = if working { ClockKind::Working } else { ClockKind::Natural };
            let pauses: Vec<Pause> = raw.iter().map(|(o, len)| Pause {
                paused_at: opened + Duration::seconds(*o),
                resumed_at: len.map(|l| opened + Duration::seconds(o + l)),
            }).collect();
            let cal = calendar_2026();
            let merged = merge_pauses(opened, None, &pauses);
            if let Due::At(d) = due_at(SlaClass { limit_seconds: limit, clock }, &cal, opened, &merged, None).unwrap() {
                prop_assert_eq!(elapsed(clock, &cal, opened, &merged, d).unwrap(), limit);
                prop_assert!(elapsed(clock, &cal, opened, &merged, d - Duration::seconds(1)).unwrap() < limit);
            }
        }

        #[test]
        fn looking_only_before_the_resolution_decides_the_same(opened in arb_instant(), limit in 1i64..40 * 3600,
                                                               raw in arb_pauses(), after in 0i64..12 * 86400,
                                                               working in any::<bool>()) {
            let clock = if working { ClockKind::Working } else { ClockKind::Natural };
            let class = SlaClass { limit_seconds: limit, clock };
            let resolved = opened + Duration::seconds(after);
            let pauses: Vec<Pause> = raw.iter().map(|(o, len)| Pause {
                paused_at: opened + Duration::seconds(*o),
                resumed_at: len.map(|l| opened + Duration::seconds(o + l)),
            }).collect();
            let merged = merge_pauses(opened, Some(resolved), &pauses);
            let cal = calendar_2026();
            if let Ok(full) = due_at(class, &cal, opened, &merged, None) {
                let bounded = due_at(class, &cal, opened, &merged, Some(resolved)).unwrap();
                prop_assert_eq!(attribute(Some(resolved), bounded), attribute(Some(resolved), full));
            }
        }

        #[test]
        fn later_resolution_is_never_on_time_when_earlier_is_late(opened in arb_instant(), limit in 1i64..40 * 3600,
                                                                   a in 0i64..10 * 86400, b in 0i64..10 * 86400) {
            let cal = calendar_2026();
            let class = SlaClass { limit_seconds: limit, clock: ClockKind::Working };
            let (early, late) = (opened + Duration::seconds(a.min(b)), opened + Duration::seconds(a.max(b)));
            let d = due_at(class, &cal, opened, &[], None).unwrap();
            let on_time = |r| attribute(Some(r), d).unwrap().on_time;
            prop_assert!(on_time(early) || !on_time(late));
        }
    }
}
