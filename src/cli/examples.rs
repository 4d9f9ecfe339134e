//! The `--help` text after each command's options: examples, environment, exit codes.

pub const FETCH_EXAMPLES: &str = "\
Examples:
  ofrep fetch --embedded
  ofrep fetch https://flags.example.com -H 'Authorization: Bearer $TOKEN' --targeting-key user-1
  ofrep fetch https://flags.example.com -c plan=premium -c beta=true -o json | jq .findings
  ofrep fetch https://flags.example.com --flag new-checkout
  ofrep fetch https://flags.example.com --if-none-match '\"v42\"'
  ofrep fetch https://staging.internal --cacert ca.pem --cert me.pem --key me-key.pem
  ofrep fetch https://flags.example.com --proxy http://proxy.internal:3128 -v

Environment:
  OFREP_ENDPOINT    the base URL when none is given
  OFREP_HEADERS     headers as Name=value,Name=value (URL-decoded first, ADR-0007)
  OFREP_TIMEOUT_MS  the request timeout in milliseconds
  SSL_CERT_FILE     PEM roots that replace the system's (--cacert adds to them)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY  proxies (never for loopback; see --proxy)
  NO_COLOR          disables colour when --color is auto

Exit codes:
  0  a 200 or 304 with no MUST-level finding
  1  an error status, or a MUST-level finding
  2  ofrep could not do its job: usage, invalid URL, DNS, connection refused, TLS, timeout";

pub const CONFORM_EXAMPLES: &str = "\
Examples:
  ofrep conform --embedded                                   the suite against the built-in server
  ofrep conform https://staging.example.com -H \"Authorization: Bearer $TOKEN\" --junit conform.xml
  ofrep conform http://localhost:8016 --trigger-url http://localhost:8080/change
  ofrep conform https://flags.example.com --tags '@sse and not @slow' -o json
  ofrep conform https://flags.example.com --scenarios ./my-scenarios --strict
  ofrep conform https://flags.example.com --junit conform.xml --annotations github
  ofrep conform --list                                       what the suite checks
  ofrep conform --list-steps                                 the step vocabulary
  ofrep conform --show-scenario bulk-304-on-match            a built-in scenario, to copy
  ofrep conform --provider 'ofrep watch {url}'               grade a provider instead
  ofrep conform --provider 'node harness.mjs' --junit provider.xml

Providers: --provider CMD runs CMD through sh for each scenario of the provider suite, with
OFREP_ENDPOINT (and {url} in CMD) pointing at a scripted server on 127.0.0.1, and grades the
requests it makes (the client-* checks); CMD is stopped at each scenario's end. A CMD that
cannot start, exits, or sends nothing within --provider-timeout is an error (exit 2).

Tags: @must @should @info (the level; none means @must), @sse @polling @change @cors @auth @slow
(what a scenario needs), @id:ID (the checklist id a built-in scenario proves; any id, or none, in
yours). Without --tags, everything but @slow runs; a selection of no scenario is an error.
@change scenarios need --trigger-url or --trigger-cmd (built in with --embedded); @sse ones are
skipped when the server advertises no eventStreams; @auth ones need --auth-required.

Statuses: PASS (the ideal was observed), INFO (an @info scenario saw something else), WARN,
FAIL, SKIP (with the reason; the closing line counts the skipped MUST checks), ERROR.

Output: each feature's results print as soon as its scenarios have finished, laid out for the
terminal's width (piped output is never cut); a progress bar on stderr shows what is running.
-v prints every scenario's requests and responses on stderr. Ctrl-C stops the run: what
finished is printed, and --junit and -o json reports are written for it.

GitHub Actions: with GITHUB_ACTIONS=true (or --annotations github) each failure, warning and
reason for skipped MUST checks is also a workflow command on stderr (`::error
title=bulk-200-on-stale::...`), which GitHub shows as an annotation; --annotations none stops it.

Exit codes:
  0  nothing failed (warnings allowed unless --strict, skips unless --fail-on-skip)
  1  a check failed (a server slower than --timeout fails the scenario it was slow in)
  2  conform could not run: server unreachable, credentials wanted (a first answer of 401/403
     without --auth-required), no scenario selected, bad scenario file, bad arguments, or a
     scenario could not be carried out (an error outranks a failure), or the provider could
     not be run
  130  stopped by Ctrl-C or SIGTERM; the reports hold the scenarios that finished";

pub const WATCH_EXAMPLES: &str = "\
Examples:
  ofrep watch --embedded                                   live changes from the demo server
  ofrep watch https://flags.example.com -H \"Authorization: Bearer $TOKEN\"
  ofrep watch https://flags.example.com --until new-checkout=true --deadline 5m
  ofrep watch https://flags.example.com -o json | jq -c 'select(.type == \"change\")'
  ofrep watch https://flags.example.com --change-detection polling --poll-interval 10s

What it does (ADR-0008, as a static-context provider):
  one bulk evaluation, then one connection per `eventStreams` entry of type sse (duplicate
  URLs once); on a `refetchEvaluation` event a refetch with If-None-Match and the event's
  flagConfigEtag / flagConfigLastModified; a refetch after every (re)connect; bursts coalesce
  into one refetch in flight and one queued; polling only while no stream is connected.
  401/403 stop it (exit 2); 429 waits for Retry-After; 5xx and timeouts back off.

Exit codes:
  0  --until held, --max-changes reached, or stopped by Ctrl-C / SIGTERM
  1  --deadline passed first (the conditions still false are named)
  2  ofrep could not do its job: usage, connection, 401/403, an unusable first answer";

pub const SERVE_EXAMPLES: &str = "\
Examples:
  ofrep serve                                  the demo flags on 127.0.0.1:8016
  ofrep serve --flags flags.json --port 0      your flagd file, watched, on a free port
  ofrep serve --demo=2s                        change a demo flag every 2 seconds
  ofrep serve --control --fault stale-304      misbehave, and let scripts change flags
  ofrep serve --tls-cert c.pem --tls-key k.pem HTTPS; add --tls-client-ca ca.pem for mTLS
  ofrep serve -o json                          the bound address and request log as JSON Lines
                                               on stdout (human output goes to stderr)
  ofrep serve --launchpad 8080                 flagd-testbed's launchpad API on 8080, for the
                                               OpenFeature provider test kits

Control endpoints (with --control):
  POST /control/change         change a flag and notify streams; body {\"flag\": KEY,
                               \"variant\": NAME} or empty for the next demo change
  POST /control/streams/drop   close every open event stream
  They need the --require-auth token too, answer only a Host naming this server (the bound
  address, or localhost when bound to loopback), and send no CORS headers.

Launchpad endpoints (with --launchpad PORT; flagd-testbed v3.9.0's, any method):
  POST /start?config=NAME      (re)start the OFREP listener on its port with NAME's flags:
                               default or sync-payload (--flags or the demo set), ssl (the
                               same, needs --tls-cert); event ids start again at 1
  POST /stop                   the OFREP port refuses until the next start
  POST /restart?seconds=N      stop now, back after N seconds (default 5) with the same flags
  POST /change                 toggle changing-flag foo/bar (else the next demo change) and
                               notify streams
  They answer {\"status\": ..., \"message\": ...} as the launchpad does, listen on --host, and
  need the --require-auth token too.

Fault modes (--fault NAME[=VALUE], each breaks the checklist id in brackets):
  no-etag                   no ETag header on 200 [bulk-etag-present]
  unquoted-etag             ETag without quotes [bulk-etag-syntax]
  ignore-if-none-match      always 200, never 304 [bulk-304-on-match]
  stale-304                 304 for any If-None-Match [bulk-200-on-stale]
  304-with-body             304 carries the JSON body [bulk-304-no-body]
  sse-down                  the event stream answers 503 [sse-content-type]
  sse-wrong-content-type    the event stream is sent as text/plain [sse-content-type]
  sse-named-events          events are `event: refetchEvaluation` [sse-event-message]
  sse-not-json              event data is not JSON [sse-data-json]
  sse-silent                no event on a flag change [sse-notify]
  drop-streams-every=DUR    close every stream every DUR [sse-keepalive]
  slow=DUR                  delay every OFREP answer by DUR [core-endpoints]
  status=CODE               the bulk endpoint answers CODE with a JSON error body; 429
                            and 503 carry Retry-After [core-endpoints]

Exit codes:
  0  stopped by Ctrl-C or SIGTERM
  2  could not start: invalid flag file (file:line), port in use, bad option";

pub const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  ofrep completions bash > ~/.local/share/bash-completion/completions/ofrep
  ofrep completions zsh > ~/.zfunc/_ofrep        with fpath+=~/.zfunc before compinit
  ofrep completions fish > ~/.config/fish/completions/ofrep.fish
  ofrep completions powershell >> $PROFILE
  ofrep completions elvish > ~/.config/elvish/lib/ofrep.elv   then `use ofrep` in rc.elv

Exit codes:
  0  the script was written (also when the reader closed the pipe)
  2  an unknown shell, or stdout could not be written";

pub const MAN_EXAMPLES: &str = "\
Examples:
  ofrep man | man -l -                         read every page now
  ofrep man fetch | man -l -                   only ofrep-fetch(1)
  ofrep man > ~/.local/share/man/man1/ofrep.1  install it for `man ofrep`

Exit codes:
  0  the page was written (also when the reader closed the pipe)
  2  an unknown command, or stdout could not be written";
