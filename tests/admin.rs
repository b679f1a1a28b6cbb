//! The admin API (`/api/admin/*`), `/metrics` and the `/admin` pages: access control, the audit
//! log, live configuration, health figures and moderation.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

use common::{Gateway, TestServer};

/// A server with an admin and a regular user; returns (server, admin token, user token).
async fn setup() -> (TestServer, String, String) {
    let t = common::start().await;
    let admin = t.register("root").await;
    t.make_admin(&admin).await;
    let user = t.register("pleb").await;
    (t, admin, user)
}

async fn raw(t: &TestServer, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = t.http.get(format!("{}{path}", t.srv().url()));
    if let Some(token) = token {
        r = r.header("authorization", token);
    }
    r.send().await.expect("request")
}

async fn audit(t: &TestServer, admin: &str) -> Vec<Value> {
    let r = t.get("/admin/audit-log", admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().expect("array").clone()
}

#[tokio::test]
async fn admin_endpoints_refuse_everyone_else() {
    let (t, admin, user) = setup().await;
    let paths = [
        "/admin/config",
        "/admin/health",
        "/admin/audit-log",
        "/admin/users?q=root",
        "/admin/guilds/1",
    ];
    for path in paths {
        let anon = t.req(Method::GET, path, None, None).await;
        assert_eq!(anon.status, 401, "{path} without a token");
        let r = t.get(path, &user).await;
        assert_eq!(r.status, 403, "{path} as a non-admin: {}", r.body);
        assert_eq!(r.body["code"], 50013);
        assert!(
            r.body.get("limits").is_none(),
            "no configuration leaks in the error"
        );
    }
    let writes = [
        (
            Method::PATCH,
            "/admin/config",
            json!({"limits": {"message": {"max_characters": 5}}}),
        ),
        (Method::PATCH, "/admin/users/1", json!({"disabled": true})),
        (Method::DELETE, "/admin/guilds/1", json!({})),
    ];
    for (method, path, body) in writes {
        let r = t.req(method.clone(), path, Some(&user), Some(body)).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    assert_eq!(
        t.get("/admin/config", &admin).await.body["limits"]["message"]["max_characters"],
        2000,
        "nothing changed"
    );
    assert!(audit(&t, &admin).await.is_empty());

    assert_eq!(raw(&t, "/metrics", None).await.status(), 401);
    assert_eq!(raw(&t, "/metrics", Some(&user)).await.status(), 403);
    let bearer = format!("Bearer {admin}");
    let m = raw(&t, "/metrics", Some(&bearer)).await;
    assert_eq!(m.status(), 200);
    assert!(
        m.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = m.text().await.unwrap();
    assert!(text.contains("accord_sessions_online "), "{text}");
    assert!(text.contains("accord_build_info{version=\""), "{text}");
    t.stop().await;
}

#[tokio::test]
async fn config_change_applies_live_and_is_audited() {
    let (t, admin, user) = setup().await;
    let (_guild, channel) = t.guild(&user, "limits").await;
    let path = format!("/channels/{channel}/messages");
    let long = "x".repeat(60);
    assert_eq!(
        t.post(&path, &user, json!({"content": long})).await.status,
        200
    );

    // Invalid: refused with a field error, nothing stored, nothing audited.
    let bad = t
        .patch(
            "/admin/config",
            &admin,
            json!({"limits": {"message": {"max_characters": 0}}, "register": {"minimum_age": 300}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["code"], 50035);
    assert!(
        bad.body["errors"]["register"]["minimum_age"]["_errors"][0]["code"].is_string(),
        "{}",
        bad.body
    );
    let bad = t
        .patch(
            "/admin/config",
            &admin,
            json!({"limits": {"message": {"max_characters": 0}}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["errors"]["limits"]["message"]["max_characters"]["_errors"][0]["code"],
        "NUMBER_TYPE_MIN"
    );
    assert!(audit(&t, &admin).await.is_empty());

    let ok = t
        .patch(
            "/admin/config",
            &admin,
            json!({"limits": {"message": {"max_characters": 50}}, "general": {"instance_name": "Renamed"}}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["limits"]["message"]["max_characters"], 50);

    // The next request sees it.
    let r = t.post(&path, &user, json!({"content": long})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_eq!(
        t.post(&path, &user, json!({"content": "x".repeat(50)}))
            .await
            .status,
        200
    );

    let me = t.me(&admin).await;
    let log = audit(&t, &admin).await;
    assert_eq!(log.len(), 1, "{log:?}");
    let e = &log[0];
    assert_eq!(e["action"], "config.update");
    assert_eq!(e["actor"]["id"], me["id"]);
    assert_eq!(e["actor"]["username"], "root");
    assert!(e["created_at"].as_str().unwrap().ends_with("+00:00"));
    let mut changes = e["changes"].as_array().unwrap().clone();
    changes.sort_by_key(|c| c["key"].as_str().unwrap().to_string());
    assert_eq!(
        changes,
        vec![
            json!({"key": "general.instance_name", "old": "Accord Instance", "new": "Renamed"}),
            json!({"key": "limits.message.max_characters", "old": 2000, "new": 50}),
        ]
    );

    // A patch that changes nothing records nothing; paging with `before` works.
    let same = t
        .patch(
            "/admin/config",
            &admin,
            json!({"limits": {"message": {"max_characters": 50}}}),
        )
        .await;
    assert_eq!(same.status, 200);
    assert_eq!(audit(&t, &admin).await.len(), 1);
    t.patch(
        "/admin/config",
        &admin,
        json!({"limits": {"message": {"max_characters": 60}}}),
    )
    .await;
    let log = audit(&t, &admin).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["changes"][0]["old"], 50);
    let older = t
        .get(
            &format!(
                "/admin/audit-log?limit=1&before={}",
                log[0]["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(older.body.as_array().unwrap().len(), 1);
    assert_eq!(older.body[0]["id"], log[1]["id"]);
    t.stop().await;
}

#[tokio::test]
async fn disabling_an_account_closes_its_sessions_and_revokes_its_tokens() {
    let (t, admin, user) = setup().await;
    let me = t.me(&user).await;
    let id = me["id"].as_str().unwrap().to_string();

    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&user, 513).await;

    // Found by id, email and username.
    for q in [id.as_str(), "pleb@example.com", "PLEB"] {
        let found = t.get(&format!("/admin/users?q={q}"), &admin).await;
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(
            found.body.as_array().unwrap().len(),
            1,
            "{q}: {}",
            found.body
        );
        assert_eq!(found.body[0]["id"], me["id"]);
        assert!(found.body[0].get("password_hash").is_none());
    }
    let found = t.get(&format!("/admin/users/{id}"), &admin).await;
    assert_eq!(found.body["sessions_online"], 1);
    assert_eq!(found.body["disabled"], false);
    assert!(
        t.get("/admin/users?q=nobody", &admin)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );

    let r = t
        .patch(
            &format!("/admin/users/{id}"),
            &admin,
            json!({"disabled": true, "reason": "spam"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(r.body["sessions_closed"], 1);

    // The live session is closed with 4004 (not resumable), the token is refused.
    let closed = loop {
        match gw.next().await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(closed, Some(4004));
    assert_eq!(t.get("/users/@me", &user).await.status, 401);
    let login = t
        .req(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "pleb@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, 403, "{}", login.body);
    // A new gateway connection with the old token is refused too.
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.recv().await;
    gw.send(json!({"op": 2, "d": {"token": user, "intents": 513, "properties": {}}}))
        .await;
    assert_eq!(gw.next().await.err(), Some(Some(4004)));

    // An admin cannot lock themselves out.
    let admin_id = t.me(&admin).await["id"].as_str().unwrap().to_string();
    let selfie = t
        .patch(
            &format!("/admin/users/{admin_id}"),
            &admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(selfie.status, 400, "{}", selfie.body);

    // Enabled again: login works, the old token stays revoked.
    let r = t
        .patch(
            &format!("/admin/users/{id}"),
            &admin,
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["disabled"], false);
    assert_eq!(t.get("/users/@me", &user).await.status, 401);
    let login = t
        .req(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "pleb@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let fresh = login.body["token"].as_str().unwrap();
    assert_eq!(t.get("/users/@me", fresh).await.status, 200);

    let log = audit(&t, &admin).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.enable", "user.disable"]);
    assert_eq!(log[1]["target_id"], me["id"]);
    assert_eq!(log[1]["reason"], "spam");
    assert_eq!(
        log[1]["changes"],
        json!([{"key": "disabled", "old": false, "new": true}])
    );
    t.stop().await;
}

#[tokio::test]
async fn admins_inspect_and_delete_any_guild() {
    let (t, admin, user) = setup().await;
    let (guild, channel) = t.guild(&user, "Doomed").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&user, 513).await;

    let info = t.get(&format!("/admin/guilds/{guild}"), &admin).await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.body["name"], "Doomed");
    assert_eq!(info.body["member_count"], 1);
    assert_eq!(info.body["owner"]["username"], "pleb");
    assert_eq!(info.body["owner_id"], t.me(&user).await["id"]);
    let channels = info.body["channels"].as_array().unwrap();
    assert!(channels.iter().any(|c| c["id"] == channel.as_str()));
    assert_eq!(
        t.get(&format!("/admin/guilds/{}", 42), &admin).await.status,
        404
    );
    // The admin is not a member: the ordinary route still says Unknown Guild.
    assert_eq!(t.get(&format!("/guilds/{guild}"), &admin).await.status, 404);

    let r = t
        .req(
            Method::DELETE,
            &format!("/admin/guilds/{guild}?reason=raid"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(gw.event("GUILD_DELETE").await["id"], guild.as_str());
    assert_eq!(t.get(&format!("/guilds/{guild}"), &user).await.status, 404);
    assert_eq!(
        t.get(&format!("/admin/guilds/{guild}"), &admin)
            .await
            .status,
        404
    );
    let log = audit(&t, &admin).await;
    assert_eq!(log[0]["action"], "guild.delete");
    assert_eq!(log[0]["target_id"], guild.as_str());
    assert_eq!(log[0]["reason"], "raid");
    assert_eq!(log[0]["changes"][0]["old"]["name"], "Doomed");
    t.stop().await;
}

#[tokio::test]
async fn health_reports_sessions_actors_store_and_rates() {
    let (t, admin, user) = setup().await;
    let (_guild, channel) = t.guild(&user, "busy").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&user, 513 | (1 << 15)).await;
    let before = t.get("/admin/health", &admin).await.body;
    let created_before = before["counters"]["messages_created"].as_u64().unwrap();
    let r = t
        .post(
            &format!("/channels/{channel}/messages"),
            &user,
            json!({"content": "hello"}),
        )
        .await;
    assert_eq!(r.status, 200);
    gw.event("MESSAGE_CREATE").await;

    let h = t.get("/admin/health", &admin).await;
    assert_eq!(h.status, 200, "{}", h.body);
    let h = h.body;
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(h["store"]["backend"], "embedded");
    assert_eq!(h["store"]["ok"], true);
    assert!(h["store"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(h["sessions"]["online"].as_u64().unwrap() >= 1);
    assert!(h["actors"]["guild"].as_u64().unwrap() >= 1);
    assert!(h["actors"]["channel"].as_u64().unwrap() >= 1);
    assert!(h["counters"]["messages_created"].as_u64().unwrap() > created_before);
    assert!(h["counters"]["events_fanned_out"].as_u64().unwrap() >= 1);
    assert!(h["uptime_secs"].is_u64());
    assert!(h["history"].is_array());
    assert!(h["rates"]["messages_per_sec"].is_number());

    let bearer = format!("Bearer {admin}");
    let text = raw(&t, "/metrics", Some(&bearer))
        .await
        .text()
        .await
        .unwrap();
    let created: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("accord_messages_created_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(created > created_before, "{text}");
    assert!(text.contains("accord_actors{kind=\"guild\"}"));
    t.stop().await;
}

#[tokio::test]
async fn dashboard_pages_are_served_from_the_binary() {
    let (t, _admin, _user) = setup().await;
    for path in [
        "/admin",
        "/admin/config",
        "/admin/moderation",
        "/admin/audit",
    ] {
        let r = raw(&t, path, None).await;
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert_security_headers(&r, path);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = r.text().await.unwrap();
        assert!(html.contains(r#"<form id="login-form""#), "{path}");
        assert!(html.contains(r#"<div id="content" hidden>"#), "{path}");
    }
    let js = raw(&t, "/admin/assets/admin.js", None).await;
    assert_eq!(js.status(), 200);
    assert_security_headers(&js, "admin.js");
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(raw(&t, "/admin/assets/admin.css", None).await.status(), 200);
    assert_eq!(raw(&t, "/admin/assets/nope.js", None).await.status(), 404);
    t.stop().await;
}

/// What every dashboard response must carry: no framing (clickjacking), no referrer, a CSP
/// that loads only this server's own script, style and API.
fn assert_security_headers(r: &reqwest::Response, what: &str) {
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing from {csp}"
        );
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
}
