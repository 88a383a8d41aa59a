//! The same generated operations data in SQLite, PostgreSQL and MariaDB gives byte-identical
//! outputs. Each test creates its own database on the local servers and drops it.

use crate::common::*;
use std::path::Path;
use std::process::Command;

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

/// Runs every job over the generated half-year, approves and publishes a month, and explains one
/// partner: every read and write path of the store.
fn run_all(source: &str, store: Option<String>) -> (Env, String) {
    let mut env = Env::new(Path::new("unused"));
    env.source_url = Some(source.to_string());
    env.store_url = store;
    for m in 1..=6 {
        env.ok(&["run", "monthly", "--month", &format!("2026-{m:02}")]);
    }
    env.ok(&["run", "quarterly", "--quarter", "2026-Q1"]);
    env.ok(&["run", "quarterly", "--quarter", "2026-Q2"]);
    env.ok(&["run", "renewal", "--as-of", "2026-07-01"]);
    env.ok(&["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "王经理"]);
    env.ok(&["publish", "monthly", "--month", "2026-03", "--all-units", "--by", "王经理"]);
    env.ok(&["approve", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "王经理"]);
    let scores = env.read("monthly/2026-03/scores.csv");
    let partner = scores.lines().nth(1).unwrap().split(',').next().unwrap().to_string();
    let explained = env.ok(&["explain", "--partner", &partner, "--month", "2026-03"]);
    (env, explained)
}

/// Blanks the wall-clock times (approved at, computed at) that differ between any two runs.
fn mask_times(text: &str) -> String {
    let is_time = |f: &str| {
        f.len() == 19
            && f.bytes().enumerate().all(|(i, c)| match i {
                4 | 7 => c == b'-',
                10 => c == b' ',
                13 | 16 => c == b':',
                _ => c.is_ascii_digit(),
            })
    };
    text.lines()
        .map(|l| l.split(',').map(|f| if is_time(f) { "<time>" } else { f }).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\n")
}

fn csvs(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for kind in ["monthly", "quarterly", "renewal"] {
        for period in std::fs::read_dir(root.join(kind)).unwrap().flatten() {
            for f in std::fs::read_dir(period.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "csv") {
                    let rel = f.path().strip_prefix(root).unwrap().display().to_string();
                    out.push((rel, mask_times(&std::fs::read_to_string(f.path()).unwrap())));
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
    let (pg_store, my_store) = (Scratch::new(PG_ADMIN, "pgstore"), Scratch::new(MY_ADMIN, "mystore"));
    gen_data(&pg.url());
    gen_data(&my.url());
    let (env, reference_explained) = run_all(&format!("sqlite://{}", sqlite.display()), None);
    let reference = csvs(&env.out());
    assert!(reference.len() >= 6 * 3 + 2 + 3, "{} files", reference.len());
    assert!(reference_explained.contains("2026-03"), "{reference_explained}");
    // Each source once with the SQLite store and once with the store on its own server.
    for (source, store) in
        [(pg.url(), None), (my.url(), None), (pg.url(), Some(pg_store.url())), (my.url(), Some(my_store.url()))]
    {
        let (env, explained) = run_all(&source, store.clone());
        let other = csvs(&env.out());
        assert_eq!(other.len(), reference.len(), "{source} {store:?}");
        for ((name, a), (_, b)) in reference.iter().zip(&other) {
            assert_eq!(a, b, "{name} differs for {source} with store {store:?}");
        }
        assert_eq!(explained, reference_explained, "explain differs for {source} with store {store:?}");
    }
}

#[test]
fn money_is_numeric_in_server_stores() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("ops.sqlite");
    std::fs::copy(ops(), &sqlite).unwrap();
    for store in [Scratch::new(PG_ADMIN, "pgtypes"), Scratch::new(MY_ADMIN, "mytypes")] {
        let mut env = Env::new(&sqlite);
        env.store_url = Some(store.url());
        env.ok(&["run", "monthly", "--month", "2026-03"]);
        let pg = store.admin == PG_ADMIN;
        let (schema, text) = if pg { ("public".to_string(), "TEXT") } else { (store.name.clone(), "CHAR(64)") };
        let types = admin_query(
            &store.url(),
            &format!(
                "SELECT CAST(column_name AS {text}), CAST(data_type AS {text}) FROM information_schema.columns \
                 WHERE table_name = 'monthly_partner_results' AND table_schema = '{schema}'"
            ),
        );
        for money in ["credit_deduction", "effectiveness", "fees_excluded", "fees_total", "score", "settlement"] {
            let ty = &types.iter().find(|(c, _)| c == money).unwrap_or_else(|| panic!("{money}: {types:?}")).1;
            assert!(ty == "numeric" || ty == "decimal", "{money} is {ty} in {}", store.admin);
        }
        // The stored figures are the CSV's to the cent.
        let scores = env.read("monthly/2026-03/scores.csv");
        let stored = admin_query(
            &store.url(),
            &format!(
                "SELECT partner_id, CAST(settlement AS {text}) FROM monthly_partner_results \
                 WHERE settlement IS NOT NULL ORDER BY partner_id"
            ),
        );
        assert!(!stored.is_empty());
        for (partner, settlement) in stored {
            let line = scores.lines().find(|l| l.starts_with(&format!("{partner},"))).unwrap();
            assert!(line.split(',').any(|f| f == settlement), "{partner} {settlement} not in {line}");
        }
    }
}

/// A MariaDB source whose ids are bytes (binary columns hand them over as bytes, not text) gives
/// what the same data as text gives: the big datasets are typed straight from the rows.
#[test]
fn a_mariadb_source_with_binary_ids_reads_like_one_with_text() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("ops.sqlite");
    gen_data(sqlite.to_str().unwrap());
    let my = Scratch::new(MY_ADMIN, "mybin");
    gen_data(&my.url());
    admin_sql(
        &my.url(),
        "ALTER TABLE tickets MODIFY ticket_id VARBINARY(191) NOT NULL, MODIFY partner_id VARBINARY(191) NOT NULL, \
         MODIFY sla_class VARBINARY(191) NOT NULL; \
         ALTER TABLE ticket_pauses MODIFY ticket_id VARBINARY(191) NOT NULL; \
         ALTER TABLE orders MODIFY order_id VARBINARY(191) NOT NULL, MODIFY partner_id VARBINARY(191) NOT NULL",
    );
    let types = admin_query(
        &my.url(),
        "SELECT CAST(COUNT(*) AS CHAR), CAST(MIN(DATA_TYPE) AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND DATA_TYPE = 'varbinary'",
    );
    assert_eq!(types, vec![("6".to_string(), "varbinary".to_string())]);
    let month = |source: String| {
        let mut env = Env::new(Path::new("unused"));
        env.source_url = Some(source);
        env.ok(&["run", "monthly", "--month", "2026-03"]);
        ["scores.csv", "indicators.csv", "data_quality.csv"].map(|f| env.read(&format!("monthly/2026-03/{f}")))
    };
    let (text, bytes) = (month(format!("sqlite://{}", sqlite.display())), month(my.url()));
    assert!(text[1].contains("fault_timeliness"), "{}", text[1]);
    assert_eq!(bytes, text);
}

/// PostgreSQL is read by binary COPY, instants as integers: stamps with a fraction of a second
/// (a deployment's `now()`) read to the second, as the formatted text read before, and give the
/// month the same files as the whole seconds from SQLite; a column the contract does not name is
/// stepped over whatever its type; a contract column in a type not read is named by
/// `check-config` and refused by a run (exit 65).
#[test]
fn a_postgres_source_reads_stamps_to_the_second_and_refuses_an_unread_type() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("ops.sqlite");
    gen_data(sqlite.to_str().unwrap());
    let pg = Scratch::new(PG_ADMIN, "pgfrac");
    gen_data(&pg.url());
    admin_sql(
        &pg.url(),
        "UPDATE tickets SET opened_at = opened_at + interval '0.25 second', \
         resolved_at = resolved_at + interval '0.999999 second'; \
         UPDATE orders SET accepted_at = accepted_at + interval '0.5 second'; \
         ALTER TABLE tickets ADD COLUMN note_blob BYTEA DEFAULT '\\x00ff'",
    );
    let month = |source: String| {
        let mut env = Env::new(Path::new("unused"));
        env.source_url = Some(source);
        env.ok(&["run", "monthly", "--month", "2026-03"]);
        ["scores.csv", "indicators.csv", "data_quality.csv"].map(|f| env.read(&format!("monthly/2026-03/{f}")))
    };
    assert_eq!(month(pg.url()), month(format!("sqlite://{}", sqlite.display())));
    // A flag kept as a numeric is no type the reader takes.
    admin_sql(&pg.url(), "ALTER TABLE tickets ALTER COLUMN critical_outage TYPE numeric");
    let mut env = Env::new(Path::new("unused"));
    env.source_url = Some(pg.url());
    let o = env.run(&["run", "monthly", "--month", "2026-03"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 65, "{err}");
    assert!(err.contains("critical_outage") && err.contains("NUMERIC"), "{err}");
    let mut c = env.cmd(&["check-config"]);
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 65, "{err}");
    assert!(err.contains("tickets: the query returns critical_outage as NUMERIC"), "{err}");
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

#[test]
fn tls_is_used_when_the_url_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("ops.sqlite");
    std::fs::copy(ops(), &sqlite).unwrap();
    let store = Scratch::new(PG_ADMIN, "pgtls");
    let mut env = Env::new(&sqlite);
    // The local server's certificate is self-signed: `require` encrypts without verifying it…
    env.store_url = Some(format!("{}?sslmode=require", store.url()));
    env.ok(&["run", "monthly", "--month", "2026-03"]);
    // …and `verify-full` refuses it, which shows the connection really goes through TLS.
    env.store_url = Some(format!("{}?sslmode=verify-full", store.url()));
    let o = env.run(&["run", "monthly", "--month", "2026-04"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 69, "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
