//! The module layering as a test, not a promise: each top-level module of `src/` may use only the
//! modules below it (README "How it is built"), and the domain reads no clock, file, database or
//! environment. Test code is exempt (it may build rules from the configuration, say).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the modules it may use.
fn allowed() -> BTreeMap<&'static str, Vec<&'static str>> {
    let below = |names: &[&'static str]| names.to_vec();
    BTreeMap::from([
        ("domain", below(&[])),
        ("system", below(&["domain"])),
        ("files", below(&[])),
        ("db", below(&[])),
        ("telemetry", below(&[])),
        ("cli", below(&["domain", "telemetry"])),
        ("config", below(&["domain", "db", "system"])),
        ("sources", below(&["domain", "db", "config"])),
        ("workbooks", below(&["domain"])),
        ("store", below(&["domain", "db", "files", "system"])),
        ("report", below(&["domain", "db", "store", "files"])),
        ("mail", below(&["domain", "report", "store", "files", "db", "config"])),
        ("schedule", below(&["domain", "config"])),
        ("exit", below(&["config", "db", "sources", "store", "mail", "domain"])),
        (
            "jobs",
            below(&[
                "domain",
                "system",
                "files",
                "db",
                "config",
                "sources",
                "workbooks",
                "store",
                "report",
                "mail",
                "schedule",
                "exit",
            ]),
        ),
        (
            "commands",
            below(&[
                "domain",
                "system",
                "files",
                "db",
                "config",
                "sources",
                "workbooks",
                "store",
                "report",
                "mail",
                "schedule",
                "exit",
                "jobs",
                "cli",
            ]),
        ),
    ])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its test-only items: each `#[cfg(test)]` and
/// the item after it (to its `;`, or through its braces), wherever it stands.
fn production_code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    without_test_items(&code)
}

fn without_test_items(code: &str) -> String {
    const ATTRIBUTE: &str = "#[cfg(test)]";
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find(ATTRIBUTE) {
        out.push_str(&rest[..at]);
        let item = &rest[at + ATTRIBUTE.len()..];
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Every `crate::<module>` a piece of code names (in `use` lists and paths alike).
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if rest.starts_with('{') {
            // `use crate::{a::x, b}`: every first segment inside the braces.
            let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for part in inner.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    used.insert(name);
                }
            }
        } else {
            used.insert(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    used
}

#[test]
fn modules_use_only_the_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed = allowed();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let module = top.trim_end_matches(".rs").to_string();
        if ["lib", "main"].contains(&module.as_str()) {
            continue;
        }
        let Some(may_use) = allowed.get(module.as_str()) else {
            wrong.push(format!("{}: a top-level module the layering does not know", relative.display()));
            continue;
        };
        for used in used_modules(&production_code(file)) {
            if used != module && !may_use.contains(&used.as_str()) {
                wrong.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that run back up the layers:\n{}", wrong.join("\n"));
}

#[test]
fn the_domain_reads_no_clock_file_database_or_environment() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let forbidden =
        ["std::fs", "std::env", "sqlx", "tokio", "Utc::now", "Local::now", "SystemTime", "std::net", "rand::"];
    let mut found = Vec::new();
    for file in &files {
        let code = production_code(file);
        for token in forbidden {
            if code.contains(token) {
                found.push(format!("{}: {token}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "I/O in the pure core:\n{}", found.join("\n"));
}

/// The checks above must be able to fail: a file that reaches up is caught.
#[test]
fn the_layering_check_sees_an_import_that_reaches_up() {
    let code = "use crate::{jobs::run_job, domain::period::Month};\nfn f() { crate::store::Store::open(); }";
    assert_eq!(used_modules(code), BTreeSet::from(["jobs".into(), "domain".into(), "store".into()]));
    assert!(!allowed()["report"].contains(&"jobs"));
}

/// Only the test-only items are left out: code after a `#[cfg(test)]` item near the top is still
/// checked.
#[test]
fn test_only_items_are_left_out_and_nothing_else() {
    let code =
        "#[cfg(test)]\nuse crate::jobs::x;\nuse crate::domain::y;\n#[cfg(test)]\nfn helper() { if a { b(); } }\n\
                fn real() { crate::store::z(); }\n#[cfg(test)]\nmod tests { use crate::jobs; }\n";
    let kept = without_test_items(code);
    assert!(kept.contains("crate::domain::y") && kept.contains("crate::store::z"), "{kept}");
    assert!(!kept.contains("crate::jobs") && !kept.contains("helper"), "{kept}");
}
