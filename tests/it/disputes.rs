//! Partner disputes between publication and settlement (rules.md §11), through the real binary on
//! a real store: the window from the calendar, recording and deciding disputes, the corrected
//! scorecard to the partner whose result changed only, and `run due` settling once.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The shipped configuration with every job schedule disabled, so that `run due` only settles.
fn settle_only_config(dir: &Path) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in ["rules.toml", "calendar-cn.toml"] {
        std::fs::copy(repo.join("config").join(f), dir.join(f)).unwrap();
    }
    let jobs = dir.join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    for e in std::fs::read_dir(repo.join("jobs")).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap().replace("enabled = true", "enabled = false");
        std::fs::write(jobs.join(e.file_name()), text).unwrap();
    }
    let text = std::fs::read_to_string(repo.join("config/ict-partners.toml")).unwrap();
    let path = dir.join("ict-partners.toml");
    std::fs::write(&path, format!("{text}\njobs_dir = \"{}\"\n", jobs.display())).unwrap();
    path
}

struct Case {
    _work: tempfile::TempDir,
    env: Env,
    ops: PathBuf,
    config: String,
}

impl Case {
    /// The conformance example's first quarter of months, run, with March approved.
    fn approved_march(store_url: Option<String>) -> Self {
        let work = tempfile::tempdir().unwrap();
        let ops = work.path().join("ops.sqlite");
        std::fs::copy(crate::common::ops(), &ops).unwrap();
        let config = settle_only_config(work.path()).display().to_string();
        let mut env = Env::new(&ops);
        env.store_url = store_url;
        let case = Case { _work: work, env, ops, config };
        for m in ["2026-01", "2026-02", "2026-03"] {
            case.ok("2026-04-02 09:00:00", &["run", "monthly", "--month", m]);
        }
        case.ok("2026-04-03 09:00:00", &["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理"]);
        case
    }
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        all
    }
    fn run(&self, now: &str, args: &[&str]) -> Output {
        self.env.run_at(now, &self.args(args))
    }
    fn ok(&self, now: &str, args: &[&str]) -> String {
        self.env.ok_at(now, &self.args(args))
    }
    /// `run due` as of the end of `day`, the clock the morning after.
    fn due(&self, day: &str, next_morning: &str) -> String {
        self.ok(next_morning, &["run", "due", "--as-of", day])
    }
    fn export(&self) -> Option<String> {
        std::fs::read_to_string(self.env.out().join("monthly/2026-03/finance_settlement.csv")).ok()
    }
    /// The outbox messages (subject, recipient and plain body, decoded) that contain `needle`.
    fn mails(&self, needle: &str) -> Vec<String> {
        let mut found: Vec<String> =
            decoded(&self.env.out().join("outbox")).into_iter().filter(|t| t.contains(needle)).collect();
        found.sort();
        found
    }
}

/// Every message of an outbox folder as its subject, recipient and plain-text body, decoded (the
/// outbox writes encoded words and base64 parts for Chinese text).
fn decoded(dir: &Path) -> Vec<String> {
    const SCRIPT: &str = r#"
import sys, os, email
from email import policy
for name in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], name), 'rb') as f:
        m = email.message_from_binary_file(f, policy=policy.default)
    body = m.get_body(preferencelist=('plain',)).get_content()
    print('Subject: %s\nTo: %s\n%s\n\x1e' % (m['Subject'], m['To'], body))
"#;
    if !dir.exists() {
        return vec![];
    }
    let out = python().args(["-c", SCRIPT, &dir.display().to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\x1e')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect()
}

fn last_line(out: &str) -> &str {
    out.lines().last().unwrap_or("")
}

/// The state column of a dispute's row in `dispute list` (id, job, period, partner, state, …).
fn state_in(list: &str, id: &str) -> String {
    let row = list.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id} is not listed:\n{list}"));
    row.split_whitespace().nth(4).unwrap_or_default().to_string()
}

#[test]
fn rejected_dispute_then_the_window_closes_and_run_due_settles() {
    let case = Case::approved_march(None);
    // Published Tuesday 2026-04-07 (Monday 04-06 is 清明): five working days end Tuesday 04-14.
    let out =
        case.ok("2026-04-07 10:00:00", &["publish", "monthly", "--month", "2026-03", "--all-units", "--by", "李总"]);
    assert!(out.contains("申诉期满且无未决申诉后"), "{out}");
    assert!(case.export().is_none(), "no finance export before the window closes");
    let scorecard = case.mails("To: ops@p02.example.cn")[0].clone();
    assert!(scorecard.contains("2026-04-14") && scorecard.contains("申诉"), "{scorecard}");

    // A row that is not the partner's is refused with the list; nothing is recorded.
    let refused = case.run(
        "2026-04-09 15:00:00",
        &[
            "dispute",
            "open",
            "--month",
            "2026-03",
            "--partner",
            "P02",
            "--reason",
            "超时有误",
            "--by",
            "P02",
            "--ref",
            "NOPE",
        ],
    );
    assert_eq!(code(&refused), 1);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("NOPE"));
    assert!(case.ok("2026-04-09 15:00:00", &["dispute", "list"]).contains("没有申诉"));

    let explained = case.ok("2026-04-09 15:00:00", &["explain", "--partner", "P02", "--month", "2026-03"]);
    assert!(explained.contains("TK0000474"), "{explained}");
    let opened = case.ok(
        "2026-04-09 15:00:00",
        &[
            "dispute",
            "open",
            "--month",
            "2026-03",
            "--partner",
            "P02",
            "--reason",
            "TK0000474 的恢复时间有误",
            "--by",
            "P02联系人",
            "--ref",
            "TK0000474",
        ],
    );
    let id = last_line(&opened).to_string();
    assert_eq!(id, "2026-03-P02-1", "{opened}");
    // The managing department's managers (P02's after-sales contract is 政企客户部's) are told once.
    let told = case.mails(&format!("【合作伙伴申诉】2026-03 P02（{id}）"));
    assert_eq!(told.len(), 1, "one message to the one manager of 政企客户部");
    assert!(told[0].contains("To: manager.zqkh@sc.example.cn") && told[0].contains("TK0000474"), "{}", told[0]);
    let list = case.ok("2026-04-10 09:00:00", &["dispute", "list", "--month", "2026-03", "--open"]);
    assert_eq!(state_in(&list, &id), "待处理", "{list}");
    assert!(list.contains("2026-04-15 00:00:00"), "{list}");

    // The window has closed, but P02's dispute is open: its department waits, the other settles.
    let pass = case.due("2026-04-15", "2026-04-16 08:00:00");
    assert!(pass.contains("「政企客户部」：申诉处理中（2026-03-P02-1）"), "{pass}");
    assert!(pass.contains("「网络部」：6 条结算记录已提交财务"), "{pass}");
    assert!(!case.export().unwrap_or_default().contains("P02,"));

    let ruled = case.ok(
        "2026-04-16 10:00:00",
        &["dispute", "resolve", &id, "--reject", "--by", "张经理", "--note", "恢复时间与 EOMS 记录一致"],
    );
    assert!(ruled.contains("驳回"), "{ruled}");
    let ruling = case.mails(&format!("{id}：未予采纳"))[0].clone();
    assert!(ruling.contains("ops@p02.example.cn") && ruling.contains("未予采纳"), "{ruling}");
    // Deciding twice is refused.
    let again =
        case.run("2026-04-16 10:00:00", &["dispute", "resolve", &id, "--accept", "--by", "张经理", "--note", "x"]);
    assert_eq!(code(&again), 1);

    let pass = case.due("2026-04-16", "2026-04-17 08:00:00");
    assert!(pass.contains("「政企客户部」：3 条结算记录已提交财务"), "{pass}");
    let export = case.export().expect("the finance export");
    assert!(export.lines().any(|l| l.starts_with("P02,") && l.contains(",政企客户部,张经理 ")), "{export}");
    let runs = case.ok("2026-04-17 08:00:00", &["runs"]);
    assert!(runs.contains("月度结算") && runs.contains("已结算"), "{runs}");
    let index = std::fs::read_to_string(case.env.out().join("index.html")).unwrap();
    assert!(index.contains("已结算"), "the index shows the month settled");

    // Once the window is closed no dispute is accepted; a later pass settles nothing again.
    let late = case.run(
        "2026-04-17 09:00:00",
        &["dispute", "open", "--month", "2026-03", "--partner", "P03", "--reason", "晚了", "--by", "P03"],
    );
    assert_eq!(code(&late), 1);
    assert!(String::from_utf8_lossy(&late.stderr).contains("不再受理"), "{}", String::from_utf8_lossy(&late.stderr));
    let pass = case.due("2026-04-17", "2026-04-18 08:00:00");
    assert!(!pass.contains("提交财务"), "{pass}");
    let actions = query_strings(&case.env.store(), "SELECT action FROM audit_trail ORDER BY rowid");
    assert_eq!(actions, ["approve", "publish", "publish", "dispute_open", "settle", "dispute_reject", "settle"]);
}

#[test]
fn accepted_dispute_corrects_one_partner_and_opens_a_window_for_it_only() {
    let case = Case::approved_march(None);
    case.ok("2026-04-07 10:00:00", &["publish", "monthly", "--month", "2026-03", "--all-units", "--by", "李总"]);
    let scorecards_before = case.mails("Subject: 【ICT支撑合作伙伴月度考核结果").len();
    let opened = case.ok(
        "2026-04-08 11:00:00",
        &[
            "dispute",
            "open",
            "--month",
            "2026-03",
            "--partner",
            "P02",
            "--reason",
            "支撑配合分录入有误",
            "--by",
            "P02联系人",
        ],
    );
    let id = last_line(&opened).to_string();
    case.ok("2026-04-09 09:00:00", &["dispute", "resolve", &id, "--accept", "--by", "张经理", "--note", "应为 10 分"]);
    assert_eq!(case.mails(&format!("{id}：已采纳")).len(), 1);

    // The reopening must name the dispute it puts right.
    let unnamed = case.run(
        "2026-04-09 10:00:00",
        &["reopen", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理", "--reason", "更正"],
    );
    assert_eq!(code(&unnamed), 1);
    assert!(String::from_utf8_lossy(&unnamed.stderr).contains(&id));
    let reason = format!("申诉 {id}：支撑配合分更正");
    case.ok(
        "2026-04-09 10:00:00",
        &["reopen", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理", "--reason", &reason],
    );
    make_db(&case.ops, "UPDATE manual_scores SET points = '10' WHERE partner_id = 'P02' AND month = '2026-03';");
    case.ok("2026-04-09 11:00:00", &["run", "monthly", "--month", "2026-03"]);
    case.ok("2026-04-09 14:00:00", &["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理"]);
    // Published again Friday 04-10: P02's new window ends Friday 04-17; the others keep theirs.
    let out =
        case.ok("2026-04-10 10:00:00", &["publish", "monthly", "--month", "2026-03", "--all-units", "--by", "李总"]);
    assert!(out.contains("「政企客户部」已由 李总 发布：1 家合作伙伴收到结果（其中更正 1 家）"), "{out}");
    let corrected = case.mails("考核结果更正通知");
    assert_eq!(corrected.len(), 1, "only P02's result changed");
    assert_eq!(case.mails("Subject: 【ICT支撑合作伙伴月度考核结果").len(), scorecards_before + 1);
    let text = &corrected[0];
    assert!(text.contains("To: ops@p02.example.cn"), "{text}");
    assert!(text.contains("更正") && text.contains("93.17 A 33970.95 → 88.17 B 32147.88"), "{text}");
    assert!(text.contains("2026-04-17"), "the new window: {text}");
    let list = case.ok("2026-04-10 10:00:00", &["dispute", "list"]);
    assert_eq!(state_in(&list, &id), "已更正", "{list}");

    // After the others' windows (04-14) but inside P02's new one: 网络部 settles, 政企客户部 (P02's)
    // does not yet.
    let pass = case.due("2026-04-15", "2026-04-16 08:00:00");
    assert!(pass.contains("政企客户部」：已发布，申诉期 2026-04-18 00:00:00 结束后提交财务"), "{pass}");
    assert!(!case.export().unwrap_or_default().contains("P02,"));
    // The window ends with Friday 04-17: the pass of Saturday 04-18 settles.
    let pass = case.due("2026-04-18", "2026-04-19 08:00:00");
    assert!(pass.contains("已提交财务"), "{pass}");
    let export = case.export().unwrap();
    assert!(export.lines().any(|l| l.starts_with("P02,") && l.contains(",32147.88,")), "{export}");
}

#[test]
fn a_window_of_zero_days_settles_at_publication() {
    let case = Case::approved_march(None);
    let rules = std::path::Path::new(&case.config).with_file_name("rules.toml");
    let text = std::fs::read_to_string(&rules).unwrap().replace("window_working_days = 5", "window_working_days = 0");
    assert!(text.contains("window_working_days = 0"));
    std::fs::write(&rules, text).unwrap();
    let out =
        case.ok("2026-04-07 10:00:00", &["publish", "monthly", "--month", "2026-03", "--all-units", "--by", "李总"]);
    assert!(out.contains("财务结算导出已写出") && case.export().is_some(), "{out}");
    let refused = case.run(
        "2026-04-07 10:05:00",
        &["dispute", "open", "--month", "2026-03", "--partner", "P02", "--reason", "x", "--by", "P02"],
    );
    assert_eq!(code(&refused), 1);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("申诉期") && said.contains("不再受理"), "{said}");
}

/// A store from before units existed, whose month was published and settled as a whole: opened
/// for writing it records that decision for every unit of the month, and nothing is settled or
/// written for finance a second time.
#[test]
fn a_month_settled_before_units_existed_is_not_settled_again() {
    let case = Case::approved_march(None);
    // The store as an older build left it: the period's own row published and settled, no unit rows.
    let store = format!("sqlite://{}", case.env.store().display());
    admin_sql(
        &store,
        "DELETE FROM unit_states; UPDATE period_states SET state = 'published', approved_by = '张经理', \
         approved_at = '2026-04-03 09:00:00', published_at = '2026-04-08 10:00:00', \
         settled_at = '2026-04-08 10:00:00' WHERE job = 'monthly' AND period = '2026-03'",
    );
    case.due("2026-04-20", "2026-04-21 06:00:00");
    assert!(case.export().is_none(), "the old month's finance export is not written again");
    let settles = query_strings(&case.env.store(), "SELECT detail FROM audit_trail WHERE action = 'settle'");
    assert!(settles.is_empty(), "{settles:?}");
    let units = query_strings(
        &case.env.store(),
        "SELECT unit || ':' || state || ':' || settled_at FROM unit_states WHERE period = '2026-03' ORDER BY unit",
    );
    assert_eq!(
        units,
        ["政企客户部:published:2026-04-08 10:00:00", "网络部:published:2026-04-08 10:00:00"],
        "the old decision, recorded for each unit"
    );
}

#[test]
fn disputes_of_a_month_not_published_are_refused() {
    let case = Case::approved_march(None);
    let out = case.run(
        "2026-04-07 10:00:00",
        &["dispute", "open", "--month", "2026-03", "--partner", "P02", "--reason", "x", "--by", "y"],
    );
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("尚未发布"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Two `run due` passes at once settle the month once: one claims the settlement, the other is
/// told it is held or finds it settled. On PostgreSQL (advisory lock) and SQLite (the ledger row).
fn two_passes_settle_once(store_url: Option<String>) {
    let case = Case::approved_march(store_url);
    case.ok("2026-04-07 10:00:00", &["publish", "monthly", "--month", "2026-03", "--all-units", "--by", "李总"]);
    let spawn = || {
        case.env
            .cmd(&case.args(&["run", "due", "--as-of", "2026-04-15"]))
            .env("ICT_PARTNERS_NOW", "2026-04-16 08:00:00")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    // The other pass finds the period held (69, safe to retry) or already settled (0), and fails
    // for no other reason.
    for o in [&a, &b] {
        assert!([0, 69].contains(&code(o)), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let both = format!("{}{}", String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout));
    assert_eq!(both.matches("条结算记录已提交财务").count(), 2, "each department once: {both}");
    assert!(case.export().is_some());
    let settles = match &case.env.store_url {
        Some(url) => admin_query(url, "SELECT action, actor FROM audit_trail WHERE action = 'settle'").len(),
        None => query_strings(&case.env.store(), "SELECT action FROM audit_trail WHERE action = 'settle'").len(),
    };
    assert_eq!(settles, 2, "{both}");
}

#[test]
fn two_run_due_at_once_settle_once_on_sqlite() {
    two_passes_settle_once(None);
}

#[test]
fn two_run_due_at_once_settle_once_on_postgres() {
    let db = Scratch::new(PG_ADMIN, "disputes");
    two_passes_settle_once(Some(db.url()));
}

#[test]
fn quarters_wait_for_their_window_too() {
    let case = Case::approved_march(None);
    case.ok("2026-04-02 09:00:00", &["run", "quarterly", "--quarter", "2026-Q1"]);
    case.ok("2026-04-03 09:00:00", &["approve", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "王主任"]);
    let out = case
        .ok("2026-04-07 10:00:00", &["publish", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "李总"]);
    assert!(out.contains("申诉期满且无未决申诉后"), "{out}");
    let export = case.env.out().join("quarterly/2026-Q1/finance_settlement.csv");
    assert!(!export.exists());
    let refused = case.run(
        "2026-04-08 10:00:00",
        &[
            "dispute",
            "open",
            "--quarter",
            "2026-Q1",
            "--partner",
            "P09",
            "--reason",
            "x",
            "--by",
            "y",
            "--ref",
            "PJ9999",
        ],
    );
    assert_eq!(code(&refused), 1, "PJ9999 is not one of P09's settled projects");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("PJ9999"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let pass = case.due("2026-04-14", "2026-04-15 08:00:00");
    assert!(pass.contains("申诉期 2026-04-15 00:00:00 结束后") && !export.exists(), "{pass}");
    let pass = case.due("2026-04-15", "2026-04-16 08:00:00");
    assert!(pass.contains("条结算记录已提交财务"), "{pass}");
    let text = std::fs::read_to_string(export).unwrap();
    assert!(text.contains("P09,PJ0001,德阳分公司政企客户部,2026-Q1,1332.00,德阳分公司政企客户部,王主任 "), "{text}");
}
