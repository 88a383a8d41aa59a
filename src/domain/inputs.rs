//! The operations-data contract as the core sees it: one polars frame of text columns per dataset
//! (sources normalise every storage type to canonical text), and typed readers over those columns.

use super::period::{parse_date, parse_timestamp};
use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

/// A dataset of the contract (`source-schema.sql`): its table name and the columns the pipeline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dataset {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [&'static str],
}

pub(crate) const PARTNERS: Dataset = Dataset { name: "partners", columns: &["partner_id", "name", "contact_email"] };
pub(crate) const CONTRACTS: Dataset = Dataset {
    name: "contracts",
    columns: &[
        "contract_id",
        "partner_id",
        "kind",
        "start_date",
        "end_date",
        "department",
        "owner_email",
        "terminated_on",
    ],
};
pub(crate) const TICKETS: Dataset = Dataset {
    name: "tickets",
    columns: &[
        "ticket_id",
        "partner_id",
        "sla_class",
        "responsibility",
        "opened_at",
        "resolved_at",
        "critical_outage",
        "dispatch_violation",
        "false_info",
    ],
};
pub(crate) const PAUSES: Dataset =
    Dataset { name: "ticket_pauses", columns: &["ticket_id", "paused_at", "resumed_at"] };
pub(crate) const ORDERS: Dataset =
    Dataset { name: "orders", columns: &["order_id", "partner_id", "accepted_at", "due_at", "completed_at"] };
pub(crate) const COMPLAINTS: Dataset = Dataset {
    name: "complaints",
    columns: &["complaint_id", "partner_id", "received_at", "channel", "escalation_steps", "justified"],
};
pub(crate) const SURVEYS: Dataset =
    Dataset { name: "surveys", columns: &["survey_id", "partner_id", "answered_at", "score"] };
pub(crate) const MANUAL_SCORES: Dataset =
    Dataset { name: "manual_scores", columns: &["partner_id", "month", "indicator", "points", "scored_by"] };
pub(crate) const VIOLATIONS: Dataset = Dataset {
    name: "violations",
    columns: &["violation_id", "partner_id", "confirmed_on", "class", "category", "points", "severe", "description"],
};
pub(crate) const FEE_ITEMS: Dataset =
    Dataset { name: "fee_items", columns: &["fee_id", "contract_id", "service_month", "amount", "description"] };
pub(crate) const AUDIT_EXCLUSIONS: Dataset =
    Dataset { name: "audit_exclusions", columns: &["fee_id", "reason", "found_on"] };
pub(crate) const PRESALES_PROJECTS: Dataset = Dataset {
    name: "presales_projects",
    columns: &[
        "project_id",
        "name",
        "project_class",
        "project_type",
        "commissioning_unit",
        "applied_on",
        "support_completed_on",
        "deliverables",
        "outcome",
        "outcome_on",
        "contract_value",
    ],
};
pub(crate) const PRESALES_SUPPORTS: Dataset =
    Dataset { name: "presales_supports", columns: &["project_id", "partner_id", "workload_share", "assessment_score"] };
pub(crate) const EXIT_REQUESTS: Dataset = Dataset {
    name: "exit_requests",
    columns: &["request_id", "partner_id", "contract_id", "exit_type", "requested_on", "planned_exit_on"],
};
/// Tickets still unresolved and opened before the window's end (exit checks).
pub(crate) const OPEN_TICKETS: Dataset = Dataset { name: "open_tickets", columns: &["ticket_id", "partner_id"] };
pub(crate) const BLACKLIST: Dataset =
    Dataset { name: "blacklist_entries", columns: &["partner_id", "decided_on", "reason"] };

pub(crate) const ALL_DATASETS: [Dataset; 15] = [
    PARTNERS,
    CONTRACTS,
    TICKETS,
    PAUSES,
    ORDERS,
    COMPLAINTS,
    SURVEYS,
    MANUAL_SCORES,
    VIOLATIONS,
    FEE_ITEMS,
    AUDIT_EXCLUSIONS,
    PRESALES_PROJECTS,
    PRESALES_SUPPORTS,
    EXIT_REQUESTS,
    BLACKLIST,
];

/// Builds a frame of text columns from rows, for tests and the data generator.
pub(crate) fn frame_from_rows(dataset: Dataset, rows: &[Vec<Option<&str>>]) -> DataFrame {
    let columns: Vec<Column> = dataset
        .columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut b = StringChunkedBuilder::new((*name).into(), rows.len());
            for r in rows {
                b.append_option(r.get(i).copied().flatten());
            }
            b.finish().into_column()
        })
        .collect();
    DataFrame::new(rows.len(), columns).expect("columns of equal length")
}

/// An empty frame of a dataset.
pub(crate) fn empty_frame(dataset: Dataset) -> DataFrame {
    frame_from_rows(dataset, &[])
}

/// A text column of a frame built by the sources (which guarantee every contract column exists).
pub(crate) fn text<'a>(df: &'a DataFrame, column: &str) -> &'a StringChunked {
    df.column(column)
        .unwrap_or_else(|_| panic!("frame lacks contract column {column}"))
        .str()
        .unwrap_or_else(|_| panic!("contract column {column} is not text"))
}

/// The values of a text column in row order.
pub(crate) fn values<'a>(df: &'a DataFrame, column: &str) -> impl Iterator<Item = Option<&'a str>> + 'a {
    let ca = text(df, column);
    (0..ca.len()).map(move |i| ca.get(i))
}

/// A source value that does not parse as its contract type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unparsable value")]
pub(crate) struct Unparsable;

/// A nullable value that failed to parse is `Err(Unparsable)`: callers decide whether that
/// quarantines a row.
pub(crate) type Parsed<T> = Result<Option<T>, Unparsable>;

pub(crate) fn opt_timestamp(v: Option<&str>) -> Parsed<NaiveDateTime> {
    v.filter(|s| !s.trim().is_empty()).map(|s| parse_timestamp(s).ok_or(Unparsable)).transpose()
}

pub(crate) fn opt_date(v: Option<&str>) -> Parsed<NaiveDate> {
    v.filter(|s| !s.trim().is_empty()).map(|s| parse_date(s).ok_or(Unparsable)).transpose()
}

/// Exact decimal from canonical text; scientific notation is accepted (REAL columns may print it).
pub(crate) fn opt_decimal(v: Option<&str>) -> Parsed<Decimal> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| {
            let s = s.trim();
            Decimal::from_str(s).or_else(|_| Decimal::from_scientific(s)).map_err(|_| Unparsable)
        })
        .transpose()
}

pub(crate) fn opt_int(v: Option<&str>) -> Parsed<i64> {
    match opt_decimal(v)? {
        None => Ok(None),
        Some(d) if d.fract().is_zero() => i64::try_from(d).map(Some).map_err(|_| Unparsable),
        Some(_) => Err(Unparsable),
    }
}

/// A 0/1 flag; NULL reads as the contract's default 0.
pub(crate) fn flag(v: Option<&str>) -> Result<bool, Unparsable> {
    match opt_int(v)? {
        None | Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(_) => Err(Unparsable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn numbers_read_exactly_from_any_text_form() {
        assert_eq!(opt_decimal(Some("0.1")), Ok(Some(dec!(0.1))));
        assert_eq!(opt_decimal(Some(" 12.340 ")), Ok(Some(dec!(12.340))));
        assert_eq!(opt_decimal(Some("1e6")), Ok(Some(dec!(1000000))));
        assert_eq!(opt_decimal(Some("")), Ok(None));
        assert_eq!(opt_decimal(Some("abc")), Err(Unparsable));
        assert_eq!(opt_int(Some("2.0")), Ok(Some(2)));
        assert_eq!(opt_int(Some("2.5")), Err(Unparsable));
        assert_eq!(flag(None), Ok(false));
        assert_eq!(flag(Some("2")), Err(Unparsable));
    }

    #[test]
    fn frames_keep_nulls() {
        let df = frame_from_rows(PAUSES, &[vec![Some("TK1"), Some("2026-01-01 00:00:00"), None]]);
        assert_eq!(text(&df, "resumed_at").get(0), None);
        assert_eq!(text(&df, "ticket_id").get(0), Some("TK1"));
    }
}
