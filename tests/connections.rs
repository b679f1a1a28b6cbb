//! Connected accounts, with a real OAuth2 dance: a tiny provider (token and user-info endpoints)
//! runs on loopback, an admin points a provider at it through the config API, and a user links,
//! shows, and unlinks an account.

mod common;

use std::collections::HashMap;

use axum::extract::Form;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use common::Gateway;
use serde_json::json;

/// The provider: `POST /token` trades `good-code` for a token (checking the client and the
/// redirect URI), `GET /user` tells who the token belongs to.
async fn start_provider() -> String {
    let app = axum::Router::new()
        .route(
            "/token",
            post(|Form(f): Form<HashMap<String, String>>| async move {
                let ok = f.get("grant_type").map(String::as_str) == Some("authorization_code")
                    && f.get("code").map(String::as_str) == Some("good-code")
                    && f.get("client_id").map(String::as_str) == Some("cid")
                    && f.get("client_secret").map(String::as_str) == Some("shh")
                    && f.get("redirect_uri")
                        .is_some_and(|u| u.ends_with("/connections/forge"));
                if ok {
                    (
                        StatusCode::OK,
                        axum::Json(json!({"access_token": "tok-123", "token_type": "bearer"})),
                    )
                } else {
                    (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": "invalid_grant"})),
                    )
                }
            }),
        )
        .route(
            "/user",
            get(|headers: HeaderMap| async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some("Bearer tok-123")
                {
                    (
                        StatusCode::OK,
                        axum::Json(json!({"data": {"id": 4242, "login": "octo"}})),
                    )
                } else {
                    (StatusCode::UNAUTHORIZED, axum::Json(json!({})))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn link_show_and_unlink_an_account() {
    let t = common::start().await;
    let provider = start_provider().await;
    let admin = t.register("admin").await;
    t.make_admin(&admin).await;
    let user = t.register("linker").await;
    let friend = t.register("viewer").await;
    let user_id = t.me(&user).await["id"].as_str().unwrap().to_string();
    // The viewer shares a guild with the user, so they may see the profile.
    let (_guild, channel) = t.guild(&user, "Hangout").await;
    t.join_via_invite(&user, &channel, &friend).await;

    // Disabled (the defaults) and absent providers are Unknown Provider.
    for kind in ["github", "forge"] {
        let r = t
            .get(&format!("/connections/{kind}/authorize"), &user)
            .await;
        assert_eq!(
            (r.status, r.body["code"].clone()),
            (404, json!(10010)),
            "{kind}"
        );
    }

    // An enabled provider needs its endpoints and client id.
    let bad = t
        .patch(
            "/admin/config",
            &admin,
            json!({"connections": {"providers": {"forge": {"enabled": true}}}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body["errors"]["connections"]["providers"]["forge"]["client_id"].is_object());
    let ok = t
        .patch(
            "/admin/config",
            &admin,
            json!({"connections": {"providers": {"forge": {
                "enabled": true,
                "name": "Forge",
                "authorize_url": format!("{provider}/authorize"),
                "token_url": format!("{provider}/token"),
                "userinfo_url": format!("{provider}/user"),
                "client_id": "cid",
                "client_secret": "shh",
                "scopes": ["identify", "profile"],
                "id_field": "data.id",
                "name_field": "data.login",
            }}}}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&user, 0).await;

    // authorize → the provider's URL with a signed state.
    let auth = t.get("/connections/forge/authorize", &user).await;
    assert_eq!(auth.status, 200, "{}", auth.body);
    let url = auth.body["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{provider}/authorize?")), "{url}");
    let q = query(url);
    assert_eq!(q["client_id"], "cid");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "identify profile");
    assert!(
        q["redirect_uri"].ends_with("/connections/forge"),
        "{}",
        q["redirect_uri"]
    );
    let state = q["state"].clone();

    // The callback refuses a forged state, another user's state, and a bad code.
    let forged = t
        .post(
            "/connections/forge/callback",
            &user,
            json!({"code": "good-code", "state": format!("{state}x")}),
        )
        .await;
    assert_eq!(
        (forged.status, forged.body["code"].clone()),
        (400, json!(50012))
    );
    let theirs = t
        .post(
            "/connections/forge/callback",
            &friend,
            json!({"code": "good-code", "state": state}),
        )
        .await;
    assert_eq!(theirs.body["code"], 50012, "a state is bound to its user");
    let bad_code = t
        .post(
            "/connections/forge/callback",
            &user,
            json!({"code": "bad-code", "state": state}),
        )
        .await;
    assert_eq!(
        (bad_code.status, bad_code.body["code"].clone()),
        (400, json!(50025))
    );
    let missing = t
        .post("/connections/forge/callback", &user, json!({}))
        .await;
    assert_eq!(
        missing.body["errors"]["code"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );
    assert_eq!(
        missing.body["errors"]["state"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );

    // The real dance: code + state → the provider's account, linked.
    let linked = t
        .post(
            "/connections/forge/callback",
            &user,
            json!({"code": "good-code", "state": state, "friend_sync": true, "insecure": false}),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    assert_eq!(linked.body["type"], "forge");
    assert_eq!(linked.body["id"], "4242");
    assert_eq!(linked.body["name"], "octo");
    assert_eq!(linked.body["verified"], true);
    assert_eq!(linked.body["visibility"], 0);
    assert_eq!(linked.body["friend_sync"], true);
    assert!(
        linked.body.get("access_token").is_none(),
        "the token stays on the server"
    );
    gw.event("USER_CONNECTIONS_UPDATE").await;

    let list = t.get("/users/@me/connections", &user).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["id"], "4242");
    assert!(!list.body.to_string().contains("tok-123"));

    // Hidden from others until the user shows it.
    let profile = t.get(&format!("/users/{user_id}/profile"), &friend).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.body["connected_accounts"], json!([]));
    let bad = t
        .patch(
            "/users/@me/connections/forge/4242",
            &user,
            json!({"visibility": 7}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let shown = t
        .patch(
            "/users/@me/connections/forge/4242",
            &user,
            json!({"visibility": 1, "show_activity": false}),
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["visibility"], 1);
    assert_eq!(shown.body["show_activity"], false);
    gw.event("USER_CONNECTIONS_UPDATE").await;
    let profile = t.get(&format!("/users/{user_id}/profile"), &friend).await;
    assert_eq!(
        profile.body["connected_accounts"],
        json!([{"type": "forge", "id": "4242", "name": "octo", "verified": true}])
    );

    // Linking the same account again keeps the user's choices.
    let state = query(
        t.get("/connections/forge/authorize", &user).await.body["url"]
            .as_str()
            .unwrap(),
    )["state"]
        .clone();
    let relinked = t
        .post(
            "/connections/forge/callback",
            &user,
            json!({"code": "good-code", "state": state}),
        )
        .await;
    assert_eq!(relinked.body["visibility"], 1);
    assert_eq!(
        t.get("/users/@me/connections", &user)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    gw.event("USER_CONNECTIONS_UPDATE").await;

    // Unlinking.
    assert_eq!(
        t.delete("/users/@me/connections/forge/4242", &user)
            .await
            .status,
        204
    );
    gw.event("USER_CONNECTIONS_UPDATE").await;
    assert_eq!(t.get("/users/@me/connections", &user).await.body, json!([]));
    let profile = t.get(&format!("/users/{user_id}/profile"), &friend).await;
    assert_eq!(profile.body["connected_accounts"], json!([]));
    assert_eq!(
        t.delete("/users/@me/connections/forge/4242", &user)
            .await
            .status,
        404
    );
    let r = t
        .patch(
            "/users/@me/connections/forge/4242",
            &user,
            json!({"visibility": 1}),
        )
        .await;
    assert_eq!(r.status, 404);

    // Disabling the provider stops new links.
    t.patch(
        "/admin/config",
        &admin,
        json!({"connections": {"providers": {"forge": {"enabled": false}}}}),
    )
    .await;
    let r = t.get("/connections/forge/authorize", &user).await;
    assert_eq!(r.body["code"], 10010);

    // The admin audit log doesn't keep the client secret.
    let audit = t.get("/admin/audit-log", &admin).await;
    assert!(
        audit
            .body
            .to_string()
            .contains("connections.providers.forge.client_id")
    );
    assert!(!audit.body.to_string().contains("shh"), "{}", audit.body);
}
