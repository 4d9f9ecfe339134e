//! The command line, and the only module that knows clap. Commands turn these raw arguments into
//! a resolved configuration (see `target.rs`) before any I/O.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::units::{parse_duration, parse_size};

mod examples;
pub mod shell;
use examples::{
    COMPLETIONS_EXAMPLES, CONFORM_EXAMPLES, FETCH_EXAMPLES, MAN_EXAMPLES, SERVE_EXAMPLES,
    WATCH_EXAMPLES,
};

/// Check and watch OFREP servers: is the server right, and what does it do live?
#[derive(Debug, Parser)]
#[command(
    name = "ofrep",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_long_help = crate::exit::TABLE)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options that shape output, the same for every command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output options")]
pub struct GlobalArgs {
    /// Output format: `human` for people, `json` for programs.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Human, global = true)]
    pub output: OutputFormat,

    /// When to colour human output: `auto` means stdout is a terminal, NO_COLOR is unset and
    /// TERM is not `dumb`.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print each request and response line on stderr (secrets redacted).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Print Authorization and X-API-Key values and event-stream query strings as they are.
    /// They are tokens: by default every output redacts them.
    #[arg(long, global = true)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

/// Which CI system's annotation commands `conform` prints besides its reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Annotations {
    /// GitHub Actions workflow commands (`::error title=ID::message`).
    Github,
    /// None.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make one bulk (or single-flag) evaluation and show what the server answered and what is
    /// wrong with it.
    #[command(after_long_help = FETCH_EXAMPLES)]
    Fetch(FetchArgs),

    /// Run conformance scenarios against a server: ETag/304, eventStreams, SSE, freshness, polling,
    /// CORS; human, JSON and JUnit reports.
    #[command(after_long_help = CONFORM_EXAMPLES)]
    Conform(ConformArgs),

    /// Follow a server's event stream like a provider, refetch on every change and print diffs.
    #[command(after_long_help = WATCH_EXAMPLES)]
    Watch(WatchArgs),

    /// Run a reference OFREP server with ETag/304, event streams and fault modes.
    #[command(after_long_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),

    /// Print a completion script for a shell on stdout.
    #[command(after_long_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),

    /// Print the manual page (roff) on stdout: `ofrep` and every command, or one command.
    #[command(after_long_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: shell::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Only this command's page (`ofrep-COMMAND(1)`); without it, every page, `ofrep(1)` first.
    #[arg(value_name = "COMMAND", value_parser = clap::builder::PossibleValuesParser::new(shell::PAGES))]
    pub command: Option<String>,
}

/// Which server to talk to, how, and with what evaluation context: shared by every client
/// command.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The OFREP base URL: the part before `/ofrep/v1/...` [env: OFREP_ENDPOINT]
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Start the built-in reference server on 127.0.0.1 (a free port) and run against it.
    #[arg(long, conflicts_with = "url")]
    pub embedded: bool,

    /// A request header, `Name: value` (repeatable). Wins over OFREP_HEADERS, which is
    /// `Name=value,Name=value` as ADR-0007 defines it.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// How long one request may take, e.g. `10s`, `500ms` [default: 10s, env: OFREP_TIMEOUT_MS]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// An evaluation-context field, `key=value` (repeatable). A value that parses as JSON is
    /// JSON (`age=42`, `beta=true`, `tags=["a"]`), anything else is a string.
    #[arg(short = 'c', long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,

    /// Read the evaluation context from a JSON object in FILE (`-` for stdin); `--context` and
    /// `--targeting-key` are applied on top.
    #[arg(long, value_name = "FILE")]
    pub context_file: Option<PathBuf>,

    /// The context's `targetingKey`.
    #[arg(long, value_name = "KEY")]
    pub targeting_key: Option<String>,

    /// Follow a 307 or 308 redirect within the same origin (method, body and headers kept; no
    /// Referer). Without it a redirect is reported, not followed, as curl does; a 301, 302 or 303
    /// (which would turn the POST into a GET) and a redirect to another origin are always reported.
    #[arg(short = 'L', long)]
    pub location: bool,

    /// Trust the PEM certificates in FILE (a private CA) in addition to the system's roots.
    /// SSL_CERT_FILE replaces the system's roots instead.
    #[arg(long, value_name = "FILE", help_heading = NET)]
    pub cacert: Option<PathBuf>,

    /// Skip certificate and host-name verification (a throwaway server only).
    #[arg(short = 'k', long, help_heading = NET)]
    pub insecure: bool,

    /// A PEM client certificate for servers that require mutual TLS (with --key).
    #[arg(
        long,
        value_name = "FILE",
        requires = "key",
        help_heading = NET
    )]
    pub cert: Option<PathBuf>,

    /// The PEM private key of --cert.
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        help_heading = NET
    )]
    pub key: Option<PathBuf>,

    /// Send every request through this http:// proxy (CONNECT for https://), loopback included.
    /// Without it HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY apply, except to loopback.
    #[arg(long, value_name = "URL", help_heading = NET)]
    pub proxy: Option<String>,

    /// Ignore the proxy environment variables.
    #[arg(long, conflicts_with = "proxy", help_heading = NET)]
    pub no_proxy: bool,
}

#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Evaluate one flag with `POST /ofrep/v1/evaluate/flags/KEY` instead of all of them.
    #[arg(long, value_name = "KEY")]
    pub flag: Option<String>,

    /// Make the bulk request conditional: send `If-None-Match: ETAG`.
    #[arg(long, value_name = "ETAG", conflicts_with = "flag")]
    pub if_none_match: Option<String>,

    /// The largest response body to read, e.g. `64MiB`, `512KiB`, `1000000`.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub max_body_size: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ConformArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Add scenarios from a .feature file or a directory of them (repeatable).
    #[arg(long = "scenarios", value_name = "PATH")]
    pub scenarios: Vec<PathBuf>,

    /// Run only the scenarios from --scenarios, not the built-in suite.
    #[arg(long, requires = "scenarios")]
    pub no_builtin: bool,

    /// Select scenarios by tag expression, e.g. '@sse and not @slow' [default: not @slow]
    #[arg(long, value_name = "EXPR")]
    pub tags: Option<String>,

    /// Change a flag by running CMD through the shell (for the @change scenarios).
    #[arg(long, value_name = "CMD", conflicts_with = "trigger_url")]
    pub trigger_cmd: Option<String>,

    /// Change a flag by POSTing to URL (for the @change scenarios), e.g. flagd-testbed's
    /// http://localhost:8080/change.
    #[arg(long, value_name = "URL")]
    pub trigger_url: Option<String>,

    /// Also check that requests without the configured credentials get 401/403.
    #[arg(long)]
    pub auth_required: bool,

    /// Count SHOULD-level warnings as failures.
    #[arg(long)]
    pub strict: bool,

    /// Count skipped MUST-level checks as failures, for CI jobs that must prove the whole
    /// protocol.
    ///
    /// A MUST check is skipped when the run cannot exercise it (no trigger: the @change
    /// scenarios; no --auth-required) or when a precondition does not hold: those fail. A skip
    /// whose subject is optional and absent on this server (no eventStreams: the @sse scenarios;
    /// no entry in `url` form; no metadata) is not applicable, marked `notApplicable` in JSON,
    /// and does not fail. `--strict` does not imply this: it grades what was checked, while this
    /// asks that everything that applies was checked. Give both to demand both.
    #[arg(long)]
    pub fail_on_skip: bool,

    /// Also write a JUnit XML report to PATH.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,

    /// Also print GitHub workflow commands on stderr for what did not pass, so GitHub Actions
    /// shows them as annotations [default: github when GITHUB_ACTIONS=true, else none]
    ///
    /// `::error` for a failure or an error, `::warning` for a SHOULD-level warning, `::notice`
    /// for a skipped MUST-level check, each titled with the check id; a scenario from
    /// --scenarios is linked to its file and line. Messages are redacted like every report.
    #[arg(long, value_enum, value_name = "KIND")]
    pub annotations: Option<Annotations>,

    /// List the scenarios (id, level, tags, location) and the checklist coverage, then exit;
    /// honours --tags and -o json.
    #[arg(long)]
    pub list: bool,

    /// List every step with an example, then exit; honours -o json.
    #[arg(long)]
    pub list_steps: bool,

    /// Print the built-in .feature file that holds scenario ID (a check id, e.g.
    /// bulk-304-on-match), to copy and adapt; `all` prints every file.
    #[arg(long, value_name = "ID")]
    pub show_scenario: Option<String>,

    /// Write the built-in .feature files into DIR (created if missing; existing files are not
    /// overwritten), to copy and adapt, then exit.
    #[arg(long, value_name = "DIR", conflicts_with = "show_scenario")]
    pub print_builtin: Option<PathBuf>,

    /// How many independent scenarios run at once [default: 8; 4 with --provider, each with
    /// its own server and provider process].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: Option<u64>,

    /// Grade a provider instead of a server: run CMD through sh for each provider scenario,
    /// with OFREP_ENDPOINT set to a scripted server on 127.0.0.1 (`{url}` in CMD is the same
    /// URL), and check what it sends.
    ///
    /// CMD must start the provider against OFREP_ENDPOINT and keep it running; it is stopped
    /// at each scenario's end (SIGTERM, then SIGKILL after 2 s, to its whole process group).
    /// --list, --list-steps, --show-scenario and --print-builtin show the provider suite.
    #[arg(
        long,
        value_name = "CMD",
        conflicts_with_all = ["url", "embedded", "trigger_url", "trigger_cmd", "auth_required"],
        help_heading = "Provider conformance"
    )]
    pub provider: Option<String>,

    /// How long the provider has to make its first bulk request (and open its stream).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        value_parser = parse_duration,
        help_heading = "Provider conformance"
    )]
    pub provider_timeout: Duration,

    /// The largest response body to read, e.g. `64MiB`.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub max_body_size: u64,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// `sse`: follow `eventStreams` and poll only while no stream is connected; `polling`:
    /// ignore `eventStreams` and poll.
    #[arg(long, value_enum, default_value_t = ChangeDetectionArg::Sse, value_name = "MODE")]
    pub change_detection: ChangeDetectionArg,

    /// How often to poll (with If-None-Match) when polling; `0` disables polling.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Exit 0 as soon as flag KEY has VALUE (repeatable: all must hold). VALUE is compared as
    /// JSON when it parses as JSON (`true`, `42`, `"42"`), else as a string.
    #[arg(long = "until", value_name = "KEY=VALUE")]
    pub until: Vec<String>,

    /// Exit 0 after N changes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_changes: Option<u64>,

    /// Exit 1 if the --until conditions (or --max-changes) are not met within DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<Duration>,

    /// The largest response body to read, e.g. `64MiB`.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub max_body_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangeDetectionArg {
    Sse,
    Polling,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Flag definitions in flagd's JSON format; watched, edits take effect at once. Without it a
    /// built-in demo set is served.
    #[arg(long, value_name = "FILE")]
    pub flags: Option<PathBuf>,

    /// Change a demo flag every INTERVAL, so watchers see live changes.
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, default_missing_value = "5s",
          require_equals = true, value_parser = parse_duration)]
    pub demo: Option<Duration>,

    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// The port to listen on; 0 picks a free one (the bound address is printed on stderr).
    #[arg(long, default_value_t = 8016)]
    pub port: u16,

    /// Advertise the event stream in `url` form under this public base URL instead of the
    /// `endpoint` form.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// The `inactivityDelaySec` advertised with the event stream.
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub inactivity_delay: u64,

    /// How often an idle event stream gets a keep-alive comment.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub keepalive: Duration,

    /// Require `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN` on every OFREP and control
    /// request. A blank token is refused.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "OFREP_SERVE_TOKEN",
        hide_env_values = true
    )]
    pub require_auth: Option<String>,

    /// Enable the control endpoints (`POST /control/change`, `POST /control/streams/drop`).
    #[arg(long)]
    pub control: bool,

    /// Also serve flagd-testbed's launchpad API on PORT (on --host), so the OpenFeature
    /// provider test kits can start, stop, restart and change this server (`POST /start`,
    /// `/stop`, `/restart`, `/change`); 0 picks a free port.
    #[arg(long, value_name = "PORT")]
    pub launchpad: Option<u16>,

    /// Serve HTTPS with the PEM certificate (chain) in FILE; needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = TLS)]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = TLS)]
    pub tls_key: Option<PathBuf>,

    /// Require client certificates signed by the PEM CA certificate(s) in FILE (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = TLS)]
    pub tls_client_ca: Option<PathBuf>,

    /// Misbehave on purpose, `NAME[=VALUE]` (repeatable); see the list below.
    #[arg(long = "fault", value_name = "NAME[=VALUE]")]
    pub faults: Vec<String>,

    /// The largest request body accepted, e.g. `1MiB`.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_body_size: u64,
}

/// The help headings of the TLS and proxy options.
const NET: &str = "TLS and proxies";
const TLS: &str = "TLS";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_help_text_lists_every_fault_with_its_check() {
        let help = SERVE_EXAMPLES;
        for (name, _, id) in crate::serve::FAULT_MODES {
            let line = help.lines().position(|l| l.trim_start().starts_with(name));
            let line = line.unwrap_or_else(|| panic!("`{name}` is missing from the serve help"));
            let text: String = help.lines().skip(line).take(2).collect();
            assert!(
                text.contains(&format!("[{id}]")),
                "`{name}` should name [{id}] in the help"
            );
        }
    }
}
