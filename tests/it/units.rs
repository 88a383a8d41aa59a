//! Each unit approves its own (rules.md §12), through the real binary: a department's approval
//! publishes and settles only its partners; drafts go only to managers, once per version; a
//! quarter's forms reach nobody before publication; a publication whose source cannot be read
//! changes nothing and its retry completes it; a rerun keeps what approved units decided; the
//! annual results are approved and published; renewal lists go when they change.

use crate::common::*;
use std::path::PathBuf;

const NOW: &str = "2026-11-20 10:00:00";

/// The conformance example in a folder of its own, with the shipped configuration beside it.
struct Units {
    env: Env,
    ops: PathBuf,
    config: String,
}

impl Units {
    fn new(extra_config: &str) -> Self {
        Self::edited(|text| format!("{text}{extra_config}"))
    }
    /// With the shipped configuration edited by `edit`.
    fn edited(edit: impl Fn(&str) -> String) -> Self {
        let work = tempfile::tempdir().unwrap();
        let ops = work.path().join("ops.sqlite");
        std::fs::copy(crate::common::ops(), &ops).unwrap();
        let mut env = Env::new(&ops);
        // The scratch folder is the environment's own: it goes when the test ends.
        env.dir = work;
        let path = config_with(env.dir.path(), "");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(&text)).unwrap();
        Units { env, ops, config: path.display().to_string() }
    }
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        all
    }
    fn run(&self, args: &[&str]) -> std::process::Output {
        self.env.run_at(NOW, &self.args(args))
    }
    fn ok(&self, args: &[&str]) -> String {
        self.env.ok_at(NOW, &self.args(args))
    }
    fn ok_at(&self, now: &str, args: &[&str]) -> String {
        self.env.ok_at(now, &self.args(args))
    }
    fn store(&self) -> PathBuf {
        self.env.store()
    }
    /// The outbox rows as (recipient, kind), in the order they were queued.
    fn outbox(&self) -> Vec<(String, String)> {
        query_strings(&self.store(), "SELECT recipient || '|' || kind FROM outbox ORDER BY rowid")
            .into_iter()
            .map(|l| {
                let (r, k) = l.split_once('|').unwrap();
                (r.to_string(), k.to_string())
            })
            .collect()
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The partners' contact addresses, as the example holds them (`ops@p01.example.cn`).
fn partner_address(partner: &str) -> String {
    format!("ops@{}.example.cn", partner.to_lowercase())
}

#[test]
fn a_department_approves_publishes_and_settles_only_its_own_partners() {
    let u = Units::new("");
    u.ok(&["run", "monthly", "--month", "2026-03"]);
    // Several units and none named: refused, listing the ones still to approve.
    let o = u.run(&["approve", "monthly", "--month", "2026-03", "--by", "张经理"]);
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    assert!(stderr(&o).contains("网络部") && stderr(&o).contains("政企客户部"), "{}", stderr(&o));
    // An unknown unit: refused, listing the known ones.
    let o = u.run(&["approve", "monthly", "--month", "2026-03", "--unit", "财务部", "--by", "张经理"]);
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    assert!(stderr(&o).contains("财务部") && stderr(&o).contains("网络部"), "{}", stderr(&o));
    // Publishing a unit not approved: refused.
    let o = u.run(&["publish", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "李总"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    let drafts_before = u.outbox();
    assert!(drafts_before.iter().all(|(_, k)| k.starts_with("department:") || k.starts_with("summary")));
    assert!(!drafts_before.iter().any(|(to, _)| to.starts_with("ops@")), "no partner hears of a draft");

    u.ok(&["approve", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "张经理"]);
    // Approving it again: refused, saying by whom and when.
    let o = u.run(&["approve", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "张经理"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("张经理") && stderr(&o).contains("2026-11-20"), "{}", stderr(&o));

    let rules = no_dispute_window(u.env.dir.path());
    u.ok(&["--rules", &rules, "publish", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "李总"]);
    // 网络部's partners (P03, P04, P06, P07, P11, P12 as assessed then) are told; 政企客户部's are not.
    let told: Vec<String> =
        u.outbox().into_iter().filter(|(_, k)| k.starts_with("scorecard:")).map(|(to, _)| to).collect();
    for p in ["P01", "P02", "P05"] {
        assert!(!told.contains(&partner_address(p)), "{p} of 政企客户部 was told: {told:?}");
    }
    assert!(told.contains(&partner_address("P03")), "{told:?}");
    // With a window of 0 days the unit settles at once; the export holds its partners only.
    let export = u.env.read("monthly/2026-03/finance_settlement.csv");
    assert!(export.lines().next().unwrap().contains(",unit,"), "{export}");
    assert!(export.lines().skip(1).all(|l| l.contains(",网络部,")), "{export}");
    assert!(!export.contains("P01,"), "{export}");
    // The other department still has only drafts.
    let zqkh: Vec<(String, String)> =
        u.outbox().into_iter().filter(|(to, _)| to == "manager.zqkh@sc.example.cn").collect();
    assert!(!zqkh.is_empty() && zqkh.iter().all(|(_, k)| k.starts_with("department:政企客户部:v")), "{zqkh:?}");
    // runs shows each unit's state.
    let runs = u.ok(&["runs"]);
    assert!(runs.contains("网络部") && runs.contains("已结算") && runs.contains("草稿"), "{runs}");
    // Every step records the name, the operating-system user and the host.
    let actors = query_strings(&u.store(), "SELECT actor FROM audit_trail WHERE action IN ('approve', 'publish')");
    assert!(actors.iter().all(|a| a.contains('(') && a.contains('@')), "{actors:?}");
}

#[test]
fn a_rerun_keeps_what_an_approved_unit_decided_and_resends_a_changed_draft_once() {
    let u = Units::new("");
    u.ok(&["run", "monthly", "--month", "2026-03"]);
    u.ok(&["approve", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "张经理"]);
    let page = |unit: &str| {
        let dir = u.env.out().join("monthly/2026-03");
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .find(|t| t.contains(&format!("（{unit}）")) && t.contains("<!--state-->"))
            .unwrap()
    };
    let approved_page = page("网络部");
    assert!(approved_page.contains("状态：已审批"), "the approved unit's page says so");
    let scores = |csv: &str, p: &str| csv.lines().find(|l| l.starts_with(&format!("{p},"))).unwrap().to_string();
    let before = u.env.read("monthly/2026-03/scores.csv");
    let drafts = u.outbox().len();
    // An unchanged rerun sends nothing.
    u.ok(&["run", "monthly", "--month", "2026-03"]);
    assert_eq!(u.outbox().len(), drafts, "an unchanged rerun sends no draft again");
    // The source changes for a partner of each department: P02 (政企客户部, draft) and P03
    // (网络部, approved).
    make_db(&u.ops, "UPDATE manual_scores SET points = '5' WHERE month = '2026-03' AND partner_id IN ('P02', 'P03');");
    u.ok(&["run", "monthly", "--month", "2026-03"]);
    let after = u.env.read("monthly/2026-03/scores.csv");
    assert_eq!(scores(&before, "P03"), scores(&after, "P03"), "the approved unit's partner is kept");
    assert_ne!(scores(&before, "P02"), scores(&after, "P02"), "the draft unit's partner is recomputed");
    assert_eq!(page("网络部"), approved_page, "the approved unit's page is left as it was");
    // The changed draft goes to its managers once more, the approved unit's managers get nothing.
    let new: Vec<(String, String)> = u.outbox().into_iter().skip(drafts).collect();
    assert!(new.iter().any(|(to, k)| to == "manager.zqkh@sc.example.cn" && k.starts_with("department:政企客户部:v")));
    assert!(!new.iter().any(|(to, _)| to == "manager.wlb@sc.example.cn"), "{new:?}");
    let explained = u.ok(&["explain", "--partner", "P03", "--month", "2026-03"]);
    assert!(!explained.is_empty());
}

#[test]
fn a_publication_whose_source_cannot_be_read_changes_nothing_and_its_retry_completes_it() {
    let u = Units::new("");
    u.ok(&["run", "monthly", "--month", "2026-03"]);
    u.ok(&["approve", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "张经理"]);
    let hidden = u.ops.with_extension("away");
    std::fs::rename(&u.ops, &hidden).unwrap();
    let before = query_strings(&u.store(), "SELECT CAST(count(*) AS TEXT) FROM outbox").concat();
    let o = u.run(&["publish", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "李总"]);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert_eq!(query_strings(&u.store(), "SELECT CAST(count(*) AS TEXT) FROM outbox").concat(), before);
    assert_eq!(query_strings(&u.store(), "SELECT CAST(count(*) AS TEXT) FROM dispute_windows").concat(), "0");
    let state = query_strings(&u.store(), "SELECT state FROM unit_states WHERE unit = '网络部'");
    assert_eq!(state, ["approved"], "still approved, not published");
    std::fs::rename(&hidden, &u.ops).unwrap();
    u.ok(&["publish", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "李总"]);
    let scorecards: Vec<String> =
        u.outbox().into_iter().filter(|(_, k)| k.starts_with("scorecard:")).map(|(_, k)| k).collect();
    let unique: std::collections::BTreeSet<&String> = scorecards.iter().collect();
    assert!(!scorecards.is_empty() && unique.len() == scorecards.len(), "each scorecard once: {scorecards:?}");
    let windows = query_strings(&u.store(), "SELECT CAST(count(*) AS TEXT) FROM dispute_windows").concat();
    assert_eq!(windows, scorecards.len().to_string(), "the windows open with the publication");
    // Publishing again does nothing; --resend queues the unit's messages again.
    let out = u.ok(&["publish", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "李总"]);
    assert!(out.contains("无需再做"), "{out}");
    let sent_before = query_strings(&u.store(), "SELECT CAST(count(*) AS TEXT) FROM outbox WHERE status = 'sent'");
    let out = u.ok(&["publish", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "李总", "--resend"]);
    assert!(out.contains("重新排队"), "{out}");
    let resent = query_strings(&u.store(), "SELECT CAST(count(*) AS TEXT) FROM audit_trail WHERE action = 'resend'");
    assert_eq!(resent, ["1"]);
    assert_eq!(
        query_strings(&u.store(), "SELECT CAST(count(*) AS TEXT) FROM outbox WHERE status = 'sent'"),
        sent_before,
        "the same messages, sent again"
    );
}

#[test]
fn a_quarter_reaches_no_one_before_publication_and_each_form_once_after() {
    let u = Units::new("");
    u.ok(&["run", "quarterly", "--quarter", "2026-Q1"]);
    assert!(u.outbox().is_empty(), "computing a quarter sends nothing: {:?}", u.outbox());
    let units = ["成都分公司政企客户部", "绵阳分公司政企客户部", "德阳分公司政企客户部", "省公司政企客户部"];
    let present: Vec<&str> = units
        .iter()
        .copied()
        .filter(|unit| u.env.read("quarterly/2026-Q1/presales.csv").contains(&format!(",{unit},")))
        .collect();
    let unit = present[0];
    u.ok(&["approve", "quarterly", "--quarter", "2026-Q1", "--unit", unit, "--by", "王主任"]);
    assert!(u.outbox().is_empty(), "approving sends nothing either");
    u.ok(&["publish", "quarterly", "--quarter", "2026-Q1", "--unit", unit, "--by", "王主任"]);
    let forms = u.outbox();
    assert!(forms.iter().any(|(_, k)| k.starts_with(&format!("forms_unit:{unit}:v"))), "{forms:?}");
    assert!(forms.iter().any(|(_, k)| k.starts_with("forms_partner:")), "{forms:?}");
    assert!(forms.iter().all(|(_, k)| k.contains(&format!(":{unit}:v"))), "only this unit's forms: {forms:?}");
    u.ok(&["publish", "quarterly", "--quarter", "2026-Q1", "--unit", unit, "--by", "王主任"]);
    assert_eq!(u.outbox(), forms, "each form once");
}

#[test]
fn only_named_approvers_may_approve() {
    let u = Units::edited(|text| {
        let managers = "[departments.\"网络部\"]\nmanagers = [\"manager.wlb@sc.example.cn\"]";
        assert!(text.contains(managers), "the shipped configuration names 网络部's managers");
        text.replacen(managers, &format!("{managers}\napprovers = [\"张经理\", \"王主任\"]"), 1)
    });
    u.ok(&["run", "monthly", "--month", "2026-03"]);
    let o = u.run(&["approve", "monthly", "--month", "2026-03", "--unit", "网络部", "--by", "李四"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("张经理") && stderr(&o).contains("王主任"), "{}", stderr(&o));
    // --all-units needs a name every listing unit accepts.
    let o = u.run(&["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "李四"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    u.ok(&["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "王主任"]);
    let units = query_strings(&u.store(), "SELECT unit || ':' || approved_by FROM unit_states ORDER BY unit");
    assert_eq!(units, ["政企客户部:王主任", "网络部:王主任"]);
}

#[test]
fn a_year_is_stored_approved_and_published_and_each_partner_hears_its_tier_once() {
    let u = Units::new("");
    for m in 1..=12 {
        u.ok_at("2027-01-05 10:00:00", &["run", "monthly", "--month", &format!("2026-{m:02}")]);
    }
    u.ok_at("2027-01-05 10:00:00", &["run", "annual", "--year", "2026"]);
    let stored = query_strings(&u.store(), "SELECT partner_id || ':' || tier FROM annual_results ORDER BY partner_id");
    assert!(stored.len() >= 8, "{stored:?}");
    u.ok_at("2027-01-05 10:00:00", &["approve", "annual", "--year", "2026", "--all-units", "--by", "张经理"]);
    u.ok_at("2027-01-05 10:00:00", &["publish", "annual", "--year", "2026", "--all-units", "--by", "张经理"]);
    u.ok_at("2027-01-05 10:00:00", &["publish", "annual", "--year", "2026", "--all-units", "--by", "张经理"]);
    let annual: Vec<(String, String)> = u.outbox().into_iter().filter(|(_, k)| k.starts_with("annual:")).collect();
    let partners: std::collections::BTreeSet<&String> = annual.iter().map(|(_, k)| k).collect();
    assert_eq!(partners.len(), annual.len(), "each partner once: {annual:?}");
    assert!(annual.len() >= 8, "{annual:?}");
    let eml = std::fs::read_dir(u.env.out().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .find(|b| String::from_utf8_lossy(b).contains("annual"))
        .unwrap_or_default();
    assert!(!eml.is_empty());
}

#[test]
fn a_department_list_goes_when_it_changes_not_every_day() {
    let u = Units::new("");
    for m in ["2026-09", "2026-10"] {
        u.ok(&["run", "monthly", "--month", m]);
    }
    let lists = || u.outbox().into_iter().filter(|(_, k)| k.starts_with("list:")).count();
    // 11-03 and 11-04 hold the same lists (no contract enters or leaves the window between them).
    u.ok(&["run", "renewal", "--as-of", "2026-11-03"]);
    let first = lists();
    assert!(first > 0, "the lists go out the first time");
    u.ok(&["run", "renewal", "--as-of", "2026-11-04"]);
    assert_eq!(lists(), first, "nothing changed: no list again");
    // A contract enters the window: its department's list goes again.
    make_db(
        &u.ops,
        "UPDATE contracts SET end_date = '2026-12-31' WHERE contract_id = (SELECT min(contract_id) FROM contracts \
         WHERE end_date > '2027-03-01' AND terminated_on IS NULL);",
    );
    u.ok(&["run", "renewal", "--as-of", "2026-11-05"]);
    assert!(lists() > first, "the changed list goes again");
    // Each owner's notice stays once per contract, ever.
    let notices: Vec<String> =
        u.outbox().into_iter().filter(|(_, k)| k.starts_with("notice:")).map(|(_, k)| k).collect();
    let unique: std::collections::BTreeSet<&String> = notices.iter().collect();
    assert_eq!(unique.len(), notices.len(), "{notices:?}");
}
