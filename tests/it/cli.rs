//! End-to-end tests through the real binary: conformance, exit codes, reruns, gen-data and demo.

use std::path::Path;
use std::process::Command;

use crate::common::*;

#[test]
fn conformance_example_matches_in_full() {
    let o = Command::new("bash").arg(conformance().join("check.sh")).arg(BIN).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && stdout.contains("(100.0%)"), "conformance differs:\n{stdout}");
}

/// The vendored example must equal `../shared/conformance` whenever that folder is beside the
/// clone (it changes with the spec); a fresh clone without it has nothing to compare with.
#[test]
fn vendored_conformance_example_is_current() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if !shared.exists() {
        eprintln!("note: {} is not beside the clone; the vendored copy is not compared", shared.display());
        return;
    }
    fn files(root: &Path, dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(root, &path, out);
            } else if path.file_name().is_some_and(|n| n != "__pycache__") {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let (mut theirs, mut ours) = (vec![], vec![]);
    files(&shared, &shared, &mut theirs);
    files(&conformance(), &conformance(), &mut ours);
    theirs.retain(|p| !p.components().any(|c| c.as_os_str() == "__pycache__"));
    ours.retain(|p| !p.components().any(|c| c.as_os_str() == "__pycache__"));
    theirs.sort();
    ours.sort();
    let differing: Vec<String> = theirs
        .iter()
        .filter(|p| std::fs::read(shared.join(p)).ok() != std::fs::read(conformance().join(p)).ok())
        .chain(ours.iter().filter(|p| !theirs.contains(p)))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        differing.is_empty(),
        "the conformance example changed: re-copy the example (rm -r tests/fixtures/conformance && cp -r ../shared/conformance tests/fixtures/); differing: {differing:?}"
    );
}

#[test]
fn rerunning_a_month_gives_identical_results() {
    let env = Env::new(&ops());
    for m in ["2026-01", "2026-02", "2026-03"] {
        env.ok(&["run", "monthly", "--month", m]);
    }
    let before = env.read("monthly/2026-03/scores.csv");
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    assert_eq!(before, env.read("monthly/2026-03/scores.csv"));
    assert!(before.contains("P04,") && before.contains("two_c_grades"), "{before}");
}

#[test]
fn a_period_that_is_not_over_is_refused_without_preview() {
    let env = Env::new(&ops());
    let o = env.run(&["run", "monthly", "--month", "2999-01"]);
    assert_eq!(code(&o), 64, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--preview"));
    // With --preview the same outputs are written and nothing is stored.
    let o = env.run(&["run", "annual", "--year", "2999", "--preview"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(env.out().join("annual/2999/preview/annual.csv").exists());
    assert!(
        env.out().join("annual/2999/annual.csv").exists(),
        "the annual job stores nothing: its preview is all there is"
    );
}

#[test]
fn bad_usage_is_64() {
    let env = Env::new(&ops());
    assert_eq!(code(&env.run(&["run", "monthly", "--month", "2026-13"])), 64);
    assert_eq!(code(&env.run(&["frobnicate"])), 64);
}

#[test]
fn invalid_rules_list_every_problem_and_exit_78() {
    let env = Env::new(&ops());
    let rules = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml")).unwrap();
    let broken = rules
        .replace("weight = 30", "weight = 35")
        .replace("b_min = 75", "b_min = 95")
        .replace("[renewal]", "[renewal]\nbogus = 1");
    let path = env.dir.path().join("rules.toml");
    std::fs::write(&path, broken).unwrap();
    let o = env.run(&["--rules", path.to_str().unwrap(), "check-config"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 78, "{err}");
    for needle in ["weights add up to 105", "a_min (90) must be above b_min (95)", "unknown key `renewal.bogus`"] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    assert_eq!(code(&env.run(&["--rules", path.to_str().unwrap(), "run", "monthly", "--month", "2026-01"])), 78);
}

#[test]
fn shipped_configuration_checks_clean_without_leaking_secrets() {
    let env = Env::new(&ops());
    let mut c = env.cmd(&["check-config"]);
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ICT_PARTNERS_STORE_URL", "postgres://app:hunter2@127.0.0.1/store")
        .env("ICT_PARTNERS_SMTP_URL", "smtps://mailer:s3cr3t-pw@mail.example.cn:465");
    let o = c.output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!all.contains("hunter2") && !all.contains("s3cr3t-pw"), "{all}");
    // check-config opens the store too: that one does not exist, and says so without the password.
    assert_eq!(code(&o), 69, "{all}");
    assert!(all.contains("cannot open store postgres://app:***@127.0.0.1/store"), "{all}");
    // With a store (a run made it) and the clock at mid-November 2026: clean, and it says what is due.
    env.ok(&["run", "monthly", "--month", "2026-01"]);
    let mut c = env.cmd(&["check-config"]);
    c.env("ICT_PARTNERS_NOW", "2026-11-15 10:00:00");
    let o = c.current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(code(&o), 0, "{all}");
    assert!(all.contains("配置无误") && all.contains("结果库：可以连接；现在到期的任务"), "{all}");
}

/// The shipped calendar covers 2025 and 2026: from 60 days before it runs out, check-config says
/// which year is missing and which file to edit; earlier it says nothing.
#[test]
fn check_config_warns_before_the_calendar_runs_out() {
    let env = Env::new(&ops());
    env.ok(&["run", "monthly", "--month", "2026-01"]);
    let check = |now: &str| {
        let mut c = env.cmd(&["check-config"]);
        c.env("ICT_PARTNERS_NOW", now).current_dir(env!("CARGO_MANIFEST_DIR"));
        c.output().unwrap()
    };
    let o = check("2026-11-15 10:00:00");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 0, "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("警告：工作日历没有 2027 年的数据，47 天后用完"), "{out}");
    assert!(out.contains("config/calendar-cn.toml") && out.contains("国务院办公厅"), "{out}");
    let o = check("2026-06-01 10:00:00");
    assert_eq!(code(&o), 0);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("warning"), "{}", String::from_utf8_lossy(&o.stdout));
    // Once the year has begun without data, it is an error.
    let o = check("2027-01-04 10:00:00");
    assert_eq!(code(&o), 78, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("工作日历没有 2027 年的放假安排"));
}

/// `runs`, `explain`, `mail list` and `check-config` only look: on a store that does not exist they
/// say so and exit 69, and they never create one.
#[test]
fn read_only_commands_never_create_a_store() {
    let env = Env::new(&ops());
    for args in [
        vec!["runs"],
        vec!["explain", "--partner", "P01", "--month", "2026-03"],
        vec!["mail", "list"],
        vec!["check-config"],
    ] {
        let mut c = env.cmd(&args);
        c.env("ICT_PARTNERS_NOW", "2026-11-15 10:00:00");
        let o = c.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 69, "{args:?}: {err}");
        assert!(err.contains("尚无结果库"), "{args:?}: {err}");
        assert!(!env.store().exists(), "{args:?} created the store");
    }
    // Once a run made it, they read it.
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    assert!(env.ok(&["runs"]).contains("月度考核"));
    assert!(env.ok(&["explain", "--partner", "P01", "--month", "2026-03"]).contains("P01"));
    let listed = env.ok(&["mail", "list"]);
    assert!(listed.contains("收件人") && listed.contains("封待发"), "{listed}");
}

/// A what-if (another rules file, `--dry-run`) and a preview write into their own folders; the
/// period's folder keeps the stored results, approved or not.
#[test]
fn a_what_if_never_replaces_the_official_files() {
    let env = Env::new(&ops());
    for m in ["2026-01", "2026-02", "2026-03"] {
        env.ok(&["run", "monthly", "--month", m]);
    }
    env.ok(&["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理"]);
    let official: Vec<(String, String)> = ["scores.csv", "indicators.csv", "summary.html", "assessment.xlsx"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                String::from_utf8_lossy(&std::fs::read(env.out().join("monthly/2026-03").join(f)).unwrap())
                    .into_owned(),
            )
        })
        .collect();
    let rules = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml")).unwrap();
    let candidate = env.dir.path().join("candidate.toml");
    std::fs::write(&candidate, rules.replace("a_min = 90", "a_min = 95")).unwrap();
    let out = env.ok(&["--rules", candidate.to_str().unwrap(), "run", "monthly", "--month", "2026-03", "--dry-run"]);
    let folder = out.lines().find_map(|l| l.strip_prefix("输出目录：")).expect("the command prints its folder");
    let folder = Path::new(folder);
    assert_eq!(folder.parent().unwrap(), env.out().join("monthly/2026-03/what-if"), "{out}");
    let hash = folder.file_name().unwrap().to_str().unwrap();
    assert!(hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
    let what_if = std::fs::read_to_string(folder.join("scores.csv")).unwrap();
    let grades = |csv: &str| csv.lines().filter(|l| l.split(',').nth(6) == Some("A")).count();
    assert!(grades(&what_if) < grades(&official[0].1), "a_min = 95 leaves fewer A grades:\n{what_if}");
    for (file, before) in &official {
        let now =
            String::from_utf8_lossy(&std::fs::read(env.out().join("monthly/2026-03").join(file)).unwrap()).into_owned();
        assert_eq!(&now, before, "{file} of the approved month changed");
    }
    // A preview of a month that is not over writes under preview/ only.
    let out = env.ok(&["run", "monthly", "--month", "2999-01", "--preview"]);
    assert!(out.contains(&format!("输出目录：{}", env.out().join("monthly/2999-01/preview").display())), "{out}");
    assert!(env.out().join("monthly/2999-01/preview/scores.csv").exists());
    assert!(!env.out().join("monthly/2999-01/scores.csv").exists());
}

#[test]
fn an_out_of_range_year_is_bad_usage_not_a_panic() {
    let env = Env::new(&ops());
    let o = env.run(&["run", "annual", "--year", "300000"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 64, "{err}");
    assert!(err.contains("300000") && !err.contains("panicked"), "{err}");
    let o = env.run(&["run", "renewal", "--as-of", "99999-01-01"]);
    assert_eq!(code(&o), 64, "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_missing_table_is_65_and_an_unreadable_source_is_69() {
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("partial.sqlite");
    make_db(&partial, "CREATE TABLE partners (partner_id TEXT, name TEXT, contact_email TEXT);");
    let o = Env::new(&partial).run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 65, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("contracts"));
    let env = Env::new(&dir.path().join("nowhere.sqlite"));
    let o = env.run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!env.out().join("monthly/2026-01/scores.csv").exists(), "nothing is written when the source is down");
}

#[test]
fn quarters_never_pay_a_project_twice_and_renewal_notices_go_out_once() {
    let env = Env::new(&ops());
    for m in 1..=10 {
        env.ok(&["run", "monthly", "--month", &format!("2026-{m:02}")]);
    }
    for q in ["2026-Q1", "2026-Q2", "2026-Q2", "2026-Q3"] {
        env.ok(&["run", "quarterly", "--quarter", q]);
    }
    let settled = |q: &str| -> Vec<String> {
        env.read(&format!("quarterly/{q}/presales.csv"))
            .lines()
            .filter(|l| l.contains(",settled,"))
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    let (q1, q2, q3) = (settled("2026-Q1"), settled("2026-Q2"), settled("2026-Q3"));
    assert!(!q1.is_empty() && !q2.is_empty() && !q3.is_empty());
    for p in &q2 {
        assert!(!q1.contains(p) && !q3.contains(p), "{p} settled twice");
    }
    env.ok(&["run", "renewal", "--as-of", "2026-11-01"]);
    assert!(env.read("renewal/2026-11-01/renewals.csv").lines().skip(1).all(|l| l.ends_with(",sent")));
    let emls = || std::fs::read_dir(env.out().join("outbox")).map_or(0, |d| d.count());
    let before = emls();
    env.ok(&["run", "renewal", "--as-of", "2026-11-02"]);
    // The second day mails the departments' lists again, and notices only to contracts new in the window.
    let lists = std::fs::read_dir(env.out().join("renewal/2026-11-02"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("list-"))
        .count();
    let first_notices = env.read("renewal/2026-11-02/renewals.csv").lines().filter(|l| l.ends_with(",sent")).count();
    assert!(lists > 0);
    // C-P10-PS2 ends 2027-02-02: it enters the window on 2026-11-02 and gets its first notice.
    assert_eq!(first_notices, 1);
    assert_eq!(emls() - before, lists + first_notices);
    let later = env.read("renewal/2026-11-02/renewals.csv");
    assert!(later.lines().any(|l| l.starts_with("C-P01-AS1,") && l.ends_with(",already_sent")), "{later}");
}

#[test]
fn gen_data_is_deterministic_and_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.sqlite");
    let gen = |out: &Path, seed: &str| {
        let o = Command::new(BIN)
            .args([
                "gen-data",
                "--out",
                out.to_str().unwrap(),
                "--partners",
                "6",
                "--tickets-per-month",
                "200",
                "--months",
                "2026-01..2026-03",
                "--seed",
                seed,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    gen(&a, "7");
    let env = Env::new(&a);
    env.ok(&["run", "monthly", "--month", "2026-02"]);
    let first = env.read("monthly/2026-02/scores.csv");
    assert!(first.lines().count() >= 4, "{first}");
    gen(&a, "7");
    let again = Env::new(&a);
    again.ok(&["run", "monthly", "--month", "2026-02"]);
    assert_eq!(first, again.read("monthly/2026-02/scores.csv"));
    gen(&a, "8");
    let other = Env::new(&a);
    other.ok(&["run", "monthly", "--month", "2026-02"]);
    assert_ne!(first, other.read("monthly/2026-02/scores.csv"));
}

#[test]
fn demo_runs_without_a_server_and_says_where_to_look() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN).args(["demo", "--dir"]).arg(dir.path()).current_dir(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("输出目录："), "{stdout}");
    assert!(dir.path().join("out/monthly/2026-01/scores.csv").exists());
}

#[test]
fn human_outputs_sit_beside_the_csvs() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN).args(["demo", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    let q1 = out.join("quarterly/2026-Q1");
    let book = std::fs::read(q1.join("confirmation_forms.xlsx")).unwrap();
    assert_eq!(&book[..2], b"PK", "the workbook is an xlsx (zip) file");
    let forms: Vec<_> = std::fs::read_dir(q1.join("forms")).unwrap().collect();
    assert!(!forms.is_empty());
    let form = std::fs::read_to_string(forms[0].as_ref().unwrap().path()).unwrap();
    assert!(form.contains("部门分管领导（签章）") && form.contains("年　　月　　日") && form.contains("人民币"));
    assert!(form.contains("name=\"viewport\""), "a mailed form reads on a phone");
    // Nothing to sign for ¥0.00.
    for f in &forms {
        let page = std::fs::read_to_string(f.as_ref().unwrap().path()).unwrap();
        assert!(!page.contains("人民币零元整"), "a form for nothing to pay");
    }
    // The index names what it links (a department by its name, not its file) and links the
    // notices and forms too.
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!index.contains(">department-") && !index.contains(">summary.html<"), "{index}");
    assert!(index.contains("forms&#x2f;") && index.contains("notices&#x2f;"), "{index}");
    let renewal = std::fs::read_dir(out.join("renewal")).unwrap().next().unwrap().unwrap().path();
    let csv = std::fs::read_to_string(renewal.join("renewals.csv")).unwrap();
    // Renewal notices, besides the notices to terminate a banned partner's contract (ban-*.html).
    let notices = std::fs::read_dir(renewal.join("notices"))
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with("ban-"))
        .count();
    assert_eq!(notices, csv.lines().filter(|l| l.ends_with(",sent")).count(), "one notice per newly noticed contract");
    assert!(renewal.join("list-01.html").exists());
    let annual = std::fs::read_to_string(out.join("annual/2026/annual.html")).unwrap();
    assert!(annual.contains("激励名单") && annual.contains("需重点关注"));
}

/// Broken application files: exit 78, every problem named, nothing run, never a panic.
#[test]
fn broken_configuration_files_exit_78_listing_every_problem() {
    let env = Env::new(&ops());
    let good = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ict-partners.toml")).unwrap();
    let cases: [(String, &[&str]); 6] = [
        (good.replace("[source]\n", "[sauce]\n"), &["unknown key `sauce`", "missing field `source`"]),
        (good.replace("dir = \"reports/out\"", "dir = 7"), &["invalid type"]),
        (
            good.replace("manager.wlb@sc.example.cn", "not an address")
                .replace("locale = \"zh-CN\"", "locale = \"fr\""),
            &["not an e-mail address: \"not an address\"", "output.locale"],
        ),
        (good.replace("url = \"sqlite://data/ops.sqlite\"", "url = \"ftp://ops\""), &[]),
        (good.replace("path = \"rules.toml\"", "path = \"missing-rules.toml\""), &["cannot read rules file"]),
        (
            good.replace(
                "url = \"sqlite://data/store.sqlite\"",
                "url = \"sqlite://data/store.sqlite\"\nmax_connections = 0\nacquire_timeout_seconds = 0",
            ),
            &["store.max_connections must be between 1 and 64", "store.acquire_timeout_seconds"],
        ),
    ];
    for (k, (text, needles)) in cases.iter().enumerate() {
        let config_dir = env.dir.path().join(format!("config-{k}"));
        std::fs::create_dir_all(&config_dir).unwrap();
        for f in ["rules.toml", "calendar-cn.toml"] {
            std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(f), config_dir.join(f)).unwrap();
        }
        let path = config_dir.join("ict-partners.toml");
        std::fs::write(&path, text).unwrap();
        let mut c = env.cmd(&["--config", path.to_str().unwrap(), "check-config"]);
        // The source URL of case 3 must come from the file, not the environment.
        c.env_remove("ICT_PARTNERS_SOURCE_URL");
        let o = c.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 78, "case {k}: {err}");
        for needle in *needles {
            assert!(err.contains(needle), "case {k}: {needle:?} not in {err}");
        }
    }
}

#[test]
fn a_store_held_by_another_process_is_69_and_keeps_the_previous_results() {
    let env = Env::new(&ops());
    env.ok(&["run", "monthly", "--month", "2026-01"]);
    let before = env.read("monthly/2026-01/scores.csv");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Another process holds the store's write lock for the whole run.
    let mut lock = rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", env.store().display())).await.unwrap();
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut c).await.unwrap();
        c
    });
    let mut cmd = env.cmd(&["run", "monthly", "--month", "2026-02"]);
    cmd.env("ICT_PARTNERS_STORE_URL", format!("sqlite://{}?busy_timeout=1", env.store().display()));
    let o = cmd.output().unwrap();
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    rt.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    });
    drop(lock);
    assert!(!env.out().join("monthly/2026-02/scores.csv").exists(), "nothing written while the store was unavailable");
    assert_eq!(env.read("monthly/2026-01/scores.csv"), before);
    env.ok(&["run", "monthly", "--month", "2026-02"]);
}

/// Fees from a billing database, everything else from the EOMS: the same results as one source.
#[test]
fn datasets_can_come_from_named_sources() {
    let env = Env::new(&ops());
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    let one_source = env.read("monthly/2026-03/scores.csv");

    let dir = tempfile::tempdir().unwrap();
    let (eoms, billing) = (dir.path().join("eoms.sqlite"), dir.path().join("billing.sqlite"));
    std::fs::copy(ops(), &eoms).unwrap();
    std::fs::copy(ops(), &billing).unwrap();
    make_db(&eoms, "DROP TABLE fee_items; DROP TABLE audit_exclusions;");
    make_db(&billing, "DROP TABLE tickets; DROP TABLE orders;");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let config_dir = dir.path().join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    for f in ["rules.toml", "calendar-cn.toml"] {
        std::fs::copy(root.join(f), config_dir.join(f)).unwrap();
    }
    let app = std::fs::read_to_string(root.join("ict-partners.toml")).unwrap()
        + &format!(
            "\n[sources.billing]\nurl = \"sqlite://{}\"\n\n[datasets]\nfee_items = \"billing\"\naudit_exclusions = \"billing\"\n",
            billing.display()
        );
    let config = config_dir.join("ict-partners.toml");
    std::fs::write(&config, &app).unwrap();
    let split = Env::new(&eoms);
    split.ok(&["--config", config.to_str().unwrap(), "run", "monthly", "--month", "2026-03"]);
    assert_eq!(split.read("monthly/2026-03/scores.csv"), one_source);

    std::fs::write(&config, app.replace("fee_items = \"billing\"", "fees = \"billing\"\nfee_items = \"crm\"")).unwrap();
    let o = split.run(&["--config", config.to_str().unwrap(), "check-config"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 78, "{err}");
    assert!(err.contains("datasets.fees: not a dataset") && err.contains("no [sources.crm]"), "{err}");
}

/// A timestamp that is not even date-shaped cannot be placed in a month: the row is still read and
/// listed as unparsable, never silently left out.
#[test]
fn rows_with_unparsable_timestamps_are_listed_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let ops = dir.path().join("ops.sqlite");
    std::fs::copy(crate::common::ops(), &ops).unwrap();
    make_db(
        &ops,
        "INSERT INTO tickets VALUES ('TKBAD01', 'P02', 'CU', 'AA', 'partner', 'yesterday', NULL, 0, 0, 0);
         INSERT INTO orders VALUES ('ORBAD01', 'P02', '13/03/2026 10:00', '2026-03-20 10:00:00', NULL);
         INSERT INTO surveys VALUES ('SVBAD01', 'P02', 'soon', '90');
         INSERT INTO complaints VALUES ('CPBAD01', 'P02', '', 'miit', 0, 1);",
    );
    let env = Env::new(&ops);
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    let dq = env.read("monthly/2026-03/data_quality.csv");
    for id in ["tickets,TKBAD01,", "orders,ORBAD01,", "surveys,SVBAD01,", "complaints,CPBAD01,"] {
        assert!(dq.contains(id), "{id} missing from:\n{dq}");
    }
}
