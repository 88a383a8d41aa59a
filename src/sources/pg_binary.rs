//! PostgreSQL's binary `COPY … TO STDOUT` format, decoded into cells a row at a time: text as
//! its bytes, integers as integers and a `timestamp` as its microseconds, so the server never
//! formats a value and the reader never parses one. Pure: bytes in, rows out, whatever the chunks.

use crate::domain::frames::Cell;

/// How a result column travels, from the type the server describes it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wire {
    /// `text`, `varchar`, `char(n)`, `name`: the bytes as the text output would print them.
    Text,
    Int2,
    Int4,
    Int8,
    /// `boolean`, read as the 0 or 1 of the contract's flags.
    Bool,
    /// `timestamp` (without time zone): microseconds since 2000-01-01 00:00:00.
    Timestamp,
    /// A column the contract does not name: whatever its type, stepped over unread.
    Skip,
}

impl Wire {
    /// The wire of a described column type (sqlx's type name), or `None` for one read otherwise.
    pub(super) fn of(type_name: &str) -> Option<Wire> {
        match type_name.to_ascii_uppercase().as_str() {
            "TEXT" | "VARCHAR" | "BPCHAR" | "CHAR" | "NAME" | "UNKNOWN" => Some(Wire::Text),
            "INT2" => Some(Wire::Int2),
            "INT4" => Some(Wire::Int4),
            "INT8" => Some(Wire::Int8),
            "BOOL" => Some(Wire::Bool),
            "TIMESTAMP" => Some(Wire::Timestamp),
            _ => None,
        }
    }
}

/// The stream is not binary COPY as PostgreSQL writes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed binary COPY data: {0}")]
pub(crate) struct Malformed(pub(super) &'static str);

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const EPOCH_2000: i64 = 946_684_800_000_000;
/// The widest row read: PostgreSQL's own limit on a result's columns.
const MAX_FIELDS: usize = 1664;
/// The longest value taken: the contract's values are ids, codes, names and instants. A longer
/// length is no row of ours (PostgreSQL itself allows 1 GB), and is refused before a byte of it
/// is kept.
const MAX_VALUE: usize = 16 << 20;
/// The longest row kept while the rest of it arrives.
const MAX_ROW: usize = 64 << 20;
/// The most contract columns a dataset has.
const MAX_CELLS: usize = 16;
/// A result column the contract does not name.
const UNUSED: u8 = u8::MAX;

/// Decodes one COPY stream: fed its chunks in order, hands each whole row's cells, in the
/// contract's column order, to the caller.
#[derive(Debug)]
pub(super) struct CopyReader {
    wires: Vec<Wire>,
    /// For each result column, the contract column it is (or `UNUSED`).
    slots: Vec<u8>,
    columns: usize,
    /// A row split over chunks, kept until the rest arrives.
    pending: Vec<u8>,
    header_read: bool,
    ended: bool,
    rows: usize,
}

/// What one step of parsing found at the start of a buffer.
enum Step {
    /// Not all there yet.
    Short,
    /// The header or a row, this many bytes long.
    Took(usize),
    /// The trailer.
    End,
}

impl CopyReader {
    /// `wires`: every result column's wire, in result order; `places`: where each contract column is.
    pub(super) fn new(wires: Vec<Wire>, places: Vec<usize>) -> Result<Self, Malformed> {
        if wires.len() > MAX_FIELDS || places.len() > MAX_CELLS || places.iter().any(|&p| p >= wires.len()) {
            return Err(Malformed("more columns than a row may have"));
        }
        let mut slots = vec![UNUSED; wires.len()];
        for (k, &place) in places.iter().enumerate() {
            slots[place] = k as u8;
        }
        Ok(Self { wires, slots, columns: places.len(), pending: Vec::new(), header_read: false, ended: false, rows: 0 })
    }

    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// Reads a chunk: every row it completes goes to `row`.
    pub(super) fn feed(&mut self, chunk: &[u8], row: &mut impl FnMut(&[Cell])) -> Result<(), Malformed> {
        if self.pending.is_empty() {
            // The usual case: the server sends a row per message, read where it lies.
            let used = self.parse(chunk, row)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.parse(&pending, row)?;
            pending.drain(..used);
            self.pending = pending;
        }
        // What is kept is one unfinished row: bounded, whatever the number of its columns.
        if self.pending.len() > MAX_ROW {
            return Err(Malformed("a row longer than 64 MiB"));
        }
        Ok(())
    }

    /// The stream is over: it must have ended with the trailer and nothing after it.
    pub(super) fn finish(self) -> Result<usize, Malformed> {
        match (self.ended, self.pending.is_empty()) {
            (true, true) => Ok(self.rows),
            (true, false) => Err(Malformed("data after the trailer")),
            (false, _) => Err(Malformed("the stream ended inside a row or before its trailer")),
        }
    }

    /// Parses whole pieces from the start of `buf`; returns the bytes used.
    fn parse(&mut self, buf: &[u8], row: &mut impl FnMut(&[Cell])) -> Result<usize, Malformed> {
        let mut at = 0;
        let mut cells = [Cell::Null; MAX_CELLS];
        while at < buf.len() {
            if self.ended {
                return Err(Malformed("data after the trailer"));
            }
            let step = if self.header_read { self.row(&buf[at..], &mut cells, row)? } else { header(&buf[at..])? };
            match step {
                Step::Short => break,
                Step::Took(n) => {
                    self.header_read = true;
                    at += n;
                }
                Step::End => {
                    self.ended = true;
                    at += 2;
                }
            }
        }
        Ok(at)
    }

    fn row<'b>(
        &mut self,
        buf: &'b [u8],
        cells: &mut [Cell<'b>; MAX_CELLS],
        row: &mut impl FnMut(&[Cell]),
    ) -> Result<Step, Malformed> {
        let Some(count) = buf.get(..2) else { return Ok(Step::Short) };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            return Ok(Step::End);
        }
        if count as usize != self.wires.len() || count < 0 {
            return Err(Malformed("a row with another number of columns than the query's"));
        }
        let mut at = 2;
        for (wire, &slot) in self.wires.iter().zip(&self.slots) {
            let Some(len) = buf.get(at..at + 4) else { return Ok(Step::Short) };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            at += 4;
            let value = if len == -1 {
                Cell::Null
            } else {
                let len = usize::try_from(len).map_err(|_| Malformed("a negative length"))?;
                if len > MAX_VALUE {
                    return Err(Malformed("a value longer than 16 MiB"));
                }
                let Some(value) = buf.get(at..at + len) else { return Ok(Step::Short) };
                at += len;
                cell(*wire, value)?
            };
            if slot != UNUSED {
                cells[usize::from(slot)] = value;
            }
        }
        row(&cells[..self.columns]);
        self.rows += 1;
        Ok(Step::Took(at))
    }
}

/// The signature, the flags (no OIDs) and the header extension.
fn header(buf: &[u8]) -> Result<Step, Malformed> {
    let Some(fixed) = buf.get(..19) else {
        return if SIGNATURE.starts_with(&buf[..buf.len().min(11)]) {
            Ok(Step::Short)
        } else {
            Err(Malformed("no binary COPY signature"))
        };
    };
    if &fixed[..11] != SIGNATURE {
        return Err(Malformed("no binary COPY signature"));
    }
    let flags = u32::from_be_bytes([fixed[11], fixed[12], fixed[13], fixed[14]]);
    if flags & (1 << 16) != 0 {
        return Err(Malformed("rows carry OIDs"));
    }
    let extension = u32::from_be_bytes([fixed[15], fixed[16], fixed[17], fixed[18]]) as usize;
    Ok(if buf.len() < 19 + extension { Step::Short } else { Step::Took(19 + extension) })
}

fn cell(wire: Wire, value: &[u8]) -> Result<Cell<'_>, Malformed> {
    let int = |n: usize| -> Result<i64, Malformed> {
        if value.len() != n {
            return Err(Malformed("an integer of another width"));
        }
        Ok(value.iter().skip(1).fold(i64::from(value[0] as i8), |acc, b| (acc << 8) | i64::from(*b)))
    };
    Ok(match wire {
        Wire::Text => Cell::Text(value),
        Wire::Int2 => Cell::Int(int(2)?),
        Wire::Int4 => Cell::Int(int(4)?),
        Wire::Int8 => Cell::Int(int(8)?),
        Wire::Bool => match value {
            [0] => Cell::Int(0),
            [1] => Cell::Int(1),
            _ => return Err(Malformed("a boolean that is neither true nor false")),
        },
        Wire::Timestamp => match int(8)? {
            // `infinity` and `-infinity` read as `to_char` printed them before: NULL.
            i64::MIN | i64::MAX => Cell::Null,
            // The last years PostgreSQL has (to 294276) pass the end of i64 when moved to 1970:
            // kept past the contract's years, so they read as unparsable.
            us => Cell::Micros(us.saturating_add(EPOCH_2000)),
        },
        Wire::Skip => Cell::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A value as a test writes it into a stream.
    #[derive(Debug, Clone)]
    enum Value {
        Null,
        Text(Vec<u8>),
        Int4(i32),
        Stamp(i64),
    }

    fn stream(rows: &[Vec<Value>], extension: &[u8]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0u32.to_be_bytes());
        out.extend((extension.len() as u32).to_be_bytes());
        out.extend(extension);
        for row in rows {
            out.extend((row.len() as i16).to_be_bytes());
            for v in row {
                let bytes = match v {
                    Value::Null => {
                        out.extend((-1i32).to_be_bytes());
                        continue;
                    }
                    Value::Text(t) => t.clone(),
                    Value::Int4(i) => i.to_be_bytes().to_vec(),
                    Value::Stamp(us) => (us - EPOCH_2000).to_be_bytes().to_vec(),
                };
                out.extend((bytes.len() as i32).to_be_bytes());
                out.extend(bytes);
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    /// Reads a stream cut at the given places, each row as owned values.
    fn read(wires: &[Wire], places: &[usize], bytes: &[u8], cuts: &[usize]) -> Result<Vec<Vec<String>>, Malformed> {
        let mut reader = CopyReader::new(wires.to_vec(), places.to_vec())?;
        let mut rows = Vec::new();
        let mut push = |cells: &[Cell]| {
            rows.push(
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Null => "NULL".to_string(),
                        Cell::Int(i) => format!("int {i}"),
                        Cell::Micros(us) => format!("us {us}"),
                        Cell::Text(t) => format!("text {}", String::from_utf8_lossy(t)),
                        Cell::Real(x) => format!("real {x}"),
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let mut from = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts.into_iter().chain([bytes.len()]) {
            reader.feed(&bytes[from..cut], &mut push)?;
            from = cut;
        }
        let n = reader.finish()?;
        assert_eq!(n, rows.len());
        Ok(rows)
    }

    const WIRES: [Wire; 3] = [Wire::Text, Wire::Int4, Wire::Timestamp];

    #[test]
    fn rows_come_in_the_contracts_order() {
        let rows = vec![
            vec![Value::Text(b"T1".to_vec()), Value::Int4(-2), Value::Stamp(1_790_812_800_000_000)],
            vec![Value::Null, Value::Null, Value::Null],
        ];
        let got = read(&WIRES, &[2, 0], &stream(&rows, b"ext"), &[]).unwrap();
        assert_eq!(got, vec![vec!["us 1790812800000000", "text T1"], vec!["NULL", "NULL"]]);
    }

    #[test]
    fn what_is_not_binary_copy_is_refused() {
        let good = stream(&[vec![Value::Text(b"a".to_vec()), Value::Int4(1), Value::Null]], b"");
        // Text COPY, a truncated stream, a row of another width, data after the trailer, an
        // integer of the wrong width, OIDs.
        assert!(read(&WIRES, &[0], b"T1\t1\t\\N\n", &[]).is_err());
        assert!(read(&WIRES, &[0], &good[..good.len() - 2], &[]).is_err());
        assert!(read(&WIRES[..2], &[0], &good, &[]).is_err());
        assert!(read(&WIRES, &[0], &[good.clone(), vec![0]].concat(), &[]).is_err());
        assert!(read(&[Wire::Text, Wire::Int8, Wire::Timestamp], &[0], &good, &[]).is_err());
        let mut oids = good.clone();
        oids[12] = 1; // bit 16 of the flags
        assert!(read(&WIRES, &[0], &oids, &[]).is_err());
        assert!(CopyReader::new(vec![Wire::Text], vec![1]).is_err());
        // A length past the cap is refused at once, however little of the value has come.
        let huge = [&SIGNATURE[..], &[0; 8], &1i16.to_be_bytes(), &(MAX_VALUE as i32 + 1).to_be_bytes()].concat();
        let mut reader = CopyReader::new(vec![Wire::Text], vec![0]).unwrap();
        assert_eq!(reader.feed(&huge, &mut |_| {}), Err(Malformed("a value longer than 16 MiB")));
        // Many values each under the cap make no row past its own: refused once 64 MiB are held.
        let wide = vec![Wire::Text; 8];
        let mut reader = CopyReader::new(wide, vec![0]).unwrap();
        let head = [&SIGNATURE[..], &[0; 8], &8i16.to_be_bytes()].concat();
        reader.feed(&head, &mut |_| {}).unwrap();
        let value = [&(MAX_VALUE as i32).to_be_bytes()[..], &vec![b'x'; MAX_VALUE]].concat();
        let fed: Vec<_> = (0..4).map(|_| reader.feed(&value, &mut |_| {})).collect();
        assert_eq!(fed[..3], [Ok(()), Ok(()), Ok(())]);
        assert_eq!(fed[3], Err(Malformed("a row longer than 64 MiB")));
        // Infinity is no instant: NULL, as `to_char` gave.
        let inf = [
            &SIGNATURE[..],
            &[0; 8],
            &1i16.to_be_bytes(),
            &8i32.to_be_bytes(),
            &i64::MAX.to_be_bytes(),
            &(-1i16).to_be_bytes(),
        ]
        .concat();
        assert_eq!(read(&[Wire::Timestamp], &[0], &inf, &[]).unwrap(), vec![vec!["NULL"]]);
    }

    proptest! {
        /// However the stream is cut into chunks, the same rows come out.
        #[test]
        fn chunks_do_not_matter(
            texts in prop::collection::vec(prop::option::of(prop::collection::vec(any::<u8>(), 0..12)), 0..20),
            ints in prop::collection::vec(any::<i32>(), 20),
            stamps in prop::collection::vec(-10_000_000_000_000_000i64..10_000_000_000_000_000, 20),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            extension in prop::collection::vec(any::<u8>(), 0..5),
        ) {
            let rows: Vec<Vec<Value>> = texts
                .iter()
                .enumerate()
                .map(|(k, t)| vec![t.clone().map_or(Value::Null, Value::Text), Value::Int4(ints[k]), Value::Stamp(stamps[k])])
                .collect();
            let bytes = stream(&rows, &extension);
            let whole = read(&WIRES, &[0, 1, 2], &bytes, &[]).unwrap();
            prop_assert_eq!(whole.len(), rows.len());
            prop_assert_eq!(read(&WIRES, &[0, 1, 2], &bytes, &cuts).unwrap(), whole);
        }

        /// Any bytes at all: an error or rows, never a panic.
        #[test]
        fn junk_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), cuts in prop::collection::vec(any::<usize>(), 0..4)) {
            let mut with_signature = SIGNATURE.to_vec();
            with_signature.extend(&bytes);
            let _ = read(&WIRES, &[0, 1, 2], &bytes, &cuts);
            let _ = read(&WIRES, &[0, 1, 2], &with_signature, &cuts);
        }
    }
}
