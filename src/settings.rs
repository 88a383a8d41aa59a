//! Configuration: the app file, the rules file and the calendar, read into raw serde structs and
//! compiled into validated settings, every problem reported at once. Environment beats file.

use crate::domain::calendar::{CalendarYear, WorkCalendar};
use crate::domain::rules::*;
use crate::domain::sla::{ClockKind, SlaClass};
use crate::error::{redact_url, AppError};
use crate::store::PoolSettings;
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The files shipped in `config/`, embedded so that the binary works from any directory.
pub const DEFAULT_APP: &str = include_str!("../config/ict-partners.toml");
pub const DEFAULT_RULES: &str = include_str!("../config/rules.toml");
pub const DEFAULT_CALENDAR: &str = include_str!("../config/calendar-cn.toml");
pub const DEFAULT_CONFIG_PATH: &str = "config/ict-partners.toml";

/// A value that must never reach a log, an error or a report (passwords, SMTP URLs).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// The validated application settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub source_url: Secret,
    pub store_url: Secret,
    /// Pool sizes and connection timeouts (`[store]`, `[source]`).
    pub store_pool: PoolSettings,
    pub source_pool: PoolSettings,
    pub schedule: ScheduleSettings,
    /// The job definitions (`jobs/*.toml`), validated with the rest.
    pub jobs: Vec<crate::schedule::JobDef>,
    pub output_dir: PathBuf,
    pub locale: String,
    /// 归口管理部门 → manager addresses.
    pub departments: BTreeMap<String, Vec<String>>,
    pub smtp_url: Option<Secret>,
    /// How long to wait for the SMTP server at each step (connect, each command, DATA).
    pub smtp_timeout: std::time::Duration,
    pub mail_from: String,
    pub leadership: Vec<String>,
    /// Named sources (`[sources.<name>] url`) and which datasets come from them.
    pub named_sources: BTreeMap<String, Secret>,
    pub dataset_sources: BTreeMap<String, String>,
    /// 委托单位 (presales_projects.commissioning_unit) → who receives its confirmation forms.
    pub commissioning_units: BTreeMap<String, Vec<String>>,
    pub rules: Rules,
    /// The calendar the rules were compiled with (stored rules versions are compiled with it too).
    pub calendar_years: BTreeMap<i32, CalendarYear>,
    /// Where each piece came from, for `check-config`.
    pub origins: Vec<String>,
    /// The calendar file (for the message that asks to add a year), or `None` for the built-in one.
    pub calendar_file: Option<PathBuf>,
    /// How long before the calendar runs out `check-config` and `run due` warn.
    pub calendar_warning_days: u32,
}

impl Settings {
    /// The warning to give when the working calendar runs out within `calendar_warning_days` of
    /// `today`: which year is missing and which file to edit.
    pub fn calendar_warning(&self, today: NaiveDate) -> Option<String> {
        let (year, left) = self.rules.calendar.running_out(today, self.calendar_warning_days)?;
        let file = self.calendar_file.as_ref().map_or_else(
            || "the built-in calendar (copy config/calendar-cn.toml, set [rules] calendar in the configuration)".into(),
            |p| p.display().to_string(),
        );
        let when = if left > 0 { format!("runs out in {left} days") } else { "has run out".into() };
        Some(format!(
            "the working calendar has no data for {year} and {when}: add [years.{year}] to {file} from the State Council \
             (国务院办公厅) notice on {year}'s holidays (holidays: the weekdays off; working_weekends: the 调休 \
             Saturdays and Sundays worked); until then every working-clock ticket that needs a day of {year} is quarantined"
        ))
    }
}

#[derive(Debug, Deserialize)]
struct RawApp {
    source: RawUrl,
    store: RawUrl,
    output: RawOutput,
    #[serde(default)]
    rules: Option<RawRulesRef>,
    #[serde(default)]
    departments: BTreeMap<String, RawDepartment>,
    #[serde(default)]
    mail: Option<RawMail>,
    #[serde(default)]
    commissioning_units: BTreeMap<String, RawUnit>,
    /// Named operations databases besides `[source]` (e.g. billing, the contract system).
    #[serde(default)]
    sources: BTreeMap<String, RawUrl>,
    /// Dataset → named source; unlisted datasets come from `[source]`.
    #[serde(default)]
    datasets: BTreeMap<String, String>,
    /// Running by itself: `run due` and `serve`.
    #[serde(default)]
    schedule: Option<RawSchedule>,
}

#[derive(Debug, Default, Deserialize)]
struct RawSchedule {
    jobs_dir: Option<String>,
    look_back_months: Option<u32>,
    first_period: Option<String>,
    lease_seconds: Option<u64>,
    retry_attempts: Option<u32>,
    retry_backoff_seconds: Option<u64>,
    grace_seconds: Option<u64>,
    #[serde(default)]
    alert_recipients: Vec<String>,
    heartbeat_url: Option<String>,
    heartbeat_fail_url: Option<String>,
}

/// How the pipeline runs by itself (`[schedule]`).
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// The job definitions (`jobs/*.toml`); the shipped ones when the folder does not exist.
    pub jobs_dir: PathBuf,
    /// How far back `run due` looks for periods that were never done.
    pub look_back_months: u32,
    /// Nothing before this month is ever due (the month the deployment started).
    pub first_period: Option<crate::domain::period::Month>,
    /// How long a run's claim on its period lasts without a heartbeat (SQLite store).
    pub lease: std::time::Duration,
    /// Attempts at a job period whose failure is transient (a server unreachable).
    pub retry_attempts: u32,
    /// The first wait between attempts; it doubles each time.
    pub retry_backoff: std::time::Duration,
    /// How long `serve` lets a running job finish after SIGTERM.
    pub grace: std::time::Duration,
    /// Who hears of a job period that failed for good.
    pub alert_recipients: Vec<String>,
    /// Pinged after every `run due` (dead man's switch); the fail URL when something failed.
    pub heartbeat_url: Option<Secret>,
    pub heartbeat_fail_url: Option<Secret>,
}

impl RawSchedule {
    fn validate(self, base: Option<&Path>, problems: &mut Vec<String>) -> ScheduleSettings {
        let mut bounded = |key: &str, value: Option<u64>, default: u64, range: std::ops::RangeInclusive<u64>| {
            let v = value.unwrap_or(default);
            if !range.contains(&v) {
                problems.push(format!("schedule.{key} must be between {} and {}, not {v}", range.start(), range.end()));
            }
            v.clamp(*range.start(), *range.end())
        };
        let look_back_months = bounded("look_back_months", self.look_back_months.map(u64::from), 13, 1..=120) as u32;
        let lease = bounded("lease_seconds", self.lease_seconds, 120, 6..=86_400);
        let retry_attempts = bounded("retry_attempts", self.retry_attempts.map(u64::from), 3, 1..=20) as u32;
        let backoff = bounded("retry_backoff_seconds", self.retry_backoff_seconds, 60, 0..=3600);
        let grace = bounded("grace_seconds", self.grace_seconds, 600, 0..=86_400);
        let first_period = self.first_period.as_deref().and_then(|m| match m.parse() {
            Ok(m) => Some(m),
            Err(e) => {
                problems.push(format!("schedule.first_period: {e}"));
                None
            }
        });
        for address in self.alert_recipients.iter().filter(|a| !plausible_address(a)) {
            problems.push(format!("schedule.alert_recipients: not an e-mail address: {address:?}"));
        }
        for (key, url) in [("heartbeat_url", &self.heartbeat_url), ("heartbeat_fail_url", &self.heartbeat_fail_url)] {
            if let Some(url) = url.as_deref().filter(|u| !u.starts_with("http://") && !u.starts_with("https://")) {
                problems.push(format!("schedule.{key}: not an http(s) URL: {}", redact_url(url)));
            }
        }
        let heartbeat_fail_url = self
            .heartbeat_fail_url
            .or_else(|| self.heartbeat_url.as_ref().map(|u| format!("{}/fail", u.trim_end_matches('/'))));
        ScheduleSettings {
            // Unset: `jobs/` of the working directory (the installation); set: beside the config file.
            jobs_dir: self.jobs_dir.map_or_else(|| PathBuf::from("jobs"), |d| resolve(base, &d)),
            look_back_months,
            first_period,
            lease: std::time::Duration::from_secs(lease),
            retry_attempts,
            retry_backoff: std::time::Duration::from_secs(backoff),
            grace: std::time::Duration::from_secs(grace),
            alert_recipients: self.alert_recipients,
            heartbeat_url: self.heartbeat_url.map(Secret::new),
            heartbeat_fail_url: heartbeat_fail_url.map(Secret::new),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawUnit {
    addresses: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawUrl {
    url: String,
    /// Connections the pool may open (default 4 for the store, 2 for a source).
    #[serde(default)]
    max_connections: Option<u32>,
    /// How long to wait for a connection before giving up with exit 69 (default 30 s).
    #[serde(default)]
    acquire_timeout_seconds: Option<u64>,
}

impl RawUrl {
    fn pool(&self, what: &str, default_connections: u32, problems: &mut Vec<String>) -> PoolSettings {
        let max_connections = self.max_connections.unwrap_or(default_connections);
        if !(1..=64).contains(&max_connections) {
            problems.push(format!("{what}.max_connections must be between 1 and 64, not {max_connections}"));
        }
        let seconds = self.acquire_timeout_seconds.unwrap_or(30);
        if !(1..=3600).contains(&seconds) {
            problems.push(format!("{what}.acquire_timeout_seconds must be between 1 and 3600, not {seconds}"));
        }
        PoolSettings {
            max_connections: max_connections.clamp(1, 64),
            acquire_timeout: std::time::Duration::from_secs(seconds.clamp(1, 3600)),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawOutput {
    dir: String,
    #[serde(default = "default_locale")]
    locale: String,
}

fn default_locale() -> String {
    "zh-CN".into()
}

#[derive(Debug, Deserialize)]
struct RawRulesRef {
    path: Option<String>,
    calendar: Option<String>,
    /// Warn this many days before the calendar's last covered year ends (default 60).
    #[serde(default)]
    calendar_warning_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RawDepartment {
    managers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawMail {
    smtp_url: Option<String>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
    from: Option<String>,
    #[serde(default)]
    leadership: Vec<String>,
}

/// Where to read from and what to override; built by the CLI.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    pub config: Option<PathBuf>,
    pub rules: Option<PathBuf>,
}

/// Environment overrides, read once at the edge (interface.md).
#[derive(Debug, Default, Clone)]
pub struct Environment {
    pub config: Option<String>,
    pub source_url: Option<String>,
    pub store_url: Option<String>,
    pub output_dir: Option<String>,
    pub smtp_url: Option<String>,
}

impl Environment {
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            config: var("ICT_PARTNERS_CONFIG"),
            source_url: var("ICT_PARTNERS_SOURCE_URL"),
            store_url: var("ICT_PARTNERS_STORE_URL"),
            output_dir: var("ICT_PARTNERS_OUTPUT_DIR"),
            smtp_url: var("ICT_PARTNERS_SMTP_URL"),
        }
    }
}

/// Reads and validates everything; `Err(AppError::Config)` lists every problem found.
pub fn load(options: &LoadOptions, env: &Environment) -> Result<Settings, AppError> {
    let mut problems = Vec::new();
    let mut origins = Vec::new();
    let explicit = options.config.clone().or_else(|| env.config.clone().map(PathBuf::from));
    let (app_text, base) = match &explicit {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => {
                origins.push(format!("config: {}", path.display()));
                (text, path.parent().map(Path::to_path_buf))
            }
            Err(e) => return Err(AppError::Config(vec![format!("cannot read {}: {e}", path.display())])),
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
    let app: Option<RawApp> = parse_toml("config", &app_text, &mut problems);

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
        DEFAULT_RULES,
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
    let calendar_years = calendar_text.as_deref().and_then(|t| parse_calendar(t, &mut problems));
    let rules =
        rules_text.as_deref().and_then(|t| compile_rules(t, calendar_years.clone().unwrap_or_default(), &mut problems));

    let Some(app) = app else {
        return Err(AppError::Config(problems));
    };
    let mut departments = BTreeMap::new();
    for (name, dept) in app.departments {
        for address in &dept.managers {
            if !plausible_address(address) {
                problems.push(format!("departments.{name}.managers: not an e-mail address: {address:?}"));
            }
        }
        departments.insert(name, dept.managers);
    }
    let mut commissioning_units = BTreeMap::new();
    for (name, unit) in app.commissioning_units {
        for address in unit.addresses.iter().filter(|a| !plausible_address(a)) {
            problems.push(format!("commissioning_units.{name}.addresses: not an e-mail address: {address:?}"));
        }
        commissioning_units.insert(name, unit.addresses);
    }
    let mail = app.mail.unwrap_or(RawMail { smtp_url: None, timeout_seconds: None, from: None, leadership: vec![] });
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
    for (dataset, source) in &app.datasets {
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
    let jobs = crate::schedule::load(&schedule.jobs_dir).unwrap_or_else(|job_problems| {
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
        return Err(AppError::Config(problems));
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
        commissioning_units,
        named_sources,
        dataset_sources: app.datasets,
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

/// Parses TOML keeping fractional literals exact: every float is handed to serde as its source
/// text (`1.2` stays `1.2`, never a binary float), and unknown keys are collected as problems.
fn parse_toml<T: for<'de> Deserialize<'de>>(what: &str, text: &str, problems: &mut Vec<String>) -> Option<T> {
    let mut doc: toml_edit::DocumentMut = match text.parse() {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!("{what}: {e}"));
            return None;
        }
    };
    floats_to_literals(doc.as_item_mut());
    let mut unknown = Vec::new();
    let deserializer = toml_edit::de::Deserializer::from(doc);
    let parsed = serde_ignored::deserialize(deserializer, |path| unknown.push(path.to_string()));
    for key in unknown {
        problems.push(format!("{what}: unknown key `{key}`"));
    }
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("{what}: {}", e.to_string().trim()));
            None
        }
    }
}

fn floats_to_literals(item: &mut toml_edit::Item) {
    match item {
        toml_edit::Item::Value(v) => value_floats_to_literals(v),
        toml_edit::Item::Table(t) => t.iter_mut().for_each(|(_, i)| floats_to_literals(i)),
        toml_edit::Item::ArrayOfTables(a) => {
            a.iter_mut().for_each(|t| t.iter_mut().for_each(|(_, i)| floats_to_literals(i)))
        }
        toml_edit::Item::None => {}
    }
}

fn value_floats_to_literals(value: &mut toml_edit::Value) {
    match value {
        toml_edit::Value::Float(f) => {
            let literal = f.display_repr().replace('_', "");
            *value = toml_edit::Value::from(literal);
        }
        toml_edit::Value::Array(a) => a.iter_mut().for_each(value_floats_to_literals),
        toml_edit::Value::InlineTable(t) => t.iter_mut().for_each(|(_, v)| value_floats_to_literals(v)),
        _ => {}
    }
}

#[derive(Debug, Deserialize)]
struct RawCalendarFile {
    years: BTreeMap<String, RawCalendarYear>,
}

#[derive(Debug, Deserialize)]
struct RawCalendarYear {
    holidays: Vec<String>,
    working_weekends: Vec<String>,
}

fn parse_calendar(text: &str, problems: &mut Vec<String>) -> Option<BTreeMap<i32, CalendarYear>> {
    let before = problems.len();
    let raw: RawCalendarFile = parse_toml("calendar", text, problems)?;
    let mut years = BTreeMap::new();
    for (key, raw_year) in raw.years {
        let Ok(year) = key.parse::<i32>() else {
            problems.push(format!("calendar: years.{key} is not a year"));
            continue;
        };
        let mut parsed = CalendarYear::default();
        for (list, weekend_expected, target) in
            [("holidays", false, &raw_year.holidays), ("working_weekends", true, &raw_year.working_weekends)]
        {
            for s in target {
                let Some(day) = crate::domain::period::parse_date(s) else {
                    problems.push(format!("calendar: years.{key}.{list}: not a date: {s:?}"));
                    continue;
                };
                if chrono::Datelike::year(&day) != year {
                    problems.push(format!("calendar: years.{key}.{list}: {s} is not in {year}"));
                }
                let weekend = matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun);
                if weekend != weekend_expected {
                    let why = if weekend_expected {
                        "working_weekends lists the Saturdays and Sundays worked (调休)"
                    } else {
                        "holidays lists the weekdays off"
                    };
                    problems.push(format!(
                        "calendar: years.{key}.{list}: {s} is a {}, likely a typo ({why})",
                        day.format("%A")
                    ));
                }
                if weekend_expected {
                    parsed.working_weekends.insert(day);
                } else {
                    parsed.holidays.insert(day);
                }
            }
        }
        years.insert(year, parsed);
    }
    if years.is_empty() {
        problems.push("calendar: no year has data".into());
    }
    (problems.len() == before).then_some(years)
}

#[derive(Debug, Deserialize)]
struct RawRules {
    #[serde(default)]
    effective_from: Option<String>,
    timezone: String,
    grades: RawGrades,
    flags: RawFlags,
    calendar: RawCalendarRules,
    sla: RawSla,
    indicators: Vec<RawIndicator>,
    credit: RawCredit,
    presales: RawPresales,
    renewal: RawRenewal,
    exit: RawExit,
    blacklist: RawBlacklist,
    tiers: RawTiers,
}

#[derive(Debug, Deserialize)]
struct RawGrades {
    a_min: Decimal,
    b_min: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawFlags {
    c_grade_window_months: u32,
    c_grade_threshold: u32,
}
#[derive(Debug, Deserialize)]
struct RawCalendarRules {
    working_windows: Vec<(String, String)>,
}
#[derive(Debug, Deserialize)]
struct RawSla {
    classes: BTreeMap<String, RawSlaClass>,
}
#[derive(Debug, Deserialize)]
struct RawSlaClass {
    limit_hours: Decimal,
    clock: String,
}
#[derive(Debug, Deserialize)]
struct RawIndicator {
    id: String,
    kind: String,
    source: Option<String>,
    weight: Decimal,
    target_pct: Option<Decimal>,
    points_per_pct: Option<Decimal>,
    penalties: Option<BTreeMap<String, Decimal>>,
}
#[derive(Debug, Deserialize)]
struct RawCredit {
    class_one_deduction: Decimal,
    class_two_min: Decimal,
    class_two_max: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawPresales {
    mixed_settles_as: String,
    fees: BTreeMap<String, BTreeMap<String, Decimal>>,
    coefficients: RawCoefficients,
}
#[derive(Debug, Deserialize)]
struct RawCoefficients {
    won_by_supporter: Decimal,
    not_implemented_other_cause: Decimal,
    not_implemented_supporter_cause: Decimal,
    won_other_implementer: Vec<RawBand>,
}
#[derive(Debug, Deserialize)]
struct RawBand {
    below: Option<Decimal>,
    coefficient: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawRenewal {
    notice_months: i32,
}
#[derive(Debug, Deserialize)]
struct RawExit {
    aftersales_notice_months: i32,
    presales_notice_months: i32,
}
#[derive(Debug, Deserialize)]
struct RawBlacklist {
    ban_years: i32,
}
#[derive(Debug, Deserialize)]
struct RawTiers {
    a: RawTier,
    b: RawTier,
    c: RawTierC,
    complaint_credit_deduction: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawTier {
    credit_min: Decimal,
    revenue_min: Decimal,
}
#[derive(Debug, Deserialize)]
struct RawTierC {
    credit_min: Decimal,
}

const PENALTY_KEYS: [&str; 7] = [
    "critical_outage",
    "dispatch_violation",
    "false_info",
    "complaint_miit",
    "complaint_group",
    "complaint_account_manager",
    "complaint_escalation_step",
];

/// Compiles the rules text into `Rules`, pushing every semantic problem found.
pub fn compile_rules(text: &str, years: BTreeMap<i32, CalendarYear>, problems: &mut Vec<String>) -> Option<Rules> {
    // Unknown keys found while parsing count as problems of this file too.
    let before = problems.len();
    let raw: RawRules = parse_toml("rules", text, problems)?;
    let mut p = |s: String| problems.push(format!("rules: {s}"));

    let effective_from = match raw.effective_from.as_deref().map(str::parse::<crate::domain::period::Month>) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            p(format!("effective_from: {e}"));
            None
        }
    };
    let timezone: Option<chrono_tz::Tz> = raw.timezone.parse().ok();
    if timezone.is_none() {
        p(format!("timezone {:?} is not an IANA time zone", raw.timezone));
    }
    if raw.grades.a_min <= raw.grades.b_min {
        p(format!(
            "grades: a_min ({}) must be above b_min ({}) so the bands do not overlap",
            raw.grades.a_min, raw.grades.b_min
        ));
    }
    if raw.grades.b_min < Decimal::ZERO || raw.grades.a_min > Decimal::ONE_HUNDRED {
        p("grades: thresholds must lie within 0..100".into());
    }
    if raw.flags.c_grade_window_months == 0 || raw.flags.c_grade_threshold == 0 {
        p("flags: c_grade_window_months and c_grade_threshold must be at least 1".into());
    }

    let mut windows = Vec::new();
    for (start, end) in &raw.calendar.working_windows {
        let parse = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
        match (parse(start), parse(end)) {
            (Some(a), Some(b)) if a < b => windows.push((a, b)),
            (Some(_), Some(_)) => p(format!("calendar.working_windows: {start}–{end} ends before it starts")),
            _ => p(format!("calendar.working_windows: {start:?}–{end:?} is not HH:MM–HH:MM")),
        }
    }
    if windows.is_empty() {
        p("calendar.working_windows: at least one window is needed".into());
    }
    if windows.windows(2).any(|w| w[0].1 > w[1].0) {
        p("calendar.working_windows: windows must ascend without overlapping".into());
    }

    let mut sla_classes = BTreeMap::new();
    for (name, class) in &raw.sla.classes {
        let clock = match class.clock.as_str() {
            "natural" => Some(ClockKind::Natural),
            "working" => Some(ClockKind::Working),
            other => {
                p(format!("sla.classes.{name}.clock must be \"natural\" or \"working\", not {other:?}"));
                None
            }
        };
        if class.limit_hours <= Decimal::ZERO {
            p(format!("sla.classes.{name}.limit_hours must be positive"));
            continue;
        }
        // limit_hours × 3600 rounded up to a whole second (rules.md §1).
        let seconds = (class.limit_hours * Decimal::from(3600)).ceil();
        if let (Some(clock), Ok(limit_seconds)) = (clock, i64::try_from(seconds)) {
            sla_classes.insert(name.clone(), SlaClass { limit_seconds, clock });
        }
    }
    if sla_classes.is_empty() && raw.sla.classes.is_empty() {
        p("sla.classes: at least one class is needed".into());
    }

    let mut indicators = Vec::new();
    let mut total_weight = Decimal::ZERO;
    for ind in &raw.indicators {
        let id = &ind.id;
        if indicators.iter().any(|i: &Indicator| &i.id == id) {
            p(format!("indicators: id {id:?} appears twice"));
        }
        if ind.weight < Decimal::ZERO {
            p(format!("indicators.{id}.weight must not be negative"));
        }
        total_weight += ind.weight;
        let kind = match (ind.kind.as_str(), ind.source.as_deref()) {
            ("rate", source) => {
                let source = match source {
                    Some("tickets") => Some(RateSource::Tickets),
                    Some("orders") => Some(RateSource::Orders),
                    other => {
                        p(format!("indicators.{id}: a rate needs source \"tickets\" or \"orders\", not {other:?}"));
                        None
                    }
                };
                match (source, ind.target_pct, ind.points_per_pct) {
                    (Some(source), Some(target_pct), Some(points_per_pct)) => {
                        if !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&target_pct)
                            || points_per_pct < Decimal::ZERO
                        {
                            p(format!("indicators.{id}: target_pct must lie in 0..100 and points_per_pct must not be negative"));
                        }
                        Some(IndicatorKind::Rate { source, target_pct, points_per_pct })
                    }
                    (_, t, ppp) => {
                        if t.is_none() || ppp.is_none() {
                            p(format!("indicators.{id}: a rate needs target_pct and points_per_pct"));
                        }
                        None
                    }
                }
            }
            ("penalty", _) => match &ind.penalties {
                Some(map) => {
                    for key in map.keys().filter(|k| !PENALTY_KEYS.contains(&k.as_str())) {
                        p(format!("indicators.{id}.penalties: unknown penalty {key:?}"));
                    }
                    for (key, value) in map.iter().filter(|(_, v)| **v < Decimal::ZERO) {
                        p(format!("indicators.{id}.penalties.{key} must not be negative ({value})"));
                    }
                    let missing: Vec<_> = PENALTY_KEYS.iter().filter(|k| !map.contains_key(**k)).collect();
                    if !missing.is_empty() {
                        p(format!("indicators.{id}.penalties: missing {missing:?}"));
                    }
                    let get = |k: &str| map.get(k).copied().unwrap_or_default();
                    Some(IndicatorKind::Penalty(Penalties {
                        critical_outage: get("critical_outage"),
                        dispatch_violation: get("dispatch_violation"),
                        false_info: get("false_info"),
                        complaint_miit: get("complaint_miit"),
                        complaint_group: get("complaint_group"),
                        complaint_account_manager: get("complaint_account_manager"),
                        complaint_escalation_step: get("complaint_escalation_step"),
                    }))
                }
                None => {
                    p(format!("indicators.{id}: a penalty indicator needs [indicators.penalties]"));
                    None
                }
            },
            ("average", Some("surveys") | None) => Some(IndicatorKind::Average),
            ("average", Some(other)) => {
                p(format!("indicators.{id}: an average reads source \"surveys\", not {other:?}"));
                None
            }
            ("manual", _) => Some(IndicatorKind::Manual),
            (other, _) => {
                p(format!("indicators.{id}: unknown kind {other:?} (rate, penalty, average, manual)"));
                None
            }
        };
        if let Some(kind) = kind {
            indicators.push(Indicator { id: id.clone(), weight: ind.weight, kind });
        }
    }
    if total_weight != Decimal::ONE_HUNDRED {
        p(format!("indicators: weights add up to {total_weight}, not 100"));
    }

    let c = &raw.credit;
    if c.class_two_min > c.class_two_max || c.class_two_min < Decimal::ZERO || c.class_one_deduction < Decimal::ZERO {
        p("credit: need 0 <= class_two_min <= class_two_max and a non-negative class_one_deduction".into());
    }

    let mixed = match raw.presales.mixed_settles_as.as_str() {
        "higher" => MixedSettlesAs::Higher,
        "lower" => MixedSettlesAs::Lower,
        other => {
            p(format!("presales.mixed_settles_as must be \"higher\" or \"lower\", not {other:?}"));
            MixedSettlesAs::Higher
        }
    };
    let mut fees = BTreeMap::new();
    for class in ["A1", "A2", "B", "C"] {
        if !raw.presales.fees.contains_key(class) {
            p(format!("presales.fees: class {class} is missing"));
        }
    }
    for (class, map) in &raw.presales.fees {
        for key in map.keys().filter(|k| !matches!(k.as_str(), "dedicated_line" | "integrated")) {
            p(format!("presales.fees.{class}: unknown fee type {key:?}"));
        }
        match (map.get("dedicated_line"), map.get("integrated")) {
            (Some(&d), Some(&i)) if d >= Decimal::ZERO && i >= Decimal::ZERO => {
                fees.insert(class.clone(), ClassFees { dedicated_line: d, integrated: i });
            }
            (Some(_), Some(_)) => p(format!("presales.fees.{class}: fees must not be negative")),
            _ => p(format!("presales.fees.{class}: needs both dedicated_line and integrated")),
        }
    }
    let co = &raw.presales.coefficients;
    let bands: Vec<CoefficientBand> = co
        .won_other_implementer
        .iter()
        .map(|b| CoefficientBand { below: b.below, coefficient: b.coefficient })
        .collect();
    match bands.split_last() {
        None => p("presales.coefficients.won_other_implementer: at least one band is needed".into()),
        Some((last, rest)) => {
            if last.below.is_some() {
                p("presales.coefficients.won_other_implementer: the last band must be open (no `below`)".into());
            }
            if rest.iter().any(|b| b.below.is_none()) {
                p("presales.coefficients.won_other_implementer: only the last band may be open".into());
            }
            let bounds: Vec<Decimal> = rest.iter().filter_map(|b| b.below).collect();
            if bounds.windows(2).any(|w| w[0] >= w[1]) {
                p("presales.coefficients.won_other_implementer: bands must ascend".into());
            }
        }
    }
    if bands.iter().any(|b| b.coefficient < Decimal::ZERO)
        || [co.won_by_supporter, co.not_implemented_other_cause, co.not_implemented_supporter_cause]
            .iter()
            .any(|c| *c < Decimal::ZERO)
    {
        p("presales.coefficients: coefficients must not be negative".into());
    }
    for (what, months) in [
        ("renewal.notice_months", raw.renewal.notice_months),
        ("exit.aftersales_notice_months", raw.exit.aftersales_notice_months),
        ("exit.presales_notice_months", raw.exit.presales_notice_months),
        ("blacklist.ban_years", raw.blacklist.ban_years),
    ] {
        if !(0..=120).contains(&months) {
            p(format!("{what} must lie in 0..120"));
        }
    }
    let t = &raw.tiers;
    if !(t.a.credit_min >= t.b.credit_min && t.b.credit_min >= t.c.credit_min) || t.a.revenue_min < t.b.revenue_min {
        p("tiers: thresholds must descend from a to c".into());
    }

    if problems.len() != before {
        return None;
    }
    Some(Rules {
        timezone: timezone?,
        grades: GradeThresholds { a_min: raw.grades.a_min, b_min: raw.grades.b_min },
        flags: FlagRules {
            c_grade_window_months: raw.flags.c_grade_window_months,
            c_grade_threshold: raw.flags.c_grade_threshold,
        },
        calendar: WorkCalendar::new(years, windows),
        sla_classes,
        indicators,
        credit: CreditRules {
            class_one_deduction: c.class_one_deduction,
            class_two_min: c.class_two_min,
            class_two_max: c.class_two_max,
        },
        presales: PresalesRules {
            mixed_settles_as: mixed,
            fees,
            won_by_supporter: co.won_by_supporter,
            not_implemented_other_cause: co.not_implemented_other_cause,
            not_implemented_supporter_cause: co.not_implemented_supporter_cause,
            won_other_implementer: bands,
        },
        renewal_notice_months: raw.renewal.notice_months,
        exit: ExitRules {
            aftersales_notice_months: raw.exit.aftersales_notice_months,
            presales_notice_months: raw.exit.presales_notice_months,
        },
        ban_years: raw.blacklist.ban_years,
        tiers: TierRules {
            a_credit_min: t.a.credit_min,
            a_revenue_min: t.a.revenue_min,
            b_credit_min: t.b.credit_min,
            b_revenue_min: t.b.revenue_min,
            c_credit_min: t.c.credit_min,
            complaint_credit_deduction: t.complaint_credit_deduction,
        },
        hash: hex_sha256(text),
        effective_from,
        text: text.to_string(),
    })
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The shipped rules and calendar, compiled (tests, examples and the demo rely on them).
pub fn builtin_rules() -> Rules {
    let mut problems = Vec::new();
    let years = parse_calendar(DEFAULT_CALENDAR, &mut problems).expect("shipped calendar is valid");
    compile_rules(DEFAULT_RULES, years, &mut problems).expect("shipped rules are valid")
}

/// Years between the earliest covered year and `through` that have no calendar data.
pub fn missing_calendar_years(calendar: &WorkCalendar, through: i32) -> Vec<i32> {
    let Some(first) = calendar.covered_years().min() else { return vec![through] };
    (first..=through).filter(|y| !calendar.covers(*y)).collect()
}

/// Parses a `YYYY-MM-DD` date for the CLI.
pub fn parse_cli_date(s: &str) -> Result<NaiveDate, String> {
    use chrono::Datelike;
    crate::domain::period::parse_date(s)
        .filter(|d| (1900..=9999).contains(&d.year()))
        .ok_or_else(|| format!("not a date between 1900-01-01 and 9999-12-31 (YYYY-MM-DD): {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn compile(text: &str) -> Result<Rules, Vec<String>> {
        let mut problems = Vec::new();
        let years = parse_calendar(DEFAULT_CALENDAR, &mut problems).unwrap();
        compile_rules(text, years, &mut problems).ok_or(problems)
    }

    #[test]
    fn shipped_files_are_valid_and_exact() {
        let rules = compile(DEFAULT_RULES).expect("default rules compile");
        assert_eq!(rules.indicators.len(), 5);
        let IndicatorKind::Penalty(p) = &rules.indicator("service_quality").unwrap().kind else { panic!() };
        assert_eq!(p.critical_outage, dec!(2.5));
        assert_eq!(p.false_info, dec!(0.5));
        assert_eq!(rules.presales.won_other_implementer[1].coefficient, dec!(1.2));
        assert_eq!(rules.sla_classes["standard"].limit_seconds, 15 * 3600);
        assert!(rules.calendar.covers(2025) && rules.calendar.covers(2026));
        let mut problems = Vec::new();
        let _: RawApp = parse_toml("config", DEFAULT_APP, &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn quoted_fractions_read_the_same_as_literals() {
        let text = DEFAULT_RULES.replace("coefficient = 1.2", "coefficient = \"1.2\"");
        assert_eq!(compile(&text).unwrap().presales.won_other_implementer[1].coefficient, dec!(1.2));
    }

    #[test]
    fn fractional_limit_hours_round_up_to_whole_seconds() {
        let text = DEFAULT_RULES.replace("AAA = { limit_hours = 4,", "AAA = { limit_hours = 0.0001,");
        assert_eq!(compile(&text).unwrap().sla_classes["AAA"].limit_seconds, 1);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = DEFAULT_RULES
            .replace("weight = 30", "weight = 31")
            .replace("a_min = 90", "a_min = 70")
            .replace("clock = \"natural\" }", "clock = \"lunar\" }")
            .replace("{ coefficient = 1.5 },", "{ below = 9000000, coefficient = 1.5 },")
            .replace("kind = \"manual\"", "kind = \"magic\"\nsurprise = 1");
        let problems = compile(&text).unwrap_err();
        let all = problems.join("\n");
        for needle in
            ["weights add up", "a_min", "lunar", "must be open", "unknown kind", "unknown key `indicators.4.surprise`"]
        {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    /// Broken rules files, each with the problem it must name (a missing key, a wrong type, a
    /// negative weight, bands out of order, an unknown kind…): reported, never a panic.
    const BROKEN_RULES: [(&str, &str, &str); 16] = [
        ("weight = 30", "weight = -30", "must not be negative"),
        ("weight = 30", "weight = \"thirty\"", "rules:"),
        ("a_min = 90", "", "missing field `a_min`"),
        ("kind = \"average\"", "kind = \"median\"", "unknown kind"),
        ("{ below = 5000000, coefficient = 1.2 },", "{ below = 500000, coefficient = 1.2 },", "bands must ascend"),
        ("{ coefficient = 1.5 },", "", "must be open"),
        ("AAA = { limit_hours = 4,", "AAA = { limit_hours = 0,", "must be positive"),
        ("timezone = \"Asia/Shanghai\"", "timezone = \"Mars/Olympus\"", "IANA"),
        ("[\"13:30\", \"18:00\"]", "[\"11:30\", \"18:00\"]", "without overlapping"),
        ("[\"09:00\", \"12:00\"]", "[\"9h\", \"12:00\"]", "HH:MM"),
        ("B = { dedicated_line = 1500, integrated = 3000 }", "B = { dedicated_line = 1500 }", "needs both"),
        ("mixed_settles_as = \"higher\"", "mixed_settles_as = \"middle\"", "higher"),
        ("class_two_max = 10", "class_two_max = 0", "class_two_min <= class_two_max"),
        ("c_grade_threshold = 2", "c_grade_threshold = 0", "at least 1"),
        ("notice_months = 3", "notice_months = 3\nsurplus = true", "unknown key `renewal.surplus`"),
        ("[grades]", "[grades", "rules:"),
    ];

    #[test]
    fn broken_rules_files_name_their_problem() {
        for (from, to, needle) in BROKEN_RULES {
            assert!(DEFAULT_RULES.contains(from), "case does not apply: {from}");
            let problems = compile(&DEFAULT_RULES.replacen(from, to, 1)).expect_err(needle);
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle:?} not in {problems:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]
        /// Any line deleted or replaced by junk: either valid rules or a list of problems.
        #[test]
        fn mangled_rules_never_panic(line in 0usize..120, junk in "[ -~]{0,12}", delete in proptest::bool::ANY) {
            let mut lines: Vec<String> = DEFAULT_RULES.lines().map(str::to_string).collect();
            let at = line % lines.len();
            if delete { lines.remove(at); } else { lines[at] = junk; }
            match compile(&lines.join("\n")) {
                Ok(rules) => proptest::prop_assert_eq!(rules.indicators.iter().map(|i| i.weight).sum::<Decimal>(), Decimal::ONE_HUNDRED),
                Err(problems) => proptest::prop_assert!(!problems.is_empty()),
            }
        }
    }

    #[test]
    fn calendar_checks_each_date() {
        let mut problems = Vec::new();
        let text = "[years.2026]\nholidays = [\"2026-02-14\", \"2025-01-01\"]\nworking_weekends = [\"2026-03-02\"]\n";
        assert!(parse_calendar(text, &mut problems).is_none());
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Secret::new("smtp://user:hunter2@mail.example.cn:587");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
