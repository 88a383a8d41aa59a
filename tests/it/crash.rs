//! Crash safety: SIGKILL a monthly and a quarterly run at many points (timed across the whole
//! run: extraction, store writes, report writing, mail) and check that the store holds either the
//! previous results or the complete new ones, that no output file is half-written, and that the
//! next run completes with no mail lost or doubled. `ICT_PARTNERS_KILL_POINTS` sets how many kill
//! points each job gets (default 10 in CI; more on demand).

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

/// A count from the store, whichever backend it is on.
fn count(store: &str, sql: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(store).await.unwrap();
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    })
}

/// A scratch environment whose store is a fresh SQLite file, or a fresh database on a server.
fn scratch(source: &Path, server: Option<&'static str>) -> (Env, String, Option<Scratch>) {
    let mut env = Env::new(source);
    match server {
        None => {
            let url = format!("sqlite://{}", env.store().display());
            (env, url, None)
        }
        Some(admin) => {
            let db = Scratch::new(admin, "crash");
            env.store_url = Some(db.url());
            (env, db.url(), Some(db))
        }
    }
}

/// Runs to completion, waiting while a killed run's server session still holds the period (the
/// server ends it when it notices the client is gone, at the latest when its statement ends).
fn complete(env: &Env, args: &[&str]) {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let o = env.run(args);
        if o.status.success() {
            return;
        }
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(code(&o) == 69 && err.contains("is being computed") && Instant::now() < deadline, "{args:?}: {err}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Files under the output folder by relative path (temporary `.name.tmp-PID` files excluded).
fn outputs(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                out.insert(p.strip_prefix(base).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn kill_points() -> u32 {
    std::env::var("ICT_PARTNERS_KILL_POINTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
}

struct Scenario {
    prepare: &'static [&'static [&'static str]],
    victim: &'static [&'static str],
    /// SQL counting the victim period's stored rows, and the run-marker rows.
    rows_sql: &'static str,
    marker_sql: &'static str,
    csv: &'static str,
}

fn exercise(s: &Scenario, server: Option<&'static str>, points: u32) -> u32 {
    let source = ops();
    // Reference: an uninterrupted run, and how long it takes.
    let (reference, reference_store, _db) = scratch(&source, server);
    for args in s.prepare {
        reference.ok(args);
    }
    let started = Instant::now();
    reference.ok(s.victim);
    let duration = started.elapsed();
    let full_rows = count(&reference_store, s.rows_sql);
    assert!(full_rows > 0);
    let expected = outputs(&reference.out());

    let mut outcomes = [0u32; 2];
    for k in 0..points {
        let (env, store, _db) = scratch(&source, server);
        for args in s.prepare {
            env.ok(args);
        }
        let before = outputs(&env.out());
        // Spread the kill points over the whole run, from the first instant to just past its end.
        let delay = duration.mul_f64(f64::from(k) / f64::from(points.max(2) - 1) * 1.1);
        let mut child = env.cmd(s.victim).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let rows = count(&store, s.rows_sql);
        let markers = count(&store, s.marker_sql);
        assert!(
            rows == 0 && markers == 0 || rows == full_rows && markers == 1,
            "kill point {k} ({delay:?}): {rows} rows, {markers} markers"
        );
        outcomes[usize::from(markers == 1)] += 1;
        // Every output file is either as it was before or complete.
        for (name, bytes) in outputs(&env.out()) {
            let complete = expected.get(&name) == Some(&bytes) || before.get(&name) == Some(&bytes);
            let volatile = name == "index.html" || name.starts_with("outbox/");
            assert!(complete || volatile, "kill point {k}: {name} is half-written");
        }
        // The next run completes, and the outbox ends up exactly as in the reference.
        complete(&env, s.victim);
        let after = outputs(&env.out());
        assert_eq!(after.get(s.csv), expected.get(s.csv), "kill point {k}");
        let mail =
            |o: &BTreeMap<String, Vec<u8>>| o.keys().filter(|n| n.starts_with("outbox/")).cloned().collect::<Vec<_>>();
        assert_eq!(mail(&after), mail(&expected), "kill point {k}: mail lost or doubled");
        assert_eq!(count(&store, "SELECT count(*) FROM outbox WHERE status = 'queued'"), 0);
        // The ledger agrees: no run left running, the completed one recorded.
        assert_eq!(count(&store, "SELECT count(*) FROM run_ledger WHERE status = 'running'"), 0, "kill point {k}");
    }
    eprintln!("{}: killed before the commit {} times, after it {} times", s.csv, outcomes[0], outcomes[1]);
    assert!(outcomes[0] > 0, "a kill at the first instant always lands before the commit");
    points
}

const MONTHLY: Scenario = Scenario {
    prepare: &[&["run", "monthly", "--month", "2026-01"], &["run", "monthly", "--month", "2026-02"]],
    victim: &["run", "monthly", "--month", "2026-03"],
    rows_sql: "SELECT (SELECT count(*) FROM monthly_partner_results WHERE month = '2026-03') \
                   + (SELECT count(*) FROM monthly_indicator_results WHERE month = '2026-03') \
                   + (SELECT count(*) FROM monthly_evidence_frames WHERE month = '2026-03')",
    marker_sql: "SELECT count(*) FROM monthly_runs WHERE month = '2026-03'",
    csv: "monthly/2026-03/scores.csv",
};

#[test]
fn killed_monthly_runs_leave_old_or_complete_results() {
    let n = exercise(&MONTHLY, None, kill_points());
    eprintln!("monthly: {n} kill points exercised");
}

/// The same with the store on PostgreSQL: its transactions and the advisory lock die with the
/// client's connection. Fewer points (each gets a database of its own).
#[test]
fn killed_monthly_runs_on_a_postgres_store_leave_old_or_complete_results() {
    let n = exercise(&MONTHLY, Some(PG_ADMIN), kill_points().div_ceil(2));
    eprintln!("monthly on PostgreSQL: {n} kill points exercised");
}

#[test]
fn killed_quarterly_runs_leave_old_or_complete_results() {
    let n = exercise(
        &Scenario {
            prepare: &[&["run", "quarterly", "--quarter", "2026-Q1"]],
            victim: &["run", "quarterly", "--quarter", "2026-Q2"],
            rows_sql: "SELECT count(*) FROM presales_results WHERE quarter = '2026-Q2'",
            marker_sql: "SELECT count(*) FROM quarterly_runs WHERE quarter = '2026-Q2'",
            csv: "quarterly/2026-Q2/presales.csv",
        },
        None,
        kill_points(),
    );
    eprintln!("quarterly: {n} kill points exercised");
}
