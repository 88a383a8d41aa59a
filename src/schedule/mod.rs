//! Job definitions (`jobs/*.toml`): when each job fires (cron, in the rules' time zone) and which
//! period a firing covers. Pure: the period comes from the scheduled instant, never from "now".

use crate::domain::period::{Month, Quarter};
use crate::jobs::Job;
use chrono::{Datelike, NaiveDateTime, TimeZone};
use serde::Deserialize;
use std::str::FromStr;

/// Which period a firing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Covers {
    PreviousMonth,
    PreviousQuarter,
    Day,
    PreviousYear,
}

/// A validated job definition.
#[derive(Debug, Clone)]
pub struct JobDef {
    pub name: String,
    pub enabled: bool,
    pub schedule: cron::Schedule,
    pub covers: Covers,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    enabled: bool,
    schedule: String,
    covers: Covers,
}

/// Parses one job file; problems are pushed, every one.
pub fn parse(name: &str, text: &str, problems: &mut Vec<String>) -> Option<JobDef> {
    let raw: RawJob = match toml_edit::de::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("jobs/{name}.toml: {}", e.to_string().trim()));
            return None;
        }
    };
    let expected = match name {
        "monthly" => Some(Covers::PreviousMonth),
        "quarterly" => Some(Covers::PreviousQuarter),
        "renewal" => Some(Covers::Day),
        "annual" => Some(Covers::PreviousYear),
        _ => None,
    };
    match expected {
        None => problems.push(format!("jobs/{name}.toml: no such job (monthly, quarterly, renewal, annual)")),
        Some(c) if c != raw.covers => problems.push(format!("jobs/{name}.toml: covers must be {c:?} for this job")),
        Some(_) => {}
    }
    match cron::Schedule::from_str(&raw.schedule) {
        Ok(schedule) => Some(JobDef { name: name.to_string(), enabled: raw.enabled, schedule, covers: raw.covers }),
        Err(e) => {
            problems.push(format!("jobs/{name}.toml: schedule {:?} is not a cron expression: {e}", raw.schedule));
            None
        }
    }
}

const SHIPPED: [(&str, &str); 4] = [
    ("monthly", include_str!("../../jobs/monthly.toml")),
    ("quarterly", include_str!("../../jobs/quarterly.toml")),
    ("renewal", include_str!("../../jobs/renewal.toml")),
    ("annual", include_str!("../../jobs/annual.toml")),
];

/// Loads the four job files from `dir` (the shipped copies when there is no such folder).
pub fn load(dir: &std::path::Path) -> Result<Vec<JobDef>, Vec<String>> {
    let mut problems = Vec::new();
    let mut defs = Vec::new();
    for (name, shipped) in SHIPPED {
        let text = if dir.is_dir() {
            match std::fs::read_to_string(dir.join(format!("{name}.toml"))) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("jobs/{name}.toml: {e}"));
                    continue;
                }
            }
        } else {
            shipped.to_string()
        };
        defs.extend(parse(name, &text, &mut problems));
    }
    if problems.is_empty() {
        Ok(defs)
    } else {
        Err(problems)
    }
}

/// The period a firing at `fired` (local wall-clock time) covers.
pub fn period_of(covers: Covers, fired: NaiveDateTime) -> Job {
    let day = fired.date();
    match covers {
        Covers::PreviousMonth => Job::Monthly(Month::of(day).prev()),
        Covers::PreviousQuarter => Job::Quarterly(Quarter::of(day).prev()),
        Covers::Day => Job::Renewal(day),
        Covers::PreviousYear => Job::Annual(day.year() - 1),
    }
}

/// The next `n` firings after `after` (local wall-clock time in `tz`).
pub fn next_firings(def: &JobDef, tz: chrono_tz::Tz, after: NaiveDateTime, n: usize) -> Vec<NaiveDateTime> {
    let Some(start) = tz.from_local_datetime(&after).earliest() else { return vec![] };
    def.schedule.after(&start).take(n).map(|t| t.naive_local()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::parse_timestamp;

    fn shipped(name: &str) -> JobDef {
        let text = SHIPPED.iter().find(|(n, _)| *n == name).unwrap().1;
        let mut problems = Vec::new();
        let def = parse(name, text, &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        def
    }

    fn ts(s: &str) -> NaiveDateTime {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn monthly_fires_on_the_3rd_at_2_and_covers_the_previous_month() {
        let def = shipped("monthly");
        let next = next_firings(&def, chrono_tz::Asia::Shanghai, ts("2026-11-29 12:00:00"), 3);
        assert_eq!(next, [ts("2026-12-03 02:00:00"), ts("2027-01-03 02:00:00"), ts("2027-02-03 02:00:00")]);
        assert_eq!(period_of(def.covers, next[0]), Job::Monthly("2026-11".parse().unwrap()));
        // January's firing covers December of the year before.
        assert_eq!(period_of(def.covers, next[1]), Job::Monthly("2026-12".parse().unwrap()));
    }

    #[test]
    fn quarterly_fires_in_the_first_month_of_a_quarter_and_covers_the_previous_one() {
        let def = shipped("quarterly");
        let next = next_firings(&def, chrono_tz::Asia::Shanghai, ts("2026-11-29 12:00:00"), 2);
        assert_eq!(next, [ts("2027-01-05 03:00:00"), ts("2027-04-05 03:00:00")]);
        assert_eq!(period_of(def.covers, next[0]), Job::Quarterly("2026-Q4".parse().unwrap()));
        // A firing on the first day of a quarter covers the quarter that just ended.
        assert_eq!(
            period_of(Covers::PreviousQuarter, ts("2026-07-01 00:00:00")),
            Job::Quarterly("2026-Q2".parse().unwrap())
        );
    }

    #[test]
    fn renewal_is_as_of_the_firing_day_and_annual_covers_last_year() {
        assert_eq!(
            period_of(shipped("renewal").covers, ts("2026-11-30 06:00:00")),
            Job::Renewal(ts("2026-11-30 00:00:00").date())
        );
        let annual = shipped("annual");
        let next = next_firings(&annual, chrono_tz::Asia::Shanghai, ts("2026-11-29 12:00:00"), 1);
        assert_eq!(next, [ts("2027-01-10 04:00:00")]);
        assert_eq!(period_of(annual.covers, next[0]), Job::Annual(2026));
    }

    #[test]
    fn bad_job_files_name_every_problem() {
        let mut problems = Vec::new();
        assert!(
            parse("monthly", "enabled = true\nschedule = \"every day\"\ncovers = \"day\"\n", &mut problems).is_none()
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        let mut problems = Vec::new();
        assert!(parse(
            "weekly",
            "enabled = true\nschedule = \"0 0 2 3 * *\"\ncovers = \"day\"\nextra = 1\n",
            &mut problems
        )
        .is_none());
        assert!(problems[0].contains("extra"), "{problems:?}");
    }
}
