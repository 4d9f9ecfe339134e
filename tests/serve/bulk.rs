//! The bulk endpoint: the demo flags, ETag and 304, and the SSE metadata query parameters.

use ofrep::protocol::etag::EtagVerdict;
use ofrep::serve::ServeConfig;
use serde_json::json;

use crate::support::{BULK, header, json, start, start_default};

#[tokio::test]
async fn bulk_answers_every_demo_flag_with_a_strong_etag_and_an_event_stream() {
    let server = start_default().await;
    let response = server.bulk(json!({"plan": "premium"}), &[]).await;
    assert_eq!(response.status(), 200);
    assert!(
        header(&response, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        EtagVerdict::of(header(&response, "etag").as_deref()),
        EtagVerdict::Strong
    );
    let body = json(response).await;
    let flags = body["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 8);
    for item in flags {
        assert!(item["key"].is_string());
        assert!(
            item["reason"].is_string() ^ item["errorCode"].is_string(),
            "{item}"
        );
    }
    let premium = flags
        .iter()
        .find(|f| f["key"] == "premium-support")
        .unwrap();
    assert_eq!(premium["reason"], "TARGETING_MATCH");
    assert_eq!(
        body["eventStreams"],
        json!([{"type": "sse", "endpoint": {"requestUri": "/ofrep/v1/events"}, "inactivityDelaySec": 120}])
    );
    assert_eq!(body["metadata"]["flagSetId"], "ofrep-demo");
}

#[tokio::test]
async fn a_public_url_advertises_the_stream_in_url_form() {
    let mut config = ServeConfig::embedded();
    config.public_url = Some(url::Url::parse("https://flags.example.com/base/").unwrap());
    config.inactivity_delay = 30;
    let server = start(config).await;
    let body = json(server.bulk(json!({}), &[]).await).await;
    assert_eq!(
        body["eventStreams"],
        json!([{"type": "sse", "url": "https://flags.example.com/base/ofrep/v1/events", "inactivityDelaySec": 30}])
    );
}

#[tokio::test]
async fn a_matching_if_none_match_gives_a_304_without_body_that_repeats_the_etag() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    assert_eq!(
        server.etag(json!({})).await,
        etag,
        "same flags and context, same ETag"
    );
    let response = server.bulk(json!({}), &[("if-none-match", &etag)]).await;
    assert_eq!(response.status(), 304);
    assert_eq!(header(&response, "etag"), Some(etag));
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn if_none_match_honours_lists_weak_tags_and_star() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    let list = format!("\"nope\", {etag}, \"other\"");
    let weak = format!("W/{etag}");
    for inm in [list.as_str(), weak.as_str(), "*"] {
        let response = server.bulk(json!({}), &[("if-none-match", inm)]).await;
        assert_eq!(response.status(), 304, "If-None-Match: {inm}");
    }
    // The list may also arrive as several header lines.
    let request = server
        .client
        .post(server.url(BULK))
        .header("content-type", "application/json")
        .header("if-none-match", "\"nope\"")
        .header("if-none-match", etag.as_str())
        .body("{}");
    assert_eq!(request.send().await.unwrap().status(), 304);
}

#[tokio::test]
async fn a_stale_or_made_up_etag_gives_a_200_with_the_current_etag() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    for inm in ["\"made-up\"", "W/\"also-made-up\"", "garbage", ""] {
        let response = server.bulk(json!({}), &[("if-none-match", inm)]).await;
        assert_eq!(response.status(), 200, "If-None-Match: {inm}");
        assert_eq!(header(&response, "etag").as_ref(), Some(&etag));
    }
}

#[tokio::test]
async fn a_context_that_evaluates_differently_never_gets_a_304_for_another_contexts_etag() {
    let server = start_default().await;
    let free = server.etag(json!({"plan": "free"})).await;
    let premium = server.etag(json!({"plan": "premium"})).await;
    assert_ne!(free, premium);
    let response = server
        .bulk(json!({"plan": "premium"}), &[("if-none-match", &free)])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "etag"), Some(premium));
}

#[tokio::test]
async fn after_a_change_the_etag_changes_and_the_old_one_gives_200() {
    let server = start_default().await;
    let before = server.etag(json!({})).await;
    server.server.change().unwrap();
    let response = server.bulk(json!({}), &[("if-none-match", &before)]).await;
    assert_eq!(response.status(), 200);
    assert_ne!(header(&response, "etag"), Some(before));
}

#[tokio::test]
async fn a_differing_flag_config_etag_forces_a_200_and_query_parameters_alone_never_give_a_304() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    let token = server.server.config_token();
    let stale = format!("{BULK}?flagConfigEtag=%22old%22&flagConfigLastModified=1");
    // protocol#84: the configuration moved on, so a matching If-None-Match must not win.
    let response = server
        .bulk_at(&stale, json!({}), &[("if-none-match", &etag)])
        .await;
    assert_eq!(response.status(), 200);
    // The current token (quoted or not) leaves the If-None-Match decision alone.
    for given in [token.clone(), token.trim_matches('"').to_owned()] {
        let path = format!(
            "{BULK}?flagConfigEtag={}",
            url::form_urlencoded::byte_serialize(given.as_bytes()).collect::<String>()
        );
        let response = server
            .bulk_at(&path, json!({}), &[("if-none-match", &etag)])
            .await;
        assert_eq!(response.status(), 304, "flagConfigEtag={given}");
        let response = server.bulk_at(&path, json!({}), &[]).await;
        assert_eq!(
            response.status(),
            200,
            "the parameters alone are no validator"
        );
    }
    let response = server
        .bulk_at(
            &format!("{BULK}?flagConfigLastModified=2026-01-01T00:00:00Z&x=%ZZ"),
            json!({}),
            &[],
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "odd query strings are never an error"
    );
}
