//! The current flag configuration, its token, and the change events every open stream receives.
//!
//! One mutex guards the swap, the event history and the broadcast send, and a stream subscribes
//! under the same mutex after copying the history it must replay: so a change reaches every
//! stream exactly once, never missed between replay and live, never twice.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::broadcast;

use super::flags::FlagSet;

/// How many change events are kept for `Last-Event-ID` replay.
pub const HISTORY: usize = 1_000;

/// The configuration being served.
pub struct Config {
    pub flags: FlagSet,
    /// The configuration token: a quoted strong entity-tag hashed from the definition. Sent as
    /// the events' `etag` and compared with `flagConfigEtag`.
    pub token: String,
    /// When this configuration took effect, Unix seconds.
    pub last_modified: u64,
}

/// One `refetchEvaluation` event, shared by every stream that sends it.
#[derive(Debug, PartialEq, Eq)]
pub struct ChangeEvent {
    pub id: u64,
    pub etag: String,
    pub last_modified: u64,
    /// The event as the SSE frame streams send: rendered by the first stream to send it, so a
    /// change reaching 10,000 streams is rendered once, not 10,000 times.
    pub frame: OnceLock<Bytes>,
}

pub struct Store {
    current: RwLock<Arc<Config>>,
    log: Mutex<Log>,
    sender: broadcast::Sender<Arc<ChangeEvent>>,
}

struct Log {
    next_id: u64,
    history: VecDeque<Arc<ChangeEvent>>,
}

/// What a new stream needs: the events to replay, then the live feed.
pub struct Subscription {
    pub replay: Vec<Arc<ChangeEvent>>,
    /// The id of the newest event at the time of subscribing (0: none yet): the live feed starts
    /// after it.
    pub newest: u64,
    pub live: broadcast::Receiver<Arc<ChangeEvent>>,
}

impl Store {
    pub fn new(flags: FlagSet) -> Self {
        // Big enough that a stream behind by this many events is truly stuck; a lagging stream
        // is sent the latest event instead (see stream.rs).
        let (sender, _) = broadcast::channel(1024);
        let config = Config {
            token: token_of(&flags),
            flags,
            last_modified: unix_now(),
        };
        Self {
            current: RwLock::new(Arc::new(config)),
            log: Mutex::new(Log {
                next_id: 1,
                history: VecDeque::new(),
            }),
            sender,
        }
    }

    pub fn current(&self) -> Arc<Config> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `flags` from now on and notifies every stream; `None` when the configuration is
    /// unchanged (same token), which sends nothing.
    pub fn replace(&self, flags: FlagSet) -> Option<Arc<ChangeEvent>> {
        self.update(|_| Some(flags))
    }

    /// Like [`Store::replace`], computing the new set from the current one under the lock, so
    /// two concurrent control changes cannot lose one another.
    pub fn update(
        &self,
        change: impl FnOnce(&FlagSet) -> Option<FlagSet>,
    ) -> Option<Arc<ChangeEvent>> {
        let mut log = self.lock_log();
        let flags = change(&self.current().flags)?;
        let token = token_of(&flags);
        if token == self.current().token {
            return None;
        }
        let last_modified = unix_now();
        let event = Arc::new(ChangeEvent {
            id: log.next_id,
            etag: token.clone(),
            last_modified,
            frame: OnceLock::new(),
        });
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Config {
            flags,
            token,
            last_modified,
        });
        log.next_id += 1;
        if log.history.len() == HISTORY {
            log.history.pop_front();
        }
        log.history.push_back(Arc::clone(&event));
        // No receivers is fine: nobody is listening.
        let _ = self.sender.send(Arc::clone(&event));
        Some(event)
    }

    /// Serves `flags` as a server just started would: no event is sent, the history is emptied
    /// and the next event has id 1. For the launchpad, while the listener is down and no
    /// stream is open.
    pub fn reset(&self, flags: FlagSet) {
        let mut log = self.lock_log();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Config {
            token: token_of(&flags),
            flags,
            last_modified: unix_now(),
        });
        log.next_id = 1;
        log.history.clear();
    }

    /// Subscribes a stream; `last_event_id` asks for the events after it still in the history.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        let log = self.lock_log();
        let replay = match last_event_id {
            Some(seen) => log
                .history
                .iter()
                .filter(|e| e.id > seen)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        Subscription {
            replay,
            newest: log.next_id - 1,
            live: self.sender.subscribe(),
        }
    }

    fn lock_log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn token_of(flags: &FlagSet) -> String {
    let bytes = serde_json::to_vec(flags.raw()).unwrap_or_default();
    format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&bytes))
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(variant: &str) -> FlagSet {
        let text = format!(
            r#"{{"flags": {{"a": {{"state": "ENABLED", "variants": {{"x": 1, "y": 2}}, "defaultVariant": "{variant}"}}}}}}"#
        );
        FlagSet::parse(&text, "test").unwrap()
    }

    #[test]
    fn the_token_is_a_quoted_tag_that_follows_the_content() {
        let store = Store::new(flags("x"));
        let first = store.current().token.clone();
        assert!(first.starts_with('"') && first.ends_with('"') && first.len() == 18);
        assert_eq!(
            store.replace(flags("x")),
            None,
            "unchanged content sends nothing"
        );
        let event = store.replace(flags("y")).unwrap();
        assert_ne!(event.etag, first);
        assert_eq!(store.current().token, event.etag);
    }

    #[test]
    fn ids_increase_and_replay_starts_after_the_last_seen_id() {
        let store = Store::new(flags("x"));
        let mut live = store.subscribe(None).live;
        let ids: Vec<u64> = ["y", "x", "y"]
            .iter()
            .filter_map(|v| store.replace(flags(v)))
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(live.try_recv().map(|e| e.id), Ok(1));
        let replay: Vec<u64> = store
            .subscribe(Some(1))
            .replay
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(replay, [2, 3]);
        let caught_up = store.subscribe(Some(3));
        assert!(caught_up.replay.is_empty());
        assert_eq!(caught_up.newest, 3);
    }

    #[test]
    fn a_reset_serves_the_flags_and_starts_the_ids_again() {
        let store = Store::new(flags("x"));
        store.replace(flags("y"));
        store.replace(flags("x"));
        store.reset(flags("y"));
        assert_eq!(store.current().token, token_of(&flags("y")));
        let fresh = store.subscribe(Some(0));
        assert!(fresh.replay.is_empty());
        assert_eq!(fresh.newest, 0);
        assert_eq!(store.replace(flags("x")).map(|e| e.id), Some(1));
    }

    #[test]
    fn the_history_is_bounded() {
        let store = Store::new(flags("x"));
        for i in 0..HISTORY + 5 {
            store.replace(flags(if i % 2 == 0 { "y" } else { "x" }));
        }
        let replay = store.subscribe(Some(0)).replay;
        assert_eq!(replay.len(), HISTORY);
        assert_eq!(replay[0].id, 6);
    }
}
