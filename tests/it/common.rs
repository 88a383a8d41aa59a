//! Helpers shared by the integration tests: the binary, the conformance example, scratch stores,
//! the Python that `tests/run.sh` provisions.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_ict-partners");

/// The conformance example, vendored in the repository (`tests/fixtures/conformance`, a copy of
/// `../shared/conformance` kept current by `cli::vendored_conformance_example_is_current`).
pub fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

/// The conformance example's operations database.
pub fn ops() -> PathBuf {
    conformance().join("ops.sqlite")
}

/// The Python interpreter with the test helpers' packages (aiosmtpd, openpyxl), which
/// `tests/run.sh` provisions in a venv and names in `ICT_TEST_PYTHON`.
pub fn python() -> Command {
    let path = std::env::var("ICT_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("ICT_TEST_PYTHON is not set: run the tests with tests/run.sh (the README's test command), which provisions aiosmtpd and openpyxl")
    });
    Command::new(path)
}

/// A helper script of `tests/helpers/`.
pub fn helper(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers").join(name).display().to_string()
}

/// A scratch store and output folder, with the source of the caller's choice.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub source: PathBuf,
    /// A source URL that replaces the SQLite file (PostgreSQL, MySQL).
    pub source_url: Option<String>,
    /// A store URL that replaces the SQLite store (PostgreSQL, MySQL).
    pub store_url: Option<String>,
}

impl Env {
    pub fn new(source: &Path) -> Self {
        Env { dir: tempfile::tempdir().unwrap(), source: source.to_path_buf(), source_url: None, store_url: None }
    }
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store.sqlite")
    }
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env(
                "ICT_PARTNERS_SOURCE_URL",
                self.source_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.source.display())),
            )
            .env(
                "ICT_PARTNERS_STORE_URL",
                self.store_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.store().display())),
            )
            .env("ICT_PARTNERS_OUTPUT_DIR", self.out())
            .env_remove("ICT_PARTNERS_SMTP_URL")
            .env_remove("ICT_PARTNERS_CONFIG");
        c
    }
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.out().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

/// Creates a SQLite database with the given schema.
pub fn make_db(path: &Path, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    });
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

/// A database of its own on a server, dropped when the test ends.
pub struct Scratch {
    pub admin: &'static str,
    pub name: String,
}

impl Scratch {
    pub fn new(admin: &'static str, tag: &str) -> Self {
        let name = format!("ict_{tag}_{}_{}", std::process::id(), rand_suffix());
        admin_sql(admin, &format!("CREATE DATABASE {name}"));
        Scratch { admin, name }
    }
    pub fn url(&self) -> String {
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

pub fn admin_sql(url: &str, sql: &str) {
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

/// Rows of two text columns from a server database.
pub fn admin_query(url: &str, sql: &str) -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Row;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.into_iter().map(|r| (r.get(0), r.get(1))).collect()
    })
}

/// The shipped configuration with a `[schedule]` section, beside copies of the rules and calendar.
pub fn config_with(dir: &Path, schedule: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in ["rules.toml", "calendar-cn.toml"] {
        std::fs::copy(repo.join("config").join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(repo.join("config/ict-partners.toml")).unwrap();
    let jobs = repo.join("jobs");
    let path = dir.join("ict-partners.toml");
    // The shipped file ends with its (commented-out) [schedule] table: keys appended belong to it.
    let last_table = text.lines().rfind(|l| l.starts_with('['));
    assert_eq!(last_table, Some("[schedule]"), "the shipped config no longer ends with [schedule]");
    std::fs::write(&path, format!("{text}\njobs_dir = \"{}\"\n{schedule}\n", jobs.display())).unwrap();
    path
}

impl Env {
    /// The command with `ICT_PARTNERS_NOW` standing in for the clock.
    pub fn run_at(&self, now: &str, args: &[&str]) -> Output {
        self.cmd(args).env("ICT_PARTNERS_NOW", now).output().unwrap()
    }
    /// `run_at`, which must succeed; its standard output.
    pub fn ok_at(&self, now: &str, args: &[&str]) -> String {
        let o = self.run_at(now, args);
        assert!(o.status.success(), "{args:?} at {now} failed: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
}

/// One text column of a query on a SQLite file (a store, a source).
pub fn query_strings(db: &Path, sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    })
}

/// The shipped rules with a dispute window of 0 days (publication settles at once), beside the
/// calendar they name; returns the rules file's path.
pub fn no_dispute_window(dir: &Path) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    std::fs::copy(repo.join("calendar-cn.toml"), dir.join("calendar-cn.toml")).unwrap();
    let text = std::fs::read_to_string(repo.join("rules.toml")).unwrap();
    assert!(text.contains("window_working_days = 5"));
    let path = dir.join("rules-no-window.toml");
    std::fs::write(&path, text.replace("window_working_days = 5", "window_working_days = 0")).unwrap();
    path.display().to_string()
}
