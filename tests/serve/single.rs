//! The single-flag endpoint: found, not found and error items.

use serde_json::json;

use crate::support::{BULK, json, start_default};

#[tokio::test]
async fn single_flag_answers_found_not_found_and_error_items() {
    let server = start_default().await;
    let found = server
        .bulk_at(
            &format!("{BULK}/premium-support"),
            json!({"email": "a@example.com"}),
            &[],
        )
        .await;
    assert_eq!(found.status(), 200);
    assert_eq!(
        json(found).await,
        json!({"key": "premium-support", "value": true, "variant": "yes", "reason": "TARGETING_MATCH",
               "metadata": {"flagSetId": "ofrep-demo", "version": "1"}})
    );
    let missing = server
        .bulk_at(&format!("{BULK}/no-such-flag"), json!({}), &[])
        .await;
    assert_eq!(missing.status(), 404);
    let body = json(missing).await;
    assert_eq!(
        (body["key"].clone(), body["errorCode"].clone()),
        (json!("no-such-flag"), json!("FLAG_NOT_FOUND"))
    );
    let broken = server
        .bulk_at(&format!("{BULK}/broken-rule"), json!({}), &[])
        .await;
    assert_eq!(broken.status(), 400);
    let body = json(broken).await;
    assert_eq!(
        (body["key"].clone(), body["errorCode"].clone()),
        (json!("broken-rule"), json!("GENERAL"))
    );
    let disabled = json(
        server
            .bulk_at(&format!("{BULK}/legacy-search"), json!({}), &[])
            .await,
    )
    .await;
    assert_eq!(
        disabled,
        json!({"key": "legacy-search", "reason": "DISABLED", "metadata": {"flagSetId": "ofrep-demo", "version": "1"}})
    );
}
