//! ict-partners: monthly assessment, grading and settlement of ICT support partners
//! (ICT支撑合作伙伴), quarterly presales settlement, renewal summaries and annual tiers.
//!
//! The modules in the order data flows through them, each using only those above it:
//!
//! ```text
//! domain      the rules as pure functions: periods, calendar and SLA clock, assessment, presales, renewal, annual
//! system      the machine: clock, environment, host name, randomness (the only place that reads them)
//! files       atomic writes, private folders, safe file names
//! db          dialects, pool settings, connecting, database errors by what to do about them
//! config      application, rules, calendar and job files → validated settings
//! sources     the operations databases → the core's frames
//! workbooks   the workbooks people fill in (xlsx) → the core's cells
//! store       results, evidence, outbox, rules versions, run ledger, approval and audit trail
//! report      pure formatters: CSV, HTML, xlsx, PNG, letters
//! mail        messages from letters, delivery of the outbox
//! schedule    what the job schedules mean (pure)
//! exit        exit codes from the typed errors of every layer
//! jobs        orchestration: one skeleton for every job, approval, run due, serve
//! commands    the commands of the binary; `cli` parses them, `main` dispatches
//! ```

pub mod cli;
pub mod commands;
pub(crate) mod config;
pub(crate) mod db;
pub(crate) mod domain;
pub mod exit;
pub(crate) mod files;
pub(crate) mod jobs;
pub(crate) mod mail;
pub(crate) mod report;
pub(crate) mod schedule;
pub(crate) mod sources;
pub(crate) mod store;
pub mod system;
pub mod telemetry;
pub(crate) mod workbooks;
