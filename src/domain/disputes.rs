//! Disputes after publication (rules.md §11, 第二条 公平、公正、公开, 第二十六条): when a partner's
//! window to object closes, what a dispute may be in, and when a period may be settled with
//! finance. Pure: instants come in as arguments (the publication instant, the scheduled instant).

use super::calendar::WorkCalendar;
use super::clock::NoCalendarYear;
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime};

/// Where a dispute stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DisputeState {
    /// Recorded, not decided: the period is not settled.
    Open,
    /// Decided against the partner: changes nothing.
    Rejected,
    /// Decided for the partner: the period waits for its reopening, rerun, approval and
    /// publication again.
    Accepted,
    /// Accepted and put right: the period was published again since.
    Corrected,
}

impl DisputeState {
    pub(crate) const ALL: [DisputeState; 4] =
        [DisputeState::Open, DisputeState::Rejected, DisputeState::Accepted, DisputeState::Corrected];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DisputeState::Open => "open",
            DisputeState::Rejected => "rejected",
            DisputeState::Accepted => "accepted",
            DisputeState::Corrected => "corrected",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Whether the dispute still holds the period back from settlement.
    pub(crate) fn holds_settlement(self) -> bool {
        matches!(self, DisputeState::Open | DisputeState::Accepted)
    }
}

/// The last day a partner may dispute a result published at `published_at`: the
/// `working_days`-th working day of the calendar after the day of publication. `None` when the
/// window is 0 days (it is closed at publication).
pub(crate) fn last_day(
    published_at: NaiveDateTime,
    working_days: u32,
    calendar: &WorkCalendar,
) -> Result<Option<NaiveDate>, NoCalendarYear> {
    let mut day = published_at.date();
    let mut left = working_days;
    while left > 0 {
        day = day.checked_add_days(Days::new(1)).ok_or(NoCalendarYear(day.year()))?;
        match calendar.is_working_day(day) {
            Some(true) => left -= 1,
            Some(false) => {}
            None => return Err(NoCalendarYear(day.year())),
        }
    }
    Ok((working_days > 0).then_some(day))
}

/// The instant the window closes: the end of its last working day (midnight after it), or the
/// publication itself for a window of 0 days.
pub(crate) fn closes_at(
    published_at: NaiveDateTime,
    working_days: u32,
    calendar: &WorkCalendar,
) -> Result<NaiveDateTime, NoCalendarYear> {
    Ok(match last_day(published_at, working_days, calendar)? {
        Some(day) => day.succ_opt().unwrap_or(day).and_time(chrono::NaiveTime::MIN),
        None => published_at,
    })
}

/// Why a published period cannot be settled yet, if it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotYet {
    /// A partner's window is still open (the latest closing).
    WindowOpen(NaiveDateTime),
    /// Disputes are open or accepted and not yet put right (their ids).
    InDispute(Vec<String>),
}

/// Whether a published period may be settled at `as_of`: every partner's window closed, and no
/// dispute open or accepted and not yet put right.
pub(crate) fn settlement(
    as_of: NaiveDateTime,
    windows_close: impl IntoIterator<Item = NaiveDateTime>,
    disputes: &[(String, DisputeState)],
) -> Result<(), NotYet> {
    let holding: Vec<String> =
        disputes.iter().filter(|(_, s)| s.holds_settlement()).map(|(id, _)| id.clone()).collect();
    if !holding.is_empty() {
        return Err(NotYet::InDispute(holding));
    }
    match windows_close.into_iter().max() {
        Some(latest) if latest > as_of => Err(NotYet::WindowOpen(latest)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::tests::calendar_2026;
    use crate::domain::period::parse_timestamp;

    fn at(s: &str) -> NaiveDateTime {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn the_window_counts_working_days_from_the_day_after_publication() {
        let cal = calendar_2026();
        // Published Friday 2026-10-09 (a 调休 working Saturday is 2026-10-10): Sat 10 works, then
        // Mon 12, Tue 13, Wed 14, Thu 15 → the fifth working day is Thursday 2026-10-15.
        assert_eq!(
            last_day(at("2026-10-09 16:00:00"), 5, &cal).unwrap(),
            Some(chrono::NaiveDate::from_ymd_opt(2026, 10, 15).unwrap())
        );
        assert_eq!(closes_at(at("2026-10-09 16:00:00"), 5, &cal).unwrap(), at("2026-10-16 00:00:00"));
        // The National Day holiday (10-01 to 10-07) does not count: Thursday 10-08 is the first day.
        assert_eq!(closes_at(at("2026-09-30 10:00:00"), 1, &cal).unwrap(), at("2026-10-09 00:00:00"));
        // A window of 0 days is closed at publication.
        assert_eq!(closes_at(at("2026-11-03 10:00:00"), 0, &cal).unwrap(), at("2026-11-03 10:00:00"));
    }

    #[test]
    fn a_year_the_calendar_lacks_is_an_error_not_a_guess() {
        let cal = calendar_2026();
        assert_eq!(closes_at(at("2026-12-30 10:00:00"), 5, &cal), Err(NoCalendarYear(2027)));
    }

    #[test]
    fn settlement_waits_for_every_window_and_every_dispute() {
        let closes = [at("2026-11-10 00:00:00"), at("2026-11-12 00:00:00")];
        assert_eq!(
            settlement(at("2026-11-11 12:00:00"), closes, &[]),
            Err(NotYet::WindowOpen(at("2026-11-12 00:00:00")))
        );
        assert_eq!(settlement(at("2026-11-12 00:00:00"), closes, &[]), Ok(()));
        let disputes = [("D1".to_string(), DisputeState::Rejected), ("D2".to_string(), DisputeState::Accepted)];
        assert_eq!(settlement(at("2026-12-01 00:00:00"), closes, &disputes), Err(NotYet::InDispute(vec!["D2".into()])));
        let done = [("D1".to_string(), DisputeState::Rejected), ("D2".to_string(), DisputeState::Corrected)];
        assert_eq!(settlement(at("2026-12-01 00:00:00"), closes, &done), Ok(()));
    }
}
