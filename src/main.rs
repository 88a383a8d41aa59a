//! The `ict-partners` binary: parse the command line, set up logging, run the command, and map
//! what went wrong to the documented exit codes (0, 64, 65, 69, 78, 1).

use clap::Parser;
use ict_partners::cli::{parse_error_exit_code, Cli};
use ict_partners::{commands, exit, system::System, telemetry};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(parse_error_exit_code(&e));
        }
    };
    telemetry::init(cli.log_format, cli.log_level());
    // Two workers: the machines this runs on have two cores, and the jobs run one at a time.
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli, System::from_process())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", exit::message(&e));
            ExitCode::from(exit::code(&e))
        }
    }
}
