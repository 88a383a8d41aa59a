//! Hostile inputs end to end: identifiers and names from other systems used in file names, mail
//! headers, spreadsheet cells and HTML must not escape, split, execute or inject.

use crate::common::*;
use std::path::Path;
use std::process::Command;

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn hostile_names_and_ids_stay_inert() {
    let dir = tempfile::tempdir().unwrap();
    let ops = dir.path().join("work/ops.sqlite");
    let o = Command::new(BIN)
        .args([
            "gen-data",
            "--out",
            ops.to_str().unwrap(),
            "--partners",
            "6",
            "--tickets-per-month",
            "120",
            "--months",
            "2026-01..2026-03",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut sql = String::from(
        "UPDATE partners SET name = '=HYPERLINK(\"http://evil.example\",\"x\")' WHERE partner_id = 'P01';
         UPDATE partners SET name = 'ACME' || char(13) || char(10) || 'Bcc: x@evil.example' WHERE partner_id = 'P02';
         UPDATE partners SET name = '<script>alert(1)</script>' WHERE partner_id = 'P03';
         UPDATE partners SET name = '@SUM(1+1)' WHERE partner_id = 'P04';
         UPDATE contracts SET department = '网络部' || char(13) || char(10) || 'Bcc: y@evil.example' WHERE partner_id = 'P06';",
    );
    for table in [
        "partners",
        "contracts",
        "tickets",
        "orders",
        "surveys",
        "complaints",
        "manual_scores",
        "violations",
        "presales_supports",
        "exit_requests",
        "blacklist_entries",
    ] {
        sql.push_str(&format!("UPDATE {table} SET partner_id = '../../etc/x' WHERE partner_id = 'P05';"));
    }
    make_db(&ops, &sql);

    let env = Env::new(&ops);
    for args in [["run", "monthly", "--month", "2026-03"], ["run", "quarterly", "--quarter", "2026-Q1"]] {
        let mut c = env.cmd(&args);
        c.current_dir(env!("CARGO_MANIFEST_DIR"));
        let o = c.output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }

    // Every file stays under the output folder or is the store.
    let mut files = Vec::new();
    walk(env.dir.path(), &mut files);
    for f in &files {
        let rel = f.strip_prefix(env.dir.path()).unwrap();
        assert!(
            rel.starts_with("out") || rel.to_string_lossy().starts_with("store.sqlite"),
            "stray file {}",
            f.display()
        );
    }
    assert!(!env.dir.path().join("etc").exists() && !dir.path().join("etc").exists());

    // The CSVs keep exact values (they are for programs).
    let scores = env.read("monthly/2026-03/scores.csv");
    assert!(scores.contains("../../etc/x,") && scores.contains("=HYPERLINK"));

    // Mail headers cannot be split: no message gains a Bcc header.
    let outbox: Vec<_> = files.iter().filter(|f| f.extension().is_some_and(|e| e == "eml")).collect();
    assert!(!outbox.is_empty());
    for eml in outbox {
        let text = std::fs::read_to_string(eml).unwrap();
        let headers = text.split("\r\n\r\n").next().unwrap();
        assert!(!headers.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")), "{}", eml.display());
    }

    // HTML is escaped.
    let summary = env.read("monthly/2026-03/summary.html");
    assert!(summary.contains("&lt;script&gt;") && !summary.contains("<script>alert"));

    // Spreadsheet cells holding names are text, never formulas.
    let check = r#"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["考核结果"]
names = {r[0].value: r[1] for r in ws.iter_rows(min_row=2)}
for pid in ("P01", "P04"):
    cell = names[pid]
    assert cell.data_type == "s" and cell.value[0] in "=@", (pid, cell.data_type, cell.value)
print("ok")
"#;
    let o = python().args(["-c", check]).arg(env.out().join("monthly/2026-03/assessment.xlsx")).output().unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}
