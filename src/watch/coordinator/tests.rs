use super::*;
use crate::protocol::checks::sse::test_support::event;
use crate::protocol::client::{Client, ClientConfig};

fn sse(event_id: &str, etag: &str) -> Trigger {
    Trigger::Sse {
        stream: 0,
        event_id: Some(event_id.into()),
        etag: Some(etag.into()),
        last_modified: None,
    }
}

fn pending(trigger: Trigger, since: Instant) -> Pending {
    Pending { trigger, since }
}

#[test]
fn a_queued_refetch_keeps_the_newest_event_and_the_oldest_arrival() {
    let first = Instant::now();
    let later = first + Duration::from_millis(5);
    let merged = pending(sse("1", "a"), later).absorb(sse("2", "b"), first);
    assert_eq!(merged, pending(sse("2", "b"), first));
}

#[test]
fn a_reconnect_or_poll_does_not_displace_a_queued_event() {
    let at = Instant::now();
    let reconnect = Trigger::Reconnect { stream: 1 };
    assert_eq!(
        pending(sse("1", "a"), at).absorb(reconnect.clone(), at),
        pending(sse("1", "a"), at)
    );
    assert_eq!(
        pending(sse("1", "a"), at).absorb(Trigger::Poll, at),
        pending(sse("1", "a"), at)
    );
    assert_eq!(
        pending(reconnect.clone(), at).absorb(Trigger::Poll, at),
        pending(reconnect.clone(), at)
    );
    assert_eq!(
        pending(reconnect.clone(), at).absorb(sse("2", "b"), at),
        pending(sse("2", "b"), at)
    );
}

#[test]
fn anything_displaces_a_queued_poll_or_retry() {
    let at = Instant::now();
    let reconnect = Trigger::Reconnect { stream: 1 };
    for queued in [Trigger::Poll, Trigger::Retry] {
        assert_eq!(
            pending(queued.clone(), at).absorb(reconnect.clone(), at),
            pending(reconnect.clone(), at)
        );
        assert_eq!(
            pending(queued.clone(), at).absorb(Trigger::Poll, at),
            pending(Trigger::Poll, at)
        );
    }
    assert_eq!(
        pending(Trigger::Poll, at).absorb(Trigger::Retry, at),
        pending(Trigger::Retry, at)
    );
}

fn refetch_event(id: &str, etag: &str) -> StreamMsg {
    StreamMsg::Event {
        stream: 0,
        event: event(
            "message",
            Some(id),
            &format!(r#"{{"type":"refetchEvaluation","etag":"{etag}"}}"#),
        ),
        arrived: Instant::now(),
    }
}

#[tokio::test]
async fn a_burst_during_a_refetch_merges_into_one_queued_refetch() {
    let base = Url::parse("http://127.0.0.1:9/").expect("a valid URL");
    let client = Client::new(ClientConfig {
        follow_redirects: false,
        tls: Default::default(),
        proxies: Default::default(),
        base: base.clone(),
        headers: Vec::new(),
        timeout: Duration::from_secs(1),
        max_body: 1 << 20,
    })
    .expect("an HTTP client");
    let config = WatchConfig {
        client,
        base,
        context: serde_json::Map::new(),
        mode: ChangeDetection::Sse,
        poll_interval: None,
    };
    let (out, _shown) = mpsc::channel(1);
    let state = State {
        flags: Arc::new(FlagSet::new()),
        etag: None,
    };
    let mut coordinator = Coordinator::new(&config, &out, state, &[], false);
    // A refetch that never answers stands for the one in flight.
    let started = Instant::now();
    let in_flight = tokio::spawn(std::future::pending());
    coordinator.in_flight = Some((
        pending(Trigger::Reconnect { stream: 0 }, started),
        in_flight,
    ));

    let first = refetch_event("1", "a");
    let StreamMsg::Event { arrived, .. } = &first else {
        unreachable!("built as an event")
    };
    let first_arrival = *arrived;
    coordinator.on_stream(first);
    coordinator.on_stream(refetch_event("2", "b"));
    coordinator.on_stream(refetch_event("3", "c"));

    assert!(coordinator.in_flight.is_some(), "no second refetch starts");
    assert_eq!(
        coordinator.queued,
        Some(pending(sse("3", "c"), first_arrival)),
        "one queued refetch, with the newest event's metadata, timed from the first"
    );
    let mut events = 0;
    for event in coordinator.outbox.drain(..) {
        assert!(matches!(event, WatchEvent::Event { .. }), "{event:?}");
        events += 1;
    }
    assert_eq!(events, 3, "every event is still shown");
    if let Some((_, handle)) = coordinator.in_flight.take() {
        handle.abort();
    }
}
