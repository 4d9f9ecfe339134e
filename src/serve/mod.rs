//! The reference OFREP server: bulk and single-flag evaluation with ETag/304, an SSE event stream
//! (ADR-0008), CORS, optional auth, a control API and fault modes.
//!
//! The core never prints: it sends [`ServeEvent`]s over a channel and `commands::serve` renders
//! them.
//!
//! Where each part lives:
//! - `accept`: the accept loop; hands a connection to hyper, or to `stream_connection` when its
//!   first request is the event stream.
//! - `stream_connection`: answers an event-stream-only connection without hyper's buffers.
//! - `http`: the router and the evaluation endpoints; `request_layer` wraps every request (CORS,
//!   `--require-auth`, the `slow` fault, the request log); `control`: the control endpoints.
//! - `stream` and `sse_frame`: the ADR-0008 event stream and its frames.
//! - `body`: request bodies in, JSON error bodies out; `evaluate`: one flag for one context.
//! - `flags`: flagd flag definitions (`evaluators`: their `$ref`s, expanded within a budget); `demo`: the built-in set; `reload`: `--flags FILE`, loaded
//!   and reloaded when it changes; `store` and `state`: what every handler shares.
//! - `faults`: the fault modes; `stray_body`: the socket wrapper behind `304-with-body`.
//! - `tls`: the rustls configuration of `--tls-cert`/`--tls-key`/`--tls-client-ca`.
//! - `listener`: a listener that stops and binds its address again; `launchpad`: flagd-testbed's
//!   launchpad API (`--launchpad`), which stops, starts and restarts the OFREP one.

mod accept;
mod body;
mod control;
mod demo;
mod evaluate;
mod evaluators;
mod faults;
mod flags;
mod http;
mod launchpad;
mod listener;
mod reload;
mod request_layer;
pub(crate) mod sse_frame;
mod state;
mod store;
mod stray_body;
mod stream;
mod stream_connection;
pub mod tls;

/// For the scripted server of `conform --provider`, which answers as this server does.
pub(crate) use body::json_response;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::Error;
use accept::Protocol;
pub use body::BODY_TIMEOUT;
pub use faults::{Fault, FaultError, KNOWN as FAULT_MODES};
pub use flags::FlagSet;
use launchpad::Launchpad;
use listener::Listener;
pub use state::{Change, ChangeError};

/// Everything `Server::start` needs, resolved and validated.
#[derive(Clone)]
pub struct ServeConfig {
    pub host: String,
    pub port: u16,
    /// flagd flag definitions to serve and watch; `None` serves the built-in demo set.
    pub flags_file: Option<PathBuf>,
    /// Make the built-in change every interval.
    pub demo: Option<Duration>,
    /// Advertise the event stream as `url` under this base instead of as `endpoint`.
    pub public_url: Option<url::Url>,
    pub inactivity_delay: u64,
    pub keepalive: Duration,
    pub require_auth: Option<String>,
    pub control: bool,
    pub faults: Vec<Fault>,
    pub max_body_size: usize,
    /// How long a request body may take to arrive (default [`BODY_TIMEOUT`]).
    pub body_timeout: Duration,
    /// Event streams beyond this many are answered 503 (default [`DEFAULT_MAX_STREAMS`]).
    pub max_streams: usize,
    /// `--tls-cert/--tls-key`: serve HTTPS (see [`tls::server_config`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `-v`: each request's log event carries its request and response headers (the reporter
    /// redacts credentials). Off, nothing is copied per request.
    pub log_headers: bool,
    /// `--launchpad PORT`: flagd-testbed's launchpad API on `host:PORT` (0 picks a free port).
    pub launchpad: Option<u16>,
}

/// Each open stream costs a task and a socket; a flood of them must not starve evaluation.
pub const DEFAULT_MAX_STREAMS: usize = 20_000;

// By hand, so the `--require-auth` token never lands in a log or panic message.
impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("flags_file", &self.flags_file)
            .field("demo", &self.demo)
            .field(
                "public_url",
                &self.public_url.as_ref().map(url::Url::as_str),
            )
            .field("inactivity_delay", &self.inactivity_delay)
            .field("keepalive", &self.keepalive)
            .field(
                "require_auth",
                &self.require_auth.as_ref().map(|_| "<redacted>"),
            )
            .field("control", &self.control)
            .field("faults", &self.faults)
            .field("max_body_size", &self.max_body_size)
            .field("body_timeout", &self.body_timeout)
            .field("max_streams", &self.max_streams)
            .field("tls", &self.tls.is_some())
            .field("launchpad", &self.launchpad)
            .finish()
    }
}

impl ServeConfig {
    /// The server `--embedded` runs: 127.0.0.1 on a free port, demo flags, control on, no faults.
    pub fn embedded() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            flags_file: None,
            demo: None,
            public_url: None,
            inactivity_delay: 120,
            keepalive: Duration::from_secs(15),
            require_auth: None,
            control: true,
            faults: Vec::new(),
            max_body_size: 1 << 20,
            body_timeout: BODY_TIMEOUT,
            max_streams: DEFAULT_MAX_STREAMS,
            tls: None,
            log_headers: false,
            launchpad: None,
        }
    }
}

/// What the server reports; the command decides how it looks.
#[derive(Debug, Clone, PartialEq)]
pub enum ServeEvent {
    Listening {
        addr: SocketAddr,
        url: url::Url,
    },
    /// One answered request. `path` has no query string (it may carry tokens). The headers
    /// are empty unless `ServeConfig::log_headers`; values are as sent, for the reporter to
    /// redact.
    Request {
        method: String,
        path: String,
        status: u16,
        elapsed: Duration,
        request_headers: Vec<(String, String)>,
        response_headers: Vec<(String, String)>,
    },
    /// The flag file changed and the new configuration is served (an event was sent).
    Reloaded {
        path: PathBuf,
        etag: String,
        event_id: u64,
    },
    /// The flag file changed but cannot be used; the last good flags stay. `message` names
    /// file:line:column.
    ReloadFailed {
        path: PathBuf,
        message: String,
    },
    /// A control or demo change set `flag` to `variant`.
    Changed {
        flag: String,
        variant: String,
        etag: String,
        event_id: u64,
    },
    /// Every open event stream was closed (control endpoint or `drop-streams-every`).
    StreamsDropped {
        count: usize,
    },
    /// Something the operator should know that does not stop the server.
    Warning {
        message: String,
    },
    /// `--launchpad`: the launchpad API listens here (after the OFREP `Listening`).
    LaunchpadListening {
        addr: SocketAddr,
        url: url::Url,
    },
    /// The launchpad (re)started the OFREP listener with the flag set of `config`; `etag` is
    /// its configuration token, and event ids start again at 1.
    Started {
        config: String,
        etag: String,
    },
    /// The launchpad stopped the OFREP listener; `was_running` is false when it was already
    /// stopped (an answer of success all the same, as the launchpad gives).
    Stopped {
        was_running: bool,
    },
    /// `/restart`: the OFREP listener is down, and comes back in `seconds`.
    Restarting {
        seconds: u64,
    },
    /// The end of a `/restart`: the OFREP listener is back with the flags it had, and event ids
    /// start again at 1.
    Back {
        config: String,
        etag: String,
    },
    /// The launchpad could not bring the OFREP listener up (an unknown config, a flag file
    /// that no longer loads, the port taken meanwhile); it stays down.
    StartFailed {
        config: String,
        message: String,
    },
}

pub struct Server {
    addr: SocketAddr,
    /// Whether it serves HTTPS.
    tls: bool,
    state: Arc<state::State>,
    /// The OFREP listener, which the launchpad may stop and start again.
    ofrep: Arc<Listener>,
    launchpad: Option<(Arc<Launchpad>, Listener)>,
    tasks: Vec<JoinHandle<()>>,
    // Dropping the watcher stops watching, so it lives as long as the server.
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Server {
    /// Loads the flags, binds, and serves in the background. Errors: a blank `require_auth`
    /// token, an invalid flag file (naming file:line:column) or an address that cannot be bound.
    pub async fn start(
        config: ServeConfig,
    ) -> Result<(Server, mpsc::UnboundedReceiver<ServeEvent>), Error> {
        if config
            .require_auth
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            // Every credential would be compared with nothing; `commands::serve` says so first.
            return Err(Error::usage("the required auth token is empty or blank"));
        }
        let flags = match &config.flags_file {
            Some(path) => reload::load(path).await?,
            None => demo::demo_flags(),
        };
        let listener = listen(&config.host, config.port).await.map_err(|e| {
            Error::server(format!(
                "cannot listen on {}:{}: {e}",
                config.host, config.port
            ))
            .with_hint("another program may hold the port; `--port 0` picks a free one")
        })?;
        let addr = bound_address(&listener)?;
        // Bound before anything is served, so a taken launchpad port stops the start cleanly.
        let launchpad_listener = match config.launchpad {
            Some(port) => Some(listen(&config.host, port).await.map_err(|e| {
                Error::server(format!(
                    "cannot listen on {}:{port} for --launchpad: {e}",
                    config.host
                ))
                .with_hint(
                    "another program may hold the port (flagd-testbed's own launchpad uses \
                     8080); `--launchpad 0` picks a free one",
                )
            })?),
            None => None,
        };
        let (events, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(state::State::new(&config, addr, flags, events.clone()));

        let mut tasks = Vec::new();
        let watcher = match &config.flags_file {
            Some(path) => {
                let (watcher, task) =
                    reload::spawn(path.clone(), Arc::clone(&state), events.clone())?;
                tasks.push(task);
                Some(watcher)
            }
            None => None,
        };
        if let Some(every) = config.demo {
            tasks.push(state::spawn_demo(Arc::clone(&state), every));
        }
        if let Some(every) = state.faults.drop_streams_every() {
            tasks.push(state::spawn_stream_dropper(Arc::clone(&state), every));
        }

        let tls = config.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let ofrep = Arc::new(Listener::serve(
            listener,
            addr,
            http::router(Arc::clone(&state)),
            Arc::clone(&state),
            Protocol::Ofrep(tls),
        ));
        let launchpad = match launchpad_listener {
            Some(listener) => {
                let launchpad = Arc::new(Launchpad::new(
                    Arc::clone(&ofrep),
                    Arc::clone(&state),
                    config.flags_file.clone(),
                    config.tls.is_some(),
                ));
                let addr = bound_address(&listener)?;
                let listener = Listener::serve(
                    listener,
                    addr,
                    launchpad::router(Arc::clone(&launchpad)),
                    Arc::clone(&state),
                    Protocol::Launchpad,
                );
                Some((launchpad, listener))
            }
            None => None,
        };

        let server = Server {
            addr,
            tls: config.tls.is_some(),
            state,
            ofrep,
            launchpad,
            tasks,
            _watcher: watcher,
        };
        let _ = events.send(ServeEvent::Listening {
            addr,
            url: server.base_url(),
        });
        if let Some(addr) = server.launchpad_addr() {
            let _ = events.send(ServeEvent::LaunchpadListening {
                addr,
                url: http_url("http", addr),
            });
        }
        Ok((server, receiver))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT/` (`https://` with TLS), the base URL clients use.
    pub fn base_url(&self) -> url::Url {
        http_url(if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Where `--launchpad` listens, if it was asked for.
    pub fn launchpad_addr(&self) -> Option<SocketAddr> {
        self.launchpad.as_ref().map(|(_, listener)| listener.addr())
    }

    /// The built-in change: the first enabled flag without targeting moves to its next variant,
    /// and every open stream is notified. Used by `conform --embedded` and `--demo`.
    pub fn change(&self) -> Result<Change, ChangeError> {
        self.state.change(None)
    }

    /// Sets `flag`'s default variant, as `POST /control/change` does.
    pub fn set_variant(&self, flag: &str, variant: &str) -> Result<Change, ChangeError> {
        self.state
            .change(Some((flag.to_owned(), variant.to_owned())))
    }

    /// The configuration token (the events' `etag`) being served.
    pub fn config_token(&self) -> String {
        self.state.store.current().token.clone()
    }

    /// Closes open streams, stops accepting, and waits (at most two seconds) for requests in
    /// flight.
    pub async fn shutdown(mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some((launchpad, listener)) = self.launchpad.take() {
            // First, so that no pending `/restart` brings the OFREP listener back.
            launchpad.close().await;
            listener.stop().await;
        }
        self.ofrep.stop().await;
    }
}

/// A server dropped without `shutdown` (a caller that returns early) stops at once rather than
/// serving on in the background.
impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some((launchpad, listener)) = &self.launchpad {
            launchpad.abort();
            listener.abort();
        }
        self.ofrep.abort();
    }
}

fn http_url(scheme: &str, addr: SocketAddr) -> url::Url {
    url::Url::parse(&format!("{scheme}://{addr}/"))
        .unwrap_or_else(|_| unreachable!("a socket address makes a valid URL"))
}

fn bound_address(listener: &tokio::net::TcpListener) -> Result<SocketAddr, Error> {
    listener
        .local_addr()
        .map_err(|e| Error::server(format!("cannot read the bound address: {e}")))
}

/// Binds the first address `host` resolves to, with a backlog deep enough for thousands of event
/// streams connecting at once (tokio's default is 1,024).
async fn listen(host: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        match bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("the host resolves to no address")))
}

/// Binds one address: at start, and again when the launchpad brings the OFREP listener back.
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }?;
    // Lets a restarted server take its port back while old connections sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(8192)
}
