//! The checks one answer can reveal. Each is a pure function from an [`Answer`] to findings,
//! named after its checklist id, with its own unit tests.

pub mod bulk;
mod evaluation;
mod single;
pub mod sse;
mod streams;

pub use streams::entry_checks;
pub mod transport;

use super::answer::{Answer, Endpoint};
use super::finding::Finding;

/// Every check that applies to this answer, in checklist order.
pub fn all(answer: &Answer) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(transport::core_endpoints(answer));
    findings.extend(transport::core_json(answer));
    findings.extend(transport::rate_limit_retry_after(answer));
    findings.extend(transport::error_500_shape(answer));
    match answer.endpoint {
        Endpoint::Single { .. } => {
            findings.extend(single::shape(answer));
            findings.extend(single::not_found(answer));
            findings.extend(single::error_400_shape(answer));
            if answer.status == 200
                && let Some(body) = answer.body.json()
            {
                findings.extend(evaluation::all(&body.tree(), "the answer"));
            }
        }
        Endpoint::Bulk => {
            findings.extend(bulk::shape(answer));
            findings.extend(bulk::error_400_shape(answer));
            findings.extend(bulk::etag_present(answer));
            findings.extend(bulk::etag_syntax(answer));
            findings.extend(bulk::no_body_on_304(answer));
            findings.extend(bulk::etag_on_304(answer));
            findings.extend(bulk::items_evaluations(answer));
            findings.extend(bulk::metadata_values(answer));
            findings.extend(streams::all(answer));
        }
    }
    findings
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::super::answer::{Answer, Body, Endpoint};

    pub fn answer(endpoint: Endpoint, status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        Answer {
            endpoint,
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body: Body::classify(body.as_bytes()),
        }
    }

    pub fn bulk(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        answer(Endpoint::Bulk, status, headers, body)
    }

    pub fn single(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        answer(
            Endpoint::Single {
                key: "my-flag".into(),
            },
            status,
            headers,
            body,
        )
    }

    pub fn ids(findings: &[super::Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    pub const JSON: (&str, &str) = ("content-type", "application/json");
}
