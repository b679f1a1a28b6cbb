//! The actor runtime: supervision, passivation, fan-out that follows permissions, backpressure.

mod common;

use std::time::Duration;

use accord::actors::ask;
use accord::actors::guild::GuildMsg;
use accord::events::Dispatch;
use axum::response::IntoResponse;
use common::Gateway;
use serde_json::json;

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const MESSAGE_CONTENT: u64 = 1 << 15;

/// Polls `f` until it is true (10 s at most); for state that changes asynchronously.
async fn eventually(mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_panicking_guild_actor_is_restarted_from_the_store() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (g1, c1) = t.guild(&alice, "Crashy").await;
    let (g2, _) = t.guild(&alice, "Calm").await;
    t.post(
        &format!("/channels/{c1}/messages"),
        &alice,
        json!({"content": "before"}),
    )
    .await;
    // A session holds the guild when its actor fails.
    let mut session = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    session
        .identify(&alice, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT)
        .await;
    session.event("GUILD_CREATE").await;
    session.event("GUILD_CREATE").await;
    let services = &t.srv().app.services;
    let id: accord::id::GuildId = g1.parse().unwrap();
    let actor = services.guild(id).await.unwrap();
    let err = ask(services, &actor, GuildMsg::InjectPanic)
        .await
        .unwrap_err();
    // The request in flight gets a 500 in Discord's format.
    let response = err.into_response();
    assert_eq!(response.status(), 500);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        json!({"code": 0, "message": "500: Internal Server Error"})
    );
    // Later requests work: a fresh actor reloaded the guild from the store.
    let g = t.get(&format!("/guilds/{g1}"), &alice).await;
    assert_eq!(g.status, 200, "{}", g.body);
    assert_eq!(g.body["name"], "Crashy");
    assert_eq!(
        t.get(&format!("/channels/{c1}/messages"), &alice)
            .await
            .body[0]["content"],
        "before"
    );
    assert_eq!(
        t.post(
            &format!("/channels/{c1}/messages"),
            &alice,
            json!({"content": "after"})
        )
        .await
        .status,
        200
    );
    // Other guilds never noticed.
    assert_eq!(t.get(&format!("/guilds/{g2}"), &alice).await.status, 200);
    // The session was subscribed again by the fresh actor, as after a Discord outage: the
    // guild went unavailable and came back, and its events flow again.
    let gone = session.event("GUILD_DELETE").await;
    assert_eq!(gone, json!({"id": g1, "unavailable": true}));
    assert_eq!(session.event("GUILD_CREATE").await["id"], g1.as_str());
    assert_eq!(session.event("MESSAGE_CREATE").await["content"], "after");
}

#[tokio::test]
async fn idle_actors_passivate_and_come_back() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"actors": {"idle_passivate_secs": 1}}),
        )
        .await
        .unwrap();
    let (guild, channel) = t.guild(&alice, "Sleepy").await;
    t.post(
        &format!("/channels/{channel}/messages"),
        &alice,
        json!({"content": "zzz"}),
    )
    .await;
    let registry = &t.srv().app.services.registry;
    let (gid, cid) = (guild.parse().unwrap(), channel.parse().unwrap());
    eventually(|| registry.running_guild(gid).is_none() && registry.running_channel(cid).is_none())
        .await;
    assert_eq!(
        t.get(&format!("/channels/{channel}/messages"), &alice)
            .await
            .body[0]["content"],
        "zzz"
    );
    assert!(
        registry.running_guild(gid).is_some(),
        "spawned again on use"
    );
}

#[tokio::test]
async fn revoking_view_channel_stops_the_events() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (guild, general) = t.guild(&alice, "Secrets").await;
    t.join_via_invite(&alice, &general, &bob).await;
    let other = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &alice,
            json!({"name": "open"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&bob, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT)
        .await;
    gw.event("GUILD_CREATE").await;
    t.post(
        &format!("/channels/{general}/messages"),
        &alice,
        json!({"content": "visible"}),
    )
    .await;
    assert_eq!(gw.event("MESSAGE_CREATE").await["content"], "visible");
    // @everyone loses VIEW_CHANNEL in #general.
    let r = t.patch(&format!("/channels/{general}"), &alice, json!({"permission_overwrites": [{"id": guild, "type": 0, "allow": "0", "deny": "1024"}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    t.post(
        &format!("/channels/{general}/messages"),
        &alice,
        json!({"content": "hidden"}),
    )
    .await;
    t.post(
        &format!("/channels/{other}/messages"),
        &alice,
        json!({"content": "elsewhere"}),
    )
    .await;
    // Events arrive in order, so the next MESSAGE_CREATE proves the hidden one never came.
    let next = gw.event("MESSAGE_CREATE").await;
    assert_eq!(next["content"], "elsewhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected() {
    use futures::StreamExt;
    let t = common::start().await;
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"gateway": {"session_queue_limit": 16}}),
        )
        .await
        .unwrap();
    let alice = t.register("alice").await;
    let me = t.me(&alice).await;
    let user: accord::id::UserId = me["id"].as_str().unwrap().parse().unwrap();
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&alice, GUILDS).await;
    let sessions = &t.srv().app.services.sessions;
    assert_eq!(sessions.count_of(user), 1);
    let dropped_before =
        accord::metrics::SESSIONS_DROPPED_BACKPRESSURE.load(std::sync::atomic::Ordering::Relaxed);
    // The client reads nothing from here on. 16 KiB events, far more than socket buffers hold.
    let big = json!({"blob": "x".repeat(16 * 1024)});
    let event = Dispatch::new("USER_UPDATE", &big, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sessions.count_of(user) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled session was never dropped"
        );
        for _ in 0..64 {
            sessions.send_to_user(user, &event);
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        accord::metrics::SESSIONS_DROPPED_BACKPRESSURE.load(std::sync::atomic::Ordering::Relaxed)
            > dropped_before
    );
    // The socket is gone for the client too (after whatever was buffered).
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(_)) = gw.ws.next().await {}
    })
    .await;
    assert!(drained.is_ok(), "connection was not closed");
}

#[tokio::test]
async fn metrics_report_mailbox_depth_of_a_stalled_guild_actor() {
    let t = common::start().await;
    let alice = t.register("stalls").await;
    t.make_admin(&alice).await;
    let (g, _) = t.guild(&alice, "Busy").await;
    // Relationships live in the user's actor: this spawns it.
    assert_eq!(t.get("/users/@me/relationships", &alice).await.status, 200);
    let services = &t.srv().app.services;
    let actor = services.guild(g.parse().unwrap()).await.unwrap();
    // The actor sleeps in its handler; what arrives meanwhile waits in its mailbox.
    accord::actors::tell(&actor, GuildMsg::InjectStall(Duration::from_secs(2))).unwrap();
    for _ in 0..5 {
        accord::actors::tell(&actor, GuildMsg::InjectStall(Duration::ZERO)).unwrap();
    }
    let scrape = || async {
        let text = t
            .http
            .get(format!("{}/metrics", t.srv().url()))
            .header("authorization", format!("Bearer {alice}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let gauge = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} missing in {text}"))
        };
        (
            gauge("accord_mailbox_depth{kind=\"guild\"}"),
            gauge("accord_actors{kind=\"user\"}"),
        )
    };
    let (depth, users) = scrape().await;
    assert!(depth >= 5, "guild mailbox depth {depth}");
    assert!(users >= 1, "the registered user's actor is live");
    // Once the stall ends the queue drains (other tests in this process may add their own
    // in-flight messages, so "drained" means: below what we queued).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (depth, _) = scrape().await;
        if depth < 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mailbox never drained"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t.stop().await;
}
