//! What the job schedules mean: when each job fires (cron, in the rules' time zone), which period
//! a firing covers, what is due after downtime, and how long to wait before retrying. Pure: the
//! period comes from the scheduled instant, never from "now" (the job files are read by `config`).

use crate::config::{Covers, JobDef};
use crate::domain::job::Job;
use crate::domain::period::{Month, Quarter};
use chrono::{Datelike, NaiveDateTime, TimeZone};

/// The period a firing at `fired` (local wall-clock time) covers.
pub(crate) fn period_of(covers: Covers, fired: NaiveDateTime) -> Job {
    let day = fired.date();
    match covers {
        Covers::PreviousMonth => Job::Monthly(Month::of(day).prev()),
        Covers::PreviousQuarter => Job::Quarterly(Quarter::of(day).prev()),
        Covers::Day => Job::Renewal(day),
        Covers::PreviousYear => Job::Annual(day.year() - 1),
    }
}

/// The next `n` firings after `after` (local wall-clock time in `tz`).
pub(crate) fn next_firings(def: &JobDef, tz: chrono_tz::Tz, after: NaiveDateTime, n: usize) -> Vec<NaiveDateTime> {
    let Some(start) = tz.from_local_datetime(&after).earliest() else { return vec![] };
    def.schedule.after(&start).take(n).map(|t| t.naive_local()).collect()
}

/// A job period the schedules say should have run: the firing and what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Due {
    pub(crate) fired: NaiveDateTime,
    pub(crate) job: Job,
}

/// Every job period the enabled schedules fired for in `(as_of − look_back, as_of]`, oldest first
/// (monthly before quarterly at the same instant). A cumulative job — renewal, whose summary as of
/// a day includes everything before it — is due once, as of its latest firing. Nothing that
/// starts before `first_period` is due.
pub(crate) fn due(
    defs: &[JobDef],
    tz: chrono_tz::Tz,
    as_of: NaiveDateTime,
    look_back_months: u32,
    first_period: Option<Month>,
) -> Vec<Due> {
    let start = as_of.checked_sub_months(chrono::Months::new(look_back_months)).unwrap_or(as_of);
    let Some(start) = tz.from_local_datetime(&start).earliest() else { return vec![] };
    let mut out: Vec<(usize, Due)> = Vec::new();
    for (order, def) in defs.iter().enumerate().filter(|(_, d)| d.enabled) {
        let mut fired: Vec<Due> = def
            .schedule
            .after(&start)
            .map(|t| t.naive_local())
            .take_while(|t| *t <= as_of)
            .map(|t| Due { fired: t, job: period_of(def.covers, t) })
            .filter(|d| first_period.is_none_or(|f| d.job.first_month() >= f))
            .collect();
        if def.covers == Covers::Day {
            fired = fired.pop().into_iter().collect();
        }
        fired.dedup_by_key(|d| d.job);
        out.extend(fired.into_iter().map(|d| (order, d)));
    }
    out.sort_by_key(|(order, d)| (d.fired, *order));
    out.into_iter().map(|(_, d)| d).collect()
}

/// The wait before attempt `attempt` (2, 3, …) of a job period that failed transiently: doubling
/// from `base`, at most an hour.
pub(crate) fn backoff(base: std::time::Duration, attempt: u32) -> std::time::Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(2));
    base.saturating_mul(factor).min(std::time::Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jobs::{parse, SHIPPED};
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

    fn all_shipped() -> Vec<JobDef> {
        ["monthly", "quarterly", "renewal", "annual"].into_iter().map(shipped).collect()
    }

    #[test]
    fn three_months_of_downtime_are_due_oldest_first_with_renewal_once() {
        let due = due(&all_shipped(), chrono_tz::Asia::Shanghai, ts("2026-07-04 12:00:00"), 3, None);
        let jobs: Vec<String> = due.iter().map(|d| format!("{} {}", d.job.name(), d.job.period())).collect();
        assert_eq!(
            jobs,
            [
                // Fired 2026-04-05 03:00, inside the three months.
                "quarterly 2026-Q1",
                "monthly 2026-04",
                "monthly 2026-05",
                "monthly 2026-06",
                // Daily and cumulative: once, as of the last firing, not 92 times.
                "renewal 2026-07-04",
            ]
        );
        assert_eq!(due[1].fired, ts("2026-05-03 02:00:00"));
    }

    #[test]
    fn a_firing_after_as_of_is_not_due_and_first_period_bounds_the_look_back() {
        // 02:00 on the 3rd has not come yet at 01:59.
        let due_then = due(&all_shipped(), chrono_tz::Asia::Shanghai, ts("2026-07-03 01:59:59"), 1, None);
        assert!(due_then.iter().all(|d| d.job != Job::Monthly("2026-06".parse().unwrap())), "{due_then:?}");
        let defs = all_shipped();
        let due = due(&defs, chrono_tz::Asia::Shanghai, ts("2027-01-11 00:00:00"), 13, "2026-09".parse().ok());
        let jobs: Vec<String> = due.iter().map(|d| format!("{} {}", d.job.name(), d.job.period())).collect();
        // January covers December and the quarter and year before; the year started before September.
        // Renewal fires at 06:00, so as of midnight its last firing is the day before.
        assert_eq!(
            jobs,
            [
                "monthly 2026-09",
                "monthly 2026-10",
                "monthly 2026-11",
                "monthly 2026-12",
                "quarterly 2026-Q4",
                "renewal 2027-01-10"
            ]
        );
    }

    #[test]
    fn disabled_jobs_are_never_due() {
        let mut defs = all_shipped();
        defs.iter_mut().for_each(|d| d.enabled = d.name == "annual");
        let due = due(&defs, chrono_tz::Asia::Shanghai, ts("2027-01-10 04:00:00"), 12, None);
        assert_eq!(due.iter().map(|d| d.job).collect::<Vec<_>>(), [Job::Annual(2026)]);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = std::time::Duration::from_secs(60);
        assert_eq!(backoff(base, 2), base);
        assert_eq!(backoff(base, 3), base * 2);
        assert_eq!(backoff(base, 4), base * 4);
        assert_eq!(backoff(base, 40), std::time::Duration::from_secs(3600));
    }
}
