//! The `eventStreams` of a bulk answer (ADR-0008): which entries there are and the URL each
//! resolves to. Checks grade the raw JSON; this module is what a client acts on.

use serde_json::Value;
use url::Url;

/// One entry of `eventStreams`, read leniently: whatever is malformed shows up as `None` or as
/// an `Err` in `resolved`, and the checks say why.
#[derive(Debug, Clone, PartialEq)]
pub struct EventStream {
    pub index: usize,
    pub kind: Option<String>,
    /// The URL to connect to: `url` as is, or `origin + requestUri`.
    pub resolved: Result<Url, String>,
    pub inactivity_delay_sec: Option<u64>,
}

/// Every entry of `eventStreams` in the body (none when absent or not an array).
pub fn entries(body: &Value, base: &Url) -> Vec<EventStream> {
    entries_of(body.get("eventStreams"), base)
}

/// Every entry of an `eventStreams` value (none when absent or not an array).
pub fn entries_of(event_streams: Option<&Value>, base: &Url) -> Vec<EventStream> {
    let Some(list) = event_streams.and_then(Value::as_array) else {
        return vec![];
    };
    list.iter()
        .enumerate()
        .map(|(index, entry)| EventStream {
            index,
            kind: entry.get("type").and_then(Value::as_str).map(str::to_owned),
            resolved: resolve(entry, base),
            inactivity_delay_sec: entry.get("inactivityDelaySec").and_then(Value::as_u64),
        })
        .collect()
}

/// The connection URL for one entry. `endpoint` URLs are `origin + requestUri`, the origin
/// defaulting to the OFREP base URL's.
pub fn resolve(entry: &Value, base: &Url) -> Result<Url, String> {
    match (entry.get("url"), entry.get("endpoint")) {
        (Some(_), Some(_)) => Err("has both `url` and `endpoint`".into()),
        (None, None) => Err("has neither `url` nor `endpoint`".into()),
        (Some(url), None) => {
            let text = url.as_str().ok_or("`url` is not a string")?;
            Url::parse(text).map_err(|e| format!("`url` is not an absolute URL ({e})"))
        }
        (None, Some(endpoint)) => {
            let request_uri = endpoint
                .get("requestUri")
                .and_then(Value::as_str)
                .ok_or("`endpoint.requestUri` is missing or not a string")?;
            if !request_uri.starts_with('/') {
                return Err("`endpoint.requestUri` does not start with `/`".into());
            }
            let origin = match endpoint.get("origin") {
                None => base.origin().ascii_serialization(),
                Some(origin) => origin
                    .as_str()
                    .ok_or("`endpoint.origin` is not a string")?
                    .trim_end_matches('/')
                    .to_owned(),
            };
            Url::parse(&format!("{origin}{request_uri}"))
                .map_err(|e| format!("`origin + requestUri` is not a URL ({e})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Url {
        Url::parse("https://flags.example.com:8443/prefix/").unwrap()
    }

    #[test]
    fn url_entries_are_used_as_is() {
        let url = resolve(
            &json!({"type": "sse", "url": "https://sse.example.com/s?t=1"}),
            &base(),
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://sse.example.com/s?t=1");
    }

    #[test]
    fn endpoint_entries_default_to_the_base_origin() {
        let url = resolve(
            &json!({"endpoint": {"requestUri": "/ofrep/v1/events?x=1"}}),
            &base(),
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://flags.example.com:8443/ofrep/v1/events?x=1"
        );
        let url = resolve(
            &json!({"endpoint": {"origin": "http://proxy:81/", "requestUri": "/e"}}),
            &base(),
        )
        .unwrap();
        assert_eq!(url.as_str(), "http://proxy:81/e");
    }

    #[test]
    fn malformed_entries_say_why() {
        assert!(
            resolve(&json!({"url": "/relative"}), &base())
                .unwrap_err()
                .contains("absolute")
        );
        assert!(
            resolve(&json!({"url": "a", "endpoint": {}}), &base())
                .unwrap_err()
                .contains("both")
        );
        assert!(
            resolve(&json!({}), &base())
                .unwrap_err()
                .contains("neither")
        );
        assert!(
            resolve(&json!({"endpoint": {"requestUri": "e"}}), &base())
                .unwrap_err()
                .contains("`/`")
        );
    }

    #[test]
    fn entries_reads_every_item() {
        let body = json!({"eventStreams": [{"type": "sse", "url": "https://a/", "inactivityDelaySec": 30}, {"type": "ws"}]});
        let list = entries(&body, &base());
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].inactivity_delay_sec, Some(30));
        assert_eq!(list[1].kind.as_deref(), Some("ws"));
        assert!(list[1].resolved.is_err());
    }
}
