//! The machine-readable CSVs of interface.md: exact values, fixed headers, sorted rows.

use crate::domain::annual::AnnualRow;
use crate::domain::money::{fmt2, fmt_plain};
use crate::domain::monthly::MonthResult;
use crate::domain::presales::QuarterResult;
use crate::domain::renewal::{Breach, ExitProposal, ExitRow, Notice, RenewalRow};
use rust_decimal::Decimal;

/// Serialises rows under a header (RFC 4180 quoting, UTF-8, `\n` line ends).
pub(crate) fn to_csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for r in rows {
        w.write_record(&r).expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

pub(crate) fn money(d: Option<Decimal>) -> String {
    d.map(fmt2).unwrap_or_default()
}

pub(crate) fn plain(d: Option<Decimal>) -> String {
    d.map(fmt_plain).unwrap_or_default()
}

pub(crate) fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = items.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v.join(";")
}

pub(crate) const SCORES_HEADER: [&str; 13] = [
    "partner_id",
    "partner_name",
    "status",
    "effectiveness",
    "credit_deduction",
    "score",
    "grade",
    "fees_total",
    "fees_excluded",
    "settlement",
    "c_grades_window",
    "flags",
    "hold_reasons",
];

pub(crate) fn scores(result: &MonthResult) -> Vec<u8> {
    let rows = result.partners.iter().map(|p| {
        let a = p.assessment.as_ref();
        vec![
            p.partner_id.clone(),
            p.partner_name.clone(),
            if a.is_some() { "assessed" } else { "on_hold" }.to_string(),
            money(a.map(|a| a.effectiveness)),
            money(a.map(|a| a.credit_deduction)),
            money(a.map(|a| a.score)),
            a.map(|a| a.grade.as_str().to_string()).unwrap_or_default(),
            money(a.map(|a| a.fees_total)),
            money(a.map(|a| a.fees_excluded)),
            money(a.map(|a| a.settlement)),
            p.c_grades_window.to_string(),
            list(p.flags.iter().map(|f| f.as_str())),
            list(p.hold_reasons.iter().map(String::as_str)),
        ]
    });
    to_csv(&SCORES_HEADER, rows)
}

pub(crate) fn indicators(result: &MonthResult) -> Vec<u8> {
    let rows = result.indicators.iter().map(|i| {
        vec![
            i.partner_id.clone(),
            i.indicator.clone(),
            money(i.measured),
            i.counted.to_string(),
            money(Some(i.points)),
            fmt_plain(i.weight),
        ]
    });
    to_csv(&["partner_id", "indicator", "measured", "counted", "points", "weight"], rows)
}

pub(crate) fn data_quality(result: &MonthResult) -> Vec<u8> {
    let rows = result.data_quality.iter().map(|d| vec![d.source.to_string(), d.row_id.clone(), d.problem.to_string()]);
    to_csv(&["source", "row_id", "problem"], rows)
}

pub(crate) fn presales(result: &QuarterResult) -> Vec<u8> {
    let rows = result.rows.iter().map(|r| {
        let s = r.share.as_ref();
        vec![
            r.project_id.clone(),
            s.map(|s| s.partner_id.clone()).unwrap_or_default(),
            r.commissioning_unit.clone(),
            r.project_class.clone(),
            s.map(|s| s.fee_type.clone()).unwrap_or_default(),
            money(s.map(|s| s.base_fee)),
            plain(s.map(|s| s.coefficient)),
            plain(s.map(|s| s.workload_share)),
            money(s.map(|s| s.assessment_score)),
            money(s.map(|s| s.amount)),
            r.status.as_str().to_string(),
            list(r.reasons.iter().map(String::as_str)),
        ]
    });
    to_csv(
        &[
            "project_id",
            "partner_id",
            "commissioning_unit",
            "project_class",
            "fee_type",
            "base_fee",
            "coefficient",
            "workload_share",
            "assessment_score",
            "amount",
            "status",
            "reason",
        ],
        rows,
    )
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

pub(crate) fn renewals(rows: &[(RenewalRow, Notice)]) -> Vec<u8> {
    let rows = rows.iter().map(|(r, notice)| {
        vec![
            r.contract_id.clone(),
            r.partner_id.clone(),
            r.kind.clone(),
            r.end_date.to_string(),
            r.months_assessed.to_string(),
            money(r.average_score),
            r.term_grade.map(|g| g.as_str().to_string()).unwrap_or_default(),
            r.c_grades.map(|c| c.to_string()).unwrap_or_default(),
            r.class_one_violations.to_string(),
            yes_no(r.blacklisted),
            yes_no(r.eligible),
            list(r.reasons.iter().map(String::as_str)),
            match notice {
                Notice::Sent => "sent",
                Notice::AlreadySent => "already_sent",
            }
            .to_string(),
        ]
    });
    to_csv(
        &[
            "contract_id",
            "partner_id",
            "kind",
            "end_date",
            "months_assessed",
            "average_score",
            "term_grade",
            "c_grades",
            "class_one_violations",
            "blacklisted",
            "eligible",
            "reasons",
            "notice",
        ],
        rows,
    )
}

pub(crate) fn exits(rows: &[ExitRow]) -> Vec<u8> {
    let rows = rows.iter().map(|r| {
        vec![
            r.request_id.clone(),
            r.partner_id.clone(),
            r.contract_id.clone(),
            r.exit_type.clone(),
            r.requested_on.to_string(),
            r.planned_exit_on.to_string(),
            r.notice_ok.map(yes_no).unwrap_or_default(),
            r.open_tickets.to_string(),
            r.held_presales_projects.to_string(),
        ]
    });
    to_csv(
        &[
            "request_id",
            "partner_id",
            "contract_id",
            "exit_type",
            "requested_on",
            "planned_exit_on",
            "notice_ok",
            "open_tickets",
            "held_presales_projects",
        ],
        rows,
    )
}

pub(crate) fn breaches(rows: &[Breach]) -> Vec<u8> {
    let rows =
        rows.iter().map(|b| vec![b.partner_id.clone(), b.kind.to_string(), b.ref_id.clone(), b.date.to_string()]);
    to_csv(&["partner_id", "kind", "ref_id", "date"], rows)
}

pub(crate) fn exit_proposals(rows: &[ExitProposal]) -> Vec<u8> {
    let rows = rows.iter().map(|p| {
        vec![
            p.partner_id.clone(),
            list(p.reasons.iter().copied()),
            p.latest_month.map(|m| m.to_string()).unwrap_or_default(),
            list(p.contracts.iter().map(String::as_str)),
        ]
    });
    to_csv(&["partner_id", "reasons", "latest_month", "contracts"], rows)
}

pub(crate) fn annual(rows: &[AnnualRow]) -> Vec<u8> {
    let rows = rows.iter().map(|r| {
        vec![
            r.partner_id.clone(),
            r.partner_name.clone(),
            r.months_assessed.to_string(),
            money(r.average_score),
            r.annual_grade.map(|g| g.as_str().to_string()).unwrap_or_default(),
            money(Some(r.credit_points)),
            money(Some(r.revenue)),
            r.tier.to_string(),
        ]
    });
    to_csv(
        &[
            "partner_id",
            "partner_name",
            "months_assessed",
            "average_score",
            "annual_grade",
            "credit_points",
            "revenue",
            "tier",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_where_rfc4180_needs_it() {
        let out =
            to_csv(&["a", "b"], [vec!["x,y".to_string(), "plain".to_string()], vec!["say \"hi\"".into(), "".into()]]);
        assert_eq!(String::from_utf8(out).unwrap(), "a,b\n\"x,y\",plain\n\"say \"\"hi\"\"\",\n");
    }

    #[test]
    fn lists_are_sorted_and_joined() {
        assert_eq!(list(["two_c_grades", "class_one_violation"]), "class_one_violation;two_c_grades");
    }
}
