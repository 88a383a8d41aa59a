//! The only place that reads the wall clock; everything else is handed the time.
//!
//! `ICT_PARTNERS_NOW` (`YYYY-MM-DD HH:MM:SS`, local time in the rules' zone) stands in for the
//! clock's local time: for tests and for rehearsing a date (what `run due` or `check-config` would
//! do then). It never moves the UTC instants of the run ledger's leases, which other processes
//! compare with their own clocks.

use chrono::{NaiveDate, NaiveDateTime, Utc};

/// Local wall-clock time now in the rules' time zone (or the rehearsed time, see above).
pub fn now_local(tz: chrono_tz::Tz) -> NaiveDateTime {
    rehearsed().unwrap_or_else(|| Utc::now().with_timezone(&tz).naive_local())
}

pub fn today(tz: chrono_tz::Tz) -> NaiveDate {
    now_local(tz).date()
}

fn rehearsed() -> Option<NaiveDateTime> {
    let text = std::env::var("ICT_PARTNERS_NOW").ok().filter(|t| !t.trim().is_empty())?;
    match crate::domain::period::parse_timestamp(&text) {
        Some(t) => Some(t),
        None => {
            tracing::warn!(value = %text, "ICT_PARTNERS_NOW is not YYYY-MM-DD HH:MM:SS; using the clock");
            None
        }
    }
}
