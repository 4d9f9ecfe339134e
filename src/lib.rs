//! `ofrep`: check and watch OFREP servers.
//!
//! `main` parses the command line and calls [`run`]; everything below returns values and never
//! prints, except the reporting layer (`report`) that the commands hand their results to.

pub mod cli;
pub mod commands;
pub mod conform;
pub mod diff;
pub mod embedded;
pub mod error;
pub mod exit;
pub mod protocol;
pub mod redact;
pub mod report;
pub mod serve;
pub mod sse;
pub mod target;
pub mod term;
pub mod units;
pub mod watch;

pub use error::Error;
pub use exit::Outcome;

use cli::{Cli, Command};

/// Runs one command to completion.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let ui = report::Ui::new(&cli.global);
    match cli.command {
        Command::Conform(args) => runtime(Threads::Many)?
            .block_on(commands::conform::run(args, &ui))
            .map_err(|e| commands::for_command(e, "conform")),
        Command::Fetch(args) => runtime(Threads::One)?.block_on(commands::fetch::run(args, &ui)),
        Command::Watch(args) => runtime(Threads::One)?
            .block_on(commands::watch::run(args, &ui))
            .map_err(|e| commands::for_command(e, "watch")),
        Command::Serve(args) => runtime(Threads::Many)?.block_on(commands::serve::run(&args, &ui)),
        Command::Completions(args) => commands::shell::completions(&args),
        Command::Man(args) => commands::shell::man(&args),
    }
}

/// How many threads a command's runtime gets.
enum Threads {
    /// A client waiting on a few connections: one thread starts faster, and keeps memory in one
    /// allocator arena instead of one per worker (a `watch` of 10,000 flags halves its peak).
    One,
    /// A server, or many concurrent scenarios: one worker per core.
    Many,
}

fn runtime(threads: Threads) -> Result<tokio::runtime::Runtime, Error> {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::Many => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}
