//! Approval before publication, explain, what-if and rules hashes, through the real binary.

use crate::common::*;
use std::path::Path;

fn copy_of_conformance(dir: &Path) -> std::path::PathBuf {
    let ops = dir.join("ops.sqlite");
    std::fs::copy(crate::common::ops(), &ops).unwrap();
    ops
}

#[test]
fn approve_refuse_reopen_rerun_reapprove_shows_the_diff() {
    let work = tempfile::tempdir().unwrap();
    let ops = copy_of_conformance(work.path());
    let env = Env::new(&ops);
    for m in ["2026-01", "2026-02", "2026-03"] {
        env.ok(&["run", "monthly", "--month", m]);
    }
    let out =
        env.ok(&["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理", "--comment", "已核对"]);
    assert!(out.contains("已由 张经理 审批"), "{out}");

    // A rerun keeps what the units approved: P02's correction waits for a reopening.
    let before = env.read("monthly/2026-03/scores.csv");
    make_db(&ops, "UPDATE manual_scores SET points = '10' WHERE partner_id = 'P02' AND month = '2026-03';");
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    assert_eq!(env.read("monthly/2026-03/scores.csv"), before, "the approved results stay as they were");

    env.ok(&[
        "reopen",
        "monthly",
        "--month",
        "2026-03",
        "--all-units",
        "--by",
        "张经理",
        "--reason",
        "支撑配合分录入有误",
    ]);
    // The manager's correction of P02's cooperation score (15.00 → 10.00) counts now.
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    let out = env.ok(&["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理"]);
    // 93.17 − 5.00 = 88.17: grade A → B; settlement 36461.25 × 88.17 / 100 = 32147.88.
    assert!(out.contains("与上次审批相比有 1 处变化"), "{out}");
    assert!(out.contains("P02: 93.17 A 33970.95 → 88.17 B 32147.88"), "{out}");

    // With no dispute window (0 working days) publication settles at once.
    let rules = no_dispute_window(work.path());
    env.ok(&["--rules", &rules, "publish", "monthly", "--month", "2026-03", "--all-units", "--by", "李总"]);
    let export = env.read("monthly/2026-03/finance_settlement.csv");
    assert!(export.lines().any(|l| l.starts_with("P02,") && l.contains(",32147.88,政企客户部,张经理 ")), "{export}");
    let actions = query_strings(&env.store(), "SELECT action || ':' || actor FROM audit_trail ORDER BY rowid");
    let actions: Vec<&str> = actions.iter().map(|a| a.split(" (").next().unwrap()).collect();
    // One approval and one reopening for both units at once; each unit publishes and settles.
    assert_eq!(
        actions,
        [
            "approve:张经理",
            "reopen:张经理",
            "approve:张经理",
            "publish:李总",
            "settle:李总",
            "publish:李总",
            "settle:李总"
        ]
    );
    let book = std::fs::read(env.out().join("monthly/2026-03/finance_settlement.xlsx")).unwrap();
    assert_eq!(&book[..2], b"PK");
    let reason = query_strings(&env.store(), "SELECT detail FROM audit_trail WHERE action = 'reopen'");
    assert_eq!(reason.len(), 1);
    assert!(reason[0].ends_with(": 支撑配合分录入有误"), "{reason:?}");

    // Each partner's notice holds its own result and no one else's.
    let outbox = env.out().join("outbox");
    let mut scorecards = 0;
    for e in std::fs::read_dir(&outbox).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        // Scorecards are the messages addressed to partners (ops@pNN.example.cn).
        let Some(to) = text.lines().find(|l| l.starts_with("To: ")) else { continue };
        let Some(pid) = to.strip_prefix("To: ops@").and_then(|r| r.split('.').next()) else { continue };
        let own = pid.to_uppercase();
        scorecards += 1;
        for other in (1..=12).map(|n| format!("P{n:02}")).filter(|p| *p != own) {
            assert!(!text.contains(&format!("{other} ")), "{own}'s notice mentions {other}");
        }
    }
    assert!(scorecards >= 8, "{scorecards} scorecards");
}

/// A month of three tickets for one partner, run and stored: T3 is the one late ticket.
fn explained_month(work: &Path) -> Env {
    let ops = work.join("ops.sqlite");
    let schema =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/contract/sqlite.sql")).unwrap();
    make_db(
        &ops,
        &format!(
            "{schema}
            INSERT INTO partners VALUES ('P1', '测试伙伴', 'p1@x.cn');
            INSERT INTO contracts VALUES ('C1', 'P1', 'aftersales', '2026-01-01', '2026-12-31', '政企客户部', 'o@x.cn', NULL);
            INSERT INTO tickets VALUES ('T1', 'P1', 'CU', 'AAA', 'partner', '2026-03-10 08:00:00', '2026-03-10 10:00:00', 0, 0, 0);
            INSERT INTO tickets VALUES ('T2', 'P1', 'CU', 'standard', 'partner', '2026-03-02 13:30:00', '2026-03-04 12:00:00', 0, 0, 0);
            INSERT INTO tickets VALUES ('T3', 'P1', 'CU', 'standard', 'partner', '2026-03-02 13:30:00', '2026-03-04 13:15:00', 0, 0, 0);
            INSERT INTO manual_scores VALUES ('P1', '2026-03', 'cooperation', '20', 'm');
            INSERT INTO fee_items VALUES ('F1', 'C1', '2026-03', '10000.00', NULL);"
        ),
    );
    let env = Env::new(&ops);
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    env
}

#[test]
fn explain_lists_the_late_tickets_and_the_arithmetic() {
    let work = tempfile::tempdir().unwrap();
    let env = explained_month(work.path());
    let out = env.ok(&["explain", "--partner", "P1", "--month", "2026-03"]);
    // T3 resolved in the lunch break after its 12:00:00 deadline: the one late ticket.
    // 2 of 3 = 66.67 %, 30 − 28.33 = 1.67; orders and surveys without data 20 + 10; no penalties 20;
    // cooperation 20: 71.67, grade C; settlement 10000.00 × 71.67 / 100 = 7167.00.
    // The result comes first, the arithmetic last.
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].contains("考核得分 71.67") && lines[1].contains("等级 C") && lines[1].contains("7167.00 元"),
        "{out}"
    );
    assert!(out.contains("按时 2 / 3 件（66.67%），目标 95%"), "{out}");
    let late: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with('T')).collect();
    assert_eq!(late.len(), 1, "{out}");
    assert!(late[0].contains("T3") && late[0].contains("2026-03-04 12:00") && late[0].contains("2026-03-04 13:15"));
    let arithmetic = out.find("算式（供核对）").expect("the arithmetic");
    assert!(arithmetic > out.find("T3").unwrap(), "the arithmetic comes last: {out}");
    assert!(out.contains("= 30.00 − (95 − 66.67) × 1 = 1.67"), "{out}");
    assert!(out.contains("= 71.67（限 0 至 100 分，保留两位小数）→ C级"), "{out}");
    assert!(out.contains("10000.00 × 71.67 ÷ 100 = 7167.00 元"), "{out}");
    let scores = env.read("monthly/2026-03/scores.csv");
    assert!(scores.contains(",71.67,C,10000.00,0.00,7167.00,"), "{scores}");
}

/// A store written before the evidence became compact parts keeps its evidence: the old rows are
/// moved into an events part the next time the store is opened for writing, and `explain` prints
/// them as before.
#[test]
fn evidence_of_an_older_store_is_moved_into_parts_and_still_explained() {
    let work = tempfile::tempdir().unwrap();
    let env = explained_month(work.path());
    make_db(
        &env.store(),
        "DELETE FROM monthly_evidence_frames WHERE month = '2026-03';
         INSERT INTO monthly_evidence VALUES ('2026-03', 'P1', 'fault_timeliness', 'tickets', 'T3',
           '2026-03-02 13:30:00', '2026-03-04 12:00:00', '2026-03-04 13:15:00', 'late', NULL,
           'sla_class=standard paused_seconds=0');",
    );
    env.ok(&["mail", "flush"]);
    let store = env.store();
    assert_eq!(query_strings(&store, "SELECT CAST(count(*) AS TEXT) FROM monthly_evidence"), ["0"]);
    assert_eq!(
        query_strings(
            &store,
            "SELECT kind || ':' || part || ':' || row_count FROM monthly_evidence_frames WHERE month = '2026-03'"
        ),
        ["events:0:1"]
    );
    let out = env.ok(&["explain", "--partner", "P1", "--month", "2026-03"]);
    let late: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("T3")).collect();
    assert!(late.len() == 1 && late[0].contains("2026-03-04 12:00") && late[0].contains("2026-03-04 13:15"), "{out}");
    assert!(!out.contains("T1") && !out.contains("T2"), "only the moved rows remain: {out}");
}

#[test]
fn what_if_reports_grade_changes_and_stores_nothing() {
    let env = Env::new(&ops());
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    let hash_before = query_strings(&env.store(), "SELECT rules_hash FROM monthly_runs WHERE month = '2026-03'");
    let rules = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml")).unwrap();
    let candidate =
        rules.replace("class_two_max = 10", "class_two_max = 12").replacen("target_pct = 95", "target_pct = 70", 1);
    let path = env.dir.path().join("candidate.toml");
    std::fs::write(&path, candidate).unwrap();
    let out = env.ok(&["--rules", path.to_str().unwrap(), "run", "monthly", "--month", "2026-03", "--dry-run"]);
    assert!(out.contains("P03：得分 84.76 → 95.89，等级 B → A"), "{out}");
    assert!(out.contains("其中 2 家等级变化"), "{out}");
    assert_eq!(
        query_strings(&env.store(), "SELECT rules_hash FROM monthly_runs WHERE month = '2026-03'"),
        hash_before,
        "a what-if stores nothing"
    );

    // A month computed under other rules keeps its own hash; the earlier month keeps the original.
    env.ok(&["--rules", path.to_str().unwrap(), "run", "monthly", "--month", "2026-04"]);
    let hashes = query_strings(&env.store(), "SELECT rules_hash FROM monthly_runs ORDER BY month");
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hash_before[0]);
    assert_ne!(hashes[0], hashes[1]);
}

#[test]
fn rules_with_effective_from_leave_earlier_months_on_their_rules() {
    let env = Env::new(&ops());
    env.ok(&["run", "monthly", "--month", "2026-02"]);
    let february = env.read("monthly/2026-02/scores.csv");
    let old_hash = query_strings(&env.store(), "SELECT rules_hash FROM monthly_runs WHERE month = '2026-02'");

    let rules = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml")).unwrap();
    let new_rules =
        format!("effective_from = \"2026-03\"\n{}", rules.replacen("target_pct = 95", "target_pct = 70", 1));
    let path = env.dir.path().join("rules-2026-03.toml");
    std::fs::write(&path, new_rules).unwrap();
    let rules_arg = path.to_str().unwrap();
    env.ok(&["--rules", rules_arg, "run", "monthly", "--month", "2026-03"]);
    // Rerunning February under the new file keeps February's own rules: same hash, same results.
    env.ok(&["--rules", rules_arg, "run", "monthly", "--month", "2026-02"]);
    assert_eq!(env.read("monthly/2026-02/scores.csv"), february);
    let hashes = query_strings(&env.store(), "SELECT rules_hash FROM monthly_runs ORDER BY month");
    assert_eq!(hashes[0], old_hash[0]);
    assert_ne!(hashes[1], old_hash[0], "March is computed under the new rules");
}

#[test]
fn quarters_are_approved_before_finance_gets_them() {
    let env = Env::new(&ops());
    env.ok(&["run", "quarterly", "--quarter", "2026-Q1"]);
    assert_eq!(
        code(&env.run(&["publish", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "李总"])),
        1,
        "not approved yet"
    );
    env.ok(&["approve", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "王主任"]);
    // A rerun keeps what the units approved.
    let before = env.read("quarterly/2026-Q1/presales.csv");
    env.ok(&["run", "quarterly", "--quarter", "2026-Q1"]);
    assert_eq!(env.read("quarterly/2026-Q1/presales.csv"), before, "an approved quarter keeps its rows");
    let work = tempfile::tempdir().unwrap();
    let rules = no_dispute_window(work.path());
    env.ok(&["--rules", &rules, "publish", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "李总"]);
    let export = env.read("quarterly/2026-Q1/finance_settlement.csv");
    // PJ0001 (A1 dedicated line, 15,000,000 → 1.5): P09 0.4 × 74 → 1332.00, P12 0.6 × 69 → 1863.00.
    assert!(
        export.contains("P09,PJ0001,德阳分公司政企客户部,2026-Q1,1332.00,德阳分公司政企客户部,王主任 "),
        "{export}"
    );
    assert!(
        export.contains("P12,PJ0001,德阳分公司政企客户部,2026-Q1,1863.00,德阳分公司政企客户部,王主任 "),
        "{export}"
    );
}
