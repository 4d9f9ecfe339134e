//! The judgments that need only the finished log of a window: no waiting, so they are unit
//! tested on hand-made logs.

use std::time::Duration;

use super::secs;
use crate::conform::provider::server::{Route, Seen};
use crate::conform::provider::timeline::at;
use crate::conform::world::{Outcome, fail};

/// A reconnect sooner than this share of `retry:` breaks client-backoff.
const RETRY_SLACK: f64 = 0.9;

/// client-inm: each bulk request after the first answered carries the ETag of the last 200 or
/// 304 before it.
pub(super) fn inm_chain(log: &[Seen]) -> Outcome {
    let mut last: Option<&str> = None;
    let mut checked = 0;
    for seen in log.iter().filter(|s| s.route == Route::Bulk) {
        if let Some(etag) = last {
            checked += 1;
            if seen.if_none_match.as_deref() != Some(etag) {
                let sent = seen
                    .if_none_match
                    .as_deref()
                    .map_or("no If-None-Match".to_owned(), |v| {
                        format!("If-None-Match: {v}")
                    });
                return fail(
                    format!("If-None-Match: {etag} (the last ETag received)"),
                    format!("{sent} on {} at {}", seen.target(), at(seen.at)),
                );
            }
        }
        if matches!(seen.status, 200 | 304) && seen.etag.is_some() {
            last = seen.etag.as_deref();
        }
    }
    if checked == 0 {
        return Outcome::NothingToCheck("the provider made no bulk request after its first".into());
    }
    Outcome::Pass
}

/// client-backoff: attempts after `mark` (the drop), each gap measured from the attempt before
/// (the first from the drop).
pub(super) fn backoff(
    log: &[Seen],
    mark: Duration,
    seconds: u64,
    retry: Option<Duration>,
) -> Outcome {
    let attempts: Vec<Duration> = log
        .iter()
        .filter(|s| s.route.is_stream() && s.at > mark && s.at <= mark + secs(seconds))
        .map(|s| s.at)
        .collect();
    let mut gaps = Vec::new();
    let mut previous = mark;
    for attempt in &attempts {
        gaps.push(*attempt - previous);
        previous = *attempt;
    }
    let shown: Vec<String> = gaps
        .iter()
        .map(|g| format!("{} ms", g.as_millis()))
        .collect();
    if let Some(retry) = retry
        && let Some(short) = gaps
            .iter()
            .find(|g| g.as_secs_f64() < retry.as_secs_f64() * RETRY_SLACK)
    {
        return fail(
            format!(
                "no reconnect sooner than the retry: {} ms",
                retry.as_millis()
            ),
            format!(
                "one {} ms after the attempt before (gaps: {})",
                short.as_millis(),
                shown.join(", ")
            ),
        );
    }
    match gaps.as_slice() {
        [] => Outcome::NothingToCheck(format!(
            "no stream attempt in the {seconds} s after the streams were dropped (client-fallback grades that)"
        )),
        [_] => Outcome::NothingToCheck(format!(
            "one stream attempt in {seconds} s: too few to see whether the gaps grow"
        )),
        [first, .., last] if last.as_secs_f64() > first.as_secs_f64() * 1.25 => Outcome::Pass,
        _ => fail(
            "gaps between failing stream attempts that grow",
            format!("{} attempts, gaps {}", attempts.len(), shown.join(", ")),
        ),
    }
}

/// client-fallback: with the stream refused, the provider polls (a bulk request with
/// If-None-Match) or keeps retrying the stream (two attempts or more).
pub(super) fn fallback(log: &[Seen], mark: Duration, seconds: u64) -> Outcome {
    let window = |s: &&Seen| s.at > mark && s.at <= mark + secs(seconds);
    let polls = log
        .iter()
        .filter(window)
        .filter(|s| s.route == Route::Bulk && s.if_none_match.is_some())
        .count();
    let attempts = log
        .iter()
        .filter(window)
        .filter(|s| s.route.is_stream())
        .count();
    if polls >= 1 || attempts >= 2 {
        Outcome::Pass
    } else {
        fail(
            format!(
                "in {seconds} s with the stream refused: a poll with If-None-Match, or stream attempts that go on"
            ),
            format!("{polls} poll(s), {attempts} stream attempt(s)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::provider::server::{URL_STREAM_PATH, URL_STREAM_QUERY};

    fn stream_at(ms: u64) -> Seen {
        Seen {
            at: Duration::from_millis(ms),
            method: "GET".into(),
            path: URL_STREAM_PATH.into(),
            query: Some(URL_STREAM_QUERY.into()),
            route: Route::UrlStream,
            host: None,
            accept: None,
            if_none_match: None,
            last_event_id: None,
            context: Ok(()),
            status: 503,
            etag: None,
            retry_after: None,
        }
    }

    fn bulk_at(ms: u64, inm: Option<&str>, etag: &str) -> Seen {
        Seen {
            method: "POST".into(),
            path: "/ofrep/v1/evaluate/flags".into(),
            query: None,
            route: Route::Bulk,
            if_none_match: inm.map(str::to_owned),
            status: 200,
            etag: Some(etag.into()),
            ..stream_at(ms)
        }
    }

    fn passes(outcome: &Outcome) -> bool {
        matches!(outcome, Outcome::Pass)
    }

    #[test]
    fn growing_gaps_pass_and_a_fixed_interval_or_a_tight_loop_does_not() {
        let mark = Duration::ZERO;
        let growing: Vec<Seen> = [1000, 3000, 7000].map(stream_at).to_vec();
        assert!(passes(&backoff(&growing, mark, 8, Some(secs(1)))));
        let fixed: Vec<Seen> = [1000, 2000, 3000, 4000].map(stream_at).to_vec();
        assert!(matches!(
            backoff(&fixed, mark, 8, Some(secs(1))),
            Outcome::Fail { .. }
        ));
        let tight: Vec<Seen> = (1..50).map(|n| stream_at(n * 10)).collect();
        assert!(matches!(
            backoff(&tight, mark, 8, None),
            Outcome::Fail { .. }
        ));
        // Sooner than retry: 1000 breaks it even when the gaps grow.
        let early: Vec<Seen> = [370, 1500, 4000].map(stream_at).to_vec();
        let outcome = backoff(&early, mark, 8, Some(secs(1)));
        assert!(
            matches!(&outcome, Outcome::Fail { actual, .. } if actual.contains("370 ms")),
            "{outcome:?}"
        );
        assert!(matches!(
            backoff(&[], mark, 8, None),
            Outcome::NothingToCheck(_)
        ));
    }

    #[test]
    fn fallback_passes_on_a_poll_or_on_retries_and_fails_on_giving_up() {
        let mark = Duration::ZERO;
        assert!(passes(&fallback(
            &[bulk_at(500, Some("\"v1\""), "\"v1\"")],
            mark,
            8
        )));
        assert!(passes(&fallback(
            &[stream_at(1000), stream_at(3000)],
            mark,
            8
        )));
        assert!(matches!(
            fallback(&[stream_at(1000)], mark, 8),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn the_etag_chain_follows_the_last_answer() {
        let good = [
            bulk_at(0, None, "\"v1\""),
            bulk_at(100, Some("\"v1\""), "\"v2\""),
            bulk_at(200, Some("\"v2\""), "\"v2\""),
        ];
        assert!(passes(&inm_chain(&good)));
        let stale = [
            bulk_at(0, None, "\"v1\""),
            bulk_at(100, Some("\"v1\""), "\"v2\""),
            bulk_at(200, Some("\"v1\""), "\"v2\""),
        ];
        assert!(matches!(inm_chain(&stale), Outcome::Fail { .. }));
        assert!(matches!(
            inm_chain(&[bulk_at(0, None, "\"v1\"")]),
            Outcome::NothingToCheck(_)
        ));
    }
}
