//! The quarterly job: settle presales projects ready by the quarter's end, once across quarters.

use super::{stamp, write_outputs, Job, RunOptions, RunSummary};
use crate::domain::inputs::{values, PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS};
use crate::domain::period::Quarter;
use crate::domain::presales::{settle, Status};
use crate::mail::AttachedFile;
use crate::report::forms::Form;
use crate::report::{csv, forms, period_dir};
use crate::settings::Settings;
use crate::sources::{Sources, Window};
use crate::store::OutboxMessage;
use crate::store::Store;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, HashMap};

pub async fn run(
    settings: &Settings,
    quarter: Quarter,
    options: RunOptions,
    now: NaiveDateTime,
) -> anyhow::Result<RunSummary> {
    let source = Sources::connect(settings).await?;
    let window = Window::between(quarter.first_month().start(), quarter.last_month().end());
    let mut f = source.fetch_all(&[PARTNERS, PRESALES_PROJECTS, PRESALES_SUPPORTS], &window).await?;
    source.close().await;
    let (partners, projects, supports) = (f.take(PARTNERS), f.take(PRESALES_PROJECTS), f.take(PRESALES_SUPPORTS));
    let names = values(&partners, "partner_id")
        .zip(values(&partners, "name"))
        .filter_map(|(id, name)| Some((id?.to_string(), name.unwrap_or("").to_string())))
        .collect();
    let store = Store::open(settings).await?;
    if options.stores() {
        // An approved period is frozen: recomputing it needs an explicit, recorded reopen.
        store.ensure_open("quarterly", &quarter.to_string()).await?;
    }
    let elsewhere = store.presales_settled_elsewhere(quarter).await?;
    let result = settle(quarter, &projects, &supports, &settings.rules.presales, &elsewhere);
    if options.stores() {
        store.save_quarter(&result, &settings.rules.hash, &stamp(now)).await?;
    }
    let dir =
        options.output_dir(period_dir(&settings.output_dir, "quarterly", &quarter.to_string()), &settings.rules.hash);
    // One 结算确认表 per (partner, commissioning unit): a sheet of the workbook and a printable page.
    let forms = forms::forms(&result, &names, options.preview);
    let mut files = vec![
        ("presales.csv".to_string(), csv::presales(&result)),
        ("confirmation_forms.xlsx".to_string(), forms::workbook(quarter, &forms)?),
    ];
    let mut per_partner: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for form in &forms {
        let k = per_partner.entry(&form.partner_id).or_default();
        *k += 1;
        let name = format!("forms/{}-{k:02}.html", forms::safe_name(&form.partner_id));
        files.push((name, forms::html(form)?.into_bytes()));
    }
    write_outputs(&dir, &files)?;

    // Each commissioning unit gets its forms, each partner its own (谁委托、谁付费).
    let emails: HashMap<&str, &str> = values(&partners, "partner_id")
        .zip(values(&partners, "contact_email"))
        .filter_map(|(p, e)| Some((p?, e?)))
        .collect();
    let outgoing = if options.stores() { form_messages(settings, quarter, &forms, &emails)? } else { vec![] };
    let mail_line = super::send_and_close(settings, store, &outgoing, options, now).await?;
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
    Ok(RunSummary {
        job: Job::Quarterly(quarter),
        output_dir: dir,
        lines: std::iter::once(line).chain(mail_line).collect(),
    })
}

/// A form as an attachment: an ASCII name for every client, the Chinese one for those that read it.
struct FormFile<'a> {
    form: &'a Form,
    ascii: String,
    name: String,
    html: Vec<u8>,
}

fn form_messages(
    settings: &Settings,
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
            ascii: format!("form-{}-{k:02}.html", forms::safe_name(&form.partner_id)),
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
        out.extend(super::letters_to(settings, "quarterly", &period, &kind, &recipients, &letter, &attached));
        Ok(())
    };
    for (unit, group) in &by_unit {
        let recipients = settings.commissioning_units.get(*unit).cloned().unwrap_or_default();
        push(format!("forms_unit:{unit}"), format!("【售前支撑费用结算确认】{label} {unit}"), recipients, group)?;
    }
    for (partner, group) in &by_partner {
        let recipients: Vec<String> = partner_emails.get(partner).map(|e| vec![e.to_string()]).unwrap_or_default();
        let title = format!("【售前支撑费用结算确认】{label} {}", group[0].form.partner_name);
        push(format!("forms_partner:{partner}"), title, recipients, group)?;
    }
    Ok(out)
}
