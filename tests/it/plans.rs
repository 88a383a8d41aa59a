//! The extraction queries stay linear in the size of the operations database on a server as
//! installed (PostgreSQL's 4 MB `work_mem` included): `EXPLAIN` of every query file of
//! `sql/extract/postgres` and `sql/extract/mysql`, read from the repository as it is now, for the
//! month 2026-10, on a scratch database of the contract's schema holding a few thousand generated
//! tickets, pauses and orders (analyzed, so the planner has statistics), shows no subquery run per
//! row and no table scanned again per row of another. The checks are also shown the pauses query
//! that never ended at a million tickets (`ticket_id IN (SELECT … FROM tickets …) OR …`), and must
//! refuse it.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The month's values, written where a query says `:start`, `:end` (exclusive) and `:month`.
const START: &str = "'2026-10-01 00:00:00'";
const END: &str = "'2026-11-01 00:00:00'";
const MONTH: &str = "'2026-10'";

/// The pauses query as it was, in each dialect: its `IN` under an `OR` cannot become a join.
const IN_OR_PAUSES_POSTGRES: &str = "SELECT ticket_id::text AS ticket_id FROM ticket_pauses
WHERE ticket_id IN (SELECT ticket_id FROM tickets
                    WHERE opened_at < CAST(:end AS timestamp) AND (resolved_at IS NULL OR resolved_at >= CAST(:start AS timestamp) OR opened_at >= CAST(:start AS timestamp)))
   OR (paused_at >= CAST(:start AS timestamp) AND paused_at < CAST(:end AS timestamp))";
const IN_OR_PAUSES_MYSQL: &str = "SELECT ticket_id FROM ticket_pauses
WHERE ticket_id IN (SELECT ticket_id FROM tickets
                    WHERE opened_at < :end AND (resolved_at IS NULL OR resolved_at >= :start OR opened_at >= :start))
   OR (paused_at >= :start AND paused_at < :end)";
/// A join no key can serve: every pause against every ticket.
const RANGE_JOIN: &str = "SELECT p.ticket_id, t.partner_id FROM ticket_pauses p
JOIN tickets t ON t.opened_at <= p.paused_at AND t.resolved_at > p.paused_at";

/// A scratch database on `admin`'s server with the contract's schema (`sql/contract/`, as
/// `gen-data` writes it) and six months of generated data up to 2026-10: 3000 tickets, about 220
/// pauses, about 1000 orders. Analyzed, so the plans are the ones these statistics give (the
/// statistics of tables this small are exact: the plans are the same every run).
fn loaded(admin: &'static str, tag: &str) -> Scratch {
    let db = Scratch::new(admin, tag);
    let o = Command::new(BIN)
        .args([
            "gen-data",
            "--out",
            &db.url(),
            "--partners",
            "8",
            "--tickets-per-month",
            "500",
            "--months",
            "2026-05..2026-10",
            "--seed",
            "7",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let analyze = if admin == PG_ADMIN { "ANALYZE" } else { "ANALYZE TABLE tickets, ticket_pauses, orders" };
    admin_sql(&db.url(), analyze);
    db
}

/// Every extraction query file of a dialect's folder, by file name, read from the repository.
fn query_files(dialect: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/extract").join(dialect);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    // The contract's sixteen queries (fifteen datasets and the open tickets), the pauses among them.
    assert!(files.len() >= 16, "{} query files in {}", files.len(), dir.display());
    assert!(files.iter().any(|(name, _)| name == "ticket_pauses.sql"));
    files
}

/// The query as `src/sources/mod.rs` (`placeholders`) reads it, with the month's values written
/// in where it puts placeholders: comments dropped first (a token in a comment is no parameter),
/// then each whole token not preceded by a colon (`x::text` is a cast). The pieces' bounds are
/// PostgreSQL's whole table (the tickets' page ranges, as `tid`s); no MySQL query has them.
fn with_literals(sql: &str) -> String {
    const TOKENS: [(&str, &str); 5] = [
        (":start", START),
        (":end", END),
        (":month", MONTH),
        (":part_lo", "'(0,0)'"),
        (":part_hi", "'(4294967295,0)'"),
    ];
    let code: String = sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut out = String::with_capacity(code.len());
    let mut rest = code.as_str();
    while let Some(pos) = rest.find(':') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let hit = TOKENS.iter().find(|(token, _)| {
            tail.starts_with(token) && !tail[token.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        match hit {
            Some((token, value)) if !out.ends_with(':') => {
                out.push_str(value);
                rest = &tail[token.len()..];
            }
            _ => {
                out.push(':');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// PostgreSQL's plan of each query: as JSON (to walk) and as text (to show). Sent unprepared,
/// without parameters: the plan for the month's values, as a first execution gets it.
fn pg_plans(url: &str, queries: &[String]) -> Vec<(Value, String)> {
    runtime().block_on(async {
        use sqlx::Row;
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        let mut plans = Vec::new();
        for sql in queries {
            let explain = format!("EXPLAIN (FORMAT JSON) {sql}");
            let row = sqlx::raw_sql(&explain).fetch_one(&pool).await.unwrap_or_else(|e| panic!("{e}: {sql}"));
            // A json column, in the text format of an unprepared query.
            let json: String = row.try_get_unchecked(0).unwrap();
            let text_rows = sqlx::raw_sql(&format!("EXPLAIN {sql}")).fetch_all(&pool).await.unwrap();
            let text: Vec<String> = text_rows.iter().map(|r| r.get::<String, _>(0)).collect();
            let plan: Value = serde_json::from_str(&json).unwrap();
            plans.push((plan, text.join("\n")));
        }
        pool.close().await;
        plans
    })
}

/// Whether a plan node or any node below it reads `table`.
fn pg_reads(node: &Value, table: &str) -> bool {
    node["Relation Name"] == table || node["Plans"].as_array().into_iter().flatten().any(|c| pg_reads(c, table))
}

fn pg_walk(node: &Value, found: &mut Vec<String>) {
    if node["Node Type"] == "Nested Loop" && pg_reads(node, "tickets") {
        found.push(format!("a nested loop over the tickets ({} join)", node["Join Type"].as_str().unwrap_or("?")));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        pg_walk(child, found);
    }
}

/// What would make a PostgreSQL plan grow faster than the tables it reads; nothing when linear.
///
/// - Any `SubPlan`, hashed or not: a subquery under an `OR` (or in the select list) is run per row
///   of the outer query, and the planner hashes it only while the hash fits in work_mem. The
///   small tables here get a "hashed SubPlan"; the same query at a million tickets on a server as
///   installed got a plain one, rescanning a million tickets for every pause. Looked for in the
///   plan's text, where PostgreSQL names every kind of it.
/// - A `Nested Loop` with the tickets anywhere below it, on either side: its inner side runs once
///   per outer row, so either the tickets are rescanned per row of something else or something is
///   rescanned per ticket. Hash and merge joins read each side once (a hash join that outgrows
///   work_mem goes in batches, still linear). A nested loop probing an index per row would be
///   n·log n, but the planner picks it only where it expects few outer rows, and an index
///   condition can be a range (a scan per row); the month's queries need no nested loop over the
///   tickets at all, so none is let through: simple to check and not fooled by estimates.
fn pg_problems(plan: &Value, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    if text.contains("SubPlan") {
        found.push("a SubPlan (a subquery run per row)".to_string());
    }
    pg_walk(&plan[0]["Plan"], &mut found);
    found
}

/// One row of MariaDB's tabular `EXPLAIN`: a table access in its join order.
#[derive(Debug)]
struct Access {
    id: Option<String>,
    select_type: String,
    table: String,
    kind: String,
    extra: String,
}

/// MariaDB's plan of each query, row by row. Sent as text (no prepared statement), values read as
/// the text the server sends.
fn mysql_plans(url: &str, queries: &[String]) -> Vec<Vec<Access>> {
    runtime().block_on(async {
        use sqlx::Row;
        let pool = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        let mut plans = Vec::new();
        for sql in queries {
            let rows = sqlx::raw_sql(&format!("EXPLAIN {sql}"))
                .fetch_all(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"));
            let text = |r: &sqlx::mysql::MySqlRow, c: &str| -> Option<String> { r.try_get_unchecked(c).unwrap() };
            plans.push(
                rows.iter()
                    .map(|r| Access {
                        id: text(r, "id"),
                        select_type: text(r, "select_type").unwrap_or_default(),
                        table: text(r, "table").unwrap_or_default(),
                        kind: text(r, "type").unwrap_or_default(),
                        extra: text(r, "Extra").unwrap_or_default(),
                    })
                    .collect(),
            );
        }
        pool.close().await;
        plans
    })
}

/// What would make a MariaDB plan grow faster than the tables it reads; nothing when linear.
///
/// MariaDB joins by nested loops only (a hash join needs `join_cache_level` 3 or more; installed,
/// it is 2), so a linear join is one where every table after the first of its SELECT is found by
/// key for each row before it: `eq_ref`, `ref` (an index lookup: the work is the rows it finds)
/// or `const`/`system`. A table read `ALL`, `index` or `range` there is read again for every
/// block of rows of the join buffer, quadratic (an `ALL` of tickets behind the pauses, for one);
/// `hash_*` (a hash join, on a server configured for it) reads it once. And no SELECT may be
/// `DEPENDENT` or `UNCACHEABLE`: it runs again for each row of the outer query. (The old pauses
/// query was a dependent subquery probing the tickets' primary key per pause: linear in practice,
/// but only by that key, and a per-row subquery is what this check rules out.)
fn mysql_problems(plan: &[Access]) -> Vec<String> {
    const BY_KEY: [&str; 4] = ["eq_ref", "ref", "const", "system"];
    let mut found = Vec::new();
    for (i, a) in plan.iter().enumerate() {
        if a.select_type.contains("DEPENDENT") || a.select_type.contains("UNCACHEABLE") {
            found.push(format!("{} is read in a {} (run per outer row)", a.table, a.select_type));
        }
        let joined = i > 0 && a.id.is_some() && plan[i - 1].id == a.id;
        if joined && !BY_KEY.contains(&a.kind.as_str()) && !a.kind.starts_with("hash_") {
            found.push(format!(
                "{} is joined by {} ({}): read again per block of {} rows",
                a.table,
                a.kind,
                a.extra,
                plan[i - 1].table
            ));
        }
    }
    found
}

#[test]
fn every_postgres_extraction_query_plans_without_a_per_row_subplan_or_a_nested_loop_over_the_tickets() {
    let db = loaded(PG_ADMIN, "pgplans");
    let files = query_files("postgres");
    let queries: Vec<String> = files.iter().map(|(_, sql)| with_literals(sql)).collect();
    let plans = pg_plans(&db.url(), &queries);
    let mut failures = Vec::new();
    for ((name, _), (json, text)) in files.iter().zip(&plans) {
        let problems = pg_problems(json, text);
        if !problems.is_empty() {
            failures.push(format!("{name}: {}\n{text}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "plans that are not linear:\n\n{}", failures.join("\n\n"));
}

#[test]
fn every_mariadb_extraction_query_plans_without_a_dependent_subquery_and_joins_by_key() {
    let db = loaded(MY_ADMIN, "myplans");
    let files = query_files("mysql");
    let queries: Vec<String> = files.iter().map(|(_, sql)| with_literals(sql)).collect();
    let plans = mysql_plans(&db.url(), &queries);
    let mut failures = Vec::new();
    for ((name, _), plan) in files.iter().zip(&plans) {
        let problems = mysql_problems(plan);
        if !problems.is_empty() {
            failures.push(format!("{name}: {}\n{plan:#?}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "plans that are not linear:\n\n{}", failures.join("\n\n"));
}

/// The checks above would see the plans that are not linear: the old pauses query's subquery
/// and a join that pairs every pause with every ticket.
#[test]
fn the_plan_checks_refuse_the_in_or_pauses_query_and_a_join_by_no_key() {
    let pg = loaded(PG_ADMIN, "pgbadplans");
    let plans = pg_plans(&pg.url(), &[with_literals(IN_OR_PAUSES_POSTGRES), with_literals(RANGE_JOIN)]);
    let problems: Vec<Vec<String>> = plans.iter().map(|(json, text)| pg_problems(json, text)).collect();
    assert!(problems[0].iter().any(|p| p.contains("SubPlan")), "{problems:?}\n{}", plans[0].1);
    assert!(problems[1].iter().any(|p| p.contains("nested loop over the tickets")), "{problems:?}\n{}", plans[1].1);

    let my = loaded(MY_ADMIN, "mybadplans");
    let plans = mysql_plans(&my.url(), &[with_literals(IN_OR_PAUSES_MYSQL), with_literals(RANGE_JOIN)]);
    let problems: Vec<Vec<String>> = plans.iter().map(|plan| mysql_problems(plan)).collect();
    assert!(problems[0].iter().any(|p| p.contains("DEPENDENT SUBQUERY")), "{problems:?}\n{:#?}", plans[0]);
    assert!(problems[1].iter().any(|p| p.contains("joined by ALL")), "{problems:?}\n{:#?}", plans[1]);
}

#[test]
fn literals_go_where_the_source_reader_puts_placeholders() {
    let sql = "-- for :month\nWHERE a < :end AND (b >= :start OR c >= :start) AND x::text = y AND :monthly = m";
    assert_eq!(
        with_literals(sql),
        format!("\nWHERE a < {END} AND (b >= {START} OR c >= {START}) AND x::text = y AND :monthly = m")
    );
}
