//! The assessment rules as the core uses them: validated, typed, exact (built by `settings`).

use super::calendar::WorkCalendar;
use super::sla::SlaClass;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Everything rules.md lets a deployment set, plus the calendar.
#[derive(Debug, Clone)]
pub struct Rules {
    pub timezone: chrono_tz::Tz,
    pub grades: GradeThresholds,
    pub flags: FlagRules,
    pub calendar: WorkCalendar,
    pub sla_classes: BTreeMap<String, SlaClass>,
    pub indicators: Vec<Indicator>,
    pub credit: CreditRules,
    pub presales: PresalesRules,
    pub renewal_notice_months: i32,
    pub exit: ExitRules,
    pub ban_years: i32,
    pub tiers: TierRules,
    /// SHA-256 of the rules file text, stored with every result.
    pub hash: String,
    /// The first month these rules apply to (`None`: every month).
    pub effective_from: Option<super::period::Month>,
    /// The rules file text, kept with the results so that earlier months keep their rules.
    pub text: String,
}

#[derive(Debug, Clone, Copy)]
pub struct GradeThresholds {
    pub a_min: Decimal,
    pub b_min: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub struct FlagRules {
    pub c_grade_window_months: u32,
    pub c_grade_threshold: u32,
}

/// One indicator of the effectiveness score (运营效果考核).
#[derive(Debug, Clone)]
pub struct Indicator {
    pub id: String,
    pub weight: Decimal,
    pub kind: IndicatorKind,
}

#[derive(Debug, Clone)]
pub enum IndicatorKind {
    Rate { source: RateSource, target_pct: Decimal, points_per_pct: Decimal },
    Penalty(Penalties),
    Average,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    Tickets,
    Orders,
}

/// `service_quality` penalty points per event (2010 method 扣分项).
#[derive(Debug, Clone, Copy)]
pub struct Penalties {
    pub critical_outage: Decimal,
    pub dispatch_violation: Decimal,
    pub false_info: Decimal,
    pub complaint_miit: Decimal,
    pub complaint_group: Decimal,
    pub complaint_account_manager: Decimal,
    pub complaint_escalation_step: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub struct CreditRules {
    pub class_one_deduction: Decimal,
    pub class_two_min: Decimal,
    pub class_two_max: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixedSettlesAs {
    Higher,
    Lower,
}

#[derive(Debug, Clone)]
pub struct PresalesRules {
    pub mixed_settles_as: MixedSettlesAs,
    /// Project class → (dedicated_line fee, integrated fee), CNY per project.
    pub fees: BTreeMap<String, ClassFees>,
    pub won_by_supporter: Decimal,
    pub not_implemented_other_cause: Decimal,
    pub not_implemented_supporter_cause: Decimal,
    /// Ascending bands; the last has no upper bound.
    pub won_other_implementer: Vec<CoefficientBand>,
}

#[derive(Debug, Clone, Copy)]
pub struct ClassFees {
    pub dedicated_line: Decimal,
    pub integrated: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub struct CoefficientBand {
    /// Exclusive upper bound of the contract value; `None` for the open last band.
    pub below: Option<Decimal>,
    pub coefficient: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub struct ExitRules {
    pub aftersales_notice_months: i32,
    pub presales_notice_months: i32,
}

#[derive(Debug, Clone, Copy)]
pub struct TierRules {
    pub a_credit_min: Decimal,
    pub a_revenue_min: Decimal,
    pub b_credit_min: Decimal,
    pub b_revenue_min: Decimal,
    pub c_credit_min: Decimal,
    pub complaint_credit_deduction: Decimal,
}

/// A grade (等级) of the regulation's 第二十三条 (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    A,
    B,
    C,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "A" => Some(Grade::A),
            "B" => Some(Grade::B),
            "C" => Some(Grade::C),
            _ => None,
        }
    }
}

impl GradeThresholds {
    pub fn grade(&self, score: Decimal) -> Grade {
        if score >= self.a_min {
            Grade::A
        } else if score >= self.b_min {
            Grade::B
        } else {
            Grade::C
        }
    }
}

impl Rules {
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }
}
