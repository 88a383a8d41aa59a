//! Running by itself: `run due` catching up after downtime, the per-period lock on each store
//! backend (SQLite, PostgreSQL, MariaDB), a killed run retried, and `serve` stopping on SIGTERM
//! with the ledger consistent.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One number from the store (any backend); `None` while its tables do not exist yet.
fn store_count(store_url: &str, sql: &str) -> Option<i64> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(store_url).await.ok()?;
        let n = sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.ok();
        pool.close().await;
        n
    })
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Polls until the store shows a running ledger row (the run has claimed its period).
fn wait_until_running(store_url: &str, child: &mut std::process::Child) {
    let start = Instant::now();
    while store_count(store_url, "SELECT COUNT(*) FROM run_ledger WHERE status = 'running'").unwrap_or(0) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "the first run ended before it was seen running");
        assert!(start.elapsed() < Duration::from_secs(60), "no running row after a minute");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A source big enough that a monthly run lasts a few seconds.
fn big_source(dir: &Path) -> PathBuf {
    let path = dir.join("big.sqlite");
    let o = Command::new(BIN)
        .args(["gen-data", "--out", path.to_str().unwrap(), "--partners", "30", "--tickets-per-month", "40000"])
        .args(["--months", "2026-03..2026-03", "--seed", "5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    path
}

#[test]
fn run_due_catches_up_after_three_months_down_oldest_first_then_does_nothing() {
    let env = Env::new(&ops());
    let config = config_with(env.dir.path(), "first_period = \"2026-01\"");
    let cfg = config.to_str().unwrap();
    // January was done by hand; then the machine was down February to April.
    env.ok(&["--config", cfg, "run", "monthly", "--month", "2026-01"]);
    let out = env.ok(&["--config", cfg, "run", "due", "--as-of", "2026-05-03"]);
    let lines: Vec<&str> = out.lines().collect();
    let position =
        |what: &str| lines.iter().position(|l| l.starts_with(what)).unwrap_or_else(|| panic!("{what} not run: {out}"));
    let (feb, mar, apr) =
        (position("月度考核 2026-02：完成"), position("月度考核 2026-03：完成"), position("月度考核 2026-04：完成"));
    assert!(feb < mar && mar < apr, "not oldest first: {out}");
    // The first quarter's settlement fired on 04-05, between March's and April's assessments;
    // renewal ran once, as of the last day, not once per missed day.
    let q1 = position("季度售前结算 2026-Q1：完成");
    assert!(mar < q1 && q1 < apr, "{out}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("续约汇总")).count(), 1, "{out}");
    assert!(out.contains("续约汇总 2026-05-03：完成"), "{out}");
    assert!(!out.contains("月度考核 2026-01"), "January was done already: {out}");
    assert_eq!(lines.len(), 5, "{out}");
    for month in ["2026-02", "2026-03", "2026-04"] {
        assert!(env.out().join(format!("monthly/{month}/scores.csv")).exists());
    }
    let store = sqlite_url(&env.store());
    let succeeded = |job: &str| {
        store_count(&store, &format!("SELECT COUNT(*) FROM run_ledger WHERE job = '{job}' AND status = 'succeeded'"))
    };
    assert_eq!(succeeded("monthly"), Some(4));
    // Again: nothing due, exit 0, nothing run.
    let again = env.ok(&["--config", cfg, "run", "due", "--as-of", "2026-05-03"]);
    assert!(again.starts_with("截至 ") && again.contains("没有到期的任务"), "{again}");
    // January by hand, then February, March, the quarter, April and renewal.
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger"), Some(6));
    // A date in the future is refused rather than guessed at.
    let o = env.run(&["--config", cfg, "run", "due", "--as-of", "2099-01-01"]);
    assert_eq!(code(&o), 64);
}

#[test]
fn an_approved_period_is_done_and_a_failure_stops_its_job_but_not_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new(&ops());
    let config = config_with(dir.path(), "first_period = \"2026-02\"\nretry_attempts = 2\nretry_backoff_seconds = 0");
    let cfg = config.to_str().unwrap();
    env.ok(&["--config", cfg, "run", "monthly", "--month", "2026-02"]);
    env.ok(&["--config", cfg, "approve", "monthly", "--month", "2026-02", "--all-units", "--by", "王经理"]);
    // March cannot be completed (its output folder is a file); April builds on it and waits;
    // renewal goes on. (The quarter started before `first_period`: never due.)
    std::fs::create_dir_all(env.out().join("monthly")).unwrap();
    std::fs::write(env.out().join("monthly/2026-03"), "in the way").unwrap();
    let o = env.run(&["--config", cfg, "run", "due", "--as-of", "2026-05-03"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 1, "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.contains("月度考核 2026-02"), "approved, so done: {out}");
    assert!(out.contains("月度考核 2026-03：失败（退出码 1）"), "{out}");
    assert!(out.contains("月度考核 2026-04：未开始（此前的月度考核期间没有完成）"), "{out}");
    assert!(out.contains("续约汇总 2026-05-03：完成") && !out.contains("季度售前结算"), "{out}");
    let store = sqlite_url(&env.store());
    // Not transient: one attempt, recorded as failed with its error.
    assert_eq!(
        store_count(
            &store,
            "SELECT COUNT(*) FROM run_ledger WHERE period = '2026-03' AND status = 'failed' AND error <> ''"
        ),
        Some(1)
    );
    // Fixed: the next pass picks March up, then April.
    std::fs::remove_file(env.out().join("monthly/2026-03")).unwrap();
    let out = env.ok(&["--config", cfg, "run", "due", "--as-of", "2026-05-03"]);
    assert!(out.contains("月度考核 2026-03：完成") && out.contains("月度考核 2026-04：完成"), "{out}");
    assert_eq!(
        store_count(&store, "SELECT MAX(attempt) FROM run_ledger WHERE job = 'monthly' AND period = '2026-03'"),
        Some(2)
    );
}

#[test]
fn two_runs_of_one_period_on_each_store_backend_one_computes_the_other_says_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let source = big_source(dir.path());
    let (pg, my) = (Scratch::new(PG_ADMIN, "pglock"), Scratch::new(MY_ADMIN, "mylock"));
    let sqlite_store = dir.path().join("store.sqlite");
    for store in [sqlite_url(&sqlite_store), pg.url(), my.url()] {
        let mut first_env = Env::new(&source);
        first_env.store_url = Some(store.clone());
        let mut second_env = Env::new(&source);
        second_env.store_url = Some(store.clone());
        let mut first = first_env
            .cmd(&["run", "monthly", "--month", "2026-03"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until_running(&store, &mut first);
        let second = second_env.run(&["run", "monthly", "--month", "2026-03"]);
        let err = String::from_utf8_lossy(&second.stderr);
        assert_eq!(code(&second), 69, "{store}: {err}");
        assert!(err.contains("月度考核 2026-03 正在由运行 monthly-2026-03-"), "{store}: {err}");
        assert!(err.contains(&format!("pid {}", first.id())), "{store}: the holder is named: {err}");
        assert!(!second_env.out().join("monthly/2026-03/scores.csv").exists(), "{store}: the second wrote nothing");
        let status = first.wait().unwrap();
        assert!(status.success(), "{store}: the first run failed");
        assert!(first_env.out().join("monthly/2026-03/scores.csv").exists());
        assert_eq!(
            store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'succeeded'"),
            Some(1),
            "{store}: exactly one computed"
        );
        assert_eq!(
            store_count(&store, "SELECT COUNT(*) FROM run_ledger"),
            Some(1),
            "{store}: the refused run left no row"
        );
        // Once the first is done, the period can be run again (and the old success is superseded).
        second_env.ok(&["run", "monthly", "--month", "2026-03"]);
        assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'superseded'"), Some(1));
    }
}

#[test]
fn a_killed_run_leaves_nothing_and_its_period_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let source = big_source(dir.path());
    let pg = Scratch::new(PG_ADMIN, "pgkill");
    let my = Scratch::new(MY_ADMIN, "mykill");
    let sqlite_store = dir.path().join("store.sqlite");
    for store in [sqlite_url(&sqlite_store), pg.url(), my.url()] {
        let mut env = Env::new(&source);
        env.store_url = Some(store.clone());
        let mut victim = env.cmd(&["run", "monthly", "--month", "2026-03"]).stdout(Stdio::null()).spawn().unwrap();
        wait_until_running(&store, &mut victim);
        victim.kill().unwrap();
        victim.wait().unwrap();
        assert_eq!(store_count(&store, "SELECT COUNT(*) FROM monthly_runs"), Some(0), "{store}: nothing partial");
        // The dead run's lock went with its process (its connection on a server; its pid on this
        // machine for SQLite): the next run takes over at once and records the dead one aborted.
        env.ok(&["run", "monthly", "--month", "2026-03"]);
        assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'aborted'"), Some(1), "{store}");
        assert_eq!(
            store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'succeeded'"),
            Some(1),
            "{store}"
        );
    }
    // A SQLite claim of another machine is honoured until its lease runs out, then taken over.
    let env = Env::new(&ops());
    env.ok(&["run", "monthly", "--month", "2026-02"]);
    let claim = |lease_until: &str| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let pool = sqlx::SqlitePool::connect(&sqlite_url(&env.store())).await.unwrap();
            sqlx::query("DELETE FROM run_ledger WHERE status = 'running'").execute(&pool).await.unwrap();
            sqlx::query(
                "INSERT INTO run_ledger (run_id, job, period, attempt, status, started_by, started_at, lease_until, host, pid) \
                 VALUES ('elsewhere-1', 'monthly', '2026-03', 1, 'running', 'due', '2026-11-29 00:00:00', ?1, 'other-host', 4242)",
            )
            .bind(lease_until)
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        })
    };
    claim("2999-01-01 00:00:00");
    let o = env.run(&["run", "monthly", "--month", "2026-03"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 69, "{err}");
    assert!(err.contains("主机 other-host，进程 pid 4242"), "{err}");
    claim("2000-01-01 00:00:00");
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    let store = sqlite_url(&env.store());
    assert_eq!(
        store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE run_id = 'elsewhere-1' AND status = 'aborted'"),
        Some(1)
    );
}

/// Starts `serve`, waits for its first claim, sends SIGTERM, and returns the exit code and log.
fn serve_and_terminate(env: &Env, config: &str) -> (i32, String) {
    let mut child =
        env.cmd(&["--config", config, "serve"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    wait_until_running(&sqlite_url(&env.store()), &mut child);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let start = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(120), "serve did not stop");
    (code(&output), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn serve_stops_on_sigterm_with_the_ledger_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let source = big_source(dir.path());
    // With a grace period the running job finishes; nothing new starts.
    let env = Env::new(&source);
    let config = config_with(env.dir.path(), "first_period = \"2026-03\"\ngrace_seconds = 600");
    let (code, log) = serve_and_terminate(&env, config.to_str().unwrap());
    assert_eq!(code, 0, "{log}");
    let store = sqlite_url(&env.store());
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'running'"), Some(0), "{log}");
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'succeeded'"), Some(1), "{log}");
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger"), Some(1), "nothing started after SIGTERM: {log}");
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM monthly_runs WHERE month = '2026-03'"), Some(1));
    assert!(log.contains("stopping: no new work"), "{log}");

    // Without one the running job is abandoned: rolled back, and aborted in the ledger.
    let env = Env::new(&source);
    let config = config_with(env.dir.path(), "first_period = \"2026-03\"\ngrace_seconds = 0");
    let (code, log) = serve_and_terminate(&env, config.to_str().unwrap());
    assert_eq!(code, 0, "{log}");
    let store = sqlite_url(&env.store());
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'running'"), Some(0), "{log}");
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE status = 'aborted'"), Some(1), "{log}");
    assert_eq!(store_count(&store, "SELECT COUNT(*) FROM monthly_runs"), Some(0), "nothing partial: {log}");
    // And the next pass does the period.
    let out = env.ok(&["--config", config.to_str().unwrap(), "run", "due", "--as-of", "2026-04-03"]);
    assert!(out.contains("月度考核 2026-03：完成"), "{out}");
}

#[test]
fn transient_failures_are_retried_then_alerted_and_the_heartbeat_says_so() {
    // A real HTTP server stands in for the dead man's switch; its access log is the evidence.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let web = tempfile::tempdir().unwrap();
    let mut server = python()
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"])
        .current_dir(web.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the HTTP server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut env = Env::new(&ops());
    let config = config_with(
        env.dir.path(),
        &format!(
            "first_period = \"2026-03\"\nretry_attempts = 3\nretry_backoff_seconds = 0\n\
             alert_recipients = [\"ops@sc.example.cn\"]\nheartbeat_url = \"http://127.0.0.1:{port}/ping\""
        ),
    );
    let cfg = config.to_str().unwrap();
    env.source_url = Some("postgres://postgres@127.0.0.1:1/none".into());
    let o = env.run(&["--config", cfg, "run", "due", "--as-of", "2026-04-03"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 69, "{out}");
    assert!(out.contains("月度考核 2026-03：失败（退出码 69）"), "{out}");
    let store = sqlite_url(&env.store());
    assert_eq!(
        store_count(&store, "SELECT COUNT(*) FROM run_ledger WHERE job = 'monthly' AND status = 'failed'"),
        Some(3),
        "three attempts"
    );
    let alerts: Vec<String> = std::fs::read_dir(env.out().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .filter(|m| m.contains("To: ops@sc.example.cn"))
        .collect();
    assert_eq!(alerts.len(), 2, "one alert per failed job period (monthly, renewal)");
    assert!(alerts.iter().any(|m| m.contains("monthly 2026-03") && m.contains("exit 69")), "{alerts:?}");
    let outbox = env.out().join("outbox");
    let alert_count = || {
        std::fs::read_dir(&outbox)
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read_to_string(e.path()).unwrap().contains("To: ops@sc.example.cn"))
            .count()
    };
    // The next tick fails the same way: recorded, but the operators are not told again today.
    let o = env.run(&["--config", cfg, "run", "due", "--as-of", "2026-04-03"]);
    assert_eq!(code(&o), 69);
    assert_eq!(alert_count(), 2, "alerted once a day, not at every tick");
    // A pass that cannot start at all (the store unreachable) alerts too.
    env.store_url = Some("postgres://postgres@127.0.0.1:1/none".into());
    let o = env.run(&["--config", cfg, "run", "due", "--as-of", "2026-04-03"]);
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("未能开始任何任务（退出码 69）"));
    assert_eq!(alert_count(), 3, "the store being down is worth one alert");
    env.store_url = None;
    // The source back: the next pass completes and says so.
    env.source_url = None;
    env.ok(&["--config", cfg, "run", "due", "--as-of", "2026-04-03"]);
    server.kill().unwrap();
    let log = String::from_utf8_lossy(&server.wait_with_output().unwrap().stderr).into_owned();
    let fail = log.find("GET /ping/fail").unwrap_or_else(|| panic!("no failure ping: {log}"));
    let ok = log.find("GET /ping HTTP").unwrap_or_else(|| panic!("no success ping: {log}"));
    assert!(fail < ok, "{log}");
}

#[test]
fn json_logs_carry_the_job_period_and_run_id() {
    let env = Env::new(&ops());
    let o = env.run(&["--log-format", "json", "run", "monthly", "--month", "2026-02"]);
    assert_eq!(code(&o), 0);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let extracted = lines
        .iter()
        .find(|l| l["fields"]["message"] == "extracted")
        .unwrap_or_else(|| panic!("no extraction line: {stderr}"));
    let span = &extracted["span"];
    assert_eq!(span["job"], "monthly", "{extracted}");
    assert_eq!(span["period"], "2026-02", "{extracted}");
    let run_id = span["run_id"].as_str().unwrap_or_else(|| panic!("no run_id: {extracted}"));
    assert!(run_id.starts_with("monthly-2026-02-"), "{run_id}");
    // The ledger knows the run by the same id.
    let store = sqlite_url(&env.store());
    assert_eq!(
        store_count(
            &store,
            &format!("SELECT COUNT(*) FROM run_ledger WHERE run_id = '{run_id}' AND status = 'succeeded'")
        ),
        Some(1)
    );
}

#[test]
fn a_job_definition_names_who_gets_its_overview_once_per_period() {
    let env = Env::new(&ops());
    let jobs = env.dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    for name in ["monthly", "quarterly", "renewal", "annual"] {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("jobs/{name}.toml"));
        let mut text = std::fs::read_to_string(shipped).unwrap();
        if name == "monthly" {
            text.push_str("recipients = [\"watch@sc.example.cn\"]\n");
        }
        std::fs::write(jobs.join(format!("{name}.toml")), text).unwrap();
    }
    let config = config_with(env.dir.path(), "");
    // config_with points at the repository's jobs/: point it at the copy instead.
    let text = std::fs::read_to_string(&config).unwrap();
    let repo_jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs").display().to_string();
    std::fs::write(&config, text.replace(&repo_jobs, jobs.to_str().unwrap())).unwrap();
    let cfg = config.to_str().unwrap();
    let out = env.ok(&["--config", cfg, "run", "monthly", "--month", "2026-02"]);
    assert!(out.contains("概览邮件：新加入待发 1 封"), "{out}");
    let overview = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir.join("outbox"))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .filter(|m| m.contains("To: watch@sc.example.cn"))
            .collect()
    };
    let sent = overview(&env.out());
    assert_eq!(sent.len(), 1);
    for csv in ["scores.csv", "indicators.csv"] {
        assert!(sent[0].contains(&format!("filename=\"{csv}\"")), "{csv} not attached");
    }
    // A rerun of the period sends nothing new.
    let again = env.ok(&["--config", cfg, "run", "monthly", "--month", "2026-02"]);
    assert!(again.contains("概览邮件：新加入待发 0 封"), "{again}");
    assert_eq!(overview(&env.out()).len(), 1);
    // A bad address in a job file is a configuration error, named with the others.
    let monthly = jobs.join("monthly.toml");
    let text = std::fs::read_to_string(&monthly).unwrap();
    std::fs::write(&monthly, text.replace("watch@sc.example.cn", "not an address")).unwrap();
    let o = env.run(&["--config", cfg, "check-config"]);
    assert_eq!(code(&o), 78);
    assert!(String::from_utf8_lossy(&o.stderr).contains("jobs/monthly.toml: recipients: not an e-mail address"));
}

/// Within 60 days of the calendar's end, `run due` says which year is missing and mails the alert
/// recipients, once a day: the next tick of the same day says nothing more.
#[test]
fn run_due_warns_once_a_day_before_the_calendar_runs_out() {
    let env = Env::new(&ops());
    let config = config_with(env.dir.path(), "first_period = \"2026-10\"\nalert_recipients = [\"ops@sc.example.cn\"]");
    let cfg = config.to_str().unwrap();
    let pass = || {
        let mut c = env.cmd(&["--config", cfg, "run", "due", "--as-of", "2026-11-20"]);
        c.env("ICT_PARTNERS_NOW", "2026-11-20 23:00:00");
        let o = c.output().unwrap();
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let calendar_alerts = || {
        std::fs::read_dir(env.out().join("outbox"))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .filter(|m| m.contains("To: ops@sc.example.cn") && m.contains("calendar has no data for 2027"))
            .count()
    };
    let first = pass();
    assert!(first.contains("警告：工作日历没有 2027 年的数据，42 天后用完"), "{first}");
    assert_eq!(calendar_alerts(), 1);
    let second = pass();
    assert!(!second.contains("warning"), "{second}");
    assert_eq!(calendar_alerts(), 1, "once a day, not at every tick");
}
