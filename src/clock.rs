//! The only place that reads the wall clock; everything else is handed the time.

use chrono::{NaiveDate, NaiveDateTime, Utc};

/// Local wall-clock time now in the rules' time zone.
pub fn now_local(tz: chrono_tz::Tz) -> NaiveDateTime {
    Utc::now().with_timezone(&tz).naive_local()
}

pub fn today(tz: chrono_tz::Tz) -> NaiveDate {
    now_local(tz).date()
}
