//! Calendar periods the jobs run over (month, quarter, year) and the date arithmetic of the rules.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use std::fmt;
use std::str::FromStr;

/// A calendar month, `YYYY-MM` (考核月).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub(crate) fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Self { year, month })
    }
    pub(crate) fn of(date: NaiveDate) -> Self {
        Self { year: date.year(), month: date.month() }
    }
    pub(crate) fn of_instant(t: NaiveDateTime) -> Self {
        Self::of(t.date())
    }
    pub(crate) fn year(self) -> i32 {
        self.year
    }
    pub(crate) fn month(self) -> u32 {
        self.month
    }
    pub(crate) fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month")
    }
    pub(crate) fn last_day(self) -> NaiveDate {
        self.next().first_day() - Duration::days(1)
    }
    /// `[1st 00:00:00` of the month, local wall-clock time.
    pub(crate) fn start(self) -> NaiveDateTime {
        self.first_day().and_time(NaiveTime::MIN)
    }
    /// `1st of next month 00:00:00)`, exclusive.
    pub(crate) fn end(self) -> NaiveDateTime {
        self.next().start()
    }
    pub(crate) fn next(self) -> Self {
        self.plus(1)
    }
    pub(crate) fn prev(self) -> Self {
        self.plus(-1)
    }
    pub(crate) fn plus(self, months: i32) -> Self {
        let index = self.year * 12 + self.month as i32 - 1 + months;
        Self { year: index.div_euclid(12), month: index.rem_euclid(12) as u32 + 1 }
    }
    pub(crate) fn quarter(self) -> Quarter {
        Quarter { year: self.year, quarter: (self.month - 1) / 3 + 1 }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a month (YYYY-MM): {s:?}");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        Month::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}

/// A calendar quarter, `YYYY-Qn` (`2026-Q3` = July–September).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Quarter {
    year: i32,
    quarter: u32,
}

impl Quarter {
    pub(crate) fn new(year: i32, quarter: u32) -> Option<Self> {
        ((1..=4).contains(&quarter) && (1900..=9999).contains(&year)).then_some(Self { year, quarter })
    }
    pub(crate) fn first_month(self) -> Month {
        Month { year: self.year, month: (self.quarter - 1) * 3 + 1 }
    }
    pub(crate) fn last_month(self) -> Month {
        self.first_month().plus(2)
    }
    pub(crate) fn first_day(self) -> NaiveDate {
        self.first_month().first_day()
    }
    pub(crate) fn last_day(self) -> NaiveDate {
        self.last_month().last_day()
    }
    pub(crate) fn of(date: NaiveDate) -> Self {
        Month::of(date).quarter()
    }
    pub(crate) fn prev(self) -> Self {
        self.first_month().plus(-3).quarter()
    }
    pub(crate) fn next(self) -> Self {
        self.first_month().plus(3).quarter()
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.quarter)
    }
}

impl FromStr for Quarter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a quarter (YYYY-Qn): {s:?}");
        let (y, q) = s.trim().split_once("-Q").ok_or_else(bad)?;
        if y.len() != 4 || q.len() != 1 {
            return Err(bad());
        }
        Quarter::new(y.parse().map_err(|_| bad())?, q.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}

/// Adds calendar months keeping the day of month, clamped to the target month's last day
/// (2026-11-30 + 3 months = 2027-02-28), as rules.md §8 says.
pub(crate) fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    let target = Month::of(date).plus(months);
    let day = date.day().min(target.last_day().day());
    NaiveDate::from_ymd_opt(target.year(), target.month(), day).expect("clamped day is valid")
}

/// Adds whole years the same way (a ban decided on 29 February ends on 28 February).
pub(crate) fn add_years(date: NaiveDate, years: i32) -> NaiveDate {
    add_months(date, years * 12)
}

/// The years a date of the contract may have (`YYYY-MM-DD`: four digits). Anything else is
/// unparsable, so that date arithmetic on source data (bans, notice periods) can never overflow.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1000..=9999;

pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok().filter(|d| YEARS.contains(&d.year()))
}

/// Parses the contract's `YYYY-MM-DD HH:MM:SS` (a `T` separator and fractional seconds of zero are
/// accepted too, as some engines print them).
pub(crate) fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            // Durations are whole seconds; a sub-second part would silently change on-time decisions.
            return (t.and_utc().timestamp_subsec_nanos() == 0 && YEARS.contains(&t.year())).then_some(t);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn adding_months_clamps_to_month_end() {
        assert_eq!(add_months(d("2026-11-30"), 3), d("2027-02-28"));
        assert_eq!(add_months(d("2026-08-31"), 3), d("2026-11-30"));
        assert_eq!(add_months(d("2027-11-30"), 3), d("2028-02-29"));
        assert_eq!(add_months(d("2026-12-01"), -1), d("2026-11-01"));
        assert_eq!(add_years(d("2024-02-29"), 2), d("2026-02-28"));
    }

    #[test]
    fn months_and_quarters_parse_and_print() {
        let m: Month = "2026-10".parse().unwrap();
        assert_eq!(m.to_string(), "2026-10");
        assert_eq!(m.quarter().to_string(), "2026-Q4");
        assert_eq!(m.plus(3).to_string(), "2027-01");
        assert_eq!(m.plus(-10).to_string(), "2025-12");
        assert!("2026-13".parse::<Month>().is_err());
        assert!("2026-1".parse::<Month>().is_err());
        let q: Quarter = "2026-Q3".parse().unwrap();
        assert_eq!(q.first_day(), d("2026-07-01"));
        assert_eq!(q.last_day(), d("2026-09-30"));
        assert_eq!(q.prev().to_string(), "2026-Q2");
        assert!("2026-Q5".parse::<Quarter>().is_err());
    }

    #[test]
    fn month_bounds_are_half_open() {
        let m: Month = "2026-02".parse().unwrap();
        assert_eq!(m.last_day(), d("2026-02-28"));
        assert_eq!(m.end(), parse_timestamp("2026-03-01 00:00:00").unwrap());
    }

    #[test]
    fn timestamps_parse_only_whole_seconds() {
        assert!(parse_timestamp("2026-03-04 12:00:00").is_some());
        assert!(parse_timestamp("2026-03-04T12:00:00").is_some());
        assert!(parse_timestamp("2026-03-04 12:00:00.000").is_some());
        assert!(parse_timestamp("2026-03-04 12:00:00.5").is_none());
        assert!(parse_timestamp("yesterday").is_none());
        assert!(parse_timestamp("20260-03-04 12:00:00").is_none());
        assert!(parse_date("262143-12-31").is_none() && parse_date("0099-01-01").is_none());
    }
}
