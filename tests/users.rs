//! The user domain over HTTP and the gateway: relationships (friend requests, blocks), user
//! settings, read states (acks), the own member object and profiles.

mod common;

use common::Gateway;
use reqwest::Method;
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const DIRECT_MESSAGES: u64 = 1 << 12;
const INTENTS: u64 = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES;

async fn id_of(t: &common::TestServer, token: &str) -> String {
    t.me(token).await["id"].as_str().unwrap().to_string()
}

async fn connect(t: &common::TestServer, token: &str) -> (Gateway, Value) {
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    let ready = gw.identify(token, INTENTS).await;
    (gw, ready)
}

fn kinds(list: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["type"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn friend_request_accept_and_remove_reach_both_sides() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (alice_id, bob_id) = (id_of(&t, &alice).await, id_of(&t, &bob).await);
    let (mut agw, ready) = connect(&t, &alice).await;
    assert_eq!(ready["relationships"], json!([]));
    let (mut bgw, _) = connect(&t, &bob).await;

    // Alice asks; her side is outgoing (4), Bob's incoming (3).
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{bob_id}"),
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let a = agw.event("RELATIONSHIP_ADD").await;
    assert_eq!(
        (a["id"].as_str().unwrap(), a["type"].as_u64()),
        (bob_id.as_str(), Some(4))
    );
    assert_eq!(a["user"]["username"], "bob");
    let b = bgw.event("RELATIONSHIP_ADD").await;
    assert_eq!(
        (b["id"].as_str().unwrap(), b["type"].as_u64()),
        (alice_id.as_str(), Some(3))
    );
    assert_eq!(b["user"]["username"], "alice");
    assert_eq!(
        kinds(&t.get("/users/@me/relationships", &alice).await.body),
        vec![(bob_id.clone(), 4)]
    );
    assert_eq!(
        kinds(&t.get("/users/@me/relationships", &bob).await.body),
        vec![(alice_id.clone(), 3)]
    );

    // Bob accepts: both are friends (1), both hear it.
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{alice_id}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let b = bgw.event("RELATIONSHIP_ADD").await;
    assert_eq!(
        (b["id"].as_str().unwrap(), b["type"].as_u64()),
        (alice_id.as_str(), Some(1))
    );
    let a = agw.event("RELATIONSHIP_ADD").await;
    assert_eq!(
        (a["id"].as_str().unwrap(), a["type"].as_u64()),
        (bob_id.as_str(), Some(1))
    );
    assert_eq!(
        kinds(&t.get("/users/@me/relationships", &alice).await.body),
        vec![(bob_id.clone(), 1)]
    );
    assert_eq!(
        kinds(&t.get("/users/@me/relationships", &bob).await.body),
        vec![(alice_id.clone(), 1)]
    );
    // Asking again is a no-op.
    let again = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{bob_id}"),
            Some(&alice),
            Some(json!({"type": 1})),
        )
        .await;
    assert_eq!(again.status, 204);

    // A new session sees the friendship in READY.
    let (_gw2, ready) = connect(&t, &alice).await;
    assert_eq!(kinds(&ready["relationships"]), vec![(bob_id.clone(), 1)]);
    assert_eq!(ready["relationships"][0]["user"]["username"], "bob");

    // By username: Carol asks Alice, Alice declines; both sides hear the removal.
    let carol = t.register("carol").await;
    let carol_id = id_of(&t, &carol).await;
    let (mut cgw, _) = connect(&t, &carol).await;
    let r = t
        .post(
            "/users/@me/relationships",
            &carol,
            json!({"username": "alice", "discriminator": null}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(cgw.event("RELATIONSHIP_ADD").await["type"], 4);
    let a = agw.event("RELATIONSHIP_ADD").await;
    assert_eq!(
        (a["id"].as_str().unwrap(), a["type"].as_u64()),
        (carol_id.as_str(), Some(3))
    );
    let r = t
        .delete(&format!("/users/@me/relationships/{carol_id}"), &alice)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let a = agw.event("RELATIONSHIP_REMOVE").await;
    assert_eq!(
        (a["id"].as_str().unwrap(), a["type"].as_u64()),
        (carol_id.as_str(), Some(3))
    );
    let c = cgw.event("RELATIONSHIP_REMOVE").await;
    assert_eq!(
        (c["id"].as_str().unwrap(), c["type"].as_u64()),
        (alice_id.as_str(), Some(4))
    );
    assert_eq!(
        t.get("/users/@me/relationships", &carol).await.body,
        json!([])
    );

    // Unfriend: both sides lose it.
    let r = t
        .delete(&format!("/users/@me/relationships/{alice_id}"), &bob)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        bgw.event("RELATIONSHIP_REMOVE").await["id"],
        alice_id.as_str()
    );
    assert_eq!(
        agw.event("RELATIONSHIP_REMOVE").await["id"],
        bob_id.as_str()
    );
    assert_eq!(
        t.get("/users/@me/relationships", &alice).await.body,
        json!([])
    );

    // Discord's errors.
    let me = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{alice_id}"),
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!((me.status, me.body["code"].as_u64()), (400, Some(80003)));
    let nobody = t
        .post(
            "/users/@me/relationships",
            &alice,
            json!({"username": "nobody", "discriminator": 1234}),
        )
        .await;
    assert_eq!(
        (nobody.status, nobody.body["code"].as_u64()),
        (400, Some(80004))
    );
    let unknown = t
        .req(
            Method::PUT,
            "/users/@me/relationships/123456789012345678",
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["code"].as_u64()),
        (404, Some(10013))
    );
    let bad = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{bob_id}"),
            Some(&alice),
            Some(json!({"type": 3})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["errors"]["type"]["_errors"][0]["code"],
        "BASE_TYPE_CHOICES"
    );
}

#[tokio::test]
async fn friend_limit_comes_from_config() {
    let t = common::start().await;
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"user": {"max_friends": 1}}}),
        )
        .await
        .unwrap();
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let alice_id = id_of(&t, &alice).await;
    let carol_id = id_of(&t, &carol).await;
    let put = |token: String, target: String| {
        let t = &t;
        async move {
            t.req(
                Method::PUT,
                &format!("/users/@me/relationships/{target}"),
                Some(&token),
                Some(json!({})),
            )
            .await
        }
    };
    assert_eq!(put(bob.clone(), alice_id.clone()).await.status, 204);
    assert_eq!(put(alice.clone(), id_of(&t, &bob).await).await.status, 204);
    let full = put(alice.clone(), carol_id.clone()).await;
    assert_eq!(
        (full.status, full.body["code"].as_u64()),
        (400, Some(30014))
    );
}

#[tokio::test]
async fn block_prevents_dms_and_friend_requests() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (alice_id, bob_id) = (id_of(&t, &alice).await, id_of(&t, &bob).await);
    let dm = t
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipient_id": bob_id}),
        )
        .await;
    assert_eq!(dm.status, 200, "{}", dm.body);
    let dm = dm.body["id"].as_str().unwrap().to_string();
    let say = |token: String| {
        let (t, dm) = (&t, dm.clone());
        async move {
            t.post(
                &format!("/channels/{dm}/messages"),
                &token,
                json!({"content": "hello"}),
            )
            .await
        }
    };
    assert_eq!(say(alice.clone()).await.status, 200);

    // Bob blocks Alice: he hears it, she doesn't.
    let (mut bgw, _) = connect(&t, &bob).await;
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{alice_id}"),
            Some(&bob),
            Some(json!({"type": 2})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let b = bgw.event("RELATIONSHIP_ADD").await;
    assert_eq!(
        (b["id"].as_str().unwrap(), b["type"].as_u64()),
        (alice_id.as_str(), Some(2))
    );
    assert_eq!(
        t.get("/users/@me/relationships", &alice).await.body,
        json!([])
    );

    // No DMs either way, no friend request from Alice.
    for token in [alice.clone(), bob.clone()] {
        let r = say(token).await;
        assert_eq!(
            (r.status, r.body["code"].as_u64()),
            (403, Some(50007)),
            "{}",
            r.body
        );
        assert_eq!(r.body["message"], "Cannot send messages to this user");
    }
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{bob_id}"),
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_u64()), (400, Some(80001)));

    // A new DM with someone who blocked you is refused too.
    let carol = t.register("carol").await;
    let carol_id = id_of(&t, &carol).await;
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{carol_id}"),
            Some(&bob),
            Some(json!({"type": 2})),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = t
        .post(
            "/users/@me/channels",
            &carol,
            json!({"recipient_id": bob_id}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_u64()), (403, Some(50007)));

    // Unblocking opens the DM again.
    let r = t
        .delete(&format!("/users/@me/relationships/{alice_id}"), &bob)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(bgw.event("RELATIONSHIP_REMOVE").await["type"], 2);
    assert_eq!(say(alice.clone()).await.status, 200);
    assert_eq!(say(bob.clone()).await.status, 200);
}

#[tokio::test]
async fn blocking_a_friend_ends_the_friendship_on_both_sides() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (alice_id, bob_id) = (id_of(&t, &alice).await, id_of(&t, &bob).await);
    for (token, target) in [(&alice, &bob_id), (&bob, &alice_id)] {
        let r = t
            .req(
                Method::PUT,
                &format!("/users/@me/relationships/{target}"),
                Some(token),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status, 204);
    }
    let (mut agw, ready) = connect(&t, &alice).await;
    assert_eq!(kinds(&ready["relationships"]), vec![(bob_id.clone(), 1)]);
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{alice_id}"),
            Some(&bob),
            Some(json!({"type": 2})),
        )
        .await;
    assert_eq!(r.status, 204);
    let a = agw.event("RELATIONSHIP_REMOVE").await;
    assert_eq!(
        (a["id"].as_str().unwrap(), a["type"].as_u64()),
        (bob_id.as_str(), Some(1))
    );
    assert_eq!(
        t.get("/users/@me/relationships", &alice).await.body,
        json!([])
    );
    assert_eq!(
        kinds(&t.get("/users/@me/relationships", &bob).await.body),
        vec![(alice_id, 2)]
    );
}

#[tokio::test]
async fn settings_round_trip_with_event_and_ready() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let s = t.get("/users/@me/settings", &alice).await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(s.body["theme"], "dark");
    assert_eq!(s.body["locale"], "en-US");
    assert_eq!(s.body["status"], "online");
    assert_eq!(s.body["developer_mode"], false);
    assert_eq!(s.body["custom_status"], Value::Null);
    assert_eq!(s.body["friend_source_flags"]["all"], true);
    // The whole object Spacebar serves, with Discord's defaults (libraries written for
    // Spacebar parse it strictly).
    let defaults = json!({
        "afk_timeout": 600, "allow_accessibility_detection": false, "animate_emoji": true,
        "animate_stickers": 0, "contact_sync_enabled": false, "convert_emoticons": true,
        "custom_status": null, "default_guilds_restricted": false,
        "detect_platform_accounts": true, "developer_mode": false, "disable_games_tab": false,
        "enable_tts_command": true, "explicit_content_filter": 1, "friend_discovery_flags": 0,
        "friend_source_flags": {"all": true, "mutual_friends": true, "mutual_guilds": true},
        "gateway_connected": false, "gif_auto_play": true, "guild_folders": [],
        "guild_positions": [], "inline_attachment_media": true, "inline_embed_media": true,
        "locale": "en-US", "message_display_compact": false,
        "native_phone_integration_enabled": true, "render_embeds": true,
        "render_reactions": true, "restricted_guilds": [], "show_current_game": true,
        "status": "online", "stream_notifications_enabled": true, "theme": "dark",
        "timezone_offset": 0, "view_nsfw_guilds": true,
    });
    for (key, value) in defaults.as_object().unwrap() {
        assert_eq!(&s.body[key], value, "default of {key}");
    }

    let (mut gw, ready) = connect(&t, &alice).await;
    assert_eq!(ready["user_settings"]["theme"], "dark");
    let r = t
        .patch(
            "/users/@me/settings",
            &alice,
            json!({
                "theme": "light",
                "developer_mode": true,
                "status": "dnd",
                "custom_status": {"text": "busy", "emoji_name": "🔥"},
                "contact_sync_enabled": true,
                "afk_timeout": 300,
                "locale": null,
                "not_a_setting": 5,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["theme"], "light");
    assert_eq!(r.body["locale"], "en-US", "null leaves a field alone");
    assert!(r.body.get("not_a_setting").is_none());
    let ev = gw.event("USER_SETTINGS_UPDATE").await;
    assert_eq!(ev["theme"], "light");
    assert_eq!(ev["developer_mode"], true);
    assert_eq!(ev["custom_status"]["text"], "busy");

    let s = t.get("/users/@me/settings", &alice).await;
    assert_eq!(s.body["status"], "dnd");
    assert_eq!(s.body["custom_status"]["emoji_name"], "🔥");

    // Bad values are Discord-shaped field errors and change nothing.
    let bad = t
        .patch("/users/@me/settings", &alice, json!({"theme": "neon"}))
        .await;
    assert_eq!((bad.status, bad.body["code"].as_u64()), (400, Some(50035)));
    assert_eq!(
        bad.body["errors"]["theme"]["_errors"][0]["code"],
        "BASE_TYPE_CHOICES"
    );
    let bad = t
        .patch(
            "/users/@me/settings",
            &alice,
            json!({"developer_mode": "yes"}),
        )
        .await;
    assert_eq!(
        bad.body["errors"]["developer_mode"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_TYPE"
    );
    let bad = t
        .patch(
            "/users/@me/settings",
            &alice,
            json!({"custom_status": {"text": "x".repeat(129)}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    for (body, field, code) in [
        (json!({"afk_timeout": 30}), "afk_timeout", "NUMBER_TYPE_MIN"),
        (
            json!({"afk_timeout": 3600}),
            "afk_timeout",
            "NUMBER_TYPE_MAX",
        ),
        (
            json!({"animate_stickers": 3}),
            "animate_stickers",
            "NUMBER_TYPE_MAX",
        ),
        (
            json!({"friend_discovery_flags": 1}),
            "friend_discovery_flags",
            "BASE_TYPE_CHOICES",
        ),
        (
            json!({"contact_sync_enabled": 1}),
            "contact_sync_enabled",
            "BASE_TYPE_BAD_TYPE",
        ),
    ] {
        let bad = t.patch("/users/@me/settings", &alice, body.clone()).await;
        assert_eq!(bad.status, 400, "{body}: {}", bad.body);
        assert_eq!(
            bad.body["errors"][field]["_errors"][0]["code"], code,
            "{body}: {}",
            bad.body
        );
    }
    assert_eq!(
        t.get("/users/@me/settings", &alice).await.body["theme"],
        "light"
    );

    // Clearing the custom status; a new session and a restarted server keep the settings.
    let r = t
        .patch(
            "/users/@me/settings",
            &alice,
            json!({"custom_status": null}),
        )
        .await;
    assert_eq!(r.body["custom_status"], Value::Null);
    drop(gw);
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let (_gw, ready) = connect(&t, &alice).await;
    assert_eq!(ready["user_settings"]["theme"], "light");
    assert_eq!(ready["user_settings"]["developer_mode"], true);
    assert_eq!(ready["user_settings"]["custom_status"], Value::Null);
    assert_eq!(ready["user_settings"]["contact_sync_enabled"], true);
    let s = t.get("/users/@me/settings", &alice).await;
    assert_eq!(s.body["contact_sync_enabled"], true);
    assert_eq!(s.body["afk_timeout"], 300);
}

#[tokio::test]
async fn ack_sends_message_ack_and_fills_ready_read_state() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (_, channel) = t.guild(&alice, "Reading").await;
    let m = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "read me"}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    let message = m.body["id"].as_str().unwrap().to_string();

    let (mut gw, ready) = connect(&t, &alice).await;
    assert_eq!(
        ready["read_state"],
        json!({"entries": [], "partial": false, "version": 0})
    );
    let r = t
        .post(
            &format!("/channels/{channel}/messages/{message}/ack"),
            &alice,
            json!({"token": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"token": null}));
    let ev = gw.event("MESSAGE_ACK").await;
    assert_eq!(ev["channel_id"], channel.as_str());
    assert_eq!(ev["message_id"], message.as_str());

    // An empty body is fine too; someone outside the guild cannot ack.
    let r = t
        .req(
            Method::POST,
            &format!("/channels/{channel}/messages/{message}/ack"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            &format!("/channels/{channel}/messages/{message}/ack"),
            &bob,
            json!({"token": null}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_u64()), (404, Some(10003)));

    let (_gw2, ready) = connect(&t, &alice).await;
    let entries = ready["read_state"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", ready["read_state"]);
    assert_eq!(entries[0]["id"], channel.as_str());
    assert_eq!(entries[0]["last_message_id"], message.as_str());
    assert_eq!(entries[0]["mention_count"], 0);
    assert_eq!(ready["read_state"]["partial"], false);

    // Read states survive a restart (they are in the store, not only in the actor).
    drop((gw, _gw2));
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let (_gw, ready) = connect(&t, &alice).await;
    assert_eq!(
        ready["read_state"]["entries"][0]["last_message_id"],
        message.as_str()
    );
}

#[tokio::test]
async fn own_member_and_profiles() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let (alice_id, bob_id) = (id_of(&t, &alice).await, id_of(&t, &bob).await);
    let (guild, channel) = t.guild(&alice, "Profiles").await;

    let m = t
        .get(&format!("/users/@me/guilds/{guild}/member"), &alice)
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.body["user"]["id"], alice_id.as_str());
    assert!(m.body["roles"].is_array());
    let not_member = t
        .get(&format!("/users/@me/guilds/{guild}/member"), &bob)
        .await;
    assert_eq!(not_member.status, 404, "{}", not_member.body);

    let r = t
        .patch(
            "/users/@me",
            &bob,
            json!({"bio": "I build things", "pronouns": "he/him", "accent_color": 255}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Strangers may not read a profile.
    let r = t.get(&format!("/users/{bob_id}/profile"), &alice).await;
    assert_eq!((r.status, r.body["code"].as_u64()), (403, Some(50001)));

    // Sharing a guild makes it visible, with the mutual guild.
    let inv = t
        .post(&format!("/channels/{channel}/invites"), &alice, json!({}))
        .await;
    let code = inv.body["code"].as_str().unwrap().to_string();
    assert_eq!(
        t.post(&format!("/invites/{code}"), &bob, json!({}))
            .await
            .status,
        200
    );
    let p = t.get(&format!("/users/{bob_id}/profile"), &alice).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["user"]["id"], bob_id.as_str());
    assert_eq!(p.body["user"]["bio"], "I build things");
    assert_eq!(p.body["user_profile"]["bio"], "I build things");
    assert_eq!(p.body["user_profile"]["pronouns"], "he/him");
    assert_eq!(p.body["user_profile"]["accent_color"], 255);
    assert_eq!(
        p.body["mutual_guilds"],
        json!([{"id": guild, "nick": null}])
    );
    assert_eq!(p.body["connected_accounts"], json!([]));

    // A friend request is enough too; and one's own profile always works.
    let carol_id = id_of(&t, &carol).await;
    assert_eq!(
        t.get(&format!("/users/{carol_id}/profile"), &alice)
            .await
            .status,
        403
    );
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{carol_id}"),
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 204);
    let p = t.get(&format!("/users/{carol_id}/profile"), &alice).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["mutual_guilds"], json!([]));
    let own = t.get("/users/@me/profile", &carol).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["user"]["username"], "carol");
    assert_eq!(
        t.get("/users/123456789012345678/profile", &alice)
            .await
            .body["code"],
        10013
    );
}

#[tokio::test]
async fn mentions_and_dms_count_as_unread_mentions_until_acked() {
    let t = common::start().await;
    let alice = t.register("pinger").await;
    let bob = t.register("pinged").await;
    let (_, channel) = t.guild(&alice, "Pings").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    let dm = t
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipient_id": bob_id}),
        )
        .await;
    let dm = dm.body["id"].as_str().unwrap().to_string();
    let mut last = String::new();
    for content in [
        format!("hey <@{bob_id}>"),
        "no ping".into(),
        format!("<@!{bob_id}> again"),
    ] {
        let m = t
            .post(
                &format!("/channels/{channel}/messages"),
                &alice,
                json!({"content": content}),
            )
            .await;
        last = m.body["id"].as_str().unwrap().to_string();
    }
    t.post(
        &format!("/channels/{dm}/messages"),
        &alice,
        json!({"content": "psst"}),
    )
    .await;
    // Counting happens off the send path: poll READY until it shows.
    let counts = |ready: &serde_json::Value| {
        let entries = ready["read_state"]["entries"].as_array().unwrap().clone();
        let count = |c: &str| {
            entries
                .iter()
                .find(|e| e["id"] == c)
                .map_or(0, |e| e["mention_count"].as_u64().unwrap())
        };
        (count(&channel), count(&dm))
    };
    let mut seen = (0, 0);
    for _ in 0..50 {
        let mut g = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
        seen = counts(&g.identify(&bob, 1).await);
        if seen == (2, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, (2, 1), "two pings in the guild channel, one DM");
    // Reading the channel clears its count.
    let ack = t
        .post(
            &format!("/channels/{channel}/messages/{last}/ack"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(ack.status, 200, "{}", ack.body);
    let mut g = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    assert_eq!(counts(&g.identify(&bob, 1).await), (0, 1));
}

#[tokio::test]
async fn a_renamed_user_is_shown_renamed_in_the_member_lists_of_their_guilds() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (_guild, channel) = t.guild(&alice, "Names").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    let bob_id = id_of(&t, &bob).await;
    // GUILDS | GUILD_MEMBERS | GUILD_MESSAGES: member events about others, and messages.
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | (1 << 1) | GUILD_MESSAGES)
        .await;
    gw.event("GUILD_CREATE").await;
    let r = t
        .patch("/users/@me", &bob, json!({"global_name": "Robert"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let update = gw.event("GUILD_MEMBER_UPDATE").await;
    assert_eq!(update["user"]["id"], bob_id.as_str(), "{update}");
    assert_eq!(update["user"]["global_name"], "Robert", "{update}");
    // A change nobody else sees (a setting of the account alone) sends no member update.
    let r = t
        .patch("/users/@me", &bob, json!({"global_name": "Robert"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let marker = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "marker"}),
        )
        .await;
    assert_eq!(marker.status, 200, "{}", marker.body);
    loop {
        let v = gw.recv().await;
        if v["op"] != 0 {
            continue;
        }
        assert_ne!(v["t"], "GUILD_MEMBER_UPDATE", "{v}");
        if v["t"] == "MESSAGE_CREATE" {
            break;
        }
    }
}

#[tokio::test]
async fn bulk_ack_marks_many_channels_read_and_refuses_bad_bodies() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (guild, general) = t.guild(&alice, "Bulk").await;
    let other = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &alice,
            json!({"name": "other", "type": 0}),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let other = other.body["id"].as_str().unwrap().to_string();
    let mut last = Vec::new();
    for c in [&general, &other] {
        let m = t
            .post(
                &format!("/channels/{c}/messages"),
                &alice,
                json!({"content": "unread"}),
            )
            .await;
        assert_eq!(m.status, 200, "{}", m.body);
        last.push((c.clone(), m.body["id"].as_str().unwrap().to_string()));
    }
    let body = json!({"read_states": last
        .iter()
        .map(|(c, m)| json!({"channel_id": c, "message_id": m, "read_state_type": 0}))
        .collect::<Vec<_>>()});
    // Someone who cannot see the channels marks nothing.
    let r = t.post("/read-states/ack-bulk", &bob, body.clone()).await;
    assert_eq!(
        (r.status, r.body["code"].as_u64()),
        (404, Some(10003)),
        "{}",
        r.body
    );
    let r = t.post("/read-states/ack-bulk", &alice, body).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let (_gw, ready) = connect(&t, &alice).await;
    let mut entries: Vec<(String, String)> = ready["read_state"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["last_message_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    entries.sort();
    last.sort();
    assert_eq!(entries, last);

    // Discord's field errors for a bad body.
    let r = t.post("/read-states/ack-bulk", &alice, json!({})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        common::field_code(&r.body, &["read_states"]),
        "BASE_TYPE_REQUIRED"
    );
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"channel_id": general, "message_id": last[0].1}))
        .collect();
    let r = t
        .post(
            "/read-states/ack-bulk",
            &alice,
            json!({"read_states": many}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["read_states"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    let r = t
        .post(
            "/read-states/ack-bulk",
            &alice,
            json!({"read_states": [{"channel_id": general, "message_id": last[0].1, "read_state_type": 1}]}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["read_states", "0", "read_state_type"]),
        "BASE_TYPE_CHOICES"
    );
}
