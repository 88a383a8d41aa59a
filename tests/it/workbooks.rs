//! Workbooks from outside, as an attacker would write them: a corpus of hostile files built from
//! real filled templates (`tests/helpers/hostile_workbooks.py`), each imported through the binary
//! and refused with exit 65 and the locale's reason, in bounded time and memory, with nothing
//! stored; paths that are not regular files refused before a byte is read; a large valid
//! workbook still imported; and concurrent imports that audit exactly what they replaced.

use crate::common::*;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Generous bounds for the debug build the tests run (the README reports the release build's).
const MAX_SECONDS: f64 = 10.0;
const MAX_RSS_KIB: u64 = 256 << 10;

/// An environment routing the records to the entered ones, with a filled manual-scores and a
/// filled violations workbook of 2026-10 to build the corpus from.
struct Bases {
    env: Env,
    config: String,
    manual: PathBuf,
    violations: PathBuf,
}

impl Bases {
    fn new() -> Self {
        let env = Env::new(&ops());
        let config =
            config_with(env.dir.path(), "\n[datasets]\nmanual_scores = \"entered\"\nviolations = \"entered\"\n")
                .display()
                .to_string();
        let mut b = Bases { env, config, manual: PathBuf::new(), violations: PathBuf::new() };
        let template = b.path("manual-template.xlsx");
        b.ok(&["template", "manual-scores", "--month", "2026-10", "--out", template.to_str().unwrap()]);
        b.manual = b.fill(&template, serde_json::json!({"fill": [{"where": {}, "set": {"得分": 15}}]}), "manual.xlsx");
        let template = b.path("violations-template.xlsx");
        b.ok(&["template", "violations", "--month", "2026-10", "--out", template.to_str().unwrap()]);
        let row = serde_json::json!({"编号": "V-1", "合作伙伴编号": "P01", "认定日期": "2026-10-05", "违约类别": "二类违约",
            "违约事项": "系统错误", "扣分": 2, "情节恶劣": "否", "说明": "工单超时"});
        b.violations = b.fill(&template, serde_json::json!({"rows": [row]}), "violations.xlsx");
        b
    }
    fn path(&self, name: &str) -> PathBuf {
        self.env.dir.path().join(name)
    }
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        all
    }
    fn ok(&self, args: &[&str]) -> String {
        self.env.ok_at("2026-11-20 10:00:00", &self.args(args))
    }
    fn fill(&self, template: &Path, spec: serde_json::Value, name: &str) -> PathBuf {
        let out = self.path(name);
        let spec_path = out.with_extension("json");
        std::fs::write(&spec_path, spec.to_string()).unwrap();
        let o = python().arg(helper("fill_workbook.py")).arg(template).arg(&out).arg(&spec_path).output().unwrap();
        assert!(o.status.success(), "fill: {}", String::from_utf8_lossy(&o.stderr));
        out
    }
    /// `import` under `/usr/bin/time`: (exit code, stderr, seconds, peak RSS in KiB).
    fn timed_import(&self, kind: &str, file: &Path, extra: &[&str]) -> (i32, String, f64, u64) {
        let time = Path::new("/usr/bin/time");
        assert!(
            time.exists(),
            "/usr/bin/time is needed to measure the imports (Debian's time package; tests/run.sh installs it)"
        );
        let report = self.path("time.txt");
        let mut args = self.args(&["import", kind, file.to_str().unwrap(), "--by", "测试员"]);
        args.extend_from_slice(extra);
        let mut c = Command::new(time);
        c.args(["-f", "%e %M", "-o", report.to_str().unwrap(), BIN]).args(&args);
        let inner = self.env.cmd(&[]);
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c.env("ICT_PARTNERS_NOW", "2026-11-20 10:00:00");
        let o = c.output().unwrap();
        let measured = std::fs::read_to_string(&report).unwrap();
        let last = measured.lines().last().unwrap_or_default().to_string();
        let mut f = last.split_whitespace();
        let seconds: f64 = f.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("time said {measured:?}"));
        let rss: u64 = f.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("time said {measured:?}"));
        (code(&o), String::from_utf8_lossy(&o.stderr).into_owned(), seconds, rss)
    }
    fn stored_rows(&self) -> String {
        if !self.env.store().exists() {
            return "0".into();
        }
        query_strings(&self.env.store(), "SELECT CAST(count(*) AS TEXT) FROM entered_rows").concat()
    }
}

/// What the refusal of each kind of the corpus says (zh-CN, the shipped locale).
fn says(kind: &str) -> &'static [&'static str] {
    match kind {
        "too_large" => &["超过上限"],
        "empty" => &["文件是空的"],
        "encrypted" => &["打开密码"],
        "old_format" => &["旧版 .xls"],
        "text" => &["文本文件"],
        "not_xlsx" => &["不是 .xlsx"],
        "damaged" | "xml_attributes" | "xml_entities" => &["已损坏"],
        "inflates" => &["解压后"],
        "ambiguous" => &["歧义"],
        "formula" => &["公式"],
        "hidden_sheet" => &["隐藏的工作表"],
        "hidden_rows" | "hidden_columns" => &["隐藏的行"],
        "too_much_text" => &["文字总量", "单元格超过"],
        "too_many_rows" => &["数据行过多"],
        "unsafe_text" => &["控制字符"],
        "damaged_or_unsafe" => &["控制字符", "已损坏"],
        "not_a_number" => &["不是数字"],
        "wrong_period" => &["与导入时指定的"],
        other => panic!("the corpus names a kind this test does not know: {other}"),
    }
}

#[test]
fn every_hostile_workbook_is_refused_quickly_and_nothing_is_stored() {
    let b = Bases::new();
    let corpus = b.path("corpus");
    let o = Command::new("python3")
        .arg(helper("hostile_workbooks.py"))
        .args([&b.manual, &b.violations, &corpus])
        .output()
        .unwrap();
    assert!(o.status.success(), "generator: {}", String::from_utf8_lossy(&o.stderr));
    let manifest: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.len() >= 60, "the corpus has one file per attack ({} files)", manifest.len());
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for entry in &manifest {
        let (file, kind, base) =
            (entry["file"].as_str().unwrap(), entry["kind"].as_str().unwrap(), entry["base"].as_str().unwrap());
        let records = if base == "violations" { "violations" } else { "manual-scores" };
        let extra: &[&str] = if kind == "wrong_period" { &["--month", "2026-10"] } else { &[] };
        let (exit, err, seconds, rss) = b.timed_import(records, &corpus.join(file), extra);
        table.push(format!("{file:40} {kind:18} exit {exit:3} {seconds:5.2} s {:6} MiB", rss >> 10));
        let words = says(kind);
        if exit != 65 || !words.iter().any(|w| err.contains(w)) || err.contains("panicked") {
            failures.push(format!("{file} ({kind}): exit {exit}, wanted 65 and one of {words:?}: {err}"));
        }
        if seconds > MAX_SECONDS || rss > MAX_RSS_KIB {
            failures.push(format!("{file} ({kind}): {seconds} s, {} MiB", rss >> 10));
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(b.stored_rows(), "0", "nothing of the corpus reached the store");
}

#[test]
fn paths_that_are_not_regular_files_are_refused_before_reading() {
    let b = Bases::new();
    let sparse = b.path("huge.xlsx");
    std::fs::File::create(&sparse).unwrap().set_len(3 << 30).unwrap();
    let fifo = b.path("pipe.xlsx");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let folder = b.path("folder.xlsx");
    std::fs::create_dir(&folder).unwrap();
    for (path, exit, words) in [
        (Path::new("/dev/zero"), 64, "不是普通文件"),
        (fifo.as_path(), 64, "不是普通文件"),
        (folder.as_path(), 64, "不是普通文件"),
        (sparse.as_path(), 65, "超过上限"),
    ] {
        let (got, err, seconds, rss) = b.timed_import("violations", path, &[]);
        assert_eq!(got, exit, "{}: {err}", path.display());
        assert!(err.contains(words), "{}: {err}", path.display());
        assert!(seconds < MAX_SECONDS && rss < MAX_RSS_KIB, "{}: {seconds} s {rss} KiB", path.display());
    }
    // `template --out` never replaces a device or writes through a symlink.
    let target = b.path("kept.xlsx");
    std::fs::write(&target, b"kept").unwrap();
    let link = b.path("link.xlsx");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for out in [link.to_str().unwrap(), "/dev/null", folder.to_str().unwrap()] {
        let o = b
            .env
            .run_at("2026-11-20 10:00:00", &b.args(&["template", "violations", "--month", "2026-10", "--out", out]));
        assert_eq!(code(&o), 64, "{out}: {}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"kept");
    assert!(Path::new("/dev/null").metadata().unwrap().file_type().is_char_device());
    assert_eq!(b.stored_rows(), "0");
}

#[test]
fn a_large_valid_workbook_still_imports() {
    let b = Bases::new();
    let file = b.path("large.xlsx");
    // 20,000 determinations of known partners, each with its own number: the most a workbook of
    // records may hold, written by openpyxl as a person's spreadsheet would be.
    let script = "import openpyxl,sys\nwb=openpyxl.Workbook()\nws=wb.active\n\
                  ws.append(['月份','编号','合作伙伴编号','认定日期','违约类别','违约事项','扣分','情节恶劣','说明'])\n\
                  [ws.append(['2026-10','V%05d'%i,'P0%d'%(1+i%8),'2026-10-%02d'%(1+i%28),'二类违约','系统错误',1+i%10,'否','第%d条说明'%i]) for i in range(20000)]\n\
                  wb.save(sys.argv[1])";
    assert!(python().args(["-c", script]).arg(&file).status().unwrap().success());
    let (exit, err, seconds, rss) = b.timed_import("violations", &file, &[]);
    assert_eq!(exit, 0, "{err}");
    assert!(seconds < MAX_SECONDS * 3.0 && rss < MAX_RSS_KIB * 2, "{seconds} s {rss} KiB");
    assert_eq!(b.stored_rows(), "20000");
}

#[test]
fn control_characters_on_the_command_line_are_refused() {
    let b = Bases::new();
    let file = b.violations.to_str().unwrap().to_string();
    for by in ["张\u{1b}[31m经理", "张\u{202e}经理", "张\u{2028}经理", "张\u{7}经理", &"长".repeat(101)] {
        let o = b.env.run_at("2026-11-20 10:00:00", &b.args(&["import", "violations", &file, "--by", by]));
        assert_eq!(code(&o), 64, "{by:?}: {}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("操作人") && !err.contains('\u{1b}') && !err.contains('\u{202e}'), "{err}");
    }
    assert_eq!(b.stored_rows(), "0");
}

#[test]
fn concurrent_imports_of_a_period_audit_what_each_replaced() {
    let b = Bases::new();
    // Six versions of the same month's determinations, each a different deduction for V-1.
    let template = b.path("violations-template.xlsx");
    let files: Vec<PathBuf> = (1..=6)
        .map(|points| {
            let row = serde_json::json!({"编号": "V-1", "合作伙伴编号": "P01", "认定日期": "2026-10-05",
                "违约类别": "二类违约", "违约事项": "系统错误", "扣分": points, "情节恶劣": "否"});
            b.fill(&template, serde_json::json!({"rows": [row]}), &format!("v{points}.xlsx"))
        })
        .collect();
    b.ok(&["import", "violations", files[0].to_str().unwrap(), "--by", "甲"]);
    // All at once: each process started before any finished.
    let children: Vec<_> = files[1..]
        .iter()
        .map(|f| {
            b.env
                .cmd(&b.args(&["import", "violations", f.to_str().unwrap(), "--by", "乙"]))
                .env("ICT_PARTNERS_NOW", "2026-11-20 10:00:00")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        // Each either waited its turn and imported, or was told to try again (exit 69).
        assert!(matches!(code(&o), 0 | 69), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // Replaying the audit trail from the first import, each line's old value is the new value
    // of the line before it: no import audited a value it did not replace.
    let lines = query_strings(
        &b.env.store(),
        "SELECT detail FROM audit_trail WHERE action = 'import' AND detail LIKE '%V-1:%' ORDER BY rowid",
    );
    let points = |s: &str| s.split("points=").nth(1).map(|r| r.split(';').next().unwrap().to_string());
    let mut current: Option<String> = None;
    for line in &lines {
        let (old, new) = line.split_once(" → ").unwrap();
        assert_eq!(points(old), current, "{line}");
        current = points(new);
    }
    assert!(!lines.is_empty());
}
