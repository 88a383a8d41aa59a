//! Hand-computed cases of rules.md §8–§9.

use super::*;
use crate::config::builtin_rules;
use rust_decimal_macros::dec;

fn d(s: &str) -> NaiveDate {
    crate::domain::period::parse_date(s).unwrap()
}

fn contracts(rows: &[(&str, &str, &str, &str, &str)]) -> DataFrame {
    let rows: Vec<Vec<Option<&str>>> = rows
        .iter()
        .map(|(id, p, kind, start, end)| {
            vec![Some(*id), Some(*p), Some(*kind), Some(*start), Some(*end), Some("政企客户部"), Some("o@x.cn"), None]
        })
        .collect();
    frame_from_rows(CONTRACTS, &rows)
}

fn month_scores(partner: &str, scores: &[(&str, Decimal)]) -> Vec<MonthlyScore> {
    let rules = builtin_rules();
    scores
        .iter()
        .map(|(m, s)| MonthlyScore {
            month: m.parse().unwrap(),
            partner_id: partner.into(),
            score: Some(*s),
            grade: Some(rules.grades.grade(*s)),
            settlement: Some(dec!(0)),
            flags: Default::default(),
            hold_reasons: Default::default(),
        })
        .collect()
}

struct Frames {
    contracts: DataFrame,
    projects: DataFrame,
    supports: DataFrame,
    violations: DataFrame,
    blacklist: DataFrame,
}

impl Frames {
    fn new(contracts: DataFrame) -> Self {
        Frames {
            contracts,
            projects: empty_frame(PRESALES_PROJECTS),
            supports: empty_frame(PRESALES_SUPPORTS),
            violations: empty_frame(VIOLATIONS),
            blacklist: empty_frame(BLACKLIST),
        }
    }
    fn run(&self, as_of: &str, monthly: &[MonthlyScore]) -> Vec<RenewalRow> {
        let input = RenewalInput {
            as_of: d(as_of),
            contracts: &self.contracts,
            projects: &self.projects,
            supports: &self.supports,
            violations: &self.violations,
            blacklist: &self.blacklist,
            monthly,
        };
        renewals(&input, &builtin_rules())
    }
}

#[test]
fn window_ends_exactly_three_calendar_months_later() {
    // As of 2026-11-30 the window runs to 2027-02-28 (clamped), both ends included.
    let f = Frames::new(contracts(&[
        ("IN", "P1", "aftersales", "2025-01-01", "2027-02-28"),
        ("OUT", "P1", "aftersales", "2025-01-01", "2027-03-01"),
        ("PAST", "P1", "aftersales", "2025-01-01", "2026-11-29"),
        ("TODAY", "P1", "aftersales", "2025-01-01", "2026-11-30"),
    ]));
    let ids: Vec<String> = f.run("2026-11-30", &[]).into_iter().map(|r| r.contract_id).collect();
    assert_eq!(ids, ["IN", "TODAY"]);
}

#[test]
fn average_of_74_99_is_grade_c_and_75_00_is_eligible() {
    // (74.98 + 75.00) / 2 = 74.99 → C, not eligible; (75.00 + 75.00) / 2 = 75.00 → B, eligible.
    let f = Frames::new(contracts(&[
        ("C1", "P1", "aftersales", "2026-01-01", "2026-12-31"),
        ("C2", "P2", "aftersales", "2026-01-01", "2026-12-31"),
    ]));
    let mut monthly = month_scores("P1", &[("2026-09", dec!(74.98)), ("2026-10", dec!(75.00))]);
    monthly.extend(month_scores("P2", &[("2026-09", dec!(75.00)), ("2026-10", dec!(75.00))]));
    let rows = f.run("2026-11-01", &monthly);
    assert_eq!(
        (rows[0].average_score, rows[0].term_grade, rows[0].eligible),
        (Some(dec!(74.99)), Some(Grade::C), false)
    );
    assert_eq!(rows[0].reasons, BTreeSet::from(["grade_c".to_string()]));
    assert_eq!(rows[0].c_grades, Some(1));
    assert_eq!(
        (rows[1].average_score, rows[1].term_grade, rows[1].eligible),
        (Some(dec!(75.00)), Some(Grade::B), true)
    );
}

#[test]
fn months_outside_the_term_or_not_yet_over_do_not_count() {
    let f = Frames::new(contracts(&[("C1", "P1", "aftersales", "2026-03-15", "2026-12-31")]));
    // February ends before the term starts; November is not over on 2026-11-20.
    let monthly = month_scores(
        "P1",
        &[("2026-02", dec!(10)), ("2026-03", dec!(90)), ("2026-10", dec!(80)), ("2026-11", dec!(10))],
    );
    let r = &f.run("2026-11-20", &monthly)[0];
    assert_eq!((r.months_assessed, r.average_score), (2, Some(dec!(85.00))));
}

#[test]
fn a_month_counts_only_once_it_is_over_when_the_day_begins() {
    // rules.md §8: as of 2026-10-31 October is not over (its last day is not before D); as of
    // 2026-11-01 it is. With October alone, 10-31 has no history: not eligible.
    let f = Frames::new(contracts(&[("C1", "P1", "aftersales", "2026-10-01", "2026-12-31")]));
    let monthly = month_scores("P1", &[("2026-10", dec!(80))]);
    let r = &f.run("2026-10-31", &monthly)[0];
    assert_eq!((r.months_assessed, r.average_score, r.term_grade, r.c_grades), (0, None, None, Some(0)));
    assert!(!r.eligible && r.reasons.contains("no_assessment_history"), "{r:?}");
    let r = &f.run("2026-11-01", &monthly)[0];
    assert_eq!((r.months_assessed, r.average_score, r.term_grade), (1, Some(dec!(80.00)), Some(Grade::B)));
}

#[test]
fn presales_contract_is_averaged_from_assessment_scores() {
    // Scores 80, 85.5 inside the term (completed 2026-03-01 and 2026-10-31); 40 completed after D
    // and a NULL score are left out: (80 + 85.5) / 2 = 82.75 → B.
    let mut f = Frames::new(contracts(&[("PS1", "P1", "presales", "2026-01-01", "2026-12-31")]));
    let project = |id: &'static str, done: &'static str| {
        vec![
            Some(id),
            Some("n"),
            Some("B"),
            Some("integrated"),
            Some("u"),
            Some("2026-01-01"),
            Some(done),
            Some("D"),
            Some("pending"),
            None,
            None,
        ]
    };
    f.projects = frame_from_rows(
        PRESALES_PROJECTS,
        &[
            project("J1", "2026-03-01"),
            project("J2", "2026-10-31"),
            project("J3", "2026-11-02"),
            project("J4", "2026-05-01"),
        ],
    );
    f.supports = frame_from_rows(
        PRESALES_SUPPORTS,
        &[
            vec![Some("J1"), Some("P1"), Some("1"), Some("80")],
            vec![Some("J2"), Some("P1"), Some("1"), Some("85.5")],
            vec![Some("J3"), Some("P1"), Some("1"), Some("40")],
            vec![Some("J4"), Some("P1"), Some("1"), None],
        ],
    );
    let r = &f.run("2026-11-01", &[])[0];
    assert_eq!(
        (r.months_assessed, r.average_score, r.term_grade, r.c_grades),
        (0, Some(dec!(82.75)), Some(Grade::B), None)
    );
}

#[test]
fn blacklisted_partner_with_an_a_average_is_not_eligible() {
    let mut f = Frames::new(contracts(&[("C1", "P1", "aftersales", "2026-01-01", "2026-12-31")]));
    f.blacklist = frame_from_rows(BLACKLIST, &[vec![Some("P1"), Some("2026-08-25"), Some("强行订购")]]);
    let r = &f.run("2026-11-01", &month_scores("P1", &[("2026-10", dec!(95))]))[0];
    assert!(r.blacklisted && !r.eligible);
    assert_eq!(r.reasons, BTreeSet::from(["blacklisted".to_string()]));
}

#[test]
fn no_history_is_not_eligible() {
    let f = Frames::new(contracts(&[("C1", "P1", "aftersales", "2026-10-20", "2026-12-31")]));
    let r = &f.run("2026-11-01", &[])[0];
    assert_eq!((r.average_score, r.term_grade, r.c_grades, r.eligible), (None, None, Some(0), false));
    assert_eq!(r.reasons, BTreeSet::from(["no_assessment_history".to_string()]));
}

#[test]
fn voluntary_aftersales_exit_with_two_months_notice_is_short() {
    // After-sales needs 3 months: 2026-09-15 + 3 months = 2026-12-15 > 2026-11-15 → no.
    // Presales needs 1 month: 2026-10-15 + 1 month = 2026-11-15 <= 2026-11-15 → yes.
    let c = contracts(&[
        ("AS", "P1", "aftersales", "2025-01-01", "2027-12-31"),
        ("PS", "P2", "presales", "2025-01-01", "2027-12-31"),
    ]);
    let requests = frame_from_rows(
        EXIT_REQUESTS,
        &[
            vec![Some("E1"), Some("P1"), Some("AS"), Some("voluntary"), Some("2026-09-15"), Some("2026-11-15")],
            vec![Some("E2"), Some("P2"), Some("PS"), Some("voluntary"), Some("2026-10-15"), Some("2026-11-15")],
            vec![Some("E3"), Some("P1"), Some("AS"), Some("breach"), Some("2026-09-01"), Some("2026-10-01")],
            vec![Some("E4"), Some("P1"), Some("AS"), Some("breach"), Some("2026-09-01"), Some("2026-09-30")],
        ],
    );
    let open = HashMap::from([("P1".to_string(), 4)]);
    let rows = exits(d("2026-11-01"), &requests, &c, &open, &HashMap::new(), &builtin_rules());
    let got: Vec<(&str, Option<bool>, u64)> =
        rows.iter().map(|r| (r.request_id.as_str(), r.notice_ok, r.open_tickets)).collect();
    // E4 is planned before D − 1 month (2026-10-01, inclusive) and is left out.
    assert_eq!(got, [("E1", Some(false), 4), ("E2", Some(true), 0), ("E3", None, 4)]);
}

#[test]
fn breach_inside_the_ban_and_not_a_day_after() {
    // Ban decided 2024-03-15 lasts until 2026-03-14 inclusive.
    let c = contracts(&[
        ("IN", "P1", "aftersales", "2026-03-14", "2027-03-13"),
        ("AFTER", "P1", "aftersales", "2026-03-15", "2027-03-14"),
    ]);
    let blacklist = frame_from_rows(BLACKLIST, &[vec![Some("P1"), Some("2024-03-15"), Some("欺诈")]]);
    let projects = frame_from_rows(
        PRESALES_PROJECTS,
        &[vec![
            Some("J1"),
            Some("n"),
            Some("B"),
            Some("integrated"),
            Some("u"),
            Some("2025-01-01"),
            None,
            None,
            Some("pending"),
            None,
            None,
        ]],
    );
    let supports = frame_from_rows(PRESALES_SUPPORTS, &[vec![Some("J1"), Some("P1"), Some("1"), None]]);
    let got = breaches(d("2026-11-01"), &c, &projects, &supports, &blacklist, &builtin_rules());
    assert_eq!(
        got,
        vec![
            Breach { partner_id: "P1".into(), kind: "contract", ref_id: "IN".into(), date: d("2026-03-14") },
            Breach { partner_id: "P1".into(), kind: "presales_support", ref_id: "J1".into(), date: d("2025-01-01") },
        ]
    );
}

#[test]
fn a_notice_goes_out_once() {
    let row = RenewalRow {
        contract_id: "C1".into(),
        partner_id: "P1".into(),
        kind: "aftersales".into(),
        end_date: d("2026-12-31"),
        department: String::new(),
        owner_email: String::new(),
        months_assessed: 0,
        average_score: None,
        term_grade: None,
        c_grades: None,
        class_one_violations: 0,
        blacklisted: false,
        eligible: false,
        reasons: BTreeSet::new(),
    };
    let sent = BTreeMap::from([("C1".to_string(), d("2026-11-01"))]);
    assert_eq!(notice_state(&row, &BTreeMap::new(), d("2026-11-01")), Notice::Sent);
    assert_eq!(notice_state(&row, &sent, d("2026-11-01")), Notice::Sent, "a rerun of the same day is the same run");
    assert_eq!(notice_state(&row, &sent, d("2026-11-02")), Notice::AlreadySent);
}

/// A contract with a termination date: (id, partner, kind, start, end, terminated_on).
type Term<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);

fn terminable(rows: &[Term]) -> DataFrame {
    let rows: Vec<Vec<Option<&str>>> = rows
        .iter()
        .map(|(id, p, kind, start, end, term)| {
            vec![Some(*id), Some(*p), Some(*kind), Some(*start), Some(*end), Some("网络部"), Some("o@x.cn"), *term]
        })
        .collect();
    frame_from_rows(CONTRACTS, &rows)
}

fn ban(rows: &[(&str, &str)]) -> DataFrame {
    let rows: Vec<Vec<Option<&str>>> = rows.iter().map(|(p, day)| vec![Some(*p), Some(*day), Some("r")]).collect();
    frame_from_rows(BLACKLIST, &rows)
}

fn no_frame(d: Dataset) -> DataFrame {
    empty_frame(d)
}

#[test]
fn a_contract_a_banned_partner_still_holds_is_a_breach_dated_by_the_ban() {
    // examples.md: P12 banned 2026-09-18, its after-sales contract runs 2025-09-01..2027-08-31.
    // P07 banned 2026-08-25: after-sales terminated 2026-08-20 (not in force), presales to 2026-12-31.
    // P09's contract starts after its ban: the older `contract` breach, never also in force.
    // P10's termination is dated after D: it does not end the contract yet.
    let c = terminable(&[
        ("C-P12-AS1", "P12", "aftersales", "2025-09-01", "2027-08-31", None),
        ("C-P07-AS1", "P07", "aftersales", "2025-01-01", "2027-12-31", Some("2026-08-20")),
        ("C-P07-PS1", "P07", "presales", "2025-01-01", "2026-12-31", None),
        ("C-P09-AS1", "P09", "aftersales", "2026-10-01", "2027-09-30", None),
        ("C-P10-AS1", "P10", "aftersales", "2025-01-01", "2027-12-31", Some("2026-11-02")),
        ("C-P11-AS1", "P11", "aftersales", "2025-01-01", "2026-10-31", None),
    ]);
    let blacklist = ban(&[
        ("P12", "2026-09-18"),
        ("P07", "2026-08-25"),
        ("P09", "2026-09-01"),
        ("P10", "2026-06-01"),
        ("P11", "2026-06-01"),
    ]);
    let got = breaches(
        d("2026-11-01"),
        &c,
        &no_frame(PRESALES_PROJECTS),
        &no_frame(PRESALES_SUPPORTS),
        &blacklist,
        &builtin_rules(),
    );
    let got: Vec<(&str, &str, &str, String)> =
        got.iter().map(|b| (b.partner_id.as_str(), b.kind, b.ref_id.as_str(), b.date.to_string())).collect();
    assert_eq!(
        got,
        [
            ("P07", "contract_in_force", "C-P07-PS1", "2026-08-25".to_string()),
            ("P09", "contract", "C-P09-AS1", "2026-10-01".to_string()),
            ("P10", "contract_in_force", "C-P10-AS1", "2026-06-01".to_string()),
            ("P12", "contract_in_force", "C-P12-AS1", "2026-09-18".to_string()),
        ]
    );
    // Before the decision, nothing is in force against a ban.
    let before = breaches(
        d("2026-09-17"),
        &c,
        &no_frame(PRESALES_PROJECTS),
        &no_frame(PRESALES_SUPPORTS),
        &ban(&[("P12", "2026-09-18")]),
        &builtin_rules(),
    );
    assert!(before.is_empty(), "{before:?}");
}

fn proposals(f: &Frames, requests: &DataFrame, as_of: &str, monthly: &[MonthlyScore]) -> Vec<ExitProposal> {
    let input = RenewalInput {
        as_of: d(as_of),
        contracts: &f.contracts,
        projects: &f.projects,
        supports: &f.supports,
        violations: &f.violations,
        blacklist: &f.blacklist,
        monthly,
    };
    exit_proposals(&input, requests, &builtin_rules())
}

fn flagged(partner: &str, month: &str, flags: &[&str]) -> MonthlyScore {
    MonthlyScore {
        month: month.parse().unwrap(),
        partner_id: partner.into(),
        score: Some(dec!(60)),
        grade: Some(Grade::C),
        settlement: Some(dec!(0)),
        flags: flags.iter().map(|f| f.to_string()).collect(),
        hold_reasons: BTreeSet::new(),
    }
}

#[test]
fn exit_is_proposed_for_every_reason_unless_the_partner_is_already_leaving() {
    let mut f = Frames::new(terminable(&[
        ("C-P06-AS2", "P06", "aftersales", "2026-01-01", "2027-12-31", None),
        ("C-P07-AS1", "P07", "aftersales", "2025-01-01", "2027-12-31", Some("2026-08-20")),
        ("C-P07-PS1", "P07", "presales", "2025-01-01", "2026-12-31", None),
        ("C-P08-AS1", "P08", "aftersales", "2026-01-01", "2027-12-31", None),
        ("C-P09-AS1", "P09", "aftersales", "2026-01-01", "2027-12-31", None),
        ("C-P10-AS1", "P10", "aftersales", "2026-01-01", "2027-12-31", None),
        ("C-P11-AS1", "P11", "aftersales", "2026-01-01", "2027-12-31", None),
    ]));
    f.blacklist = ban(&[("P07", "2026-08-25")]);
    // Class-1 violations: P07 in 2026-03 (inside 2025-11..2026-10), P09 in 2025-10 (before it),
    // P11 in 2026-11 (D's own month: not before it).
    let violation = |id: &'static str, p: &'static str, day: &'static str| {
        vec![Some(id), Some(p), Some(day), Some("1"), Some("x"), None, Some("0"), Some("d")]
    };
    f.violations = frame_from_rows(
        VIOLATIONS,
        &[
            violation("V1", "P07", "2026-03-02"),
            violation("V2", "P09", "2025-10-31"),
            violation("V3", "P11", "2026-11-01"),
        ],
    );
    // P06's latest month over before D (October) carries the flag; P08's September did, but its
    // October does not; P10's October does, but P10's exit is under way.
    let monthly = vec![
        flagged("P06", "2026-09", &[]),
        flagged("P06", "2026-10", &["two_c_grades"]),
        flagged("P08", "2026-09", &["two_c_grades"]),
        flagged("P08", "2026-10", &[]),
        flagged("P10", "2026-10", &["two_c_grades"]),
        flagged("P06", "2026-11", &[]),
    ];
    let requests = frame_from_rows(
        EXIT_REQUESTS,
        &[vec![Some("E1"), Some("P10"), Some("C-P10-AS1"), Some("voluntary"), Some("2026-08-01"), Some("2026-11-01")]],
    );
    let got = proposals(&f, &requests, "2026-11-01", &monthly);
    // As exit_proposals.csv writes them.
    let got = String::from_utf8(crate::report::csv::exit_proposals(&got)).unwrap();
    assert_eq!(
        got,
        "partner_id,reasons,latest_month,contracts\nP06,two_c_grades,2026-10,C-P06-AS2\n\
         P07,blacklisted;class_one_violation,,C-P07-PS1\n"
    );
    // A request planned the day before D no longer counts as an exit under way.
    let earlier = frame_from_rows(
        EXIT_REQUESTS,
        &[vec![Some("E1"), Some("P10"), Some("C-P10-AS1"), Some("voluntary"), Some("2026-08-01"), Some("2026-10-31")]],
    );
    let got = proposals(&f, &earlier, "2026-11-01", &monthly);
    assert!(got.iter().any(|p| p.partner_id == "P10"), "{got:?}");
}
