//! The annual job: annual grade, credit points, revenue and tier per partner (第二十四条). It keeps
//! nothing in the store: everything comes from the stored months and quarters of the year.

use super::{JobSteps, Outputs, Run};
use crate::domain::annual::{annual, AnnualInput, AnnualRow};
use crate::domain::inputs::*;
use crate::domain::job::Job;
use crate::domain::period::Month;
use crate::domain::renewal::MonthlyScore;
use crate::report::{csv, lifecycle};
use crate::sources::{Sources, Window};
use polars::prelude::DataFrame;
use rust_decimal::Decimal;
use std::collections::HashMap;

pub(super) struct Annual(pub(super) i32);

pub(super) struct Input {
    partners: DataFrame,
    violations: DataFrame,
    complaints: DataFrame,
    blacklist: DataFrame,
    monthly: Vec<MonthlyScore>,
    presales_revenue: HashMap<String, Decimal>,
}

impl Annual {
    fn months(&self) -> anyhow::Result<(Month, Month)> {
        let bad = || crate::exit::UsageError(format!("not a year: {}", self.0));
        Ok((Month::new(self.0, 1).ok_or_else(bad)?, Month::new(self.0, 12).ok_or_else(bad)?))
    }
}

impl JobSteps for Annual {
    type Input = Input;
    type Output = Vec<AnnualRow>;

    fn job(&self) -> Job {
        Job::Annual(self.0)
    }

    fn stores_results(&self) -> bool {
        false
    }

    async fn extract(&self, run: &Run<'_>, sources: &Sources) -> anyhow::Result<Input> {
        let (first, last) = self.months()?;
        let window = Window::between(first.start(), last.end());
        let mut f = sources.fetch_all(&[PARTNERS, VIOLATIONS, COMPLAINTS, BLACKLIST], &window).await?;
        Ok(Input {
            partners: f.take(PARTNERS),
            violations: match super::records::entered_violations(run.cx, run.store).await? {
                Some(entered) => entered,
                None => f.take(VIOLATIONS),
            },
            complaints: f.take(COMPLAINTS),
            blacklist: f.take(BLACKLIST),
            monthly: run.store.stored_months(first, last).await?,
            presales_revenue: run.store.presales_revenue(self.0).await?,
        })
    }

    fn compute(&self, run: &Run<'_>, i: Input) -> anyhow::Result<Vec<AnnualRow>> {
        let input = AnnualInput {
            year: self.0,
            partners: &i.partners,
            violations: &i.violations,
            complaints: &i.complaints,
            blacklist: &i.blacklist,
            monthly: &i.monthly,
            presales_revenue: &i.presales_revenue,
        };
        Ok(annual(&input, &run.rules))
    }

    async fn store(&self, _run: &Run<'_>, _rows: &Vec<AnnualRow>) -> anyhow::Result<()> {
        Ok(())
    }

    fn report(&self, run: &Run<'_>, rows: &Vec<AnnualRow>) -> anyhow::Result<Outputs> {
        let year = self.0;
        let report = lifecycle::annual_report(year, rows, run.options.preview)?;
        let files =
            vec![("annual.csv".to_string(), csv::annual(rows)), ("annual.html".to_string(), report.into_bytes())];
        let tiers = |t| rows.iter().filter(|r| r.tier == t).count();
        let line = format!(
            "annual {year}: {} partners, tiers A {} / B {} / C {} / D {}",
            rows.len(),
            tiers('A'),
            tiers('B'),
            tiers('C'),
            tiers('D')
        );
        Ok(Outputs { files, messages: vec![], lines: vec![line] })
    }
}
