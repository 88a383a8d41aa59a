//! Outputs for people, read back as their readers get them: the month's workbook through openpyxl
//! (headers in words, money formats, widths, frozen and filtered header, print setup, an overview
//! first), and every page, workbook, scorecard and explanation of a zh-CN run scanned for codes or
//! English that did not become Chinese.

use crate::common::*;
use std::collections::BTreeSet;
use std::path::Path;

const NOW: &str = "2026-11-20 10:00:00";

/// The example's first quarter run, approved, published and settled (rules without a dispute
/// window, so that the finance workbooks are written too), with renewal and annual.
fn run_everything() -> Env {
    let env = Env::new(&ops());
    let rules = no_dispute_window(env.dir.path());
    let run = |args: &[&str]| {
        let mut all = vec!["--rules", rules.as_str()];
        all.extend_from_slice(args);
        env.ok_at(NOW, &all)
    };
    for m in ["2026-01", "2026-02", "2026-03"] {
        run(&["run", "monthly", "--month", m]);
    }
    run(&["run", "quarterly", "--quarter", "2026-Q1"]);
    run(&["run", "renewal", "--as-of", "2026-04-01"]);
    run(&["run", "annual", "--year", "2026", "--preview"]);
    run(&["approve", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理"]);
    run(&["publish", "monthly", "--month", "2026-03", "--all-units", "--by", "张经理"]);
    run(&["approve", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "张经理"]);
    run(&["publish", "quarterly", "--quarter", "2026-Q1", "--all-units", "--by", "张经理"]);
    for settled in ["monthly/2026-03/finance_settlement.xlsx", "quarterly/2026-Q1/finance_settlement.xlsx"] {
        assert!(env.out().join(settled).exists(), "{settled}");
    }
    env
}

#[test]
fn the_monthly_workbook_is_ready_to_filter_and_print() {
    let env = Env::new(&ops());
    env.ok_at(NOW, &["run", "monthly", "--month", "2026-03"]);
    let book = env.out().join("monthly/2026-03/assessment.xlsx");
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": wb.sheetnames, "active": wb.active.title}
for ws in wb.worksheets:
    head = [c.value for c in ws[1]]
    formats = {}
    for col, title in enumerate(head, 1):
        cells = [ws.cell(r, col) for r in range(2, min(ws.max_row, 40) + 1)]
        formats[str(title)] = sorted({c.number_format for c in cells if isinstance(c.value, (int, float))})
    out[ws.title] = {
        "head": head, "formats": formats, "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref,
        "orientation": ws.page_setup.orientation, "paper": ws.page_setup.paperSize, "scale": ws.page_setup.scale,
        # OOXML: an absent fitToWidth is 1.
        "fit_width": 1 if ws.page_setup.fitToWidth is None else ws.page_setup.fitToWidth,
        "fit_height": ws.page_setup.fitToHeight, "fit": ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr else None,
        "title_rows": ws.print_title_rows, "header": ws.oddHeader.center.text,
        "widths": {k: v.width for k, v in ws.column_dimensions.items()},
    }
print(json.dumps(out, ensure_ascii=False))
"#;
    let o = python().args(["-c", script]).arg(&book).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sheets"], serde_json::json!(["概览", "考核结果", "考核指标", "数据质量", "数据质量明细"]));
    assert_eq!(v["active"], "概览");
    let results = &v["考核结果"];
    let head: Vec<&str> = results["head"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    assert_eq!(head[..3], ["合作伙伴编号", "合作伙伴名称", "归口部门"]);
    assert!(head.contains(&"结算金额（元）") && head.contains(&"说明"), "{head:?}");
    assert_eq!(results["formats"]["结算金额（元）"], serde_json::json!(["#,##0.00"]));
    assert_eq!(results["formats"]["考核得分"], serde_json::json!(["0.00"]));
    for sheet in ["考核结果", "考核指标", "数据质量"] {
        let s = &v[sheet];
        assert_eq!(s["freeze"], "A2", "{sheet}");
        assert!(s["filter"].as_str().is_some_and(|r| r.starts_with("A1:")), "{sheet}: {}", s["filter"]);
        // A4, upright or turned as the table needs; fitted to the width only where the type
        // stays at 8 pt or more (9 pt tables).
        assert_eq!(s["paper"], serde_json::json!(9), "{sheet}");
        assert!(["portrait", "landscape"].contains(&s["orientation"].as_str().unwrap_or("")), "{sheet}");
        if s["fit"] == serde_json::json!(true) {
            assert_eq!((s["fit_width"].clone(), s["fit_height"].clone()), (serde_json::json!(1), serde_json::json!(0)));
        }
        assert_eq!(s["title_rows"], "$1:$1", "{sheet}");
        assert!(s["header"].as_str().unwrap().contains("2026-03"), "{sheet}");
    }
    // The name column fits the longest name (CJK counted double), not a default width.
    let name_width = results["widths"]["B"].as_f64().unwrap();
    assert!(name_width >= 20.0, "{name_width}");
    // Statuses, flags and hold reasons in words, not codes.
    let script = "import openpyxl,sys\nws=openpyxl.load_workbook(sys.argv[1])['考核结果']\n\
                  print('\\n'.join(str(c.value) for r in ws.iter_rows(min_row=2) for c in r if isinstance(c.value,str)))";
    let o = python().args(["-c", script]).arg(&book).output().unwrap();
    let texts = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        !texts.contains("assessed") && !texts.contains("on_hold") && !texts.contains("missing_manual_score"),
        "{texts}"
    );
    assert!(texts.contains("暂缓"), "the on-hold partner's reason in words: {texts}");
}

/// Text of every file a person reads in the output folder: pages (tags, styles and scripts
/// removed), workbooks' strings, and the mails' plain text.
fn readable_texts(out: &Path) -> Vec<(String, String)> {
    let script = r#"
import email, email.policy, json, os, re, sys, html, openpyxl
out = []
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if f.endswith(".html"):
            t = open(p, encoding="utf-8").read()
            t = re.sub(r"(?s)<(style|script)[^>]*>.*?</\1>", " ", t)
            t = re.sub(r'(?s)<img[^>]*alt="([^"]*)"[^>]*>', r" \1 ", t)
            out.append([p, html.unescape(re.sub(r"<[^>]+>", " ", t))])
        elif f.endswith(".xlsx"):
            wb = openpyxl.load_workbook(p)
            cells = [str(c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
            out.append([p, " ".join(cells + wb.sheetnames)])
        elif f.endswith(".eml"):
            m = email.message_from_bytes(open(p, "rb").read(), policy=email.policy.default)
            parts = [str(m["Subject"])] + [x.get_content() for x in m.walk() if x.get_content_type() == "text/plain"]
            out.append([p, " ".join(parts)])
print(json.dumps(out, ensure_ascii=False))
"#;
    let o = python().args(["-c", script]).arg(out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Codes and English words a zh-CN reader must never meet. File names (`data_quality.csv`), e-mail
/// addresses and links are names, not words: each run of ASCII that is one of them is passed over
/// on its own, whatever stands next to it.
fn untranslated(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let in_run = |c: char| c.is_ascii_alphanumeric() || "_.@:/+-".contains(c);
    for run in text.split(|c: char| !in_run(c)).filter(|r| !r.is_empty()) {
        let name = run.contains('@')
            || run.contains("://")
            || [".csv", ".xlsx", ".png", ".html", ".eml", ".toml"].iter().any(|ext| run.contains(ext));
        if name {
            continue;
        }
        for word in run.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let snake = word.contains('_') && word.chars().next().is_some_and(|c| c.is_ascii_lowercase());
            let english =
                ["assessed", "hold", "opened", "due", "resolved", "effectiveness", "late", "cooperation", "mean"]
                    .contains(&word);
            if snake || english {
                found.insert(word.to_string());
            }
        }
    }
    found
}

#[test]
fn chinese_outputs_hold_no_untranslated_code() {
    let env = run_everything();
    let mut texts = readable_texts(&env.out());
    assert!(texts.len() > 20, "pages, workbooks and mails were read: {}", texts.len());
    let explain = env.ok_at(NOW, &["explain", "--partner", "P12", "--month", "2026-03"]);
    texts.push(("explain P12 2026-03".into(), explain));
    let hold = env.ok_at(NOW, &["explain", "--partner", "P01", "--month", "2026-03"]);
    assert!(hold.contains("暂缓考核"), "{hold}");
    texts.push(("explain P01 2026-03".into(), hold));
    // Names are the source's words, whatever language they are in (the example's project names
    // carry their type: 德阳A1类dedicated_line项目001).
    let names = query_strings(&ops(), "SELECT name FROM presales_projects UNION SELECT name FROM partners");
    let mut leaks = Vec::new();
    for (file, text) in &texts {
        let text = names.iter().fold(text.clone(), |t, n| t.replace(n.as_str(), " "));
        let found = untranslated(&text);
        if !found.is_empty() {
            leaks.push(format!("{file}: {found:?}"));
        }
    }
    assert!(leaks.is_empty(), "untranslated codes in zh-CN outputs:\n{}", leaks.join("\n"));
    // The check can fail: a code in a page is found.
    assert_eq!(untranslated("状态：on_hold，见 data_quality.csv"), BTreeSet::from(["on_hold".to_string()]));
    assert_eq!(untranslated("状态：on_hold，见data_quality.csv"), BTreeSet::from(["on_hold".to_string()]));
    assert_eq!(untranslated("联系 ops@p01.example.cn，late"), BTreeSet::from(["late".to_string()]));
}

/// Every page a person opens reads on a phone (a viewport), and every workbook prints on A4 with
/// no fit-to-width that shrinks its type below 8 pt: the run's own outputs, a what-if's, and the
/// templates people fill in.
#[test]
fn every_page_has_a_viewport_and_every_workbook_prints_readably_on_a4() {
    let env = run_everything();
    let extra = env.dir.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml");
    let out = extra.join("what-if");
    env.ok_at(
        NOW,
        &[
            "what-if",
            "--rules",
            rules.to_str().unwrap(),
            "--months",
            "2026-01..2026-03",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    for (kind, period) in [
        ("manual-scores", Some(("--month", "2026-03"))),
        ("violations", Some(("--month", "2026-03"))),
        ("presales-scores", Some(("--quarter", "2026-Q1"))),
        ("blacklist", None),
        ("exit-requests", None),
        ("audit-exclusions", Some(("--month", "2026-03"))),
    ] {
        let file = extra.join(format!("{kind}.xlsx"));
        let mut args = vec!["template", kind, "--out", file.to_str().unwrap()];
        if let Some((flag, value)) = period {
            args.extend([flag, value]);
        }
        env.ok_at(NOW, &args);
    }
    let mut pages = 0;
    let mut walk = vec![env.out(), extra.clone()];
    let mut books = Vec::new();
    while let Some(dir) = walk.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                let page = std::fs::read_to_string(&p).unwrap();
                assert!(page.contains("name=\"viewport\""), "{} has no viewport", p.display());
                pages += 1;
            } else if p.extension().is_some_and(|x| x == "xlsx") {
                books.push(p);
            }
        }
    }
    assert!(pages > 10 && books.len() > 8, "{pages} pages, {} workbooks", books.len());
    // The printable width of A4 in column units of the sheet's type at 8 pt (LibreOffice's
    // measure, the narrower): a fitted sheet wider than that prints below 8 pt.
    let script = r#"
import json, sys, collections, openpyxl
bad = []
for path in sys.argv[1:]:
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        ps = ws.page_setup
        if str(ps.paperSize) != "9":
            bad.append(f"{path} [{ws.title}]: paper {ps.paperSize}")
        fit = ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage
        if not fit or (ps.fitToWidth not in (None, 1)):
            continue
        sizes = collections.Counter(c.font.sz for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, 30)) for c in row if c.value is not None and c.font is not None and c.font.sz)
        size = sizes.most_common(1)[0][0] if sizes else 11
        # A <col> may span several columns of one width.
        widths = {}
        for d in list(ws.column_dimensions.values()):
            for c in range(d.min or 1, (d.max or d.min or 1) + 1):
                widths[c] = d.width or 8.43
        width = sum(widths.get(c, 8.43) for c in range(1, ws.max_column + 1))
        page = 770 / 7.1 if ps.orientation == "landscape" else 523 / 7.1
        if width > page * size / 8 + 0.5:
            bad.append(f"{path} [{ws.title}]: {width:.0f} units fitted to {page:.0f} at {size} pt")
print(json.dumps(bad, ensure_ascii=False))
"#;
    let o = python().args(["-c", script]).args(&books).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bad: Vec<String> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(bad.is_empty(), "workbooks that print unreadably:\n{}", bad.join("\n"));
}
