//! Server-Sent Events frames, written by hand so the fault modes can bend them (a named event,
//! data that is not JSON) in ways a library encoder would not allow.

use std::fmt::Write as _;

/// `retry: MS` followed by the blank line that ends the (otherwise empty) event.
pub fn retry(millis: u64) -> String {
    format!("retry: {millis}\n\n")
}

/// A comment line; SSE clients ignore it, proxies see traffic.
pub fn comment(text: &str) -> String {
    let mut frame = String::new();
    for line in split_lines(text) {
        let _ = writeln!(frame, ": {line}");
    }
    frame.push('\n');
    frame
}

/// One event. `event: None` omits the line (which means `message` to clients). Multi-line data is
/// sent as one `data:` line per line, which clients join with LF.
pub fn event(id: Option<u64>, event: Option<&str>, data: &str) -> String {
    let mut frame = String::new();
    if let Some(id) = id {
        let _ = writeln!(frame, "id: {id}");
    }
    if let Some(name) = event {
        // A name with a line break would start a new field: keep only its first line.
        let _ = writeln!(
            frame,
            "event: {}",
            split_lines(name).next().unwrap_or_default()
        );
    }
    for line in split_lines(data) {
        let _ = writeln!(frame, "data: {line}");
    }
    frame.push('\n');
    frame
}

/// Lines as SSE sees them: CRLF, LF and CR all end one.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split("\r\n").flat_map(|part| part.split(['\n', '\r']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_has_id_name_and_data_lines() {
        assert_eq!(
            event(Some(7), Some("message"), r#"{"type":"refetchEvaluation"}"#),
            "id: 7\nevent: message\ndata: {\"type\":\"refetchEvaluation\"}\n\n"
        );
        assert_eq!(event(None, None, "x"), "data: x\n\n");
    }

    #[test]
    fn multi_line_data_and_comments_are_split_per_line() {
        assert_eq!(
            event(None, None, "a\nb\r\nc\rd"),
            "data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(comment("keepalive"), ": keepalive\n\n");
        assert_eq!(comment("a\nb"), ": a\n: b\n\n");
    }

    #[test]
    fn a_name_cannot_inject_fields() {
        assert_eq!(
            event(None, Some("x\ndata: evil"), "d"),
            "event: x\ndata: d\n\n"
        );
    }

    #[test]
    fn retry_is_digits_then_a_blank_line() {
        assert_eq!(retry(2000), "retry: 2000\n\n");
    }
}
