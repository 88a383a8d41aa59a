//! The jobs of the regulation and the periods they run over: a month (月度考核), a quarter (售前
//!结算), a day (续约汇总 as of that day) and a year (年度评级).

use super::period::{Month, Quarter};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use std::fmt;

/// Which job, without its period: the name the store, the ledger and the job files use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum JobKind {
    Monthly,
    Quarterly,
    Renewal,
    Annual,
}

impl JobKind {
    pub(crate) const ALL: [JobKind; 4] = [JobKind::Monthly, JobKind::Quarterly, JobKind::Renewal, JobKind::Annual];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobKind::Monthly => "monthly",
            JobKind::Quarterly => "quarterly",
            JobKind::Renewal => "renewal",
            JobKind::Annual => "annual",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job and the period it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Job {
    Monthly(Month),
    Quarterly(Quarter),
    Renewal(NaiveDate),
    Annual(i32),
}

impl Job {
    pub(crate) fn kind(&self) -> JobKind {
        match self {
            Job::Monthly(_) => JobKind::Monthly,
            Job::Quarterly(_) => JobKind::Quarterly,
            Job::Renewal(_) => JobKind::Renewal,
            Job::Annual(_) => JobKind::Annual,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The period as the outputs and the store name it (`2026-10`, `2026-Q3`, `2026-11-01`, `2026`).
    pub(crate) fn period(&self) -> String {
        match self {
            Job::Monthly(m) => m.to_string(),
            Job::Quarterly(q) => q.to_string(),
            Job::Renewal(d) => d.to_string(),
            Job::Annual(y) => y.to_string(),
        }
    }

    /// The first local instant after the period, when it may run without `--preview`.
    pub(crate) fn period_end(&self) -> NaiveDateTime {
        match self {
            Job::Monthly(m) => m.end(),
            Job::Quarterly(q) => q.last_month().end(),
            // Renewal is as of a day: it may run on that day.
            Job::Renewal(d) => d.and_time(NaiveTime::MIN),
            Job::Annual(y) => {
                NaiveDate::from_ymd_opt(y.saturating_add(1), 1, 1).unwrap_or(NaiveDate::MAX).and_time(NaiveTime::MIN)
            }
        }
    }

    /// The month whose rules govern the period: the one it ends in (rules carry `effective_from`
    /// as a month).
    pub(crate) fn rules_month(&self) -> Month {
        match self {
            Job::Monthly(m) => *m,
            Job::Quarterly(q) => q.last_month(),
            Job::Renewal(d) => Month::of(*d),
            Job::Annual(y) => Month::new(*y, 12).unwrap_or_else(|| Month::of(NaiveDate::MAX)),
        }
    }

    /// The first month the period touches (`first_period` in the schedule).
    pub(crate) fn first_month(&self) -> Month {
        match self {
            Job::Monthly(m) => *m,
            Job::Quarterly(q) => q.first_month(),
            Job::Renewal(d) => Month::of(*d),
            Job::Annual(y) => Month::new(*y, 1).unwrap_or_else(|| Month::of(NaiveDate::MIN)),
        }
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name(), self.period())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_end_when_their_last_day_does() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(Job::Monthly(m).period_end().to_string(), "2027-01-01 00:00:00");
        let q: Quarter = "2026-Q3".parse().unwrap();
        assert_eq!(Job::Quarterly(q).period_end().to_string(), "2026-10-01 00:00:00");
        assert_eq!(Job::Annual(2026).period_end().to_string(), "2027-01-01 00:00:00");
        assert_eq!(Job::Quarterly(q).rules_month().to_string(), "2026-09");
        assert_eq!(Job::Quarterly(q).first_month().to_string(), "2026-07");
        assert_eq!(JobKind::parse("renewal"), Some(JobKind::Renewal));
        assert_eq!(Job::Annual(2026).to_string(), "annual 2026");
    }
}
