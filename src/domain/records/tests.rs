//! Reading departmental records: what people type in Excel and WPS, and every problem at once.

use super::*;
use rust_decimal_macros::dec;

fn text(s: &str) -> Cell {
    Cell::Text(s.into())
}

fn num(s: &str) -> Cell {
    Cell::Number(s.into())
}

fn context() -> Context {
    Context {
        assessed: BTreeMap::from([
            ("P01".into(), BTreeSet::from(["网络部".to_string()])),
            ("P02".into(), BTreeSet::from(["政企客户部".to_string()])),
        ]),
        known: BTreeSet::from(["P01".into(), "P02".into(), "P09".into()]),
        manual: BTreeMap::from([("cooperation".into(), dec!(20))]),
        supports: BTreeSet::from([("PJ1".into(), "P09".into())]),
        taken: BTreeMap::new(),
        class_two: (dec!(1), dec!(10)),
        period: None,
        contracts: BTreeMap::from([("C01".into(), "P01".into())]),
        fees: BTreeSet::from(["F01".into()]),
    }
}

fn manual_sheet(rows: &[[Cell; 5]]) -> Sheet {
    let mut all = vec![vec![text("合作伙伴编号"), text("合作伙伴名称"), text("月份"), text("指标"), text("得分")]];
    all.extend(rows.iter().map(|r| r.to_vec()));
    Sheet { name: "支撑配合评分".into(), rows: all }
}

#[test]
fn numbers_as_people_type_them_read_exactly() {
    assert_eq!(normalize("１４．５"), "14.5");
    assert_eq!(normalize("\u{3000} 18 "), "18");
    let sheet = manual_sheet(&[
        [text("P01"), text("甲"), text("2026-11"), text("cooperation"), num("14.5")],
        [text(" P02 "), text("乙"), text("2026-11"), text("cooperation"), text("１８．２５")],
    ]);
    let entered = read(RecordKind::ManualScores, &sheet, &context(), "张经理").unwrap();
    assert_eq!(entered.period, "2026-11");
    let points: Vec<&str> = entered.rows.values().map(|r| r["points"].as_deref().unwrap()).collect();
    assert_eq!(points, ["14.5", "18.25"]);
    assert_eq!(entered.blank, 0);
    assert_eq!(entered.rows["P01/2026-11/cooperation"]["scored_by"].as_deref(), Some("张经理"));
}

#[test]
fn every_problem_is_reported_at_once_with_its_row_and_column() {
    let sheet = manual_sheet(&[
        [text("P01"), text("甲"), text("2026-11"), text("cooperation"), num("20.5")],
        [text("P02"), text("乙"), text("2026-11"), text("cooperation"), text("12.345")],
        [text("P77"), text("?"), text("2026-11"), text("cooperation"), num("3")],
        [text("P09"), text("丙"), text("2026-11"), text("quality"), num("3")],
        [text("P01"), text("甲"), text("2026-11"), text("cooperation"), num("3")],
        [text("P02\nP03"), text("乙"), text("2026-11"), text("cooperation"), num("2")],
        [text("P02"), text("乙"), text("2026-11"), text("cooperation"), Cell::Empty],
    ]);
    let problems = read(RecordKind::ManualScores, &sheet, &context(), "x").unwrap_err();
    let at = |row: u32| problems.iter().filter(|p| p.row == Some(row)).map(|p| p.issue.clone()).collect::<Vec<_>>();
    assert!(matches!(at(2).as_slice(), [Issue::OutOfRange { .. }]), "{:?}", at(2));
    assert_eq!(at(3), [Issue::TooManyDecimals("12.345".into())]);
    assert_eq!(at(4), [Issue::UnknownPartner("P77".into())]);
    assert!(
        at(5).contains(&Issue::NotAssessed("P09".into()))
            && at(5).contains(&Issue::NotManualIndicator("quality".into()))
    );
    assert_eq!(at(6), [Issue::Duplicate("P01/2026-11/cooperation".into())]);
    assert_eq!(at(7), [Issue::LineBreak]);
    // A row without points is left for later, not a problem.
    assert!(at(8).is_empty());
    // The column is named by position and title.
    let range = problems.iter().find(|p| p.row == Some(2)).unwrap();
    assert_eq!(range.column, Some((4, "得分")));
    assert_eq!(column_letters(4), "E");
    assert_eq!(column_letters(27), "AB");
}

#[test]
fn a_sheet_without_the_titles_is_refused_before_any_row() {
    let sheet =
        Sheet { name: "Sheet1".into(), rows: vec![vec![text("partner"), text("points")], vec![text("P01"), num("3")]] };
    let problems = read(RecordKind::ManualScores, &sheet, &context(), "x").unwrap_err();
    let missing: Vec<&Issue> = problems.iter().map(|p| &p.issue).collect();
    assert!(
        missing.contains(&&Issue::MissingColumn("合作伙伴编号")) && missing.contains(&&Issue::MissingColumn("得分"))
    );
}

#[test]
fn violations_check_class_points_dates_and_severity() {
    let head = ["月份", "编号", "合作伙伴编号", "认定日期", "违约类别", "违约事项", "扣分", "情节恶劣", "说明"];
    let row = |id: &str, date: Cell, class: &str, points: Cell, severe: &str| {
        vec![
            text("2026-11"),
            text(id),
            text("P01"),
            date,
            text(class),
            text("系统错误"),
            points,
            text(severe),
            Cell::Empty,
        ]
    };
    let d = |s: &str| Cell::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    let sheet = Sheet {
        name: "违约认定".into(),
        rows: vec![
            head.iter().map(|h| text(h)).collect(),
            row("V1", d("2026-11-05"), "2", num("4"), "否"),
            row("V2", text("2026-11-30"), "1", Cell::Empty, "是"),
            row("V3", d("2026-11-06"), "2", num("11"), "否"),
            row("V4", text("2026-12-01"), "2", num("2"), "否"),
            row("V5", d("2026-11-07"), "3", num("2"), "也许"),
        ],
    };
    let problems = read(RecordKind::Violations, &sheet, &context(), "x").unwrap_err();
    let issues: Vec<(Option<u32>, Issue)> = problems.into_iter().map(|p| (p.row, p.issue)).collect();
    assert!(issues.iter().any(|(r, i)| *r == Some(4) && matches!(i, Issue::OutOfRange { .. })));
    assert!(issues.iter().any(|(r, i)| *r == Some(5) && matches!(i, Issue::DateOutsidePeriod { .. })));
    assert!(issues.iter().any(|(r, i)| *r == Some(6) && matches!(i, Issue::NotAClass(_))));
    assert!(issues.iter().any(|(r, i)| *r == Some(6) && matches!(i, Issue::NotYesNo(_))));
    assert_eq!(issues.len(), 4, "{issues:?}");
    // Without the bad rows: class 1 keeps no points, severity only for class 1.
    let mut ok = sheet.clone();
    ok.rows.truncate(3);
    let entered = read(RecordKind::Violations, &ok, &context(), "x").unwrap();
    assert_eq!(entered.rows["V2"]["points"], None);
    assert_eq!(entered.rows["V2"]["severe"].as_deref(), Some("1"));
    assert_eq!(entered.rows["V1"]["points"].as_deref(), Some("4"));
}

#[test]
fn presales_scores_name_a_known_support_and_keep_every_decimal() {
    let sheet = Sheet {
        name: "售前评分".into(),
        rows: vec![
            vec![text("季度"), text("项目编号"), text("合作伙伴编号"), text("得分")],
            vec![text("2026-Q1"), text("PJ1"), text("P09"), num("74")],
            vec![text("2026-Q1"), text("PJ2"), text("P09"), num("70")],
        ],
    };
    let problems = read(RecordKind::PresalesScores, &sheet, &context(), "x").unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].issue, Issue::UnknownSupport { project: "PJ2".into(), partner: "P09".into() });
    // rules.md §7 asks a score only to lie in 0–100: three decimals are kept as they are.
    let mut one = sheet.clone();
    one.rows = vec![one.rows[0].clone(), vec![text("2026-Q1"), text("PJ1"), text("P09"), num("74.125")]];
    let entered = read(RecordKind::PresalesScores, &one, &context(), "x").unwrap();
    assert_eq!(entered.rows["PJ1/P09"]["assessment_score"].as_deref(), Some("74.125"));
}

#[test]
fn a_violation_of_any_known_partner_gets_an_id_from_what_it_says() {
    let head = ["月份", "合作伙伴编号", "认定日期", "违约类别", "违约事项", "扣分", "情节恶劣", "说明"];
    let row = |partner: &str, day: &str, points: &str| {
        vec![
            text("2026-11"),
            text(partner),
            text(day),
            text("二类违约"),
            text("系统错误。"),
            num(points),
            text("否"),
            text("第１次"),
        ]
    };
    let sheet = |rows: Vec<Vec<Cell>>| {
        let mut all = vec![head.iter().map(|h| text(h)).collect::<Vec<_>>()];
        all.extend(rows);
        Sheet { name: "违约认定".into(), rows: all }
    };
    // P09 is not assessed this month (a presales-only partner): its violation still counts.
    let entered = read(
        RecordKind::Violations,
        &sheet(vec![row("P09", "2026-11-05", "3"), row("P01", "2026-11-05", "2"), row("P09", "2026-11-05", "4")]),
        &context(),
        "x",
    )
    .unwrap();
    let ids: Vec<&String> = entered.rows.keys().collect();
    assert_eq!(ids, ["P01-20261105-1", "P09-20261105-1", "P09-20261105-2"]);
    // Words stay as written: only numbers, dates and ids are normalised.
    assert_eq!(entered.rows["P01-20261105-1"]["category"].as_deref(), Some("系统错误。"));
    assert_eq!(entered.rows["P01-20261105-1"]["description"].as_deref(), Some("第１次"));
    // Removing another partner's row keeps the ids.
    let fewer = read(
        RecordKind::Violations,
        &sheet(vec![row("P09", "2026-11-05", "3"), row("P09", "2026-11-05", "4")]),
        &context(),
        "x",
    )
    .unwrap();
    assert_eq!(fewer.rows.keys().collect::<Vec<_>>(), ["P09-20261105-1", "P09-20261105-2"]);
    // The class-2 range is the rules'.
    let narrow = Context { class_two: (dec!(1), dec!(3)), ..context() };
    let problems = read(RecordKind::Violations, &sheet(vec![row("P01", "2026-11-05", "4")]), &narrow, "x").unwrap_err();
    assert!(matches!(&problems[0].issue, Issue::OutOfRange { max, .. } if max == "3"), "{problems:?}");
}

#[test]
fn a_workbook_of_three_columns_takes_its_month_from_the_command_line() {
    let sheet = Sheet {
        name: "Sheet1".into(),
        rows: vec![
            vec![text("合作伙伴编号"), text("指标"), text("得分")],
            vec![text("P01"), text("cooperation"), num("18")],
        ],
    };
    let problems = read(RecordKind::ManualScores, &sheet, &context(), "x").unwrap_err();
    assert_eq!(problems[0].issue, Issue::MissingColumn("月份"));
    let given = Context { period: Some("2026-11".into()), ..context() };
    let entered = read(RecordKind::ManualScores, &sheet, &given, "x").unwrap();
    assert_eq!(entered.period, "2026-11");
    assert!(entered.rows.contains_key("P01/2026-11/cooperation"));
}
