//! The observation steps: what the provider is seen to send, graded from the server's log.
//! Where the checklist leaves a number open, the issue that introduced `--provider` fixed it:
//! "at once" after a reconnect is 1 s, "a couple" of refetches is at most 3, "no retry loop"
//! after a refusal is at most 2 requests in 3 s, and `retry:` is a minimum with 10% slack.

use std::time::Duration;

use super::server::{
    ENDPOINT_STREAM_PATH, ENDPOINT_STREAM_QUERY, Route, Seen, URL_STREAM_PATH, URL_STREAM_QUERY,
};
use super::steps::{Advertised, ProviderAction};
use super::timeline::{at, listed, stream_attempts};
use super::world::ProviderWorld;
use crate::conform::world::{Outcome, fail};
use rules::{backoff, fallback, inm_chain};

mod rules;

/// Timing slack for "nothing before the Retry-After time" (the server's own clock).
const RETRY_AFTER_SLACK: Duration = Duration::from_millis(50);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub async fn observe(world: &mut ProviderWorld<'_>, action: &ProviderAction) -> Outcome {
    use ProviderAction as A;
    let mark = world.mark;
    match action {
        A::BulkWithin {
            seconds,
            etag,
            last_modified,
        } => {
            let wanted = |s: &Seen| {
                s.route == Route::Bulk
                    && s.at >= mark
                    && etag
                        .as_ref()
                        .is_none_or(|e| s.param("flagConfigEtag").as_ref() == Some(e))
                    && last_modified
                        .is_none_or(|lm| s.param("flagConfigLastModified") == Some(lm.to_string()))
            };
            let found = world
                .wait_for(mark + secs(*seconds), |log| {
                    log.iter().find(|s| wanted(s)).map(|s| s.at)
                })
                .await;
            let expected = match (etag, last_modified) {
                (None, _) => format!("a bulk request within {seconds} s"),
                (Some(e), None) => {
                    format!("a bulk request with flagConfigEtag={e} within {seconds} s")
                }
                (Some(e), Some(lm)) => format!(
                    "a bulk request with flagConfigEtag={e} and flagConfigLastModified={lm} within {seconds} s"
                ),
            };
            match found {
                Some(_) => Outcome::Pass,
                None => fail(expected, bulk_after(world, mark)),
            }
        }
        A::InmChain => world.server.with_log(inm_chain),
        A::ConnectsWithin(seconds) => {
            let found = world
                .wait_for(mark + secs(*seconds), |log| {
                    log.iter()
                        .find(|s| s.route.is_stream() && s.status == 200 && s.at >= mark)
                        .map(|s| s.at)
                })
                .await;
            match found {
                Some(_) => Outcome::Pass,
                None => fail(
                    format!("an accepted event-stream connection within {seconds} s"),
                    stream_attempts(&world.server),
                ),
            }
        }
        A::ConnectsAsAdvertised { seconds, form } => {
            connects_as_advertised(world, mark + secs(*seconds), form).await
        }
        A::NoUnknownStream => world.server.with_log(|log| {
            let unknown: Vec<&Seen> = log
                .iter()
                .filter(|s| s.route == Route::UnknownStream)
                .collect();
            if unknown.is_empty() {
                Outcome::Pass
            } else {
                fail("no request to the entry of unknown type", listed(&unknown))
            }
        }),
        A::QuietBulk(seconds) => {
            let deadline = mark + secs(*seconds);
            let early = world
                .wait_for(deadline, |log| {
                    log.iter()
                        .find(|s| s.route == Route::Bulk && s.at > mark)
                        .map(|s| s.at)
                })
                .await;
            world.watch_until(deadline).await;
            match early {
                None => Outcome::Pass,
                Some(_) => fail(
                    format!("no bulk request in the {seconds} s after the event"),
                    bulk_after(world, mark),
                ),
            }
        }
        A::ReconnectsWithin(seconds) => {
            let found = world
                .wait_for(mark + secs(*seconds), |log| {
                    log.iter()
                        .find(|s| s.route.is_stream() && s.status == 200 && s.at > mark)
                        .cloned()
                })
                .await;
            match found {
                Some(reconnect) => {
                    world.reconnect = Some(reconnect);
                    Outcome::Pass
                }
                None => fail(
                    format!("an accepted reconnect within {seconds} s"),
                    stream_attempts(&world.server),
                ),
            }
        }
        A::BulkAfterReconnect(seconds) => {
            let Some(reconnect) = world.reconnect.clone() else {
                return Outcome::Skip("the provider did not reconnect".into());
            };
            let found = world
                .wait_for(reconnect.at + secs(*seconds), |log| {
                    log.iter()
                        .find(|s| s.route == Route::Bulk && s.at >= reconnect.at)
                        .map(|s| s.at)
                })
                .await;
            match found {
                Some(_) => Outcome::Pass,
                None => fail(
                    format!(
                        "a bulk request within {seconds} s of the reconnect at {}",
                        at(reconnect.at)
                    ),
                    bulk_after(world, reconnect.at),
                ),
            }
        }
        A::LastEventId => {
            let Some(reconnect) = world.reconnect.clone() else {
                return Outcome::Skip("the provider did not reconnect".into());
            };
            let sent = world.server.sent();
            let Some(last) = sent.iter().rev().find(|e| e.at <= reconnect.at) else {
                return Outcome::NothingToCheck("no event was sent before the reconnect".into());
            };
            match &reconnect.last_event_id {
                Some(id) if *id == last.id => Outcome::Pass,
                Some(id) => fail(
                    format!("Last-Event-ID: {}", last.id),
                    format!("Last-Event-ID: {id}"),
                ),
                None => fail(
                    format!("Last-Event-ID: {}", last.id),
                    "no Last-Event-ID on the reconnect",
                ),
            }
        }
        A::Backoff(seconds) => {
            world.watch_until(mark + secs(*seconds)).await;
            let retry = world.server.retry_ms().map(Duration::from_millis);
            world
                .server
                .with_log(|log| backoff(log, mark, *seconds, retry))
        }
        A::Fallback(seconds) => {
            world.watch_until(mark + secs(*seconds)).await;
            world.server.with_log(|log| fallback(log, mark, *seconds))
        }
        A::AtMostBulk { count, seconds } => {
            world.watch_until(mark + secs(*seconds)).await;
            world.server.with_log(|log| {
                let bulk: Vec<&Seen> = log
                    .iter()
                    .filter(|s| s.route == Route::Bulk && s.at > mark && s.at <= mark + secs(*seconds))
                    .collect();
                match bulk.len() as u64 {
                    0 => Outcome::NothingToCheck(format!(
                        "no bulk request at all in the {seconds} s after the events (client-refetch-on-event grades that)"
                    )),
                    n if n <= *count => Outcome::Pass,
                    n => fail(
                        format!("at most {count} bulk requests in {seconds} s"),
                        format!("{n}: {}", listed(&bulk)),
                    ),
                }
            })
        }
        A::AtMostAfterRefusal { count, seconds } => {
            let deadline = world.server.now() + secs(10);
            let refused = world
                .wait_for(deadline, |log| {
                    log.iter()
                        .find(|s| s.at >= mark && matches!(s.status, 401 | 403))
                        .map(|s| (s.at, s.status))
                })
                .await;
            let Some((refused_at, status)) = refused else {
                return Outcome::NothingToCheck(
                    "the provider sent nothing that could be refused".into(),
                );
            };
            let end = refused_at + secs(*seconds);
            world.watch_until(end).await;
            world.server.with_log(|log| {
                let after: Vec<&Seen> = log
                    .iter()
                    .filter(|s| s.at > refused_at && s.at <= end)
                    .collect();
                if after.len() as u64 <= *count {
                    Outcome::Pass
                } else {
                    fail(
                        format!(
                            "at most {count} requests in the {seconds} s after the {status} at {}",
                            at(refused_at)
                        ),
                        format!("{}: {}", after.len(), listed(&after)),
                    )
                }
            })
        }
        A::RetryAfterHonoured => {
            let deadline = world.server.now() + secs(10);
            let limited = world
                .wait_for(deadline, |log| {
                    log.iter()
                        // The 429 may have been answered before the last action (an event
                        // sent to tempt the provider): the first one counts.
                        .find(|s| s.route == Route::Bulk && s.retry_after.is_some())
                        .map(|s| (s.at, s.retry_after.unwrap_or_default()))
                })
                .await;
            let Some((limited_at, seconds)) = limited else {
                return Outcome::NothingToCheck("no bulk request came to be answered 429".into());
            };
            let until = limited_at + secs(seconds);
            world.watch_until(until).await;
            world.server.with_log(|log| {
                let early: Vec<&Seen> = log
                    .iter()
                    .filter(|s| {
                        s.route == Route::Bulk
                            && s.at > limited_at
                            && s.at + RETRY_AFTER_SLACK < until
                    })
                    .collect();
                if early.is_empty() {
                    Outcome::Pass
                } else {
                    fail(
                        format!(
                            "no bulk request before {} (the 429 at {} said Retry-After: {seconds})",
                            at(until),
                            at(limited_at)
                        ),
                        listed(&early),
                    )
                }
            })
        }
        A::ParamsOnlyOnEvent => {
            let sent = world.server.sent();
            world.server.with_log(|log| {
                let untriggered: Vec<&Seen> = log
                    .iter()
                    .filter(|s| s.route == Route::Bulk)
                    .filter(|s| {
                        // Attributed by the event's etag, so coalescing cannot confuse it.
                        let etag = s.param("flagConfigEtag");
                        !sent.iter().any(|e| {
                            e.at <= s.at && e.etag.is_some() && e.etag == etag
                        })
                    })
                    .filter(|s| {
                        s.param("flagConfigEtag").is_some()
                            || s.param("flagConfigLastModified").is_some()
                    })
                    .collect();
                if untriggered.is_empty() {
                    Outcome::Pass
                } else {
                    fail(
                        "no flagConfigEtag or flagConfigLastModified on requests no event triggered",
                        listed(&untriggered),
                    )
                }
            })
        }
        A::SseAccept => world.server.with_log(|log| {
            let streams: Vec<&Seen> = log.iter().filter(|s| s.route.is_stream()).collect();
            if streams.is_empty() {
                return Outcome::NothingToCheck("the provider made no stream request".into());
            }
            let without: Vec<String> = streams
                .iter()
                .filter(|s| {
                    !s.accept
                        .as_deref()
                        .is_some_and(|a| a.contains("text/event-stream"))
                })
                .map(|s| match &s.accept {
                    Some(accept) => format!("Accept: {accept} at {}", at(s.at)),
                    None => format!("no Accept at {}", at(s.at)),
                })
                .collect();
            if without.is_empty() {
                Outcome::Pass
            } else {
                fail(
                    "Accept: text/event-stream on every stream request",
                    without.join("; "),
                )
            }
        }),
        _ => Outcome::Pass,
    }
}

/// The bulk requests after `from`, for a message.
fn bulk_after(world: &ProviderWorld<'_>, from: Duration) -> String {
    world.server.with_log(|log| {
        let bulk: Vec<&Seen> = log
            .iter()
            .filter(|s| s.route == Route::Bulk && s.at >= from)
            .collect();
        if bulk.is_empty() {
            format!("no bulk request after {}", at(from))
        } else {
            listed(&bulk)
        }
    })
}

async fn connects_as_advertised(
    world: &mut ProviderWorld<'_>,
    deadline: Duration,
    form: &Advertised,
) -> Outcome {
    let mark = world.mark;
    let first = world
        .wait_for(deadline, |log| {
            log.iter()
                .find(|s| s.at >= mark && s.method == "GET")
                .cloned()
        })
        .await;
    let Some(first) = first else {
        return fail(
            "a connection to the advertised stream",
            stream_attempts(&world.server),
        );
    };
    let base = world.server.base_url();
    let authority = base.trim_start_matches("http://");
    let (route, path, query, what) = match form {
        Advertised::Endpoint => (
            Route::EndpointStream,
            ENDPOINT_STREAM_PATH,
            ENDPOINT_STREAM_QUERY,
            "the endpoint's requestUri on the base URL's origin",
        ),
        _ => (
            Route::UrlStream,
            URL_STREAM_PATH,
            URL_STREAM_QUERY,
            "the url as advertised",
        ),
    };
    let expected = format!("GET {path}?{query} on {authority} ({what})");
    let right_place = first.route == route
        && first.query.as_deref() == Some(query)
        && first.host.as_deref() == Some(authority);
    if right_place {
        Outcome::Pass
    } else {
        let host = first.host.as_deref().unwrap_or("no Host header");
        fail(expected, format!("{} on {host}", first.target()))
    }
}
