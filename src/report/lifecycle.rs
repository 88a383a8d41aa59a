//! Human reports of the lifecycle jobs, in Chinese: the renewal notice for a contract owner, the
//! renewal list for a managing department, and the annual tiers report. Pure: rows in, HTML out.

use super::templates::render;
use crate::domain::annual::AnnualRow;
use crate::domain::money::fmt2;
use crate::domain::renewal::{Breach, ExitRow, Notice, RenewalRow};
use crate::domain::rules::Grade;
use minijinja::context;
use serde::Serialize;
use std::collections::HashMap;

fn reason_words(code: &str) -> &str {
    match code {
        "grade_c" => "合同期考核等级为C",
        "blacklisted" => "列入不良信用记录名单（禁入期内）",
        "no_assessment_history" => "合同期内无考核记录",
        other => other,
    }
}

fn kind_words(kind: &str) -> &str {
    match kind {
        "aftersales" => "售后运维",
        "presales" => "售前支撑",
        "contract" => "合同",
        "presales_support" => "售前支撑项目",
        other => other,
    }
}

fn exit_words(kind: &str) -> &str {
    match kind {
        "voluntary" => "主动退出",
        "breach" => "违约退出",
        "assessment" => "考核退出",
        "qualification_change" => "资质变化",
        "blacklist" => "列入不良名单",
        other => other,
    }
}

fn reasons(r: &RenewalRow) -> String {
    r.reasons.iter().map(|c| reason_words(c)).collect::<Vec<_>>().join("；")
}

fn grade(g: Option<Grade>) -> String {
    g.map(|g| g.as_str().to_string()).unwrap_or_default()
}

/// The notice a contract owner receives once: the decision asked, the evidence, the deadline.
pub(crate) fn renewal_notice(
    row: &RenewalRow,
    partner_name: &str,
    as_of: chrono::NaiveDate,
) -> Result<String, minijinja::Error> {
    render(
        "renewal_notice.html",
        context! {
            r => context! {
                contract_id => row.contract_id, partner_id => row.partner_id, end_date => row.end_date.to_string(),
                department => row.department, months_assessed => row.months_assessed,
                class_one_violations => row.class_one_violations, blacklisted => row.blacklisted, eligible => row.eligible,
            },
            partner_name, kind => kind_words(&row.kind), as_of => as_of.to_string(),
            average => row.average_score.map(fmt2), grade => row.term_grade.map(|g| g.as_str()),
            c_grades => row.c_grades, reasons => reasons(row),
        },
    )
}

#[derive(Serialize)]
struct ListRow {
    contract_id: String,
    partner_name: String,
    kind: String,
    end_date: String,
    months_assessed: u32,
    average: String,
    grade: String,
    c_grades: String,
    class_one: u32,
    blacklisted: &'static str,
    eligible: bool,
    reasons: String,
    notice: &'static str,
}

/// The list a managing department receives, with exits and ban breaches of its partners.
pub(crate) fn renewal_list(
    department: &str,
    as_of: chrono::NaiveDate,
    rows: &[&(RenewalRow, Notice)],
    exits: &[&ExitRow],
    breaches: &[&Breach],
    names: &HashMap<String, String>,
) -> Result<String, minijinja::Error> {
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let list: Vec<ListRow> = rows
        .iter()
        .map(|(r, notice)| ListRow {
            contract_id: r.contract_id.clone(),
            partner_name: name(&r.partner_id),
            kind: kind_words(&r.kind).into(),
            end_date: r.end_date.to_string(),
            months_assessed: r.months_assessed,
            average: r.average_score.map(fmt2).unwrap_or_default(),
            grade: grade(r.term_grade),
            c_grades: r.c_grades.map(|c| c.to_string()).unwrap_or_default(),
            class_one: r.class_one_violations,
            blacklisted: if r.blacklisted { "是" } else { "否" },
            eligible: r.eligible,
            reasons: reasons(r),
            notice: match notice {
                Notice::Sent => "本次已通知合同负责人",
                Notice::AlreadySent => "此前已通知",
            },
        })
        .collect();
    let exits: Vec<_> = exits
        .iter()
        .map(|e| {
            context! {
                request_id => e.request_id, partner_name => name(&e.partner_id), contract_id => e.contract_id,
                exit_type => exit_words(&e.exit_type), requested_on => e.requested_on.to_string(),
                planned_exit_on => e.planned_exit_on.to_string(),
                notice_ok => match e.notice_ok { Some(true) => "满足", Some(false) => "不足", None => "—" },
                open_tickets => e.open_tickets, held => e.held_presales_projects,
            }
        })
        .collect();
    let breaches: Vec<_> = breaches
        .iter()
        .map(|b| context! { partner_name => name(&b.partner_id), kind => kind_words(b.kind), ref_id => b.ref_id, date => b.date.to_string() })
        .collect();
    render("renewal_list.html", context! { department, as_of => as_of.to_string(), rows => list, exits, breaches })
}

/// The annual report: A and B tiers for incentives, partners to review, everyone's figures.
pub(crate) fn annual_report(year: i32, rows: &[AnnualRow], preview: bool) -> Result<String, minijinja::Error> {
    let view = |r: &AnnualRow| {
        context! {
            partner_id => r.partner_id, partner_name => r.partner_name, months => r.months_assessed,
            average => r.average_score.map(fmt2).unwrap_or_default(), grade => grade(r.annual_grade),
            credit => fmt2(r.credit_points), revenue => fmt2(r.revenue), tier => r.tier.to_string(),
        }
    };
    let incentives: Vec<_> = rows.iter().filter(|r| matches!(r.tier, 'A' | 'B')).map(view).collect();
    let review: Vec<_> = rows
        .iter()
        .filter(|r| r.tier == 'D' || r.annual_grade == Some(Grade::C))
        .map(|r| {
            let mut why = Vec::new();
            if r.annual_grade == Some(Grade::C) {
                why.push(format!("年度等级C（平均得分 {}）", r.average_score.map(fmt2).unwrap_or_default()));
            }
            if r.blacklisted {
                why.push("列入不良信用记录名单（禁入期与本年度重叠），信用评级D".to_string());
            } else if r.tier == 'D' {
                why.push(format!("信用评级D（信用分 {}）", fmt2(r.credit_points)));
            }
            context! { partner_id => r.partner_id, partner_name => r.partner_name, why => why.join("；") }
        })
        .collect();
    let all: Vec<_> = rows.iter().map(view).collect();
    render("annual.html", context! { year, preview, incentives, review, rows => all })
}
