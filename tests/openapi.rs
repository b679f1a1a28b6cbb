//! `GET /api/openapi.json`: the OpenAPI 3.1 document, under `/api` and each version prefix.

mod common;

use serde_json::Value;

#[tokio::test]
async fn openapi_document_is_served() {
    let t = common::start().await;
    let base = t.srv().url();

    let resp = t
        .http
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let doc: Value = serde_json::from_str(&resp.text().await.expect("body")).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], format!("{base}/api"));

    let send = &doc["paths"]["/channels/{channel_id}/messages"]["post"];
    assert!(
        send.is_object(),
        "no POST /channels/{{channel_id}}/messages"
    );
    assert_eq!(send["tags"][0], "channels");
    assert_eq!(send["security"][0]["token"], serde_json::json!([]));
    assert!(send["requestBody"]["content"]["multipart/form-data"].is_object());
    let params = doc["paths"]["/channels/{channel_id}/messages"]["parameters"]
        .as_array()
        .expect("path parameters");
    assert_eq!(params[0]["name"], "channel_id");
    assert_eq!(params[0]["in"], "path");

    // Routes without auth say so with an empty security list.
    assert_eq!(
        doc["paths"]["/auth/register"]["post"]["security"],
        serde_json::json!([])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["name"],
        "Authorization"
    );
    let operations: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| {
            item.as_object().map_or(0, |m| m.len()) - usize::from(item.get("parameters").is_some())
        })
        .sum();
    assert_eq!(operations, accord::api::openapi::routes().count());

    // Under a version prefix too, with that prefix in the server URL.
    let v9: Value = t
        .http
        .get(format!("{base}/api/v9/openapi.json"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(v9["servers"][0]["url"], format!("{base}/api/v9"));
    assert_eq!(v9["paths"], doc["paths"]);

    t.stop().await;
}
