//! Transport-level checks: endpoints exist, bodies are JSON, errors are shaped, 429 says when.

use crate::protocol::answer::{Answer, Body, Endpoint};
use crate::protocol::finding::Finding;

/// core-endpoints: a 404, 405 or 501 means the endpoint is not there (or the base URL is wrong).
pub fn core_endpoints(answer: &Answer) -> Vec<Finding> {
    let missing = match answer.endpoint {
        Endpoint::Bulk => matches!(answer.status, 404 | 405 | 501),
        // A 404 from the single-flag endpoint is the normal "flag not found".
        Endpoint::Single { .. } => matches!(answer.status, 405 | 501),
    };
    if !missing {
        return vec![];
    }
    vec![Finding::new(
        "core-endpoints",
        format!(
            "POST /{} answered {}: the endpoint is missing, or the base URL is not the part before /ofrep",
            answer.endpoint.path(),
            answer.status
        ),
    )]
}

/// core-json: 200, 400, 404 and 500 bodies are JSON sent as `application/json` (or `+json`).
/// A 500 may have no body at all (error-500-shape says "if any").
pub fn core_json(answer: &Answer) -> Vec<Finding> {
    let status = answer.status;
    if !matches!(status, 200 | 400 | 404 | 500) || (status == 500 && answer.body == Body::Empty) {
        return vec![];
    }
    let mut findings = Vec::new();
    if let Some(problem) = answer.body.problem() {
        findings.push(Finding::new("core-json", format!("{status}: {problem}")));
    }
    match answer.header("content-type") {
        Some(ct) if is_json_media_type(ct) => {}
        Some(ct) => findings.push(Finding::new(
            "core-json",
            format!("{status}: Content-Type is `{ct}`, not application/json"),
        )),
        None => findings.push(Finding::new(
            "core-json",
            format!("{status}: no Content-Type header"),
        )),
    }
    findings
}

/// `application/json` or any `+json` suffix type, parameters allowed.
pub fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// rate-limit-retry-after: a 429 carries `Retry-After` as delay-seconds or an HTTP date.
pub fn rate_limit_retry_after(answer: &Answer) -> Vec<Finding> {
    if answer.status != 429 {
        return vec![];
    }
    match answer.header("retry-after").map(str::trim) {
        None => vec![Finding::new(
            "rate-limit-retry-after",
            "429 without a Retry-After header",
        )],
        Some(value) if is_retry_after(value) => vec![],
        Some(value) => vec![Finding::new(
            "rate-limit-retry-after",
            format!(
                "429 with Retry-After `{value}`, which is neither delay-seconds nor an HTTP date"
            ),
        )],
    }
}

/// RFC 9110 §10.2.3: `Retry-After = HTTP-date / delay-seconds`.
pub fn is_retry_after(value: &str) -> bool {
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        || httpdate::parse_http_date(value).is_ok()
}

/// error-500-shape: a 500 body, if any, is `{ "errorDetails"?: string }`.
pub fn error_500_shape(answer: &Answer) -> Vec<Finding> {
    if answer.status != 500 {
        return vec![];
    }
    let Some(body) = answer.body.json() else {
        return vec![];
    };
    if !body.is_object() {
        return vec![Finding::new(
            "error-500-shape",
            "500 body is not a JSON object",
        )];
    }
    match body.get("errorDetails").as_deref() {
        Some(details) if !details.is_string() => {
            vec![Finding::new(
                "error-500-shape",
                "500 body has an `errorDetails` that is not a string",
            )]
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::checks::test_support::*;

    #[test]
    fn core_endpoints_flags_a_missing_bulk_endpoint() {
        assert_eq!(
            ids(&core_endpoints(&bulk(404, &[JSON], "{}"))),
            ["core-endpoints"]
        );
        assert_eq!(
            ids(&core_endpoints(&bulk(405, &[], ""))),
            ["core-endpoints"]
        );
        assert!(core_endpoints(&bulk(200, &[JSON], "{}")).is_empty());
        assert!(core_endpoints(&single(404, &[JSON], "{}")).is_empty());
    }

    #[test]
    fn core_json_wants_json_bodies_with_a_json_content_type() {
        assert!(core_json(&bulk(200, &[JSON], "{}")).is_empty());
        assert!(
            core_json(&bulk(
                200,
                &[("content-type", "application/problem+json; charset=utf-8")],
                "{}"
            ))
            .is_empty()
        );
        assert_eq!(
            ids(&core_json(&bulk(
                200,
                &[("content-type", "text/plain")],
                "{}"
            ))),
            ["core-json"]
        );
        assert_eq!(ids(&core_json(&bulk(400, &[JSON], "oops"))), ["core-json"]);
        assert_eq!(ids(&core_json(&bulk(404, &[], "{}"))), ["core-json"]);
        assert_eq!(core_json(&bulk(200, &[], "<html>")).len(), 2);
    }

    #[test]
    fn core_json_lets_a_500_have_no_body_and_ignores_other_statuses() {
        assert!(core_json(&bulk(500, &[], "")).is_empty());
        assert!(core_json(&bulk(304, &[], "")).is_empty());
        assert!(core_json(&bulk(401, &[], "denied")).is_empty());
        assert_eq!(ids(&core_json(&bulk(500, &[], "boom"))).len(), 2);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        assert!(rate_limit_retry_after(&bulk(429, &[("retry-after", "120")], "")).is_empty());
        assert!(
            rate_limit_retry_after(&bulk(
                429,
                &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
                ""
            ))
            .is_empty()
        );
        assert_eq!(
            ids(&rate_limit_retry_after(&bulk(429, &[], ""))),
            ["rate-limit-retry-after"]
        );
        assert_eq!(
            ids(&rate_limit_retry_after(&bulk(
                429,
                &[("retry-after", "soon")],
                ""
            ))),
            ["rate-limit-retry-after"]
        );
        assert_eq!(
            ids(&rate_limit_retry_after(&bulk(
                429,
                &[("retry-after", "-1")],
                ""
            ))),
            ["rate-limit-retry-after"]
        );
        assert!(rate_limit_retry_after(&bulk(200, &[], "")).is_empty());
    }

    #[test]
    fn error_500_is_an_object_with_string_details() {
        assert!(error_500_shape(&bulk(500, &[JSON], "{\"errorDetails\":\"x\"}")).is_empty());
        assert!(error_500_shape(&bulk(500, &[JSON], "{}")).is_empty());
        assert!(error_500_shape(&bulk(500, &[], "")).is_empty());
        assert_eq!(
            ids(&error_500_shape(&bulk(
                500,
                &[JSON],
                "{\"errorDetails\":1}"
            ))),
            ["error-500-shape"]
        );
        assert_eq!(
            ids(&error_500_shape(&bulk(500, &[JSON], "[]"))),
            ["error-500-shape"]
        );
    }
}
