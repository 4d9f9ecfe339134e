//! `ofrep`: check and watch OFREP servers.

pub mod cli;
pub mod commands;
pub mod error;
pub mod exit;
pub mod protocol;
pub mod serve;

pub use error::Error;

/// Runs one command; the result is the exit code (see `exit`).
pub fn run(cli: cli::Cli) -> Result<u8, Error> {
    match &cli.command {
        cli::Command::Serve(args) => commands::serve::run(args, &cli.global),
        cli::Command::Fetch(_) => Err(Error::usage(
            "`ofrep fetch` is not built on this branch yet",
        )),
    }
}
