//! The holiday calendar file (`calendar-cn.toml`): each year's statutory holidays and 调休 working
//! weekends, every date checked (a holiday on a weekend or a working weekend on a weekday is a
//! likely typo).

use super::toml::parse_toml;
use crate::domain::calendar::{CalendarYear, WorkCalendar};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
struct RawCalendarFile {
    years: BTreeMap<String, RawCalendarYear>,
}

#[derive(Debug, Deserialize)]
struct RawCalendarYear {
    holidays: Vec<String>,
    working_weekends: Vec<String>,
}

pub(super) fn parse_calendar(text: &str, problems: &mut Vec<String>) -> Option<BTreeMap<i32, CalendarYear>> {
    let before = problems.len();
    let raw: RawCalendarFile = parse_toml("calendar", text, problems)?;
    let mut years = BTreeMap::new();
    for (key, raw_year) in raw.years {
        let Ok(year) = key.parse::<i32>() else {
            problems.push(format!("calendar: years.{key} is not a year"));
            continue;
        };
        let mut parsed = CalendarYear::default();
        for (list, weekend_expected, target) in
            [("holidays", false, &raw_year.holidays), ("working_weekends", true, &raw_year.working_weekends)]
        {
            for s in target {
                let Some(day) = crate::domain::period::parse_date(s) else {
                    problems.push(format!("calendar: years.{key}.{list}: not a date: {s:?}"));
                    continue;
                };
                if chrono::Datelike::year(&day) != year {
                    problems.push(format!("calendar: years.{key}.{list}: {s} is not in {year}"));
                }
                let weekend = matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun);
                if weekend != weekend_expected {
                    let why = if weekend_expected {
                        "working_weekends lists the Saturdays and Sundays worked (调休)"
                    } else {
                        "holidays lists the weekdays off"
                    };
                    problems.push(format!(
                        "calendar: years.{key}.{list}: {s} is a {}, likely a typo ({why})",
                        day.format("%A")
                    ));
                }
                if weekend_expected {
                    parsed.working_weekends.insert(day);
                } else {
                    parsed.holidays.insert(day);
                }
            }
        }
        years.insert(year, parsed);
    }
    if years.is_empty() {
        problems.push("calendar: no year has data".into());
    }
    (problems.len() == before).then_some(years)
}

/// Years between the earliest covered year and `through` that have no calendar data.
pub(crate) fn missing_years(calendar: &WorkCalendar, through: i32) -> Vec<i32> {
    let Some(first) = calendar.covered_years().min() else { return vec![through] };
    (first..=through).filter(|y| !calendar.covers(*y)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_checks_each_date() {
        let mut problems = Vec::new();
        let text = "[years.2026]\nholidays = [\"2026-02-14\", \"2025-01-01\"]\nworking_weekends = [\"2026-03-02\"]\n";
        assert!(parse_calendar(text, &mut problems).is_none());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("2026-02-14 is a Saturday, likely a typo")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("2026-03-02 is a Monday, likely a typo")), "{problems:?}");
    }
}
