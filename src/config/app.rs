//! The application file (`config/ict-partners.toml`) as written: raw serde structs, and the
//! validation of its pool and schedule sections.

use super::plausible_address;
use super::secret::Secret;
use crate::db::{redact_url, PoolSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
pub(super) struct RawApp {
    pub(super) source: RawUrl,
    pub(super) store: RawUrl,
    pub(super) output: RawOutput,
    #[serde(default)]
    pub(super) rules: Option<RawRulesRef>,
    #[serde(default)]
    pub(super) departments: BTreeMap<String, RawDepartment>,
    #[serde(default)]
    pub(super) mail: Option<RawMail>,
    #[serde(default)]
    pub(super) commissioning_units: BTreeMap<String, RawUnit>,
    /// Named operations databases besides `[source]` (e.g. billing, the contract system).
    #[serde(default)]
    pub(super) sources: BTreeMap<String, RawUrl>,
    /// Dataset → named source; unlisted datasets come from `[source]`.
    #[serde(default)]
    pub(super) datasets: BTreeMap<String, String>,
    /// Running by itself: `run due` and `serve`.
    #[serde(default)]
    pub(super) schedule: Option<RawSchedule>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawSchedule {
    pub(super) jobs_dir: Option<String>,
    pub(super) look_back_months: Option<u32>,
    pub(super) first_period: Option<String>,
    pub(super) lease_seconds: Option<u64>,
    pub(super) retry_attempts: Option<u32>,
    pub(super) retry_backoff_seconds: Option<u64>,
    pub(super) grace_seconds: Option<u64>,
    #[serde(default)]
    pub(super) alert_recipients: Vec<String>,
    pub(super) heartbeat_url: Option<String>,
    pub(super) heartbeat_fail_url: Option<String>,
}

/// How the pipeline runs by itself (`[schedule]`).
#[derive(Debug, Clone)]
pub(crate) struct ScheduleSettings {
    /// The job definitions (`jobs/*.toml`); the shipped ones when the folder does not exist.
    pub(crate) jobs_dir: PathBuf,
    /// How far back `run due` looks for periods that were never done.
    pub(crate) look_back_months: u32,
    /// Nothing before this month is ever due (the month the deployment started).
    pub(crate) first_period: Option<crate::domain::period::Month>,
    /// How long a run's claim on its period lasts without a heartbeat (SQLite store).
    pub(crate) lease: std::time::Duration,
    /// Attempts at a job period whose failure is transient (a server unreachable).
    pub(crate) retry_attempts: u32,
    /// The first wait between attempts; it doubles each time.
    pub(crate) retry_backoff: std::time::Duration,
    /// How long `serve` lets a running job finish after SIGTERM.
    pub(crate) grace: std::time::Duration,
    /// Who hears of a job period that failed for good.
    pub(crate) alert_recipients: Vec<String>,
    /// Pinged after every `run due` (dead man's switch); the fail URL when something failed.
    pub(crate) heartbeat_url: Option<Secret>,
    pub(crate) heartbeat_fail_url: Option<Secret>,
}

impl RawSchedule {
    pub(super) fn validate(self, base: Option<&Path>, problems: &mut Vec<String>) -> ScheduleSettings {
        let mut bounded = |key: &str, value: Option<u64>, default: u64, range: std::ops::RangeInclusive<u64>| {
            let v = value.unwrap_or(default);
            if !range.contains(&v) {
                problems.push(format!("schedule.{key} must be between {} and {}, not {v}", range.start(), range.end()));
            }
            v.clamp(*range.start(), *range.end())
        };
        let look_back_months = bounded("look_back_months", self.look_back_months.map(u64::from), 13, 1..=120) as u32;
        let lease = bounded("lease_seconds", self.lease_seconds, 120, 6..=86_400);
        let retry_attempts = bounded("retry_attempts", self.retry_attempts.map(u64::from), 3, 1..=20) as u32;
        let backoff = bounded("retry_backoff_seconds", self.retry_backoff_seconds, 60, 0..=3600);
        let grace = bounded("grace_seconds", self.grace_seconds, 600, 0..=86_400);
        let first_period = self.first_period.as_deref().and_then(|m| match m.parse() {
            Ok(m) => Some(m),
            Err(e) => {
                problems.push(format!("schedule.first_period: {e}"));
                None
            }
        });
        for address in self.alert_recipients.iter().filter(|a| !plausible_address(a)) {
            problems.push(format!("schedule.alert_recipients: not an e-mail address: {address:?}"));
        }
        for (key, url) in [("heartbeat_url", &self.heartbeat_url), ("heartbeat_fail_url", &self.heartbeat_fail_url)] {
            if let Some(url) = url.as_deref().filter(|u| !u.starts_with("http://") && !u.starts_with("https://")) {
                problems.push(format!("schedule.{key}: not an http(s) URL: {}", redact_url(url)));
            }
        }
        let heartbeat_fail_url = self
            .heartbeat_fail_url
            .or_else(|| self.heartbeat_url.as_ref().map(|u| format!("{}/fail", u.trim_end_matches('/'))));
        ScheduleSettings {
            // Unset: `jobs/` of the working directory (the installation); set: beside the config file.
            jobs_dir: self.jobs_dir.map_or_else(|| PathBuf::from("jobs"), |d| super::resolve(base, &d)),
            look_back_months,
            first_period,
            lease: std::time::Duration::from_secs(lease),
            retry_attempts,
            retry_backoff: std::time::Duration::from_secs(backoff),
            grace: std::time::Duration::from_secs(grace),
            alert_recipients: self.alert_recipients,
            heartbeat_url: self.heartbeat_url.map(Secret::new),
            heartbeat_fail_url: heartbeat_fail_url.map(Secret::new),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawUnit {
    pub(super) addresses: Vec<String>,
    /// Who may approve, reopen and publish for the unit (any name when absent).
    #[serde(default)]
    pub(super) approvers: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawUrl {
    pub(super) url: String,
    /// Connections the pool may open (default 4 for the store, 2 for a source).
    #[serde(default)]
    pub(super) max_connections: Option<u32>,
    /// How long to wait for a connection before giving up with exit 69 (default 30 s).
    #[serde(default)]
    pub(super) acquire_timeout_seconds: Option<u64>,
}

impl RawUrl {
    pub(super) fn pool(&self, what: &str, default_connections: u32, problems: &mut Vec<String>) -> PoolSettings {
        let max_connections = self.max_connections.unwrap_or(default_connections);
        if !(1..=64).contains(&max_connections) {
            problems.push(format!("{what}.max_connections must be between 1 and 64, not {max_connections}"));
        }
        let seconds = self.acquire_timeout_seconds.unwrap_or(30);
        if !(1..=3600).contains(&seconds) {
            problems.push(format!("{what}.acquire_timeout_seconds must be between 1 and 3600, not {seconds}"));
        }
        PoolSettings {
            max_connections: max_connections.clamp(1, 64),
            acquire_timeout: std::time::Duration::from_secs(seconds.clamp(1, 3600)),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawOutput {
    pub(super) dir: String,
    #[serde(default = "default_locale")]
    pub(super) locale: String,
}

pub(super) fn default_locale() -> String {
    "zh-CN".into()
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRulesRef {
    pub(super) path: Option<String>,
    pub(super) calendar: Option<String>,
    /// Warn this many days before the calendar's last covered year ends (default 60).
    #[serde(default)]
    pub(super) calendar_warning_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawDepartment {
    pub(super) managers: Vec<String>,
    /// Who may approve, reopen and publish for the department (any name when absent).
    #[serde(default)]
    pub(super) approvers: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawMail {
    pub(super) smtp_url: Option<String>,
    #[serde(default)]
    pub(super) timeout_seconds: Option<u64>,
    pub(super) from: Option<String>,
    #[serde(default)]
    pub(super) leadership: Vec<String>,
    /// Finance: gets each unit's settlement with its export.
    #[serde(default)]
    pub(super) finance: Vec<String>,
}
