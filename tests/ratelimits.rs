//! Discord's rate-limit contract: headers on every response, 429 with retry_after, reset.

mod common;

use std::time::Duration;

use serde_json::json;

#[tokio::test]
async fn route_buckets_headers_429_and_reset() {
    let t = common::start().await;
    let token = t.register("limited").await;
    let (_, channel) = t.guild(&token, "Limits").await;
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"rate": {"route_count": 3, "route_window_secs": 1, "message_create_count": 2, "message_create_window_secs": 60}}}),
        )
        .await
        .unwrap();
    let url = t.url("/users/@me");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = t
            .http
            .get(&url)
            .header("authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["x-ratelimit-limit"], "3");
        assert!(
            h.contains_key("x-ratelimit-reset")
                && h.contains_key("x-ratelimit-reset-after")
                && h.contains_key("x-ratelimit-bucket")
        );
        remaining.push(h["x-ratelimit-remaining"].to_str().unwrap().to_string());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = t
        .http
        .get(&url)
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["global"], false);
    assert_eq!(body["message"], "You are being rate limited.");
    let retry = body["retry_after"].as_f64().unwrap();
    assert!(retry > 0.0 && retry <= 1.0, "{retry}");
    // Other routes have their own buckets.
    assert_eq!(
        t.get(&format!("/channels/{channel}"), &token).await.status,
        200
    );
    // After the window the bucket is fresh again.
    tokio::time::sleep(Duration::from_secs_f64(retry + 0.05)).await;
    assert_eq!(t.get("/users/@me", &token).await.status, 200);

    // Message create is limited per channel: 2 per minute here.
    for _ in 0..2 {
        assert_eq!(
            t.post(
                &format!("/channels/{channel}/messages"),
                &token,
                json!({"content": "x"})
            )
            .await
            .status,
            200
        );
    }
    let r = t
        .post(
            &format!("/channels/{channel}/messages"),
            &token,
            json!({"content": "x"}),
        )
        .await;
    assert_eq!(r.status, 429);
    assert!(r.body["retry_after"].as_f64().unwrap() > 50.0);
}

#[tokio::test]
async fn global_and_ip_limits_and_admin_exemption() {
    let t = common::start().await;
    let token = t.register("global").await;
    let admin = t.register("boss").await;
    t.make_admin(&admin).await;
    t.srv()
        .app
        .config()
        .apply_patch(t.srv().app.store().as_ref(), &json!({"limits": {"rate": {"global_per_second": 2, "ip_count": 3, "ip_window_secs": 60}}}))
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for path in ["/users/@me", "/users/@me/guilds", "/users/@me/channels"] {
        statuses.push(t.get(path, &token).await.status);
    }
    assert_eq!(statuses, [200, 200, 429]);
    let r = t.get("/users/@me", &token).await;
    assert_eq!(r.body["global"], true);
    for _ in 0..5 {
        assert_eq!(
            t.get("/users/@me", &admin).await.status,
            200,
            "admins are exempt by default"
        );
    }
    // Unauthenticated requests count per IP (the two registrations above counted too: 3 per
    // window leaves one).
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(
            t.req(reqwest::Method::GET, "/gateway", None, None)
                .await
                .status,
        );
    }
    assert_eq!(codes, [200, 429, 429]);
}

#[tokio::test]
async fn bots_have_their_own_limits() {
    let t = common::start().await;
    let owner = t.register("botmaker").await;
    let app = t
        .post("/applications", &owner, json!({"name": "Fast Bot"}))
        .await;
    let app_id = app.body["id"].as_str().unwrap().to_string();
    let bot = t
        .post(&format!("/applications/{app_id}/bot"), &owner, json!({}))
        .await;
    let bot = format!("Bot {}", bot.body["token"].as_str().unwrap());
    // Users: 2 requests per route window; bots: 4.
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"rate": {"route_count": 2, "route_window_secs": 60, "bot": {"route_count": 4, "route_window_secs": 60}}}}),
        )
        .await
        .unwrap();
    let statuses = |token: String| {
        let t = &t;
        async move {
            let mut out = Vec::new();
            let mut limits = Vec::new();
            for _ in 0..5 {
                let r = t
                    .http
                    .get(t.url("/users/@me"))
                    .header("authorization", &token)
                    .send()
                    .await
                    .unwrap();
                if let Some(l) = r.headers().get("x-ratelimit-limit") {
                    limits.push(l.to_str().unwrap().to_string());
                }
                out.push(r.status().as_u16());
            }
            (out, limits)
        }
    };
    let (user, user_limits) = statuses(owner.clone()).await;
    assert_eq!(user, [200, 200, 429, 429, 429]);
    assert!(user_limits.iter().all(|l| l == "2"), "{user_limits:?}");
    let (bot, bot_limits) = statuses(bot).await;
    assert_eq!(bot, [200, 200, 200, 200, 429]);
    assert!(bot_limits.iter().all(|l| l == "4"), "{bot_limits:?}");
}
