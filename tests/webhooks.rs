//! Webhooks: manage, execute (with and without `wait`, overrides, files), edit/delete their
//! messages, and WEBHOOKS_UPDATE.

mod common;

use common::Gateway;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn webhook_lifecycle() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let guest = t.register("guest").await;
    let (guild, channel) = t.guild(&owner, "Hooks").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&owner, 1 | (1 << 5) | (1 << 9) | (1 << 15))
        .await;
    gw.event("GUILD_CREATE").await;

    let bad = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &owner,
            json!({"name": ""}),
        )
        .await;
    assert_eq!(
        bad.body["errors"]["name"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );
    let hook = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &owner,
            json!({"name": "Announcer"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{}", hook.body);
    let (id, token) = (
        hook.body["id"].as_str().unwrap().to_string(),
        hook.body["token"].as_str().unwrap().to_string(),
    );
    assert_eq!(hook.body["type"], 1);
    assert_eq!(gw.event("WEBHOOKS_UPDATE").await["channel_id"], channel);
    assert_eq!(
        t.get(&format!("/guilds/{guild}/webhooks"), &owner)
            .await
            .body[0]["id"],
        id
    );
    assert_eq!(
        t.get(&format!("/channels/{channel}/webhooks"), &guest)
            .await
            .status,
        404,
        "not a member"
    );

    // Execute without wait → 204; with wait → the message, author from the override.
    let r = t
        .req(
            Method::POST,
            &format!("/webhooks/{id}/{token}"),
            None,
            Some(json!({"content": "fire and forget"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let ev = gw.event("MESSAGE_CREATE").await;
    assert_eq!(ev["webhook_id"], id);
    assert_eq!(ev["author"]["username"], "Announcer");
    assert_eq!(ev["author"]["bot"], true);
    let m = t.req(Method::POST, &format!("/webhooks/{id}/{token}?wait=true"), None, Some(json!({"content": "with wait", "username": "Custom Name", "avatar_url": "http://x/y.png"}))).await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.body["author"]["username"], "Custom Name");
    assert_eq!(m.body["author"]["avatar"], "http://x/y.png");
    let mid = m.body["id"].as_str().unwrap().to_string();
    let history = t
        .get(&format!("/channels/{channel}/messages"), &owner)
        .await;
    assert_eq!(history.body[0]["author"]["username"], "Custom Name");

    // Files through a webhook.
    let form = reqwest::multipart::Form::new()
        .text("payload_json", json!({"content": "a file"}).to_string())
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a.txt"),
        );
    let r = t
        .http
        .post(t.url(&format!("/webhooks/{id}/{token}?wait=true")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["attachments"][0]["filename"], "a.txt");

    // Edit and delete its own message by token; a wrong token is Unknown Webhook.
    let e = t
        .req(
            Method::PATCH,
            &format!("/webhooks/{id}/{token}/messages/{mid}"),
            None,
            Some(json!({"content": "edited"})),
        )
        .await;
    assert_eq!(e.body["content"], "edited");
    assert_eq!(
        t.req(
            Method::GET,
            &format!("/webhooks/{id}/wrong/messages/{mid}"),
            None,
            None
        )
        .await
        .body["code"],
        10015
    );
    let user_msg = t
        .post(
            &format!("/channels/{channel}/messages"),
            &owner,
            json!({"content": "mine"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        t.req(
            Method::DELETE,
            &format!("/webhooks/{id}/{token}/messages/{user_msg}"),
            None,
            None
        )
        .await
        .body["code"],
        10008,
        "only its own messages"
    );
    assert_eq!(
        t.req(
            Method::DELETE,
            &format!("/webhooks/{id}/{token}/messages/{mid}"),
            None,
            None
        )
        .await
        .status,
        204
    );

    // Token view hides the creator; rename by token; delete by id.
    let v = t
        .req(Method::GET, &format!("/webhooks/{id}/{token}"), None, None)
        .await;
    assert!(v.body.get("user").is_none());
    let renamed = t
        .req(
            Method::PATCH,
            &format!("/webhooks/{id}/{token}"),
            None,
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(renamed.body["name"], "Renamed");
    assert_eq!(
        t.delete(&format!("/webhooks/{id}"), &owner).await.status,
        204
    );
    assert_eq!(
        t.req(
            Method::POST,
            &format!("/webhooks/{id}/{token}"),
            None,
            Some(json!({"content": "gone"}))
        )
        .await
        .body["code"],
        10015
    );
}
