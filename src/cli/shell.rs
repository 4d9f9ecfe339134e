//! Completion scripts and manual pages, generated from the same clap definition that parses the
//! command line, so they can never drift from it.

use clap::CommandFactory;
pub use clap_complete::Shell;

use super::Cli;

/// The commands that have a page of their own (`ofrep-NAME(1)`), in the order `ofrep man` writes
/// them. A unit test keeps this list equal to the commands.
pub const PAGES: &[&str] = &["fetch", "conform", "watch", "serve", "completions", "man"];

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ofrep", &mut script);
    script
}

/// The roff source of `ofrep(1)` followed by every command's page, or only `page`'s; `None` when
/// `page` names no command.
pub fn man_pages(page: Option<&str>) -> Option<Vec<u8>> {
    let mut root = Cli::command().disable_help_subcommand(true);
    // Building names each subcommand `ofrep-NAME` and copies the global options into it.
    root.build();
    let commands: Vec<clap::Command> = match page {
        Some(name) => vec![root.find_subcommand(name)?.clone()],
        None => std::iter::once(root.clone())
            .chain(root.get_subcommands().cloned())
            .collect(),
    };
    let mut roff = Vec::new();
    for command in commands {
        // Every `.TH` field is set: clap_mangen writes an empty date as nothing, which would
        // shift the source into the date's place. The version stands in for the date, so the
        // pages are the same on every build of one version.
        let man = clap_mangen::Man::new(command)
            .date(env!("CARGO_PKG_VERSION"))
            .source(concat!("ofrep ", env!("CARGO_PKG_VERSION")))
            .manual("User Commands");
        // Rendering into a Vec<u8> cannot fail: its Write never returns an error.
        man.render(&mut roff).ok()?;
    }
    Some(roff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_and_every_page_a_command() {
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        assert_eq!(names, PAGES);
    }

    #[test]
    fn the_man_pages_start_with_ofrep_and_hold_one_title_per_command() {
        let all = String::from_utf8(man_pages(None).unwrap_or_default()).unwrap_or_default();
        assert!(
            all.starts_with(".ie") || all.starts_with(".TH"),
            "{}",
            &all[..80.min(all.len())]
        );
        let titles: Vec<&str> = all.lines().filter(|l| l.starts_with(".TH ")).collect();
        assert_eq!(titles.len(), PAGES.len() + 1, "{titles:?}");
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            titles[0],
            format!(".TH ofrep 1 {version} \"ofrep {version}\" \"User Commands\"")
        );
        let one =
            String::from_utf8(man_pages(Some("fetch")).unwrap_or_default()).unwrap_or_default();
        assert!(one.contains(".TH ofrep-fetch 1"), "{one}");
        assert!(man_pages(Some("nope")).is_none());
    }
}
