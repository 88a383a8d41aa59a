//! The deployment files in `config/deploy/`: systemd accepts the units, and the command lines in
//! them and in the crontab are ones the binary accepts.

use crate::common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs a deployment command line for real: the installed binary and config replaced by the test
/// build and a scratch configuration in which nothing is due yet. `serve` is stopped with SIGTERM
/// once it is serving.
fn run_for_real(line: &str, env: &Env, config: &Path) -> (i32, String) {
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/ict-partners"), "{line}");
    let args: Vec<String> =
        words.map(|w| w.replace("/etc/ict-partners/ict-partners.toml", config.to_str().unwrap())).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = env.cmd(&args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if args.contains(&"serve") {
        let start = Instant::now();
        // The catch-up pass finds nothing due at once; then the daemon only waits for firings.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(child.try_wait().unwrap().is_none(), "{line}: serve ended by itself");
        assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
        assert!(start.elapsed() < Duration::from_secs(30));
    }
    let o = child.wait_with_output().unwrap();
    (code(&o), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn the_command_lines_run_as_written() {
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
        let env = Env::new(&ops());
        let config = config_with(env.dir.path(), "first_period = \"2099-01\"");
        let (code, said) = run_for_real(&line, &env, &config);
        assert_eq!(code, 0, "{line}: {said}");
        assert!(said.contains("没有到期的任务") || said.contains("stopped"), "{line}: {said}");
        // The unit's log flag took effect: the daemon's log lines are JSON.
        if line.contains("--log-format json") && line.contains("serve") {
            let logs: Vec<&str> = said.lines().filter(|l| l.contains("serving")).collect();
            assert!(!logs.is_empty(), "{line}: {said}");
            for l in logs {
                serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{line}: not JSON ({e}): {l}"));
            }
        }
    }
    // And a mistyped line would not pass.
    let env = Env::new(&ops());
    let config = config_with(env.dir.path(), "");
    let (code, _) = run_for_real("/usr/local/bin/ict-partners --log-format xml run due", &env, &config);
    assert_eq!(code, 64);
}
