//! The embedded SQLite source, read directly (rusqlite on sqlx's own libsqlite3-sys): a prepared
//! statement per dataset on the connection's own thread, values handed over without a copy into
//! typed columns for the big datasets, and the ticket query split by rowid over one read-only
//! connection per core, all inside one snapshot.
//!
//! One snapshot across connections: each connection begins a read transaction and takes its read
//! lock before any of them reads a row. In rollback-journal mode no writer can commit while one
//! reader holds its lock, so every connection sees the same database. In WAL mode each connection
//! would see the database as of its own first read, so a WAL source is read on one connection.

use super::{placeholders, query_text, Extract, Result, SourceError, Window};
use crate::db::{self, DbError, Dialect};
use crate::domain::frames::{Cell, Orders, OrdersBuilder, Pauses, PausesBuilder, RowSink, Tickets, TicketsBuilder};
use crate::domain::inputs::{Dataset, ORDERS, PAUSES, TICKETS};
use polars::prelude::*;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// How long a read waits for a writer of the source to finish.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A SQLite operations database, opened per read.
#[derive(Debug, Clone)]
pub(super) struct SqliteSource {
    path: PathBuf,
    url: String,
}

fn classify(e: rusqlite::Error, what: impl Into<String>) -> DbError {
    db::classify_sqlite(e, what)
}

/// A value as the domain's neutral cell (a BLOB is read as the text it holds).
fn cell(v: ValueRef<'_>) -> Cell<'_> {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(x) => Cell::Real(x),
        ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(t),
    }
}

/// The datasets whose month window the reader decides (their SQLite query reads every row of its
/// rowid range): the dataset, and the columns of the span `[a, b)` the window is about.
const WINDOWED: [(&str, &str, &str); 2] =
    [("tickets", "opened_at", "resolved_at"), ("orders", "accepted_at", "completed_at")];

/// Whether a row whose span is `[a, b)` can count in, or is quarantined in, the window
/// `[start, end)`: exactly what SQLite makes of
/// `(+a < :end AND (b IS NULL OR +b >= :start OR +a >= :start)) OR coalesce(a, '') NOT GLOB
/// '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'` with text parameters, on the values as stored:
/// NULL compares to nothing, numbers sort before text and blobs after it, text compares
/// bytewise, and a row whose `a` is not date-shaped text is always read (it is listed as
/// unparsable). SQLite evaluating it per row cost a quarter of the scan.
pub(super) fn in_window(a: ValueRef<'_>, b: ValueRef<'_>, start: &[u8], end: &[u8]) -> bool {
    // coalesce(a, '') NOT GLOB …: numbers never look like a date, NULL is ''.
    let shaped = match a {
        ValueRef::Text(t) | ValueRef::Blob(t) => crate::domain::frames::date_shaped(t),
        _ => false,
    };
    if !shaped {
        return true;
    }
    // `a` is date-shaped text or a blob: the first disjunct decides, three-valued.
    let less = |v: ValueRef<'_>, bound: &[u8]| match v {
        ValueRef::Null => None,
        ValueRef::Integer(_) | ValueRef::Real(_) => Some(true),
        ValueRef::Text(t) => Some(t < bound),
        ValueRef::Blob(_) => Some(false),
    };
    let not_less = |v: ValueRef<'_>, bound: &[u8]| less(v, bound).map(|l| !l);
    let a_before_end = less(a, end);
    let b_null = Some(matches!(b, ValueRef::Null));
    let any = [b_null, not_less(b, start), not_less(a, start)];
    let or = if any.contains(&Some(true)) {
        Some(true)
    } else if any.contains(&None) {
        None
    } else {
        Some(false)
    };
    a_before_end == Some(true) && or == Some(true)
}

/// Rows read so far, for the progress line and bar.
#[derive(Debug, Default)]
pub(super) struct Progress {
    pub(super) rows: AtomicU64,
}

impl SqliteSource {
    pub(super) fn new(url: &str) -> Result<Self> {
        use std::str::FromStr;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|e| DbError::BadUrl {
            what: "opening the source".into(),
            url: db::redact_url(url),
            source: Box::new(e),
        })?;
        Ok(Self { path: options.get_filename().to_path_buf(), url: url.to_string() })
    }

    /// A read-only connection (never created, its journal mode never touched).
    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| classify(e, format!("cannot open source {}", db::redact_url(&self.url))))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| classify(e, "setting the source's busy timeout"))?;
        Ok(conn)
    }

    /// A connection inside a read transaction that holds its read lock already.
    fn snapshot(&self) -> Result<Connection> {
        let conn = self.open()?;
        conn.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
            .map_err(|e| classify(e, "starting the source read"))?;
        Ok(conn)
    }

    fn journal_is_wal(conn: &Connection) -> bool {
        conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .is_ok_and(|m| m.eq_ignore_ascii_case("wal"))
    }

    /// Reads the datasets in one snapshot: the big ones (tickets, pauses, orders) into typed
    /// columns when `typed`, the others into text frames. The big ones are cut into pieces (rowid
    /// ranges) that one connection per core takes from a shared list as it becomes free, so that
    /// the cores finish together whatever a piece costs.
    pub(super) fn fetch(
        &self,
        datasets: &[Dataset],
        window: &Window,
        typed: bool,
        progress: &Progress,
    ) -> Result<Extract> {
        let main = self.snapshot()?;
        let mut extract = Extract::default();
        let big = |d: &Dataset| typed && [TICKETS.name, PAUSES.name, ORDERS.name].contains(&d.name);
        for dataset in datasets.iter().filter(|d| !big(d)) {
            extract.frames.insert(dataset.name, read_text(&main, *dataset, window)?);
        }
        let wanted: Vec<Dataset> = datasets.iter().copied().filter(big).collect();
        if !wanted.is_empty() {
            let helpers = self.helpers(&main)?;
            let threads = helpers.len() + 1;
            let mut tasks = Vec::new();
            for dataset in &wanted {
                tasks.extend(pieces(&main, *dataset, if threads > 1 { 8 * threads } else { 1 })?);
            }
            let pieces = read_pieces(&main, helpers, &tasks, window, progress)?;
            extract.tickets = wanted.contains(&TICKETS).then(|| Tickets::concat(take(&pieces, |p| p.tickets())));
            extract.orders = wanted.contains(&ORDERS).then(|| Orders::concat(take(&pieces, |p| p.orders())));
            extract.pauses = wanted.contains(&PAUSES).then(|| Pauses::concat(take(&pieces, |p| p.pauses())));
        }
        let _ = main.execute_batch("ROLLBACK");
        Ok(extract)
    }

    /// The connections that read parts of the ticket query beside `main`, each in the snapshot
    /// `main` holds (see the module's comment): none for a WAL source, a small table, a query that
    /// cannot be split, or when a writer waiting for the lock keeps a new reader out (then `main`
    /// reads it all, in its own snapshot).
    fn helpers(&self, main: &Connection) -> Result<Vec<Connection>> {
        let parts = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
        let splittable = parts_query(TICKETS).is_some() || parts_query(ORDERS).is_some();
        if parts < 2 || !splittable || Self::journal_is_wal(main) {
            return Ok(Vec::new());
        }
        let mut helpers = Vec::with_capacity(parts - 1);
        for _ in 1..parts {
            let conn = self.open()?;
            let _ = conn.busy_timeout(std::time::Duration::from_millis(200));
            if conn.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;").is_err() {
                tracing::info!("a writer is waiting on the source: reading the tickets on one connection");
                return Ok(Vec::new());
            }
            helpers.push(conn);
        }
        Ok(helpers)
    }

    /// Each dataset's query prepared against the source: a missing table or column, every one.
    pub(super) fn verify(&self, datasets: &[Dataset]) -> Result<Vec<String>> {
        let conn = self.open()?;
        let mut problems = Vec::new();
        for dataset in datasets {
            let (sql, _) = placeholders(query_text(Dialect::Sqlite, dataset.name), Dialect::Sqlite);
            match conn.prepare(&sql) {
                Ok(stmt) => {
                    let names = stmt.column_names();
                    let missing: Vec<&str> = dataset.columns.iter().copied().filter(|c| !names.contains(c)).collect();
                    if !missing.is_empty() {
                        problems.push(format!("{}: the query returns no column {}", dataset.name, missing.join(", ")));
                    }
                }
                Err(e) => match classify(e, dataset.name) {
                    DbError::Missing { source, .. } | DbError::Other { source, .. } => {
                        problems.push(format!("{}: {source}", dataset.name))
                    }
                    unavailable => return Err(unavailable.into()),
                },
            }
        }
        Ok(problems)
    }

    /// Opens the source once, to fail early when it cannot be (exit 69).
    pub(super) fn check(&self) -> Result<()> {
        self.open().map(drop)
    }
}

/// Binds a query's parameters: the window, and the rowid range of a partition.
fn bind_all(stmt: &mut rusqlite::Statement, window: &Window, part: (i64, i64), binds: &[usize]) -> Result<()> {
    let values = [window.start.as_str(), window.end.as_str(), window.month.as_str()];
    for (k, b) in binds.iter().enumerate() {
        let index = k + 1;
        let bound = match *b {
            0..=2 => stmt.raw_bind_parameter(index, values[*b]),
            3 => stmt.raw_bind_parameter(index, part.0),
            _ => stmt.raw_bind_parameter(index, part.1),
        };
        bound.map_err(|e| classify(e, "binding the query's parameters"))?;
    }
    Ok(())
}

/// Streams one dataset's query (one partition of it) into a sink, a row of cells at a time.
fn read_rows(
    conn: &Connection,
    dataset: Dataset,
    window: &Window,
    part: Option<(i64, i64)>,
    sink: &mut impl RowSink,
    progress: &Progress,
) -> Result<()> {
    let (sql, binds) = placeholders(query_text(Dialect::Sqlite, dataset.name), Dialect::Sqlite);
    let what = format!("reading {}", dataset.name);
    // Prepared once per connection: a dataset read in pieces binds it again for each.
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| classify(e, what.clone()))?;
    let columns: Vec<usize> = dataset
        .columns
        .iter()
        .map(|c| stmt.column_index(c).map_err(|_| SourceError::MissingColumn { dataset: dataset.name, column: c }))
        .collect::<Result<_>>()?;
    bind_all(&mut stmt, window, part.unwrap_or((i64::MIN, i64::MAX)), &binds)?;
    // The month window of the big datasets is decided here (see `in_window`).
    let span = WINDOWED
        .iter()
        .find(|(name, _, _)| *name == dataset.name)
        .map(|(_, a, b)| (stmt.column_index(a).unwrap_or(usize::MAX), stmt.column_index(b).unwrap_or(usize::MAX)));
    let (start, end) = (window.start.as_bytes(), window.end.as_bytes());
    let mut rows = stmt.raw_query();
    let mut read: u64 = 0;
    while let Some(row) = rows.next().map_err(|e| classify(e, what.clone()))? {
        if let Some((a, b)) = span {
            let value = |i: usize| row.get_ref(i).map_err(|e| classify(e, what.clone()));
            if !in_window(value(a)?, value(b)?, start, end) {
                continue;
            }
        }
        // A dataset has at most 11 columns: the cells of a row live on the stack.
        let mut cells = [Cell::Null; 16];
        for (k, &i) in columns.iter().enumerate() {
            cells[k] = cell(row.get_ref(i).map_err(|e| classify(e, what.clone()))?);
        }
        sink.push_row(&cells[..columns.len()]);
        read += 1;
        if read % 65_536 == 0 {
            progress.rows.fetch_add(65_536, Ordering::Relaxed);
        }
    }
    progress.rows.fetch_add(read % 65_536, Ordering::Relaxed);
    Ok(())
}

/// A piece of the typed read: a rowid range of a dataset (or all of it).
#[derive(Debug, Clone, Copy)]
struct Task {
    dataset: Dataset,
    part: (i64, i64),
}

/// What a piece gave.
enum Piece {
    Tickets(Tickets),
    Orders(Orders),
    Pauses(Pauses),
}

impl Piece {
    fn tickets(&mut self) -> Option<Tickets> {
        match self {
            Piece::Tickets(t) => Some(std::mem::take(t)),
            _ => None,
        }
    }
    fn orders(&mut self) -> Option<Orders> {
        match self {
            Piece::Orders(o) => Some(std::mem::take(o)),
            _ => None,
        }
    }
    fn pauses(&mut self) -> Option<Pauses> {
        match self {
            Piece::Pauses(p) => Some(std::mem::take(p)),
            _ => None,
        }
    }
}

/// The pieces of one kind, in task order.
fn take<T>(pieces: &std::sync::Mutex<Vec<Option<Piece>>>, f: impl Fn(&mut Piece) -> Option<T>) -> Vec<T> {
    let mut all = pieces.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.iter_mut().filter_map(|p| p.as_mut().and_then(&f)).collect()
}

/// The rowid range query of a dataset whose query can be split (`<dataset>.parts.sql`).
fn parts_query(dataset: Dataset) -> Option<&'static str> {
    let splittable = query_text(Dialect::Sqlite, dataset.name).contains(":part_lo");
    match dataset.name {
        "tickets" if splittable => Some(include_str!("../../sql/extract/sqlite/tickets.parts.sql")),
        "orders" if splittable => Some(include_str!("../../sql/extract/sqlite/orders.parts.sql")),
        _ => None,
    }
}

/// A dataset cut into `n` rowid ranges (one when it cannot be split or is small).
fn pieces(conn: &Connection, dataset: Dataset, n: usize) -> Result<Vec<Task>> {
    let whole = vec![Task { dataset, part: (i64::MIN, i64::MAX) }];
    let Some(query) = parts_query(dataset).filter(|_| n > 1) else { return Ok(whole) };
    let sql: String = query.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    let (lo, hi) = conn
        .query_row(&sql, [], |r| {
            Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0), r.get::<_, Option<i64>>(1)?.unwrap_or(0)))
        })
        .map_err(|e| classify(e, format!("sizing the {} read", dataset.name)))?;
    if hi - lo < 100_000 {
        return Ok(whole);
    }
    let step = (hi - lo) / n as i64 + 1;
    Ok((0..n as i64)
        .map(|k| {
            let start = if k == 0 { i64::MIN } else { lo + k * step };
            let end = if k + 1 == n as i64 { i64::MAX } else { lo + (k + 1) * step };
            Task { dataset, part: (start, end) }
        })
        .collect())
}

/// Reads one piece on a connection.
fn read_piece(conn: &Connection, task: Task, window: &Window, progress: &Progress) -> Result<Piece> {
    Ok(match task.dataset.name {
        "tickets" => {
            let mut sink = TicketsBuilder::with_capacity(1 << 16);
            read_rows(conn, TICKETS, window, Some(task.part), &mut sink, progress)?;
            Piece::Tickets(sink.finish())
        }
        "orders" => {
            let mut sink = OrdersBuilder::with_capacity(1 << 14);
            read_rows(conn, ORDERS, window, Some(task.part), &mut sink, progress)?;
            Piece::Orders(sink.finish())
        }
        _ => {
            let mut sink = PausesBuilder::with_capacity(1 << 14);
            read_rows(conn, PAUSES, window, Some(task.part), &mut sink, progress)?;
            Piece::Pauses(sink.finish())
        }
    })
}

/// Reads the pieces on `main` and the helpers, each taking the next piece as it becomes free.
fn read_pieces(
    main: &Connection,
    helpers: Vec<Connection>,
    tasks: &[Task],
    window: &Window,
    progress: &Progress,
) -> Result<std::sync::Mutex<Vec<Option<Piece>>>> {
    use std::sync::atomic::AtomicUsize;
    let next = AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<Option<Piece>>> = std::sync::Mutex::new((0..tasks.len()).map(|_| None).collect());
    let work = |conn: &Connection| -> Result<()> {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(task) = tasks.get(i) else { return Ok(()) };
            let piece = read_piece(conn, *task, window, progress)?;
            done.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(piece);
        }
    };
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let work = &work;
        // Each helper connection moves to a thread of its own (a connection is used by one thread).
        let handles: Vec<_> = helpers
            .into_iter()
            .map(|conn| {
                scope.spawn(move || {
                    let read = work(&conn);
                    let _ = conn.execute_batch("ROLLBACK");
                    read
                })
            })
            .collect();
        let mine = work(main);
        std::iter::once(mine)
            .chain(handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))))
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(done)
}

/// A small dataset into a frame of text columns (numbers as canonical text).
fn read_text(conn: &Connection, dataset: Dataset, window: &Window) -> Result<DataFrame> {
    struct TextSink(Vec<StringChunkedBuilder>, usize);
    impl RowSink for TextSink {
        fn push_row(&mut self, row: &[Cell]) {
            for (b, c) in self.0.iter_mut().zip(row) {
                crate::domain::frames::push_text(b, *c);
            }
            self.1 += 1;
        }
    }
    let mut sink = TextSink(dataset.columns.iter().map(|c| StringChunkedBuilder::new((*c).into(), 1024)).collect(), 0);
    read_rows(conn, dataset, window, None, &mut sink, &Progress::default())?;
    let columns = sink.0.into_iter().map(|b| b.finish().into_column()).collect();
    DataFrame::new(sink.1, columns).map_err(|source| SourceError::Frame { dataset: dataset.name, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The predicate the SQLite queries applied before the reader decided the window, on a
    /// table with the contract's TIMESTAMP columns (their numeric affinity included).
    const SQL_WINDOW: &str = "SELECT rowid FROM t WHERE ((+a < ?2 AND (b IS NULL OR +b >= ?1 OR +a >= ?1)) \
                              OR coalesce(a, '') NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*') ORDER BY rowid";

    /// A value as a source might hold it: a stamp, a date, a stamp with a T or fractions, garbage,
    /// a number, a blob, nothing.
    fn value() -> impl Strategy<Value = rusqlite::types::Value> {
        use rusqlite::types::Value;
        let stamp = (2025i32..2028, 1u32..13, 1u32..29, 0u32..24, 0u32..60)
            .prop_map(|(y, m, d, h, s)| format!("{y}-{m:02}-{d:02} {h:02}:{s:02}:{s:02}"));
        prop_oneof![
            // The window's own bounds, where < and <= part.
            (1u32..13).prop_map(|m| Value::Text(format!("2026-{m:02}-01 00:00:00"))),
            stamp.clone().prop_map(Value::Text),
            stamp.clone().prop_map(|s| Value::Text(s.replace(' ', "T"))),
            stamp.clone().prop_map(|s| Value::Text(s[..10].to_string())),
            stamp.clone().prop_map(|s| Value::Blob(s.into_bytes())),
            "[0-9 :-]{0,20}".prop_map(Value::Text),
            "[a-z0-9/]{0,12}".prop_map(Value::Text),
            any::<i64>().prop_map(Value::Integer),
            (-1e12f64..1e12).prop_map(Value::Real),
            Just(Value::Null),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The reader keeps exactly the rows the query's own predicate kept, whatever is stored.
        #[test]
        fn the_reader_keeps_what_the_sql_predicate_kept(
            rows in proptest::collection::vec((value(), value()), 1..40),
            month in 1u32..13,
        ) {
            let conn = Connection::open_in_memory().unwrap();
            conn.execute_batch("CREATE TABLE t (a TIMESTAMP, b TIMESTAMP)").unwrap();
            for (a, b) in &rows {
                conn.execute("INSERT INTO t (a, b) VALUES (?1, ?2)", rusqlite::params![a, b]).unwrap();
            }
            let start = format!("2026-{month:02}-01 00:00:00");
            let end = if month == 12 { "2027-01-01 00:00:00".to_string() } else { format!("2026-{:02}-01 00:00:00", month + 1) };
            let mut stmt = conn.prepare(SQL_WINDOW).unwrap();
            let by_sql: Vec<i64> =
                stmt.query_map([&start, &end], |r| r.get(0)).unwrap().collect::<std::result::Result<_, _>>().unwrap();
            let mut stmt = conn.prepare("SELECT rowid, a, b FROM t ORDER BY rowid").unwrap();
            let mut by_reader = Vec::new();
            let mut all = stmt.query([]).unwrap();
            while let Some(r) = all.next().unwrap() {
                if in_window(r.get_ref(1).unwrap(), r.get_ref(2).unwrap(), start.as_bytes(), end.as_bytes()) {
                    by_reader.push(r.get::<_, i64>(0).unwrap());
                }
            }
            prop_assert_eq!(by_reader, by_sql);
        }
    }

    #[test]
    fn the_windowed_queries_leave_the_window_to_the_reader() {
        for (name, a, b) in WINDOWED {
            let sql: String = query_text(Dialect::Sqlite, name)
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(!sql.contains(":start") && !sql.contains(":end"), "{name}: the window is the reader's");
            assert!(sql.contains(a) && sql.contains(b), "{name} reads {a} and {b}");
        }
    }
}
