//! Guild operations beyond the everyday ones: role member counts, bulk bans, the instance's
//! voice regions, the welcome screen, onboarding, the new-member welcome, incident actions and
//! integrations — over HTTP, with their gateway events seen through a WebSocket client.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MODERATION: u64 = 1 << 2;
const GUILD_INTEGRATIONS: u64 = 1 << 4;
const GUILD_MESSAGES: u64 = 1 << 9;

const BAN_MEMBERS: u64 = 1 << 2;
const MANAGE_GUILD: u64 = 1 << 5;
const MANAGE_ROLES: u64 = 1 << 28;
/// Discord's audit log action MEMBER_BAN_ADD.
const MEMBER_BAN_ADD: i64 = 22;

type Setup = common::OwnerAndMember;

/// Alice owns a guild; Bob is a plain member.
async fn setup() -> Setup {
    common::owner_and_member("Extras").await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn put(t: &common::TestServer, path: &str, token: &str) -> common::Resp {
    t.req(Method::PUT, path, Some(token), None).await
}

async fn put_json(t: &common::TestServer, path: &str, token: &str, body: Value) -> common::Resp {
    t.req(Method::PUT, path, Some(token), Some(body)).await
}

async fn login(t: &common::TestServer, name: &str) -> String {
    let r = t
        .req(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": format!("{name}@example.com"), "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["token"].as_str().expect("token").to_string()
}

/// Alice's gateway, past the guild's GUILD_CREATE.
async fn gateway(t: &common::TestServer, token: &str) -> common::Gateway {
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(
        token,
        GUILDS | GUILD_MODERATION | GUILD_INTEGRATIONS | GUILD_MESSAGES,
    )
    .await;
    gw.event("GUILD_CREATE").await;
    gw
}

/// The guild's audit log entries of one action type, newest first.
async fn audit(t: &common::TestServer, s: &Setup, action: i64) -> Vec<Value> {
    let log = t
        .get(
            &format!("/guilds/{}/audit-logs?action_type={action}", s.guild),
            &s.alice,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    log.body["audit_log_entries"]
        .as_array()
        .expect("entries")
        .clone()
}

fn features(guild: &Value) -> Vec<String> {
    guild["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f.as_str().expect("feature").to_string())
        .collect()
}

/// An ISO-8601 time `ms` from now.
fn from_now(ms: i64) -> String {
    accord::model::Timestamp::from_millis(accord::model::Timestamp::now().millis() + ms).to_string()
}

async fn role(t: &common::TestServer, s: &Setup, name: &str, permissions: u64) -> String {
    let r = t
        .post(
            &format!("/guilds/{}/roles", s.guild),
            &s.alice,
            json!({"name": name, "permissions": permissions.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    id_of(&r.body)
}

async fn give(t: &common::TestServer, s: &Setup, user: &str, role: &str) {
    let r = put(
        t,
        &format!("/guilds/{}/members/{user}/roles/{role}", s.guild),
        &s.alice,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test]
async fn role_member_counts() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let carol = t.register("carol").await;
    let carol_id = id_of(&t.me(&carol).await);
    t.join(&carol, &s.invite).await;
    let mods = role(t, &s, "mods", 0).await;
    let quiet = role(t, &s, "quiet", 0).await;
    give(t, &s, &s.bob_id, &mods).await;
    give(t, &s, &carol_id, &mods).await;
    give(t, &s, &carol_id, &quiet).await;
    let unused = role(t, &s, "unused", 0).await;

    // Any member may read them: each role's holders; @everyone (the guild's id) is held by
    // nobody explicitly.
    let r = t
        .get(&format!("/guilds/{g}/roles/member-counts"), &s.bob)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({g.as_str(): 0, mods.as_str(): 2, quiet.as_str(): 1, unused.as_str(): 0})
    );

    // A member who leaves no longer counts.
    let r = t.delete(&format!("/users/@me/guilds/{g}"), &carol).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t
        .get(&format!("/guilds/{g}/roles/member-counts"), &s.alice)
        .await;
    assert_eq!(r.body[mods.as_str()], 1);
    assert_eq!(r.body[quiet.as_str()], 0);

    // Outsiders don't see the guild.
    let r = t
        .get(&format!("/guilds/{g}/roles/member-counts"), &carol)
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10004)));
}

#[tokio::test]
async fn bulk_ban_bans_reports_and_purges() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let carol = t.register("carol").await;
    let carol_id = id_of(&t.me(&carol).await);
    t.join(&carol, &s.invite).await;
    // Dave never joined: a ban by id works for non-members too.
    let dave = t.register("dave").await;
    let dave_id = id_of(&t.me(&dave).await);
    let m = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"content": "spam"}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    let spam = id_of(&m.body);

    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&s.alice, GUILDS | GUILD_MODERATION | GUILD_MESSAGES)
        .await;
    gw.event("GUILD_CREATE").await;

    let unknown = "1234567890123456789";
    let r = t
        .req_with(
            Method::POST,
            &format!("/guilds/{g}/bulk-ban"),
            Some(&s.alice),
            Some(json!({
                "user_ids": [s.bob_id, carol_id, s.alice_id, unknown, dave_id, s.bob_id],
                "delete_message_seconds": 3600,
            })),
            &[("x-audit-log-reason", "raid")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({
            "banned_users": [s.bob_id, carol_id, dave_id],
            "failed_users": [s.alice_id, unknown],
        })
    );

    // One GUILD_BAN_ADD per ban, in order; Bob's message went before the reply.
    for want in [&s.bob_id, &carol_id, &dave_id] {
        let ev = gw.event("GUILD_BAN_ADD").await;
        assert_eq!(
            (&ev["guild_id"], &ev["user"]["id"]),
            (&json!(g), &json!(want))
        );
    }
    let ev = gw.event("MESSAGE_DELETE_BULK").await;
    assert_eq!(ev["ids"], json!([spam]));
    let left = t
        .get(&format!("/channels/{c}/messages"), &s.alice)
        .await
        .body;
    assert!(
        left.as_array()
            .expect("messages")
            .iter()
            .all(|m| m["id"] != spam.as_str()),
        "{left}"
    );
    let bans = t.get(&format!("/guilds/{g}/bans"), &s.alice).await.body;
    assert_eq!(bans.as_array().expect("bans").len(), 3, "{bans}");
    let r = t
        .get(&format!("/guilds/{g}/bans/{dave_id}"), &s.alice)
        .await;
    assert_eq!(r.body["reason"], "raid");
    let r = t
        .post(&format!("/invites/{}", s.invite), &dave, json!({}))
        .await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(40007)),
        "a banned user cannot join"
    );

    // One audit entry per ban, with the reason and the deletion window.
    let log = t
        .get(
            &format!("/guilds/{g}/audit-logs?action_type={MEMBER_BAN_ADD}"),
            &s.alice,
        )
        .await;
    let entries = log.body["audit_log_entries"].as_array().expect("entries");
    let mut targets: Vec<&str> = entries
        .iter()
        .map(|e| e["target_id"].as_str().expect("target"))
        .collect();
    targets.sort();
    let mut want = vec![s.bob_id.as_str(), carol_id.as_str(), dave_id.as_str()];
    want.sort();
    assert_eq!(targets, want);
    assert!(
        entries
            .iter()
            .all(|e| e["reason"] == "raid" && e["options"]["delete_message_seconds"] == "3600")
    );

    // Nobody bannable left: 500000.
    let r = t
        .post(
            &format!("/guilds/{g}/bulk-ban"),
            &s.alice,
            json!({"user_ids": [s.bob_id, unknown]}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(500000)));
    assert_eq!(r.body["message"], "Failed to ban users");
    s.t.stop().await;
}

#[tokio::test]
async fn bulk_ban_validates_and_needs_both_permissions() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let carol = t.register("carol").await;
    let carol_id = id_of(&t.me(&carol).await);
    t.join(&carol, &s.invite).await;
    let path = format!("/guilds/{g}/bulk-ban");

    let r = t.post(&path, &s.alice, json!({})).await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert_eq!(
        common::field_code(&r.body, &["user_ids"]),
        "BASE_TYPE_REQUIRED"
    );
    let many: Vec<String> = (0..201u64)
        .map(|i| (1_000_000_000_000_000_000 + i).to_string())
        .collect();
    let r = t.post(&path, &s.alice, json!({"user_ids": many})).await;
    assert_eq!(
        common::field_code(&r.body, &["user_ids"]),
        "BASE_TYPE_MAX_ITEMS",
        "{}",
        r.body
    );
    let r = t
        .post(
            &path,
            &s.alice,
            json!({"user_ids": [carol_id], "delete_message_seconds": 604_801}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["delete_message_seconds"]),
        "NUMBER_TYPE_MAX",
        "{}",
        r.body
    );

    // BAN_MEMBERS alone is not enough; with MANAGE_GUILD too it is, below the caller's role.
    let r = t.post(&path, &s.bob, json!({"user_ids": [carol_id]})).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let banner = role(t, &s, "banner", BAN_MEMBERS).await;
    give(t, &s, &s.bob_id, &banner).await;
    let r = t.post(&path, &s.bob, json!({"user_ids": [carol_id]})).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let manager = role(t, &s, "manager", MANAGE_GUILD).await;
    give(t, &s, &s.bob_id, &manager).await;
    let r = t
        .post(&path, &s.bob, json!({"user_ids": [carol_id, s.alice_id]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"banned_users": [carol_id], "failed_users": [s.alice_id]})
    );
    s.t.stop().await;
}

#[tokio::test]
async fn voice_regions_are_the_guilds_regions() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let all = t.get("/voice/regions", &s.bob).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let guild = t.get(&format!("/guilds/{g}/regions"), &s.bob).await;
    assert_eq!(all.body, guild.body);
    let regions = all.body.as_array().expect("regions");
    assert!(regions.iter().any(|r| r["optimal"] == true), "{}", all.body);
    let r = t.req(Method::GET, "/voice/regions", None, None).await;
    assert_eq!((r.status, r.body["code"].clone()), (401, json!(0)));
    s.t.stop().await;
}

#[tokio::test]
async fn welcome_screen_validated_enabled_and_audited() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let path = format!("/guilds/{g}/welcome-screen");

    // Disabled: managers only.
    let r = t.get(&path, &s.alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"description": null, "welcome_channels": []}));
    let r = t.get(&path, &s.bob).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t.patch(&path, &s.bob, json!({"enabled": true})).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));

    // Another guild's channel, too many channels, too long a description: 50035.
    let (_, foreign) = t.guild(&s.bob, "Elsewhere").await;
    let r = t
        .patch(
            &path,
            &s.alice,
            json!({"welcome_channels": [{"channel_id": foreign, "description": "x"}]}),
        )
        .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert_eq!(
        common::field_code(&r.body, &["welcome_channels", "0", "channel_id"]),
        "NUMBER_TYPE_COERCE"
    );
    let six: Vec<Value> = (0..6)
        .map(|_| json!({"channel_id": c, "description": "x"}))
        .collect();
    let r = t
        .patch(&path, &s.alice, json!({"welcome_channels": six}))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["welcome_channels"]),
        "BASE_TYPE_MAX_ITEMS",
        "{}",
        r.body
    );
    let r = t
        .patch(
            &path,
            &s.alice,
            json!({"description": "x".repeat(141), "welcome_channels": [{"channel_id": c}]}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["description"]),
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_eq!(
        common::field_code(&r.body, &["welcome_channels", "0", "description"]),
        "BASE_TYPE_BAD_LENGTH"
    );

    let mut gw = gateway(t, &s.alice).await;
    let r = t
        .patch(
            &path,
            &s.alice,
            json!({"enabled": true, "description": "Make yourself at home", "welcome_channels": [
                {"channel_id": c, "description": "Say hi", "emoji_id": null, "emoji_name": "👋"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let want = json!({"description": "Make yourself at home", "welcome_channels": [
        {"channel_id": c, "description": "Say hi", "emoji_id": null, "emoji_name": "👋"}
    ]});
    assert_eq!(r.body, want);
    let ev = gw.event("GUILD_UPDATE").await;
    assert!(features(&ev).contains(&"WELCOME_SCREEN_ENABLED".to_string()));
    // Enabled: every member reads it.
    assert_eq!(t.get(&path, &s.bob).await.body, want);
    let entries = audit(t, &s, 1).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["target_id"], json!(g));

    // Disabling keeps the content and drops the feature.
    let r = t.patch(&path, &s.alice, json!({"enabled": false})).await;
    assert_eq!(r.body, want);
    let ev = gw.event("GUILD_UPDATE").await;
    assert!(!features(&ev).contains(&"WELCOME_SCREEN_ENABLED".to_string()));
    s.t.stop().await;
}

#[tokio::test]
async fn onboarding_validated_stored_and_audited() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let path = format!("/guilds/{g}/onboarding");
    let r = t.get(&path, &s.bob).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"guild_id": g, "prompts": [], "default_channel_ids": [], "enabled": false, "mode": 0})
    );
    // MANAGE_GUILD alone is not enough: MANAGE_ROLES too.
    let manager = role(t, &s, "manager", MANAGE_GUILD).await;
    give(t, &s, &s.bob_id, &manager).await;
    let r = put_json(t, &path, &s.bob, json!({"mode": 1})).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let roles = role(t, &s, "roles", MANAGE_ROLES).await;
    give(t, &s, &s.bob_id, &roles).await;
    let r = put_json(t, &path, &s.bob, json!({"mode": 0})).await;
    assert_eq!(r.status, 200, "with both: {}", r.body);

    let gamers = role(t, &s, "gamers", 0).await;
    let (_, foreign) = t.guild(&s.bob, "Elsewhere").await;
    let r = put_json(
        t,
        &path,
        &s.alice,
        json!({
            "prompts": [
                {"id": "1", "title": "Pick", "options": [
                    {"title": "Games", "role_ids": [g], "channel_ids": [foreign]}
                ]},
                {"id": "2", "title": "", "options": []},
            ],
            "enabled": true,
            "mode": 2,
        }),
    )
    .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    let code = |path: &[&str]| common::field_code(&r.body, path);
    assert_eq!(
        code(&["prompts", "0", "options", "0", "role_ids"]),
        "NUMBER_TYPE_COERCE",
        "@everyone is no option role: {}",
        r.body
    );
    assert_eq!(
        code(&["prompts", "0", "options", "0", "channel_ids"]),
        "NUMBER_TYPE_COERCE"
    );
    assert_eq!(code(&["prompts", "1", "title"]), "BASE_TYPE_BAD_LENGTH");
    assert_eq!(code(&["prompts", "1", "options"]), "BASE_TYPE_MIN_ITEMS");
    assert_eq!(code(&["mode"]), "BASE_TYPE_CHOICES");
    assert_eq!(
        code(&["default_channel_ids"]),
        "BASE_TYPE_MIN_ITEMS",
        "enabled needs default channels"
    );

    let body = json!({
        "prompts": [{
            "id": "1200000000000000001",
            "type": 0,
            "title": "What brings you here?",
            "options": [{
                "title": "Games",
                "description": "Play with us",
                "emoji_name": "🎮",
                "role_ids": [gamers],
                "channel_ids": [c],
            }],
            "single_select": true,
            "required": true,
            "in_onboarding": true,
        }],
        "default_channel_ids": [c, c],
        "enabled": true,
        "mode": 1,
    });
    let r = put_json(t, &path, &s.alice, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let option_id = r.body["prompts"][0]["options"][0]["id"]
        .as_str()
        .expect("a new option gets an id")
        .to_string();
    let want = json!({
        "guild_id": g,
        "prompts": [{
            "id": "1200000000000000001",
            "type": 0,
            "title": "What brings you here?",
            "options": [{
                "id": option_id,
                "title": "Games",
                "description": "Play with us",
                "emoji": {"id": null, "name": "🎮", "animated": false},
                "role_ids": [gamers],
                "channel_ids": [c],
            }],
            "single_select": true,
            "required": true,
            "in_onboarding": true,
        }],
        "default_channel_ids": [c],
        "enabled": true,
        "mode": 1,
    });
    assert_eq!(r.body, want);
    assert_eq!(audit(t, &s, 166).await.len(), 1, "ONBOARDING_CREATE");
    let created = audit(t, &s, 163).await;
    assert_eq!(created.len(), 1, "ONBOARDING_PROMPT_CREATE");
    assert_eq!(created[0]["target_id"], "1200000000000000001");

    // Removing the prompts: a prompt delete entry, no onboarding update (nothing else changed).
    let r = put_json(t, &path, &s.alice, json!({"prompts": []})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["prompts"], json!([]));
    assert_eq!(r.body["enabled"], true);
    assert_eq!(audit(t, &s, 165).await.len(), 1, "ONBOARDING_PROMPT_DELETE");
    assert!(audit(t, &s, 167).await.is_empty());

    // Stored: a restarted server answers the same.
    let expected = t.get(&path, &s.bob).await.body;
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let bob = login(&t, "bob").await;
    assert_eq!(t.get(&path, &bob).await.body, expected);
    t.stop().await;
}

#[tokio::test]
async fn new_member_welcome_follows_welcome_screen_and_onboarding() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let path = format!("/guilds/{g}/new-member-welcome");
    let r = t.get(&path, &s.bob).await;
    assert_eq!(r.status, 204, "nothing enabled yet: {}", r.body);

    let rules = t
        .post(
            &format!("/guilds/{g}/channels"),
            &s.alice,
            json!({"name": "rules", "topic": "Read me first", "permission_overwrites": [
                {"id": g, "type": 0, "allow": "0", "deny": "2048"}
            ]}),
        )
        .await;
    assert_eq!(rules.status, 201, "{}", rules.body);
    let rules = id_of(&rules.body);
    let r = t
        .patch(
            &format!("/guilds/{g}/welcome-screen"),
            &s.alice,
            json!({"enabled": true, "description": "Welcome aboard", "welcome_channels": [
                {"channel_id": c, "description": "Say hi", "emoji_name": "👋"},
                {"channel_id": rules, "description": "Read the rules"},
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.get(&path, &s.bob).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({
            "guild_id": g,
            "enabled": true,
            "welcome_message": {"author_ids": [id_of(&t.me(&s.alice).await)], "message": "Welcome aboard"},
            "new_member_actions": [
                {"channel_id": c, "action_type": 1, "title": "Say hi", "description": "",
                 "emoji": {"id": null, "name": "👋", "animated": false}},
                {"channel_id": rules, "action_type": 0, "title": "Read the rules",
                 "description": "Read me first", "emoji": {"id": null, "name": null, "animated": false}},
            ],
            "resource_channels": [],
        })
    );

    let r = put_json(
        t,
        &format!("/guilds/{g}/onboarding"),
        &s.alice,
        json!({"default_channel_ids": [rules], "enabled": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.get(&path, &s.bob).await;
    assert_eq!(
        r.body["resource_channels"],
        json!([{"channel_id": rules, "title": "rules", "description": "Read me first"}])
    );
    let outsider = t.register("carol").await;
    let r = t.get(&path, &outsider).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10004)));

    // Both stay enabled across a restart.
    let before = t.get(&path, &s.bob).await.body;
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let bob = login(&t, "bob").await;
    let r = t.get(&path, &bob).await;
    assert_eq!((r.status, &r.body), (200, &before));
    t.stop().await;
}

#[tokio::test]
async fn incident_actions_pause_joins_through_invites() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let path = format!("/guilds/{g}/incident-actions");
    let guild = t.get(&format!("/guilds/{g}"), &s.alice).await;
    assert_eq!(guild.body["incidents_data"], Value::Null);

    let r = put_json(
        t,
        &path,
        &s.bob,
        json!({"invites_disabled_until": from_now(60_000)}),
    )
    .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = put_json(
        t,
        &path,
        &s.alice,
        json!({"invites_disabled_until": from_now(25 * 3_600_000), "dms_disabled_until": "soon"}),
    )
    .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert_eq!(
        common::field_code(&r.body, &["invites_disabled_until"]),
        "DATE_TYPE_TOO_FAR"
    );
    assert_eq!(
        common::field_code(&r.body, &["dms_disabled_until"]),
        "DATE_TYPE_PARSE"
    );

    let mut gw = gateway(t, &s.alice).await;
    let until = from_now(3_600_000);
    let r = put_json(t, &path, &s.alice, json!({"invites_disabled_until": until})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"invites_disabled_until": until, "dms_disabled_until": null})
    );
    let ev = gw.event("GUILD_UPDATE").await;
    assert_eq!(ev["incidents_data"]["invites_disabled_until"], json!(until));
    assert!(features(&ev).contains(&"INVITES_DISABLED".to_string()));
    let guild = t.get(&format!("/guilds/{g}"), &s.bob).await;
    assert_eq!(
        guild.body["incidents_data"]["invites_disabled_until"],
        json!(until)
    );

    // Newcomers are refused; members re-using the invite are not; invites still exist.
    let carol = t.register("carol").await;
    let r = t
        .post(&format!("/invites/{}", s.invite), &carol, json!({}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Invites are currently paused for this server"
    );
    t.join(&s.bob, &s.invite).await;
    let r = t.get(&format!("/invites/{}", s.invite), &carol).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Kept across a restart; null lifts the pause.
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let alice = login(&t, "alice").await;
    let carol = login(&t, "carol").await;
    let r = t
        .post(&format!("/invites/{}", s.invite), &carol, json!({}))
        .await;
    assert_eq!(r.status, 403, "still paused after a restart: {}", r.body);
    let r = put_json(&t, &path, &alice, json!({"invites_disabled_until": null})).await;
    assert_eq!(
        r.body,
        json!({"invites_disabled_until": null, "dms_disabled_until": null})
    );
    t.join(&carol, &s.invite).await;
    let guild = t.get(&format!("/guilds/{g}"), &alice).await;
    assert!(!features(&guild.body).contains(&"INVITES_DISABLED".to_string()));
    t.stop().await;
}

#[tokio::test]
async fn incident_actions_pause_dms_between_members_who_are_not_friends() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    async fn dm(t: &common::TestServer, token: &str, to: &str) -> common::Resp {
        t.post("/users/@me/channels", token, json!({"recipient_id": to}))
            .await
    }
    let r = put_json(
        t,
        &format!("/guilds/{g}/incident-actions"),
        &s.alice,
        json!({"dms_disabled_until": from_now(3_600_000)}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Bob met Alice through this guild only: no new DM while it pauses them.
    let r = dm(t, &s.bob, &s.alice_id).await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(50007)),
        "{}",
        r.body
    );
    // Carol shares no guild with Alice: the pause is not hers.
    let carol = t.register("carol").await;
    let r = dm(t, &carol, &s.alice_id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Friends are never refused.
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{}", s.alice_id),
            Some(&s.bob),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t
        .req(
            Method::PUT,
            &format!("/users/@me/relationships/{}", s.bob_id),
            Some(&s.alice),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = dm(t, &s.bob, &s.alice_id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.t.stop().await;
}

/// Alice makes an application with a bot and adds it to the guild; returns (application, bot).
async fn add_bot(t: &common::TestServer, s: &Setup, name: &str, scope: &str) -> (String, String) {
    let b = t
        .bot_in_guild(&s.alice, &s.guild, name, scope, "8192")
        .await;
    (b.app_id, b.bot_id)
}

#[tokio::test]
async fn integrations_list_and_remove_bots() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let path = format!("/guilds/{g}/integrations");
    assert_eq!(t.get(&path, &s.alice).await.body, json!([]));
    let mut gw = gateway(t, &s.alice).await;
    let (app, bot) = add_bot(t, &s, "Helper", "bot%20applications.commands").await;
    let ev = gw.event("GUILD_INTEGRATIONS_UPDATE").await;
    assert_eq!(ev["guild_id"], json!(g));

    let r = t.get(&path, &s.alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = r.body.as_array().expect("integrations");
    assert_eq!(all.len(), 1, "{}", r.body);
    let i = &all[0];
    assert_eq!(i["type"], "discord");
    assert_eq!(i["name"], "Helper");
    assert_eq!(i["enabled"], true);
    assert_eq!(i["account"]["id"], json!(bot));
    assert_eq!(i["application"]["id"], json!(app));
    assert_eq!(i["application"]["bot"]["id"], json!(bot));
    assert_eq!(i["scopes"], json!(["bot", "applications.commands"]));
    assert_eq!(i["user"]["id"], json!(s.alice_id));
    let integration = i["id"].as_str().expect("id").to_string();
    let r = t.get(&path, &s.bob).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t.delete(&format!("{path}/{integration}"), &s.bob).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t
        .delete(&format!("{path}/1234567890123456789"), &s.alice)
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10005)));

    // Removing it removes the bot and its managed role.
    let r = t.delete(&format!("{path}/{integration}"), &s.alice).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let ev = gw.event("INTEGRATION_DELETE").await;
    assert_eq!(
        ev,
        json!({"id": integration, "guild_id": g, "application_id": app})
    );
    gw.event("GUILD_INTEGRATIONS_UPDATE").await;
    assert_eq!(t.get(&path, &s.alice).await.body, json!([]));
    let r = t.get(&format!("/guilds/{g}/members/{bot}"), &s.alice).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10007)));
    let roles = t.get(&format!("/guilds/{g}/roles"), &s.alice).await.body;
    assert!(
        roles
            .as_array()
            .expect("roles")
            .iter()
            .all(|r| r["tags"]["bot_id"] != json!(bot)),
        "{roles}"
    );
    let entries = audit(t, &s, 82).await;
    assert_eq!(entries.len(), 1, "INTEGRATION_DELETE");
    assert_eq!(entries[0]["target_id"], json!(integration));

    // A bot kicked goes with its integration too; stored across a restart until then.
    let (_, other) = add_bot(t, &s, "Other", "bot").await;
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let alice = login(&t, "alice").await;
    let listed = t.get(&path, &alice).await.body;
    assert_eq!(listed[0]["account"]["id"], json!(other), "{listed}");
    assert_eq!(listed[0]["scopes"], json!(["bot"]));
    let r = t
        .delete(&format!("/guilds/{g}/members/{other}"), &alice)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(t.get(&path, &alice).await.body, json!([]));
    t.stop().await;
}

/// The widget image and its status, content type and body.
async fn widget_png(t: &common::TestServer, guild: &str, query: &str) -> (u16, String, Vec<u8>) {
    t.get_raw(&format!("/guilds/{guild}/widget.png{query}"), None)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_png_in_every_style() {
    let s = setup().await;
    let t = &s.t;
    let g = &s.guild;

    // Disabled (the default): 50004, without a token as with one.
    let (status, _, body) = widget_png(t, g, "").await;
    let err: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!((status, err["code"].as_u64()), (403, Some(50004)), "{err}");

    let r = t
        .patch(
            &format!("/guilds/{g}/widget"),
            &s.alice,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The shield is the default; no token needed.
    let (status, kind, png) = widget_png(t, g, "").await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    let shield = image::load_from_memory(&png).expect("a PNG").to_rgba8();
    assert_eq!(shield.height(), 20);
    for (style, size) in [
        ("shield", shield.dimensions()),
        ("banner1", (300, 120)),
        ("banner2", (248, 74)),
        ("banner3", (300, 130)),
        ("banner4", (300, 250)),
    ] {
        let (status, kind, png) = widget_png(t, g, &format!("?style={style}")).await;
        assert_eq!((status, kind.as_str()), (200, "image/png"), "{style}");
        let img = image::load_from_memory(&png).expect("a PNG");
        assert_eq!(
            (img.width(), img.height()),
            size,
            "{style} is drawn at its size"
        );
    }

    // An unknown style is a form error on `style`; an unknown guild is 10004.
    let (status, _, body) = widget_png(t, g, "?style=banner9").await;
    let err: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!(status, 400);
    assert_eq!(common::field_code(&err, &["style"]), "BASE_TYPE_CHOICES");
    let (status, _, body) = widget_png(t, "1", "").await;
    let err: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!((status, err["code"].as_u64()), (404, Some(10004)), "{err}");

    // Turned off again: refused again.
    t.patch(
        &format!("/guilds/{g}/widget"),
        &s.alice,
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(widget_png(t, g, "?style=banner1").await.0, 403);
    s.t.stop().await;
}
