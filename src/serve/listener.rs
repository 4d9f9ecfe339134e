//! A listener that can be stopped and started again on the same address: the OFREP port goes
//! away and comes back under the launchpad's `/stop`, `/start` and `/restart`, and providers
//! reconnect to the port they know. The launchpad's own listener is one too, never restarted.
//!
//! Callers serialise `start` and `stop` (the launchpad holds a lock around each action); `abort`
//! is for `Drop`, where nothing can be awaited.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::accept::{self, Protocol};
use super::state::State;

/// How long `stop` waits for the requests in flight before it cuts their connections.
const GRACE: Duration = Duration::from_secs(2);

pub struct Listener {
    addr: SocketAddr,
    router: Router,
    state: Arc<State>,
    protocol: Protocol,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: oneshot::Sender<()>,
    serving: JoinHandle<()>,
}

impl Listener {
    /// Serves on `listener` at once; its address is the one `start` binds again.
    pub fn serve(
        listener: TcpListener,
        addr: SocketAddr,
        router: Router,
        state: Arc<State>,
        protocol: Protocol,
    ) -> Self {
        let this = Self {
            addr,
            router,
            state,
            protocol,
            running: Mutex::new(None),
        };
        this.run(listener);
        this
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    /// Binds the same address again and serves; nothing to do when already serving.
    pub fn start(&self) -> std::io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let listener = super::bind(self.addr)?;
        self.run(listener);
        Ok(())
    }

    /// Stops accepting (the port refuses from here on), closes open event streams, and waits at
    /// most [`GRACE`] for requests in flight. Returns whether it was serving.
    pub async fn stop(&self) -> bool {
        let Some(mut serving) = self.take() else {
            return false;
        };
        if tokio::time::timeout(GRACE, &mut serving).await.is_err() {
            // A connection that outlived the grace period is cut rather than kept forever.
            serving.abort();
            // Awaited so the socket is closed by the time the caller answers.
            let _ = serving.await;
        }
        true
    }

    /// Stops at once, without waiting: for `Drop`.
    pub fn abort(&self) {
        if let Some(serving) = self.take() {
            serving.abort();
        }
    }

    fn run(&self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel();
        let serving = tokio::spawn(accept::serve(
            listener,
            self.router.clone(),
            Arc::clone(&self.state),
            stopped,
            self.protocol.clone(),
        ));
        *self.lock() = Some(Running { stop, serving });
    }

    /// Tells the running loop to stop accepting and hands back its task; OFREP streams are
    /// closed too.
    fn take(&self) -> Option<JoinHandle<()>> {
        let running = self.lock().take()?;
        if matches!(self.protocol, Protocol::Ofrep(_)) {
            self.state.drop_streams();
        }
        // The loop may have ended on its own (a panic); then there is nobody to tell.
        let _ = running.stop.send(());
        Some(running.serving)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
