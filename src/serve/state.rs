//! What every handler shares: the store, the settings, the log channel, and the switch that
//! closes every open stream.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::body::Bodies;
use super::faults::Faults;
use super::flags::FlagSet;
use super::store::Store;
use super::{ServeConfig, ServeEvent, demo};

pub struct State {
    pub store: Store,
    pub faults: Faults,
    pub public_url: Option<url::Url>,
    pub inactivity_delay: u64,
    pub keepalive: Duration,
    pub require_auth: Option<String>,
    pub control: bool,
    /// The address the listener is bound to: the control API answers only requests for it.
    pub bound: SocketAddr,
    pub bodies: Bodies,
    pub max_streams: usize,
    /// `-v`: log each request's headers.
    pub log_headers: bool,
    pub events: mpsc::UnboundedSender<ServeEvent>,
    /// Open streams, counted by a guard each stream holds.
    pub streams: AtomicUsize,
    /// Bumped to close every open stream; each stream watches it.
    pub stream_generation: watch::Sender<u64>,
}

/// The outcome of a change: which flag, which variant, and the new configuration token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub flag: String,
    pub variant: String,
    pub etag: String,
    pub last_modified: u64,
    /// `None` when the flag already had that variant: nothing changed, no event was sent.
    pub event_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    UnknownFlag(String),
    Invalid(String),
    /// No enabled flag without targeting has two variants, so there is no built-in change.
    NothingToChange,
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFlag(key) => write!(f, "no flag `{key}`"),
            Self::Invalid(message) => f.write_str(message),
            Self::NothingToChange => {
                f.write_str("no enabled flag without targeting has two variants to switch between")
            }
        }
    }
}

impl std::error::Error for ChangeError {}

impl State {
    pub fn new(
        config: &ServeConfig,
        bound: SocketAddr,
        flags: FlagSet,
        events: mpsc::UnboundedSender<ServeEvent>,
    ) -> Self {
        Self {
            store: Store::new(flags),
            faults: Faults::new(config.faults.clone()),
            public_url: config.public_url.clone(),
            inactivity_delay: config.inactivity_delay,
            keepalive: config.keepalive,
            require_auth: config.require_auth.clone(),
            control: config.control,
            bound,
            bodies: Bodies::new(config.max_body_size, config.body_timeout),
            max_streams: config.max_streams,
            log_headers: config.log_headers,
            events,
            streams: AtomicUsize::new(0),
            stream_generation: watch::Sender::new(0),
        }
    }

    pub fn log(&self, event: ServeEvent) {
        // The command may have stopped listening; the server keeps serving regardless.
        let _ = self.events.send(event);
    }

    /// Sets `target`'s flag to its variant, or makes the built-in change when `None`.
    pub fn change(&self, target: Option<(String, String)>) -> Result<Change, ChangeError> {
        let mut outcome = Err(ChangeError::NothingToChange);
        let event = self.store.update(|set| {
            let (flag, variant) = target.or_else(|| demo::next_change(set))?;
            if set.get(&flag).is_none() {
                outcome = Err(ChangeError::UnknownFlag(flag));
                return None;
            }
            match set.with_default_variant(&flag, &variant) {
                Ok(changed) => {
                    outcome = Ok((flag, variant));
                    Some(changed)
                }
                Err(message) => {
                    outcome = Err(ChangeError::Invalid(message));
                    None
                }
            }
        });
        let (flag, variant) = outcome?;
        let current = self.store.current();
        if let Some(event) = &event {
            self.log(ServeEvent::Changed {
                flag: flag.clone(),
                variant: variant.clone(),
                etag: event.etag.clone(),
                event_id: event.id,
            });
        }
        Ok(Change {
            flag,
            variant,
            etag: current.token.clone(),
            last_modified: current.last_modified,
            event_id: event.map(|e| e.id),
        })
    }

    /// Closes every open stream; returns how many were open.
    pub fn drop_streams(&self) -> usize {
        let count = self.streams.load(Ordering::Relaxed);
        self.stream_generation
            .send_modify(|generation| *generation += 1);
        count
    }
}

/// `--demo=INTERVAL`: the built-in change every interval.
pub fn spawn_demo(state: Arc<State>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut warned = false;
        loop {
            ticks.tick().await;
            match state.change(None) {
                Ok(_) => warned = false,
                // Said once per stretch: every flag has targeting or one variant. An edit of
                // the flag file may fix that, so the ticks go on.
                Err(error) if !warned => {
                    warned = true;
                    let message = format!("--demo changes nothing: {error}");
                    state.log(ServeEvent::Warning { message });
                }
                Err(_) => {}
            }
        }
    })
}

/// `--fault drop-streams-every=DURATION`.
pub fn spawn_stream_dropper(state: Arc<State>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            ticks.tick().await;
            let count = state.drop_streams();
            state.log(ServeEvent::StreamsDropped { count });
        }
    })
}
