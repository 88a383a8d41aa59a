//! The quarterly job: settle the presales projects ready by the quarter's end, once across
//! quarters; one 结算确认表 per (partner, commissioning unit), mailed to both.

use super::mailing::letters_to;
use super::{JobSteps, Outputs, Run};
use crate::domain::inputs::{values, PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS};
use crate::domain::job::Job;
use crate::domain::period::Quarter;
use crate::domain::presales::{settle, QuarterResult, Status};
use crate::files::safe_name;
use crate::mail::AttachedFile;
use crate::report::forms::Form;
use crate::report::{csv, forms};
use crate::sources::{Sources, Window};
use crate::store::outbox::OutboxMessage;
use polars::prelude::DataFrame;
use std::collections::{BTreeMap, HashMap, HashSet};

pub(super) struct Quarterly(pub(super) Quarter);

pub(super) struct Input {
    partners: DataFrame,
    projects: DataFrame,
    supports: DataFrame,
    /// Projects settled (or found not payable) in another quarter.
    elsewhere: HashSet<String>,
}

pub(super) struct Output {
    result: QuarterResult,
    partners: DataFrame,
}

impl JobSteps for Quarterly {
    type Input = Input;
    type Output = Output;

    fn job(&self) -> Job {
        Job::Quarterly(self.0)
    }

    fn approved_results(&self) -> bool {
        true
    }

    async fn extract(&self, run: &Run<'_>, sources: &Sources) -> anyhow::Result<Input> {
        let quarter = self.0;
        let window = Window::between(quarter.first_month().start(), quarter.last_month().end());
        let mut f = sources.fetch_all(&[PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS], &window).await?;
        let elsewhere = run.store.presales_settled_elsewhere(quarter).await?;
        Ok(Input {
            partners: f.take(PARTNERS),
            projects: f.take(PRESALES_PROJECTS),
            supports: super::records::overlay_supports(run.cx, run.store, f.take(PRESALES_SUPPORTS)).await?,
            elsewhere,
        })
    }

    fn compute(&self, run: &Run<'_>, input: Input) -> anyhow::Result<Output> {
        let result = settle(self.0, &input.projects, &input.supports, &run.rules.presales, &input.elsewhere);
        Ok(Output { result, partners: input.partners })
    }

    async fn store(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<()> {
        let stamp = run.stamp();
        run.store.save_quarter(&output.result, &run.rules.hash, &stamp, run.run_id.as_deref()).await?;
        Ok(())
    }

    fn report(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<Outputs> {
        let (quarter, result, partners) = (self.0, &output.result, &output.partners);
        let names = values(partners, "partner_id")
            .zip(values(partners, "name"))
            .filter_map(|(id, name)| Some((id?.to_string(), name.unwrap_or("").to_string())))
            .collect();
        // One 结算确认表 per (partner, commissioning unit): a sheet of the workbook and a printable page.
        let forms = forms::forms(result, &names, run.options.preview);
        let mut files = vec![
            ("presales.csv".to_string(), csv::presales(result)),
            ("confirmation_forms.xlsx".to_string(), forms::workbook(quarter, &forms)?),
        ];
        let mut per_partner: HashMap<&str, usize> = HashMap::new();
        for form in &forms {
            let k = per_partner.entry(&form.partner_id).or_default();
            *k += 1;
            let name = format!("forms/{}-{k:02}.html", safe_name(&form.partner_id));
            files.push((name, forms::html(form)?.into_bytes()));
        }
        // Each commissioning unit gets its forms, each partner its own (谁委托、谁付费).
        let emails: HashMap<&str, &str> = values(partners, "partner_id")
            .zip(values(partners, "contact_email"))
            .filter_map(|(p, e)| Some((p?, e?)))
            .collect();
        let messages = if run.options.stores() { form_messages(run, quarter, &forms, &emails)? } else { vec![] };
        let count = |s| result.rows.iter().filter(|r| r.status == s).count();
        let total: rust_decimal::Decimal = result.rows.iter().filter_map(|r| r.share.as_ref()).map(|s| s.amount).sum();
        let line = format!(
            "quarterly {quarter}: {} shares settled ({} CNY, {} confirmation forms), {} projects held, {} not payable",
            count(Status::Settled),
            crate::domain::money::fmt2(total),
            forms.len(),
            count(Status::Held),
            count(Status::NotPayable)
        );
        Ok(Outputs { files, messages, lines: vec![line] })
    }
}

/// A form as an attachment: an ASCII name for every client, the Chinese one for those that read it.
struct FormFile<'a> {
    form: &'a Form,
    ascii: String,
    name: String,
    html: Vec<u8>,
}

fn form_messages(
    run: &Run<'_>,
    quarter: Quarter,
    forms: &[Form],
    partner_emails: &HashMap<&str, &str>,
) -> anyhow::Result<Vec<OutboxMessage>> {
    let label = forms.first().map(|f| f.quarter.clone()).unwrap_or_else(|| quarter.to_string());
    let mut counters: HashMap<&str, usize> = HashMap::new();
    let mut files = Vec::new();
    for form in forms {
        let k = counters.entry(&form.partner_id).or_default();
        *k += 1;
        files.push(FormFile {
            form,
            ascii: format!("form-{}-{k:02}.html", safe_name(&form.partner_id)),
            name: format!("结算确认表-{}-{}.html", form.partner_name, form.unit),
            html: forms::html(form)?.into_bytes(),
        });
    }
    let period = quarter.to_string();
    let mut by_unit: BTreeMap<&str, Vec<&FormFile>> = BTreeMap::new();
    let mut by_partner: BTreeMap<&str, Vec<&FormFile>> = BTreeMap::new();
    for f in &files {
        by_unit.entry(&f.form.unit).or_default().push(f);
        by_partner.entry(&f.form.partner_id).or_default().push(f);
    }
    let mut out = Vec::new();
    let mut push = |kind: String, title: String, recipients: Vec<String>, group: &[&FormFile]| -> anyhow::Result<()> {
        let group_forms: Vec<&Form> = group.iter().map(|f| f.form).collect();
        let letter = forms::letter(&title, &label, &group_forms)?;
        let attached: Vec<AttachedFile> = group
            .iter()
            .map(|f| AttachedFile {
                ascii_name: &f.ascii,
                name: &f.name,
                content_type: "text/html; charset=utf-8",
                bytes: &f.html,
            })
            .collect();
        out.extend(letters_to(run.cx, "quarterly", &period, &kind, &recipients, &letter, &attached));
        Ok(())
    };
    for (unit, group) in &by_unit {
        let recipients = run.settings().commissioning_units.get(*unit).cloned().unwrap_or_default();
        let title =
            crate::report::templates::label(run.locale(), "subject_forms", &[("quarter", &label), ("to", unit)]);
        push(format!("forms_unit:{unit}"), title, recipients, group)?;
    }
    for (partner, group) in &by_partner {
        let recipients: Vec<String> = partner_emails.get(partner).map(|e| vec![e.to_string()]).unwrap_or_default();
        let to = group[0].form.partner_name.as_str();
        let title = crate::report::templates::label(run.locale(), "subject_forms", &[("quarter", &label), ("to", to)]);
        push(format!("forms_partner:{partner}"), title, recipients, group)?;
    }
    Ok(out)
}
