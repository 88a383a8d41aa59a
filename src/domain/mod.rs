//! The pure core: periods, money, the working calendar and SLA clock, the monthly assessment,
//! presales settlement, renewal, exits, the blacklist and annual tiers. No I/O, no wall clock.

pub mod annual;
pub mod calendar;
pub mod inputs;
pub mod money;
pub mod monthly;
pub mod period;
pub mod presales;
pub mod renewal;
pub mod rules;
pub mod sla;
