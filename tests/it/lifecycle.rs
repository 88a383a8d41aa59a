//! The lifecycle decisions people make (rules.md §6, §9; interface.md's three standing record
//! kinds) entered through their workbooks, filled by openpyxl outside the program: a ban holds the
//! next month and is noticed to the contract owner once, a termination ends the assessment, an
//! exit request takes the partner off the proposals, an audit exclusion moves the fee out of the
//! settlement; and each kind's typical mistakes are refused in Chinese with nothing stored.

use crate::common::*;
use crate::records::{fill, stderr, without, Entered};
use serde_json::json;

/// The example's partner banned on 2026-09-18 whose after-sales contract nobody terminated.
const BANNED: &str = "P12";

/// The row of `partner` in a scores.csv.
fn row<'a>(csv: &'a str, partner: &str) -> Option<&'a str> {
    csv.lines().find(|l| l.starts_with(&format!("{partner},")))
}

/// The example's decisions as a department would type them: the day as a date cell or as text.
fn source_bans() -> Vec<serde_json::Value> {
    query_strings(&ops(), "SELECT partner_id || '|' || decided_on || '|' || reason FROM blacklist_entries")
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('|').collect();
            let day = if i % 2 == 0 { json!({"date": f[1]}) } else { json!(f[1]) };
            json!({"合作伙伴编号": f[0], "列入日期": day, "原因": f[2]})
        })
        .collect()
}

fn entered_count(e: &Entered) -> String {
    if !e.env.store().exists() {
        return "0".into();
    }
    query_strings(&e.env.store(), "SELECT CAST(count(*) AS TEXT) FROM entered_rows").concat()
}

#[test]
fn a_ban_entered_through_the_workbook_holds_the_next_month_and_its_owner_is_told_once() {
    let work = tempfile::tempdir().unwrap();
    let source = without(work.path(), "DROP TABLE blacklist_entries");
    let e = Entered::new(&source, &["blacklist_entries"], None);
    let month = "2026-10";
    e.ok(&["run", "monthly", "--month", month]);
    let before = e.env.read(&format!("monthly/{month}/scores.csv"));
    let unbanned = row(&before, BANNED).expect("assessed").to_string();
    assert!(!unbanned.contains("banned"), "no decision entered yet: {unbanned}");

    let file = e.filled(&["template", "blacklist"], json!({ "rows": source_bans() }), "bans");
    let out = e.ok(&["import", "blacklist", file.to_str().unwrap(), "--by", "部门会议"]);
    assert!(out.contains("新增 4 行"), "{out}");
    assert!(out.contains(&format!("run monthly --month {month}")), "the import says which months to rerun: {out}");
    // The stored month predates the decision: approving it waits for the rerun.
    let o = e.run(&["approve", "monthly", "--month", month, "--all-units", "--by", "张经理"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("请先重新计算"), "{}", stderr(&o));

    e.ok(&["run", "monthly", "--month", month]);
    let after = e.env.read(&format!("monthly/{month}/scores.csv"));
    let held = row(&after, BANNED).unwrap();
    assert!(held.contains(",on_hold,") && held.ends_with("banned"), "the month begins inside the ban: {held}");
    let settlement = held.split(',').nth(9).unwrap();
    assert_eq!(settlement, "", "nothing is paid: {held}");
    // The same month read from the operations database, where the same decisions are, agrees.
    let from_source = Env::new(&ops());
    from_source.ok_at("2026-11-20 10:00:00", &["run", "monthly", "--month", month]);
    assert_eq!(after, from_source.read(&format!("monthly/{month}/scores.csv")));
    // The month the decision was taken in began before it: assessed as usual.
    e.ok(&["run", "monthly", "--month", "2026-09"]);
    let september = e.env.read("monthly/2026-09/scores.csv");
    assert!(!row(&september, BANNED).unwrap().contains("banned"), "{september}");
    // The explanation says why, in words.
    let explained = e.ok(&["explain", "--month", month, "--partner", BANNED]);
    assert!(explained.contains("不良信用记录名单") && explained.contains("第三十六条"), "{explained}");

    // The contract the banned partner still holds is listed, and its owner is told once.
    let owner = "owner.c-p12-as1@sc.example.cn";
    let notices =
        || query_strings(&e.env.store(), "SELECT recipient || '|' || kind FROM outbox WHERE kind LIKE 'ban_notice:%'");
    for as_of in ["2026-11-01", "2026-11-02", "2026-11-09"] {
        e.ok(&["run", "renewal", "--as-of", as_of]);
        let breaches = e.env.read(&format!("renewal/{as_of}/blacklist_breaches.csv"));
        assert!(breaches.contains("P12,contract_in_force,C-P12-AS1,2026-09-18"), "{breaches}");
        let sent = notices();
        assert_eq!(
            sent.iter().filter(|n| *n == &format!("{owner}|ban_notice:C-P12-AS1")).count(),
            1,
            "one notice per contract and ban, ever: {sent:?}"
        );
    }
    let page = e.env.read("renewal/2026-11-01/notices/ban-C-P12-AS1-20260918.html");
    assert!(page.contains("请终止合同") && page.contains("2026-09-18"), "{page}");
    // The department's list shows the contracts to terminate first.
    let lists: Vec<String> = std::fs::read_dir(e.env.out().join("renewal/2026-11-01"))
        .unwrap()
        .filter_map(|f| f.ok())
        .filter(|f| f.file_name().to_string_lossy().starts_with("list-"))
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .collect();
    let list = lists.iter().find(|l| l.contains("C-P12-AS1")).expect("网络部's list names the contract");
    let first_section = list.find("<h2").unwrap();
    assert!(list[first_section..].starts_with("<h2 class=\"no\">须终止的合同"), "{list}");
}

#[test]
fn terminating_the_contract_ends_the_assessment_and_the_breach() {
    let work = tempfile::tempdir().unwrap();
    let source =
        without(work.path(), "UPDATE contracts SET terminated_on = '2026-09-30' WHERE contract_id = 'C-P12-AS1'");
    let env = Env::new(&source);
    env.ok_at("2026-11-20 10:00:00", &["run", "monthly", "--month", "2026-10"]);
    let scores = env.read("monthly/2026-10/scores.csv");
    assert!(row(&scores, BANNED).is_none(), "not assessed once its only after-sales contract ended: {scores}");
    env.ok_at("2026-11-20 10:00:00", &["run", "monthly", "--month", "2026-09"]);
    assert!(row(&env.read("monthly/2026-09/scores.csv"), BANNED).is_some(), "September is still assessed");
    env.ok_at("2026-11-20 10:00:00", &["run", "renewal", "--as-of", "2026-11-01"]);
    let breaches = env.read("renewal/2026-11-01/blacklist_breaches.csv");
    assert!(!breaches.contains("C-P12-AS1"), "a terminated contract is no longer held: {breaches}");
    let notices = query_strings(&env.store(), "SELECT kind FROM outbox WHERE kind = 'ban_notice:C-P12-AS1'");
    assert!(notices.is_empty(), "{notices:?}");
}

#[test]
fn an_exit_request_entered_through_the_workbook_takes_the_partner_off_the_proposals() {
    let work = tempfile::tempdir().unwrap();
    let source = without(work.path(), "DROP TABLE exit_requests");
    let e = Entered::new(&source, &["exit_requests"], None);
    let as_of = "2026-11-01";
    e.ok(&["run", "renewal", "--as-of", as_of]);
    let proposals = e.env.read(&format!("renewal/{as_of}/exit_proposals.csv"));
    assert!(row(&proposals, BANNED).is_some_and(|r| r.contains("blacklisted")), "{proposals}");

    let file = e.filled(
        &["template", "exit-requests"],
        json!({"rows": [{"申请编号": "EX002", "合作伙伴编号": BANNED, "合同编号": "C-P12-AS1", "退出类型": "主动退出",
                         "申请日期": {"date": "2026-09-15"}, "计划退出日期": "2026-12-01"}]}),
        "exit",
    );
    let out = e.ok(&["import", "exit-requests", file.to_str().unwrap(), "--by", "合同管理员"]);
    assert!(out.contains("新增 1 行"), "{out}");
    e.ok(&["run", "renewal", "--as-of", as_of]);
    let proposals = e.env.read(&format!("renewal/{as_of}/exit_proposals.csv"));
    assert!(row(&proposals, BANNED).is_none(), "its exit is under way: {proposals}");
    let exits = e.env.read(&format!("renewal/{as_of}/exits.csv"));
    assert!(exits.contains("EX002"), "{exits}");
}

#[test]
fn an_audit_exclusion_entered_through_the_workbook_moves_the_fee_out_of_the_settlement() {
    let work = tempfile::tempdir().unwrap();
    let source = without(work.path(), "DROP TABLE audit_exclusions");
    let e = Entered::new(&source, &["audit_exclusions"], None);
    let month = "2026-09";
    let (fee, partner, amount) = ("FE000075", "P04", "3465.11");
    e.ok(&["run", "monthly", "--month", month]);
    let field = |csv: &str, i: usize| row(csv, partner).unwrap().split(',').nth(i).unwrap().to_string();
    let before = e.env.read(&format!("monthly/{month}/scores.csv"));
    assert_eq!(field(&before, 8), "0.00", "nothing excluded yet");

    let file = e.filled(
        &["template", "audit-exclusions", "--month", month],
        json!({"fill": [{"where": {"费用编号": fee}, "set": {"原因": "稽核发现重复计费", "稽核日期": {"date": "2026-10-10"}}}]}),
        "exclusion",
    );
    let out = e.ok(&["import", "audit-exclusions", file.to_str().unwrap(), "--by", "稽核部"]);
    assert!(out.contains("新增 1 行"), "{out}");
    e.ok(&["run", "monthly", "--month", month]);
    let after = e.env.read(&format!("monthly/{month}/scores.csv"));
    let cents = |s: String| s.replace('.', "").parse::<i64>().unwrap();
    assert_eq!(field(&after, 8), amount, "the fee is excluded: {after}");
    assert_eq!(cents(field(&before, 7)) - cents(field(&after, 7)), cents(amount.into()), "and left the total");
    let from_source = Env::new(&ops());
    from_source.ok_at("2026-11-20 10:00:00", &["run", "monthly", "--month", month]);
    assert_eq!(after, from_source.read(&format!("monthly/{month}/scores.csv")));

    // An exclusion for an approved month is refused until the month is reopened.
    e.ok(&["approve", "monthly", "--month", month, "--all-units", "--by", "张经理"]);
    let o = e.run(&["import", "audit-exclusions", file.to_str().unwrap(), "--by", "稽核部"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("撤销审批"), "{}", stderr(&o));
}

#[test]
fn each_kinds_typical_mistakes_are_refused_by_sheet_row_and_column_and_nothing_is_stored() {
    let e = Entered::new(&ops(), &["blacklist_entries", "exit_requests", "audit_exclusions"], None);
    // Blacklist: an unknown partner, a duplicate decision, a missing reason.
    let bans = e.filled(
        &["template", "blacklist"],
        json!({"rows": [
            {"合作伙伴编号": "P77", "列入日期": "2026-10-01", "原因": "欺诈用户"},
            {"合作伙伴编号": "P05", "列入日期": "2026-10-01", "原因": "欺诈用户"},
            {"合作伙伴编号": "P05", "列入日期": {"date": "2026-10-01"}, "原因": "欺诈用户"},
            {"合作伙伴编号": "P06", "列入日期": "2026-10-02"},
        ]}),
        "bad-bans",
    );
    // Exit requests: a contract of another partner, a planned exit before the request, an
    // unknown type.
    let exits = e.filled(
        &["template", "exit-requests"],
        json!({"rows": [
            {"申请编号": "EX101", "合作伙伴编号": "P01", "合同编号": "C-P12-AS1", "退出类型": "主动退出",
             "申请日期": "2026-10-01", "计划退出日期": "2026-12-01"},
            {"申请编号": "EX102", "合作伙伴编号": "P01", "合同编号": "C-P01-AS1", "退出类型": "主动退出",
             "申请日期": "2026-10-01", "计划退出日期": "2026-09-01"},
            {"申请编号": "EX103", "合作伙伴编号": "P01", "合同编号": "C-P01-AS1", "退出类型": "不想干了",
             "申请日期": "2026-10-01", "计划退出日期": "2026-12-01"},
        ]}),
        "bad-exits",
    );
    // Audit exclusions: a fee item the month does not have.
    let template = e.path("audit-template.xlsx");
    e.ok(&["template", "audit-exclusions", "--month", "2026-09", "--out", template.to_str().unwrap()]);
    let exclusions = fill(
        &template,
        json!({"unprotect": true, "fill": [{"where": {"费用编号": "FE000075"}, "set": {"费用编号": "FE999999", "原因": "重复计费"}}]}),
        &e.path("bad-exclusions.xlsx"),
    );
    let cases: [(&str, &std::path::Path, &[&str]); 3] = [
        (
            "blacklist",
            &bans,
            &[
                "「不良信用记录名单」第 2 行 A 列「合作伙伴编号」：没有编号为「P77」的合作伙伴",
                "第 4 行",
                "重复",
                "第 5 行 C 列「原因」",
            ],
        ),
        (
            "exit-requests",
            &exits,
            &[
                "「退出申请」第 2 行 C 列「合同编号」",
                "C-P12-AS1",
                "第 3 行 F 列「计划退出日期」",
                "第 4 行 D 列「退出类型」",
            ],
        ),
        (
            "audit-exclusions",
            &exclusions,
            &["「稽核剔除」第 ", " 行 B 列「费用编号」：本月没有编号为「FE999999」的费用明细"],
        ),
    ];
    for (kind, file, says) in cases {
        let o = e.run(&["import", kind, file.to_str().unwrap(), "--by", "张经理"]);
        let err = stderr(&o);
        assert_eq!(code(&o), 65, "{kind}: {err}");
        for s in says {
            assert!(err.contains(s), "{kind}: {s:?} missing from {err}");
        }
        assert!(!err.is_ascii() && !err.contains("panicked"), "{kind}: {err}");
    }
    assert_eq!(entered_count(&e), "0", "nothing of any of them was stored");
}
