//! Annual credit rating and tiers (rules.md §10, 第二十四条) and the annual grade (第二十三条 (1)).

use super::inputs::*;
use super::money::round2;
use super::renewal::MonthlyScore;
use super::rules::{Grade, Rules};
use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// One row of `annual.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnnualRow {
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    pub(crate) months_assessed: u32,
    pub(crate) average_score: Option<Decimal>,
    pub(crate) annual_grade: Option<Grade>,
    pub(crate) credit_points: Decimal,
    pub(crate) revenue: Decimal,
    pub(crate) tier: char,
    /// A two-year ban overlaps the year (the tier is D whatever else).
    pub(crate) blacklisted: bool,
}

pub(crate) struct AnnualInput<'a> {
    pub(crate) year: i32,
    pub(crate) partners: &'a DataFrame,
    pub(crate) violations: &'a DataFrame,
    /// Complaints received in the year.
    pub(crate) complaints: &'a DataFrame,
    pub(crate) blacklist: &'a DataFrame,
    pub(crate) monthly: &'a [MonthlyScore],
    /// Presales amounts settled in the year's quarters, per partner.
    pub(crate) presales_revenue: &'a HashMap<String, Decimal>,
}

/// Credit deductions of the year per partner: valid violations and valid justified complaints.
fn credit_deductions(input: &AnnualInput, rules: &Rules) -> HashMap<String, Decimal> {
    let mut out: HashMap<String, Decimal> = HashMap::new();
    let v = input.violations;
    let (ids, days, classes, points) =
        (text(v, "partner_id"), text(v, "confirmed_on"), text(v, "class"), text(v, "points"));
    for i in 0..v.height() {
        let (Some(id), Ok(Some(day))) = (ids.get(i), opt_date(days.get(i))) else { continue };
        if chrono::Datelike::year(&day) != input.year {
            continue;
        }
        let deduction = match opt_int(classes.get(i)) {
            Ok(Some(1)) => Some(rules.credit.class_one_deduction),
            Ok(Some(2)) => match opt_decimal(points.get(i)) {
                Ok(Some(p))
                    if p >= rules.credit.class_two_min
                        && p <= rules.credit.class_two_max
                        && super::money::decimals(p) <= 2 =>
                {
                    Some(p)
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(d) = deduction {
            *out.entry(id.to_string()).or_default() += d;
        }
    }
    let c = input.complaints;
    let (ids, channels, steps, justified, received) = (
        text(c, "partner_id"),
        text(c, "channel"),
        text(c, "escalation_steps"),
        text(c, "justified"),
        text(c, "received_at"),
    );
    for i in 0..c.height() {
        let Some(id) = ids.get(i) else { continue };
        let in_year = matches!(opt_timestamp(received.get(i)), Ok(Some(t)) if chrono::Datelike::year(&t) == input.year);
        let valid_channel = matches!(channels.get(i), Some("miit" | "group" | "account_manager"));
        let valid_steps = matches!(opt_int(steps.get(i)), Ok(None) | Ok(Some(0..)));
        if in_year && valid_channel && valid_steps && opt_int(justified.get(i)) == Ok(Some(1)) {
            *out.entry(id.to_string()).or_default() += rules.tiers.complaint_credit_deduction;
        }
    }
    out
}

pub(crate) fn annual(input: &AnnualInput, rules: &Rules) -> Vec<AnnualRow> {
    let deductions = credit_deductions(input, rules);
    let bans = super::blacklist::Bans::of(input.blacklist, rules.ban_years);
    let (first, last) = (
        NaiveDate::from_ymd_opt(input.year, 1, 1).expect("valid year"),
        NaiveDate::from_ymd_opt(input.year, 12, 31).expect("valid year"),
    );
    let mut rows = Vec::new();
    let (ids, names) = (text(input.partners, "partner_id"), text(input.partners, "name"));
    for i in 0..input.partners.height() {
        let Some(id) = ids.get(i) else { continue };
        let months: Vec<&MonthlyScore> =
            input.monthly.iter().filter(|m| m.partner_id == id && m.month.year() == input.year).collect();
        let scores: Vec<Decimal> = months.iter().filter_map(|m| m.score).collect();
        let average =
            (!scores.is_empty()).then(|| round2(scores.iter().sum::<Decimal>() / Decimal::from(scores.len())));
        let revenue = months.iter().filter_map(|m| m.settlement).sum::<Decimal>()
            + input.presales_revenue.get(id).copied().unwrap_or_default();
        let credit = (Decimal::ONE_HUNDRED - deductions.get(id).copied().unwrap_or_default()).max(Decimal::ZERO);
        let blacklisted = bans.overlaps(id, first, last);
        let t = &rules.tiers;
        let tier = if blacklisted {
            'D'
        } else if credit >= t.a_credit_min && revenue >= t.a_revenue_min {
            'A'
        } else if credit >= t.b_credit_min && revenue >= t.b_revenue_min {
            'B'
        } else if credit >= t.c_credit_min {
            'C'
        } else {
            'D'
        };
        rows.push(AnnualRow {
            partner_id: id.to_string(),
            partner_name: names.get(i).unwrap_or("").to_string(),
            months_assessed: scores.len() as u32,
            average_score: average,
            annual_grade: average.map(|a| rules.grades.grade(a)),
            credit_points: credit,
            revenue,
            tier,
            blacklisted,
        });
    }
    rows.sort_by(|a, b| a.partner_id.cmp(&b.partner_id));
    rows
}
