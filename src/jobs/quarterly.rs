//! The quarterly job: settle the presales projects ready by the quarter's end, once across
//! quarters; one 结算确认表 per (partner, commissioning unit). Computing sends nothing: the forms
//! go to the partners and commissioning units when each unit publishes (rules.md §12), and the
//! rows of units that approved stay as they were on a rerun.

use super::{JobSteps, Outputs, Run};
use crate::domain::inputs::{values, PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS};
use crate::domain::job::{Job, JobKind};
use crate::domain::period::Quarter;
use crate::domain::presales::{settle, PresalesRow, QuarterResult, Status};
use crate::files::safe_name;
use crate::report::{csv, forms};
use crate::sources::{Sources, Window};
use polars::prelude::DataFrame;
use std::collections::{BTreeSet, HashSet};

pub(super) struct Quarterly(pub(super) Quarter);

pub(super) struct Input {
    partners: DataFrame,
    projects: DataFrame,
    supports: DataFrame,
    /// Projects settled (or found not payable) in another quarter.
    elsewhere: HashSet<String>,
    /// Commissioning units approved or published, and their stored rows (kept on a rerun).
    frozen: BTreeSet<String>,
    kept: Vec<PresalesRow>,
}

pub(super) struct Output {
    result: QuarterResult,
    frozen: BTreeSet<String>,
    partners: DataFrame,
}

impl JobSteps for Quarterly {
    type Input = Input;
    type Output = Output;

    fn job(&self) -> Job {
        Job::Quarterly(self.0)
    }

    async fn extract(&self, run: &Run<'_>, sources: &Sources) -> anyhow::Result<Input> {
        let quarter = self.0;
        let window = Window::between(quarter.first_month().start(), quarter.last_month().end());
        let mut f = sources.fetch_all(&[PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS], &window).await?;
        let elsewhere = run.store.presales_settled_elsewhere(quarter).await?;
        let period = quarter.to_string();
        let (frozen, kept) = if run.options.stores() && run.store.computed(JobKind::Quarterly, &period).await?.is_some()
        {
            let membership = run.store.membership(JobKind::Quarterly, &period).await?;
            let status = run.store.unit_statuses(JobKind::Quarterly, &period, &membership).await?;
            let frozen: BTreeSet<String> = status.iter().filter(|(_, s)| s.frozen()).map(|(u, _)| u.clone()).collect();
            let mut kept = run.store.quarter_result(quarter).await?.rows;
            kept.retain(|r| frozen.contains(&r.commissioning_unit));
            (frozen, kept)
        } else {
            Default::default()
        };
        Ok(Input {
            partners: f.take(PARTNERS),
            projects: f.take(PRESALES_PROJECTS),
            supports: super::records::overlay_supports(run.cx, run.store, f.take(PRESALES_SUPPORTS)).await?,
            elsewhere,
            frozen,
            kept,
        })
    }

    fn compute(&self, run: &Run<'_>, input: Input) -> anyhow::Result<Output> {
        let mut result = settle(self.0, &input.projects, &input.supports, &run.rules.presales, &input.elsewhere);
        if !input.frozen.is_empty() {
            result.rows.retain(|r| !input.frozen.contains(&r.commissioning_unit));
            result.rows.extend(input.kept);
            let key = |r: &PresalesRow| (r.project_id.clone(), r.share.as_ref().map(|s| s.partner_id.clone()));
            result.rows.sort_by_key(key);
        }
        Ok(Output { result, frozen: input.frozen, partners: input.partners })
    }

    async fn store(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<()> {
        let stamp = run.stamp();
        run.store.save_quarter(&output.result, &output.frozen, &run.rules.hash, &stamp, run.run_id.as_deref()).await?;
        Ok(())
    }

    fn report(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<Outputs> {
        let (quarter, result, partners) = (self.0, &output.result, &output.partners);
        let names = values(partners, "partner_id")
            .zip(values(partners, "name"))
            .filter_map(|(id, name)| Some((id?.to_string(), name.unwrap_or("").to_string())))
            .collect();
        // One 结算确认表 per (partner, commissioning unit): a sheet of the workbook and a printable page.
        // Nothing to sign for ¥0.00: those partners' units read 本季度无应结算金额 in their letter.
        let forms: Vec<_> =
            forms::forms(result, &names, run.options.preview).into_iter().filter(|f| f.payable).collect();
        let mut files = vec![
            ("presales.csv".to_string(), csv::presales(result)),
            ("confirmation_forms.xlsx".to_string(), forms::workbook(quarter, &forms)?),
        ];
        for form in &forms {
            // Named by partner and unit: a rerun writes a kept unit's form under the same name.
            let name = format!("forms/{}-{}.html", safe_name(&form.partner_id), crate::report::short_hash(&form.unit));
            files.push((name, forms::html(form)?.into_bytes()));
        }
        // Nothing is mailed now: each unit's forms go out when the unit publishes them.
        let count = |s| result.rows.iter().filter(|r| r.status == s).count();
        let total: rust_decimal::Decimal = result.rows.iter().filter_map(|r| r.share.as_ref()).map(|s| s.amount).sum();
        let line = crate::report::templates::label(
            run.locale(),
            "summary_quarterly",
            &[
                ("quarter", &quarter.to_string()),
                ("settled", &count(Status::Settled).to_string()),
                ("total", &crate::domain::money::fmt2(total)),
                ("forms", &forms.len().to_string()),
                ("held", &count(Status::Held).to_string()),
                ("not_payable", &count(Status::NotPayable).to_string()),
            ],
        );
        Ok(Outputs { files, messages: vec![], lines: vec![line] })
    }
}
