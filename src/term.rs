//! Terminal decisions made once, from captured facts, by pure functions that tests can call.

use crate::cli::{Annotations, ColorChoice};

/// What the environment said, captured once at start so decisions are reproducible.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    pub no_color: bool,
    /// `TERM` is `dumb`.
    pub dumb_term: bool,
    /// `CI` is set: no progress animations, whatever the terminal.
    pub ci: bool,
    /// `GITHUB_ACTIONS` is `true`, as the runner sets it for every step.
    pub github_actions: bool,
}

impl Environment {
    pub fn capture() -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        Self {
            no_color: set("NO_COLOR"),
            dumb_term: std::env::var("TERM").is_ok_and(|t| t == "dumb"),
            ci: set("CI"),
            github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        }
    }
}

/// Whether a human-readable stream gets colour. JSON never does; callers don't ask for it.
pub fn use_color(choice: ColorChoice, stream_is_tty: bool, env: &Environment) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_tty && !env.no_color && !env.dumb_term,
    }
}

/// Whether progress bars and spinners may be drawn on stderr.
pub fn use_progress(stderr_is_tty: bool, env: &Environment) -> bool {
    stderr_is_tty && !env.ci && !env.dumb_term
}

/// Which annotations `conform` prints: `--annotations` when given, else GitHub's inside a
/// GitHub Actions step and none elsewhere.
pub fn annotations(choice: Option<Annotations>, env: &Environment) -> Annotations {
    match choice {
        Some(choice) => choice,
        None if env.github_actions => Annotations::Github,
        None => Annotations::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(no_color: bool, dumb_term: bool, ci: bool) -> Environment {
        Environment {
            no_color,
            dumb_term,
            ci,
            github_actions: false,
        }
    }

    #[test]
    fn auto_colours_only_a_plain_terminal() {
        assert!(use_color(
            ColorChoice::Auto,
            true,
            &env(false, false, false)
        ));
        assert!(!use_color(
            ColorChoice::Auto,
            false,
            &env(false, false, false)
        ));
        assert!(!use_color(
            ColorChoice::Auto,
            true,
            &env(true, false, false)
        ));
        assert!(!use_color(
            ColorChoice::Auto,
            true,
            &env(false, true, false)
        ));
    }

    #[test]
    fn explicit_choices_win_over_the_environment() {
        assert!(use_color(
            ColorChoice::Always,
            false,
            &env(true, true, true)
        ));
        assert!(!use_color(
            ColorChoice::Never,
            true,
            &env(false, false, false)
        ));
    }

    #[test]
    fn progress_needs_a_terminal_outside_ci() {
        assert!(use_progress(true, &env(false, false, false)));
        assert!(!use_progress(true, &env(false, false, true)));
        assert!(!use_progress(false, &env(false, false, false)));
    }

    #[test]
    fn annotations_follow_github_actions_unless_chosen() {
        let github = Environment {
            github_actions: true,
            ..Environment::default()
        };
        let elsewhere = Environment::default();
        assert_eq!(annotations(None, &github), Annotations::Github);
        assert_eq!(annotations(None, &elsewhere), Annotations::None);
        assert_eq!(
            annotations(Some(Annotations::None), &github),
            Annotations::None
        );
        assert_eq!(
            annotations(Some(Annotations::Github), &elsewhere),
            Annotations::Github
        );
    }
}
