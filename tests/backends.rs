//! The same generated operations data in SQLite, PostgreSQL and MariaDB gives byte-identical
//! outputs. Each test creates its own database on the local servers and drops it.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";
const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

/// A database of its own on a server, dropped when the test ends.
struct Scratch {
    admin: &'static str,
    name: String,
}

impl Scratch {
    fn new(admin: &'static str, tag: &str) -> Self {
        let name = format!("ict_{tag}_{}_{}", std::process::id(), rand_suffix());
        admin_sql(admin, &format!("CREATE DATABASE {name}"));
        Scratch { admin, name }
    }
    fn url(&self) -> String {
        let base = self.admin.rsplit_once('/').unwrap().0;
        format!("{base}/{}", self.name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        admin_sql(self.admin, &format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

fn admin_sql(url: &str, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let pool =
            sqlx::AnyPool::connect(url).await.unwrap_or_else(|e| panic!("the local server at {url} is needed: {e}"));
        pool.execute(sql).await.unwrap();
        pool.close().await;
    });
}

fn gen_data(out: &str) {
    let o = Command::new(BIN)
        .args([
            "gen-data",
            "--out",
            out,
            "--partners",
            "8",
            "--tickets-per-month",
            "250",
            "--months",
            "2026-01..2026-06",
            "--seed",
            "11",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn run_all(source: &str) -> Env {
    let mut env = Env::new(Path::new("unused"));
    env.source_url = Some(source.to_string());
    for m in 1..=6 {
        env.ok(&["run", "monthly", "--month", &format!("2026-{m:02}")]);
    }
    env.ok(&["run", "quarterly", "--quarter", "2026-Q1"]);
    env.ok(&["run", "quarterly", "--quarter", "2026-Q2"]);
    env.ok(&["run", "renewal", "--as-of", "2026-07-01"]);
    env
}

fn csvs(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for kind in ["monthly", "quarterly", "renewal"] {
        for period in std::fs::read_dir(root.join(kind)).unwrap().flatten() {
            for f in std::fs::read_dir(period.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "csv") {
                    let rel = f.path().strip_prefix(root).unwrap().display().to_string();
                    out.push((rel, std::fs::read_to_string(f.path()).unwrap()));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sqlite_postgres_and_mariadb_give_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("ops.sqlite");
    gen_data(sqlite.to_str().unwrap());
    let pg = Scratch::new(PG_ADMIN, "pg");
    let my = Scratch::new(MY_ADMIN, "my");
    gen_data(&pg.url());
    gen_data(&my.url());
    let reference = csvs(&run_all(&format!("sqlite://{}", sqlite.display())).out());
    assert!(reference.len() >= 6 * 3 + 2 + 3, "{} files", reference.len());
    for source in [pg.url(), my.url()] {
        let other = csvs(&run_all(&source).out());
        assert_eq!(other.len(), reference.len(), "{source}");
        for ((name, a), (_, b)) in reference.iter().zip(&other) {
            assert_eq!(a, b, "{name} differs for {source}");
        }
    }
}

#[test]
fn a_missing_table_is_65_and_an_unreachable_server_69() {
    let pg = Scratch::new(PG_ADMIN, "pgmiss");
    admin_sql(&pg.url(), "CREATE TABLE partners (partner_id TEXT, name TEXT, contact_email TEXT)");
    let mut env = Env::new(Path::new("unused"));
    env.source_url = Some(pg.url());
    let o = env.run(&["run", "monthly", "--month", "2026-01"]);
    assert_eq!(code(&o), 65, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("contracts"));
    // check-config names every missing table at once, before any run.
    admin_sql(&pg.url(), "ALTER TABLE partners DROP COLUMN contact_email");
    let mut c = env.cmd(&["check-config"]);
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 65, "{err}");
    for needle in ["contact_email", "contracts", "tickets", "blacklist_entries"] {
        assert!(err.contains(needle), "{needle} not named: {err}");
    }

    for url in ["postgres://postgres@127.0.0.1:1/none", "mysql://root@127.0.0.1:1/none"] {
        env.source_url = Some(url.into());
        let o = env.run(&["run", "monthly", "--month", "2026-01"]);
        assert_eq!(code(&o), 69, "{url}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!env.out().join("monthly/2026-01/scores.csv").exists());
    }
}

#[test]
fn a_source_dropping_the_connection_mid_extraction_is_69_with_nothing_committed() {
    let pg = Scratch::new(PG_ADMIN, "pgdrop");
    let o = Command::new(BIN)
        .args([
            "gen-data",
            "--out",
            &pg.url(),
            "--partners",
            "40",
            "--tickets-per-month",
            "60000",
            "--months",
            "2026-03..2026-03",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut env = Env::new(Path::new("unused"));
    env.source_url = Some(pg.url());
    let mut child =
        env.cmd(&["run", "monthly", "--month", "2026-03"]).stdout(std::process::Stdio::null()).spawn().unwrap();
    // Terminate the pipeline's server sessions until the run gives up.
    let status = loop {
        // Only this test's database: other tests run in parallel on the same server.
        admin_sql(
            PG_ADMIN,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ict-partners' AND datname = '{}'",
                pg.name
            ),
        );
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(69));
    assert!(!env.out().join("monthly/2026-03/scores.csv").exists(), "nothing written");
    if env.store().exists() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let runs: i64 = rt.block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.store().display())).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM monthly_runs").fetch_one(&pool).await.unwrap()
        });
        assert_eq!(runs, 0, "nothing committed");
    }
}
