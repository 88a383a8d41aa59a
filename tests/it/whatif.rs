//! `what-if --rules FILE --months A..B` (第三十九条) through the binary on the conformance
//! example: the stored rules change nothing; a stricter B band moves exactly the grades scored
//! in [75, 80) and chains the C-grade flags month by month as real runs under the candidate
//! would; a weight change moves scores and money as each month's dry run does; a bad candidate
//! or a range not over is refused with nothing computed.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FIRST: &str = "2026-01";
const LAST: &str = "2026-06";
const MONTHS: [&str; 6] = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"];

fn shipped_rules() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml")).unwrap()
}

/// The shipped rules with one edit, written beside the test's other files.
fn candidate(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = shipped_rules();
    assert!(text.contains(from), "the shipped rules no longer hold {from:?}");
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

/// An environment with the months stored under the shipped rules (`rules`: another file).
fn stored(rules: Option<&Path>) -> Env {
    let env = Env::new(&ops());
    for m in MONTHS {
        let mut args = vec!["run", "monthly", "--month", m];
        if let Some(r) = rules {
            args.extend(["--rules", r.to_str().unwrap()]);
        }
        env.ok(&args);
    }
    env
}

/// A CSV as rows of named fields.
fn records(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines.map(|l| header.iter().map(|h| h.to_string()).zip(split_csv(l)).collect()).collect()
}

/// One CSV line's fields (quoted fields hold commas only in names, which these columns skip).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// Per (month, partner): score, grade, settlement, flags, hold reasons of the scores.csv rows.
fn scores_of(read: impl Fn(&str) -> String) -> BTreeMap<(String, String), [String; 5]> {
    let mut out = BTreeMap::new();
    for m in MONTHS {
        for r in records(&read(m)) {
            out.insert(
                (m.to_string(), r["partner_id"].clone()),
                [
                    r["score"].clone(),
                    r["grade"].clone(),
                    r["settlement"].clone(),
                    r["flags"].clone(),
                    r["hold_reasons"].clone(),
                ],
            );
        }
    }
    out
}

/// The what-if's rows, one side: per (month, partner) the same five fields.
fn side(rows: &[BTreeMap<String, String>], which: &str) -> BTreeMap<(String, String), [String; 5]> {
    rows.iter()
        .map(|r| {
            let f = |c: &str| r[&format!("{c}_{which}")].clone();
            (
                (r["month"].clone(), r["partner_id"].clone()),
                [f("score"), f("grade"), f("settlement"), f("flags"), f("holds")],
            )
        })
        .collect()
}

fn what_if(env: &Env, rules: &Path, out: &Path) -> (String, Vec<BTreeMap<String, String>>) {
    let months = format!("{FIRST}..{LAST}");
    let stdout =
        env.ok(&["what-if", "--rules", rules.to_str().unwrap(), "--months", &months, "--out", out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(out.join("what-if.csv")).unwrap();
    assert!(csv.starts_with("month,partner_id,score_before,score_after,grade_before,grade_after,settlement_before,settlement_after,flags_before,flags_after,holds_before,holds_after\n"));
    for f in ["what-if.xlsx", "what-if.html", "grade-mix.png", "grade-mix-phone.png"] {
        assert!(out.join(f).exists(), "{f} written");
    }
    (stdout, records(&csv))
}

#[test]
fn the_stored_rules_as_candidate_change_nothing_and_store_nothing() {
    let env = stored(None);
    let rules = env.dir.path().join("same.toml");
    std::fs::write(&rules, shipped_rules()).unwrap();
    let store_before = std::fs::read(env.store()).unwrap();
    let folder_before = env.read("monthly/2026-03/scores.csv");
    let out = env.dir.path().join("wi");
    let (stdout, rows) = what_if(&env, &rules, &out);
    assert!(!rows.is_empty());
    assert_eq!(side(&rows, "before"), side(&rows, "after"), "every row unchanged");
    assert_eq!(side(&rows, "before"), scores_of(|m| env.read(&format!("monthly/{m}/scores.csv"))));
    assert!(stdout.contains("其中 0 条等级或结算金额变动"), "{stdout}");
    assert!(stdout.contains("候选规则改动 0 项"), "{stdout}");
    // Both hashes printed, and equal.
    let hashes = stdout.lines().find(|l| l.starts_with("现行规则版本")).expect(&stdout);
    let (b, a) = hashes.split_once('；').unwrap();
    assert_eq!(b.rsplit('：').next(), a.rsplit('：').next(), "{hashes}");
    assert_eq!(std::fs::read(env.store()).unwrap(), store_before, "nothing stored");
    assert_eq!(env.read("monthly/2026-03/scores.csv"), folder_before);
    assert!(!env.out().join("monthly/2026-03/what-if").exists(), "no period's folder touched");
}

#[test]
fn a_stricter_b_band_moves_exactly_the_scores_below_it_and_chains_the_flags_as_real_runs_would() {
    let env = stored(None);
    let strict = candidate(env.dir.path(), "strict.toml", "b_min = 75", "b_min = 80");
    let out = env.dir.path().join("wi");
    let (stdout, rows) = what_if(&env, &strict, &out);
    let (before, after) = (side(&rows, "before"), side(&rows, "after"));
    let mut moved = 0;
    for (key, b) in &before {
        let a = &after[key];
        assert_eq!((&a[0], &a[2]), (&b[0], &b[2]), "score and money unchanged for {key:?}");
        if b[0].is_empty() {
            continue;
        }
        let score: f64 = b[0].parse().unwrap();
        let in_band = (75.0..80.0).contains(&score);
        assert_eq!(a[1] != b[1], in_band, "{key:?}: {b:?} → {a:?}");
        if in_band {
            assert_eq!((b[1].as_str(), a[1].as_str()), ("B", "C"));
            moved += 1;
        }
    }
    assert!(moved > 0, "the example has scores in [75, 80)");
    // The chain: month by month, what real runs under the candidate store.
    let real = stored(Some(&strict));
    let expected = scores_of(|m| real.read(&format!("monthly/{m}/scores.csv")));
    assert_eq!(after, expected, "the candidate's months as real runs under it give them");
    let chained = before.iter().filter(|(k, b)| b[3] != after[*k][3]).count();
    assert!(chained > 0, "some two_c_grades flag follows from the stricter band");
    assert!(stdout.contains("候选规则改动 1 项"), "{stdout}");
    let html = std::fs::read_to_string(out.join("what-if.html")).unwrap();
    assert!(html.contains("B级下限（分）") && html.contains("等级分界"), "the page names the rule and the cause");
}

#[test]
fn a_weight_change_moves_scores_and_money_as_each_months_dry_run_does() {
    let env = stored(None);
    let weights = candidate(env.dir.path(), "weights.toml", "weight = 30", "weight = 25");
    let text = std::fs::read_to_string(&weights).unwrap();
    std::fs::write(&weights, text.replacen("weight = 10", "weight = 15", 1)).unwrap();
    let (_, rows) = what_if(&env, &weights, &env.dir.path().join("wi"));
    let after = side(&rows, "after");
    let mut changed = 0;
    for m in MONTHS {
        let o = env.ok(&["run", "monthly", "--month", m, "--dry-run", "--rules", weights.to_str().unwrap()]);
        let folder =
            o.lines().rfind(|l| l.starts_with("输出目录：")).unwrap().trim_start_matches("输出目录：").to_string();
        let dry = std::fs::read_to_string(Path::new(&folder).join("scores.csv")).unwrap();
        for r in records(&dry) {
            let a = &after[&(m.to_string(), r["partner_id"].clone())];
            // Score, grade and money as the dry run; the flags chain from the candidate's own months.
            assert_eq!([&a[0], &a[1], &a[2]], [&r["score"], &r["grade"], &r["settlement"]], "{m} {}", r["partner_id"]);
        }
        changed += rows.iter().filter(|r| r["month"] == m && r["score_before"] != r["score_after"]).count();
    }
    assert!(changed > 0, "the weights moved some score");
}

#[test]
fn a_bad_candidate_or_a_range_not_over_is_refused_and_nothing_is_computed() {
    let env = Env::new(&ops());
    env.ok(&["run", "monthly", "--month", FIRST]);
    let bad = candidate(env.dir.path(), "bad.toml", "b_min = 75", "b_min = \"high\"\nunknown_setting = 1");
    let out = env.dir.path().join("wi");
    let o = env.run(&[
        "what-if",
        "--rules",
        bad.to_str().unwrap(),
        "--months",
        "2026-01..2026-02",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 78, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.exists(), "nothing computed, nothing written");
    let same = env.dir.path().join("same.toml");
    std::fs::write(&same, shipped_rules()).unwrap();
    let o = env.run(&["what-if", "--rules", same.to_str().unwrap(), "--months", "2026-01..2999-12"]);
    assert_eq!(code(&o), 64, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("尚未结束"), "{}", String::from_utf8_lossy(&o.stderr));
    // A range is bounded: a century of months is refused before anything is read.
    let o = env.run(&["what-if", "--rules", same.to_str().unwrap(), "--months", "1926-01..2026-02"]);
    assert_eq!(code(&o), 64, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("最多 120 个月"), "{}", String::from_utf8_lossy(&o.stderr));
    // A month with no stored result is computed on both sides, and the report says which.
    let o = env.ok(&[
        "what-if",
        "--rules",
        same.to_str().unwrap(),
        "--months",
        "2026-01..2026-02",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.contains("没有已存储的结果") && o.contains("2026-02"), "{o}");
    let rows = records(&std::fs::read_to_string(out.join("what-if.csv")).unwrap());
    assert!(rows.iter().any(|r| r["month"] == "2026-02"));
    assert_eq!(side(&rows, "before"), side(&rows, "after"));
}
