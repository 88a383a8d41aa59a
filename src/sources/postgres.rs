//! Reading a PostgreSQL source: one snapshot (REPEATABLE READ, read only) shared by a few
//! connections through `pg_export_snapshot`, every dataset by binary `COPY (query) TO STDOUT`
//! decoded as it streams in ([`pg_binary`]), and the tickets in ranges of the table's pages read
//! side by side, the way DuckDB's postgres_scanner reads a table. The server formats no value
//! (timestamps travel as integers), and its work and ours spread over both sides' cores.

use super::pg_binary::{CopyReader, Malformed, Wire};
use super::{placeholders, query_text, with_literals, Extract, ServerSink, SourceError, PROGRESS_EVERY};
use crate::db::{self, Dialect};
use crate::domain::frames::{Orders, Tickets};
use crate::domain::inputs::{Dataset, ORDERS, TICKETS};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnection, PgPool, Postgres};
use sqlx::Transaction;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

type Result<T> = std::result::Result<T, SourceError>;
type Tx = Transaction<'static, Postgres>;

/// At most this many connections read one snapshot: the tickets in as many ranges, the other
/// datasets taken by whichever connection is free.
const LANES: u32 = 3;
/// A `tid` past any page a table can have (the highest block number is 0xFFFFFFFE).
const LAST_TID: &str = "(4294967295,0)";

/// What one connection reads: a dataset, or one range of the tickets' pages.
#[derive(Debug, Clone)]
struct Job {
    /// The dataset's place in the read: the first failure in this order is the one told.
    order: usize,
    dataset: Dataset,
    /// `:part_lo` and `:part_hi` as `tid` literals.
    part: (String, String),
    piece: usize,
    columns: Arc<Columns>,
}

/// How a query's result is read: each column's wire, and where the contract's columns are.
#[derive(Debug)]
struct Columns {
    wires: Vec<Wire>,
    places: Vec<usize>,
}

/// What a finished job hands back.
struct Done {
    job: Job,
    sink: ServerSink,
}

/// Reads `datasets` from one snapshot. `values`: the window's `:start`, `:end`, `:month`.
pub(super) async fn fetch(pool: &PgPool, datasets: &[Dataset], values: [&str; 3], typed: bool) -> Result<Extract> {
    let start = |e| db::classify(e, "starting the source read");
    let mut tx = pool.begin().await.map_err(start)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await.map_err(start)?;
    // Every query described first, in the read's order, on this connection: a missing table or
    // column is told for the first dataset that has one, before any rows move.
    let mut described = Vec::with_capacity(datasets.len());
    for dataset in datasets {
        described.push(Arc::new(describe(&mut tx, *dataset).await?));
    }
    let splits = datasets.iter().any(|d| parts_query(*d).is_some());
    let wanted = if datasets.len() > 1 || splits { pool.options().get_max_connections().min(LANES) } else { 1 };
    let besides = besides(pool, &mut tx, wanted.saturating_sub(1) as usize).await?;
    let lanes = 1 + besides.len();
    let mut queue = VecDeque::new();
    for ((order, dataset), columns) in datasets.iter().copied().enumerate().zip(described) {
        // The big datasets in page ranges, where they come typed (the month's read).
        let ranges = if typed && lanes > 1 { pages(&mut tx, dataset, lanes).await? } else { None };
        let ranges = ranges.unwrap_or_else(|| vec![("(0,0)".to_string(), LAST_TID.to_string())]);
        for (piece, part) in ranges.into_iter().enumerate() {
            queue.push_back(Job { order, dataset, part, piece, columns: columns.clone() });
        }
    }
    // The longest reads start first: the tickets, then the orders, then the rest in order.
    let rank = |job: &Job| [TICKETS.name, ORDERS.name].iter().position(|n| *n == job.dataset.name).unwrap_or(2);
    queue.make_contiguous().sort_by_key(rank);
    let queue = Arc::new(Mutex::new(queue));
    let values: Arc<[String; 3]> = Arc::new(values.map(str::to_string));
    let mut handles = Vec::with_capacity(lanes);
    for lane in std::iter::once(tx).chain(besides) {
        let (queue, values) = (queue.clone(), values.clone());
        // A task per connection: the rows of each are decoded on whichever core is free.
        handles.push(tokio::spawn(run_lane(lane, queue, values, typed)));
    }
    let mut done: Vec<Done> = Vec::new();
    let mut failed: Option<(usize, SourceError)> = None;
    for handle in handles {
        let (finished, failure) = handle.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        done.extend(finished);
        if let Some((order, e)) = failure {
            if failed.as_ref().is_none_or(|(first, _)| order < *first) {
                failed = Some((order, e));
            }
        }
    }
    if let Some((_, e)) = failed {
        return Err(e);
    }
    let mut extract = Extract::default();
    done.sort_by_key(|d| (d.job.order, d.job.piece));
    let (mut tickets, mut orders) = (Vec::new(), Vec::new());
    for d in done {
        match d.sink {
            ServerSink::Tickets(builder) => tickets.push(builder.finish()),
            ServerSink::Orders(builder) => orders.push(builder.finish()),
            sink => sink.finish(&mut extract)?,
        }
    }
    // The pieces of a dataset in page order, as one frame.
    if !tickets.is_empty() {
        extract.tickets = Some(if tickets.len() == 1 { tickets.remove(0) } else { Tickets::concat(tickets) });
    }
    if !orders.is_empty() {
        extract.orders = Some(if orders.len() == 1 { orders.remove(0) } else { Orders::concat(orders) });
    }
    Ok(extract)
}

/// One connection's share: jobs from the queue until it is empty or a job fails (then the queue
/// is emptied, so the others stop too). Returns what it read and its failure, if any.
async fn run_lane(
    mut tx: Tx,
    queue: Arc<Mutex<VecDeque<Job>>>,
    values: Arc<[String; 3]>,
    typed: bool,
) -> (Vec<Done>, Option<(usize, SourceError)>) {
    let mut done = Vec::new();
    loop {
        let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
        let Some(job) = next else { break };
        let mut sink = ServerSink::new(job.dataset, typed);
        let [start, end, month] = &*values;
        let values = [start.as_str(), end.as_str(), month.as_str(), job.part.0.as_str(), job.part.1.as_str()];
        match copy(&mut tx, &job, &values, &mut sink).await {
            Ok(()) => done.push(Done { job, sink }),
            Err(e) => {
                queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
                return (done, Some((job.order, e)));
            }
        }
    }
    tx.rollback().await.ok();
    (done, None)
}

/// A dataset's query described by the server: its columns' types and where the contract's are.
async fn describe(conn: &mut PgConnection, dataset: Dataset) -> Result<Columns> {
    use sqlx::{Column, Executor};
    let (sql, _) = placeholders(query_text(Dialect::Postgres, dataset.name), Dialect::Postgres);
    let described =
        (&mut *conn).describe(&sql).await.map_err(|e| db::classify(e, format!("reading {}", dataset.name)))?;
    let columns = described.columns();
    let problems = column_types(dataset, columns);
    if let Some((column, type_name)) = problems.into_iter().next() {
        return Err(SourceError::ColumnType { dataset: dataset.name, column, type_name });
    }
    // The contract's columns by their type; any other column is stepped over unread.
    let wires =
        columns.iter().map(|c| contract_column(dataset, c).map_or(Wire::Skip, |w| w.unwrap_or(Wire::Skip))).collect();
    let places = dataset
        .columns
        .iter()
        .map(|name| {
            columns
                .iter()
                .position(|c| c.name() == *name)
                .ok_or(SourceError::MissingColumn { dataset: dataset.name, column: name })
        })
        .collect::<Result<Vec<usize>>>()?;
    Ok(Columns { wires, places })
}

/// The wire of a result column the contract names (`Some(None)`: in a type not read), or `None`
/// for a column the contract does not name.
fn contract_column(dataset: Dataset, column: &sqlx::postgres::PgColumn) -> Option<Option<Wire>> {
    use sqlx::{Column, TypeInfo};
    dataset.columns.contains(&column.name()).then(|| Wire::of(column.type_info().name()))
}

/// The contract's columns a described query returns in a type the reader does not take, as
/// (column, type): what `check-config` lists and a run refuses (exit 65).
pub(super) fn column_types(dataset: Dataset, columns: &[sqlx::postgres::PgColumn]) -> Vec<(String, String)> {
    use sqlx::{Column, TypeInfo};
    columns
        .iter()
        .filter(|c| matches!(contract_column(dataset, c), Some(None)))
        .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
        .collect()
}

/// Reads one dataset (or one range of it) into `sink`, as binary `COPY` with the values written
/// in (`COPY` takes no parameters).
async fn copy(conn: &mut PgConnection, job: &Job, values: &[&str; 5], sink: &mut ServerSink) -> Result<()> {
    let dataset = job.dataset;
    let what = || format!("reading {}", dataset.name);
    let query = query_text(Dialect::Postgres, dataset.name);
    let malformed = |source: Malformed| SourceError::Stream { dataset: dataset.name, source };
    let mut reader = CopyReader::new(job.columns.wires.clone(), job.columns.places.clone()).map_err(malformed)?;
    let statement = format!("COPY ({}) TO STDOUT (FORMAT binary)", with_literals(query, values));
    let started = std::time::Instant::now();
    let mut told = 0;
    let mut chunks = conn.copy_out_raw(&statement).await.map_err(|e| db::classify(e, what()))?;
    while let Some(chunk) = chunks.try_next().await.map_err(|e| db::classify(e, what()))? {
        reader.feed(&chunk, &mut |cells| sink.push_row(cells)).map_err(malformed)?;
        // Progress of a long extraction, so an operator watching a big month sees it move.
        if reader.rows() >= told + PROGRESS_EVERY {
            told = reader.rows() - reader.rows() % PROGRESS_EVERY;
            let rate = told as f64 / started.elapsed().as_secs_f64().max(0.001);
            tracing::info!(dataset = dataset.name, rows = told, rows_per_second = rate as u64, "reading");
        }
    }
    drop(chunks);
    reader.finish().map_err(malformed)?;
    Ok(())
}

/// The page count query of a dataset whose query can be split (`<dataset>.parts.sql`): one
/// whose query takes `:part_lo` and `:part_hi` (a mapped query without them is read whole).
fn parts_query(dataset: Dataset) -> Option<&'static str> {
    let splittable = query_text(Dialect::Postgres, dataset.name).contains(":part_lo");
    match dataset.name {
        "tickets" if splittable => Some(include_str!("../../sql/extract/postgres/tickets.parts.sql")),
        "orders" if splittable => Some(include_str!("../../sql/extract/postgres/orders.parts.sql")),
        _ => None,
    }
}

/// A dataset's pages cut into `lanes` ranges as `tid` bounds, or `None` when it is read in one
/// piece: no parts query, or no page count (before PostgreSQL 14, or not a table).
async fn pages(tx: &mut Tx, dataset: Dataset, lanes: usize) -> Result<Option<Vec<(String, String)>>> {
    let Some(sql) = parts_query(dataset) else { return Ok(None) };
    let pages: Option<i64> = sqlx::query_scalar(sql)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| db::classify(e, format!("reading {}", dataset.name)))?;
    let Some(pages) = pages.filter(|p| *p >= lanes as i64) else { return Ok(None) };
    let bound = |k: usize| format!("({},0)", pages * k as i64 / lanes as i64);
    // The last range is open: pages added since the size was read hold no row of this snapshot,
    // but nothing depends on that.
    Ok(Some((0..lanes).map(|k| (bound(k), if k + 1 == lanes { LAST_TID.into() } else { bound(k + 1) })).collect()))
}

/// Up to `wanted` more read-only transactions in the snapshot `tx` holds (`pg_export_snapshot`):
/// none when there is none to have (a standby, a pool of one connection, connections that cannot
/// be had). The read then stays on fewer. A statement that fails on `tx` itself is an error: it
/// has ended `tx`, so there is nothing left to read on.
pub(super) async fn besides(pool: &PgPool, tx: &mut Tx, wanted: usize) -> Result<Vec<Tx>> {
    if wanted == 0 || pool.options().get_max_connections() < 2 {
        return Ok(Vec::new());
    }
    let failed = |e| db::classify(e, "starting the source read");
    // A standby may not export a snapshot.
    let primary: bool =
        sqlx::query_scalar("SELECT NOT pg_is_in_recovery()").fetch_one(&mut **tx).await.map_err(failed)?;
    if !primary {
        return Ok(Vec::new());
    }
    let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut **tx).await.map_err(failed)?;
    let mut found = Vec::with_capacity(wanted);
    'more: for _ in 0..wanted.min(pool.options().get_max_connections() as usize - 1) {
        let mut beside = match pool.begin().await {
            Ok(beside) => beside,
            Err(e) => {
                tracing::info!(error = %e, "reading the source on fewer connections");
                break;
            }
        };
        for sql in
            ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", &format!("SET TRANSACTION SNAPSHOT '{id}'")]
        {
            if let Err(e) = sqlx::query(sql).execute(&mut *beside).await {
                tracing::info!(error = %e, "reading the source on fewer connections");
                break 'more;
            }
        }
        found.push(beside);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The month's tickets read in page ranges on three connections are every ticket once, in the
    /// table's order, as one connection reads them; the ranges are as many as the connections.
    #[tokio::test]
    async fn page_ranges_read_every_ticket_once_in_order() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        let schema = format!("ranges_{}", std::process::id());
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap_or_else(|e| panic!("the local PostgreSQL at {url} is needed: {e}"));
        for sql in [
            format!("CREATE SCHEMA {schema}"),
            format!(
                "CREATE TABLE {schema}.tickets AS SELECT 'T' || lpad(n::text, 5, '0') AS ticket_id, \
                 'P' || (n % 7) AS partner_id, 'A' AS sla_class, 'partner' AS responsibility, \
                 timestamp '2026-10-01' + n * interval '1 minute' AS opened_at, \
                 NULL::timestamp AS resolved_at, n % 2 AS critical_outage, 0 AS dispatch_violation, \
                 0 AS false_info FROM generate_series(1, 3000) AS n"
            ),
        ] {
            sqlx::query(&sql).execute(&admin).await.unwrap();
        }
        let read = |connections: u32| {
            let schema = schema.clone();
            async move {
                let options =
                    url.parse::<sqlx::postgres::PgConnectOptions>().unwrap().options([("search_path", schema)]);
                let pool = sqlx::postgres::PgPoolOptions::new().max_connections(connections).connect_with(options);
                let pool = pool.await.unwrap();
                let mut tx = pool.begin().await.unwrap();
                let ranges = pages(&mut tx, TICKETS, 3).await.unwrap().map_or(0, |r| r.len());
                tx.rollback().await.unwrap();
                let values = ["2026-10-01 00:00:00", "2026-11-01 00:00:00", "2026-10"];
                let mut extract = fetch(&pool, &[TICKETS], values, true).await.unwrap();
                let tickets = extract.tickets.take().unwrap();
                let ids: Vec<String> = tickets.id.iter().map(|t| t.unwrap_or("").to_string()).collect();
                (ranges, ids, tickets.flags)
            }
        };
        let (ranges, three, flags) = read(3).await;
        let (_, one, _) = read(1).await;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await.unwrap();
        assert_eq!(ranges, 3, "the table spans enough pages for three ranges");
        let expected: Vec<String> = (1..=3000).map(|n| format!("T{n:05}")).collect();
        assert_eq!(three, expected);
        assert_eq!(one, expected);
        // A flag of 0 comes as NULL and reads as 0; a 1 as 1.
        assert_eq!(flags.iter().filter(|f| **f == crate::domain::frames::CRITICAL_OUTAGE).count(), 1500);
    }

    /// The connections beside read the snapshot of the transaction that exported it: a row
    /// committed after the export is not there for them, though a new reader sees it. Against the
    /// local PostgreSQL every machine of this kind runs.
    #[tokio::test]
    async fn the_connections_beside_read_the_same_snapshot() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(url)
            .await
            .unwrap_or_else(|e| panic!("the local PostgreSQL at {url} is needed: {e}"));
        let table = format!("beside_{}", std::process::id());
        sqlx::query(&format!("CREATE TABLE {table} (n INTEGER)")).execute(&pool).await.unwrap();
        let count = format!("SELECT count(*) FROM {table}");
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await.unwrap();
        let mut others = besides(&pool, &mut tx, 2).await.unwrap();
        assert_eq!(others.len(), 2);
        sqlx::query(&format!("INSERT INTO {table} VALUES (1)")).execute(&pool).await.unwrap();
        let mut seen = Vec::new();
        for beside in &mut others {
            seen.push(sqlx::query_scalar::<_, i64>(&count).fetch_one(&mut **beside).await.unwrap());
        }
        seen.push(sqlx::query_scalar(&count).fetch_one(&mut *tx).await.unwrap());
        let fresh: i64 = sqlx::query_scalar(&count).fetch_one(&pool).await.unwrap();
        for beside in others {
            beside.rollback().await.unwrap();
        }
        tx.rollback().await.unwrap();
        sqlx::query(&format!("DROP TABLE {table}")).execute(&pool).await.unwrap();
        assert_eq!((seen, fresh), (vec![0, 0, 0], 1));
        // No more than the pool has beside the first; a pool of one connection reads on one.
        for (size, found) in [(3, 2), (1, 0)] {
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(size).connect(url).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            assert_eq!(besides(&pool, &mut tx, 5).await.unwrap().len(), found, "a pool of {size}");
        }
    }
}
