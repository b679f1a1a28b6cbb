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

/// Errors of `errors`' validation of `body` against `schema`, a schema of the served document
/// (its `#/components/...` references resolve against the document's components).
fn violations(doc: &Value, schema: &Value, body: &Value) -> Vec<String> {
    let mut root = schema.as_object().expect("a schema object").clone();
    root.insert("components".into(), doc["components"].clone());
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&Value::Object(root))
        .expect("the schema compiles");
    validator
        .iter_errors(body)
        .map(|e| format!("at {}: {e}", e.instance_path().as_str()))
        .collect()
}

/// The 2xx/4XX response schema the document declares for an operation.
fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: &str) -> &'a Value {
    let response = &doc["paths"][path][method]["responses"][status];
    let response = match response["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .expect("the reference resolves"),
        None => response,
    };
    response
        .pointer("/content/application~1json/schema")
        .unwrap_or_else(|| panic!("no JSON schema for {method} {path} {status}: {response}"))
}

/// The document describes responses, and real ones conform: errors (field errors included, whose
/// `code` is a string like Discord's), a Discord-described 200, and a template, whose snapshot
/// refers to its channels by number (the vendored schema admits that; schemathesis found it).
/// A body of the wrong JSON type is answered without naming our Rust types (schemathesis found
/// `Value must be struct UserPatch with 12 elements.`).
#[tokio::test]
async fn responses_conform_to_the_served_document() {
    let t = common::start().await;
    let doc: Value = t
        .http
        .get(t.url("/openapi.json"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let token = t.register("described").await;
    let (guild, channel) = t.guild(&token, "Described").await;

    let wrong_type = t
        .req(
            reqwest::Method::PATCH,
            "/users/@me",
            Some(&token),
            Some(serde_json::json!([])),
        )
        .await;
    assert_eq!(wrong_type.status, 400, "{}", wrong_type.body);
    let text = wrong_type.body.to_string();
    assert!(
        !text.contains("struct") && !text.contains("UserPatch"),
        "{text}"
    );
    assert_eq!(
        wrong_type.body["errors"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_TYPE"
    );
    let error = response_schema(&doc, "/users/@me", "patch", "4XX");
    assert_eq!(
        violations(&doc, error, &wrong_type.body),
        Vec::<String>::new()
    );

    let field = t
        .post(
            &format!("/channels/{channel}/messages"),
            &token,
            serde_json::json!({"content": 5}),
        )
        .await;
    assert_eq!(field.status, 400, "{}", field.body);
    assert!(field.body["errors"]["content"]["_errors"][0]["code"].is_string());
    assert_eq!(violations(&doc, error, &field.body), Vec::<String>::new());

    // Login is Accord's own operation (not in Discord's spec), described by a schema we wrote.
    let login = t
        .req(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(serde_json::json!({"login": "described@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let schema = response_schema(&doc, "/auth/login", "post", "200");
    assert_eq!(violations(&doc, schema, &login.body), Vec::<String>::new());

    let me = t.get("/users/@me", &token).await;
    assert_eq!(me.status, 200);
    let schema = response_schema(&doc, "/users/@me", "get", "200");
    assert!(schema["$ref"].is_string(), "Discord's schema: {schema}");
    assert_eq!(violations(&doc, schema, &me.body), Vec::<String>::new());

    let category = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &token,
            serde_json::json!({"name": "cat", "type": 4}),
        )
        .await;
    assert_eq!(category.status, 201, "{}", category.body);
    let child = t
        .patch(
            &format!("/channels/{channel}"),
            &token,
            serde_json::json!({"parent_id": category.body["id"]}),
        )
        .await;
    assert_eq!(child.status, 200, "{}", child.body);
    let template = t
        .post(
            &format!("/guilds/{guild}/templates"),
            &token,
            serde_json::json!({"name": "tpl"}),
        )
        .await;
    assert_eq!(template.status, 200, "{}", template.body);
    assert!(
        template.body["serialized_source_guild"]["channels"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["parent_id"].is_u64())),
        "a channel refers to its category by number: {}",
        template.body
    );
    let schema = response_schema(&doc, "/guilds/{guild_id}/templates", "post", "200");
    assert_eq!(
        violations(&doc, schema, &template.body),
        Vec::<String>::new()
    );
    t.stop().await;
}
