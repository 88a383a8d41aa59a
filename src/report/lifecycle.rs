//! Human reports of the lifecycle jobs, in Chinese: the renewal notice for a contract owner, the
//! renewal list for a managing department, and the annual tiers report. Pure: rows in, HTML out.

use super::templates::render;
use crate::domain::annual::AnnualRow;
use crate::domain::money::fmt2;
use crate::domain::renewal::{Breach, ExitProposal, ExitRow, Notice, RenewalRow, CONTRACT_IN_FORCE};
use crate::domain::rules::Grade;
use minijinja::context;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

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

/// What a managing department's list shows.
pub(crate) struct ListView<'a> {
    pub(crate) department: &'a str,
    pub(crate) as_of: chrono::NaiveDate,
    pub(crate) rows: &'a [&'a (RenewalRow, Notice)],
    pub(crate) exits: &'a [&'a ExitRow],
    pub(crate) breaches: &'a [&'a Breach],
    pub(crate) proposals: &'a [&'a ExitProposal],
    pub(crate) names: &'a HashMap<String, String>,
    /// Per partner leaving: periods not yet settled, open disputes (第三十八条).
    pub(crate) outstanding: &'a BTreeMap<String, (Vec<String>, Vec<String>)>,
}

fn proposal_reason(p: &ExitProposal, code: &str) -> String {
    let days = |d: &[chrono::NaiveDate]| d.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("、");
    match code {
        "two_c_grades" => format!(
            "考核期内两次及以上考核等级为C（第三十四条），见 {} 月度考核结果",
            p.latest_month.map(|m| m.to_string()).unwrap_or_default()
        ),
        "class_one_violation" => format!("一类违约（第三十三条），认定日期 {}", days(&p.class_one_days)),
        "blacklisted" => format!(
            "已列入不良信用记录名单（第二十三条（三）、第三十六条），决定日期 {}",
            p.banned_since.map(|d| d.to_string()).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

/// The list a managing department receives: first the contracts a banned partner still holds
/// (to be terminated), then the exits proposed to its meeting, the contracts nearing their end,
/// the exit requests with what the partners must still clear, and the other ban breaches.
pub(crate) fn renewal_list(v: &ListView) -> Result<String, minijinja::Error> {
    let name = |id: &str| v.names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let list: Vec<ListRow> = v
        .rows
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
    let exits: Vec<_> = v
        .exits
        .iter()
        .map(|e| {
            let (periods, disputes) = v.outstanding.get(&e.partner_id).cloned().unwrap_or_default();
            context! {
                request_id => e.request_id, partner_name => name(&e.partner_id), contract_id => e.contract_id,
                exit_type => exit_words(&e.exit_type), requested_on => e.requested_on.to_string(),
                planned_exit_on => e.planned_exit_on.to_string(),
                notice_ok => match e.notice_ok { Some(true) => "满足", Some(false) => "不足", None => "—" },
                open_tickets => e.open_tickets, held => e.held_presales_projects,
                unsettled => if periods.is_empty() { "无".to_string() } else { periods.join("、") },
                disputes => if disputes.is_empty() { "无".to_string() } else { disputes.join("、") },
            }
        })
        .collect();
    let in_force: Vec<_> = v
        .breaches
        .iter()
        .filter(|b| b.kind == CONTRACT_IN_FORCE)
        .map(|b| context! { partner_name => name(&b.partner_id), contract_id => b.ref_id, decided_on => b.date.to_string() })
        .collect();
    let breaches: Vec<_> = v
        .breaches
        .iter()
        .filter(|b| b.kind != CONTRACT_IN_FORCE)
        .map(|b| context! { partner_name => name(&b.partner_id), kind => kind_words(b.kind), ref_id => b.ref_id, date => b.date.to_string() })
        .collect();
    let proposals: Vec<_> = v
        .proposals
        .iter()
        .map(|p| {
            context! {
                partner_name => name(&p.partner_id), partner_id => p.partner_id,
                reasons => p.reasons.iter().map(|r| proposal_reason(p, r)).collect::<Vec<_>>(),
                contracts => p.contracts.iter().cloned().collect::<Vec<_>>().join("、"),
            }
        })
        .collect();
    render(
        "renewal_list.html",
        context! { department => v.department, as_of => v.as_of.to_string(), rows => list, exits, breaches, in_force, proposals },
    )
}

/// The notice the owner of a contract a banned partner still holds receives once per ban.
pub(crate) fn ban_notice(
    b: &Breach,
    partner_name: &str,
    until: chrono::NaiveDate,
    as_of: chrono::NaiveDate,
) -> Result<String, minijinja::Error> {
    render(
        "ban_notice.html",
        context! {
            contract_id => b.ref_id, partner_id => b.partner_id, partner_name, decided_on => b.date.to_string(),
            until => until.to_string(), as_of => as_of.to_string(),
        },
    )
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
