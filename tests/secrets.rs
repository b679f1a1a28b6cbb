//! Secrets stay secret: the instance key file is owner-only, and a full run at debug level
//! through every path that carries a token or a password (register, login, a wrong password,
//! password change, logout, gateway IDENTIFY, bot token and its reset, webhook execution,
//! interaction callback and follow-up) writes none of them to the log. Revoking tokens
//! (password change, logout, bot token reset) also ends the sessions opened with them.

mod common;

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use accord::telemetry::{LogFormat, subscriber};
use common::{Gateway, TestServer};
use reqwest::Method;
use serde_json::json;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Capture {
    type Writer = Capture;
    fn make_writer(&'w self) -> Capture {
        self.clone()
    }
}

/// Every test of this binary logs into one buffer, at debug for every crate (ours, hyper,
/// tower-http, the HTTP and WebSocket clients of the test itself).
fn capture() -> Capture {
    static LOG: OnceLock<Capture> = OnceLock::new();
    LOG.get_or_init(|| {
        let capture = Capture::default();
        tracing::subscriber::set_global_default(subscriber(
            LogFormat::Json,
            EnvFilter::new("debug"),
            capture.clone(),
            false,
        ))
        .expect("subscriber");
        capture
    })
    .clone()
}

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "staple-gun-Zebra-9071";
const WRONG_PASSWORD: &str = "not-my-password-4412";

async fn login(t: &TestServer, email: &str, password: &str) -> common::Resp {
    t.req(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"login": email, "password": password})),
    )
    .await
}

/// Reads until the connection closes; returns the close code.
async fn closed_with(gw: &mut Gateway) -> Option<u16> {
    loop {
        match gw.next().await {
            Ok(_) => continue,
            Err(code) => return code,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_password_reaches_the_log() {
    let log = capture();
    let t = common::start().await;
    let url = t.gateway_url("v=10&encoding=json");
    let mut secrets: Vec<(String, String)> = Vec::new();

    // Accounts: register, log in, a wrong password.
    let owner = t.register("secretowner").await;
    let member = t.register("secretmember").await;
    secrets.push(("owner token".into(), owner.clone()));
    secrets.push(("member token".into(), member.clone()));
    let r = login(&t, "secretmember@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let member = r.body["token"].as_str().expect("token").to_string();
    secrets.push(("member login token".into(), member.clone()));
    let r = login(&t, "secretmember@example.com", WRONG_PASSWORD).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = t
        .req_with(
            Method::GET,
            "/users/@me",
            Some("forged.bearer.token-abcdefghijklmnop"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 401);

    // Password change: a new token; the old one and the session opened with it end.
    let mut old_session = Gateway::connect(&url, false).await;
    old_session.identify(&member, 513).await;
    let r = t
        .patch(
            "/users/@me",
            &member,
            json!({"password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let changed = r.body["token"].as_str().expect("new token").to_string();
    secrets.push(("token after password change".into(), changed.clone()));
    assert_eq!(closed_with(&mut old_session).await, Some(4004));
    assert_eq!(t.get("/users/@me", &member).await.status, 401);
    assert_eq!(t.get("/users/@me", &changed).await.status, 200);
    let r = login(&t, "secretmember@example.com", PASSWORD).await;
    assert_eq!(r.status, 400, "the old password is refused: {}", r.body);
    let r = login(&t, "secretmember@example.com", NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let member = r.body["token"].as_str().expect("token").to_string();
    secrets.push(("token after new-password login".into(), member.clone()));

    // Logout ends every token and the sessions opened with them.
    let second = login(&t, "secretowner@example.com", PASSWORD).await.body["token"]
        .as_str()
        .expect("token")
        .to_string();
    secrets.push(("owner second token".into(), second.clone()));
    let mut owner_session = Gateway::connect(&url, false).await;
    owner_session.identify(&second, 513).await;
    let r = t
        .req(Method::POST, "/auth/logout", Some(&second), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(closed_with(&mut owner_session).await, Some(4004));
    assert_eq!(t.get("/users/@me", &owner).await.status, 401);
    let owner = login(&t, "secretowner@example.com", PASSWORD).await.body["token"]
        .as_str()
        .expect("token")
        .to_string();
    secrets.push(("owner token after logout".into(), owner.clone()));

    // A guild, a bot in it, a command.
    let (guild, channel) = t.guild(&owner, "Secrets").await;
    t.join_via_invite(&owner, &channel, &member).await;
    let app = t
        .post("/applications", &owner, json!({"name": "Secret Bot"}))
        .await;
    let app_id = app.body["id"].as_str().expect("app id").to_string();
    let bot = t
        .post(&format!("/applications/{app_id}/bot"), &owner, json!({}))
        .await;
    let bot_token = bot.body["token"].as_str().expect("bot token").to_string();
    secrets.push(("bot token".into(), bot_token.clone()));
    let bot = format!("Bot {bot_token}");
    let added = t
        .post(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot"),
            &owner,
            json!({"guild_id": guild, "permissions": "3072", "authorize": true}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let command = t
        .post(
            &format!("/applications/{app_id}/guilds/{guild}/commands"),
            &bot,
            json!({"name": "echo", "description": "Says it back"}),
        )
        .await;
    assert_eq!(command.status, 201, "{}", command.body);
    let command = command.body["id"].as_str().expect("command id").to_string();
    let mut bot_gw = Gateway::connect(&url, false).await;
    bot_gw.identify(&bot, 513).await;

    // An interaction: its token travels in the path of the callback and the follow-up.
    let r = t
        .post(
            "/interactions",
            &member,
            json!({
                "type": 2, "application_id": app_id, "guild_id": guild, "channel_id": channel,
                "session_id": "abc", "nonce": "1",
                "data": {"id": command, "name": "echo", "type": 1, "version": "1"},
            }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let interaction = bot_gw.event("INTERACTION_CREATE").await;
    let interaction_token = interaction["token"].as_str().expect("token").to_string();
    secrets.push(("interaction token".into(), interaction_token.clone()));
    let id = interaction["id"].as_str().expect("id");
    let r = t
        .req(
            Method::POST,
            &format!("/interactions/{id}/{interaction_token}/callback"),
            None,
            Some(json!({"type": 4, "data": {"content": "echo"}})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t
        .req(
            Method::POST,
            &format!("/webhooks/{app_id}/{interaction_token}"),
            None,
            Some(json!({"content": "follow-up"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A webhook, executed by its token.
    let hook = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &owner,
            json!({"name": "hook"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{}", hook.body);
    let hook_token = hook.body["token"].as_str().expect("hook token").to_string();
    secrets.push(("webhook token".into(), hook_token.clone()));
    let hook_id = hook.body["id"].as_str().expect("hook id");
    let r = t
        .req(
            Method::POST,
            &format!("/webhooks/{hook_id}/{hook_token}?wait=true"),
            None,
            Some(json!({"content": "by hook"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Bot token reset: the new token works, the old one and its session end.
    let reset = t
        .post(
            &format!("/applications/{app_id}/bot/reset"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let new_bot = reset.body["token"].as_str().expect("token").to_string();
    secrets.push(("reset bot token".into(), new_bot.clone()));
    assert_eq!(closed_with(&mut bot_gw).await, Some(4004));
    assert_eq!(t.get("/users/@me", &bot).await.status, 401);
    assert_eq!(
        t.get("/users/@me", &format!("Bot {new_bot}")).await.status,
        200
    );
    t.stop().await;

    let text = String::from_utf8(log.0.lock().expect("log buffer").clone()).expect("utf-8");
    assert!(
        text.lines().count() > 100,
        "the debug log was written ({} lines)",
        text.lines().count()
    );
    let mut needles: Vec<(String, String)> = secrets
        .iter()
        .flat_map(|(what, token)| {
            // The whole token, and its signature alone (a log of half a token leaks it too).
            let mut v = vec![(what.clone(), token.clone())];
            if let Some(sig) = token.rsplit('.').next().filter(|s| s.len() >= 16) {
                v.push((format!("{what} (signature)"), sig.to_string()));
            }
            v
        })
        .collect();
    for (what, password) in [
        ("password", PASSWORD),
        ("new password", NEW_PASSWORD),
        ("wrong password", WRONG_PASSWORD),
    ] {
        needles.push((what.into(), password.into()));
    }
    for (what, needle) in &needles {
        if let Some(line) = text.lines().find(|l| l.contains(needle.as_str())) {
            panic!("the log holds the {what}: {line:.400}");
        }
    }
    eprintln!(
        "FIGURE log scan: {} lines at debug, {} secrets ({} strings) searched, none found",
        text.lines().count(),
        secrets.len() + 3,
        needles.len()
    );
}

#[tokio::test]
async fn the_instance_key_file_is_owner_only() {
    let _ = capture();
    if std::env::var_os("ACCORD_SECRET").is_some() {
        eprintln!("ACCORD_SECRET is set: no key file is written; skipped");
        return;
    }
    let t = common::start().await;
    let dir = t.stop().await;
    let path = dir.path().join("instance.key");
    let meta = std::fs::metadata(&path).expect("instance.key written");
    assert!(meta.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "instance.key must be readable by its owner only"
        );
    }
    // A restart reads it back (same key: a token issued before still works).
    let t = common::start_in(dir).await;
    let token = t.register("keyholder").await;
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    assert_eq!(t.get("/users/@me", &token).await.status, 200);
    t.stop().await;
}

/// The README's CORS statement: no Access-Control-* headers, so browsers allow only
/// same-origin pages (the dashboard) to call the API with a token; a preflight is refused.
#[tokio::test]
async fn cors_is_same_origin_only() {
    let _ = capture();
    let t = common::start().await;
    let preflight = t
        .http
        .request(Method::OPTIONS, t.url("/users/@me"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 405);
    let get = t
        .http
        .get(t.url("/gateway"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 200);
    for r in [&preflight, &get] {
        assert!(
            !r.headers()
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")),
            "{:?}",
            r.headers()
        );
    }
    t.stop().await;
}
