use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ofrep::cli::Cli::parse();
    match ofrep::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(error) if error.is_broken_pipe() => ExitCode::SUCCESS,
        Err(error) => {
            ofrep::report::error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}
