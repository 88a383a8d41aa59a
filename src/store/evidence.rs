//! The compact evidence: every row behind a month's numbers as a few Arrow IPC parts (zstd) per
//! month, written in the month's transaction and read back by `explain`. A store still holding
//! the old row-per-ticket table is converted when it is opened for writing.

use super::{commit, failed, get, sql, text, text_req, Result, Store, StoreError};
use crate::domain::monthly::{
    data_quality_parts, events_parts_of, rows_of_partners, DataQualityRow, Evidence, EvidencePart, MonthEvidence,
    PartKind, Rows, Words,
};
use crate::domain::period::Month;
use polars::polars_utils::compression::ZstdLevel;
use polars::prelude::{CompatLevel, DataFrame, PlSmallStr, PolarsResult};
use polars_io::ipc::{IpcCompression, IpcReader, IpcWriter};
use polars_io::{SerReader, SerWriter};
use rust_decimal::Decimal;
use std::str::FromStr;

fn corrupt(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt { what: what.to_string(), source: Box::new(e) }
}

/// What the codes of a part stand for travels in the IPC schema's metadata, one list per key.
const SEPARATOR: char = '\u{1f}';

/// A part as compressed Arrow IPC bytes. Text is written as views: an id of up to 12 bytes sits
/// inside its view, which at ten million tickets compressed 13% smaller and 10% faster than
/// offsets and data (parts written either way are read the same). The level is pinned, not
/// polars' newest, so that a polars upgrade cannot write parts an older build cannot read.
fn encode(df: &mut DataFrame, words: &Words) -> PolarsResult<Vec<u8>> {
    let mut bytes = Vec::new();
    let join = |list: &[String]| PlSmallStr::from(list.join(&SEPARATOR.to_string()));
    let metadata = std::collections::BTreeMap::from([
        (PlSmallStr::from("partners"), join(&words.partners)),
        (PlSmallStr::from("indicators"), join(&words.indicators)),
        (PlSmallStr::from("sla_classes"), join(&words.classes)),
    ]);
    let mut writer = IpcWriter::new(&mut bytes)
        .with_compression(Some(IpcCompression::ZSTD(ZstdLevel::try_new(1)?)))
        .with_compat_level(CompatLevel::with_level(1)?)
        .with_parallel(false);
    writer.set_custom_schema_metadata(std::sync::Arc::new(metadata));
    writer.finish(df)?;
    // The buffer grew by doubling; the month's parts are all held until the store has them, and
    // at ten million tickets their spare capacity was 100 MB of the peak.
    bytes.shrink_to_fit();
    Ok(bytes)
}

fn decode(bytes: Vec<u8>) -> PolarsResult<(DataFrame, Words)> {
    let mut reader = IpcReader::new(std::io::Cursor::new(bytes));
    let metadata = reader.custom_metadata()?.unwrap_or_default();
    let list = |key: &str| -> Vec<String> {
        metadata.get(key).filter(|v| !v.is_empty()).map_or(vec![], |v| v.split(SEPARATOR).map(str::to_string).collect())
    };
    let words = Words { partners: list("partners"), indicators: list("indicators"), classes: list("sla_classes") };
    Ok((reader.finish()?, words))
}

/// A part as fetched: its kind, its index and its compressed bytes.
type FetchedPart = (PartKind, i64, Vec<u8>);

/// Decodes fetched parts on every core (a part's decompression and row selection are one core's
/// work, and a 10M month has twenty of them): each part's rows of the wanted partners, in the
/// parts' order.
fn decode_parts(
    fetched: Vec<FetchedPart>,
    wanted: &std::collections::BTreeSet<String>,
    which: Rows,
) -> Result<Vec<Vec<Evidence>>> {
    let what = "monthly_evidence_frames";
    let one = |(kind, index, bytes): FetchedPart| -> Result<Vec<Evidence>> {
        let (frame, words) = decode(bytes).map_err(|e| corrupt(what, e))?;
        let part = EvidencePart { kind, index: index as usize, frame };
        rows_of_partners(&part, &words, wanted, which).map_err(|e| corrupt(what, e))
    };
    let workers = std::thread::available_parallelism().map_or(1, usize::from).min(fetched.len()).max(1);
    if workers == 1 {
        return fetched.into_iter().map(one).collect();
    }
    // Worker w takes parts w, w + workers, …; at most `workers` parts are decoded at once.
    let mut shares: Vec<Vec<(usize, FetchedPart)>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, part) in fetched.into_iter().enumerate() {
        shares[i % workers].push((i, part));
    }
    let mut done: Vec<(usize, Result<Vec<Evidence>>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| scope.spawn(|| share.into_iter().map(|(i, part)| (i, one(part))).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, rows)| rows).collect()
}

/// One encoded part of a month's evidence.
pub(super) struct EncodedPart {
    kind: PartKind,
    index: usize,
    rows: i64,
    bytes: Vec<u8>,
}

impl EncodedPart {
    pub(super) fn bytes(&self) -> usize {
        self.bytes.len()
    }
}

fn encoded(mut part: EvidencePart, words: &Words) -> PolarsResult<EncodedPart> {
    let bytes = encode(&mut part.frame, words)?;
    Ok(EncodedPart { kind: part.kind, index: part.index, rows: part.frame.height() as i64, bytes })
}

/// Encodes the month's evidence and data-quality rows, the evidence parts built and compressed on
/// every core.
pub(super) fn encode_month(evidence: &MonthEvidence, data_quality: &[DataQualityRow]) -> Result<Vec<EncodedPart>> {
    let words = evidence.words();
    let what = |e| corrupt("encoding the evidence", e);
    let mut parts = evidence.encode_parts(&words, |part| encoded(part, &words)).map_err(what)?;
    for part in data_quality_parts(data_quality) {
        parts.push(part.and_then(|part| encoded(part, &Words::default())).map_err(what)?);
    }
    Ok(parts)
}

impl Store {
    /// Writes a month's evidence parts inside the month's transaction, as `generation`: after the
    /// parts already there (a rerun that keeps some partners keeps their generation's parts).
    pub(super) async fn write_evidence(
        &self,
        tx: &mut sqlx::AnyConnection,
        month: &str,
        parts: &[EncodedPart],
        generation: i64,
    ) -> Result<()> {
        let columns = "monthly_evidence_frames (month, kind, part, row_count, frame, generation)";
        let insert = sql::insert_rows(self.dialect, columns, "?, ?, ?, ?, ?, ?", 1);
        let mut next: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for p in parts {
            let kind = p.kind.as_str();
            if !next.contains_key(kind) {
                let last: Option<i64> = sqlx::query_scalar(
                    &self.sql("SELECT MAX(part) FROM monthly_evidence_frames WHERE month = ? AND kind = ?"),
                )
                .bind(month)
                .bind(kind)
                .fetch_one(&mut *tx)
                .await
                .map_err(failed("storing the evidence"))?;
                next.insert(kind, last.map_or(0, |l| l + 1));
            }
            let base = next[kind];
            sqlx::query(&insert)
                .bind(month)
                .bind(kind)
                .bind(base + p.index as i64)
                .bind(p.rows)
                .bind(&p.bytes)
                .bind(generation)
                .execute(&mut *tx)
                .await
                .map_err(failed("storing the evidence"))?;
        }
        Ok(())
    }

    /// Everything some partners' month rests on, each partner's rows sorted as `explain` lists
    /// them. Each part a partner's rows may be in is read and decoded once, whatever the number
    /// of partners: a publication of 500 partners costs one pass over the month.
    pub(crate) async fn evidence_of(
        &self,
        month: Month,
        partners: &std::collections::BTreeSet<String>,
        which: Rows,
    ) -> Result<std::collections::BTreeMap<String, Vec<Evidence>>> {
        use std::collections::{BTreeMap, BTreeSet};
        let what = "monthly_evidence_frames";
        let m = month.to_string();
        let mut by_generation: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        let rows = sqlx::query(
            &self.sql("SELECT partner_id, evidence_generation FROM monthly_partner_results WHERE month = ?"),
        )
        .bind(&m)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("reading the partners' evidence"))?;
        for r in &rows {
            let partner = text_req(r, 0, "monthly_partner_results")?;
            if partners.contains(&partner) {
                by_generation.entry(get::<i64>(r, 1, "monthly_partner_results")?).or_default().insert(partner);
            }
        }
        let mut out: BTreeMap<String, Vec<Evidence>> = partners.iter().map(|p| (p.clone(), Vec::new())).collect();
        let list = self.sql(
            "SELECT kind, part FROM monthly_evidence_frames WHERE month = ? AND generation = ? AND kind <> 'data_quality' \
             ORDER BY kind, part",
        );
        let one = self.sql("SELECT frame FROM monthly_evidence_frames WHERE month = ? AND kind = ? AND part = ?");
        for (generation, wanted) in &by_generation {
            let parts: Vec<(String, i64)> = sqlx::query(&list)
                .bind(&m)
                .bind(*generation)
                .fetch_all(&self.pool)
                .await
                .map_err(failed("reading the partners' evidence"))?
                .iter()
                .map(|r| Ok((text_req(r, 0, what)?, get::<i64>(r, 1, what)?)))
                .collect::<Result<_>>()?;
            let mut fetched: Vec<FetchedPart> = Vec::new();
            for (kind, index) in parts {
                let kind = PartKind::parse(&kind)
                    .ok_or_else(|| corrupt(what, std::io::Error::other(format!("unknown kind of part {kind:?}"))))?;
                if !which.reads(kind) {
                    continue;
                }
                let row = sqlx::query(&one)
                    .bind(&m)
                    .bind(kind.as_str())
                    .bind(index)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(failed("reading the partners' evidence"))?;
                fetched.push((kind, index, get(&row, 0, what)?));
            }
            for rows in decode_parts(fetched, wanted, which)? {
                for e in rows {
                    if let Some(rows) = out.get_mut(&e.partner_id) {
                        rows.push(e);
                    }
                }
            }
        }
        // Sorted here rather than in SQL: the backends disagree on where NULLs go.
        for rows in out.values_mut() {
            rows.sort_by(|a, b| (&a.indicator, a.started_at, &a.row_id).cmp(&(&b.indicator, b.started_at, &b.row_id)));
        }
        Ok(out)
    }

    /// Moves a store's old row-per-ticket evidence into frames, one month at a time, each in a
    /// transaction of its own (idempotent: a month already moved has no rows left there).
    pub(super) async fn convert_row_evidence(&self) -> Result<()> {
        let months: Vec<String> = sqlx::query("SELECT DISTINCT month FROM monthly_evidence")
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading the old evidence"))?
            .iter()
            .map(|r| text_req(r, 0, "monthly_evidence"))
            .collect::<Result<_>>()?;
        for month in months {
            let what = "monthly_evidence";
            let rows = sqlx::query(&self.sql(
                "SELECT partner_id, indicator, source, row_id, started_at, due_at, finished_at, outcome, value, detail \
                 FROM monthly_evidence WHERE month = ? ORDER BY partner_id",
            ))
            .bind(&month)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading the old evidence"))?;
            let stamp = |s: Option<String>| s.and_then(|s| crate::domain::period::parse_timestamp(&s));
            let mut old = Vec::with_capacity(rows.len());
            for r in &rows {
                old.push(Evidence {
                    partner_id: text_req(r, 0, what)?,
                    indicator: text_req(r, 1, what)?,
                    source: text_req(r, 2, what)?,
                    row_id: text_req(r, 3, what)?,
                    started_at: stamp(text(r, 4, what)?),
                    due_at: stamp(text(r, 5, what)?),
                    finished_at: stamp(text(r, 6, what)?),
                    outcome: text_req(r, 7, what)?,
                    value: text(r, 8, what)?.and_then(|v| Decimal::from_str(&v).ok()),
                    detail: text(r, 9, what)?.unwrap_or_default(),
                });
            }
            let (parts, words) = events_parts_of(&old).map_err(|e| corrupt(what, e))?;
            let parts = parts
                .into_iter()
                .map(|part| encoded(part, &words).map_err(|e| corrupt(what, e)))
                .collect::<Result<Vec<_>>>()?;
            let mut tx = self.begin("converting the old evidence").await?;
            self.write_evidence(&mut tx, &month, &parts, 0).await?;
            sqlx::query(&self.sql("DELETE FROM monthly_evidence WHERE month = ?"))
                .bind(&month)
                .execute(&mut *tx)
                .await
                .map_err(failed("converting the old evidence"))?;
            commit(tx, "committing the converted evidence").await?;
            tracing::info!(%month, rows = old.len(), "moved the month's evidence into compact frames");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::monthly::data_quality_rows;

    /// A part a store holds from before the views (text as offsets and data) reads the same.
    #[test]
    fn parts_written_with_offsets_are_still_read() {
        let rows = vec![
            DataQualityRow {
                source: "tickets".into(),
                partner_id: "".into(),
                row_id: "T-2026-10-000000123456".into(),
                problem: "x".into(),
            },
            DataQualityRow {
                source: "orders".into(),
                partner_id: "".into(),
                row_id: "O1".into(),
                problem: "无法解析".into(),
            },
        ];
        let mut part = data_quality_parts(&rows).next().unwrap().unwrap();
        let mut old = Vec::new();
        IpcWriter::new(&mut old)
            .with_compression(Some(IpcCompression::ZSTD(ZstdLevel::try_new(1).unwrap())))
            .with_compat_level(CompatLevel::oldest())
            .finish(&mut part.frame)
            .unwrap();
        let new = encode(&mut part.frame, &Words::default()).unwrap();
        assert_ne!(old, new, "the two layouts differ");
        for bytes in [old, new] {
            let (frame, _) = decode(bytes).unwrap();
            let part = EvidencePart { kind: PartKind::DataQuality, index: 0, frame };
            assert_eq!(data_quality_rows(&part).unwrap(), rows);
        }
    }

    /// Quarantined rows survive the compact form exactly, in order, across parts.
    #[test]
    fn data_quality_rows_round_trip_through_their_parts() {
        let rows: Vec<DataQualityRow> = (0..(crate::domain::monthly::ROWS_PER_PART + 3))
            .map(|i| DataQualityRow {
                source: if i % 3 == 0 { "ticket_pauses" } else { "tickets" }.into(),
                partner_id: "".into(),
                row_id: format!("T{i}@2026-10-0{} 08:00:00", i % 9 + 1),
                problem: ["partner_not_assessed", "unknown_sla_class", "换行\n与\"引号\""][i % 3].into(),
            })
            .collect();
        let mut back = Vec::new();
        for (index, part) in data_quality_parts(&rows).enumerate() {
            let bytes = encoded(part.unwrap(), &Words::default()).unwrap().bytes;
            let (frame, _) = decode(bytes).unwrap();
            back.extend(data_quality_rows(&EvidencePart { kind: PartKind::DataQuality, index, frame }).unwrap());
        }
        assert_eq!(back, rows);
    }
}
