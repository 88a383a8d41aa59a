//! The integration tests: one binary, every module driving the real `ict-partners` binary against
//! real SQLite files, the local PostgreSQL and MariaDB, a real SMTP server and a real xlsx reader.
//! Run them with `tests/run.sh` (the README's test command), which provisions the Python helpers.
// The tests stand outside the program: they read their own environment (the provisioned Python)
// and the clock (scratch database names), which `clippy.toml` reserves to `src/system.rs` inside it.
#![allow(clippy::disallowed_methods)]

mod approval;
mod architecture;
mod backends;
mod cli;
mod common;
mod crash;
mod deploy;
mod disputes;
mod hostile;
mod lifecycle;
mod mail;
mod plans;
mod records;
mod reports;
mod schedule;
mod units;
mod whatif;
mod workbooks;
