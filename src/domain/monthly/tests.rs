//! Worked examples of rules.md §3–§6 and examples.md, each computed by hand in a comment.

use super::*;
use crate::config::builtin_rules;
use proptest::prelude::*;
use rust_decimal_macros::dec;

/// A month of source rows built by hand; every partner gets an after-sales contract for 2026 and a
/// cooperation score of 20 unless a test says otherwise.
struct Case {
    month: Month,
    partners: Vec<&'static str>,
    tickets: Vec<Vec<Option<String>>>,
    pauses: Vec<Vec<Option<String>>>,
    orders: Vec<Vec<Option<String>>>,
    surveys: Vec<Vec<Option<String>>>,
    manual: Vec<Vec<Option<String>>>,
    violations: Vec<Vec<Option<String>>>,
    fees: Vec<Vec<Option<String>>>,
    exclusions: Vec<Vec<Option<String>>>,
    complaints: Vec<Vec<Option<String>>>,
    blacklist: Vec<Vec<Option<String>>>,
    skip_manual: bool,
    as_of: Option<chrono::NaiveDateTime>,
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

impl Case {
    fn new(month: &str, partners: &[&'static str]) -> Self {
        Case {
            month: month.parse().unwrap(),
            partners: partners.to_vec(),
            tickets: vec![],
            pauses: vec![],
            orders: vec![],
            surveys: vec![],
            manual: vec![],
            violations: vec![],
            fees: vec![],
            exclusions: vec![],
            complaints: vec![],
            blacklist: vec![],
            skip_manual: false,
            as_of: None,
        }
    }
    fn ticket(&mut self, id: &str, partner: &str, class: &str, opened: &str, resolved: Option<&str>) -> &mut Self {
        self.tickets.push(vec![
            s(id),
            s(partner),
            s(class),
            s("partner"),
            s(opened),
            resolved.and_then(s),
            s("0"),
            s("0"),
            s("0"),
        ]);
        self
    }
    fn input(&self) -> MonthInput {
        let frame = |d: Dataset, rows: &[Vec<Option<String>>]| {
            let rows: Vec<Vec<Option<&str>>> = rows.iter().map(|r| r.iter().map(|c| c.as_deref()).collect()).collect();
            frame_from_rows(d, &rows)
        };
        let partners: Vec<Vec<Option<String>>> =
            self.partners.iter().map(|p| vec![s(p), s(&format!("{p} 有限公司")), None]).collect();
        let contracts: Vec<Vec<Option<String>>> = self
            .partners
            .iter()
            .map(|p| {
                vec![
                    s(&format!("C-{p}")),
                    s(p),
                    s("aftersales"),
                    s("2026-01-01"),
                    s("2026-12-31"),
                    s("政企客户部"),
                    s("o@x.cn"),
                    None,
                ]
            })
            .collect();
        let mut manual = self.manual.clone();
        if !self.skip_manual {
            for p in &self.partners {
                if !manual.iter().any(|r| r[0].as_deref() == Some(p)) {
                    manual.push(vec![s(p), s(&self.month.to_string()), s("cooperation"), s("20"), s("mgr")]);
                }
            }
        }
        MonthInput {
            month: self.month,
            partners: frame(PARTNERS, &partners),
            contracts: frame(CONTRACTS, &contracts),
            tickets: Tickets::from(&frame(TICKETS, &self.tickets)),
            pauses: Pauses::from(&frame(PAUSES, &self.pauses)),
            orders: Orders::from(&frame(ORDERS, &self.orders)),
            complaints: frame(COMPLAINTS, &self.complaints),
            surveys: frame(SURVEYS, &self.surveys),
            manual_scores: frame(MANUAL_SCORES, &manual),
            violations: frame(VIOLATIONS, &self.violations),
            fee_items: frame(FEE_ITEMS, &self.fees),
            audit_exclusions: frame(AUDIT_EXCLUSIONS, &self.exclusions),
            blacklist: frame(BLACKLIST, &self.blacklist),
            as_of: self.as_of,
        }
    }
    fn run(&self) -> MonthResult {
        self.run_with(&GradeHistory::default())
    }
    fn run_with(&self, history: &GradeHistory) -> MonthResult {
        assess(self.input(), &builtin_rules(), history).unwrap()
    }
}

fn indicator<'a>(r: &'a MonthResult, partner: &str, id: &str) -> &'a IndicatorResult {
    r.indicators.iter().find(|i| i.partner_id == partner && i.indicator == id).unwrap()
}

fn partner<'a>(r: &'a MonthResult, id: &str) -> &'a PartnerResult {
    r.partners.iter().find(|p| p.partner_id == id).unwrap()
}

#[test]
fn two_of_three_on_time_is_66_67_percent() {
    // AAA = 4 h natural. T1, T2 resolved within 4 h, T3 after 5 h.
    // pct = round(200/3) = 66.67; points = 30 − (95 − 66.67) × 1 = 1.67.
    let mut c = Case::new("2026-03", &["P1"]);
    c.ticket("T1", "P1", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 10:00:00"))
        .ticket("T2", "P1", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 12:00:00"))
        .ticket("T3", "P1", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 13:00:00"));
    let r = c.run();
    let i = indicator(&r, "P1", "fault_timeliness");
    assert_eq!((i.measured, i.counted, i.points), (Some(dec!(66.67)), 3, dec!(1.67)));
}

#[test]
fn twenty_nine_of_thirty_two_rounds_half_up() {
    // pct = 90.625 → 90.63; points = 30 − 4.37 = 25.63.
    let mut c = Case::new("2026-03", &["P1"]);
    for k in 0..32 {
        let resolved = if k < 29 { "2026-03-10 09:00:00" } else { "2026-03-10 13:00:00" };
        c.ticket(&format!("T{k}"), "P1", "AAA", "2026-03-10 08:00:00", Some(resolved));
    }
    let i = indicator(&c.run(), "P1", "fault_timeliness").clone();
    assert_eq!((i.measured, i.points), (Some(dec!(90.63)), dec!(25.63)));
}

#[test]
fn late_ticket_resolved_next_month_counts_in_its_due_month() {
    // A (24 h) opened 03-30 10:00 → due 03-31 10:00; resolved 04-02 → late, counted in March.
    let mut c = Case::new("2026-03", &["P1"]);
    c.ticket("T1", "P1", "A", "2026-03-30 10:00:00", Some("2026-04-02 09:00:00"));
    let march = c.run();
    let i = indicator(&march, "P1", "fault_timeliness");
    assert_eq!((i.measured, i.counted, i.points), (Some(dec!(0)), 1, dec!(0)));
    assert!(march.evidence.rows().iter().any(|e| e.row_id == "T1" && e.outcome == "late"));
    c.month = "2026-04".parse().unwrap();
    let april = c.run();
    assert_eq!(indicator(&april, "P1", "fault_timeliness").counted, 0);
}

#[test]
fn lunch_break_resolution_after_noon_deadline_is_late_in_the_due_month() {
    // standard opened Mon 03-02 13:30 → due Wed 03-04 12:00:00; resolved 13:15 → late (March).
    let mut c = Case::new("2026-03", &["P1"]);
    c.ticket("T1", "P1", "standard", "2026-03-02 13:30:00", Some("2026-03-04 13:15:00")).ticket(
        "T2",
        "P1",
        "standard",
        "2026-03-02 13:30:00",
        Some("2026-03-04 12:00:00"),
    );
    let r = c.run();
    let outcome = |id: &str| r.evidence.rows().iter().find(|e| e.row_id == id).unwrap().outcome.clone();
    assert_eq!((outcome("T1").as_str(), outcome("T2").as_str()), ("late", "on_time"));
    assert_eq!(indicator(&r, "P1", "fault_timeliness").measured, Some(dec!(50)));
}

#[test]
fn open_ended_pause_counts_nowhere_and_no_data_gives_full_weight() {
    let mut c = Case::new("2026-06", &["P1"]);
    c.ticket("T1", "P1", "A", "2026-06-05 10:00:00", None);
    c.pauses.push(vec![s("T1"), s("2026-06-05 12:00:00"), None]);
    let r = c.run();
    let i = indicator(&r, "P1", "fault_timeliness");
    assert_eq!((i.measured, i.counted, i.points), (None, 0, dec!(30)));
}

#[test]
fn invalid_pause_is_reported_and_ignored() {
    // AAA 08:00 resolved 12:30: late without pauses. The backwards pause must not rescue it.
    let mut c = Case::new("2026-07", &["P1"]);
    c.ticket("T1", "P1", "AAA", "2026-07-02 08:00:00", Some("2026-07-02 12:30:00"));
    c.pauses.push(vec![s("T1"), s("2026-07-02 11:00:00"), s("2026-07-02 09:00:00")]);
    let r = c.run();
    assert_eq!(indicator(&r, "P1", "fault_timeliness").measured, Some(dec!(0)));
    assert_eq!(
        r.data_quality,
        vec![DataQualityRow {
            source: "ticket_pauses".into(),
            partner_id: "".into(),
            row_id: "T1@2026-07-02 11:00:00".into(),
            problem: "resumed_before_paused".into()
        }]
    );
}

/// An unreadable `paused_at` is listed in the month its text names and the months its ticket is
/// read in, every month when it is not even date-shaped, and not in later months otherwise.
#[test]
fn an_unreadable_pause_is_listed_in_the_month_of_its_own_timestamp() {
    let problems = |month: &str, with_ticket: bool| {
        let mut c = Case::new(month, &["P1"]);
        if with_ticket {
            c.ticket("T1", "P1", "AAA", &format!("{month}-02 08:00:00"), Some(&format!("{month}-02 09:00:00")));
        }
        c.pauses.push(vec![s("T9"), s("2026-02-30 10:00:00"), None]);
        c.pauses.push(vec![s("T8"), s("不是时间"), None]);
        c.pauses.push(vec![s("T1"), s("2026-01-31 25:00:00"), None]);
        let r = c.run();
        let mut ids = r.data_quality.iter().map(|d| d.row_id.clone()).collect::<Vec<_>>();
        ids.sort();
        ids
    };
    // February: the text says February; the garbage is listed every month.
    assert_eq!(problems("2026-02", false), ["T8@不是时间", "T9@2026-02-30 10:00:00"]);
    // March: only the garbage; with T1 a ticket of March, its unreadable pause too.
    assert_eq!(problems("2026-03", false), ["T8@不是时间"]);
    assert_eq!(problems("2026-03", true), ["T1@2026-01-31 25:00:00", "T8@不是时间"]);
}

/// In a preview of a month not over, an open ticket or order whose deadline has not come yet
/// counts nowhere; once past its deadline it is late (rules.md §3).
#[test]
fn a_preview_counts_open_rows_only_once_past_their_deadline() {
    let late = |as_of: &str| {
        let mut c = Case::new("2026-07", &["P1"]);
        // AAA opened 07-02 08:00: due 12:00 the same day; the order is due 07-20.
        c.ticket("T1", "P1", "AAA", "2026-07-02 08:00:00", None);
        c.orders.push(vec![s("O1"), s("P1"), s("2026-07-01 09:00:00"), s("2026-07-20 18:00:00"), None]);
        c.as_of = Some(chrono::NaiveDateTime::parse_from_str(as_of, "%Y-%m-%d %H:%M:%S").unwrap());
        let r = c.run();
        let i = |id| indicator(&r, "P1", id).counted;
        (i("fault_timeliness"), i("provisioning_timeliness"))
    };
    assert_eq!(late("2026-07-02 11:00:00"), (0, 0), "neither is past its deadline yet");
    // At its deadline an open ticket is not late yet (a resolution then is on time); a second on, it is.
    assert_eq!(late("2026-07-02 12:00:00"), (0, 0));
    assert_eq!(late("2026-07-02 12:00:01"), (1, 0));
    assert_eq!(late("2026-07-10 09:00:00"), (1, 0), "the ticket is late, the order not yet");
    assert_eq!(late("2026-07-25 09:00:00"), (1, 1));
}

#[test]
fn satisfaction_mean_rounds_half_away_from_zero() {
    // mean(90.00, 90.10) = 90.05; points = 10 × 90.05 / 100 = 9.005 → 9.01 (half-even gives 9.00).
    let mut c = Case::new("2026-03", &["P1"]);
    c.surveys.push(vec![s("S1"), s("P1"), s("2026-03-05 10:00:00"), s("90.00")]);
    c.surveys.push(vec![s("S2"), s("P1"), s("2026-03-06 10:00:00"), s("90.10")]);
    c.surveys.push(vec![s("S3"), s("P1"), s("2026-03-06 10:00:00"), s("101")]);
    let r = c.run();
    let i = indicator(&r, "P1", "customer_satisfaction");
    assert_eq!((i.measured, i.counted, i.points), (Some(dec!(90.05)), 2, dec!(9.01)));
    assert!(r.data_quality.iter().any(|d| d.row_id == "S3" && d.problem == "score_out_of_range"));
}

#[test]
fn class_one_violation_clamps_the_score_at_zero_and_flags() {
    // effectiveness 100 (no data anywhere, cooperation 20); deduction 100 + severe → score 0.00, C.
    let mut c = Case::new("2026-03", &["P1"]);
    c.violations.push(vec![s("V1"), s("P1"), s("2026-03-12"), s("1"), s("泄露"), None, s("1"), None]);
    c.violations.push(vec![s("V2"), s("P1"), s("2026-03-13"), s("2"), s("系统错误"), s("5"), s("0"), None]);
    let r = c.run();
    let p = partner(&r, "P1");
    let a = p.assessment.as_ref().unwrap();
    assert_eq!((a.effectiveness, a.credit_deduction, a.score, a.grade), (dec!(100), dec!(105), dec!(0), Grade::C));
    assert_eq!(p.flags, BTreeSet::from([Flag::ClassOneViolation, Flag::BlacklistRecommended]));
}

#[test]
fn settlement_leaves_out_audit_excluded_fees() {
    // Fees 12,345.00 settled + 500.00 excluded; complaint (group, 4 points) and one survey of 99.00:
    // service_quality 20 − 4 = 16, satisfaction 10 × 99 / 100 = 9.90 → effectiveness 95.90.
    // settlement = 12,345.00 × 95.90 / 100 = 11,838.855 → 11,838.86.
    let mut c = Case::new("2026-03", &["P1"]);
    c.fees.push(vec![s("F1"), s("C-P1"), s("2026-03"), s("12345.00"), None]);
    c.fees.push(vec![s("F2"), s("C-P1"), s("2026-03"), s("500"), None]);
    c.fees.push(vec![s("F3"), s("C-P1"), s("2026-04"), s("999"), None]);
    c.exclusions.push(vec![s("F2"), s("稽核发现重复计费"), s("2026-03-20")]);
    c.complaints.push(vec![s("K1"), s("P1"), s("2026-03-03 09:00:00"), s("group"), s("0"), s("1")]);
    c.surveys.push(vec![s("S1"), s("P1"), s("2026-03-05 10:00:00"), s("99")]);
    let a = partner(&c.run(), "P1").assessment.clone().unwrap();
    assert_eq!((a.fees_total, a.fees_excluded), (dec!(12345.00), dec!(500)));
    assert_eq!((a.score, a.settlement), (dec!(95.90), dec!(11838.86)));
}

#[test]
fn settlement_rounds_like_the_examples() {
    assert_eq!(round2(dec!(12345.00) * dec!(90.10) / dec!(100)), dec!(11122.85));
}

#[test]
fn class_two_violation_with_eleven_points_puts_the_partner_on_hold() {
    let mut c = Case::new("2026-06", &["P1", "P2"]);
    c.violations.push(vec![s("V1"), s("P1"), s("2026-06-08"), s("2"), s("安全"), s("11"), s("0"), None]);
    c.violations.push(vec![s("V2"), s("P2"), s("2026-06-08"), s("2"), s("安全"), s("2.555"), s("0"), None]);
    let r = c.run();
    for (id, v) in [("P1", "V1"), ("P2", "V2")] {
        let p = partner(&r, id);
        assert!(p.assessment.is_none());
        assert_eq!(p.hold_reasons, BTreeSet::from([format!("invalid_violation:{v}")]));
    }
    assert!(r.indicators.is_empty(), "on-hold partners have no indicator rows");
}

#[test]
fn missing_or_invalid_manual_score_and_bad_fee_hold_the_partner() {
    let mut c = Case::new("2026-03", &["P1", "P2", "P3"]);
    c.manual.push(vec![s("P2"), s("2026-03"), s("cooperation"), s("20.5"), s("mgr")]);
    c.manual.push(vec![s("P3"), s("2026-03"), s("cooperation"), s("18"), s("mgr")]);
    c.fees.push(vec![s("F1"), s("C-P3"), s("2026-03"), s("12.345"), None]);
    c.skip_manual = true;
    let r = c.run();
    assert_eq!(partner(&r, "P1").hold_reasons, BTreeSet::from(["missing_manual_score:cooperation".to_string()]));
    assert_eq!(partner(&r, "P2").hold_reasons, BTreeSet::from(["invalid_manual_score:cooperation".to_string()]));
    assert_eq!(partner(&r, "P3").hold_reasons, BTreeSet::from(["invalid_fee_item:F1".to_string()]));
}

#[test]
fn two_c_grades_is_raised_on_the_second_c() {
    // One late ticket (0 of 30), one late order (0 of 20), no penalties (20), no surveys (10),
    // cooperation 20: 0 + 0 + 20 + 10 + 20 = 50 → C.
    let mut c = Case::new("2026-03", &["P1"]);
    c.ticket("T1", "P1", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 13:00:00"));
    c.orders.push(vec![s("O1"), s("P1"), s("2026-03-01 09:00:00"), s("2026-03-02 09:00:00"), s("2026-03-03 09:00:00")]);
    let first = c.run();
    let p = partner(&first, "P1");
    assert_eq!((p.assessment.as_ref().unwrap().score, p.c_grades_window), (dec!(50), 1));
    assert!(p.flags.is_empty(), "one C is not yet a flag");
    let mut history = GradeHistory::default();
    history.grades.entry("P1".into()).or_default().insert("2026-02".parse().unwrap(), Some(Grade::C));
    history.months_run.insert("2026-02".parse().unwrap());
    let second = c.run_with(&history);
    let p = partner(&second, "P1");
    assert_eq!(p.c_grades_window, 2);
    assert!(p.flags.contains(&Flag::TwoCGrades));
    // Ten months of the window were never run: reported, not guessed.
    assert_eq!(second.missing_history_months.len(), 10);
}

#[test]
fn rows_of_partners_not_assessed_are_listed_as_ignored() {
    let mut c = Case::new("2026-03", &["P1"]);
    c.ticket("T9", "P9", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 09:00:00"));
    c.surveys.push(vec![s("S9"), s("P9"), s("2026-03-05 10:00:00"), s("90")]);
    let r = c.run();
    let ids: Vec<&str> = r.data_quality.iter().map(|d| d.row_id.as_str()).collect();
    assert_eq!(ids, ["S9", "T9"]);
    assert!(r.data_quality.iter().all(|d| d.problem == "partner_not_assessed"));
}

#[test]
fn non_partner_responsibility_is_neither_counted_nor_reported() {
    let mut c = Case::new("2026-03", &["P1"]);
    c.tickets.push(vec![
        s("T1"),
        s("P1"),
        s("AAA"),
        s("customer"),
        s("2026-03-10 08:00:00"),
        s("2026-03-10 20:00:00"),
        s("1"),
        s("0"),
        s("0"),
    ]);
    c.tickets.push(vec![
        s("T2"),
        s("P1"),
        s("AAA"),
        s("vendor"),
        s("2026-03-10 08:00:00"),
        None,
        s("0"),
        s("0"),
        s("0"),
    ]);
    let r = c.run();
    assert_eq!(indicator(&r, "P1", "fault_timeliness").counted, 0);
    assert_eq!(indicator(&r, "P1", "service_quality").counted, 0);
    assert_eq!(r.data_quality.len(), 1);
    assert_eq!(r.data_quality[0].problem, "unknown_responsibility");
}

#[test]
fn working_clock_without_calendar_year_is_quarantined() {
    let mut c = Case::new("2026-12", &["P1"]);
    c.ticket("T1", "P1", "standard", "2026-12-31 09:00:00", None);
    let r = c.run();
    assert_eq!(r.data_quality[0].problem, "no_calendar_year");
}

#[test]
fn a_ticket_with_two_flags_is_two_penalty_events() {
    // critical_outage 2.5 + false_info 0.5 = 3.00 → 17.00.
    let mut c = Case::new("2026-03", &["P1"]);
    c.tickets.push(vec![
        s("T1"),
        s("P1"),
        s("AAA"),
        s("partner"),
        s("2026-03-10 08:00:00"),
        s("2026-03-10 09:00:00"),
        s("1"),
        s("0"),
        s("1"),
    ]);
    c.complaints.push(vec![s("K1"), s("P1"), s("2026-03-03 09:00:00"), s("account_manager"), s("2"), s("0")]);
    let i = indicator(&c.run(), "P1", "service_quality").clone();
    assert_eq!((i.measured, i.counted, i.points), (Some(dec!(3.0)), 2, dec!(17)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn score_stays_in_0_to_100_and_settlement_never_exceeds_fees(
        late in 0usize..6, on_time in 0usize..6, points in 0u32..2000, fee_cents in 0i64..10_000_000_000,
        class_one in any::<bool>(), surveys in prop::collection::vec(0u32..=10000, 0..4)
    ) {
        let mut c = Case::new("2026-03", &["P1"]);
        for k in 0..late { c.ticket(&format!("L{k}"), "P1", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 13:00:00")); }
        for k in 0..on_time { c.ticket(&format!("O{k}"), "P1", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 09:00:00")); }
        for (k, v) in surveys.iter().enumerate() {
            c.surveys.push(vec![s(&format!("S{k}")), s("P1"), s("2026-03-05 10:00:00"), s(&format!("{}.{:02}", v / 100, v % 100))]);
        }
        c.manual.push(vec![s("P1"), s("2026-03"), s("cooperation"), s(&format!("{}.{:02}", points / 100, points % 100)), s("m")]);
        if class_one { c.violations.push(vec![s("V1"), s("P1"), s("2026-03-12"), s("1"), s("x"), None, s("0"), None]); }
        c.fees.push(vec![s("F1"), s("C-P1"), s("2026-03"), s(&format!("{}.{:02}", fee_cents / 100, fee_cents % 100)), None]);
        let a = partner(&c.run(), "P1").assessment.clone().unwrap();
        prop_assert!(a.score >= Decimal::ZERO && a.score <= Decimal::ONE_HUNDRED);
        prop_assert!(a.settlement <= a.fees_total && a.settlement >= Decimal::ZERO);
        prop_assert_eq!(a.score.scale() <= 2, true);
    }
}

/// One malformed source row of the contract, as the fuzz test injects them.
#[derive(Debug, Clone)]
enum Bad {
    Ticket(u8),
    Order(u8),
    Survey(u8),
    Complaint(u8),
    Violation(u8),
    Fee(u8),
    Pause,
    Manual(u8),
}

fn arb_bad() -> impl Strategy<Value = Bad> {
    prop_oneof![
        (0u8..7).prop_map(Bad::Ticket),
        (0u8..4).prop_map(Bad::Order),
        (0u8..5).prop_map(Bad::Survey),
        (0u8..5).prop_map(Bad::Complaint),
        (0u8..6).prop_map(Bad::Violation),
        (0u8..5).prop_map(Bad::Fee),
        Just(Bad::Pause),
        (0u8..3).prop_map(Bad::Manual),
    ]
}

/// Adds the row to the case; returns the id it must be accounted for under (data quality or hold).
fn inject(c: &mut Case, n: usize, bad: &Bad) -> String {
    let id = format!("BAD{n}");
    let at = format!("2026-03-{:02} 10:00:00", 2 + n % 25);
    match bad {
        Bad::Ticket(k) => {
            let mut row =
                vec![s(&id), s("P1"), s("AAA"), s("partner"), s(&at), s("2026-03-28 10:00:00"), s("0"), s("0"), s("0")];
            match k {
                0 => row[2] = s("premium"),
                1 => row[3] = s("vendor"),
                2 => row[5] = s("2026-03-01 00:00:00"),
                3 => row[5] = s("yesterday"),
                4 => row[6] = s("7"),
                5 => row[1] = s("P-UNKNOWN"),
                _ => row[4] = s("2026-13-45 99:00:00"),
            }
            c.tickets.push(row);
        }
        Bad::Order(k) => {
            let mut row = vec![s(&id), s("P1"), s(&at), s("2026-03-28 10:00:00"), s("2026-03-27 10:00:00")];
            match k {
                0 => row[3] = s("2026-03-01 00:00:00"),
                1 => row[4] = s("2026-03-01 00:00:00"),
                2 => row[3] = s("not a time"),
                _ => row[1] = s("P-UNKNOWN"),
            }
            c.orders.push(row);
        }
        Bad::Survey(k) => {
            let score = ["101", "-1", "abc", "1e400", "90"][*k as usize];
            let partner = if *k == 4 { "P-UNKNOWN" } else { "P2" };
            c.surveys.push(vec![s(&id), s(partner), s(&at), s(score)]);
        }
        Bad::Complaint(k) => {
            let mut row = vec![s(&id), s("P1"), s(&at), s("miit"), s("0"), s("1")];
            match k {
                0 => row[3] = s("weibo"),
                1 => row[4] = s("-1"),
                2 => row[5] = s("2"),
                3 => row[4] = s("x"),
                _ => row[1] = s("P-UNKNOWN"),
            }
            c.complaints.push(row);
        }
        Bad::Violation(k) => {
            let (class, points, partner) = match k {
                0 => ("3", Some("2"), "P1"),
                1 => ("2", None, "P1"),
                2 => ("2", Some("11"), "P1"),
                3 => ("2", Some("2.555"), "P2"),
                4 => ("x", Some("2"), "P2"),
                _ => ("2", Some("2"), "P-UNKNOWN"),
            };
            c.violations.push(vec![
                s(&id),
                s(partner),
                s("2026-03-12"),
                s(class),
                s("c"),
                points.and_then(s),
                s("0"),
                None,
            ]);
        }
        Bad::Fee(k) => {
            let (contract, amount) = [
                ("C-P1", "-5"),
                ("C-P1", "1.234"),
                ("C-P2", "abc"),
                ("C-P2", "99999999999999999999999999999999"),
                ("C-NONE", "10"),
            ][*k as usize];
            c.fees.push(vec![s(&id), s(contract), s("2026-03"), s(amount), None]);
        }
        Bad::Pause => {
            c.pauses.push(vec![s("G1"), s(&at), s("2026-03-01 00:00:00")]);
            return format!("G1@{at}");
        }
        Bad::Manual(k) => {
            let (indicator, points) = [("cooperation", "25"), ("cooperation", "x"), ("magic", "5")][*k as usize];
            c.manual.retain(|r| !(r[0].as_deref() == Some("P2") && r[2].as_deref() == Some(indicator)));
            c.manual.push(vec![s("P2"), s("2026-03"), s(indicator), s(points), s("m")]);
            return if indicator == "magic" {
                "P2/2026-03/magic".into()
            } else {
                "invalid_manual_score:cooperation".into()
            };
        }
    }
    id
}

fn good_case() -> Case {
    let mut c = Case::new("2026-03", &["P1", "P2"]);
    c.ticket("G1", "P1", "AAA", "2026-03-10 08:00:00", Some("2026-03-10 10:00:00"))
        .ticket("G2", "P1", "A", "2026-03-10 08:00:00", Some("2026-03-12 10:00:00"))
        .ticket("G3", "P2", "standard", "2026-03-10 09:00:00", Some("2026-03-11 10:00:00"));
    c.orders.push(vec![s("O1"), s("P2"), s("2026-03-03 09:00:00"), s("2026-03-04 09:00:00"), s("2026-03-03 18:00:00")]);
    c.surveys.push(vec![s("S1"), s("P1"), s("2026-03-05 10:00:00"), s("88.5")]);
    c.fees.push(vec![s("F1"), s("C-P1"), s("2026-03"), s("12345.67"), None]);
    c.fees.push(vec![s("F2"), s("C-P2"), s("2026-03"), s("2000"), None]);
    c.manual.push(vec![s("P2"), s("2026-03"), s("cooperation"), s("18.5"), s("m")]);
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    /// Malformed rows never panic, are each accounted for (data quality or a hold reason), and
    /// leave the results of partners they do not hold unchanged.
    #[test]
    fn malformed_rows_are_accounted_for_and_change_nothing_else(bad in prop::collection::vec(arb_bad(), 1..12)) {
        let clean = good_case().run();
        let mut c = good_case();
        let ids: Vec<String> = bad.iter().enumerate().map(|(n, b)| inject(&mut c, n, b)).collect();
        let dirty = c.run();
        let holds: Vec<&String> = dirty.partners.iter().flat_map(|p| p.hold_reasons.iter()).collect();
        for id in &ids {
            let in_dq = dirty.data_quality.iter().any(|d| &d.row_id == id);
            let held = holds.iter().any(|h| h.ends_with(&format!(":{id}")) || *h == id);
            prop_assert!(in_dq || held, "{} not accounted for: {:?} / {:?}", id, dirty.data_quality, holds);
        }
        for p in dirty.partners.iter().filter(|p| p.hold_reasons.is_empty()) {
            let before = clean.partners.iter().find(|q| q.partner_id == p.partner_id).unwrap();
            prop_assert_eq!(&p.assessment, &before.assessment);
        }
    }
}

#[test]
fn a_month_that_begins_inside_a_ban_is_on_hold() {
    // examples.md: P12 banned 2026-09-18. September is assessed as usual; October begins inside
    // the ban: on hold `banned`, every number empty, flags still computed.
    let mut c = Case::new("2026-09", &["P12", "P13"]);
    c.blacklist.push(vec![s("P12"), s("2026-09-18"), s("重大信息安全错误")]);
    let r = c.run();
    assert!(partner(&r, "P12").assessment.is_some());
    c.month = "2026-10".parse().unwrap();
    c.violations.push(vec![s("V1"), s("P12"), s("2026-10-09"), s("1"), s("x"), None, s("1"), s("d")]);
    let r = c.run();
    let p = partner(&r, "P12");
    assert_eq!(p.assessment, None);
    assert_eq!(p.hold_reasons, BTreeSet::from(["banned".to_string()]));
    assert_eq!(
        p.flags,
        BTreeSet::from([Flag::ClassOneViolation, Flag::BlacklistRecommended]),
        "flags come from the valid rows"
    );
    assert!(r.indicators.iter().all(|i| i.partner_id != "P12"));
    assert!(partner(&r, "P13").assessment.is_some(), "only the banned partner is held");
}

#[test]
fn a_ban_decided_on_the_first_day_holds_that_month_and_not_the_one_before() {
    let mut c = Case::new("2026-10", &["P1"]);
    c.blacklist.push(vec![s("P1"), s("2026-10-01"), s("r")]);
    assert!(partner(&c.run(), "P1").hold_reasons.contains("banned"));
    c.month = "2026-09".parse().unwrap();
    assert!(partner(&c.run(), "P1").hold_reasons.is_empty(), "September begins before the decision");
    // A ban decided two years and a day before the month's first day has ended.
    c.blacklist = vec![vec![s("P1"), s("2024-08-31"), s("r")]];
    assert!(partner(&c.run(), "P1").hold_reasons.is_empty());
    c.blacklist = vec![vec![s("P1"), s("2024-09-02"), s("r")]];
    assert!(partner(&c.run(), "P1").hold_reasons.contains("banned"));
}
