//! Job definitions (`jobs/*.toml`): when each job fires (cron, in the rules' time zone), which
//! period a firing covers and who hears of it. Read and validated here with the rest of the
//! configuration; what the schedules mean is computed (purely) in `schedule`.

use serde::Deserialize;
use std::str::FromStr;

/// Which period a firing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Covers {
    PreviousMonth,
    PreviousQuarter,
    Day,
    PreviousYear,
}

/// A validated job definition.
#[derive(Debug, Clone)]
pub(crate) struct JobDef {
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) schedule: cron::Schedule,
    pub(crate) covers: Covers,
    /// Who gets the job's overview each period (its summary lines with its CSV files attached),
    /// besides the recipients the configuration names; and who hears when a period of it fails.
    pub(crate) recipients: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    enabled: bool,
    schedule: String,
    covers: Covers,
    #[serde(default)]
    recipients: Vec<String>,
}

/// Parses one job file; problems are pushed, every one.
pub(crate) fn parse(name: &str, text: &str, problems: &mut Vec<String>) -> Option<JobDef> {
    let raw: RawJob = match toml_edit::de::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("jobs/{name}.toml: {}", e.to_string().trim()));
            return None;
        }
    };
    let expected = match name {
        "monthly" => Some(Covers::PreviousMonth),
        "quarterly" => Some(Covers::PreviousQuarter),
        "renewal" => Some(Covers::Day),
        "annual" => Some(Covers::PreviousYear),
        _ => None,
    };
    match expected {
        None => problems.push(format!("jobs/{name}.toml: no such job (monthly, quarterly, renewal, annual)")),
        Some(c) if c != raw.covers => problems.push(format!("jobs/{name}.toml: covers must be {c:?} for this job")),
        Some(_) => {}
    }
    for address in raw.recipients.iter().filter(|a| !super::plausible_address(a)) {
        problems.push(format!("jobs/{name}.toml: recipients: not an e-mail address: {address:?}"));
    }
    match cron::Schedule::from_str(&raw.schedule) {
        Ok(schedule) => Some(JobDef {
            name: name.to_string(),
            enabled: raw.enabled,
            schedule,
            covers: raw.covers,
            recipients: raw.recipients,
        }),
        Err(e) => {
            problems.push(format!("jobs/{name}.toml: schedule {:?} is not a cron expression: {e}", raw.schedule));
            None
        }
    }
}

pub(crate) const SHIPPED: [(&str, &str); 4] = [
    ("monthly", include_str!("../../jobs/monthly.toml")),
    ("quarterly", include_str!("../../jobs/quarterly.toml")),
    ("renewal", include_str!("../../jobs/renewal.toml")),
    ("annual", include_str!("../../jobs/annual.toml")),
];

/// Loads the four job files from `dir` (the shipped copies when there is no such folder).
pub(crate) fn load(dir: &std::path::Path) -> Result<Vec<JobDef>, Vec<String>> {
    let mut problems = Vec::new();
    let mut defs = Vec::new();
    for (name, shipped) in SHIPPED {
        let text = if dir.is_dir() {
            match std::fs::read_to_string(dir.join(format!("{name}.toml"))) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("jobs/{name}.toml: {e}"));
                    continue;
                }
            }
        } else {
            shipped.to_string()
        };
        defs.extend(parse(name, &text, &mut problems));
    }
    if problems.is_empty() {
        Ok(defs)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_job_files_name_every_problem() {
        let mut problems = Vec::new();
        assert!(
            parse("monthly", "enabled = true\nschedule = \"every day\"\ncovers = \"day\"\n", &mut problems).is_none()
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        let mut problems = Vec::new();
        assert!(parse(
            "weekly",
            "enabled = true\nschedule = \"0 0 2 3 * *\"\ncovers = \"day\"\nextra = 1\n",
            &mut problems
        )
        .is_none());
        assert!(problems[0].contains("extra"), "{problems:?}");
    }
}
