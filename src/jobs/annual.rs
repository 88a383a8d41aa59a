//! The annual job: annual grade, credit points, revenue and tier per partner (第二十四条), from the
//! stored months and quarters of the year. Once the year is over its results are stored, each
//! partner with the departments of its assessed months, which approve and publish it (rules.md
//! §12); a rerun keeps the partners of departments that decided.

use super::{JobSteps, Outputs, Run};
use crate::domain::annual::{annual, AnnualInput, AnnualRow};
use crate::domain::inputs::*;
use crate::domain::job::{Job, JobKind};
use crate::domain::period::Month;
use crate::domain::records::RecordKind;
use crate::domain::renewal::MonthlyScore;
use crate::report::{csv, lifecycle};
use crate::sources::{Sources, Window};
use polars::prelude::DataFrame;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(super) struct Annual(pub(super) i32);

pub(super) struct Input {
    partners: DataFrame,
    violations: DataFrame,
    complaints: DataFrame,
    blacklist: DataFrame,
    monthly: Vec<MonthlyScore>,
    presales_revenue: HashMap<String, Decimal>,
    departments: BTreeMap<String, BTreeSet<String>>,
    keep: BTreeSet<String>,
    kept: Vec<AnnualRow>,
    /// Departments approved or published: a partner new to one waits for its reopening.
    frozen: BTreeSet<String>,
}

pub(super) struct Output {
    rows: Vec<AnnualRow>,
    departments: BTreeMap<String, BTreeSet<String>>,
    keep: BTreeSet<String>,
}

impl Annual {
    fn months(&self) -> anyhow::Result<(Month, Month)> {
        let bad = || crate::exit::UsageError(format!("not a year: {}", self.0));
        Ok((Month::new(self.0, 1).ok_or_else(bad)?, Month::new(self.0, 12).ok_or_else(bad)?))
    }
}

impl JobSteps for Annual {
    type Input = Input;
    type Output = Output;

    fn job(&self) -> Job {
        Job::Annual(self.0)
    }

    fn preview_into_period(&self) -> bool {
        true
    }

    async fn extract(&self, run: &Run<'_>, sources: &Sources) -> anyhow::Result<Input> {
        let (first, last) = self.months()?;
        let window = Window::between(first.start(), last.end());
        let mut f = sources.fetch_all(&[PARTNERS, VIOLATIONS, COMPLAINTS, BLACKLIST], &window).await?;
        let period = self.0.to_string();
        let (keep, kept, frozen) = if run.options.stores()
            && run.store.computed(JobKind::Annual, &period).await?.is_some()
        {
            let membership = run.store.membership(JobKind::Annual, &period).await?;
            let status = run.store.unit_statuses(JobKind::Annual, &period, &membership).await?;
            let frozen: BTreeSet<String> = status.iter().filter(|(_, s)| s.frozen()).map(|(u, _)| u.clone()).collect();
            let keep = membership.frozen_items(&status);
            let kept =
                run.store.annual_rows(self.0).await?.into_iter().filter(|r| keep.contains(&r.partner_id)).collect();
            (keep, kept, frozen)
        } else {
            Default::default()
        };
        Ok(Input {
            partners: f.take(PARTNERS),
            violations: match super::records::entered_violations(run.cx, run.store).await? {
                Some(entered) => entered,
                None => f.take(VIOLATIONS),
            },
            complaints: f.take(COMPLAINTS),
            blacklist: super::records::entered_or(run.cx, run.store, RecordKind::Blacklist, f.take(BLACKLIST)).await?,
            monthly: run.store.stored_months(first, last).await?,
            presales_revenue: run.store.presales_revenue(self.0).await?,
            departments: run.store.year_departments(self.0).await?,
            keep,
            kept,
            frozen,
        })
    }

    fn compute(&self, run: &Run<'_>, i: Input) -> anyhow::Result<Output> {
        let input = AnnualInput {
            year: self.0,
            partners: &i.partners,
            violations: &i.violations,
            complaints: &i.complaints,
            blacklist: &i.blacklist,
            monthly: &i.monthly,
            presales_revenue: &i.presales_revenue,
        };
        let mut rows = annual(&input, &run.rules);
        if !i.frozen.is_empty() {
            let new_to_frozen = |id: &str| {
                !i.keep.contains(id) && i.departments.get(id).is_some_and(|ds| ds.iter().any(|d| i.frozen.contains(d)))
            };
            rows.retain(|r| !i.keep.contains(&r.partner_id) && !new_to_frozen(&r.partner_id));
            rows.extend(i.kept);
            rows.sort_by(|a, b| a.partner_id.cmp(&b.partner_id));
        }
        Ok(Output { rows, departments: i.departments, keep: i.keep })
    }

    async fn store(&self, run: &Run<'_>, o: &Output) -> anyhow::Result<()> {
        let stamp = run.stamp();
        let (rows, departments, keep) = (&o.rows, &o.departments, &o.keep);
        run.store.save_year(self.0, rows, departments, keep, (&run.rules.hash, &stamp), run.run_id.as_deref()).await?;
        Ok(())
    }

    fn report(&self, run: &Run<'_>, o: &Output) -> anyhow::Result<Outputs> {
        let (year, rows) = (self.0, &o.rows);
        let report = lifecycle::annual_report(year, rows, run.options.preview)?;
        let files =
            vec![("annual.csv".to_string(), csv::annual(rows)), ("annual.html".to_string(), report.into_bytes())];
        let tiers = |t| rows.iter().filter(|r| r.tier == t).count();
        let line = crate::report::templates::label(
            run.locale(),
            "summary_annual",
            &[
                ("year", &year.to_string()),
                ("count", &rows.len().to_string()),
                ("a", &tiers('A').to_string()),
                ("b", &tiers('B').to_string()),
                ("c", &tiers('C').to_string()),
                ("d", &tiers('D').to_string()),
            ],
        );
        Ok(Outputs { files, messages: vec![], lines: vec![line] })
    }
}
