//! The monthly job: extract the month, assess every partner, store the month in one transaction,
//! write its CSVs, pages, charts and workbook, and mail the departments and leadership.

use super::mailing::letters_to;
use super::{JobSteps, Outputs, Run};
use crate::domain::job::Job;
use crate::domain::job::JobKind;
use crate::domain::money::fmt2;
use crate::domain::monthly::{assess, GradeHistory, IndicatorResult, MonthInput, MonthResult, PartnerResult};
use crate::domain::period::Month;
use crate::domain::renewal::MonthlyScore;
use crate::domain::rules::Grade;
use crate::mail::AttachedFile;
use crate::report::monthly::{Report, ReportInput};
use crate::report::{self, csv};
use crate::sources::Sources;
use crate::store::outbox::OutboxMessage;
use anyhow::Context as _;
use std::collections::BTreeSet;

pub(super) struct Monthly(pub(super) Month);

pub(super) struct Input {
    month: MonthInput,
    /// Partners of units approved or published: a rerun keeps their stored results.
    keep: BTreeSet<String>,
    kept: (Vec<PartnerResult>, Vec<IndicatorResult>),
    /// Units approved or published.
    frozen: BTreeSet<String>,
    grades: GradeHistory,
    /// The twelve months before, for trends and changes.
    history: Vec<MonthlyScore>,
    /// What is stored for this month (a dry run compares with it).
    stored: Vec<MonthlyScore>,
}

pub(super) struct Output {
    result: MonthResult,
    keep: BTreeSet<String>,
    frozen: BTreeSet<String>,
    history: Vec<MonthlyScore>,
    what_if: Vec<String>,
}

impl JobSteps for Monthly {
    type Input = Input;
    type Output = Output;

    fn job(&self) -> Job {
        Job::Monthly(self.0)
    }

    async fn extract(&self, run: &Run<'_>, sources: &Sources) -> anyhow::Result<Input> {
        let month = self.0;
        let mut input = sources.month_input(month).await?;
        // A preview assesses a month not over: what is not yet past its deadline counts nowhere.
        input.as_of = run.options.preview.then_some(run.now);
        super::records::overlay_month(run.cx, run.store, &mut input).await?;
        tracing::info!(tickets = input.tickets.len(), orders = input.orders.accepted.len(), "extracted");
        let grades = run.store.grade_history(month, run.rules.flags.c_grade_window_months).await?;
        let history = run.store.stored_months(month.plus(-12), month.prev()).await?;
        let stored = if run.options.dry_run { run.store.stored_months(month, month).await? } else { vec![] };
        // What units have decided stays as it is (rules.md §12): their partners' stored results.
        let (keep, frozen) = if run.options.stores() { frozen_partners(run, month).await? } else { Default::default() };
        let kept = run.store.stored_results(month, &keep).await?;
        Ok(Input { month: input, keep, kept, frozen, grades, history, stored })
    }

    fn compute(&self, run: &Run<'_>, input: Input) -> anyhow::Result<Output> {
        let mut result = assess(input.month, &run.rules, &input.grades).context("assessing the month")?;
        if !input.frozen.is_empty() {
            // What a unit approved stays as it was: its partners' stored results, and no partner
            // it has not seen (one new to an approved department waits for its reopening).
            let (partners, indicators) = input.kept;
            let frozen = &input.frozen;
            let held: BTreeSet<String> = result
                .partners
                .iter()
                .filter(|p| !input.keep.contains(&p.partner_id) && p.departments.iter().any(|d| frozen.contains(d)))
                .map(|p| p.partner_id.clone())
                .collect();
            if !held.is_empty() {
                tracing::info!(partners = %held.iter().cloned().collect::<Vec<_>>().join(","), "new to approved units: held");
            }
            result.partners.retain(|p| !input.keep.contains(&p.partner_id) && !held.contains(&p.partner_id));
            result.indicators.retain(|i| !held.contains(&i.partner_id));
            result.partners.extend(partners);
            result.partners.sort_by(|a, b| a.partner_id.cmp(&b.partner_id));
            result.indicators.retain(|i| !input.keep.contains(&i.partner_id));
            result.indicators.extend(indicators);
            result.indicators.sort_by(|a, b| (&a.partner_id, &a.indicator).cmp(&(&b.partner_id, &b.indicator)));
        }
        // Months before the deployment's first period never had results to miss (the log and
        // the pages say so only of the months that could have).
        let first = run.settings().schedule.first_period;
        result.missing_history_months.retain(|m| first.is_none_or(|f| *m >= f));
        if !result.missing_history_months.is_empty() {
            let list: Vec<String> = result.missing_history_months.iter().map(ToString::to_string).collect();
            tracing::warn!(
                missing = list.len(),
                months = %list.join(","),
                "the C-grade window has months with no stored results; two_c_grades counts only the stored ones"
            );
        }
        // A dry run is a what-if: how each partner would differ from what is stored for the month.
        let what_if = if run.options.dry_run { what_if(run.locale(), &result, &input.stored) } else { vec![] };
        let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count();
        let flagged = result.partners.iter().filter(|p| !p.flags.is_empty()).count();
        tracing::info!(
            partners = result.partners.len(),
            on_hold,
            flagged,
            quarantined = result.data_quality.len(),
            "assessed"
        );
        Ok(Output { result, keep: input.keep, frozen: input.frozen, history: input.history, what_if })
    }

    async fn store(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<()> {
        let stamp = run.stamp();
        run.store.save_month(&output.result, &output.keep, &run.rules.hash, &stamp, run.run_id.as_deref()).await?;
        Ok(())
    }

    fn report(&self, run: &Run<'_>, output: &Output) -> anyhow::Result<Outputs> {
        let (month, result) = (self.0, &output.result);
        let settings = run.settings();
        let units: BTreeSet<String> = result.partners.iter().flat_map(|p| p.departments.iter().cloned()).collect();
        let drafts: BTreeSet<String> = units.difference(&output.frozen).cloned().collect();
        let input = ReportInput {
            result,
            history: &output.history,
            departments: &settings.departments,
            grades: run.rules.grades,
            locale: run.locale(),
            preview: run.options.preview,
            period_over: month.last_day() < run.now.date(),
            drafts: &drafts,
        };
        let reports = report::monthly::reports(&input)?;
        let workbook = report::monthly::workbook(result, run.locale(), !drafts.is_empty())?;
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("scores.csv".into(), csv::scores(result)),
            ("indicators.csv".into(), csv::indicators(result)),
            ("data_quality.csv".into(), csv::data_quality(result)),
            ("assessment.xlsx".into(), workbook.clone()),
        ];
        // An approved unit's page stays as it was: only the drafts' pages (and the summary) are written.
        let written: Vec<&Report> =
            reports.iter().filter(|r| r.department.as_ref().is_none_or(|d| drafts.contains(d))).collect();
        for r in &written {
            let name = match &r.department {
                Some(d) => report::monthly::department_file(d),
                None => "summary.html".into(),
            };
            files.push((name, r.html_file.clone().into_bytes()));
            files.extend(r.images.iter().map(|(stem, png)| (format!("{stem}.png"), png.clone())));
        }
        let messages = if run.options.stores() { messages(run, month, &written, &workbook) } else { vec![] };
        let on_hold = result.partners.iter().filter(|p| p.assessment.is_none()).count();
        let flagged = result.partners.iter().filter(|p| !p.flags.is_empty()).count();
        let mut lines = vec![report::templates::label(
            run.locale(),
            "summary_monthly",
            &[
                ("month", &month.to_string()),
                ("count", &result.partners.len().to_string()),
                ("on_hold", &on_hold.to_string()),
                ("flagged", &flagged.to_string()),
                ("quarantined", &result.data_quality.len().to_string()),
            ],
        )];
        if let (Some(first), Some(last)) = (result.missing_history_months.first(), result.missing_history_months.last())
        {
            let (count, first, last) =
                (result.missing_history_months.len().to_string(), first.to_string(), last.to_string());
            let args = [("count", count.as_str()), ("first", first.as_str()), ("last", last.as_str())];
            lines.push(report::templates::label(run.locale(), "summary_missing_months", &args));
        }
        lines.extend(output.what_if.iter().cloned());
        Ok(Outputs { files, messages, lines })
    }
}

/// The partners of a stored month whose units are approved or published, and those units.
async fn frozen_partners(run: &Run<'_>, month: Month) -> anyhow::Result<(BTreeSet<String>, BTreeSet<String>)> {
    let period = month.to_string();
    if run.store.computed(JobKind::Monthly, &period).await?.is_none() {
        return Ok(Default::default());
    }
    let membership = run.store.membership(JobKind::Monthly, &period).await?;
    let status = run.store.unit_statuses(JobKind::Monthly, &period, &membership).await?;
    let frozen = status.iter().filter(|(_, s)| s.frozen()).map(|(u, _)| u.clone()).collect();
    Ok((membership.frozen_items(&status), frozen))
}

/// One message per recipient and report of a unit still a draft: each department's managers get
/// their page, leadership the summary, each marked as a draft and keyed by its content's version
/// (a changed draft goes again, an unchanged rerun sends nothing); every message carries the
/// month's workbook.
fn messages(run: &Run<'_>, month: Month, reports: &[&Report], workbook: &[u8]) -> Vec<OutboxMessage> {
    let settings = run.settings();
    let ascii = format!("ict-partners-{month}.xlsx");
    let name = format!("{}-{month}.xlsx", report::templates::label(run.locale(), "workbook", &[]));
    let xlsx = AttachedFile {
        ascii_name: &ascii,
        name: &name,
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes: workbook,
    };
    let period = month.to_string();
    reports
        .iter()
        .flat_map(|r| {
            let recipients: &[String] = match &r.department {
                Some(d) => settings.departments.get(d).map_or(&[], Vec::as_slice),
                None => &settings.leadership,
            };
            let kind = format!("{}:v{}", r.kind, report::short_hash(&r.text));
            letters_to(run.cx, "monthly", &period, &kind, recipients, &r.letter(), std::slice::from_ref(&xlsx))
        })
        .collect()
}

/// Per partner whose score, grade or settlement would change: stored → computed.
fn what_if(locale: &str, result: &MonthResult, stored: &[MonthlyScore]) -> Vec<String> {
    let l = |key: &str, args: &[(&str, &str)]| report::templates::label(locale, key, args);
    if stored.is_empty() {
        return vec![l("whatif_nothing", &[])];
    }
    let show = |s: Option<rust_decimal::Decimal>| s.map(fmt2).unwrap_or_else(|| "—".into());
    let grade = |g: Option<Grade>| g.map_or("—", |g| g.as_str());
    let mut lines = Vec::new();
    let mut grade_changes = 0;
    for p in &result.partners {
        let old = stored.iter().find(|s| s.partner_id == p.partner_id);
        let (os, og, oset) = (old.and_then(|o| o.score), old.and_then(|o| o.grade), old.and_then(|o| o.settlement));
        let a = p.assessment.as_ref();
        let (ns, ng, nset) = (a.map(|a| a.score), a.map(|a| a.grade), a.map(|a| a.settlement));
        if (os, og, oset) != (ns, ng, nset) {
            grade_changes += usize::from(og != ng);
            lines.push(l(
                "whatif_line",
                &[
                    ("partner", &p.partner_id),
                    ("score_before", &show(os)),
                    ("score_after", &show(ns)),
                    ("grade_before", grade(og)),
                    ("grade_after", grade(ng)),
                    ("pay_before", &show(oset)),
                    ("pay_after", &show(nset)),
                ],
            ));
        }
    }
    let mut out =
        vec![l("whatif_head", &[("count", &lines.len().to_string()), ("grades", &grade_changes.to_string())])];
    out.extend(lines);
    out
}
