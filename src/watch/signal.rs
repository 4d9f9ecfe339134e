//! What one SSE event means to `watch` (pure): it is shown as it came, judged by the checklist's
//! event checks in `protocol::checks::sse`, and, when it is a `refetchEvaluation`, it becomes a
//! refetch trigger carrying its metadata. The event only says "something changed"; the refetch
//! says what.

use serde_json::Value;

use super::events::{Trigger, WatchEvent};
use crate::protocol::checks::sse;
use crate::sse::parser::Event;

/// One event, read: what to show, in order, and the refetch it asks for.
#[derive(Debug)]
pub struct Signal {
    pub events: Vec<WatchEvent>,
    pub refetch: Option<Trigger>,
}

/// Reads one event from stream `stream`. `watch` goes on past a broken event: one it cannot read
/// is ignored with a warning, a named one is acted on anyway (by its `data.type`) with a warning.
pub fn read(stream: usize, event: Event) -> Signal {
    let label = event_label(&event);
    let shown = |event_type: &str| WatchEvent::Event {
        stream,
        id: event.id.clone(),
        event_type: event_type.to_owned(),
        data: event.data.clone(),
    };
    let ignored = |broken: &'static str, why: &str| Signal {
        events: vec![
            shown(""),
            WatchEvent::Warning {
                id: Some(broken),
                message: format!("event {label} {why}; ignored"),
            },
        ],
        refetch: None,
    };
    let data = match sse::data_object(&event) {
        Ok(data) => data,
        Err(broken) => return ignored(broken.id, "has data that is not a JSON object"),
    };
    let kind = match sse::data_type(&event, &data) {
        Ok(kind) => kind,
        Err(broken) => return ignored(broken.id, "has no string `type`"),
    };
    let mut events = vec![shown(kind)];
    if let Some(broken) = sse::envelope(&event) {
        events.push(WatchEvent::Warning {
            id: Some(broken.id),
            message: format!(
                "event {label} is named `{}`: browser providers never see named events (acted on anyway, by data.type)",
                event.event_type
            ),
        });
    }
    if kind != "refetchEvaluation" {
        // Unknown types are legal and ignored.
        return Signal {
            events,
            refetch: None,
        };
    }
    let etag = data.get("etag").and_then(Value::as_str).map(str::to_owned);
    let last_modified = match data.get("lastModified") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Signal {
        events,
        refetch: Some(Trigger::Sse {
            stream,
            event_id: event.id,
            etag,
            last_modified,
        }),
    }
}

fn event_label(event: &Event) -> String {
    match &event.id {
        Some(id) => format!("`{id}`"),
        None => "(no id)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::checks::sse::test_support::event as ev;

    fn warnings(signal: &Signal) -> Vec<(Option<&'static str>, String)> {
        signal
            .events
            .iter()
            .filter_map(|event| match event {
                WatchEvent::Warning { id, message } => Some((*id, message.clone())),
                _ => None,
            })
            .collect()
    }

    fn shown_type(signal: &Signal) -> Option<String> {
        match signal.events.first() {
            Some(WatchEvent::Event { event_type, .. }) => Some(event_type.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_refetch_event_carries_its_metadata_to_the_trigger() {
        let signal = read(
            2,
            ev(
                "message",
                Some("7"),
                r#"{"type":"refetchEvaluation","etag":"\"a\"","lastModified":1771622898}"#,
            ),
        );
        assert!(warnings(&signal).is_empty());
        assert_eq!(shown_type(&signal).as_deref(), Some("refetchEvaluation"));
        assert_eq!(
            signal.refetch,
            Some(Trigger::Sse {
                stream: 2,
                event_id: Some("7".into()),
                etag: Some("\"a\"".into()),
                last_modified: Some("1771622898".into()),
            })
        );
    }

    #[test]
    fn an_unknown_type_is_shown_and_asks_for_nothing() {
        let signal = read(0, ev("message", None, r#"{"type":"somethingElse"}"#));
        assert_eq!(shown_type(&signal).as_deref(), Some("somethingElse"));
        assert!(warnings(&signal).is_empty(), "a missing id is not warned");
        assert_eq!(signal.refetch, None);
    }

    #[test]
    fn an_unreadable_event_is_ignored_with_its_check_id() {
        let not_json = read(0, ev("message", Some("1"), "nope"));
        assert_eq!(shown_type(&not_json).as_deref(), Some(""));
        assert_eq!(
            warnings(&not_json),
            [(
                Some("sse-data-json"),
                "event `1` has data that is not a JSON object; ignored".to_owned()
            )]
        );
        assert_eq!(not_json.refetch, None);
        let no_type = read(0, ev("refetchEvaluation", None, r#"{"type":1}"#));
        assert_eq!(
            warnings(&no_type),
            [(
                Some("sse-type"),
                "event (no id) has no string `type`; ignored".to_owned()
            )],
            "an event that cannot be read is not also warned about its name"
        );
        assert_eq!(no_type.refetch, None);
    }

    #[test]
    fn a_named_event_is_acted_on_with_a_warning() {
        let signal = read(
            0,
            ev(
                "refetchEvaluation",
                Some("9"),
                r#"{"type":"refetchEvaluation"}"#,
            ),
        );
        assert_eq!(
            warnings(&signal),
            [(
                Some("sse-event-message"),
                "event `9` is named `refetchEvaluation`: browser providers never see named events (acted on anyway, by data.type)".to_owned()
            )]
        );
        assert!(matches!(signal.refetch, Some(Trigger::Sse { .. })));
    }
}
