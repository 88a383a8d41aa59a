//! ict-partners: monthly assessment, grading and settlement of ICT support partners
//! (ICT支撑合作伙伴), quarterly presales settlement, renewal summaries and annual tiers.

pub mod cli;
pub mod clock;
pub mod demo;
pub mod domain;
pub mod error;
pub mod gendata;
pub mod jobs;
pub mod mail;
pub mod report;
pub mod schedule;
pub mod settings;
pub mod sources;
pub mod store;
pub mod telemetry;
