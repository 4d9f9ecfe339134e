//! `--embedded`: the reference server started in-process on 127.0.0.1 and a free port, so every
//! client command works on a fresh machine with nothing else running.

use url::Url;

use crate::error::Error;
use crate::serve::{ServeConfig, Server};

pub struct Embedded {
    server: Server,
    /// Keeps the server's log channel drained; the embedded server's requests are ours.
    drain: tokio::task::JoinHandle<()>,
}

impl Embedded {
    /// Starts the server; with `demo`, it also changes a flag every interval, so `watch
    /// --embedded` shows live changes.
    pub async fn start(demo: Option<std::time::Duration>) -> Result<Self, Error> {
        let config = ServeConfig {
            demo,
            ..ServeConfig::embedded()
        };
        let (server, mut events) = Server::start(config).await?;
        let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
        Ok(Self { server, drain })
    }

    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
        self.drain.abort();
    }
}
