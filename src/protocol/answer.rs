//! What a server answered, in a form the checks can read: status, headers, and the body already
//! classified (empty, JSON, not JSON, not UTF-8, cut short).

use super::document::Document;

/// Which OFREP endpoint a request went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /ofrep/v1/evaluate/flags`
    Bulk,
    /// `POST /ofrep/v1/evaluate/flags/{key}`
    Single { key: String },
}

impl Endpoint {
    /// The path below the base URL, with the key percent-encoded as one path segment.
    pub fn path(&self) -> String {
        match self {
            Self::Bulk => "ofrep/v1/evaluate/flags".to_owned(),
            Self::Single { key } => format!(
                "ofrep/v1/evaluate/flags/{}",
                percent_encoding::utf8_percent_encode(key, PATH_SEGMENT)
            ),
        }
    }
}

/// Characters that must be escaped inside one path segment (RFC 3986 `pchar` complement).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The response body, classified once.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Document),
    /// UTF-8 text that is not JSON; `reason` says where parsing stopped.
    NotJson {
        reason: String,
    },
    /// Bytes that are not UTF-8; JSON must be.
    NotUtf8 {
        valid_up_to: usize,
    },
    /// The connection ended before the body was complete.
    Truncated {
        received: usize,
        cause: String,
    },
}

impl Body {
    pub fn classify(bytes: &[u8]) -> Self {
        Self::classify_owned(bytes.to_vec())
    }

    /// The same, keeping the bytes: a large bulk answer is held as its text, not as a tree.
    pub fn classify_owned(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return Self::Empty;
        }
        // A UTF-8 BOM is not JSON text either (RFC 8259 §8.1 forbids sending one).
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                return Self::NotUtf8 {
                    valid_up_to: e.utf8_error().valid_up_to(),
                };
            }
        };
        match Document::parse(text) {
            Ok(document) => Self::Json(document),
            Err(e) => Self::NotJson {
                reason: format!("{e}"),
            },
        }
    }

    pub fn json(&self) -> Option<&Document> {
        match self {
            Self::Json(value) => Some(value),
            _ => None,
        }
    }

    /// Whether any bytes came at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Empty)
    }

    /// Why this body is not usable JSON, for messages; `None` when it is JSON.
    pub fn problem(&self) -> Option<String> {
        match self {
            Self::Json(_) => None,
            Self::Empty => Some("the body is empty".to_owned()),
            Self::NotJson { reason } => Some(format!("the body is not JSON ({reason})")),
            Self::NotUtf8 { valid_up_to } => Some(format!(
                "the body is not UTF-8 (invalid byte at offset {valid_up_to})"
            )),
            Self::Truncated { received, cause } => Some(format!(
                "the body was cut short after {received} bytes ({cause})"
            )),
        }
    }
}

/// One answer from the server.
#[derive(Debug, Clone)]
pub struct Answer {
    pub endpoint: Endpoint,
    pub status: u16,
    /// Response headers, names lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Answer {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn etag(&self) -> Option<&str> {
        self.header("etag")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_classified() {
        assert_eq!(Body::classify(b""), Body::Empty);
        assert_eq!(
            Body::classify(b"{\"flags\":[]}")
                .json()
                .map(Document::to_value),
            Some(serde_json::json!({"flags": []}))
        );
        assert!(matches!(
            Body::classify(b"{\"flags\":["),
            Body::NotJson { .. }
        ));
        assert!(matches!(Body::classify(b"<html>"), Body::NotJson { .. }));
        assert_eq!(
            Body::classify(b"{\"a\":\"\xff\"}"),
            Body::NotUtf8 { valid_up_to: 6 }
        );
        assert!(matches!(
            Body::classify(b"\xef\xbb\xbf{}"),
            Body::NotJson { .. }
        ));
    }

    #[test]
    fn flag_keys_are_one_path_segment() {
        let endpoint = Endpoint::Single {
            key: "a/b c?d".into(),
        };
        assert_eq!(endpoint.path(), "ofrep/v1/evaluate/flags/a%2Fb%20c%3Fd");
    }
}
