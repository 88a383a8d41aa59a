//! The store's SQL in one neutral form, turned into each backend's dialect: placeholders, exact
//! money (NUMERIC/DECIMAL on PostgreSQL and MySQL, canonical text on SQLite), insert-or-ignore, and
//! the column that keeps insertion order.
//!
//! Templates use `?` for every parameter, bound in order, and markers: `{M}` is a money
//! parameter, `{m:col}` reads a money column as text, `{seq}` is the insertion-order column.

use crate::db::Dialect;

/// Rewrites a neutral template into `dialect`.
pub(super) fn render(dialect: Dialect, template: &str) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    let mut n = 0;
    while let Some(i) = rest.find(['?', '{']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix('?') {
            n += 1;
            placeholder(dialect, n, &mut out);
            rest = after;
            continue;
        }
        let Some(end) = rest.find('}') else { unreachable!("an unclosed store SQL marker in {template:?}") };
        let marker = &rest[1..end];
        rest = &rest[end + 1..];
        match marker.split_once(':') {
            None if marker == "M" => {
                n += 1;
                let mut p = String::new();
                placeholder(dialect, n, &mut p);
                match dialect {
                    Dialect::Sqlite => out.push_str(&p),
                    Dialect::Postgres => out.push_str(&format!("CAST({p} AS NUMERIC(14,2))")),
                    Dialect::MySql => out.push_str(&format!("CAST({p} AS DECIMAL(14,2))")),
                }
            }
            None if marker == "seq" => out.push_str(if dialect == Dialect::Sqlite { "rowid" } else { "seq" }),
            Some(("m", col)) => match dialect {
                Dialect::Sqlite => out.push_str(col),
                Dialect::Postgres => out.push_str(&format!("CAST({col} AS TEXT)")),
                Dialect::MySql => out.push_str(&format!("CAST({col} AS CHAR)")),
            },
            // Templates are this crate's own constants: an unknown marker is a programming error.
            _ => unreachable!("unknown store SQL marker {{{marker}}}"),
        }
    }
    out.push_str(rest);
    out
}

fn placeholder(dialect: Dialect, n: usize, out: &mut String) {
    match dialect {
        Dialect::Postgres => out.push_str(&format!("${n}")),
        _ => out.push('?'),
    }
}

/// `INSERT … VALUES …` that leaves an existing row with the same key as it is.
pub(super) fn insert_ignore(dialect: Dialect, table_and_columns: &str, values: &str) -> String {
    let template = match dialect {
        Dialect::Sqlite => format!("INSERT OR IGNORE INTO {table_and_columns} VALUES {values}"),
        Dialect::Postgres => format!("INSERT INTO {table_and_columns} VALUES {values} ON CONFLICT DO NOTHING"),
        Dialect::MySql => format!("INSERT IGNORE INTO {table_and_columns} VALUES {values}"),
    };
    render(dialect, &template)
}

/// A multi-row `INSERT`: `rows` copies of the row template.
pub(super) fn insert_rows(dialect: Dialect, table_and_columns: &str, row: &str, rows: usize) -> String {
    let values = vec![format!("({row})"); rows].join(", ");
    render(dialect, &format!("INSERT INTO {table_and_columns} VALUES {values}"))
}

/// A text column that may be NULL. MySQL reports TEXT columns to the `Any` driver as blobs, so
/// those are read as bytes (they are utf8mb4, so valid UTF-8).
pub(super) fn text(row: &sqlx::any::AnyRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    use sqlx::Row;
    match row.try_get::<Option<String>, _>(i) {
        Ok(s) => Ok(s),
        Err(_) => Ok(row.try_get::<Option<Vec<u8>>, _>(i)?.map(|b| String::from_utf8_lossy(&b).into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_across_markers() {
        let t = "UPDATE t SET a = {M}, b = ? WHERE k = ? ORDER BY {seq}";
        assert_eq!(render(Dialect::Sqlite, t), "UPDATE t SET a = ?, b = ? WHERE k = ? ORDER BY rowid");
        assert_eq!(
            render(Dialect::Postgres, t),
            "UPDATE t SET a = CAST($1 AS NUMERIC(14,2)), b = $2 WHERE k = $3 ORDER BY seq"
        );
        assert_eq!(
            render(Dialect::MySql, t),
            "UPDATE t SET a = CAST(? AS DECIMAL(14,2)), b = ? WHERE k = ? ORDER BY seq"
        );
    }

    #[test]
    fn money_reads_as_text() {
        let t = "SELECT {m:score}, detail FROM r";
        assert_eq!(render(Dialect::Sqlite, t), "SELECT score, detail FROM r");
        assert_eq!(render(Dialect::Postgres, t), "SELECT CAST(score AS TEXT), detail FROM r");
        assert_eq!(render(Dialect::MySql, t), "SELECT CAST(score AS CHAR), detail FROM r");
    }

    #[test]
    fn insert_forms() {
        assert_eq!(
            insert_rows(Dialect::Postgres, "t (a, b)", "?, {M}", 2),
            "INSERT INTO t (a, b) VALUES ($1, CAST($2 AS NUMERIC(14,2))), ($3, CAST($4 AS NUMERIC(14,2)))"
        );
        assert_eq!(
            insert_ignore(Dialect::Postgres, "t (a)", "(?)"),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
        assert_eq!(insert_ignore(Dialect::MySql, "t (a)", "(?)"), "INSERT IGNORE INTO t (a) VALUES (?)");
        assert_eq!(insert_ignore(Dialect::Sqlite, "t (a)", "(?)"), "INSERT OR IGNORE INTO t (a) VALUES (?)");
    }
}
