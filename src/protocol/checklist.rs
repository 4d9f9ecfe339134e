//! The requirement ids of `shared/ofrep-checklist.md` and their levels: what a scenario's `@id:`
//! tag and a `passes check` step may name, and what `--list` shows as uncovered.

use serde::Serialize;

/// How a finding grades, from the checklist: MUST fails, SHOULD warns, INFO never grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Must,
    Should,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
            Self::Info => "INFO",
        }
    }
}

/// Every id, in the checklist's order, with its level.
pub const CHECKLIST: &[(&str, Level)] = &[
    ("core-endpoints", Level::Must),
    ("core-json", Level::Must),
    ("auth-401-403", Level::Should),
    ("rate-limit-retry-after", Level::Should),
    ("error-500-shape", Level::Must),
    ("single-shape", Level::Must),
    ("single-value-type", Level::Must),
    ("single-not-found", Level::Must),
    ("single-400-shape", Level::Must),
    ("reason-known", Level::Should),
    ("metadata-values", Level::Must),
    ("bulk-shape", Level::Must),
    ("bulk-400-shape", Level::Must),
    ("bulk-etag-present", Level::Should),
    ("bulk-etag-syntax", Level::Should),
    ("bulk-304-on-match", Level::Must),
    ("bulk-304-no-body", Level::Must),
    ("bulk-304-etag", Level::Should),
    ("bulk-200-on-stale", Level::Must),
    ("bulk-etag-stable", Level::Must),
    ("bulk-etag-changes", Level::Must),
    ("bulk-etag-context", Level::Should),
    ("bulk-inm-forms", Level::Info),
    ("bulk-query-accepted", Level::Must),
    ("bulk-query-not-validator", Level::Should),
    ("streams-optional", Level::Info),
    ("streams-shape", Level::Must),
    ("streams-one-of", Level::Must),
    ("streams-url", Level::Must),
    ("streams-request-uri", Level::Must),
    ("streams-inactivity", Level::Must),
    ("streams-unknown-type", Level::Info),
    ("streams-legacy-sse", Level::Should),
    ("streams-secret", Level::Must),
    ("sse-content-type", Level::Must),
    ("sse-utf8", Level::Must),
    ("sse-event-message", Level::Must),
    ("sse-data-json", Level::Must),
    ("sse-type", Level::Must),
    ("sse-etag-type", Level::Must),
    ("sse-last-modified", Level::Must),
    ("sse-last-modified-seconds", Level::Should),
    ("sse-id", Level::Should),
    ("sse-retry", Level::Must),
    ("sse-keepalive", Level::Should),
    ("sse-notify", Level::Must),
    ("sse-fresh-after-event", Level::Must),
    ("sse-replay", Level::Info),
    ("polling-works", Level::Must),
    ("polling-without-streams", Level::Must),
    ("cors-preflight", Level::Should),
    ("cors-expose-etag", Level::Should),
];

/// Ids that no scenario can check from outside, and why (shown by `--list`).
pub const NOT_OBSERVABLE: &[(&str, &str)] = &[
    (
        "rate-limit-retry-after",
        "a 429 cannot be provoked without flooding the server; `ofrep fetch` grades one when it happens",
    ),
    (
        "error-500-shape",
        "a 500 cannot be provoked from outside; `fetch` grades one when it happens",
    ),
    (
        "streams-secret",
        "a rule for clients: ofrep itself redacts event-stream URLs in every output",
    ),
];

/// The provider rules (`conform --provider`), in the checklist's order, with their levels.
pub const CLIENT_CHECKLIST: &[(&str, Level)] = &[
    ("client-bulk", Level::Must),
    ("client-inm", Level::Must),
    ("client-connect", Level::Should),
    ("client-ignore-unknown-stream", Level::Must),
    ("client-url-as-is", Level::Should),
    ("client-endpoint-url", Level::Should),
    ("client-refetch-on-event", Level::Must),
    ("client-refetch-params", Level::Should),
    ("client-params-only-on-event", Level::Should),
    ("client-ignore-unknown-event", Level::Must),
    ("client-refetch-on-reconnect", Level::Must),
    ("client-last-event-id", Level::Should),
    ("client-backoff", Level::Should),
    ("client-fallback", Level::Must),
    ("client-coalesce", Level::Should),
    ("client-auth-fatal", Level::Should),
    ("client-retry-after", Level::Should),
    ("client-sse-accept", Level::Info),
    ("client-unconditional-after-inactivity", Level::Info),
];

/// Provider rules no built-in provider scenario checks, and why.
pub const CLIENT_NOT_OBSERVABLE: &[(&str, &str)] = &[(
    "client-unconditional-after-inactivity",
    "only a provider that closes its stream when idle (a hidden browser tab) can show it, and nothing on the server side can make it idle",
)];

/// The level of a server or provider rule.
pub fn level_of(id: &str) -> Option<Level> {
    CHECKLIST
        .iter()
        .chain(CLIENT_CHECKLIST)
        .find(|(known, _)| *known == id)
        .map(|(_, level)| *level)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source of every module that builds findings, read at compile time.
    const CHECK_SOURCES: &[(&str, &str)] = &[
        ("bulk.rs", include_str!("checks/bulk.rs")),
        ("evaluation.rs", include_str!("checks/evaluation.rs")),
        ("single.rs", include_str!("checks/single.rs")),
        ("sse.rs", include_str!("checks/sse.rs")),
        ("streams.rs", include_str!("checks/streams.rs")),
        ("transport.rs", include_str!("checks/transport.rs")),
    ];

    /// The string literal that opens each `Finding::new(` call.
    fn literal_ids(source: &str) -> Vec<&str> {
        source
            .split("Finding::new(")
            .skip(1)
            .filter_map(|call| call.trim_start().strip_prefix('"')?.split('"').next())
            .collect()
    }

    #[test]
    fn every_finding_names_an_id_of_the_table() {
        let mut seen = 0;
        for (file, source) in CHECK_SOURCES {
            for id in literal_ids(source) {
                assert!(level_of(id).is_some(), "{file}: `{id}` is not in CHECKLIST");
                seen += 1;
            }
        }
        // The scan itself must have found the calls, or this test would pass on nothing.
        assert!(
            seen > 40,
            "only {seen} findings found: has Finding::new been renamed?"
        );
    }

    #[test]
    fn ids_appear_once_and_not_observable_ones_are_in_the_table() {
        for (i, (id, _)) in CHECKLIST.iter().enumerate() {
            assert!(
                !CHECKLIST[..i].iter().any(|(other, _)| other == id),
                "`{id}` twice"
            );
        }
        for (id, _) in NOT_OBSERVABLE {
            assert!(level_of(id).is_some(), "`{id}` is not in CHECKLIST");
        }
        for (id, _) in CLIENT_NOT_OBSERVABLE {
            assert!(
                CLIENT_CHECKLIST.iter().any(|(known, _)| known == id),
                "`{id}`"
            );
        }
        for (id, _) in CLIENT_CHECKLIST {
            assert!(
                !CHECKLIST.iter().any(|(known, _)| known == id),
                "`{id}` twice"
            );
        }
    }

    const PROVIDER_SECTION: &str = "## What a static-context provider";

    /// The server rules of `shared/ofrep-checklist.md` (every table before the provider
    /// section): `(id, level)` per row.
    fn shared_server_rules(text: &str) -> Vec<(String, Level)> {
        let server = text.split(PROVIDER_SECTION).next().unwrap_or(text);
        rules(server)
    }

    /// The provider rules: the first table of the provider section.
    fn shared_client_rules(text: &str) -> Vec<(String, Level)> {
        let section = text.split(PROVIDER_SECTION).nth(1).unwrap_or_default();
        let table = section.split("\n## ").next().unwrap_or_default();
        rules(table)
    }

    /// `(id, level)` of every table row in `text`.
    fn rules(text: &str) -> Vec<(String, Level)> {
        text.lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let (id, level) = (*cells.get(1)?, *cells.get(2)?);
                let level = match level.split_whitespace().next()? {
                    "MUST" => Level::Must,
                    "SHOULD" => Level::Should,
                    "INFO" => Level::Info,
                    _ => return None,
                };
                Some((id.to_owned(), level))
            })
            .collect()
    }

    #[test]
    fn the_table_matches_the_shared_checklist() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/ofrep-checklist.md");
        let Ok(text) = std::fs::read_to_string(path) else {
            // A clone outside the workspace has no shared/ beside it; CI and developers do.
            return;
        };
        let shared = shared_server_rules(&text);
        assert!(
            shared.len() > 40,
            "only {} rules read from {path}",
            shared.len()
        );
        for (id, level) in &shared {
            assert_eq!(level_of(id), Some(*level), "`{id}` in the shared checklist");
        }
        for (id, _) in CHECKLIST {
            assert!(
                shared.iter().any(|(known, _)| known == id),
                "`{id}` is not in the shared checklist"
            );
        }
        let client = shared_client_rules(&text);
        let ours: Vec<(String, Level)> = CLIENT_CHECKLIST
            .iter()
            .map(|(id, level)| ((*id).to_owned(), *level))
            .collect();
        assert_eq!(client, ours, "the provider rules of {path}");
    }
}
