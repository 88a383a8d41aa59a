//! `gen-data`: a realistic synthetic operations database of the contract's shape, deterministic by
//! seed: partners with after-sales and presales contracts, tickets crossing month ends and holidays,
//! pauses, orders, complaints, surveys, manual scores, violations, fees, presales projects, exits,
//! a blacklist, and a sprinkling of invalid rows and on-hold cases.

use crate::cli::GenDataArgs;
use crate::domain::period::{add_months, Month};
use anyhow::Context;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SCHEMA: &str = include_str!("../../sql/contract/sqlite.sql");
const SCHEMA_POSTGRES: &str = include_str!("../../sql/contract/postgres.sql");
const SCHEMA_MYSQL: &str = include_str!("../../sql/contract/mysql.sql");
const TABLES: [&str; 15] = [
    "partners",
    "contracts",
    "tickets",
    "ticket_pauses",
    "orders",
    "complaints",
    "surveys",
    "manual_scores",
    "violations",
    "fee_items",
    "audit_exclusions",
    "presales_projects",
    "presales_supports",
    "exit_requests",
    "blacklist_entries",
];

const CITIES: [&str; 12] =
    ["成都", "绵阳", "德阳", "宜宾", "南充", "泸州", "乐山", "达州", "遂宁", "自贡", "眉山", "广安"];
const TRADES: [&str; 6] = ["信息技术", "通信工程", "网络服务", "数据服务", "系统集成", "科技"];
const UNITS: [&str; 4] = ["成都分公司政企客户部", "绵阳分公司政企客户部", "德阳分公司政企客户部", "省公司政企客户部"];
const DEPARTMENTS: [&str; 2] = ["政企客户部", "网络部"];

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

type Row = Vec<Option<String>>;

/// Where the generated rows go, one at a time.
trait Sink {
    fn push(&mut self, table: &'static str, row: Row);
    /// Rows written so far.
    fn rows(&self) -> usize;
}

/// Rows per table, kept to be inserted in bulk at the end (the servers; small sizes).
#[derive(Default)]
struct Tables {
    tables: Vec<(&'static str, Vec<Row>)>,
}

impl Sink for Tables {
    fn push(&mut self, table: &'static str, row: Row) {
        match self.tables.iter_mut().find(|(t, _)| *t == table) {
            Some((_, rows)) => rows.push(row),
            None => self.tables.push((table, vec![row])),
        }
    }
    fn rows(&self) -> usize {
        self.tables.iter().map(|(_, r)| r.len()).sum()
    }
}

/// Rows streamed into a new SQLite file through one prepared statement per table, in one
/// transaction without a journal: ten million tickets in well under a minute, in little memory.
struct SqliteWriter {
    conn: rusqlite::Connection,
    rows: usize,
    failed: Option<rusqlite::Error>,
}

impl SqliteWriter {
    fn create(path: &std::path::Path) -> anyhow::Result<Self> {
        if path.exists() {
            std::fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let conn = rusqlite::Connection::open(path).with_context(|| format!("creating {}", path.display()))?;
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")?;
        conn.execute_batch(SCHEMA).context("creating the contract schema")?;
        conn.execute_batch("BEGIN")?;
        Ok(Self { conn, rows: 0, failed: None })
    }

    fn finish(self) -> anyhow::Result<()> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        // A normal rollback journal for whoever reads it next (the pipeline never changes it).
        self.conn.execute_batch("COMMIT; PRAGMA journal_mode = DELETE;")?;
        Ok(())
    }
}

impl Sink for SqliteWriter {
    fn push(&mut self, table: &'static str, row: Row) {
        if self.failed.is_some() {
            return;
        }
        let sql = format!("INSERT INTO {table} VALUES ({})", vec!["?"; row.len()].join(", "));
        let written = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(row.iter())).map(drop));
        match written {
            Ok(()) => self.rows += 1,
            Err(e) => self.failed = Some(e),
        }
    }
    fn rows(&self) -> usize {
        self.rows
    }
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// Generates the database and returns a one-line summary. `--out` is a SQLite file, or a
/// `postgres://` / `mysql://` URL whose contract tables are replaced.
pub(crate) async fn generate(args: &GenDataArgs) -> anyhow::Result<String> {
    let out = args.out.display().to_string();
    let server = match crate::db::Dialect::of_url(&out) {
        Some(crate::db::Dialect::Postgres) => Some((out.clone(), SCHEMA_POSTGRES, false)),
        Some(crate::db::Dialect::MySql) => Some((out.replacen("mariadb:", "mysql:", 1), SCHEMA_MYSQL, true)),
        _ => None,
    };
    let (total, tickets) = match server {
        Some((url, schema, mysql)) => {
            let mut tables = Tables::default();
            let tickets = rows(args, &mut tables);
            load_server(&url, schema, &tables, mysql).await?;
            (tables.rows(), tickets)
        }
        None => {
            let args = args.clone();
            let written = tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, u64)> {
                let mut writer = SqliteWriter::create(&args.out)?;
                let tickets = rows(&args, &mut writer);
                let total = writer.rows();
                writer.finish()?;
                Ok((total, tickets))
            });
            written.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?
        }
    };
    Ok(format!("wrote {total} rows ({tickets} tickets) to {} (seed {})", crate::db::redact_url(&out), args.seed))
}

/// A SQL string literal (our own generated values; quotes doubled, and backslashes for MySQL).
fn literal(v: &Option<String>, mysql: bool) -> String {
    match v {
        None => "NULL".into(),
        Some(s) => {
            let s = if mysql { s.replace('\\', "\\\\") } else { s.clone() };
            format!("'{}'", s.replace('\'', "''"))
        }
    }
}

/// Loads the same rows into PostgreSQL or MySQL/MariaDB, replacing the contract tables.
async fn load_server(url: &str, schema: &str, t: &Tables, mysql: bool) -> anyhow::Result<()> {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.map_err(|e| crate::db::DbError::Unavailable {
        what: format!("opening {}", crate::db::redact_url(url)),
        source: Box::new(e),
    })?;
    for table in TABLES.iter().rev() {
        pool.execute(format!("DROP TABLE IF EXISTS {table}").as_str()).await?;
    }
    // Comments may hold semicolons: drop them before splitting the file into statements.
    let code: String = schema.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    for statement in code.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        pool.execute(statement).await.with_context(|| format!("creating the schema: {statement}"))?;
    }
    for (table, rows) in &t.tables {
        for chunk in rows.chunks(2000) {
            let values: Vec<String> = chunk
                .iter()
                .map(|r| format!("({})", r.iter().map(|v| literal(v, mysql)).collect::<Vec<_>>().join(", ")))
                .collect();
            pool.execute(format!("INSERT INTO {table} VALUES {}", values.join(",\n")).as_str())
                .await
                .with_context(|| format!("filling {table}"))?;
        }
    }
    pool.close().await;
    Ok(())
}

/// Generates the synthetic rows into a sink, deterministic by seed; returns the number of tickets.
fn rows(args: &GenDataArgs, t: &mut dyn Sink) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let (first, last) = args.months;
    let n = args.partners.max(1) as usize;
    let term_start = first.plus(-6).first_day();
    let term_end = add_months(last.last_day(), 9);

    for p in 0..n {
        let id = format!("P{:02}", p + 1);
        let name = format!(
            "{}{}{}有限公司",
            CITIES[p % CITIES.len()],
            ["天府", "蜀信", "科联", "恒通", "川南", "嘉陵"][p % 6],
            TRADES[p % TRADES.len()]
        );
        t.push("partners", vec![s(&id), s(name), s(format!("ops@{}.example.cn", id.to_lowercase()))]);
        let dept = DEPARTMENTS[p % 2];
        // Most partners hold an after-sales contract for the whole range; some start late, one ends
        // early, and every third also does presales.
        let (start, end, terminated) = match p % 7 {
            // The weakest partners' contract comes up for renewal right after the range.
            _ if p + 2 == n && n > 2 => (term_start, add_months(last.last_day(), 1), None),
            3 => (first.plus(2).first_day() + Duration::days(14), term_end, None),
            5 => (term_start, add_months(last.last_day(), 2), None),
            6 if p > 6 => (term_start, term_end, Some(first.plus(6).first_day() + Duration::days(19))),
            _ => (term_start, term_end, None),
        };
        let cid = format!("C-{id}-AS1");
        t.push(
            "contracts",
            vec![
                s(&cid),
                s(&id),
                s("aftersales"),
                s(start),
                s(end),
                s(dept),
                s(format!("owner.{}@sc.example.cn", cid.to_lowercase())),
                terminated.map(|d: NaiveDate| d.to_string()),
            ],
        );
        if p % 3 == 2 {
            let pid = format!("C-{id}-PS1");
            let ps_end = add_months(last.last_day(), (p % 4) as i32);
            t.push(
                "contracts",
                vec![
                    s(&pid),
                    s(&id),
                    s("presales"),
                    s(term_start),
                    s(ps_end),
                    s("政企客户部"),
                    s(format!("owner.{}@sc.example.cn", pid.to_lowercase())),
                    None,
                ],
            );
        }
    }

    let classes = [("AAA", 4.0), ("AA", 8.0), ("A", 24.0), ("standard", 40.0)];
    let mut ticket_no = 0u64;
    let mut order_no = 0u64;
    let mut survey_no = 0u64;
    let mut complaint_no = 0u64;
    let mut fee_no = 0u64;
    let mut month = first;
    while month <= last {
        let seconds_in_month = (month.end() - month.start()).num_seconds();
        for _ in 0..args.tickets_per_month {
            ticket_no += 1;
            let tid = format!("TK{ticket_no:07}");
            let p = rng.gen_range(0..n);
            // Partners differ in quality: higher index, more late tickets.
            let quality = 0.80 + 0.195 * ((n - p) as f64 / n as f64);
            let opened = month.start() + Duration::seconds(rng.gen_range(0..seconds_in_month));
            let (class, hours) = classes[rng.gen_range(0..classes.len())];
            let factor = if rng.gen_bool(quality) { rng.gen_range(0.05..0.9) } else { rng.gen_range(1.05..2.5) };
            let resolved =
                (!rng.gen_bool(0.01)).then(|| opened + Duration::seconds((hours * 3600.0 * factor) as i64 + 60));
            let responsibility = match rng.gen_range(0..100) {
                0..=84 => "partner",
                85..=92 => "customer",
                93..=97 => "third_party",
                _ => "force_majeure",
            };
            let mut row = vec![
                s(&tid),
                s(format!("P{:02}", p + 1)),
                s(format!("CU{:04}", rng.gen_range(1..400))),
                s(class),
                s(responsibility),
                s(ts(opened)),
                resolved.map(ts),
                s(u8::from(rng.gen_bool(0.01))),
                s(u8::from(rng.gen_bool(0.01))),
                s(u8::from(rng.gen_bool(0.02))),
            ];
            // A few invalid rows for the data-quality report.
            match rng.gen_range(0..2000) {
                0 => row[6] = s(ts(opened - Duration::hours(1))),
                1 => row[3] = s("premium"),
                _ => {}
            }
            t.push("tickets", row);
            if rng.gen_bool(0.08) {
                let paused = opened + Duration::minutes(rng.gen_range(5..240));
                let resumed = (!rng.gen_bool(0.05)).then(|| paused + Duration::minutes(rng.gen_range(10..600)));
                t.push("ticket_pauses", vec![s(&tid), s(ts(paused)), resumed.map(ts)]);
            }
        }
        for _ in 0..(args.tickets_per_month / 3).max(1) {
            order_no += 1;
            let p = rng.gen_range(0..n);
            let accepted = month.start() + Duration::seconds(rng.gen_range(0..seconds_in_month));
            let quality = 0.80 + 0.195 * ((n - p) as f64 / n as f64);
            let window = rng.gen_range(24..120);
            let due = accepted + Duration::hours(window);
            let completed = (!rng.gen_bool(0.02)).then(|| {
                if rng.gen_bool(quality) {
                    accepted + Duration::minutes(rng.gen_range(30..window * 60))
                } else {
                    due + Duration::minutes(rng.gen_range(1..48 * 60))
                }
            });
            t.push(
                "orders",
                vec![
                    s(format!("OR{order_no:07}")),
                    s(format!("P{:02}", p + 1)),
                    s(ts(accepted)),
                    s(ts(due)),
                    completed.map(ts),
                ],
            );
        }
        for p in 0..n {
            let pid = format!("P{:02}", p + 1);
            for _ in 0..rng.gen_range(0..5) {
                survey_no += 1;
                let at = month.start() + Duration::seconds(rng.gen_range(0..seconds_in_month));
                let score = if rng.gen_bool(0.005) { 120 } else { rng.gen_range(75..=100) };
                t.push("surveys", vec![s(format!("SV{survey_no:06}")), s(&pid), s(ts(at)), s(score)]);
            }
            if rng.gen_bool(0.15) {
                complaint_no += 1;
                let at = month.start() + Duration::seconds(rng.gen_range(0..seconds_in_month));
                let channel = ["miit", "group", "account_manager"][rng.gen_range(0..3)];
                let steps = if channel == "account_manager" { rng.gen_range(0..3) } else { 0 };
                t.push(
                    "complaints",
                    vec![
                        s(format!("CP{complaint_no:06}")),
                        s(&pid),
                        s(ts(at)),
                        s(channel),
                        s(steps),
                        s(u8::from(rng.gen_bool(0.7))),
                    ],
                );
            }
            // Manual scores: almost always entered; a missing one puts the partner on hold.
            if !rng.gen_bool(0.02) {
                let points = format!("{}.{}", rng.gen_range(12..20), [0, 5][rng.gen_range(0..2)]);
                t.push(
                    "manual_scores",
                    vec![s(&pid), s(month), s("cooperation"), s(points), s("mgr.zhang@sc.example.cn")],
                );
            }
            for k in 0..rng.gen_range(1..4) {
                fee_no += 1;
                let cents: i64 = rng.gen_range(500_000..4_000_000);
                let amount = format!("{}.{:02}", cents / 100, cents % 100);
                t.push(
                    "fee_items",
                    vec![
                        s(format!("FE{fee_no:06}")),
                        s(format!("C-{pid}-AS1")),
                        s(month),
                        s(amount),
                        s(format!("月度运维支撑费 {}", k + 1)),
                    ],
                );
                if rng.gen_bool(0.02) {
                    t.push(
                        "audit_exclusions",
                        vec![s(format!("FE{fee_no:06}")), s("稽核发现重复计费"), s(month.last_day())],
                    );
                }
            }
        }
        month = month.next();
    }

    // Violations: class 2 with points, a class-1 event, a severe one that recommends the blacklist.
    let months: Vec<Month> = std::iter::successors(Some(first), |m| (m.next() <= last).then(|| m.next())).collect();
    for v in 0..(n * months.len() / 8).max(3) {
        let p = rng.gen_range(0..n);
        let m = months[rng.gen_range(0..months.len())];
        let day = m.first_day() + Duration::days(rng.gen_range(0..28));
        let class = if v % 11 == 5 { 1 } else { 2 };
        let points = (class == 2).then(|| rng.gen_range(1..=10).to_string());
        let severe = u8::from(class == 1 && v % 22 == 5);
        t.push(
            "violations",
            vec![
                s(format!("VI{:05}", v + 1)),
                s(format!("P{:02}", p + 1)),
                s(day),
                s(class),
                s(["业务逻辑错误", "系统错误", "一般信息安全问题"][v % 3]),
                points,
                s(severe),
                s("synthetic"),
            ],
        );
    }

    // Presales projects across the range, every type and outcome, supported by one to three partners.
    let types = ["dedicated_line", "integrated", "mixed", "single_own_business"];
    let outcomes = [
        "won_other_implementer",
        "won_by_supporter",
        "not_implemented_other_cause",
        "not_implemented_supporter_cause",
        "pending",
    ];
    for j in 0..(months.len() * 4).max(8) {
        let pid = format!("PJ{:04}", j + 1);
        let applied = first.plus(-2).first_day() + Duration::days(rng.gen_range(0..(months.len() as i64 * 30)));
        let completed = (!rng.gen_bool(0.05)).then(|| applied + Duration::days(rng.gen_range(10..60)));
        let outcome = outcomes[if j % 9 == 8 { 4 } else { rng.gen_range(0..4) }];
        let outcome_on = (outcome != "pending").then(|| applied + Duration::days(rng.gen_range(20..90)));
        let class = ["A1", "A2", "B", "C"][rng.gen_range(0..4)];
        let value = (outcome == "won_other_implementer" || rng.gen_bool(0.5))
            .then(|| [600_000, 999_999, 1_000_000, 3_000_000, 5_000_000, 15_000_000][rng.gen_range(0..6)]);
        let deliverables = if rng.gen_bool(0.05) { None } else { Some(format!("DOC-{:04}", j + 1)) };
        t.push(
            "presales_projects",
            vec![
                s(&pid),
                s(format!("{}{}类项目{:03}", CITIES[j % CITIES.len()], class, j + 1)),
                s(format!("客户{:03}", j + 1)),
                s(class),
                s(types[if j % 13 == 12 { 3 } else { rng.gen_range(0..3) }]),
                s(UNITS[rng.gen_range(0..UNITS.len())]),
                s(applied),
                completed.map(|d| d.to_string()),
                deliverables,
                s(outcome),
                outcome_on.map(|d| d.to_string()),
                value.map(|v| format!("{v}.00")),
            ],
        );
        let supporters = rng.gen_range(1..=3usize);
        let shares: &[&str] = match supporters {
            1 => &["1"],
            2 => &["0.6", "0.4"],
            _ => &["0.3333", "0.3333", "0.3334"],
        };
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < supporters.min(n) {
            let p = rng.gen_range(0..n);
            if !chosen.contains(&p) {
                chosen.push(p);
            }
        }
        for (k, p) in chosen.iter().enumerate() {
            let score = (!rng.gen_bool(0.03)).then(|| format!("{}.{}", rng.gen_range(60..100), rng.gen_range(0..10)));
            t.push(
                "presales_supports",
                vec![s(&pid), s(format!("P{:02}", p + 1)), s(shares[k.min(shares.len() - 1)]), score],
            );
        }
    }
    if n >= 2 {
        let d = last.first_day();
        t.push(
            "exit_requests",
            vec![s("EX001"), s("P01"), s("C-P01-AS1"), s("voluntary"), s(add_months(d, -2)), s(add_months(d, 2))],
        );
        t.push(
            "exit_requests",
            vec![s("EX002"), s("P02"), s("C-P02-AS1"), s("voluntary"), s(add_months(d, -1)), s(add_months(d, 1))],
        );
        t.push(
            "blacklist_entries",
            vec![
                s(format!("P{:02}", n)),
                s(first.plus(1).first_day() + Duration::days(9)),
                s("泄露用户资料 (一类违约, 情节恶劣)"),
            ],
        );
    }

    ticket_no
}
