//! Crash safety: SIGKILL a monthly and a quarterly run at many points (timed across the whole
//! run: extraction, store writes, report writing, mail) and check that the store holds either the
//! previous results or the complete new ones, that no output file is half-written, and that the
//! next run completes with no mail lost or doubled. `ICT_PARTNERS_KILL_POINTS` sets how many kill
//! points each job gets (default 10 in CI; more on demand).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

fn count(db: &Path, sql: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    })
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

fn exercise(s: &Scenario) -> u32 {
    let source = shared().join("ops.sqlite");
    // Reference: an uninterrupted run, and how long it takes.
    let reference = Env::new(&source);
    for args in s.prepare {
        reference.ok(args);
    }
    let started = Instant::now();
    reference.ok(s.victim);
    let duration = started.elapsed();
    let full_rows = count(&reference.store(), s.rows_sql);
    assert!(full_rows > 0);
    let expected = outputs(&reference.out());

    let points = kill_points();
    let mut outcomes = [0u32; 2];
    for k in 0..points {
        let env = Env::new(&source);
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

        let rows = count(&env.store(), s.rows_sql);
        let markers = count(&env.store(), s.marker_sql);
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
        env.ok(s.victim);
        let after = outputs(&env.out());
        assert_eq!(after.get(s.csv), expected.get(s.csv), "kill point {k}");
        let mail =
            |o: &BTreeMap<String, Vec<u8>>| o.keys().filter(|n| n.starts_with("outbox/")).cloned().collect::<Vec<_>>();
        assert_eq!(mail(&after), mail(&expected), "kill point {k}: mail lost or doubled");
        assert_eq!(count(&env.store(), "SELECT count(*) FROM outbox WHERE status = 'queued'"), 0);
    }
    eprintln!("{}: killed before the commit {} times, after it {} times", s.csv, outcomes[0], outcomes[1]);
    assert!(outcomes[0] > 0, "a kill at the first instant always lands before the commit");
    points
}

#[test]
fn killed_monthly_runs_leave_old_or_complete_results() {
    let n = exercise(&Scenario {
        prepare: &[&["run", "monthly", "--month", "2026-01"], &["run", "monthly", "--month", "2026-02"]],
        victim: &["run", "monthly", "--month", "2026-03"],
        rows_sql: "SELECT (SELECT count(*) FROM monthly_partner_results WHERE month = '2026-03') \
                   + (SELECT count(*) FROM monthly_indicator_results WHERE month = '2026-03') \
                   + (SELECT count(*) FROM monthly_evidence WHERE month = '2026-03')",
        marker_sql: "SELECT count(*) FROM monthly_runs WHERE month = '2026-03'",
        csv: "monthly/2026-03/scores.csv",
    });
    eprintln!("monthly: {n} kill points exercised");
}

#[test]
fn killed_quarterly_runs_leave_old_or_complete_results() {
    let n = exercise(&Scenario {
        prepare: &[&["run", "quarterly", "--quarter", "2026-Q1"]],
        victim: &["run", "quarterly", "--quarter", "2026-Q2"],
        rows_sql: "SELECT count(*) FROM presales_results WHERE quarter = '2026-Q2'",
        marker_sql: "SELECT count(*) FROM quarterly_runs WHERE quarter = '2026-Q2'",
        csv: "quarterly/2026-Q2/presales.csv",
    });
    eprintln!("quarterly: {n} kill points exercised");
}
