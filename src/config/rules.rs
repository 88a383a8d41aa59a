//! The rules file (`rules.toml`) compiled into the core's `Rules`: every value checked, every
//! problem reported at once, fractions exact. One function per section of the file.

use super::toml::parse_toml;
use crate::domain::calendar::{CalendarYear, WorkCalendar};
use crate::domain::clock::{ClockKind, SlaClass};
use crate::domain::period::Month;
use crate::domain::rules::*;
use chrono::NaiveTime;
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The shipped rules file, embedded so that the binary works from any directory.
pub(crate) const DEFAULT_RULES: &str = include_str!("../../config/rules.toml");

#[derive(Debug, Deserialize)]
struct RawRules {
    #[serde(default)]
    effective_from: Option<String>,
    timezone: String,
    grades: RawGrades,
    flags: RawFlags,
    calendar: RawCalendarRules,
    sla: RawSla,
    indicators: Vec<RawIndicator>,
    credit: RawCredit,
    presales: RawPresales,
    renewal: RawRenewal,
    exit: RawExit,
    blacklist: RawBlacklist,
    tiers: RawTiers,
    /// Partner disputes after publication (rules.md §11); absent in older rules files.
    #[serde(default)]
    disputes: Option<RawDisputes>,
}

#[derive(Debug, Deserialize)]
struct RawDisputes {
    window_working_days: u32,
}

#[derive(Debug, Deserialize)]
struct RawGrades {
    a_min: Decimal,
    b_min: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawFlags {
    c_grade_window_months: u32,
    c_grade_threshold: u32,
}
#[derive(Debug, Deserialize)]
struct RawCalendarRules {
    working_windows: Vec<(String, String)>,
}
#[derive(Debug, Deserialize)]
struct RawSla {
    classes: BTreeMap<String, RawSlaClass>,
}
#[derive(Debug, Deserialize)]
struct RawSlaClass {
    limit_hours: Decimal,
    clock: String,
}
#[derive(Debug, Deserialize)]
struct RawIndicator {
    id: String,
    kind: String,
    source: Option<String>,
    weight: Decimal,
    target_pct: Option<Decimal>,
    points_per_pct: Option<Decimal>,
    penalties: Option<BTreeMap<String, Decimal>>,
}
#[derive(Debug, Deserialize)]
struct RawCredit {
    class_one_deduction: Decimal,
    class_two_min: Decimal,
    class_two_max: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawPresales {
    mixed_settles_as: String,
    fees: BTreeMap<String, BTreeMap<String, Decimal>>,
    coefficients: RawCoefficients,
}
#[derive(Debug, Deserialize)]
struct RawCoefficients {
    won_by_supporter: Decimal,
    not_implemented_other_cause: Decimal,
    not_implemented_supporter_cause: Decimal,
    won_other_implementer: Vec<RawBand>,
}
#[derive(Debug, Deserialize)]
struct RawBand {
    below: Option<Decimal>,
    coefficient: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawRenewal {
    notice_months: i32,
}
#[derive(Debug, Deserialize)]
struct RawExit {
    aftersales_notice_months: i32,
    presales_notice_months: i32,
}
#[derive(Debug, Deserialize)]
struct RawBlacklist {
    ban_years: i32,
}
#[derive(Debug, Deserialize)]
struct RawTiers {
    a: RawTier,
    b: RawTier,
    c: RawTierC,
    complaint_credit_deduction: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawTier {
    credit_min: Decimal,
    revenue_min: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawTierC {
    credit_min: Decimal,
}

const PENALTY_KEYS: [&str; 7] = [
    "critical_outage",
    "dispatch_violation",
    "false_info",
    "complaint_miit",
    "complaint_group",
    "complaint_account_manager",
    "complaint_escalation_step",
];

/// Collects the problems of the rules file, each prefixed `rules:`.
struct Problems<'a>(&'a mut Vec<String>);

impl Problems<'_> {
    fn push(&mut self, problem: String) {
        self.0.push(format!("rules: {problem}"));
    }
}

/// Compiles the rules text into `Rules`, pushing every problem found (unknown keys included).
pub(crate) fn compile_rules(
    text: &str,
    years: BTreeMap<i32, CalendarYear>,
    problems: &mut Vec<String>,
) -> Option<Rules> {
    let before = problems.len();
    let raw: RawRules = parse_toml("rules", text, problems)?;
    let mut p = Problems(problems);
    let effective_from = match raw.effective_from.as_deref().map(str::parse::<Month>) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            p.push(format!("effective_from: {e}"));
            None
        }
    };
    let timezone: Option<chrono_tz::Tz> = raw.timezone.parse().ok();
    if timezone.is_none() {
        p.push(format!("timezone {:?} is not an IANA time zone", raw.timezone));
    }
    check_grades_and_flags(&raw, &mut p);
    let windows = working_windows(&raw.calendar, &mut p);
    let sla_classes = sla_classes(&raw.sla, &mut p);
    let indicators = indicators(&raw.indicators, &mut p);
    let c = &raw.credit;
    if c.class_two_min > c.class_two_max || c.class_two_min < Decimal::ZERO || c.class_one_deduction < Decimal::ZERO {
        p.push("credit: need 0 <= class_two_min <= class_two_max and a non-negative class_one_deduction".into());
    }
    let presales = presales(&raw.presales, &mut p);
    check_periods_and_tiers(&raw, &mut p);
    let dispute_window_working_days = raw.disputes.as_ref().map_or(5, |d| d.window_working_days);
    if dispute_window_working_days > 60 {
        p.push(format!("disputes.window_working_days must lie in 0..60, not {dispute_window_working_days}"));
    }
    if problems.len() != before {
        return None;
    }
    let t = &raw.tiers;
    Some(Rules {
        timezone: timezone?,
        grades: GradeThresholds { a_min: raw.grades.a_min, b_min: raw.grades.b_min },
        flags: FlagRules {
            c_grade_window_months: raw.flags.c_grade_window_months,
            c_grade_threshold: raw.flags.c_grade_threshold,
        },
        calendar: WorkCalendar::new(years, windows),
        sla_classes,
        indicators,
        credit: CreditRules {
            class_one_deduction: c.class_one_deduction,
            class_two_min: c.class_two_min,
            class_two_max: c.class_two_max,
        },
        presales,
        renewal_notice_months: raw.renewal.notice_months,
        exit: ExitRules {
            aftersales_notice_months: raw.exit.aftersales_notice_months,
            presales_notice_months: raw.exit.presales_notice_months,
        },
        ban_years: raw.blacklist.ban_years,
        tiers: TierRules {
            a_credit_min: t.a.credit_min,
            a_revenue_min: t.a.revenue_min,
            b_credit_min: t.b.credit_min,
            b_revenue_min: t.b.revenue_min,
            c_credit_min: t.c.credit_min,
            complaint_credit_deduction: t.complaint_credit_deduction,
        },
        dispute_window_working_days,
        hash: hex_sha256(text),
        effective_from,
        text: text.to_string(),
    })
}

fn check_grades_and_flags(raw: &RawRules, p: &mut Problems) {
    if raw.grades.a_min <= raw.grades.b_min {
        p.push(format!(
            "grades: a_min ({}) must be above b_min ({}) so the bands do not overlap",
            raw.grades.a_min, raw.grades.b_min
        ));
    }
    if raw.grades.b_min < Decimal::ZERO || raw.grades.a_min > Decimal::ONE_HUNDRED {
        p.push("grades: thresholds must lie within 0..100".into());
    }
    if raw.flags.c_grade_window_months == 0 || raw.flags.c_grade_threshold == 0 {
        p.push("flags: c_grade_window_months and c_grade_threshold must be at least 1".into());
    }
}

fn working_windows(raw: &RawCalendarRules, p: &mut Problems) -> Vec<(NaiveTime, NaiveTime)> {
    let mut windows = Vec::new();
    for (start, end) in &raw.working_windows {
        let parse = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
        match (parse(start), parse(end)) {
            (Some(a), Some(b)) if a < b => windows.push((a, b)),
            (Some(_), Some(_)) => p.push(format!("calendar.working_windows: {start}–{end} ends before it starts")),
            _ => p.push(format!("calendar.working_windows: {start:?}–{end:?} is not HH:MM–HH:MM")),
        }
    }
    if windows.is_empty() {
        p.push("calendar.working_windows: at least one window is needed".into());
    }
    if windows.windows(2).any(|w| w[0].1 > w[1].0) {
        p.push("calendar.working_windows: windows must ascend without overlapping".into());
    }
    windows
}

fn sla_classes(raw: &RawSla, p: &mut Problems) -> BTreeMap<String, SlaClass> {
    let mut classes = BTreeMap::new();
    for (name, class) in &raw.classes {
        let clock = match class.clock.as_str() {
            "natural" => Some(ClockKind::Natural),
            "working" => Some(ClockKind::Working),
            other => {
                p.push(format!("sla.classes.{name}.clock must be \"natural\" or \"working\", not {other:?}"));
                None
            }
        };
        if class.limit_hours <= Decimal::ZERO {
            p.push(format!("sla.classes.{name}.limit_hours must be positive"));
            continue;
        }
        // limit_hours × 3600 rounded up to a whole second (rules.md §1).
        let seconds = (class.limit_hours * Decimal::from(3600)).ceil();
        if let (Some(clock), Ok(limit_seconds)) = (clock, i64::try_from(seconds)) {
            classes.insert(name.clone(), SlaClass { limit_seconds, clock });
        }
    }
    if raw.classes.is_empty() {
        p.push("sla.classes: at least one class is needed".into());
    }
    classes
}

fn indicators(raw: &[RawIndicator], p: &mut Problems) -> Vec<Indicator> {
    let mut indicators: Vec<Indicator> = Vec::new();
    let mut total_weight = Decimal::ZERO;
    for ind in raw {
        let id = &ind.id;
        if indicators.iter().any(|i| &i.id == id) {
            p.push(format!("indicators: id {id:?} appears twice"));
        }
        if ind.weight < Decimal::ZERO {
            p.push(format!("indicators.{id}.weight must not be negative"));
        }
        total_weight += ind.weight;
        if let Some(kind) = indicator_kind(ind, p) {
            indicators.push(Indicator { id: id.clone(), weight: ind.weight, kind });
        }
    }
    if total_weight != Decimal::ONE_HUNDRED {
        p.push(format!("indicators: weights add up to {total_weight}, not 100"));
    }
    indicators
}

fn indicator_kind(ind: &RawIndicator, p: &mut Problems) -> Option<IndicatorKind> {
    let id = &ind.id;
    match (ind.kind.as_str(), ind.source.as_deref()) {
        ("rate", source) => {
            let source = match source {
                Some("tickets") => Some(RateSource::Tickets),
                Some("orders") => Some(RateSource::Orders),
                other => {
                    p.push(format!("indicators.{id}: a rate needs source \"tickets\" or \"orders\", not {other:?}"));
                    None
                }
            };
            match (source, ind.target_pct, ind.points_per_pct) {
                (Some(source), Some(target_pct), Some(points_per_pct)) => {
                    if !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&target_pct) || points_per_pct < Decimal::ZERO {
                        p.push(format!(
                            "indicators.{id}: target_pct must lie in 0..100 and points_per_pct must not be negative"
                        ));
                    }
                    Some(IndicatorKind::Rate { source, target_pct, points_per_pct })
                }
                (_, t, ppp) => {
                    if t.is_none() || ppp.is_none() {
                        p.push(format!("indicators.{id}: a rate needs target_pct and points_per_pct"));
                    }
                    None
                }
            }
        }
        ("penalty", _) => {
            let Some(map) = &ind.penalties else {
                p.push(format!("indicators.{id}: a penalty indicator needs [indicators.penalties]"));
                return None;
            };
            for key in map.keys().filter(|k| !PENALTY_KEYS.contains(&k.as_str())) {
                p.push(format!("indicators.{id}.penalties: unknown penalty {key:?}"));
            }
            for (key, value) in map.iter().filter(|(_, v)| **v < Decimal::ZERO) {
                p.push(format!("indicators.{id}.penalties.{key} must not be negative ({value})"));
            }
            let missing: Vec<_> = PENALTY_KEYS.iter().filter(|k| !map.contains_key(**k)).collect();
            if !missing.is_empty() {
                p.push(format!("indicators.{id}.penalties: missing {missing:?}"));
            }
            let get = |k: &str| map.get(k).copied().unwrap_or_default();
            Some(IndicatorKind::Penalty(Penalties {
                critical_outage: get("critical_outage"),
                dispatch_violation: get("dispatch_violation"),
                false_info: get("false_info"),
                complaint_miit: get("complaint_miit"),
                complaint_group: get("complaint_group"),
                complaint_account_manager: get("complaint_account_manager"),
                complaint_escalation_step: get("complaint_escalation_step"),
            }))
        }
        ("average", Some("surveys") | None) => Some(IndicatorKind::Average),
        ("average", Some(other)) => {
            p.push(format!("indicators.{id}: an average reads source \"surveys\", not {other:?}"));
            None
        }
        ("manual", _) => Some(IndicatorKind::Manual),
        (other, _) => {
            p.push(format!("indicators.{id}: unknown kind {other:?} (rate, penalty, average, manual)"));
            None
        }
    }
}

fn presales(raw: &RawPresales, p: &mut Problems) -> PresalesRules {
    let mixed = match raw.mixed_settles_as.as_str() {
        "higher" => MixedSettlesAs::Higher,
        "lower" => MixedSettlesAs::Lower,
        other => {
            p.push(format!("presales.mixed_settles_as must be \"higher\" or \"lower\", not {other:?}"));
            MixedSettlesAs::Higher
        }
    };
    let mut fees = BTreeMap::new();
    for class in ["A1", "A2", "B", "C"] {
        if !raw.fees.contains_key(class) {
            p.push(format!("presales.fees: class {class} is missing"));
        }
    }
    for (class, map) in &raw.fees {
        for key in map.keys().filter(|k| !matches!(k.as_str(), "dedicated_line" | "integrated")) {
            p.push(format!("presales.fees.{class}: unknown fee type {key:?}"));
        }
        match (map.get("dedicated_line"), map.get("integrated")) {
            (Some(&d), Some(&i)) if d >= Decimal::ZERO && i >= Decimal::ZERO => {
                fees.insert(class.clone(), ClassFees { dedicated_line: d, integrated: i });
            }
            (Some(_), Some(_)) => p.push(format!("presales.fees.{class}: fees must not be negative")),
            _ => p.push(format!("presales.fees.{class}: needs both dedicated_line and integrated")),
        }
    }
    let co = &raw.coefficients;
    let bands: Vec<CoefficientBand> = co
        .won_other_implementer
        .iter()
        .map(|b| CoefficientBand { below: b.below, coefficient: b.coefficient })
        .collect();
    match bands.split_last() {
        None => p.push("presales.coefficients.won_other_implementer: at least one band is needed".into()),
        Some((last, rest)) => {
            if last.below.is_some() {
                p.push("presales.coefficients.won_other_implementer: the last band must be open (no `below`)".into());
            }
            if rest.iter().any(|b| b.below.is_none()) {
                p.push("presales.coefficients.won_other_implementer: only the last band may be open".into());
            }
            let bounds: Vec<Decimal> = rest.iter().filter_map(|b| b.below).collect();
            if bounds.windows(2).any(|w| w[0] >= w[1]) {
                p.push("presales.coefficients.won_other_implementer: bands must ascend".into());
            }
        }
    }
    if bands.iter().any(|b| b.coefficient < Decimal::ZERO)
        || [co.won_by_supporter, co.not_implemented_other_cause, co.not_implemented_supporter_cause]
            .iter()
            .any(|c| *c < Decimal::ZERO)
    {
        p.push("presales.coefficients: coefficients must not be negative".into());
    }
    PresalesRules {
        mixed_settles_as: mixed,
        fees,
        won_by_supporter: co.won_by_supporter,
        not_implemented_other_cause: co.not_implemented_other_cause,
        not_implemented_supporter_cause: co.not_implemented_supporter_cause,
        won_other_implementer: bands,
    }
}

fn check_periods_and_tiers(raw: &RawRules, p: &mut Problems) {
    for (what, months) in [
        ("renewal.notice_months", raw.renewal.notice_months),
        ("exit.aftersales_notice_months", raw.exit.aftersales_notice_months),
        ("exit.presales_notice_months", raw.exit.presales_notice_months),
        ("blacklist.ban_years", raw.blacklist.ban_years),
    ] {
        if !(0..=120).contains(&months) {
            p.push(format!("{what} must lie in 0..120"));
        }
    }
    let t = &raw.tiers;
    if !(t.a.credit_min >= t.b.credit_min && t.b.credit_min >= t.c.credit_min) || t.a.revenue_min < t.b.revenue_min {
        p.push("tiers: thresholds must descend from a to c".into());
    }
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The shipped rules and calendar, compiled (tests, examples and the demo rely on them).
#[cfg(test)]
pub(crate) fn builtin_rules() -> Rules {
    let mut problems = Vec::new();
    let years = super::calendar::parse_calendar(super::DEFAULT_CALENDAR, &mut problems).expect("shipped calendar");
    compile_rules(DEFAULT_RULES, years, &mut problems).expect("shipped rules")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn compile(text: &str) -> Result<Rules, Vec<String>> {
        let mut problems = Vec::new();
        let years = super::super::calendar::parse_calendar(super::super::DEFAULT_CALENDAR, &mut problems).unwrap();
        compile_rules(text, years, &mut problems).ok_or(problems)
    }

    #[test]
    fn shipped_files_are_valid_and_exact() {
        let rules = compile(DEFAULT_RULES).expect("default rules compile");
        assert_eq!(rules.indicators.len(), 5);
        let IndicatorKind::Penalty(p) = &rules.indicator("service_quality").unwrap().kind else { panic!() };
        assert_eq!(p.critical_outage, dec!(2.5));
        assert_eq!(p.false_info, dec!(0.5));
        assert_eq!(rules.presales.won_other_implementer[1].coefficient, dec!(1.2));
        assert_eq!(rules.sla_classes["standard"].limit_seconds, 15 * 3600);
        assert!(rules.calendar.covers(2025) && rules.calendar.covers(2026));
        assert_eq!(rules.dispute_window_working_days, 5);
    }

    #[test]
    fn quoted_fractions_read_the_same_as_literals() {
        let text = DEFAULT_RULES.replace("coefficient = 1.2", "coefficient = \"1.2\"");
        assert_eq!(compile(&text).unwrap().presales.won_other_implementer[1].coefficient, dec!(1.2));
    }

    #[test]
    fn fractional_limit_hours_round_up_to_whole_seconds() {
        let text = DEFAULT_RULES.replace("AAA = { limit_hours = 4,", "AAA = { limit_hours = 0.0001,");
        assert_eq!(compile(&text).unwrap().sla_classes["AAA"].limit_seconds, 1);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = DEFAULT_RULES
            .replace("weight = 30", "weight = 31")
            .replace("a_min = 90", "a_min = 70")
            .replace("clock = \"natural\" }", "clock = \"lunar\" }")
            .replace("{ coefficient = 1.5 },", "{ below = 9000000, coefficient = 1.5 },")
            .replace("kind = \"manual\"", "kind = \"magic\"\nsurprise = 1");
        let problems = compile(&text).unwrap_err();
        let all = problems.join("\n");
        for needle in
            ["weights add up", "a_min", "lunar", "must be open", "unknown kind", "unknown key `indicators.4.surprise`"]
        {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    /// Broken rules files, each with the problem it must name (a missing key, a wrong type, a
    /// negative weight, bands out of order, an unknown kind…): reported, never a panic.
    const BROKEN_RULES: [(&str, &str, &str); 16] = [
        ("weight = 30", "weight = -30", "must not be negative"),
        ("weight = 30", "weight = \"thirty\"", "rules:"),
        ("a_min = 90", "", "missing field `a_min`"),
        ("kind = \"average\"", "kind = \"median\"", "unknown kind"),
        ("{ below = 5000000, coefficient = 1.2 },", "{ below = 500000, coefficient = 1.2 },", "bands must ascend"),
        ("{ coefficient = 1.5 },", "", "must be open"),
        ("AAA = { limit_hours = 4,", "AAA = { limit_hours = 0,", "must be positive"),
        ("timezone = \"Asia/Shanghai\"", "timezone = \"Mars/Olympus\"", "IANA"),
        ("[\"13:30\", \"18:00\"]", "[\"11:30\", \"18:00\"]", "without overlapping"),
        ("[\"09:00\", \"12:00\"]", "[\"9h\", \"12:00\"]", "HH:MM"),
        ("B = { dedicated_line = 1500, integrated = 3000 }", "B = { dedicated_line = 1500 }", "needs both"),
        ("mixed_settles_as = \"higher\"", "mixed_settles_as = \"middle\"", "higher"),
        ("class_two_max = 10", "class_two_max = 0", "class_two_min <= class_two_max"),
        ("c_grade_threshold = 2", "c_grade_threshold = 0", "at least 1"),
        ("notice_months = 3", "notice_months = 3\nsurplus = true", "unknown key `renewal.surplus`"),
        ("[grades]", "[grades", "rules:"),
    ];

    #[test]
    fn broken_rules_files_name_their_problem() {
        for (from, to, needle) in BROKEN_RULES {
            assert!(DEFAULT_RULES.contains(from), "case does not apply: {from}");
            let problems = compile(&DEFAULT_RULES.replacen(from, to, 1)).expect_err(needle);
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle:?} not in {problems:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]
        /// Any line deleted or replaced by junk: either valid rules or a list of problems.
        #[test]
        fn mangled_rules_never_panic(line in 0usize..120, junk in "[ -~]{0,12}", delete in proptest::bool::ANY) {
            let mut lines: Vec<String> = DEFAULT_RULES.lines().map(str::to_string).collect();
            let at = line % lines.len();
            if delete { lines.remove(at); } else { lines[at] = junk; }
            match compile(&lines.join("\n")) {
                Ok(rules) => proptest::prop_assert_eq!(rules.indicators.iter().map(|i| i.weight).sum::<Decimal>(), Decimal::ONE_HUNDRED),
                Err(problems) => proptest::prop_assert!(!problems.is_empty()),
            }
        }
    }
}
