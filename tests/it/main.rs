//! The integration tests: one binary, every module driving the real `ict-partners` binary against
//! real SQLite files, the local PostgreSQL and MariaDB, a real SMTP server and a real xlsx reader.
//! Run them with `tests/run.sh` (the README's test command), which provisions the Python helpers.

mod approval;
mod backends;
mod cli;
mod common;
mod crash;
mod deploy;
mod hostile;
mod mail;
mod schedule;
