//! The first request of a run: does the server answer at all, does it want credentials, and
//! does it advertise event streams (which decides whether the @sse scenarios can run).

use std::time::{Duration, Instant};

use super::world::RunEnv;
use crate::error::Error;
use crate::protocol::answer::Endpoint;
use crate::protocol::client::Request;
use crate::protocol::event_streams;
use crate::protocol::redirect;

/// What the first request learned.
#[derive(Debug, Clone, Copy)]
pub struct FirstAnswer {
    /// Whether the server advertises an event stream; `None` when the server accepted the
    /// connection but did not answer within the timeout (a slow server is judged scenario by
    /// scenario, not refused as unreachable).
    pub advertises_streams: Option<bool>,
    /// The size of the answer's body: every scenario's requests get one about as large.
    pub body_bytes: usize,
}

/// Sends the first bulk request. `Err` when the server cannot be reached, or wants credentials
/// and `auth_required` does not say that is what is being checked.
pub async fn first_request(env: &RunEnv, auth_required: bool) -> Result<FirstAnswer, Error> {
    let started = Instant::now();
    let raw = match env
        .client
        .send_raw(&Request::new(Endpoint::Bulk, env.context.clone()))
        .await
    {
        Ok(raw) => raw,
        Err(error) => {
            let limit = env.client.config().timeout;
            if timed_out(started.elapsed(), limit) && accepts_connections(env, limit).await {
                return Ok(FirstAnswer {
                    advertises_streams: None,
                    body_bytes: 0,
                });
            }
            return Err(error);
        }
    };
    let body_bytes = raw.bytes.len();
    let probe = raw.classify();
    let status = probe.answer.status;
    let answered = probe.redirected_to.as_ref().unwrap_or(&probe.url);
    if let Some(error) = redirect::unfollowed_error(
        status,
        probe.reason,
        probe.answer.header("location"),
        answered,
        env.client.config().follow_redirects,
    ) {
        // Every scenario would be graded on the redirect, not on the OFREP server.
        return Err(error);
    }
    if matches!(status, 401 | 403) && !auth_required {
        return Err(wants_credentials(
            status,
            !env.client.config().headers.is_empty(),
        ));
    }
    // Only `eventStreams` is read: the answer itself is not copied (it may be tens of MB).
    let streams = probe.answer.body.json().and_then(|b| b.get("eventStreams"));
    let advertises = event_streams::entries_of(streams.as_deref(), &env.base)
        .iter()
        .any(|entry| entry.kind.as_deref() == Some("sse") && entry.resolved.is_ok());
    Ok(FirstAnswer {
        advertises_streams: Some(advertises),
        body_bytes,
    })
}

/// Whether a failed request took (about) the whole timeout: the client gave up waiting, rather
/// than being refused. A tenth of slack covers timer granularity.
pub fn timed_out(elapsed: Duration, limit: Duration) -> bool {
    elapsed >= limit.saturating_sub(limit / 10)
}

/// Whether the server's host and port accept a TCP connection within `limit`.
async fn accepts_connections(env: &RunEnv, limit: Duration) -> bool {
    let (Some(host), Some(port)) = (env.base.host_str(), env.base.port_or_known_default()) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    matches!(
        tokio::time::timeout(limit, tokio::net::TcpStream::connect((host, port))).await,
        Ok(Ok(_))
    )
}

/// The first request was refused for want of credentials: every scenario would fail the same
/// way, which says nothing about the server's conformance, so the run stops.
fn wants_credentials(status: u16, sent_some: bool) -> Error {
    let message = if sent_some {
        format!(
            "the server answered {status} to the first request: it does not accept the credentials given"
        )
    } else {
        format!("the server answered {status} to the first request: it wants credentials")
    };
    Error::answer(message).with_hint(
        "pass them with -H 'Authorization: Bearer …' or -H 'X-API-Key: …' (or OFREP_HEADERS); add --auth-required to check that requests without them are refused",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_after_the_whole_timeout_is_a_timeout_and_an_early_one_is_not() {
        let limit = Duration::from_secs(1);
        let table = [
            (Duration::from_millis(5), false),
            (Duration::from_millis(899), false),
            (Duration::from_millis(900), true),
            (Duration::from_millis(1003), true),
        ];
        for (elapsed, expected) in table {
            assert_eq!(timed_out(elapsed, limit), expected, "{elapsed:?}");
        }
    }
}
