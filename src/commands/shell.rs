//! `ofrep completions` and `ofrep man`: generate from the command-line definition and hand the
//! bytes to the reporter.

use crate::cli::{CompletionsArgs, ManArgs, shell};
use crate::error::Error;
use crate::exit::Outcome;
use crate::report::shell::Reporter;

pub fn completions(args: &CompletionsArgs) -> Result<Outcome, Error> {
    Reporter.document(&shell::completions(args.shell))?;
    Ok(Outcome::Success)
}

pub fn man(args: &ManArgs) -> Result<Outcome, Error> {
    let Some(roff) = shell::man_pages(args.command.as_deref()) else {
        return Err(Error::usage(format!(
            "no manual page for `{}`",
            args.command.as_deref().unwrap_or_default()
        ))
        .with_hint(format!("the pages are: {}", shell::PAGES.join(", "))));
    };
    Reporter.document(&roff)?;
    Ok(Outcome::Success)
}
