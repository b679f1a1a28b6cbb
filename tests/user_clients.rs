//! User clients (Discord's web client, Spacebar's clients): a scripted client that identifies
//! the way Discord's web client does — no `intents`, with `capabilities` and `client_state` —
//! and the member events, settings and start-up routes such a client depends on.

mod common;

use common::{Gateway, TestServer};
use serde_json::{Value, json};

/// HELLO → IDENTIFY as Discord's web client sends it (no `intents`) → READY.
async fn web_client(t: &TestServer, token: &str) -> (Gateway, Value) {
    let mut gw = Gateway::connect(&t.gateway_url("v=9&encoding=json"), false).await;
    let hello = gw.recv().await;
    assert_eq!(hello["op"], 10);
    gw.send(json!({"op": 2, "d": {
        "token": token,
        "capabilities": 16381,
        "properties": {
            "os": "Linux", "browser": "Chrome", "device": "", "system_locale": "en-US",
            "browser_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "browser_version": "120.0.0.0", "os_version": "", "referrer": "", "referring_domain": "",
            "referrer_current": "", "referring_domain_current": "", "release_channel": "stable",
            "client_build_number": 250_000, "client_event_source": null
        },
        "presence": {"status": "online", "since": 0, "activities": [], "afk": false},
        "compress": false,
        "client_state": {
            "guild_versions": {}, "highest_last_message_id": "0", "read_state_version": 0,
            "user_guild_settings_version": -1, "user_settings_version": -1,
            "private_channels_version": "0", "api_code_version": 0
        }
    }}))
    .await;
    let ready = gw.event("READY").await;
    (gw, ready)
}

async fn id_of(t: &TestServer, token: &str) -> String {
    t.me(token).await["id"].as_str().expect("id").to_string()
}

/// Skips events other than `names` and returns the first of them, by name and data: used to
/// show an event did NOT come, by sending a later marker event and seeing the marker first.
async fn first_of(gw: &mut Gateway, names: &[&str]) -> (String, Value) {
    loop {
        let v = gw.recv().await;
        if v["op"] == 0
            && let Some(t) = v["t"].as_str()
            && names.contains(&t)
        {
            return (t.to_string(), v["d"].clone());
        }
    }
}

async fn set_config(t: &TestServer, patch: Value) {
    t.srv()
        .app
        .config()
        .apply_patch(t.srv().app.store().as_ref(), &patch)
        .await
        .expect("config patch");
}

#[tokio::test]
async fn user_sessions_get_member_add_update_remove_without_intents() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let bob = t.register("bob").await;
    let (g, ch) = t.guild(&owner, "small").await;
    let (mut owner_gw, _) = web_client(&t, &owner).await;

    // Bob joins: the owner's member list learns of him.
    t.join_via_invite(&owner, &ch, &bob).await;
    let bob_id = id_of(&t, &bob).await;
    let add = owner_gw.event("GUILD_MEMBER_ADD").await;
    assert_eq!(add["guild_id"], g);
    assert_eq!(add["user"]["id"], bob_id);

    // Bob's roles change: the owner sees the new roles (role colours), and so does Bob.
    let (mut bob_gw, _) = web_client(&t, &bob).await;
    let role = t
        .post(
            &format!("/guilds/{g}/roles"),
            &owner,
            json!({"name": "red", "color": 0xff0000, "hoist": true}),
        )
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    let rid = role.body["id"].as_str().expect("role id").to_string();
    let put = t
        .req(
            reqwest::Method::PUT,
            &format!("/guilds/{g}/members/{bob_id}/roles/{rid}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(put.status, 204, "{}", put.body);
    for gw in [&mut owner_gw, &mut bob_gw] {
        let upd = gw.event("GUILD_MEMBER_UPDATE").await;
        assert_eq!(upd["user"]["id"], bob_id);
        assert_eq!(upd["roles"], json!([rid]));
    }

    // Bob is kicked: the owner's list drops him.
    let kick = t
        .delete(&format!("/guilds/{g}/members/{bob_id}"), &owner)
        .await;
    assert_eq!(kick.status, 204, "{}", kick.body);
    let removed = owner_gw.event("GUILD_MEMBER_REMOVE").await;
    assert_eq!(removed["user"]["id"], bob_id);
}

#[tokio::test]
async fn large_guilds_send_user_sessions_only_their_own_member_updates() {
    let t = common::start().await;
    // Every guild counts as large: only a session's own member updates reach it.
    set_config(
        &t,
        json!({"gateway": {"user_member_events_max_members": 1}}),
    )
    .await;
    let owner = t.register("owner").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let (g, ch) = t.guild(&owner, "big").await;
    t.join_via_invite(&owner, &ch, &bob).await;
    let bob_id = id_of(&t, &bob).await;
    let (mut bob_gw, _) = web_client(&t, &bob).await;

    // Carol joins: Bob is not told (the guild is over the limit); the role created after it
    // arrives first.
    t.join_via_invite(&owner, &ch, &carol).await;
    let carol_id = id_of(&t, &carol).await;
    let role = t
        .post(&format!("/guilds/{g}/roles"), &owner, json!({"name": "r"}))
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    let rid = role.body["id"].as_str().expect("role id").to_string();
    let (name, _) = first_of(&mut bob_gw, &["GUILD_MEMBER_ADD", "GUILD_ROLE_CREATE"]).await;
    assert_eq!(
        name, "GUILD_ROLE_CREATE",
        "no member event in a large guild"
    );

    // Carol's roles change: not Bob's business. Then Bob's own: he hears of it.
    for who in [&carol_id, &bob_id] {
        let put = t
            .req(
                reqwest::Method::PUT,
                &format!("/guilds/{g}/members/{who}/roles/{rid}"),
                Some(&owner),
                None,
            )
            .await;
        assert_eq!(put.status, 204, "{}", put.body);
    }
    let upd = bob_gw.event("GUILD_MEMBER_UPDATE").await;
    assert_eq!(
        upd["user"]["id"], bob_id,
        "the first update Bob sees is his own"
    );
}

#[tokio::test]
async fn bots_keep_the_guild_members_intent_rule() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let bob = t.register("bob").await;
    let (g, ch) = t.guild(&owner, "bot guild").await;
    let app = t
        .post("/applications", &owner, json!({"name": "Helper"}))
        .await;
    assert_eq!(app.status, 201, "{}", app.body);
    let app_id = app.body["id"].as_str().expect("app id").to_string();
    let bot = t
        .post(&format!("/applications/{app_id}/bot"), &owner, json!({}))
        .await;
    assert_eq!(bot.status, 200, "{}", bot.body);
    let token = format!("Bot {}", bot.body["token"].as_str().expect("token"));
    let a = t
        .post(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot"),
            &owner,
            json!({"guild_id": g, "permissions": "0", "authorize": true}),
        )
        .await;
    assert!(a.status < 300, "{}", a.body);
    // GUILDS only (no GUILD_MEMBERS): Bob's join is not sent; the role created after it is.
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&token, 1).await;
    t.join_via_invite(&owner, &ch, &bob).await;
    let role = t
        .post(&format!("/guilds/{g}/roles"), &owner, json!({"name": "r"}))
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    let (name, _) = first_of(&mut gw, &["GUILD_MEMBER_ADD", "GUILD_ROLE_CREATE"]).await;
    assert_eq!(name, "GUILD_ROLE_CREATE", "a bot needs GUILD_MEMBERS");
}

#[tokio::test]
async fn settings_carry_every_field_of_spacebars_schema() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (mut gw, ready) = web_client(&t, &alice).await;
    let s = t.get("/users/@me/settings", &alice).await;
    assert_eq!(s.status, 200, "{}", s.body);
    // Every key of Spacebar's `UserSettingsSchema` (src/schemas/api/users/UserSettings.ts).
    for key in [
        "activity_restricted_guild_ids",
        "activity_joining_restricted_guild_ids",
        "afk_timeout",
        "allow_accessibility_detection",
        "allow_activity_party_privacy_friends",
        "allow_activity_party_privacy_voice_channel",
        "animate_emoji",
        "animate_stickers",
        "contact_sync_enabled",
        "convert_emoticons",
        "custom_status",
        "default_guilds_restricted",
        "detect_platform_accounts",
        "developer_mode",
        "disable_games_tab",
        "enable_tts_command",
        "explicit_content_filter",
        "friend_discovery_flags",
        "friend_source_flags",
        "gif_auto_play",
        "guild_folders",
        "inline_attachment_media",
        "inline_embed_media",
        "locale",
        "message_display_compact",
        "native_phone_integration_enabled",
        "passwordless",
        "render_embeds",
        "render_reactions",
        "restricted_guilds",
        "show_current_game",
        "slayer_sdk_receive_dms_in_game",
        "soundboard_volume",
        "status",
        "stream_notifications_enabled",
        "theme",
        "timezone_offset",
        "view_nsfw_commands",
        "view_nsfw_guilds",
    ] {
        assert!(s.body.get(key).is_some(), "GET settings lacks {key}");
        assert!(
            ready["user_settings"].get(key).is_some(),
            "READY's user_settings lacks {key}"
        );
    }
    assert_eq!(s.body["allow_activity_party_privacy_friends"], true);
    assert_eq!(s.body["soundboard_volume"], 100.0);
    assert_eq!(s.body["slayer_sdk_receive_dms_in_game"], 1);

    let r = t
        .patch(
            "/users/@me/settings",
            &alice,
            json!({"soundboard_volume": 40.5, "allow_activity_party_privacy_voice_channel": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ev = gw.event("USER_SETTINGS_UPDATE").await;
    assert_eq!(ev["soundboard_volume"], 40.5);
    assert_eq!(ev["allow_activity_party_privacy_voice_channel"], false);
    for (body, field, code) in [
        (
            json!({"soundboard_volume": 101}),
            "soundboard_volume",
            "NUMBER_TYPE_MAX",
        ),
        (
            json!({"soundboard_volume": -1}),
            "soundboard_volume",
            "NUMBER_TYPE_MIN",
        ),
        (
            json!({"slayer_sdk_receive_dms_in_game": 4}),
            "slayer_sdk_receive_dms_in_game",
            "NUMBER_TYPE_MAX",
        ),
    ] {
        let bad = t.patch("/users/@me/settings", &alice, body.clone()).await;
        assert_eq!(
            (bad.status, bad.body["code"].as_u64()),
            (400, Some(50035)),
            "{body}"
        );
        assert_eq!(
            bad.body["errors"][field]["_errors"][0]["code"], code,
            "{body}: {}",
            bad.body
        );
    }
    let s = t.get("/users/@me/settings", &alice).await;
    assert_eq!(
        s.body["soundboard_volume"], 40.5,
        "refused patches change nothing"
    );
}

/// What Discord's web client calls around login, each answered in Discord's shape.
#[tokio::test]
async fn start_up_routes_answer_like_spacebar() {
    let t = common::start().await;
    // Before login: experiments and analytics need no token.
    let ex = t
        .req(reqwest::Method::GET, "/experiments", None, None)
        .await;
    assert_eq!(ex.status, 200, "{}", ex.body);
    assert_eq!(ex.body["assignments"], json!([]));
    assert!(ex.body["fingerprint"].is_string());
    for path in ["/science", "/track"] {
        let r = t
            .req(
                reqwest::Method::POST,
                path,
                None,
                Some(json!({"token": "x", "events": [{"type": "app_opened", "properties": {}}]})),
            )
            .await;
        assert_eq!(r.status, 204, "{path}: {}", r.body);
    }
    let alice = t.register("alice").await;
    let (_gw, _ready) = web_client(&t, &alice).await;
    for (path, expected) in [
        (
            "/users/@me/affinities/users",
            json!({"user_affinities": [], "inverse_user_affinities": []}),
        ),
        (
            "/users/@me/affinities/guilds",
            json!({"guild_affinities": []}),
        ),
        (
            "/users/@me/billing/country-code",
            json!({"country_code": "US"}),
        ),
        (
            "/users/@me/billing/location-info",
            json!({"country_code": "US"}),
        ),
        ("/users/@me/billing/payment-sources", json!([])),
        ("/users/@me/billing/subscriptions", json!([])),
        ("/users/@me/library", json!([])),
        ("/users/@me/entitlements", json!([])),
    ] {
        let r = t.get(path, &alice).await;
        assert_eq!((r.status, &r.body), (200, &expected), "{path}");
        let anon = t.req(reqwest::Method::GET, path, None, None).await;
        assert_eq!(anon.status, 401, "{path} needs a token");
    }
}

#[tokio::test]
async fn consent_is_granted_revoked_and_kept() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let none =
        json!({"usage_statistics": {"consented": false}, "personalization": {"consented": false}});
    let c = t.get("/users/@me/consent", &alice).await;
    assert_eq!((c.status, &c.body), (200, &none));
    let r = t
        .post(
            "/users/@me/consent",
            &alice,
            json!({"grant": ["usage_statistics", "personalization"], "revoke": ["personalization"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["usage_statistics"]["consented"], true);
    assert_eq!(
        r.body["personalization"]["consented"], false,
        "revoke is applied last"
    );
    let bad = t
        .post(
            "/users/@me/consent",
            &alice,
            json!({"grant": ["telepathy"]}),
        )
        .await;
    assert_eq!((bad.status, bad.body["code"].as_u64()), (400, Some(50035)));
    assert_eq!(
        bad.body["errors"]["grant"]["0"]["_errors"][0]["code"], "BASE_TYPE_CHOICES",
        "{}",
        bad.body
    );
    // Kept across a restart.
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let c = t.get("/users/@me/consent", &alice).await;
    assert_eq!(c.body["usage_statistics"]["consented"], true);
    assert_eq!(c.body["personalization"]["consented"], false);
}
