use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ofrep::cli::Cli::parse();
    match ofrep::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(hint) = error.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(error.exit_code())
        }
    }
}
