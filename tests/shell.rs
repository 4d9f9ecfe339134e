//! `ofrep completions` and `ofrep man`, the real binary: every shell gets a script that knows
//! the commands, bash (and zsh, fish where installed) accept it, and the manual pages are roff
//! that `man -l` and `groff` render without a warning.

mod fixture;

use std::time::Duration;

use fixture::cli::{Run, ofrep, run};

const SHELLS: &[&str] = &["bash", "zsh", "fish", "powershell", "elvish"];
const COMMANDS: &[&str] = &["fetch", "conform", "watch", "serve", "completions", "man"];

fn completions(shell: &str) -> Run {
    let out = run(ofrep().args(["completions", shell]));
    assert_eq!(out.code, 0, "completions {shell}: {}", out.stderr);
    assert!(out.stderr.is_empty(), "completions {shell}: {}", out.stderr);
    out
}

fn man(args: &[&str]) -> Run {
    let out = run(ofrep().arg("man").args(args));
    assert_eq!(out.code, 0, "man {args:?}: {}", out.stderr);
    assert!(out.stderr.is_empty(), "man {args:?}: {}", out.stderr);
    out
}

/// Whether `tool` is on PATH; when it is not, the caller prints a note and skips only the check
/// that needs it.
fn installed(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `program args` with `stdin`, bounded in time, in a plain UTF-8 locale.
fn pipe_into(program: &str, args: &[&str], stdin: &str) -> Run {
    run(assert_cmd::Command::new(program)
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .write_stdin(stdin.to_owned())
        .timeout(Duration::from_secs(60)))
}

#[test]
fn every_shell_gets_a_script_that_names_every_command() {
    for shell in SHELLS {
        let script = completions(shell).stdout;
        assert!(script.len() > 1000, "{shell}: {} bytes", script.len());
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} script lacks `{command}`");
        }
        assert!(
            script.contains("targeting-key"),
            "{shell} script lacks the options"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = run(ofrep().args(["completions", "tcsh"]));
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("bash"), "{}", out.stderr);
}

#[test]
fn the_completion_scripts_parse_in_their_shells() {
    // bash is on every machine this runs on; zsh and fish are checked where they are installed.
    let checks: &[(&str, &[&str])] = &[
        ("bash", &["-n"]),
        ("zsh", &["-n"]),
        ("fish", &["--no-execute"]),
    ];
    for (shell, args) in checks {
        if !installed(shell) {
            assert_ne!(*shell, "bash", "bash is needed to check the bash script");
            eprintln!("note: {shell} is not installed; its script's syntax is not checked");
            continue;
        }
        let out = pipe_into(shell, args, &completions(shell).stdout);
        assert_eq!(
            out.code, 0,
            "{shell} {args:?} rejected the script: {}",
            out.stderr
        );
        assert!(out.stderr.is_empty(), "{shell}: {}", out.stderr);
    }
}

#[test]
fn the_bash_script_completes_commands_and_shell_names() {
    if !installed("bash") {
        eprintln!("note: bash is not installed; the bash script is not exercised");
        return;
    }
    // Load the script, then ask its completion function what `ofrep co<TAB>` and
    // `ofrep completions <TAB>` offer, as bash-completion would.
    let probe = format!(
        "{}\n{}",
        completions("bash").stdout,
        r#"COMP_WORDS=(ofrep co); COMP_CWORD=1; _ofrep ofrep co ofrep; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(ofrep completions ""); COMP_CWORD=2; _ofrep ofrep "" completions; echo "2:${COMPREPLY[*]}""#
    );
    let out = pipe_into("bash", &["-s"], &probe);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let offered = |n: &str| -> Vec<String> {
        let line = out.stdout.lines().find_map(|l| l.strip_prefix(n));
        let line = line.unwrap_or_default();
        line.split_whitespace().map(str::to_owned).collect()
    };
    assert_eq!(offered("1:"), ["conform", "completions"], "{}", out.stdout);
    let shells = offered("2:");
    for shell in SHELLS {
        assert!(
            shells.iter().any(|s| s == shell),
            "{shell} not offered: {shells:?}"
        );
    }
}

#[test]
fn man_writes_a_titled_page_for_ofrep_and_each_command() {
    let roff = man(&[]).stdout;
    let titles: Vec<&str> = roff.lines().filter(|l| l.starts_with(".TH ")).collect();
    let mut expected = vec![".TH ofrep 1 ".to_owned()];
    expected.extend(COMMANDS.iter().map(|c| format!(".TH ofrep-{c} 1 ")));
    assert_eq!(titles.len(), expected.len(), "{titles:?}");
    for (title, want) in titles.iter().zip(&expected) {
        assert!(title.starts_with(want.as_str()), "{title} is not {want}");
    }
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS"] {
        assert!(roff.contains(section), "no {section}");
    }
    // The exit codes are part of the contract, so the pages carry them.
    assert!(
        roff.contains("Exit codes:"),
        "the pages do not list the exit codes"
    );
}

#[test]
fn man_with_a_command_writes_only_that_page() {
    let roff = man(&["watch"]).stdout;
    let titles: Vec<&str> = roff.lines().filter(|l| l.starts_with(".TH ")).collect();
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(titles[0].starts_with(".TH ofrep-watch 1 "), "{}", titles[0]);
    assert!(
        roff.contains("deadline"),
        "the watch page lacks its options"
    );

    let out = run(ofrep().args(["man", "nope"]));
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("fetch"), "{}", out.stderr);
}

#[test]
fn the_man_pages_render_without_warnings() {
    let roff = man(&[]).stdout;
    let mut checked = false;
    if installed("groff") {
        let out = pipe_into("groff", &["-man", "-Tutf8", "-ww", "-z"], &roff);
        assert_eq!(out.code, 0, "groff: {}", out.stderr);
        assert!(out.stderr.is_empty(), "groff warned:\n{}", out.stderr);
        checked = true;
    } else {
        eprintln!("note: groff is not installed; the roff is not checked with it");
    }
    if installed("man") {
        let out = pipe_into("man", &["-l", "-"], &roff);
        assert_eq!(out.code, 0, "man -l: {}", out.stderr);
        assert!(out.stderr.is_empty(), "man -l warned:\n{}", out.stderr);
        for page in [
            "ofrep(1)",
            "ofrep-fetch(1)",
            "ofrep-serve(1)",
            "ofrep-man(1)",
        ] {
            assert!(out.stdout.contains(page), "man -l did not render {page}");
        }
        assert!(
            out.stdout.contains("Exit codes:"),
            "man -l did not render the exit codes"
        );
        checked = true;
    } else {
        eprintln!("note: man is not installed; `man -l` is not checked");
    }
    if !checked {
        eprintln!("note: only the .TH titles were checked (see man_writes_a_titled_page...)");
    }
}
