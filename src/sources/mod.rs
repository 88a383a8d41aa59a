//! Extraction: the operations databases (read only, one snapshot each) → the core's frames.
//! Queries live in `sql/extract/<dialect>/<dataset>.sql`. The embedded SQLite source is read
//! directly ([`sqlite`]): the big datasets into typed columns, the tickets over every core.
//! PostgreSQL and MySQL are read through sqlx with every column as canonical text (a REAL or a
//! numeric read exactly: 0.1 is 0.1), borrowed from the row, never copied into a `String`, and
//! the big datasets typed as they stream in, the way the SQLite reader types them.

mod pg_binary;
mod postgres;
mod sqlite;

use crate::config::{Secret, Settings};
use crate::db::{self, probe, redact_url, DbError, Dialect, PoolSettings};
use crate::domain::frames::{Cell, Orders, OrdersBuilder, Pauses, PausesBuilder, RowSink, Tickets, TicketsBuilder};
use crate::domain::inputs::*;
use crate::domain::monthly::MonthInput;
use crate::domain::period::Month;
use futures_util::TryStreamExt;
use polars::prelude::*;
use sqlx::Row;
use std::str::FromStr;

/// What went wrong reading the operations databases.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// An extraction query does not return a column of the contract (exit 65: fix the mapping).
    #[error("the {dataset} query returns no column {column}")]
    MissingColumn { dataset: &'static str, column: &'static str },
    /// The queries do not fit the source, every problem named (`check-config`, exit 65).
    #[error("source data unusable: {}", .problems.join("; "))]
    Unusable { problems: Vec<String> },
    /// A value the driver could not hand over.
    #[error("reading {dataset}.{column}")]
    Value {
        dataset: &'static str,
        column: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An extraction query returns a column in a type the PostgreSQL reader does not take (exit
    /// 65: cast it in the query).
    #[error("the {dataset} query returns {column} as {type_name}: a PostgreSQL source hands over text, integers and timestamps")]
    ColumnType { dataset: &'static str, column: String, type_name: String },
    /// The rows of a binary COPY did not read as PostgreSQL writes them.
    #[error("reading {dataset}")]
    Stream {
        dataset: &'static str,
        #[source]
        source: pg_binary::Malformed,
    },
    #[error("building the {dataset} frame")]
    Frame {
        dataset: &'static str,
        #[source]
        source: PolarsError,
    },
}

type Result<T> = std::result::Result<T, SourceError>;

macro_rules! queries {
    ($dir:literal, $name:expr) => {
        match $name {
            "partners" => include_str!(concat!("../../sql/extract/", $dir, "/partners.sql")),
            "contracts" => include_str!(concat!("../../sql/extract/", $dir, "/contracts.sql")),
            "tickets" => include_str!(concat!("../../sql/extract/", $dir, "/tickets.sql")),
            "ticket_pauses" => include_str!(concat!("../../sql/extract/", $dir, "/ticket_pauses.sql")),
            "orders" => include_str!(concat!("../../sql/extract/", $dir, "/orders.sql")),
            "complaints" => include_str!(concat!("../../sql/extract/", $dir, "/complaints.sql")),
            "surveys" => include_str!(concat!("../../sql/extract/", $dir, "/surveys.sql")),
            "manual_scores" => include_str!(concat!("../../sql/extract/", $dir, "/manual_scores.sql")),
            "violations" => include_str!(concat!("../../sql/extract/", $dir, "/violations.sql")),
            "fee_items" => include_str!(concat!("../../sql/extract/", $dir, "/fee_items.sql")),
            "audit_exclusions" => include_str!(concat!("../../sql/extract/", $dir, "/audit_exclusions.sql")),
            "presales_projects" => include_str!(concat!("../../sql/extract/", $dir, "/presales_projects.sql")),
            "presales_supports" => include_str!(concat!("../../sql/extract/", $dir, "/presales_supports.sql")),
            "exit_requests" => include_str!(concat!("../../sql/extract/", $dir, "/exit_requests.sql")),
            "blacklist_entries" => include_str!(concat!("../../sql/extract/", $dir, "/blacklist_entries.sql")),
            "open_tickets" => include_str!(concat!("../../sql/extract/", $dir, "/open_tickets.sql")),
            // Every dataset of the contract has a query (tested below); the names are our own.
            other => unreachable!("no query for dataset {other}"),
        }
    };
}

/// The embedded extraction query of a dataset in a dialect.
pub(crate) fn query_text(dialect: Dialect, dataset: &str) -> &'static str {
    match dialect {
        Dialect::Sqlite => queries!("sqlite", dataset),
        Dialect::Postgres => queries!("postgres", dataset),
        Dialect::MySql => queries!("mysql", dataset),
    }
}

/// The parameter tokens a query may use, in the order of `Source::fetch`'s values.
const TOKENS: [&str; 5] = [":start", ":end", ":month", ":part_lo", ":part_hi"];

/// The query with each parameter token replaced by what `put` writes for its index. Comments go
/// first (a token named in a comment is not a parameter), and a token preceded by a colon is none
/// (`x::text` is a cast).
fn substitute(sql: &str, mut put: impl FnMut(usize, &mut String)) -> String {
    let code: String = sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut out = String::with_capacity(code.len());
    let mut rest = code.as_str();
    while let Some(pos) = rest.find(':') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let hit = TOKENS.iter().enumerate().find(|(_, t)| {
            tail.starts_with(**t) && !tail[t.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        match hit {
            Some((index, token)) if !out.ends_with(':') => {
                put(index, &mut out);
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

/// Query parameters are written `:start`, `:end` (the period, end exclusive) and `:month`; each
/// dialect gets its own placeholders, and the values to bind in order.
pub(crate) fn placeholders(sql: &str, dialect: Dialect) -> (String, Vec<usize>) {
    let mut binds: Vec<usize> = Vec::new();
    let mut out = substitute(sql, |index, out| match dialect {
        Dialect::Sqlite => out.push_str(&format!("?{}", index + 1)),
        Dialect::Postgres => {
            let n = binds.iter().position(|b| *b == index).unwrap_or_else(|| {
                binds.push(index);
                binds.len() - 1
            });
            out.push_str(&format!("${}", n + 1));
        }
        Dialect::MySql => {
            binds.push(index);
            out.push('?');
        }
    });
    if dialect == Dialect::Sqlite {
        // Numbered parameters: bind up to the highest one used (SQLite refuses extra ones).
        let highest = (1..=TOKENS.len()).rev().find(|n| out.contains(&format!("?{n}"))).unwrap_or(0);
        binds = (0..highest).collect();
    }
    out.shrink_to_fit();
    (out, binds)
}

/// The query with its parameters written in as string literals, for a statement that takes no
/// parameters (`COPY`). The values are the program's own (instants, a month, tuple ids); a quote
/// in one would still be doubled.
pub(crate) fn with_literals(sql: &str, values: &[&str; 5]) -> String {
    substitute(sql, |index, out| {
        out.push('\'');
        out.push_str(&values[index].replace('\'', "''"));
        out.push('\'');
    })
}

/// The parameters a query may use: `?1` period start, `?2` period end (exclusive timestamps),
/// `?3` the month as `YYYY-MM`.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) start: String,
    pub(crate) end: String,
    pub(crate) month: String,
}

impl Window {
    pub(crate) fn month(m: Month) -> Self {
        Self::between(m.start(), m.end())
    }

    /// `[start, end)`; `?3` is the month of `start`.
    pub(crate) fn between(start: chrono::NaiveDateTime, end: chrono::NaiveDateTime) -> Self {
        let f = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
        Self { start: f(start), end: f(end), month: Month::of_instant(start).to_string() }
    }
}

/// Rows between two progress lines of one dataset's extraction (servers).
const PROGRESS_EVERY: usize = 250_000;

/// The frames of one snapshot, by dataset: text frames, and the big datasets typed.
#[derive(Default)]
pub(crate) struct Extract {
    frames: std::collections::HashMap<&'static str, DataFrame>,
    tickets: Option<Tickets>,
    pauses: Option<Pauses>,
    orders: Option<Orders>,
}

impl Extract {
    /// The frame of a dataset that was read; an empty frame for one that was not asked for.
    pub(crate) fn take(&mut self, dataset: Dataset) -> DataFrame {
        self.frames.remove(dataset.name).unwrap_or_else(|| empty_frame(dataset))
    }

    fn merge(&mut self, other: Extract) {
        self.frames.extend(other.frames);
        self.tickets = self.tickets.take().or(other.tickets);
        self.pauses = self.pauses.take().or(other.pauses);
        self.orders = self.orders.take().or(other.orders);
    }

    fn tickets(&mut self) -> Tickets {
        self.tickets.take().unwrap_or_else(|| Tickets::from(&self.take(TICKETS)))
    }
    fn pauses(&mut self) -> Pauses {
        self.pauses.take().unwrap_or_else(|| Pauses::from(&self.take(PAUSES)))
    }
    fn orders(&mut self) -> Orders {
        self.orders.take().unwrap_or_else(|| Orders::from(&self.take(ORDERS)))
    }
}

/// A connection to an operations database.
enum Source {
    Sqlite(sqlite::SqliteSource),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

fn unavailable(url: &str, e: sqlx::Error) -> SourceError {
    DbError::Unavailable { what: format!("cannot open source {}", redact_url(url)), source: Box::new(e) }.into()
}

macro_rules! read_datasets {
    ($tx:ident, $dialect:expr, $datasets:expr, $params:expr, $typed:expr, $extract:ident, $cell:path) => {
        for dataset in $datasets {
            let (sql, binds) = placeholders(query_text($dialect, dataset.name), $dialect);
            let mut query = sqlx::query(&sql);
            for b in &binds {
                query = query.bind($params[*b]);
            }
            let mut rows = query.fetch(&mut *$tx);
            let mut sink = ServerSink::new(*dataset, $typed);
            // The contract's columns by their place in the result, found on the first row.
            let mut columns: Option<Vec<usize>> = None;
            let (started, mut read) = (std::time::Instant::now(), 0usize);
            while let Some(row) = rows.try_next().await.map_err(|e| db::classify(e, sink.what()))? {
                let at = match &columns {
                    Some(at) => at,
                    None => columns.insert(column_places(&row, *dataset)?),
                };
                // A dataset has at most 11 columns: the cells of a row live on the stack.
                let mut cells = [Cell::Null; 16];
                for (k, &i) in at.iter().enumerate() {
                    cells[k] = $cell(&row, i).map_err(|e| SourceError::Value {
                        dataset: dataset.name,
                        column: dataset.columns[k],
                        source: Box::new(e),
                    })?;
                }
                sink.push_row(&cells[..at.len()]);
                read += 1;
                // Progress of a long extraction, so an operator watching a big month sees it move.
                if read % PROGRESS_EVERY == 0 {
                    let rate = read as f64 / started.elapsed().as_secs_f64().max(0.001);
                    tracing::info!(dataset = dataset.name, rows = read, rows_per_second = rate as u64, "reading");
                }
            }
            drop(rows);
            sink.finish(&mut $extract)?;
        }
    };
}

/// Where each contract column is in a server's result row.
fn column_places<R: Row>(row: &R, dataset: Dataset) -> Result<Vec<usize>>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    use sqlx::Column;
    dataset
        .columns
        .iter()
        .map(|c| {
            row.try_column(*c)
                .map(|col| col.ordinal())
                .map_err(|_| SourceError::MissingColumn { dataset: dataset.name, column: c })
        })
        .collect()
}

/// A MySQL value as a cell: text, or bytes where a binary collation hands them over.
fn mysql_cell(row: &sqlx::mysql::MySqlRow, i: usize) -> std::result::Result<Cell<'_>, sqlx::Error> {
    let bytes = match row.try_get::<Option<&str>, _>(i) {
        Ok(text) => text.map(str::as_bytes),
        Err(_) => row.try_get::<Option<&[u8]>, _>(i)?,
    };
    Ok(bytes.map_or(Cell::Null, Cell::Text))
}

impl Source {
    /// Opens the source read only: it belongs to another system, and the pipeline never writes to
    /// it or changes its journal mode.
    async fn connect(url: &Secret, pool: PoolSettings) -> Result<Self> {
        let raw = url.expose();
        let bad = |e: sqlx::Error| DbError::BadUrl {
            what: "opening the source".into(),
            url: redact_url(raw),
            source: Box::new(e),
        };
        let (timeout, size) = (pool.acquire_timeout, pool.max_connections);
        match Dialect::of_url(raw) {
            Some(Dialect::Sqlite) => {
                let source = sqlite::SqliteSource::new(raw)?;
                // Fail now when the file cannot be opened (exit 69), not in the middle of a run.
                let check = source.clone();
                let opened = tokio::task::spawn_blocking(move || check.check()).await;
                opened.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
                Ok(Source::Sqlite(source))
            }
            Some(Dialect::Postgres) => {
                let options =
                    sqlx::postgres::PgConnectOptions::from_str(raw).map_err(bad)?.application_name("ict-partners");
                // One direct connection first: a refused connection fails now, not after the pool's retries.
                probe::<sqlx::PgConnection>(&options, raw, timeout).await?;
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(size)
                    .acquire_timeout(timeout)
                    .connect_with(options);
                pool.await.map(Source::Postgres).map_err(|e| unavailable(raw, e))
            }
            Some(Dialect::MySql) => {
                let options =
                    sqlx::mysql::MySqlConnectOptions::from_str(&raw.replacen("mariadb:", "mysql:", 1)).map_err(bad)?;
                probe::<sqlx::MySqlConnection>(&options, raw, timeout).await?;
                let pool = sqlx::mysql::MySqlPoolOptions::new()
                    .max_connections(size)
                    .acquire_timeout(timeout)
                    .connect_with(options);
                pool.await.map(Source::MySql).map_err(|e| unavailable(raw, e))
            }
            None => Err(DbError::BadUrl {
                what: "opening the source".into(),
                url: redact_url(raw),
                source: Box::new(db::Reason("use sqlite://, postgres:// or mysql://".into())),
            }
            .into()),
        }
    }

    fn dialect(&self) -> Dialect {
        match self {
            Source::Sqlite(_) => Dialect::Sqlite,
            Source::Postgres(_) => Dialect::Postgres,
            Source::MySql(_) => Dialect::MySql,
        }
    }

    /// Reads several datasets from one snapshot: a single read-only transaction (REPEATABLE READ on
    /// PostgreSQL and MySQL), so a period is computed from one point in time. With `typed`, the big
    /// datasets of a SQLite source come as typed columns.
    async fn fetch(&self, datasets: &[Dataset], window: &Window, typed: bool) -> Result<Extract> {
        let params = [window.start.as_str(), window.end.as_str(), window.month.as_str(), "", ""];
        let mut extract = Extract::default();
        let start = |e| db::classify(e, "starting the source read");
        match self {
            Source::Sqlite(source) => {
                let (source, datasets, window) = (source.clone(), datasets.to_vec(), window.clone());
                let progress = std::sync::Arc::new(sqlite::Progress::default());
                let watch = watch_progress(progress.clone());
                let read =
                    tokio::task::spawn_blocking(move || source.fetch(&datasets, &window, typed, &progress)).await;
                watch.abort();
                return read.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            }
            Source::Postgres(pool) => {
                let values = [window.start.as_str(), window.end.as_str(), window.month.as_str()];
                return postgres::fetch(pool, datasets, values, typed).await;
            }
            Source::MySql(pool) => {
                let mut conn = pool.acquire().await.map_err(start)?;
                let snapshot = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
                sqlx::query(snapshot).execute(&mut *conn).await.map_err(start)?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(start)?;
                read_datasets!(tx, Dialect::MySql, datasets, params, typed, extract, mysql_cell);
                tx.rollback().await.ok();
            }
        }
        Ok(extract)
    }

    /// Checks that every extraction query runs and returns the contract's columns, without reading
    /// any rows. Returns every problem found (a missing table, a missing column).
    async fn verify(&self, datasets: &[Dataset]) -> Result<Vec<String>> {
        use sqlx::{Column, Executor};
        if let Source::Sqlite(source) = self {
            let (source, datasets) = (source.clone(), datasets.to_vec());
            let checked = tokio::task::spawn_blocking(move || source.verify(&datasets)).await;
            return checked.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        }
        let mut problems = Vec::new();
        for dataset in datasets {
            let (sql, _) = placeholders(query_text(self.dialect(), dataset.name), self.dialect());
            let described: std::result::Result<Vec<String>, sqlx::Error> = match self {
                Source::Postgres(p) => p.describe(&sql).await.map(|d| {
                    // A contract column in a type binary COPY is not read in stops a run: said now.
                    for (column, type_name) in postgres::column_types(*dataset, d.columns()) {
                        problems.push(format!(
                            "{}: the query returns {column} as {type_name}; cast it to text",
                            dataset.name
                        ));
                    }
                    d.columns().iter().map(|c| c.name().to_string()).collect()
                }),
                Source::MySql(p) => {
                    p.describe(&sql).await.map(|d| d.columns().iter().map(|c| c.name().to_string()).collect())
                }
                Source::Sqlite(_) => Ok(vec![]),
            };
            match described {
                Ok(columns) => {
                    let missing: Vec<&str> =
                        dataset.columns.iter().copied().filter(|c| !columns.iter().any(|x| x == c)).collect();
                    if !missing.is_empty() {
                        problems.push(format!("{}: the query returns no column {}", dataset.name, missing.join(", ")));
                    }
                }
                Err(e) => match db::classify(e, dataset.name) {
                    DbError::Missing { source, .. } | DbError::Other { source, .. } => {
                        problems.push(format!("{}: {source}", dataset.name))
                    }
                    unavailable => return Err(unavailable.into()),
                },
            }
        }
        Ok(problems)
    }

    async fn close(self) {
        match self {
            Source::Sqlite(_) => {}
            Source::Postgres(p) => p.close().await,
            Source::MySql(p) => p.close().await,
        }
    }
}

/// Shows the rows read so far: a progress bar on a terminal (rows and rows per second), a log line
/// every million rows otherwise.
fn watch_progress(progress: std::sync::Arc<sqlite::Progress>) -> tokio::task::JoinHandle<()> {
    use std::io::IsTerminal;
    use std::sync::atomic::Ordering;
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            let style =
                indicatif::ProgressStyle::with_template("{spinner} reading the month: {human_pos} rows ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            bar.set_style(style);
            bar
        });
        let mut logged = 0u64;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let rows = progress.rows.load(Ordering::Relaxed);
            match &bar {
                Some(bar) => bar.set_position(rows),
                None if rows >= logged + 1_000_000 => {
                    logged = rows - rows % 1_000_000;
                    let rate = rows as f64 / started.elapsed().as_secs_f64().max(0.001);
                    tracing::info!(rows, rows_per_second = rate as u64, "reading");
                }
                None => {}
            }
        }
    })
}

/// The operations databases: the default one and the named ones some datasets come from (tickets
/// from the EOMS, fees from billing, contracts from the contract system…). Each is read in one
/// snapshot of its own.
pub(crate) struct Sources {
    default: Source,
    named: std::collections::BTreeMap<String, Source>,
    route: std::collections::BTreeMap<String, String>,
    /// Datasets people enter through workbooks (`[datasets] … = "entered"`): not read here, the
    /// jobs take them from the store.
    entered: Vec<&'static str>,
}

impl Sources {
    pub(crate) async fn connect(settings: &Settings) -> Result<Self> {
        let default = Source::connect(&settings.source_url, settings.source_pool).await?;
        let mut named = std::collections::BTreeMap::new();
        for (name, url) in &settings.named_sources {
            if settings.dataset_sources.values().any(|s| s == name) {
                named.insert(name.clone(), Source::connect(url, settings.source_pool).await?);
            }
        }
        let entered = settings.entered.iter().map(|k| k.as_str()).collect();
        Ok(Self { default, named, route: settings.dataset_sources.clone(), entered })
    }

    fn source_of(&self, dataset: &Dataset) -> &Source {
        self.route.get(dataset.name).and_then(|n| self.named.get(n)).unwrap_or(&self.default)
    }

    async fn fetch(&self, datasets: &[Dataset], window: &Window, typed: bool) -> Result<Extract> {
        let datasets: Vec<Dataset> = datasets.iter().copied().filter(|d| !self.entered.contains(&d.name)).collect();
        let mut all = Extract::default();
        let sources = std::iter::once(&self.default).chain(self.named.values());
        for source in sources {
            let mine: Vec<Dataset> =
                datasets.iter().copied().filter(|d| std::ptr::eq(self.source_of(d), source)).collect();
            if !mine.is_empty() {
                all.merge(source.fetch(&mine, window, typed).await?);
            }
        }
        Ok(all)
    }

    /// Reads the datasets as text frames, each from its own source, one snapshot per source.
    pub(crate) async fn fetch_all(&self, datasets: &[Dataset], window: &Window) -> Result<Extract> {
        self.fetch(datasets, window, false).await
    }

    /// Every dataset's query against its source: every problem at once.
    pub(crate) async fn verify(&self) -> Result<Vec<String>> {
        let every: Vec<Dataset> =
            ALL_DATASETS.iter().chain([&OPEN_TICKETS]).copied().filter(|d| !self.entered.contains(&d.name)).collect();
        let mut problems = Vec::new();
        for source in std::iter::once(&self.default).chain(self.named.values()) {
            let mine: Vec<Dataset> =
                every.iter().copied().filter(|d| std::ptr::eq(self.source_of(d), source)).collect();
            problems.extend(source.verify(&mine).await?);
        }
        Ok(problems)
    }

    /// Everything a monthly assessment reads, from one snapshot per source.
    pub(crate) async fn month_input(&self, month: Month) -> Result<MonthInput> {
        let datasets = [
            PARTNERS,
            CONTRACTS,
            TICKETS,
            PAUSES,
            ORDERS,
            COMPLAINTS,
            SURVEYS,
            MANUAL_SCORES,
            VIOLATIONS,
            FEE_ITEMS,
            AUDIT_EXCLUSIONS,
            BLACKLIST,
        ];
        let mut f = self.fetch(&datasets, &Window::month(month), true).await?;
        Ok(MonthInput {
            month,
            partners: f.take(PARTNERS),
            contracts: f.take(CONTRACTS),
            tickets: f.tickets(),
            pauses: f.pauses(),
            orders: f.orders(),
            complaints: f.take(COMPLAINTS),
            surveys: f.take(SURVEYS),
            manual_scores: f.take(MANUAL_SCORES),
            violations: f.take(VIOLATIONS),
            fee_items: f.take(FEE_ITEMS),
            audit_exclusions: f.take(AUDIT_EXCLUSIONS),
            blacklist: f.take(BLACKLIST),
            as_of: None,
        })
    }

    pub(crate) async fn close(self) {
        self.default.close().await;
        for (_, s) in self.named {
            s.close().await;
        }
    }
}

/// Where one dataset's rows from a server go: the big datasets of a typed read straight into
/// typed columns (as the SQLite reader does), the others into a frame of text columns.
enum ServerSink {
    Text { dataset: Dataset, builders: Vec<StringChunkedBuilder>, height: usize },
    Tickets(TicketsBuilder),
    Orders(OrdersBuilder),
    Pauses(PausesBuilder),
}

impl ServerSink {
    fn new(dataset: Dataset, typed: bool) -> Self {
        match dataset.name {
            name if typed && name == TICKETS.name => Self::Tickets(TicketsBuilder::with_capacity(1 << 16)),
            name if typed && name == ORDERS.name => Self::Orders(OrdersBuilder::with_capacity(1 << 14)),
            name if typed && name == PAUSES.name => Self::Pauses(PausesBuilder::with_capacity(1 << 14)),
            _ => Self::Text {
                dataset,
                builders: dataset.columns.iter().map(|c| StringChunkedBuilder::new((*c).into(), 1024)).collect(),
                height: 0,
            },
        }
    }

    fn what(&self) -> String {
        let name = match self {
            Self::Text { dataset, .. } => dataset.name,
            Self::Tickets(_) => TICKETS.name,
            Self::Orders(_) => ORDERS.name,
            Self::Pauses(_) => PAUSES.name,
        };
        format!("reading {name}")
    }

    fn push_row(&mut self, row: &[Cell]) {
        match self {
            Self::Text { builders, height, .. } => {
                for (b, cell) in builders.iter_mut().zip(row) {
                    crate::domain::frames::push_text(b, *cell);
                }
                *height += 1;
            }
            Self::Tickets(b) => b.push_row(row),
            Self::Orders(b) => b.push_row(row),
            Self::Pauses(b) => b.push_row(row),
        }
    }

    fn finish(self, extract: &mut Extract) -> Result<()> {
        match self {
            Self::Text { dataset, builders, height } => {
                tracing::debug!(dataset = dataset.name, rows = height, "extracted");
                let columns = builders.into_iter().map(|b| b.finish().into_column()).collect();
                let frame = DataFrame::new(height, columns)
                    .map_err(|source| SourceError::Frame { dataset: dataset.name, source })?;
                extract.frames.insert(dataset.name, frame);
            }
            Self::Tickets(b) => extract.tickets = Some(b.finish()),
            Self::Orders(b) => extract.orders = Some(b.finish()),
            Self::Pauses(b) => extract.pauses = Some(b.finish()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_dialect() {
        let sql = "WHERE a < :end AND (b >= :start OR c >= :start) AND x::text = y";
        assert_eq!(
            placeholders(sql, Dialect::Sqlite),
            ("WHERE a < ?2 AND (b >= ?1 OR c >= ?1) AND x::text = y".into(), vec![0, 1])
        );
        assert_eq!(
            placeholders(sql, Dialect::Postgres),
            ("WHERE a < $1 AND (b >= $2 OR c >= $2) AND x::text = y".into(), vec![1, 0])
        );
        assert_eq!(
            placeholders(sql, Dialect::MySql),
            ("WHERE a < ? AND (b >= ? OR c >= ?) AND x::text = y".into(), vec![1, 0, 0])
        );
        assert_eq!(placeholders("WHERE month = :month", Dialect::Sqlite), ("WHERE month = ?3".into(), vec![0, 1, 2]));
        assert_eq!(placeholders("SELECT 1", Dialect::Postgres), ("SELECT 1".into(), vec![]));
        assert_eq!(placeholders("-- for :month\nWHERE m = :month", Dialect::MySql), ("\nWHERE m = ?".into(), vec![2]));
        assert_eq!(placeholders("WHERE :monthly = 1", Dialect::MySql).0, "WHERE :monthly = 1");
        let values = ["2026-10-01 00:00:00", "2026-11-01 00:00:00", "2026-10", "(0,0)", "o'clock"];
        assert_eq!(
            with_literals("-- :end\nWHERE a < :end AND m = :month AND x::text = :part_hi", &values),
            "\nWHERE a < '2026-11-01 00:00:00' AND m = '2026-10' AND x::text = 'o''clock'"
        );
    }

    #[test]
    fn every_dataset_has_a_query_naming_its_columns() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            for d in ALL_DATASETS.iter().chain([&OPEN_TICKETS]) {
                // The readers keep a row's cells on the stack, sixteen at most.
                assert!(d.columns.len() <= 16, "{} has {} columns", d.name, d.columns.len());
                let sql = query_text(dialect, d.name);
                for c in d.columns {
                    assert!(sql.contains(c), "{dialect:?} {}.sql lacks {c}", d.name);
                }
            }
        }
    }
}
