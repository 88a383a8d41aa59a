//! Departmental records through workbooks: the template, filled by a real xlsx library outside the
//! program (openpyxl, as a person's spreadsheet would be), imported, and the jobs' results equal
//! to the same values read from the operations database; re-imports, approval, dry runs; and the
//! files people really send, hostile or broken, refused with exit 65 and nothing stored.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// An environment whose configuration routes `datasets` to the entered records.
pub(crate) struct Entered {
    pub(crate) env: Env,
    config: String,
}

impl Entered {
    pub(crate) fn new(ops: &Path, datasets: &[&str], store_url: Option<String>) -> Self {
        let mut env = Env::new(ops);
        env.store_url = store_url;
        let routes: String = datasets.iter().map(|d| format!("{d} = \"entered\"\n")).collect();
        let config = config_with(env.dir.path(), &format!("\n[datasets]\n{routes}")).display().to_string();
        Entered { env, config }
    }
    pub(crate) fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        all
    }
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.env.run_at("2026-11-20 10:00:00", &self.args(args))
    }
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        self.env.ok_at("2026-11-20 10:00:00", &self.args(args))
    }
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.env.dir.path().join(name)
    }
    /// The template of `args`, filled by openpyxl with `spec`.
    pub(crate) fn filled(&self, template: &[&str], spec: serde_json::Value, name: &str) -> PathBuf {
        let empty = self.path(&format!("{name}-template.xlsx"));
        let mut args = template.to_vec();
        args.extend(["--out", empty.to_str().unwrap()]);
        self.ok(&args);
        fill(&empty, spec, &self.path(&format!("{name}.xlsx")))
    }
}

/// openpyxl fills `template` as `spec` says (tests/helpers/fill_workbook.py).
pub(crate) fn fill(template: &Path, spec: serde_json::Value, out: &Path) -> PathBuf {
    let spec_path = out.with_extension("json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let o = python().arg(helper("fill_workbook.py")).arg(template).arg(out).arg(&spec_path).output().unwrap();
    assert!(o.status.success(), "fill: {}", String::from_utf8_lossy(&o.stderr));
    out.to_path_buf()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The month's manual scores in the operations database: (partner, indicator, points).
fn source_scores(month: &str) -> Vec<(String, String, String)> {
    query_strings(&ops(), &format!("SELECT partner_id || '|' || indicator || '|' || points FROM manual_scores WHERE month = '{month}' ORDER BY partner_id"))
        .into_iter()
        .map(|l| {
            let mut p = l.split('|').map(str::to_string);
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        })
        .collect()
}

/// The month from the operations database as it is, for comparison.
fn from_source(args: &[&str], files: &[&str]) -> Vec<String> {
    let env = Env::new(&ops());
    env.ok_at("2026-11-20 10:00:00", args);
    files.iter().map(|f| env.read(f)).collect()
}

/// A copy of the example's operations database without the tables (or columns) the entered
/// records replace: a run that still read them would fail (exit 65) or differ.
pub(crate) fn without(dir: &Path, sql: &str) -> PathBuf {
    let copy = dir.join("ops-without.sqlite");
    std::fs::copy(ops(), &copy).unwrap();
    make_db(&copy, sql);
    copy
}

fn manual_round_trip(store_url: Option<String>) {
    let month = "2026-03";
    let work = tempfile::tempdir().unwrap();
    let source = without(work.path(), "DROP TABLE manual_scores");
    let e = Entered::new(&source, &["manual_scores"], store_url);
    // As people type: numbers, numbers as text, full-width digits, surrounding spaces.
    let fills: Vec<serde_json::Value> = source_scores(month)
        .iter()
        .enumerate()
        .map(|(i, (partner, indicator, points))| {
            let typed = match i % 3 {
                0 => serde_json::json!(points.parse::<f64>().unwrap()),
                1 => serde_json::json!(format!(" {points} ")),
                _ => serde_json::json!(points
                    .chars()
                    .map(|c| match c {
                        '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
                        '.' => '．',
                        c => c,
                    })
                    .collect::<String>()),
            };
            serde_json::json!({"where": {"合作伙伴编号": partner, "指标": indicator}, "set": {"得分": typed}})
        })
        .collect();
    let file =
        e.filled(&["template", "manual-scores", "--month", month], serde_json::json!({ "fill": fills }), "manual");
    let out = e.ok(&["import", "manual-scores", file.to_str().unwrap(), "--by", "张经理"]);
    assert!(out.contains(&format!("新增 {} 行", fills.len())), "{out}");
    e.ok(&["run", "monthly", "--month", month]);
    let files = [format!("monthly/{month}/scores.csv"), format!("monthly/{month}/indicators.csv")];
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let expected = from_source(&["run", "monthly", "--month", month], &files);
    for (f, want) in files.iter().zip(expected) {
        assert_eq!(e.env.read(f), want, "{f} differs from the source-based run");
    }
}

#[test]
fn manual_scores_round_trip_gives_the_scores_of_the_source() {
    manual_round_trip(None);
}

#[test]
fn manual_scores_round_trip_on_postgres_and_mariadb_stores() {
    for admin in [PG_ADMIN, MY_ADMIN] {
        let scratch = Scratch::new(admin, "records");
        manual_round_trip(Some(scratch.url()));
    }
}

#[test]
fn violations_and_presales_scores_round_trip() {
    let work = tempfile::tempdir().unwrap();
    // The comparison database: the source with the scores a person could not enter (out of range)
    // as not yet given, which is what an unfilled row means.
    let valid = work.path().join("ops.sqlite");
    std::fs::copy(ops(), &valid).unwrap();
    make_db(
        &valid,
        "UPDATE presales_supports SET assessment_score = NULL WHERE CAST(assessment_score AS REAL) < 0 \
         OR CAST(assessment_score AS REAL) > 100",
    );
    // The entered environment's source has no violations and no scores at all.
    let bare = work.path().join("bare.sqlite");
    std::fs::copy(&valid, &bare).unwrap();
    make_db(&bare, "DROP TABLE violations; UPDATE presales_supports SET assessment_score = NULL");
    let e = Entered::new(&bare, &["violations", "presales_scores"], None);
    let month = "2026-03";
    let rows: Vec<serde_json::Value> = query_strings(
        &valid,
        &format!(
            "SELECT violation_id || '|' || partner_id || '|' || confirmed_on || '|' || class || '|' || category || '|' \
             || coalesce(points, '') || '|' || severe FROM violations WHERE confirmed_on LIKE '{month}%' ORDER BY violation_id"
        ),
    )
    .iter()
    .enumerate()
    .map(|(i, l)| {
        let f: Vec<&str> = l.split('|').collect();
        let date = if i % 2 == 0 { serde_json::json!({"date": f[2]}) } else { serde_json::json!(f[2]) };
        let class = if f[3] == "1" { "一类违约" } else { "二类违约" };
        let points = if f[5].is_empty() { serde_json::json!(null) } else { serde_json::json!(f[5].parse::<f64>().unwrap()) };
        serde_json::json!({"编号": f[0], "合作伙伴编号": f[1], "认定日期": date, "违约类别": class,
            "违约事项": f[4], "扣分": points, "情节恶劣": if f[6] == "1" { "是" } else { "否" }})
    })
    .collect();
    assert!(rows.len() >= 3, "the example has violations in {month}");
    let file =
        e.filled(&["template", "violations", "--month", month], serde_json::json!({ "rows": rows }), "violations");
    e.ok(&["import", "violations", file.to_str().unwrap(), "--by", "李经理"]);

    let quarter = "2026-Q1";
    let template = e.path("presales-template.xlsx");
    e.ok(&["template", "presales-scores", "--quarter", quarter, "--out", template.to_str().unwrap()]);
    let scores: Vec<serde_json::Value> = query_strings(
        &valid,
        "SELECT project_id || '|' || partner_id || '|' || assessment_score FROM presales_supports WHERE assessment_score IS NOT NULL",
    )
    .iter()
    .map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        (f[0].to_string(), f[1].to_string(), f[2].parse::<f64>().unwrap())
    })
    .filter(|(project, partner, _)| template_has(&template, project, partner))
    .map(|(project, partner, score)| {
        serde_json::json!({"where": {"项目编号": project, "合作伙伴编号": partner}, "set": {"得分": score}})
    })
    .collect();
    assert!(scores.len() >= 5, "the quarter has supports to score");
    let file = fill(&template, serde_json::json!({ "fill": scores }), &e.path("presales.xlsx"));
    e.ok(&["import", "presales-scores", file.to_str().unwrap(), "--by", "成都分公司"]);

    e.ok(&["run", "monthly", "--month", month]);
    e.ok(&["run", "quarterly", "--quarter", quarter]);
    let source = Env::new(&valid);
    source.ok_at("2026-11-20 10:00:00", &["run", "monthly", "--month", month]);
    source.ok_at("2026-11-20 10:00:00", &["run", "quarterly", "--quarter", quarter]);
    for f in [format!("monthly/{month}/scores.csv"), format!("quarterly/{quarter}/presales.csv")] {
        assert_eq!(e.env.read(&f), source.read(&f), "{f} differs from the source-based run");
    }
}

/// Whether the presales template lists the support (its rows are the quarter's).
fn template_has(template: &Path, project: &str, partner: &str) -> bool {
    let script = "import openpyxl,sys\nws=openpyxl.load_workbook(sys.argv[1]).worksheets[0]\n\
                  print('\\n'.join(f'{r[1]}|{r[4]}' for r in ws.iter_rows(min_row=2, values_only=True)))";
    let o = python().args(["-c", script]).arg(template).output().unwrap();
    String::from_utf8_lossy(&o.stdout).lines().any(|l| l == format!("{project}|{partner}"))
}

#[test]
fn reimport_replaces_with_an_audit_trail_and_an_approved_month_is_refused() {
    let e = Entered::new(&ops(), &["manual_scores"], None);
    let month = "2026-03";
    let scores = source_scores(month);
    let spec = |points: &str| {
        let fills: Vec<serde_json::Value> = scores
            .iter()
            .take(3)
            .map(|(p, i, _)| serde_json::json!({"where": {"合作伙伴编号": p, "指标": i}, "set": {"得分": points}}))
            .collect();
        serde_json::json!({ "fill": fills })
    };
    let first = e.filled(&["template", "manual-scores", "--month", month], spec("15"), "first");
    e.ok(&["import", "manual-scores", first.to_str().unwrap(), "--by", "张经理"]);
    let second = fill(&e.path("first-template.xlsx"), spec("16.5"), &e.path("second.xlsx"));
    // A dry run says what would change and stores nothing.
    let dry = e.ok(&["import", "manual-scores", second.to_str().unwrap(), "--by", "张经理", "--dry-run"]);
    assert!(dry.contains("修改 3 行") && dry.contains("~ ") && dry.contains("得分=15 → 得分=16.5"), "{dry}");
    let stored = || query_strings(&e.env.store(), "SELECT fields FROM entered_rows ORDER BY row_key");
    assert!(stored().len() == 3 && stored().iter().all(|f| f.contains("\"15\"")), "{:?}", stored());
    e.ok(&["import", "manual-scores", second.to_str().unwrap(), "--by", "王经理"]);
    assert!(stored().len() == 3 && stored().iter().all(|f| f.contains("\"16.5\"")), "{:?}", stored());
    let audit = query_strings(&e.env.store(), "SELECT actor || ' ' || detail FROM audit_trail WHERE action = 'import'");
    let sha = |p: &Path| {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(std::fs::read(p).unwrap()))
    };
    assert!(
        audit.iter().any(|a| a.starts_with("王经理")
            && a.contains("points=15; scored_by=张经理 → ")
            && a.contains("points=16.5")
            && a.contains(&sha(&second))),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|a| a.starts_with("张经理") && a.contains("(none) → ") && a.contains(&sha(&first))),
        "{audit:?}"
    );

    e.ok(&["run", "monthly", "--month", month]);
    e.ok(&["approve", "monthly", "--month", month, "--all-units", "--by", "张经理"]);
    let o = e.run(&["import", "manual-scores", first.to_str().unwrap(), "--by", "张经理"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("撤销审批"), "{}", stderr(&o));
    assert!(
        stored().len() == 3 && stored().iter().all(|f| f.contains("\"16.5\"")),
        "nothing changed after the refusal"
    );
    e.ok(&["reopen", "monthly", "--month", month, "--all-units", "--by", "张经理", "--reason", "补录支撑配合评分"]);
    let out = e.ok(&["import", "manual-scores", first.to_str().unwrap(), "--by", "张经理"]);
    assert!(stored().len() == 3 && stored().iter().all(|f| f.contains("\"15\"")));
    assert!(out.contains("ict-partners run monthly --month 2026-03"), "the import says to rerun: {out}");
    // The stored results predate the import: approving them is refused until the month is rerun.
    let o = e.run(&["approve", "monthly", "--month", month, "--all-units", "--by", "张经理"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("请先重新计算"), "{}", stderr(&o));
    e.ok(&["run", "monthly", "--month", month]);
    e.ok(&["approve", "monthly", "--month", month, "--all-units", "--by", "张经理"]);
}

#[test]
fn every_problem_of_a_workbook_is_reported_by_sheet_row_and_column() {
    let e = Entered::new(&ops(), &["manual_scores"], None);
    let scores = source_scores("2026-03");
    let (p0, p1) = (&scores[0], &scores[1]);
    let file = e.filled(
        &["template", "manual-scores", "--month", "2026-03"],
        serde_json::json!({"unprotect": true, "fill": [
            {"where": {"合作伙伴编号": p0.0, "指标": p0.1}, "set": {"得分": 20.5}},
            {"where": {"合作伙伴编号": p1.0, "指标": p1.1}, "set": {"得分": "12.345", "合作伙伴编号": "P77"}},
        ]}),
        "bad",
    );
    let o = e.run(&["import", "manual-scores", file.to_str().unwrap(), "--by", "张经理"]);
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("共 3 处问题"), "{err}");
    assert!(err.contains("H 列「得分」：「20.5」不在 0 至 20 之间"), "{err}");
    assert!(err.contains("「12.345」超过两位小数") && err.contains("没有编号为「P77」的合作伙伴"), "{err}");
    assert!(
        !e.env.store().exists()
            || query_strings(&e.env.store(), "SELECT CAST(count(*) AS TEXT) FROM entered_rows") == ["0"]
    );
}

#[test]
fn hostile_and_broken_files_are_refused_and_nothing_is_stored() {
    let e = Entered::new(&ops(), &["manual_scores", "violations"], None);
    let template = e.path("template.xlsx");
    e.ok(&["template", "violations", "--month", "2026-03", "--out", template.to_str().unwrap()]);
    let violation = |extra: serde_json::Value| {
        let mut row = serde_json::json!({"合作伙伴编号": "P01", "认定日期": "2026-03-05", "违约类别": "二类违约",
            "违约事项": "系统错误", "扣分": 2, "情节恶劣": "否"});
        row.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        row
    };
    let mut cases: Vec<(&str, PathBuf, &str)> = Vec::new();
    let formula = fill(
        &template,
        serde_json::json!({"unprotect": true, "rows": [violation(serde_json::json!({"扣分": {"formula": "=1+1"}}))]}),
        &e.path("formula.xlsx"),
    );
    cases.push(("formula", formula, "公式"));
    let link = fill(
        &template,
        serde_json::json!({"rows": [violation(serde_json::json!({"说明": {"formula": "=HYPERLINK(\"http://evil.example/\",\"点此查看\")"}}))]}),
        &e.path("hyperlink.xlsx"),
    );
    cases.push(("=HYPERLINK", link, "公式"));
    let crlf = fill(
        &template,
        serde_json::json!({"rows": [violation(serde_json::json!({"违约事项": "系统错误\r\n=cmd|' /C calc'!A0"}))]}),
        &e.path("crlf.xlsx"),
    );
    cases.push(("CR/LF in text", crlf, "换行"));
    let many = e.path("many.xlsx");
    let script = "import openpyxl,sys\nwb=openpyxl.Workbook()\nws=wb.active\nws.append(['月份','合作伙伴编号','认定日期','违约类别','违约事项','扣分','情节恶劣'])\n\
                  [ws.append(['2026-03','P01','2026-03-05','二类违约','系统错误',1,'否']) for _ in range(100000)]\nwb.save(sys.argv[1])";
    assert!(python().args(["-c", script]).arg(&many).status().unwrap().success());
    cases.push(("100k rows", many, "数据行过多"));
    let bomb = e.path("bomb.xlsx");
    let script = "import zipfile,sys\nsrc=zipfile.ZipFile(sys.argv[1])\nz=zipfile.ZipFile(sys.argv[2],'w',zipfile.ZIP_DEFLATED)\n\
                  [z.writestr(i, src.read(i)) for i in src.infolist() if i.filename != 'xl/worksheets/sheet1.xml']\n\
                  z.writestr('xl/worksheets/sheet1.xml', b'<worksheet>' + b' ' * (300 << 20) + b'</worksheet>')\nz.close()";
    assert!(python().args(["-c", script]).arg(&template).arg(&bomb).status().unwrap().success());
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 << 20, "the bomb is small on disk");
    cases.push(("zip bomb", bomb, "解压后"));
    let truncated = e.path("truncated.xlsx");
    let bytes = std::fs::read(&template).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    cases.push(("truncated", truncated, "损坏或不完整"));
    let csv = e.path("scores.xlsx");
    std::fs::write(&csv, "合作伙伴编号,指标,得分\nP01,cooperation,18\n").unwrap();
    cases.push(("csv renamed", csv, "CSV"));
    let hidden = e.path("hidden.xlsx");
    let script = "import openpyxl,sys\nwb=openpyxl.load_workbook(sys.argv[1])\nws=wb.create_sheet('真数据',0)\nws.sheet_state='hidden'\nwb.save(sys.argv[2])";
    assert!(python().args(["-c", script]).arg(&template).arg(&hidden).status().unwrap().success());
    cases.push(("hidden sheet first", hidden, "隐藏"));
    for (what, file, says) in &cases {
        let o = e.run(&["import", "violations", file.to_str().unwrap(), "--by", "张经理"]);
        let err = stderr(&o);
        assert_eq!(code(&o), 65, "{what}: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
    // Nothing of any of them reached the store.
    let stored = if e.env.store().exists() {
        query_strings(&e.env.store(), "SELECT CAST(count(*) AS TEXT) FROM entered_rows")
    } else {
        vec!["0".into()]
    };
    assert_eq!(stored, ["0"]);
}

#[test]
fn check_config_says_where_each_dataset_comes_from() {
    // The routed tables need not exist in the operations database.
    let work = tempfile::tempdir().unwrap();
    let source = without(work.path(), "DROP TABLE manual_scores; DROP TABLE violations");
    let e = Entered::new(&source, &["manual_scores", "violations", "presales_scores"], None);
    e.ok(&["run", "monthly", "--month", "2026-01"]);
    let out = e.ok(&["check-config"]);
    assert!(out.contains("配置无误"), "{out}");
    assert!(out.contains("数据「人工评分」：部门填报"), "{out}");
    assert!(out.contains("数据「违约记录」：部门填报"), "{out}");
    assert!(out.contains("数据「故障工单」：默认数据源"), "{out}");
    assert!(out.contains("数据「售前支撑评价得分」：部门填报"), "{out}");
    let bad = Entered::new(&ops(), &["tickets"], None);
    let o = bad.run(&["check-config"]);
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(stderr(&o).contains("datasets.tickets"), "{}", stderr(&o));
}
