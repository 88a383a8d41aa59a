//! Mail end to end: a real SMTP server on loopback (aiosmtpd), the real binary, and a real MIME
//! parser and xlsx reader (Python's email package and openpyxl) on what arrived.

use crate::common::*;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The SMTP sink, killed when dropped.
struct Server(Child);

impl Server {
    fn start(port: u16, dir: &Path) -> Self {
        Self::spawn(port, dir, None)
    }
    fn refusing(port: u16, dir: &Path) -> Self {
        Self::spawn(port, dir, Some("--refuse"))
    }
    fn stalling(port: u16, dir: &Path) -> Self {
        Self::spawn(port, dir, Some("--stall"))
    }
    fn spawn(port: u16, dir: &Path, mode: Option<&str>) -> Self {
        let child = python()
            .arg(helper("smtp_sink.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .args(mode)
            .stdout(Stdio::null())
            .spawn()
            .expect("the test Python runs the SMTP sink (tests/run.sh provisions aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the SMTP sink did not start (is aiosmtpd installed?)");
            std::thread::sleep(Duration::from_millis(100));
        }
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn inspect(dir: &Path) -> Vec<serde_json::Value> {
    let o = python().arg(helper("inspect_mail.py")).arg(dir).output().unwrap();
    assert!(o.status.success(), "inspect_mail.py: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap().as_array().unwrap().clone()
}

fn emls(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map_or(0, |d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "eml")).count())
}

/// A scratch store and output folder, a mailbox folder and a free port for the SMTP sink.
struct MailEnv {
    env: Env,
    mailbox: std::path::PathBuf,
    port: u16,
}

impl MailEnv {
    fn new() -> Self {
        let env = Env::new(&ops());
        let mailbox = env.dir.path().join("mailbox");
        std::fs::create_dir_all(&mailbox).unwrap();
        MailEnv { env, mailbox, port: free_port() }
    }

    /// Runs the binary with the shipped configuration and the sink's SMTP URL.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = self.env.cmd(args);
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ICT_PARTNERS_SMTP_URL", format!("smtp://127.0.0.1:{}", self.port));
        c.output().unwrap()
    }
}

#[test]
fn monthly_mail_arrives_once_and_survives_a_server_outage() {
    let m = MailEnv::new();
    let (env, mailbox, port) = (&m.env, m.mailbox.as_path(), m.port);
    let run = |args: &[&str]| m.run(args);

    let server = Server::start(port, mailbox);
    let o = run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let mails = inspect(mailbox);
    // config/ict-partners.toml: two departments with one manager each, plus leadership.
    assert_eq!(mails.len(), 3, "{mails:#?}");
    let scores_csv = env.read("monthly/2026-01/scores.csv");
    for m in &mails {
        let subject = m["subject"].as_str().unwrap();
        assert!(subject.starts_with("【草稿】【ICT支撑合作伙伴月度考核"), "subject decodes to Chinese: {subject}");
        let types: Vec<&str> = m["types"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert!(
            types.contains(&"multipart/alternative") && types.contains(&"text/plain") && types.contains(&"text/html")
        );
        let mut html_cids: Vec<&str> = m["html_cids"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let mut inline: Vec<&str> = m["inline_cids"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        html_cids.sort_unstable();
        inline.sort_unstable();
        assert!(!html_cids.is_empty());
        assert_eq!(html_cids, inline, "every image the HTML shows is in the message");
        assert_eq!(m["attachments"][0]["ascii"].as_str().unwrap(), "ict-partners-2026-01.xlsx");
        assert_eq!(m["attachments"][0]["utf8"].as_str().unwrap(), "月度考核-2026-01.xlsx");
        // The workbook holds the same scores as scores.csv.
        for line in scores_csv.lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            let in_xlsx = &m["scores"][cols[0]];
            match cols[5] {
                "" => assert!(in_xlsx.is_null(), "{line}"),
                s => assert_eq!(in_xlsx.as_f64().unwrap(), s.parse::<f64>().unwrap(), "{line}"),
            }
        }
    }
    let to: Vec<&str> = mails.iter().map(|m| m["to"].as_str().unwrap()).collect();
    for who in ["manager.zqkh@sc.example.cn", "manager.wlb@sc.example.cn", "leaders.zqkh@sc.example.cn"] {
        assert!(to.contains(&who), "{to:?}");
    }

    // A rerun of the month sends nothing new.
    let o = run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(emls(mailbox), 3);

    // Server down: results are committed and written, the run says 69, the mail waits.
    drop(server);
    let o = run(&["run", "monthly", "--month", "2026-02"]);
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(env.out().join("monthly/2026-02/scores.csv").exists());
    let o = run(&["run", "monthly", "--month", "2026-03"]);
    assert_eq!(code(&o), 69);
    let march = env.read("monthly/2026-03/scores.csv");
    assert!(
        march.contains("P04,") && march.contains("two_c_grades"),
        "February was stored despite the outage: {march}"
    );

    // Server back: a flush delivers both months exactly once, and a second flush nothing.
    let _server = Server::start(port, mailbox);
    let o = run(&["mail", "flush"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(emls(mailbox), 9);
    let o = run(&["mail", "flush"]);
    assert_eq!(code(&o), 0);
    assert_eq!(emls(mailbox), 9);
    let ids: std::collections::BTreeSet<String> =
        inspect(mailbox).iter().map(|m| m["message_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 9, "no message arrived twice");

    // --resend is for when a person asks.
    let o = run(&["run", "monthly", "--month", "2026-01", "--resend"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(emls(mailbox), 12);
}

#[test]
fn without_smtp_messages_are_written_to_the_outbox_once() {
    let env = Env::new(&ops());
    let mut c = env.cmd(&["run", "monthly", "--month", "2026-01"]);
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    assert!(c.output().unwrap().status.success());
    let outbox = env.out().join("outbox");
    assert_eq!(emls(&outbox), 3);
    let mut again = env.cmd(&["run", "monthly", "--month", "2026-01"]);
    again.current_dir(env!("CARGO_MANIFEST_DIR"));
    assert!(again.output().unwrap().status.success());
    assert_eq!(emls(&outbox), 3);
    let index = std::fs::read_to_string(env.out().join("index.html")).unwrap();
    // minijinja escapes `/` in attributes as `&#x2f;`, which every browser reads back.
    assert!(index.contains("monthly&#x2f;2026-01&#x2f;summary.html"), "{index}");
}

#[test]
fn a_server_refusing_after_data_keeps_the_mail_queued_until_it_accepts() {
    let m = MailEnv::new();
    let (env, mailbox, port) = (&m.env, m.mailbox.as_path(), m.port);
    let run = |args: &[&str]| m.run(args);
    let refusing = Server::refusing(port, mailbox);
    let o = run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(env.out().join("monthly/2026-01/scores.csv").exists(), "the results are committed and written");
    assert_eq!(emls(mailbox), 0);
    drop(refusing);
    let _server = Server::start(port, mailbox);
    let o = run(&["mail", "flush"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(emls(mailbox), 3);
    let o = run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 0);
    assert_eq!(emls(mailbox), 3, "delivered exactly once");
}

#[test]
fn a_server_that_times_out_after_data_leaves_the_mail_queued() {
    let env = Env::new(&ops());
    // The shipped configuration with a 2-second SMTP timeout.
    let config = env.dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    for f in ["rules.toml", "calendar-cn.toml"] {
        std::fs::copy(root.join(f), config.join(f)).unwrap();
    }
    let app = std::fs::read_to_string(root.join("ict-partners.toml"))
        .unwrap()
        .replace("# timeout_seconds = 30", "timeout_seconds = 2");
    std::fs::write(config.join("ict-partners.toml"), app).unwrap();
    let mailbox = env.dir.path().join("mailbox");
    std::fs::create_dir_all(&mailbox).unwrap();
    let port = free_port();
    let run = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.arg("--config")
            .arg(config.join("ict-partners.toml"))
            .env("ICT_PARTNERS_SMTP_URL", format!("smtp://127.0.0.1:{port}"));
        c.output().unwrap()
    };
    let stalled = Server::stalling(port, &mailbox);
    let started = Instant::now();
    let o = run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(started.elapsed() < Duration::from_secs(30), "the timeout is honoured");
    assert!(env.out().join("monthly/2026-01/scores.csv").exists());
    drop(stalled);
    let _server = Server::start(port, &mailbox);
    assert_eq!(code(&run(&["mail", "flush"])), 0);
    assert_eq!(emls(&mailbox), 3);
}

/// A server that accepts the connection and never says a word: the first timeout ends the
/// delivery, the rest stays queued, and the run exits 69 after about one timeout, not one per
/// message.
#[test]
fn a_silent_mail_server_costs_one_timeout_not_one_per_message() {
    let env = Env::new(&ops());
    let config = env.dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    for f in ["rules.toml", "calendar-cn.toml"] {
        std::fs::copy(root.join(f), config.join(f)).unwrap();
    }
    let app = std::fs::read_to_string(root.join("ict-partners.toml"))
        .unwrap()
        .replace("# timeout_seconds = 30", "timeout_seconds = 1");
    std::fs::write(config.join("ict-partners.toml"), app).unwrap();
    // The kernel completes the handshake for connections in the backlog: nobody ever answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let run = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.arg("--config")
            .arg(config.join("ict-partners.toml"))
            .env("ICT_PARTNERS_SMTP_URL", format!("smtp://127.0.0.1:{port}"));
        c.output().unwrap()
    };
    for m in ["2026-01", "2026-02", "2026-03", "2026-04"] {
        let o = run(&["run", "monthly", "--month", m]);
        assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    }
    let queued = run(&["mail", "list", "--queued"]);
    let listing = String::from_utf8_lossy(&queued.stdout);
    assert!(listing.contains("共 12 封，其中 12 封待发"), "{listing}");
    let started = Instant::now();
    // -v: the log a person asks for beside the command's own words.
    let o = run(&["mail", "flush", "-v"]);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 69, "{err}");
    assert!(err.contains("已发 0 封，12 封在待发队列中"), "the operator is told in the locale's words: {err}");
    assert!(err.contains("12 messages still waiting"), "one log line says how many wait: {err}");
    // One timeout (1 s), not twelve.
    assert!(took < Duration::from_secs(6), "the flush took {took:?}");
    drop(silent);
}

#[test]
fn run_due_retries_the_mail_not_the_computation_until_the_server_is_back() {
    let m = MailEnv::new();
    let config =
        config_with(m.env.dir.path(), "first_period = \"2026-02\"\nretry_attempts = 4\nretry_backoff_seconds = 2");
    // No server yet: the month is computed and stored, its mail waits.
    let mut c = m.env.cmd(&["--config", config.to_str().unwrap(), "run", "due", "--as-of", "2026-03-03"]);
    c.env("ICT_PARTNERS_SMTP_URL", format!("smtp://127.0.0.1:{}", m.port)).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let store = m.env.store();
    let stored = || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", store.display())).await.ok()?;
            let n: Option<i64> = sqlx::query_scalar(
                "SELECT COUNT(*) FROM run_ledger WHERE period = '2026-02' AND status = 'succeeded' AND error LIKE '%queued%'",
            )
            .fetch_one(&pool)
            .await
            .ok();
            pool.close().await;
            n
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored().unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the month was not stored with its mail queued");
        assert!(child.try_wait().unwrap().is_none(), "run due gave up before the server came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The server comes back during the backoff: the next attempt delivers what waited.
    let _server = Server::start(m.port, &m.mailbox);
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("月度考核 2026-02：完成（结果已保存；邮件：已发出 3 封"), "{out}");
    let mails = inspect(&m.mailbox);
    let monthly: Vec<&serde_json::Value> =
        mails.iter().filter(|x| x["subject"].as_str().unwrap().contains("2026-02")).collect();
    assert_eq!(monthly.len(), 3, "the month's three messages, once each: {mails:#?}");
    // Computed once: one ledger row for the month, whatever its status (a second computation
    // would leave a superseded row beside the succeeded one).
    let runs =
        query_strings(&m.env.store(), "SELECT status FROM run_ledger WHERE job = 'monthly' AND period = '2026-02'");
    assert_eq!(runs, ["succeeded"]);
}
