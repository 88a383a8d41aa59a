//! The 不良信用记录名单 (第二十三条 (3), 第三十六条): who is banned, from when to when. The monthly
//! hold, the renewal breaches and exit proposals, and the annual tier all read bans through here.

use super::inputs::{opt_date, text};
use super::period::add_years;
use chrono::NaiveDate;
use polars::prelude::DataFrame;
use std::collections::HashMap;

/// Bans as the days `[decided_on, decided_on + ban_years)`, per partner.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bans(HashMap<String, Vec<(NaiveDate, NaiveDate)>>);

impl Bans {
    /// The bans of the `blacklist_entries` rows whose decision date reads.
    pub(crate) fn of(blacklist: &DataFrame, ban_years: i32) -> Self {
        let mut out: HashMap<String, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
        let (ids, decided) = (text(blacklist, "partner_id"), text(blacklist, "decided_on"));
        for i in 0..blacklist.height() {
            if let (Some(id), Ok(Some(day))) = (ids.get(i), opt_date(decided.get(i))) {
                out.entry(id.to_string()).or_default().push((day, add_years(day, ban_years)));
            }
        }
        Bans(out)
    }

    /// The partner's bans, each `(decided_on, first day free again)`.
    pub(crate) fn of_partner(&self, partner: &str) -> &[(NaiveDate, NaiveDate)] {
        self.0.get(partner).map_or(&[], Vec::as_slice)
    }

    /// Whether a ban of the partner is in force on `day`.
    pub(crate) fn on(&self, partner: &str, day: NaiveDate) -> bool {
        self.of_partner(partner).iter().any(|(from, until)| *from <= day && day < *until)
    }

    /// Whether a ban of the partner is in force on some day of `[first, last]`.
    pub(crate) fn overlaps(&self, partner: &str, first: NaiveDate, last: NaiveDate) -> bool {
        self.of_partner(partner).iter().any(|(from, until)| *from <= last && *until > first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inputs::{frame_from_rows, BLACKLIST};

    fn d(s: &str) -> NaiveDate {
        crate::domain::period::parse_date(s).unwrap()
    }

    #[test]
    fn a_two_year_ban_ends_the_day_before_its_anniversary() {
        // Decided 2026-09-18: banned up to 2028-09-17 included (examples.md).
        let bans = Bans::of(&frame_from_rows(BLACKLIST, &[vec![Some("P12"), Some("2026-09-18"), Some("r")]]), 2);
        assert!(!bans.on("P12", d("2026-09-17")));
        assert!(bans.on("P12", d("2026-09-18")));
        assert!(bans.on("P12", d("2028-09-17")));
        assert!(!bans.on("P12", d("2028-09-18")));
        assert!(!bans.on("P13", d("2027-01-01")));
        assert!(bans.overlaps("P12", d("2028-01-01"), d("2028-12-31")));
        assert!(!bans.overlaps("P12", d("2026-01-01"), d("2026-09-17")));
    }

    #[test]
    fn an_unreadable_decision_date_bans_nobody() {
        let bans = Bans::of(&frame_from_rows(BLACKLIST, &[vec![Some("P1"), Some("soon"), Some("r")]]), 2);
        assert!(bans.of_partner("P1").is_empty());
    }
}
