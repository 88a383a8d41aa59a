//! The assessment rules as the core uses them: validated, typed, exact (built by `settings`).

use super::calendar::WorkCalendar;
use super::clock::SlaClass;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Everything rules.md lets a deployment set, plus the calendar.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) timezone: chrono_tz::Tz,
    pub(crate) grades: GradeThresholds,
    pub(crate) flags: FlagRules,
    pub(crate) calendar: WorkCalendar,
    pub(crate) sla_classes: BTreeMap<String, SlaClass>,
    pub(crate) indicators: Vec<Indicator>,
    pub(crate) credit: CreditRules,
    pub(crate) presales: PresalesRules,
    pub(crate) renewal_notice_months: i32,
    pub(crate) exit: ExitRules,
    pub(crate) ban_years: i32,
    pub(crate) tiers: TierRules,
    /// Working days after publication in which a partner may dispute its result (rules.md §11).
    #[allow(dead_code)] // read by the dispute window (rules.md §11), next
    pub(crate) dispute_window_working_days: u32,
    /// SHA-256 of the rules file text, stored with every result.
    pub(crate) hash: String,
    /// The first month these rules apply to (`None`: every month).
    pub(crate) effective_from: Option<super::period::Month>,
    /// The rules file text, kept with the results so that earlier months keep their rules.
    pub(crate) text: String,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct GradeThresholds {
    pub(crate) a_min: Decimal,
    pub(crate) b_min: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct FlagRules {
    pub(crate) c_grade_window_months: u32,
    pub(crate) c_grade_threshold: u32,
}

/// One indicator of the effectiveness score (运营效果考核).
#[derive(Debug, Clone)]
pub(crate) struct Indicator {
    pub(crate) id: String,
    pub(crate) weight: Decimal,
    pub(crate) kind: IndicatorKind,
}

#[derive(Debug, Clone)]
pub(crate) enum IndicatorKind {
    Rate { source: RateSource, target_pct: Decimal, points_per_pct: Decimal },
    Penalty(Penalties),
    Average,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateSource {
    Tickets,
    Orders,
}

/// `service_quality` penalty points per event (2010 method 扣分项).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Penalties {
    pub(crate) critical_outage: Decimal,
    pub(crate) dispatch_violation: Decimal,
    pub(crate) false_info: Decimal,
    pub(crate) complaint_miit: Decimal,
    pub(crate) complaint_group: Decimal,
    pub(crate) complaint_account_manager: Decimal,
    pub(crate) complaint_escalation_step: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct CreditRules {
    pub(crate) class_one_deduction: Decimal,
    pub(crate) class_two_min: Decimal,
    pub(crate) class_two_max: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MixedSettlesAs {
    Higher,
    Lower,
}

#[derive(Debug, Clone)]
pub(crate) struct PresalesRules {
    pub(crate) mixed_settles_as: MixedSettlesAs,
    /// Project class → (dedicated_line fee, integrated fee), CNY per project.
    pub(crate) fees: BTreeMap<String, ClassFees>,
    pub(crate) won_by_supporter: Decimal,
    pub(crate) not_implemented_other_cause: Decimal,
    pub(crate) not_implemented_supporter_cause: Decimal,
    /// Ascending bands; the last has no upper bound.
    pub(crate) won_other_implementer: Vec<CoefficientBand>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ClassFees {
    pub(crate) dedicated_line: Decimal,
    pub(crate) integrated: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct CoefficientBand {
    /// Exclusive upper bound of the contract value; `None` for the open last band.
    pub(crate) below: Option<Decimal>,
    pub(crate) coefficient: Decimal,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ExitRules {
    pub(crate) aftersales_notice_months: i32,
    pub(crate) presales_notice_months: i32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TierRules {
    pub(crate) a_credit_min: Decimal,
    pub(crate) a_revenue_min: Decimal,
    pub(crate) b_credit_min: Decimal,
    pub(crate) b_revenue_min: Decimal,
    pub(crate) c_credit_min: Decimal,
    pub(crate) complaint_credit_deduction: Decimal,
}

/// A grade (等级) of the regulation's 第二十三条 (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Grade {
    A,
    B,
    C,
}

impl Grade {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "A" => Some(Grade::A),
            "B" => Some(Grade::B),
            "C" => Some(Grade::C),
            _ => None,
        }
    }
}

impl GradeThresholds {
    pub(crate) fn grade(&self, score: Decimal) -> Grade {
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
    pub(crate) fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }
}
