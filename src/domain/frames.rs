//! The big datasets of a month (tickets, their pauses, orders) as typed columns: instants as
//! integers ([`Stamp`]), ids with few distinct values (partners, classes) as codes into a
//! dictionary, flags as bits, and what did not parse kept as a marker so that the row can still
//! be quarantined by name. Built once, from whatever a source hands over ([`Cell`]), without an
//! allocation per value.

use super::clock::{stamp, Stamp};
use super::inputs::{opt_int, text, Unparsable, ORDERS, PAUSES, TICKETS};
use super::period::{parse_timestamp, YEARS};
use polars::prelude::{DataFrame, PlHashMap, StringChunked, StringChunkedBuilder};

/// A NULL instant.
pub const NULL_STAMP: Stamp = i64::MIN;
/// An instant that did not parse.
pub const BAD_STAMP: Stamp = i64::MIN + 1;
/// A NULL code.
pub const NULL_CODE: u32 = u32::MAX;

/// One value as a source hands it over, whatever its storage type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    /// A binary float: read through its shortest round-trip text (0.1 is 0.1).
    Real(f64),
    Text(&'a [u8]),
    /// A wall-clock instant in microseconds since 1970-01-01 00:00:00 (PostgreSQL's binary
    /// `timestamp`, moved to this epoch): read as `to_char(…, 'YYYY-MM-DD HH24:MI:SS')` printed
    /// it before, to the second (a fraction dropped, as a deployment's `now()` stamps have one).
    Micros(i64),
}

impl Cell<'_> {
    /// The value as canonical text (numbers as the contract prints them).
    fn with_text<R>(self, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
        match self {
            Cell::Null => f(None),
            Cell::Text(t) => f(Some(t)),
            Cell::Int(i) => f(Some(i.to_string().as_bytes())),
            Cell::Real(x) => f(Some(x.to_string().as_bytes())),
            Cell::Micros(us) => {
                let mut buf = [0u8; 40];
                f(Some(micros_text(us, &mut buf)))
            }
        }
    }
}

/// The first and the last instant (exclusive) of the contract's years, in seconds.
const FIRST_SECOND: i64 = -30_610_224_000; // 1000-01-01 00:00:00
const END_SECOND: i64 = 253_402_300_800; // 10000-01-01 00:00:00

/// An instant in microseconds as `to_char(…, 'YYYY-MM-DD HH24:MI:SS')` prints it (the second it
/// falls in); years outside 0000..=9999 as chrono writes them (never parsed back: not the contract's).
fn micros_text(us: i64, buf: &mut [u8; 40]) -> &[u8] {
    let secs = us.div_euclid(1_000_000);
    let (days, second) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        let text = chrono::DateTime::from_timestamp(secs, 0)
            .map_or_else(|| format!("{us}"), |t| t.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string());
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        return &buf[..n];
    }
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, second / 3600, 2);
    put(14, second / 60 % 60, 2);
    put(17, second % 60, 2);
    for (at, c) in [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')] {
        buf[at] = c;
    }
    &buf[..19]
}

/// The civil date of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn digits<const N: usize>(b: &[u8]) -> Option<i64> {
    b[..N].iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm), for the fast path.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`) read by position; `None` for anything else, which the
/// general parser then decides.
fn fast_stamp(b: &[u8]) -> Option<Stamp> {
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits::<4>(b)?, digits::<2>(&b[5..])?, digits::<2>(&b[8..])?);
    let (h, mi, s) = (digits::<2>(&b[11..])?, digits::<2>(&b[14..])?, digits::<2>(&b[17..])?);
    let valid = YEARS.contains(&(y as i32))
        && (1..=12).contains(&mo)
        && (1..=days_in_month(y, mo)).contains(&d)
        && h < 24
        && mi < 60
        && s < 60;
    valid.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Text shaped like a date (`YYYY-MM-DD…`, what the sources' `GLOB '[0-9][0-9][0-9][0-9]-…'`
/// matches): a row whose stamp is not even that is read, and listed, every month.
pub fn date_shaped(s: &[u8]) -> bool {
    s.len() >= 10
        && s[..4].iter().all(u8::is_ascii_digit)
        && s[4] == b'-'
        && s[5..7].iter().all(u8::is_ascii_digit)
        && s[7] == b'-'
        && s[8..10].iter().all(u8::is_ascii_digit)
}

/// A timestamp of the contract as an instant: `NULL_STAMP` for NULL or blank, `BAD_STAMP` for
/// text that is not one. The same answer as `inputs::opt_timestamp`, faster.
pub fn parse_stamp(cell: Cell) -> Stamp {
    if let Cell::Micros(us) = cell {
        // As the parser reads its text: the second it falls in, of the contract's years only.
        let secs = us.div_euclid(1_000_000);
        return if (FIRST_SECOND..END_SECOND).contains(&secs) { secs } else { BAD_STAMP };
    }
    cell.with_text(|t| {
        let Some(t) = t.map(<[u8]>::trim_ascii).filter(|t| !t.is_empty()) else { return NULL_STAMP };
        if let Some(s) = fast_stamp(t) {
            return s;
        }
        match std::str::from_utf8(t).ok().and_then(parse_timestamp) {
            Some(instant) => stamp(instant),
            None => BAD_STAMP,
        }
    })
}

/// A 0/1 flag of the contract (NULL reads as 0): `Ok(bool)` or `Err` for anything else.
pub fn parse_flag(cell: Cell) -> Result<bool, Unparsable> {
    match cell {
        Cell::Null => Ok(false),
        Cell::Int(0) | Cell::Text(b"0") => Ok(false),
        Cell::Int(1) | Cell::Text(b"1") => Ok(true),
        Cell::Int(_) => Err(Unparsable),
        other => other.with_text(|t| {
            let text = t.map(|t| String::from_utf8_lossy(t).into_owned());
            match opt_int(text.as_deref())? {
                None | Some(0) => Ok(false),
                Some(1) => Ok(true),
                Some(_) => Err(Unparsable),
            }
        }),
    }
}

/// A text column with few distinct values, as codes into its dictionary.
#[derive(Debug, Clone, Default)]
pub struct Codes {
    pub names: Vec<String>,
    pub codes: Vec<u32>,
}

impl Codes {
    /// The value of a row (`None` for NULL).
    #[cfg(test)]
    pub fn get(&self, row: usize) -> Option<&str> {
        self.names.get(self.codes[row] as usize).map(String::as_str)
    }

    /// Appends another column, re-coding its values into this dictionary.
    pub fn append(&mut self, other: Codes) {
        let recode: Vec<u32> = other
            .names
            .into_iter()
            .map(|name| match self.names.iter().position(|n| *n == name) {
                Some(i) => i as u32,
                None => {
                    self.names.push(name);
                    (self.names.len() - 1) as u32
                }
            })
            .collect();
        self.codes.extend(other.codes.into_iter().map(|c| if c == NULL_CODE { c } else { recode[c as usize] }));
    }
}

/// Builds a [`Codes`] column one value at a time. A value like the row before's costs one
/// comparison, one of a small dictionary (SLA classes, responsibilities) a few, any other one hash
/// lookup.
#[derive(Debug, Default)]
pub struct CodesBuilder {
    map: PlHashMap<Box<[u8]>, u32>,
    column: Codes,
    last: u32,
}

/// Up to this many distinct values, a value is looked up by comparing it with each.
const SCANNED: usize = 8;

impl CodesBuilder {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            map: PlHashMap::default(),
            column: Codes { names: Vec::new(), codes: Vec::with_capacity(rows) },
            last: NULL_CODE,
        }
    }

    fn code(&mut self, t: &[u8]) -> u32 {
        let names = &self.column.names;
        // The names hold the bytes as read unless they were not UTF-8 (then only the map knows them).
        if names.get(self.last as usize).is_some_and(|n| n.as_bytes() == t) {
            return self.last;
        }
        if names.len() <= SCANNED {
            if let Some(k) = names.iter().position(|n| n.as_bytes() == t) {
                return k as u32;
            }
        }
        if let Some(&code) = self.map.get(t) {
            return code;
        }
        // A new value. Bytes that are not UTF-8 are known by their cleaned name, so that two
        // spellings which read the same are one value (counts are gathered by name).
        let name = String::from_utf8_lossy(t);
        let code = match self.map.get(name.as_bytes()) {
            Some(&code) => code,
            None => {
                let code = self.column.names.len() as u32;
                self.column.names.push(name.to_string());
                self.map.insert(name.as_bytes().into(), code);
                code
            }
        };
        self.map.insert(t.into(), code);
        code
    }

    pub fn push(&mut self, cell: Cell) {
        let code = cell.with_text(|t| match t {
            None => NULL_CODE,
            Some(t) => self.code(t),
        });
        if code != NULL_CODE {
            self.last = code;
        }
        self.column.codes.push(code);
    }

    pub fn finish(self) -> Codes {
        self.column
    }
}

/// Appends a cell to a text column (ids: every value kept, NULL as NULL).
pub fn push_text(builder: &mut StringChunkedBuilder, cell: Cell) {
    cell.with_text(|t| match t {
        None => builder.append_null(),
        Some(t) => match std::str::from_utf8(t) {
            Ok(s) => builder.append_value(s),
            Err(_) => builder.append_value(String::from_utf8_lossy(t)),
        },
    })
}

/// Flag bits of a ticket.
pub const CRITICAL_OUTAGE: u8 = 1;
pub const DISPATCH_VIOLATION: u8 = 2;
pub const FALSE_INFO: u8 = 4;
/// One of the three flags is neither 0, 1 nor NULL.
pub const INVALID_FLAG: u8 = 0x80;

/// The month's candidate tickets (rules.md §3).
#[derive(Debug, Clone, Default)]
pub struct Tickets {
    pub id: StringChunked,
    pub partner: Codes,
    pub sla_class: Codes,
    pub responsibility: Codes,
    pub opened: Vec<Stamp>,
    pub resolved: Vec<Stamp>,
    /// `CRITICAL_OUTAGE | DISPATCH_VIOLATION | FALSE_INFO`, or `INVALID_FLAG`.
    pub flags: Vec<u8>,
}

/// Pauses of the month's tickets (and those taken in the month).
#[derive(Debug, Clone, Default)]
pub struct Pauses {
    pub ticket: StringChunked,
    /// `paused_at` as the source wrote it: pause rows are named `TICKET@paused_at`.
    pub paused_text: StringChunked,
    pub paused: Vec<Stamp>,
    pub resumed: Vec<Stamp>,
}

/// The month's candidate provisioning orders.
#[derive(Debug, Clone, Default)]
pub struct Orders {
    pub id: StringChunked,
    pub partner: Codes,
    pub accepted: Vec<Stamp>,
    pub due: Vec<Stamp>,
    pub completed: Vec<Stamp>,
}

/// Rows of one of the typed datasets, pushed a cell at a time in the dataset's column order
/// (`inputs::TICKETS.columns`, …).
pub trait RowSink {
    fn push_row(&mut self, row: &[Cell]);
}

pub struct TicketsBuilder {
    id: StringChunkedBuilder,
    partner: CodesBuilder,
    sla_class: CodesBuilder,
    responsibility: CodesBuilder,
    opened: Vec<Stamp>,
    resolved: Vec<Stamp>,
    flags: Vec<u8>,
}

impl TicketsBuilder {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            id: StringChunkedBuilder::new("ticket_id".into(), rows),
            partner: CodesBuilder::with_capacity(rows),
            sla_class: CodesBuilder::with_capacity(rows),
            responsibility: CodesBuilder::with_capacity(rows),
            opened: Vec::with_capacity(rows),
            resolved: Vec::with_capacity(rows),
            flags: Vec::with_capacity(rows),
        }
    }

    pub fn finish(self) -> Tickets {
        Tickets {
            id: self.id.finish(),
            partner: self.partner.finish(),
            sla_class: self.sla_class.finish(),
            responsibility: self.responsibility.finish(),
            opened: self.opened,
            resolved: self.resolved,
            flags: self.flags,
        }
    }
}

impl RowSink for TicketsBuilder {
    /// `ticket_id, partner_id, sla_class, responsibility, opened_at, resolved_at, critical_outage,
    /// dispatch_violation, false_info`.
    fn push_row(&mut self, row: &[Cell]) {
        push_text(&mut self.id, row[0]);
        self.partner.push(row[1]);
        self.sla_class.push(row[2]);
        self.responsibility.push(row[3]);
        self.opened.push(parse_stamp(row[4]));
        self.resolved.push(parse_stamp(row[5]));
        let mut bits = 0;
        for (cell, bit) in row[6..9].iter().zip([CRITICAL_OUTAGE, DISPATCH_VIOLATION, FALSE_INFO]) {
            match parse_flag(*cell) {
                Ok(true) => bits |= bit,
                Ok(false) => {}
                Err(_) => bits |= INVALID_FLAG,
            }
        }
        self.flags.push(bits);
    }
}

pub struct PausesBuilder {
    ticket: StringChunkedBuilder,
    paused_text: StringChunkedBuilder,
    paused: Vec<Stamp>,
    resumed: Vec<Stamp>,
}

impl PausesBuilder {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            ticket: StringChunkedBuilder::new("ticket_id".into(), rows),
            paused_text: StringChunkedBuilder::new("paused_at".into(), rows),
            paused: Vec::with_capacity(rows),
            resumed: Vec::with_capacity(rows),
        }
    }

    pub fn finish(self) -> Pauses {
        Pauses {
            ticket: self.ticket.finish(),
            paused_text: self.paused_text.finish(),
            paused: self.paused,
            resumed: self.resumed,
        }
    }
}

impl RowSink for PausesBuilder {
    /// `ticket_id, paused_at, resumed_at`.
    fn push_row(&mut self, row: &[Cell]) {
        push_text(&mut self.ticket, row[0]);
        push_text(&mut self.paused_text, row[1]);
        self.paused.push(parse_stamp(row[1]));
        self.resumed.push(parse_stamp(row[2]));
    }
}

pub struct OrdersBuilder {
    id: StringChunkedBuilder,
    partner: CodesBuilder,
    accepted: Vec<Stamp>,
    due: Vec<Stamp>,
    completed: Vec<Stamp>,
}

impl OrdersBuilder {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            id: StringChunkedBuilder::new("order_id".into(), rows),
            partner: CodesBuilder::with_capacity(rows),
            accepted: Vec::with_capacity(rows),
            due: Vec::with_capacity(rows),
            completed: Vec::with_capacity(rows),
        }
    }

    pub fn finish(self) -> Orders {
        Orders {
            id: self.id.finish(),
            partner: self.partner.finish(),
            accepted: self.accepted,
            due: self.due,
            completed: self.completed,
        }
    }
}

impl RowSink for OrdersBuilder {
    /// `order_id, partner_id, accepted_at, due_at, completed_at`.
    fn push_row(&mut self, row: &[Cell]) {
        push_text(&mut self.id, row[0]);
        self.partner.push(row[1]);
        self.accepted.push(parse_stamp(row[2]));
        self.due.push(parse_stamp(row[3]));
        self.completed.push(parse_stamp(row[4]));
    }
}

/// The text columns of pieces of one read, as one column in one chunk.
/// The pieces' text columns as one column of their chunks, without copying them: at 10M tickets a
/// copy of the ids is a quarter of a gigabyte. Readers go through such a column front to back.
fn concat_text(columns: Vec<StringChunked>) -> StringChunked {
    let mut columns = columns.into_iter();
    let Some(mut all) = columns.next() else { return StringChunked::default() };
    for c in columns {
        // Same dtype by construction: appending cannot fail.
        let _ = all.append_owned(c);
    }
    all
}

fn concat_codes(columns: Vec<Codes>) -> Codes {
    let mut all = Codes { names: Vec::new(), codes: Vec::with_capacity(columns.iter().map(|c| c.codes.len()).sum()) };
    for c in columns {
        all.append(c);
    }
    all
}

fn concat_vec<T: Copy>(mut columns: Vec<Vec<T>>) -> Vec<T> {
    if columns.len() == 1 {
        return columns.pop().unwrap_or_default();
    }
    let mut all = Vec::with_capacity(columns.iter().map(Vec::len).sum());
    for c in columns {
        all.extend_from_slice(&c);
    }
    all
}

impl Tickets {
    pub fn len(&self) -> usize {
        self.opened.len()
    }

    /// The pieces of one read, in order, as one frame.
    pub fn concat(pieces: Vec<Tickets>) -> Tickets {
        let mut id = Vec::new();
        let (mut partner, mut class, mut resp) = (Vec::new(), Vec::new(), Vec::new());
        let (mut opened, mut resolved, mut flags) = (Vec::new(), Vec::new(), Vec::new());
        for p in pieces {
            id.push(p.id);
            partner.push(p.partner);
            class.push(p.sla_class);
            resp.push(p.responsibility);
            opened.push(p.opened);
            resolved.push(p.resolved);
            flags.push(p.flags);
        }
        // The times on one core while the codes are copied on another: at ten million tickets
        // the copy took a sixth of a second on one.
        let ((partner, sla_class, responsibility, flags), (opened, resolved)) = std::thread::scope(|scope| {
            let times = scope.spawn(move || (concat_vec(opened), concat_vec(resolved)));
            let codes = (concat_codes(partner), concat_codes(class), concat_codes(resp), concat_vec(flags));
            (codes, times.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        Tickets { id: concat_text(id), partner, sla_class, responsibility, opened, resolved, flags }
    }
}

impl Orders {
    /// The pieces of one read, in order, as one frame.
    pub fn concat(pieces: Vec<Orders>) -> Orders {
        let (mut id, mut partner) = (Vec::new(), Vec::new());
        let (mut accepted, mut due, mut completed) = (Vec::new(), Vec::new(), Vec::new());
        for p in pieces {
            id.push(p.id);
            partner.push(p.partner);
            accepted.push(p.accepted);
            due.push(p.due);
            completed.push(p.completed);
        }
        Orders {
            id: concat_text(id),
            partner: concat_codes(partner),
            accepted: concat_vec(accepted),
            due: concat_vec(due),
            completed: concat_vec(completed),
        }
    }
}

impl Pauses {
    /// The pieces of one read, in order, as one frame.
    pub fn concat(pieces: Vec<Pauses>) -> Pauses {
        let (mut ticket, mut text) = (Vec::new(), Vec::new());
        let (mut paused, mut resumed) = (Vec::new(), Vec::new());
        for p in pieces {
            ticket.push(p.ticket);
            text.push(p.paused_text);
            paused.push(p.paused);
            resumed.push(p.resumed);
        }
        Pauses {
            ticket: concat_text(ticket),
            paused_text: concat_text(text),
            paused: concat_vec(paused),
            resumed: concat_vec(resumed),
        }
    }
}

/// Pushes every row of a frame of text columns into a sink (the servers' text, tests).
fn from_text(df: &DataFrame, columns: &[&str], sink: &mut impl RowSink) {
    let cols: Vec<&StringChunked> = columns.iter().map(|c| text(df, c)).collect();
    let mut row: Vec<Cell> = Vec::with_capacity(columns.len());
    for i in 0..df.height() {
        row.clear();
        row.extend(cols.iter().map(|c| c.get(i).map_or(Cell::Null, |s| Cell::Text(s.as_bytes()))));
        sink.push_row(&row);
    }
}

impl From<&DataFrame> for Tickets {
    fn from(df: &DataFrame) -> Self {
        let mut b = TicketsBuilder::with_capacity(df.height());
        from_text(df, TICKETS.columns, &mut b);
        b.finish()
    }
}

impl From<&DataFrame> for Pauses {
    fn from(df: &DataFrame) -> Self {
        let mut b = PausesBuilder::with_capacity(df.height());
        from_text(df, PAUSES.columns, &mut b);
        b.finish()
    }
}

impl From<&DataFrame> for Orders {
    fn from(df: &DataFrame) -> Self {
        let mut b = OrdersBuilder::with_capacity(df.height());
        from_text(df, ORDERS.columns, &mut b);
        b.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inputs::opt_timestamp;
    use proptest::prelude::*;

    fn reference(s: &str) -> Stamp {
        match opt_timestamp(Some(s)) {
            Ok(Some(t)) => stamp(t),
            Ok(None) => NULL_STAMP,
            Err(_) => BAD_STAMP,
        }
    }

    #[test]
    fn timestamps_read_by_position_agree_with_the_parser() {
        for s in [
            "2026-10-31 23:59:59",
            "2026-02-29 10:00:00",
            "2024-02-29 10:00:00",
            "2026-13-01 00:00:00",
            "2026-10-01T09:00:00",
            "2026-10-01 24:00:00",
            "2026-10-01 23:59:60",
            " 2026-10-01 09:00:00 ",
            "2026-10-01 09:00:00.000",
            "2026-10-01 09:00:00.5",
            "0999-01-01 00:00:00",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_stamp(Cell::Text(s.as_bytes())), reference(s), "{s:?}");
        }
        assert_eq!(parse_stamp(Cell::Null), NULL_STAMP);
        assert_eq!(parse_stamp(Cell::Int(20261001)), BAD_STAMP);
        assert_eq!(days_from_civil(1000, 1, 1) * 86_400, FIRST_SECOND);
        assert_eq!(days_from_civil(10000, 1, 1) * 86_400, END_SECOND);
        let text = |us| {
            let mut buf = [0u8; 40];
            String::from_utf8(micros_text(us, &mut buf).to_vec()).unwrap()
        };
        assert_eq!(text(1_790_812_800_000_000), "2026-10-01 00:00:00");
        assert_eq!(text(1_790_812_800_999_999), "2026-10-01 00:00:00");
        assert_eq!(text(-1), "1969-12-31 23:59:59");
        assert_eq!(parse_stamp(Cell::Micros(1_790_812_800_000_000)), 1_790_812_800);
        assert_eq!(parse_stamp(Cell::Micros(1_790_812_800_500_000)), 1_790_812_800);
        assert_eq!(parse_stamp(Cell::Micros(END_SECOND * 1_000_000)), BAD_STAMP);
    }

    #[test]
    fn flags_and_codes() {
        assert_eq!(parse_flag(Cell::Real(1.0)), Ok(true));
        assert_eq!(parse_flag(Cell::Text(b" 0 ")), Ok(false));
        assert!(parse_flag(Cell::Int(2)).is_err());
        let mut a = CodesBuilder::with_capacity(3);
        for v in [Cell::Text(b"P01"), Cell::Null, Cell::Text(b"P02")] {
            a.push(v);
        }
        let mut a = a.finish();
        let mut b = CodesBuilder::with_capacity(2);
        b.push(Cell::Text(b"P02"));
        b.push(Cell::Text(b"P03"));
        a.append(b.finish());
        let values: Vec<Option<&str>> = (0..5).map(|i| a.get(i)).collect();
        assert_eq!(values, [Some("P01"), None, Some("P02"), Some("P02"), Some("P03")]);
    }

    /// Bytes that are not UTF-8 and the text they read as are one value, whichever comes first
    /// and past the small dictionary's scan: counts are gathered by name.
    #[test]
    fn spellings_that_read_the_same_are_one_code() {
        let mut b = CodesBuilder::with_capacity(16);
        for k in 0..SCANNED + 2 {
            b.push(Cell::Text(format!("P{k:02}").as_bytes()));
        }
        let cleaned = "P\u{fffd}".as_bytes();
        for v in [&b"P\xff"[..], &b"P\xfe"[..], cleaned, &b"P\xff"[..]] {
            b.push(Cell::Text(v));
            b.push(Cell::Text(b"P00"));
        }
        let mut c = CodesBuilder::with_capacity(2);
        c.push(Cell::Text(cleaned));
        c.push(Cell::Text(b"P\xfd"));
        let codes = b.finish();
        assert_eq!(codes.names.len(), SCANNED + 3, "{:?}", codes.names);
        let odd: Vec<u32> = codes.codes[SCANNED + 2..].iter().step_by(2).copied().collect();
        assert_eq!(odd, vec![odd[0]; 4]);
        assert_eq!(codes.names[odd[0] as usize], "P\u{fffd}");
        assert_eq!(c.finish().names, vec!["P\u{fffd}".to_string()]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// The fast path and the general parser agree on anything timestamp-shaped and on junk.
        #[test]
        fn the_fast_path_agrees_with_the_parser(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62, s in 0u32..62,
            sep in prop::sample::select(vec![" ", "T", "_"]),
            junk in "[ -~]{0,20}",
            which in 0u8..3,
        ) {
            let text = match which {
                0 => format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}"),
                1 => format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}.000"),
                _ => junk,
            };
            prop_assert_eq!(parse_stamp(Cell::Text(text.as_bytes())), reference(&text));
        }

        /// An instant handed over as microseconds reads as its text does, and that text is the
        /// second it falls in as chrono writes it (as `to_char` printed it).
        #[test]
        fn an_instant_reads_as_its_text(
            us in prop_oneof![
                -40_000_000_000_000_000i64..300_000_000_000_000_000,
                (-31_000_000_000i64..254_000_000_000).prop_map(|s| s * 1_000_000),
            ],
        ) {
            let text = Cell::Micros(us).with_text(|t| String::from_utf8(t.unwrap().to_vec()).unwrap());
            let t = chrono::DateTime::from_timestamp(us.div_euclid(1_000_000), 0).unwrap().naive_utc();
            prop_assert_eq!(&text, &t.format("%Y-%m-%d %H:%M:%S").to_string());
            prop_assert_eq!(parse_stamp(Cell::Micros(us)), reference(&text));
        }
    }
}
