//! The working calendar (工作日历): weekdays minus statutory holidays plus 调休 working weekends,
//! and the daily working windows. Years missing from the data are unknown, never guessed.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use std::collections::{BTreeMap, BTreeSet};

/// One year's official adjustments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CalendarYear {
    pub(crate) holidays: BTreeSet<NaiveDate>,
    pub(crate) working_weekends: BTreeSet<NaiveDate>,
}

/// Working days and windows; `is_working_day` answers `None` for a year without data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkCalendar {
    years: BTreeMap<i32, CalendarYear>,
    /// Ascending, non-overlapping `[start, end)` windows of a working day.
    windows: Vec<(NaiveTime, NaiveTime)>,
}

impl WorkCalendar {
    /// Builds a calendar from already validated parts (settings checks order and overlap).
    pub(crate) fn new(years: BTreeMap<i32, CalendarYear>, windows: Vec<(NaiveTime, NaiveTime)>) -> Self {
        Self { years, windows }
    }

    pub(crate) fn windows(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.windows
    }

    pub(crate) fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    pub(crate) fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// The last day of the covered years that run on from `today`'s year without a gap; `None`
    /// when `today`'s own year has no data.
    pub(crate) fn covered_through(&self, today: NaiveDate) -> Option<NaiveDate> {
        let mut year = today.year();
        if !self.covers(year) {
            return None;
        }
        while self.covers(year + 1) {
            year += 1;
        }
        NaiveDate::from_ymd_opt(year, 12, 31)
    }

    /// When the calendar runs out within `warning_days` of `today`: the first year it lacks and the
    /// days left until then (rules.md §3: working-clock tickets of that year cannot be decided).
    pub(crate) fn running_out(&self, today: NaiveDate, warning_days: u32) -> Option<(i32, i64)> {
        let Some(last) = self.covered_through(today) else { return Some((today.year(), 0)) };
        let left = (last - today).num_days() + 1;
        (left <= i64::from(warning_days)).then_some((last.year() + 1, left))
    }

    /// `Some(true)` on a working day, `Some(false)` on a day off, `None` when the year has no data.
    pub(crate) fn is_working_day(&self, day: NaiveDate) -> Option<bool> {
        let year = self.years.get(&day.year())?;
        if year.working_weekends.contains(&day) {
            return Some(true);
        }
        if year.holidays.contains(&day) {
            return Some(false);
        }
        Some(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The 2026 calendar of `calendar-cn.toml` with the default windows, for tests across the crate.
    pub(crate) fn calendar_2026() -> WorkCalendar {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let holidays = [
            "2026-01-01",
            "2026-01-02",
            "2026-02-16",
            "2026-02-17",
            "2026-02-18",
            "2026-02-19",
            "2026-02-20",
            "2026-02-23",
            "2026-04-06",
            "2026-05-01",
            "2026-05-04",
            "2026-05-05",
            "2026-06-19",
            "2026-09-25",
            "2026-10-01",
            "2026-10-02",
            "2026-10-05",
            "2026-10-06",
            "2026-10-07",
        ];
        let weekends = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"];
        let year = CalendarYear {
            holidays: holidays.iter().map(|s| d(s)).collect(),
            working_weekends: weekends.iter().map(|s| d(s)).collect(),
        };
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        WorkCalendar::new(BTreeMap::from([(2026, year)]), vec![(t(9, 0), t(12, 0)), (t(13, 30), t(18, 0))])
    }

    #[test]
    fn adjusted_weekends_work_and_holidays_rest() {
        let cal = calendar_2026();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(cal.is_working_day(d("2026-02-14")), Some(true)); // Saturday 调休
        assert_eq!(cal.is_working_day(d("2026-02-16")), Some(false)); // Spring Festival Monday
        assert_eq!(cal.is_working_day(d("2026-02-15")), Some(false)); // plain Sunday
        assert_eq!(cal.is_working_day(d("2026-03-02")), Some(true)); // plain Monday
        assert_eq!(cal.is_working_day(d("2027-01-04")), None); // no data for 2027
    }

    #[test]
    fn the_calendar_warns_before_it_runs_out() {
        let cal = calendar_2026();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(cal.covered_through(d("2026-12-05")), Some(d("2026-12-31")));
        // 27 days are left on 2026-12-05 (the 5th to the 31st): within 60, not within 20.
        assert_eq!(cal.running_out(d("2026-12-05"), 60), Some((2027, 27)));
        assert_eq!(cal.running_out(d("2026-12-05"), 20), None);
        assert_eq!(cal.running_out(d("2026-06-01"), 60), None);
        // A year with no data at all: it has run out already.
        assert_eq!(cal.running_out(d("2027-01-02"), 60), Some((2027, 0)));
    }
}
