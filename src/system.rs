//! What the program reads from the machine it runs on: the clock, the environment, its host name,
//! its process id and randomness. Read here and nowhere else (`clippy.toml` bans the calls
//! elsewhere), and passed down as a value, so that tests can put any time, host or environment in.
//!
//! `ICT_PARTNERS_NOW` (`YYYY-MM-DD HH:MM:SS`, local time in the rules' zone) stands in for the
//! clock's local time: for tests and for rehearsing a date (what `run due` or `check-config` would
//! do then). It never moves the UTC instants of the run ledger (leases, start and end times),
//! which other processes compare with their own clocks.
#![allow(clippy::disallowed_methods)]

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::collections::BTreeMap;

/// The environment variables the program reads (interface.md and the test hooks).
const VARIABLES: [&str; 8] = [
    "ICT_PARTNERS_CONFIG",
    "ICT_PARTNERS_SOURCE_URL",
    "ICT_PARTNERS_STORE_URL",
    "ICT_PARTNERS_OUTPUT_DIR",
    "ICT_PARTNERS_SMTP_URL",
    "ICT_PARTNERS_NOW",
    "SUDO_USER",
    "USER",
];

/// The machine as the program sees it, read once at start.
#[derive(Debug, Clone)]
pub struct System {
    /// The rehearsed local time, if any.
    now: Option<NaiveDateTime>,
    env: BTreeMap<&'static str, String>,
    host: String,
    pid: u32,
}

impl System {
    /// Reads the environment, the host name and the process id of this process.
    pub fn from_process() -> Self {
        let env: BTreeMap<&'static str, String> = VARIABLES
            .iter()
            .filter_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()).map(|v| (*k, v)))
            .collect();
        let now = env.get("ICT_PARTNERS_NOW").and_then(|t| {
            let parsed = crate::domain::period::parse_timestamp(t);
            if parsed.is_none() {
                tracing::warn!(value = %t, "ICT_PARTNERS_NOW is not YYYY-MM-DD HH:MM:SS; using the clock");
            }
            parsed
        });
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".into());
        Self { now, env, host, pid: std::process::id() }
    }

    /// The same machine with some environment variables set otherwise (the demo points the
    /// configuration at its own databases this way).
    pub(crate) fn with_vars(&self, vars: &[(&'static str, String)]) -> Self {
        let mut env = self.env.clone();
        for (k, v) in vars {
            env.insert(*k, v.clone());
        }
        Self { env, ..self.clone() }
    }

    /// A machine with a fixed local time, host and environment (tests).
    #[cfg(test)]
    pub(crate) fn fixed(now: NaiveDateTime, env: &[(&'static str, &str)]) -> Self {
        Self {
            now: Some(now),
            env: env.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            host: "test-host".into(),
            pid: std::process::id(),
        }
    }

    /// Local wall-clock time now in the rules' time zone (or the rehearsed time).
    pub(crate) fn now_local(&self, tz: chrono_tz::Tz) -> NaiveDateTime {
        self.now.unwrap_or_else(|| Utc::now().with_timezone(&tz).naive_local())
    }

    pub(crate) fn today(&self, tz: chrono_tz::Tz) -> NaiveDate {
        self.now_local(tz).date()
    }

    /// The real UTC clock, for what other processes compare with theirs: the run ledger's times
    /// and leases, and how old an alert marker is.
    pub(crate) fn utc_now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// An environment variable the program reads (see `VARIABLES`), when set and not empty.
    pub(crate) fn var(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Who is at the keyboard, for the audit trail of acts that name nobody (a resend).
    pub(crate) fn actor(&self) -> String {
        self.var("SUDO_USER").or_else(|| self.var("USER")).unwrap_or("unknown").to_string()
    }

    /// A random number for identifiers that must not collide (run ids).
    pub(crate) fn random_u32(&self) -> u32 {
        rand::random::<u32>()
    }

    /// How long ago a file was last written by the real clock (`None` when it does not exist).
    pub(crate) fn age_of(&self, path: &std::path::Path) -> Option<std::time::Duration> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
        std::time::SystemTime::now().duration_since(modified).ok()
    }

    /// Whether a process of this machine is alive (a zombie is not: it only waits to be reaped).
    pub(crate) fn process_alive(&self, pid: i64) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_machine_answers_with_what_it_was_given() {
        let now = crate::domain::period::parse_timestamp("2026-12-01 09:00:00").unwrap();
        let system = System::fixed(now, &[("USER", "ops")]);
        assert_eq!(system.now_local(chrono_tz::Asia::Shanghai), now);
        assert_eq!(system.actor(), "ops");
        assert_eq!(system.var("ICT_PARTNERS_STORE_URL"), None);
        assert!(system.process_alive(i64::from(system.pid())));
    }
}
