//! The pure core: periods, money, the working calendar and SLA clock, the monthly assessment,
//! presales settlement, renewal, exits, the blacklist and annual tiers. No I/O, no wall clock.

pub(crate) mod annual;
pub(crate) mod blacklist;
pub(crate) mod calendar;
pub(crate) mod clock;
pub(crate) mod disputes;
pub(crate) mod frames;
pub(crate) mod inputs;
pub(crate) mod job;
pub(crate) mod money;
pub(crate) mod monthly;
pub(crate) mod period;
pub(crate) mod presales;
pub(crate) mod records;
pub(crate) mod refusal;
pub(crate) mod renewal;
pub(crate) mod rules;
#[cfg(test)]
pub(crate) mod sla;
pub(crate) mod text;
pub(crate) mod units;
pub(crate) mod whatif;
