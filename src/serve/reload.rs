//! Loading `--flags FILE` and reloading it when it changes.
//!
//! The parent directory is watched, not the file: editors save by writing a new file and renaming
//! it over the old one, which a watch on the old inode would never see.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ServeEvent;
use super::flags::FlagSet;
use super::state::State;
use crate::error::Error;

/// Writes that arrive within this window are read once: a save is often a truncate and a write,
/// and reading between the two would see an empty file. Well under the 100 ms the issue allows.
const SETTLE: Duration = Duration::from_millis(15);

/// Reads and validates the flag file at start; an invalid file is an error naming file:line.
pub async fn load(path: &Path) -> Result<FlagSet, Error> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| Error::file(format!("cannot read {}: {e}", path.display())))?;
    FlagSet::parse(&text, &path.display().to_string())
        .map_err(|message| Error::file(message).with_hint("the file must be in flagd's flag-definition format: https://flagd.dev/reference/flag-definitions/"))
}

/// Starts watching `path`; the returned watcher must be kept alive.
pub fn spawn(
    path: PathBuf,
    state: Arc<State>,
    events: mpsc::UnboundedSender<ServeEvent>,
) -> Result<(notify::RecommendedWatcher, JoinHandle<()>), Error> {
    let name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (touched, mut touches) = mpsc::unbounded_channel::<()>();
    // One read once the watch is up catches an edit made between `load` and now; unchanged
    // content sends nothing.
    let _ = touched.send(());
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
        let Ok(event) = result else { return };
        // Our own reads show up as access events; only a finished write means new content.
        let relevant = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) => false,
            _ => true,
        };
        // Kubernetes mounts a ConfigMap file as a symlink through `..data`, which it swaps to
        // update: the event names `..data`, never the file. Reading more often than needed is
        // harmless, since unchanged content sends nothing.
        let ours = |path: &Path| {
            path.file_name()
                .is_some_and(|n| n == name.as_os_str() || n.as_encoded_bytes().starts_with(b".."))
        };
        if relevant && event.paths.iter().any(|p| ours(p)) {
            let _ = touched.send(());
        }
    })
    .map_err(|e| Error::server(format!("cannot watch {}: {e}", path.display())))?;
    watcher
        .watch(&directory, RecursiveMode::NonRecursive)
        .map_err(|e| Error::server(format!("cannot watch {}: {e}", directory.display())))?;

    let task = tokio::spawn(async move {
        while touches.recv().await.is_some() {
            tokio::time::sleep(SETTLE).await;
            while touches.try_recv().is_ok() {}
            reload(&path, &state, &events).await;
        }
    });
    Ok((watcher, task))
}

async fn reload(path: &Path, state: &State, events: &mpsc::UnboundedSender<ServeEvent>) {
    let text = match tokio::fs::read_to_string(path).await {
        Ok(text) => text,
        // Mid-rename the file may be briefly absent; the rename's own event brings us back.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            let message = format!("cannot read {}: {e}", path.display());
            let _ = events.send(ServeEvent::ReloadFailed {
                path: path.to_path_buf(),
                message,
            });
            return;
        }
    };
    match FlagSet::parse(&text, &path.display().to_string()) {
        Ok(flags) => {
            if let Some(event) = state.store.replace(flags) {
                let _ = events.send(ServeEvent::Reloaded {
                    path: path.to_path_buf(),
                    etag: event.etag.clone(),
                    event_id: event.id,
                });
            }
        }
        Err(message) => {
            let _ = events.send(ServeEvent::ReloadFailed {
                path: path.to_path_buf(),
                message,
            });
        }
    }
}
