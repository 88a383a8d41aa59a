//! Helpers shared by the integration tests: the binary, the conformance example, scratch stores.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_ict-partners");

pub fn shared() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    assert!(
        dir.join("ops.sqlite").exists(),
        "the conformance example is missing at {} (it sits beside the repository)",
        dir.display()
    );
    dir
}

/// A scratch store and output folder, with the source of the caller's choice.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub source: PathBuf,
    /// A source URL that replaces the SQLite file (PostgreSQL, MySQL).
    pub source_url: Option<String>,
}

impl Env {
    pub fn new(source: &Path) -> Self {
        Env { dir: tempfile::tempdir().unwrap(), source: source.to_path_buf(), source_url: None }
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
            .env("ICT_PARTNERS_STORE_URL", format!("sqlite://{}", self.store().display()))
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
