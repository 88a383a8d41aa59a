//! The deployment files in `config/deploy/`: systemd accepts the units, and the command lines in
//! them and in the crontab are ones the binary accepts.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const UNITS: [&str; 3] = ["ict-partners-due.service", "ict-partners-due.timer", "ict-partners.service"];

fn deploy(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/deploy").join(name)).unwrap()
}

/// Runs `systemd-analyze verify` on the given units (the binary path pointed at the test build).
fn verify(units: &[(&str, String)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["verify".to_string()];
    for (name, text) in units {
        let path = dir.path().join(name);
        std::fs::write(&path, text.replace("/usr/local/bin/ict-partners", BIN)).unwrap();
        args.push(path.display().to_string());
    }
    let o = Command::new("systemd-analyze")
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze is needed (Debian's systemd package; .ci/run installs it): {e}"));
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn systemd_accepts_the_units() {
    let units: Vec<(&str, String)> = UNITS.iter().map(|n| (*n, deploy(n))).collect();
    let (ok, said) = verify(&units);
    // systemd-analyze only warns about many mistakes: any output at all is a finding.
    assert!(ok && said.trim().is_empty(), "{said}");
    // The check can fail: a misspelt directive is reported.
    let broken = deploy("ict-partners-due.service").replace("Type=oneshot", "Type=oneshoot");
    let (_, said) = verify(&[("ict-partners-due.service", broken)]);
    assert!(said.contains("oneshoot"), "{said}");
    let timer = deploy("ict-partners-due.timer");
    assert!(timer.contains("Persistent=true"));
    assert!(deploy("ict-partners-due.service").contains("TimeoutStartSec="));
}

#[test]
fn the_command_lines_are_ones_the_binary_accepts() {
    let mut lines: Vec<String> = UNITS
        .iter()
        .flat_map(|n| {
            deploy(n).lines().filter_map(|l| l.strip_prefix("ExecStart=").map(str::to_string)).collect::<Vec<_>>()
        })
        .collect();
    let cron = deploy("crontab");
    let cron_line = cron.lines().find(|l| l.starts_with("5 ")).expect("a crontab entry");
    let command = cron_line.split("&& ").nth(1).unwrap().split(" >>").next().unwrap();
    lines.push(command.to_string());
    assert_eq!(lines.len(), 3);
    for line in lines {
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("/usr/local/bin/ict-partners"), "{line}");
        // `--help` after the subcommand: clap parses every argument before it and exits 0.
        let o = Command::new(BIN).args(words).arg("--help").output().unwrap();
        assert!(o.status.success(), "{line}: {}", String::from_utf8_lossy(&o.stderr));
    }
}
