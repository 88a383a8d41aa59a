//! The run ledger as a table for the operator (`ict-partners runs`): pure formatting.

use crate::store::ledger::LedgerRow;
use crate::store::outbox::{OutboxEntry, OutboxStatus};

use super::templates::label;

/// One line per attempt, newest first, in aligned columns; the error's first line last. The
/// ledger keeps its times in UTC (the machine's clock), and the header says so.
pub(crate) fn table(locale: &str, rows: &[LedgerRow]) -> String {
    let header: Vec<String> = ["started", "finished", "job", "period", "try", "status", "by", "host", "error"]
        .iter()
        .map(|k| label(locale, &format!("ledger_{k}"), &[]))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.started_at.clone(),
                r.finished_at.clone().unwrap_or_else(|| "-".into()),
                label(locale, &format!("job_{}", r.job), &[]),
                r.period.clone(),
                r.attempt.to_string(),
                label(locale, &format!("run_{}", r.status.as_str()), &[]),
                r.started_by.clone(),
                format!("{}/{}", r.host, r.pid),
                r.error.as_deref().and_then(|e| e.lines().next()).unwrap_or("").to_string(),
            ]
        })
        .collect();
    let mut out = aligned(&header, &cells);
    if rows.is_empty() {
        out.push_str(&format!("{}\n", label(locale, "ledger_empty", &[])));
    }
    out
}

/// The header of the units' table of `runs`: approvals, publications and settlements are in the
/// rules' local time, and the header says so.
pub(crate) fn unit_header(locale: &str) -> Vec<String> {
    ["job", "period", "unit", "state", "approved", "published", "settled"]
        .iter()
        .map(|k| label(locale, &format!("units_{k}"), &[]))
        .collect()
}

/// Rows in aligned columns under a header, measured in terminal cells (a Chinese character takes
/// two); the last column is not padded.
pub(crate) fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    let line = |row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            s.push_str(c);
            if i + 1 < row.len() {
                s.push_str(&" ".repeat(w.saturating_sub(c.width()) + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// The outbox as a table for `mail list`: one line per message, newest first; the kind of
/// message in words with what it is about (a partner, a unit, a contract).
pub(crate) fn outbox_table(locale: &str, rows: &[OutboxEntry]) -> String {
    let l = |key: &str, args: &[(&str, &str)]| label(locale, key, args);
    if rows.is_empty() {
        return format!("{}\n", l("outbox_empty", &[]));
    }
    let header: Vec<String> = ["status", "time", "job", "period", "kind", "recipient", "attempts", "error"]
        .iter()
        .map(|k| l(&format!("outbox_{k}"), &[]))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            // `scorecard:P01:r2` → 成绩通知 P01 r2; a content version (`v1a2b…`) says nothing to people.
            let mut parts = r.kind.split(':');
            let what = parts.next().unwrap_or_default();
            let what = super::words::known(locale, &format!("outbox_kind_{what}")).unwrap_or_else(|| what.to_string());
            let about: Vec<&str> = parts.filter(|p| !(p.starts_with('v') && p.len() == 9)).collect();
            vec![
                l(&format!("outbox_state_{}", r.status.as_str()), &[]),
                r.sent_at.clone().unwrap_or_else(|| r.created_at.clone()),
                l(&format!("job_{}", r.job), &[]),
                r.period.clone(),
                std::iter::once(what).chain(about.iter().map(|s| s.to_string())).collect::<Vec<_>>().join(" "),
                r.recipient.clone(),
                r.attempts.to_string(),
                r.last_error.as_deref().and_then(|e| e.lines().next()).unwrap_or("").to_string(),
            ]
        })
        .collect();
    let mut out = aligned(&header, &cells);
    let queued = rows.iter().filter(|r| r.status == OutboxStatus::Queued).count();
    out.push_str(&format!(
        "{}\n",
        l("outbox_counted", &[("count", &rows.len().to_string()), ("queued", &queued.to_string())])
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ledger::RunStatus;

    fn row(status: RunStatus, error: Option<&str>) -> LedgerRow {
        LedgerRow {
            job: "monthly".into(),
            period: "2026-10".into(),
            attempt: 2,
            status,
            started_by: "due".into(),
            started_at: "2026-11-03 02:05:00".into(),
            finished_at: None,
            host: "ops1".into(),
            pid: 4242,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn columns_line_up_and_only_the_first_error_line_shows() {
        let text = table(
            "en",
            &[
                row(RunStatus::Running, None),
                row(RunStatus::Failed, Some("service unavailable: db\ncaused by: refused")),
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let status_at = lines[0].find("status").unwrap();
        assert_eq!(&lines[1][status_at..status_at + 7], "running");
        assert_eq!(&lines[2][status_at..status_at + 6], "failed");
        assert!(lines[2].ends_with("service unavailable: db"));
        assert!(lines[1].contains("ops1/4242") && lines[1].contains("  -  "));
        assert!(table("en", &[]).contains("no runs recorded yet"));
        // In Chinese the header says the ledger's times are UTC, and nothing is left in English.
        let zh = table("zh-CN", &[row(RunStatus::Failed, None)]);
        assert!(zh.contains("开始（UTC）") && zh.contains("失败") && zh.contains("月度考核"), "{zh}");
    }
}
