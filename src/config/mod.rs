//! Configuration: the application file, the rules file, the holiday calendar and the job files,
//! each read into raw serde structs and compiled into validated settings, every problem reported
//! at once. The environment (read through `system`) beats the file.

mod app;
mod calendar;
pub(crate) mod jobs;
mod rules;
pub(crate) mod rules_diff;
pub(crate) use rules::DEFAULT_RULES;
mod secret;
mod toml;

pub(crate) use app::ScheduleSettings;
pub(crate) use calendar::missing_years;
pub(crate) use jobs::{Covers, JobDef};
#[cfg(test)]
pub(crate) use rules::builtin_rules;
pub(crate) use rules::compile_rules;
pub(crate) use secret::Secret;

use crate::db::{redact_url, PoolSettings};
use crate::domain::calendar::CalendarYear;
use crate::domain::records::RecordKind;
use crate::domain::rules::Rules;
use crate::system::System;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shipped files, embedded so that the binary works from any directory.
pub(crate) const DEFAULT_APP: &str = include_str!("../../config/ict-partners.toml");
pub(crate) const DEFAULT_CALENDAR: &str = include_str!("../../config/calendar-cn.toml");
pub(crate) const DEFAULT_CONFIG_PATH: &str = "config/ict-partners.toml";

/// The configuration is invalid: every problem found, each on its own (exit 78).
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub(crate) struct ConfigError {
    pub(crate) problems: Vec<String>,
}

/// `[datasets] <name> = "entered"`: the records people import, not a source.
pub(crate) const ENTERED: &str = "entered";

/// The validated application settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) source_url: Secret,
    pub(crate) store_url: Secret,
    /// Pool sizes and connection timeouts (`[store]`, `[source]`).
    pub(crate) store_pool: PoolSettings,
    pub(crate) source_pool: PoolSettings,
    pub(crate) schedule: ScheduleSettings,
    /// The job definitions (`jobs/*.toml`), validated with the rest.
    pub(crate) jobs: Vec<JobDef>,
    pub(crate) output_dir: PathBuf,
    pub(crate) locale: String,
    /// 归口管理部门 → manager addresses.
    pub(crate) departments: BTreeMap<String, Vec<String>>,
    pub(crate) smtp_url: Option<Secret>,
    /// How long to wait for the SMTP server at each step (connect, each command, DATA).
    pub(crate) smtp_timeout: std::time::Duration,
    pub(crate) mail_from: String,
    pub(crate) leadership: Vec<String>,
    /// Finance: each unit's settlement with its export (`mail.finance`).
    pub(crate) finance: Vec<String>,
    /// Who may approve, reopen and publish for a department, or a commissioning unit (rules.md
    /// §12); a unit not listed accepts any name.
    pub(crate) department_approvers: BTreeMap<String, Vec<String>>,
    pub(crate) unit_approvers: BTreeMap<String, Vec<String>>,
    /// Named sources (`[sources.<name>] url`) and which datasets come from them.
    pub(crate) named_sources: BTreeMap<String, Secret>,
    pub(crate) dataset_sources: BTreeMap<String, String>,
    /// The departmental records read from what people imported (`[datasets] … = "entered"`)
    /// instead of the operations database.
    pub(crate) entered: std::collections::BTreeSet<RecordKind>,
    /// 委托单位 (presales_projects.commissioning_unit) → who receives its confirmation forms.
    pub(crate) commissioning_units: BTreeMap<String, Vec<String>>,
    pub(crate) rules: Rules,
    /// The calendar the rules were compiled with (stored rules versions are compiled with it too).
    pub(crate) calendar_years: BTreeMap<i32, CalendarYear>,
    /// Where each piece came from, for `check-config`.
    pub(crate) origins: Vec<String>,
    /// The calendar file (for the message that asks to add a year), or `None` for the built-in one.
    pub(crate) calendar_file: Option<PathBuf>,
    /// How long before the calendar runs out `check-config` and `run due` warn.
    pub(crate) calendar_warning_days: u32,
}

impl Settings {
    /// When the working calendar runs out within `calendar_warning_days` of `today`: the year
    /// missing, the days left and the file to edit (none: the built-in calendar). The jobs say it
    /// in the locale's words.
    pub(crate) fn calendar_running_out(&self, today: NaiveDate) -> Option<(i32, i64, Option<&Path>)> {
        let (year, left) = self.rules.calendar.running_out(today, self.calendar_warning_days)?;
        Some((year, left, self.calendar_file.as_deref()))
    }
}

/// Where to read from and what to override; built by the CLI.
#[derive(Debug, Default, Clone)]
pub(crate) struct LoadOptions {
    pub(crate) config: Option<PathBuf>,
    pub(crate) rules: Option<PathBuf>,
}

/// The environment overrides of interface.md, as the machine gives them.
#[derive(Debug, Default, Clone)]
struct Environment {
    config: Option<String>,
    source_url: Option<String>,
    store_url: Option<String>,
    output_dir: Option<String>,
    smtp_url: Option<String>,
}

impl From<&System> for Environment {
    fn from(system: &System) -> Self {
        let var = |k: &str| system.var(k).map(str::to_string);
        Self {
            config: var("ICT_PARTNERS_CONFIG"),
            source_url: var("ICT_PARTNERS_SOURCE_URL"),
            store_url: var("ICT_PARTNERS_STORE_URL"),
            output_dir: var("ICT_PARTNERS_OUTPUT_DIR"),
            smtp_url: var("ICT_PARTNERS_SMTP_URL"),
        }
    }
}

/// Reads and validates everything; `ConfigError` lists every problem found.
pub(crate) fn load(options: &LoadOptions, system: &System) -> Result<Settings, ConfigError> {
    let env = Environment::from(system);
    let mut problems = Vec::new();
    let mut origins = Vec::new();
    let explicit = options.config.clone().or_else(|| env.config.clone().map(PathBuf::from));
    let (app_text, base) = match &explicit {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => {
                origins.push(format!("config: {}", path.display()));
                (text, path.parent().map(Path::to_path_buf))
            }
            Err(e) => return Err(ConfigError { problems: vec![format!("cannot read {}: {e}", path.display())] }),
        },
        None => match std::fs::read_to_string(DEFAULT_CONFIG_PATH) {
            Ok(text) => {
                origins.push(format!("config: {DEFAULT_CONFIG_PATH}"));
                (text, Some(PathBuf::from("config")))
            }
            Err(_) => {
                origins.push("config: built-in default".into());
                (DEFAULT_APP.to_string(), None)
            }
        },
    };
    let app: Option<app::RawApp> = toml::parse_toml("config", &app_text, &mut problems);

    // The built-in configuration names the built-in rules and calendar, not files in the cwd.
    let rules_ref = app.as_ref().filter(|_| base.is_some()).and_then(|a| a.rules.as_ref());
    let rules_path =
        options.rules.clone().or_else(|| rules_ref.and_then(|r| r.path.as_ref()).map(|p| resolve(base.as_deref(), p)));
    let calendar_path = rules_ref.and_then(|r| r.calendar.as_ref()).map(|p| resolve(base.as_deref(), p));
    let rules_text = read_or_default(
        "rules",
        rules_path.as_deref(),
        base.as_deref(),
        "rules.toml",
        rules::DEFAULT_RULES,
        &mut problems,
        &mut origins,
    );
    let calendar_text = read_or_default(
        "calendar",
        calendar_path.as_deref(),
        base.as_deref(),
        "calendar-cn.toml",
        DEFAULT_CALENDAR,
        &mut problems,
        &mut origins,
    );
    let calendar_file = calendar_path.clone().or_else(|| base.as_deref().map(|b| b.join("calendar-cn.toml")));
    let calendar_years = calendar_text.as_deref().and_then(|t| calendar::parse_calendar(t, &mut problems));
    let rules = rules_text
        .as_deref()
        .and_then(|t| rules::compile_rules(t, calendar_years.clone().unwrap_or_default(), &mut problems));

    let Some(app) = app else {
        return Err(ConfigError { problems });
    };
    let mut departments = BTreeMap::new();
    let mut department_approvers = BTreeMap::new();
    // An approver is a name people type after --by: the same rules as the name itself.
    let check_approvers = |place: String, names: &[String], problems: &mut Vec<String>| {
        for name in names {
            if let Err(issue) = crate::domain::text::check_name(name) {
                problems.push(format!("{place}.approvers: {name:?} is not a usable name ({issue:?})"));
            }
        }
    };
    for (name, dept) in app.departments {
        for address in &dept.managers {
            if !plausible_address(address) {
                problems.push(format!("departments.{name}.managers: not an e-mail address: {address:?}"));
            }
        }
        check_approvers(format!("departments.{name}"), &dept.approvers, &mut problems);
        if !dept.approvers.is_empty() {
            department_approvers.insert(name.clone(), dept.approvers);
        }
        departments.insert(name, dept.managers);
    }
    let mut commissioning_units = BTreeMap::new();
    let mut unit_approvers = BTreeMap::new();
    for (name, unit) in app.commissioning_units {
        for address in unit.addresses.iter().filter(|a| !plausible_address(a)) {
            problems.push(format!("commissioning_units.{name}.addresses: not an e-mail address: {address:?}"));
        }
        check_approvers(format!("commissioning_units.{name}"), &unit.approvers, &mut problems);
        if !unit.approvers.is_empty() {
            unit_approvers.insert(name.clone(), unit.approvers);
        }
        commissioning_units.insert(name, unit.addresses);
    }
    let mail = app.mail.unwrap_or(app::RawMail {
        smtp_url: None,
        timeout_seconds: None,
        from: None,
        leadership: vec![],
        finance: vec![],
    });
    for address in mail.finance.iter().filter(|a| !plausible_address(a)) {
        problems.push(format!("mail.finance: not an e-mail address: {address:?}"));
    }
    let smtp_timeout = std::time::Duration::from_secs(mail.timeout_seconds.unwrap_or(30).clamp(1, 600));
    for address in &mail.leadership {
        if !plausible_address(address) {
            problems.push(format!("mail.leadership: not an e-mail address: {address:?}"));
        }
    }
    if !matches!(app.output.locale.as_str(), "zh-CN" | "en") {
        problems.push(format!("output.locale must be \"zh-CN\" or \"en\", not {:?}", app.output.locale));
    }
    let known: Vec<&str> = crate::domain::inputs::ALL_DATASETS
        .iter()
        .chain([&crate::domain::inputs::OPEN_TICKETS])
        .map(|d| d.name)
        .collect();
    // `"entered"` routes a departmental record to the store's imports (interface.md); the
    // presales scores are not a dataset of their own, so "entered" is all they take.
    let mut entered = std::collections::BTreeSet::new();
    let mut datasets = app.datasets;
    for kind in RecordKind::ALL {
        match datasets.get(kind.as_str()).map(String::as_str) {
            Some(ENTERED) => {
                datasets.remove(kind.as_str());
                entered.insert(kind);
            }
            Some(other) if kind == RecordKind::PresalesScores => {
                problems.push(format!("datasets.presales_scores: only \"{ENTERED}\" is possible, not {other:?}"));
                datasets.remove(kind.as_str());
            }
            _ => {}
        }
    }
    for (dataset, source) in &datasets {
        if source == ENTERED {
            problems.push(format!(
                "datasets.{dataset}: only {} can be \"{ENTERED}\"",
                RecordKind::ALL.map(RecordKind::as_str).join(", ")
            ));
            continue;
        }
        if !known.contains(&dataset.as_str()) {
            problems.push(format!("datasets.{dataset}: not a dataset of the contract ({})", known.join(", ")));
        }
        if !app.sources.contains_key(source) {
            problems.push(format!("datasets.{dataset}: no [sources.{source}] is configured"));
        }
    }
    let named_sources: BTreeMap<String, Secret> =
        app.sources.into_iter().map(|(k, v)| (k, Secret::new(v.url))).collect();
    for (name, url) in &named_sources {
        if !["sqlite:", "postgres:", "postgresql:", "mysql:", "mariadb:"].iter().any(|s| url.expose().starts_with(s)) {
            problems.push(format!("sources.{name}.url: unsupported scheme in {}", redact_url(url.expose())));
        }
    }
    let calendar_warning_days = app.rules.as_ref().and_then(|r| r.calendar_warning_days).unwrap_or(60);
    if calendar_warning_days > 366 {
        problems.push(format!("rules.calendar_warning_days must be at most 366, not {calendar_warning_days}"));
    }
    let store_pool = app.store.pool("store", 4, &mut problems);
    let schedule = app.schedule.unwrap_or_default().validate(base.as_deref(), &mut problems);
    let jobs = jobs::load(&schedule.jobs_dir).unwrap_or_else(|job_problems| {
        problems.extend(job_problems);
        Vec::new()
    });
    let source_pool = app.source.pool("source", 2, &mut problems);
    let source_url = env.source_url.clone().unwrap_or(app.source.url);
    let store_url = env.store_url.clone().unwrap_or(app.store.url);
    for (what, url) in [("source.url", &source_url), ("store.url", &store_url)] {
        if !["sqlite:", "postgres:", "postgresql:", "mysql:", "mariadb:"].iter().any(|s| url.starts_with(s)) {
            problems
                .push(format!("{what}: unsupported scheme in {} (sqlite://, postgres://, mysql://)", redact_url(url)));
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    Ok(Settings {
        source_url: Secret::new(source_url),
        store_url: Secret::new(store_url),
        store_pool,
        source_pool,
        schedule,
        jobs,
        output_dir: PathBuf::from(env.output_dir.clone().unwrap_or(app.output.dir)),
        locale: app.output.locale,
        departments,
        smtp_url: env.smtp_url.clone().or(mail.smtp_url).map(Secret::new),
        smtp_timeout,
        mail_from: mail.from.unwrap_or_else(|| "ict-partners@localhost".into()),
        leadership: mail.leadership,
        finance: mail.finance,
        department_approvers,
        unit_approvers,
        commissioning_units,
        named_sources,
        dataset_sources: datasets,
        entered,
        rules: rules.expect("no problems means the rules compiled"),
        calendar_years: calendar_years.unwrap_or_default(),
        origins,
        calendar_file,
        calendar_warning_days,
    })
}

pub(crate) fn plausible_address(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else { return false };
    !local.is_empty() && domain.contains('.') && !a.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p,
    }
}

fn read_or_default(
    what: &str,
    path: Option<&Path>,
    base: Option<&Path>,
    default_name: &str,
    embedded: &str,
    problems: &mut Vec<String>,
    origins: &mut Vec<String>,
) -> Option<String> {
    let candidate = path.map(Path::to_path_buf).or_else(|| base.map(|b| b.join(default_name)));
    match candidate {
        Some(p) => match std::fs::read_to_string(&p) {
            Ok(text) => {
                origins.push(format!("{what}: {}", p.display()));
                Some(text)
            }
            Err(e) => {
                problems.push(format!("cannot read {what} file {}: {e}", p.display()));
                None
            }
        },
        None => {
            origins.push(format!("{what}: built-in default"));
            Some(embedded.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_parses_without_a_problem() {
        let mut problems = Vec::new();
        let _: app::RawApp = toml::parse_toml("config", DEFAULT_APP, &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn addresses_must_look_like_addresses() {
        assert!(plausible_address("ops@sc.example.cn"));
        assert!(!plausible_address("ops"));
        assert!(!plausible_address("ops @x.cn"));
        assert!(!plausible_address("ACME\r\nBcc: x@y.cn"));
    }
}
