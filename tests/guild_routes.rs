//! The guild and channel routes beyond the basics: permission overwrites, reordering, group DM
//! recipients, slowmode, clearing reactions, counts and previews, member search, prune, regions,
//! vanity URL, widget, single bans and ban message deletion, invite deletion, the audit log and
//! custom emojis — over HTTP, with their gateway events seen through a WebSocket client.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MODERATION: u64 = 1 << 2;
const GUILD_EXPRESSIONS: u64 = 1 << 3;
const GUILD_INVITES: u64 = 1 << 6;
const GUILD_MESSAGES: u64 = 1 << 9;
const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
const DIRECT_MESSAGES: u64 = 1 << 12;
const ALL_UNPRIVILEGED: u64 = GUILDS
    | GUILD_MODERATION
    | GUILD_EXPRESSIONS
    | GUILD_INVITES
    | GUILD_MESSAGES
    | GUILD_MESSAGE_REACTIONS
    | DIRECT_MESSAGES;

type Setup = common::OwnerAndMember;

/// Alice owns a guild; Bob is a plain member.
async fn setup() -> Setup {
    common::owner_and_member("Routes").await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn put(t: &common::TestServer, path: &str, token: &str, body: Value) -> common::Resp {
    t.req(Method::PUT, path, Some(token), Some(body)).await
}

/// A gateway session past READY and its GUILD_CREATEs.
async fn gateway(t: &common::TestServer, token: &str, guilds: usize) -> common::Gateway {
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(token, ALL_UNPRIVILEGED).await;
    for _ in 0..guilds {
        gw.event("GUILD_CREATE").await;
    }
    gw
}

fn png_data_uri(w: u32, h: u32) -> String {
    use base64::Engine;
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(w, h)
        .write_to(&mut png, image::ImageOutputFormat::Png)
        .unwrap();
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    )
}

async fn post_message(t: &common::TestServer, token: &str, channel: &str, text: &str) -> String {
    let m = t
        .post(
            &format!("/channels/{channel}/messages"),
            token,
            json!({"content": text}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    id_of(&m.body)
}

#[tokio::test]
async fn permission_overwrites_put_and_delete() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let mut gw = gateway(t, &s.alice, 1).await;

    // Deny VIEW_CHANNEL to @everyone: Bob loses the channel (the channel actor's cache is
    // dropped), Alice sees CHANNEL_UPDATE with the overwrite.
    let r = put(
        t,
        &format!("/channels/{c}/permissions/{g}"),
        &s.alice,
        json!({"type": 0, "allow": "0", "deny": "1024"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let ev = gw.event("CHANNEL_UPDATE").await;
    assert_eq!(ev["id"], *c);
    assert_eq!(
        ev["permission_overwrites"],
        json!([{"id": g, "type": 0, "allow": "0", "deny": "1024"}])
    );
    assert_eq!(
        t.get(&format!("/channels/{c}"), &s.bob).await.body["code"],
        50001
    );
    // A member overwrite lets Bob back in.
    let r = put(
        t,
        &format!("/channels/{c}/permissions/{}", s.bob_id),
        &s.alice,
        json!({"type": 1, "allow": "1024"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(t.get(&format!("/channels/{c}"), &s.bob).await.status, 200);
    let channel = t.get(&format!("/channels/{c}"), &s.alice).await.body;
    assert_eq!(
        channel["permission_overwrites"].as_array().unwrap().len(),
        2
    );

    // Bob can't manage overwrites (50013); with MANAGE_ROLES he still can't grant what he lacks.
    let r = put(
        t,
        &format!("/channels/{c}/permissions/{g}"),
        &s.bob,
        json!({"type": 0, "allow": "1024"}),
    )
    .await;
    assert_eq!(r.body["code"], 50013);
    let role = t
        .post(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!({"name": "roles", "permissions": ((1u64 << 28) | 1024).to_string()}),
        )
        .await;
    let rid = id_of(&role.body);
    put(
        t,
        &format!("/guilds/{g}/members/{}/roles/{rid}", s.bob_id),
        &s.alice,
        json!({}),
    )
    .await;
    let r = put(
        t,
        &format!("/channels/{c}/permissions/{rid}"),
        &s.bob,
        json!({"type": 0, "allow": "8"}),
    )
    .await;
    assert_eq!(r.body["code"], 50013, "ADMINISTRATOR is not Bob's to give");
    let r = put(
        t,
        &format!("/channels/{c}/permissions/{rid}"),
        &s.bob,
        json!({"type": 0, "allow": "1024"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // Validation and unknown targets.
    let r = put(
        t,
        &format!("/channels/{c}/permissions/{g}"),
        &s.alice,
        json!({"allow": "0"}),
    )
    .await;
    assert_eq!(r.body["code"], 50035);
    assert_eq!(
        r.body["errors"]["type"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );
    let r = put(
        t,
        &format!("/channels/{c}/permissions/123456"),
        &s.alice,
        json!({"type": 0}),
    )
    .await;
    assert_eq!(r.body["code"], 10011);
    let r = put(
        t,
        &format!("/channels/{c}/permissions/123456"),
        &s.alice,
        json!({"type": 1}),
    )
    .await;
    assert_eq!(r.body["code"], 10007);

    // Delete: the @everyone deny goes away; deleting it again is Unknown Overwrite.
    let r = t
        .delete(&format!("/channels/{c}/permissions/{g}"), &s.alice)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Earlier CHANNEL_UPDATEs are still queued; the last one has no @everyone overwrite.
    loop {
        let ev = gw.event("CHANNEL_UPDATE").await;
        let overwrites = ev["permission_overwrites"].as_array().unwrap().clone();
        if overwrites.iter().all(|o| o["id"] != *g) {
            assert_eq!(overwrites.len(), 2, "Bob's and the role's remain");
            break;
        }
    }
    let r = t
        .delete(&format!("/channels/{c}/permissions/{g}"), &s.alice)
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10009)));
    // DMs have no overwrites.
    let dm = t
        .post(
            "/users/@me/channels",
            &s.alice,
            json!({"recipient_id": s.bob_id}),
        )
        .await;
    let r = put(
        t,
        &format!("/channels/{}/permissions/{g}", id_of(&dm.body)),
        &s.alice,
        json!({"type": 0}),
    )
    .await;
    assert_eq!(r.body["code"], 50003);
}

#[tokio::test]
async fn channels_and_roles_reorder() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let mut gw = gateway(t, &s.alice, 1).await;
    let cat = t
        .post(
            &format!("/guilds/{g}/channels"),
            &s.alice,
            json!({"name": "Cat", "type": 4, "permission_overwrites": [{"id": g, "type": 0, "allow": "0", "deny": "2048"}]}),
        )
        .await;
    assert_eq!(cat.status, 201, "{}", cat.body);
    let cat = id_of(&cat.body);
    let other = id_of(
        &t.post(
            &format!("/guilds/{g}/channels"),
            &s.alice,
            json!({"name": "other"}),
        )
        .await
        .body,
    );

    // Bob may not reorder.
    let r = t
        .patch(
            &format!("/guilds/{g}/channels"),
            &s.bob,
            json!([{"id": c, "position": 5}]),
        )
        .await;
    assert_eq!(r.body["code"], 50013);
    // Bad entries are refused before anything changes.
    let r = t
        .patch(
            &format!("/guilds/{g}/channels"),
            &s.alice,
            json!([{"id": c, "position": 9}, {"id": "1234", "position": 1}, {"id": other, "parent_id": c}]),
        )
        .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert!(r.body["errors"]["1"]["id"].is_object(), "{}", r.body);
    assert!(r.body["errors"]["2"]["parent_id"].is_object(), "{}", r.body);

    let r = t
        .patch(
            &format!("/guilds/{g}/channels"),
            &s.alice,
            json!([
                {"id": c, "position": 7},
                {"id": other, "position": 0, "parent_id": cat, "lock_permissions": true},
            ]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let mut updates = Vec::new();
    while updates.len() < 2 {
        updates.push(gw.event("CHANNEL_UPDATE").await);
    }
    assert!(updates.iter().any(|u| u["id"] == *c && u["position"] == 7));
    let list = t.get(&format!("/guilds/{g}/channels"), &s.alice).await.body;
    let find = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find(c)["position"], 7);
    assert_eq!(find(&other)["parent_id"], cat);
    assert_eq!(
        find(&other)["permission_overwrites"],
        find(&cat)["permission_overwrites"],
        "lock_permissions syncs with the category"
    );
    // The synced deny applies: Bob can't send in `other` any more.
    let r = t
        .post(
            &format!("/channels/{other}/messages"),
            &s.bob,
            json!({"content": "x"}),
        )
        .await;
    assert_eq!(r.body["code"], 50013);
    // `parent_id: null` takes it out of the category.
    let r = t
        .patch(
            &format!("/guilds/{g}/channels"),
            &s.alice,
            json!([{"id": other, "parent_id": null}]),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(t.get(&format!("/channels/{other}"), &s.alice).await.body["parent_id"].is_null());

    // Roles: three roles created at position 1; moving the oldest to the top renumbers 1..n.
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let r = t
            .post(
                &format!("/guilds/{g}/roles"),
                &s.alice,
                json!({"name": name}),
            )
            .await;
        ids.push(id_of(&r.body));
    }
    let r = t
        .patch(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!([{"id": ids[2], "position": 3}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pos = |roles: &Value, id: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["position"]
            .as_i64()
            .unwrap()
    };
    // Hierarchy before: a (oldest) above b above c, all at 1. After: c on top.
    assert_eq!(
        [
            pos(&r.body, &ids[0]),
            pos(&r.body, &ids[1]),
            pos(&r.body, &ids[2])
        ],
        [2, 1, 3]
    );
    assert_eq!(pos(&r.body, g), 0, "@everyone stays at the bottom");
    let ev = gw.event("GUILD_ROLE_UPDATE").await;
    assert_eq!(ev["guild_id"], *g);
    let listed = t.get(&format!("/guilds/{g}/roles"), &s.alice).await.body;
    assert_eq!(pos(&listed, &ids[2]), 3);
    let r = t
        .patch(
            &format!("/guilds/{g}/roles"),
            &s.bob,
            json!([{"id": ids[0], "position": 1}]),
        )
        .await;
    assert_eq!(r.body["code"], 50013);
    let r = t
        .patch(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!([{"id": "42", "position": 1}]),
        )
        .await;
    assert_eq!(r.body["code"], 50035);
}

#[tokio::test]
async fn group_dm_recipients() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let dave = t.register("dave").await;
    let [bob_id, carol_id, dave_id] = [
        id_of(&t.me(&bob).await),
        id_of(&t.me(&carol).await),
        id_of(&t.me(&dave).await),
    ];
    let alice_id = id_of(&t.me(&alice).await);
    let group = t
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipients": [bob_id, carol_id]}),
        )
        .await;
    assert_eq!(group.body["type"], 3, "{}", group.body);
    let gid = id_of(&group.body);
    let mut bob_gw = gateway(&t, &bob, 0).await;
    let mut dave_gw = gateway(&t, &dave, 0).await;

    // Any recipient adds; the new one gets CHANNEL_CREATE, the others CHANNEL_RECIPIENT_ADD.
    let r = put(
        &t,
        &format!("/channels/{gid}/recipients/{dave_id}"),
        &bob,
        json!({}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let created = dave_gw.event("CHANNEL_CREATE").await;
    assert_eq!(created["id"], gid);
    assert_eq!(created["recipients"].as_array().unwrap().len(), 3);
    let added = bob_gw.event("CHANNEL_RECIPIENT_ADD").await;
    assert_eq!(added["user"]["id"], dave_id);
    assert_eq!(added["channel_id"], gid);
    assert!(
        t.get("/users/@me/channels", &dave)
            .await
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == gid)
    );
    assert_eq!(
        t.post(
            &format!("/channels/{gid}/messages"),
            &dave,
            json!({"content": "hi all"})
        )
        .await
        .status,
        200
    );
    // Adding again is a no-op; unknown users are 10013; outsiders see Unknown Channel.
    assert_eq!(
        put(
            &t,
            &format!("/channels/{gid}/recipients/{dave_id}"),
            &alice,
            json!({})
        )
        .await
        .status,
        204
    );
    assert_eq!(
        put(
            &t,
            &format!("/channels/{gid}/recipients/99999"),
            &alice,
            json!({})
        )
        .await
        .body["code"],
        10013
    );
    let eve = t.register("eve").await;
    assert_eq!(
        put(
            &t,
            &format!("/channels/{gid}/recipients/{alice_id}"),
            &eve,
            json!({})
        )
        .await
        .body["code"],
        10003
    );

    // Only the owner removes others; anyone leaves.
    let r = t
        .delete(&format!("/channels/{gid}/recipients/{carol_id}"), &bob)
        .await;
    assert_eq!(r.body["code"], 50013);
    let r = t
        .delete(&format!("/channels/{gid}/recipients/{dave_id}"), &alice)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let gone = dave_gw.event("CHANNEL_DELETE").await;
    assert_eq!(gone["id"], gid);
    let removed = bob_gw.event("CHANNEL_RECIPIENT_REMOVE").await;
    assert_eq!(removed["user"]["id"], dave_id);
    assert_eq!(
        t.get(&format!("/channels/{gid}/messages"), &dave)
            .await
            .body["code"],
        10003,
        "a removed recipient loses access"
    );
    assert!(
        t.get("/users/@me/channels", &dave)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = t
        .delete(&format!("/channels/{gid}/recipients/{carol_id}"), &carol)
        .await;
    assert_eq!(r.status, 204);
    // The owner leaving hands the group to the oldest remaining recipient.
    let r = t.delete(&format!("/channels/{gid}"), &alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = t.get(&format!("/channels/{gid}"), &bob).await.body;
    assert_eq!(c["owner_id"], bob_id);
    assert_eq!(c["recipients"].as_array().unwrap().len(), 1);

    // A 1:1 DM has no recipient list to change; a group holds at most 10.
    let dm = t
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipient_id": bob_id}),
        )
        .await;
    let r = put(
        &t,
        &format!("/channels/{}/recipients/{carol_id}", id_of(&dm.body)),
        &alice,
        json!({}),
    )
    .await;
    assert_eq!(r.body["code"], 50003);
    let mut many = Vec::new();
    for i in 0..9 {
        many.push(id_of(&t.me(&t.register(&format!("user{i}")).await).await));
    }
    let big = t
        .post("/users/@me/channels", &alice, json!({"recipients": many}))
        .await;
    assert_eq!(big.status, 200, "{}", big.body);
    let r = put(
        &t,
        &format!("/channels/{}/recipients/{dave_id}", id_of(&big.body)),
        &alice,
        json!({}),
    )
    .await;
    assert_eq!(r.body["code"], 30004, "{}", r.body);
}

#[tokio::test]
async fn slowmode_limits_members_not_moderators() {
    let s = setup().await;
    let (t, c) = (&s.t, &s.channel);
    let r = t
        .patch(
            &format!("/channels/{c}"),
            &s.alice,
            json!({"rate_limit_per_user": 60}),
        )
        .await;
    assert_eq!(r.body["rate_limit_per_user"], 60);
    post_message(t, &s.bob, c, "first").await;
    let r = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"content": "second"}),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.body["code"], 20016);
    let retry = r.body["retry_after"].as_f64().unwrap();
    assert!(retry > 0.0 && retry <= 60.0, "{retry}");
    // The owner (MANAGE_CHANNELS, MANAGE_MESSAGES) is exempt.
    post_message(t, &s.alice, c, "one").await;
    post_message(t, &s.alice, c, "two").await;
    // Turning slowmode off applies at once.
    t.patch(
        &format!("/channels/{c}"),
        &s.alice,
        json!({"rate_limit_per_user": 0}),
    )
    .await;
    post_message(t, &s.bob, c, "free again").await;
}

#[tokio::test]
async fn clearing_reactions() {
    let s = setup().await;
    let (t, c) = (&s.t, &s.channel);
    let mut gw = gateway(t, &s.alice, 1).await;
    let m = post_message(t, &s.bob, c, "react to me").await;
    for (token, emoji) in [
        (&s.alice, "%F0%9F%91%8D"),
        (&s.bob, "%F0%9F%91%8D"),
        (&s.bob, "%F0%9F%8E%89"),
        (&s.alice, "party:123456"),
    ] {
        let r = t
            .req(
                Method::PUT,
                &format!("/channels/{c}/messages/{m}/reactions/{emoji}/@me"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    // Bob lacks MANAGE_MESSAGES.
    let r = t
        .delete(&format!("/channels/{c}/messages/{m}/reactions"), &s.bob)
        .await;
    assert_eq!(r.body["code"], 50013);
    let r = t
        .delete(
            &format!("/channels/{c}/messages/{m}/reactions/%F0%9F%91%8D"),
            &s.alice,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let ev = gw.event("MESSAGE_REACTION_REMOVE_EMOJI").await;
    assert_eq!(ev["message_id"], m);
    assert_eq!(ev["emoji"]["name"], "👍");
    let msg = t
        .get(&format!("/channels/{c}/messages/{m}"), &s.alice)
        .await
        .body;
    assert_eq!(msg["reactions"].as_array().unwrap().len(), 2);
    // A custom emoji by `name:id`.
    let r = t
        .delete(
            &format!("/channels/{c}/messages/{m}/reactions/party:123456"),
            &s.alice,
        )
        .await;
    assert_eq!(r.status, 204);
    let ev = gw.event("MESSAGE_REACTION_REMOVE_EMOJI").await;
    assert_eq!(ev["emoji"]["id"], "123456");
    let r = t
        .delete(&format!("/channels/{c}/messages/{m}/reactions"), &s.alice)
        .await;
    assert_eq!(r.status, 204);
    let ev = gw.event("MESSAGE_REACTION_REMOVE_ALL").await;
    assert_eq!(ev["message_id"], m);
    assert_eq!(ev["channel_id"], *c);
    let msg = t
        .get(&format!("/channels/{c}/messages/{m}"), &s.alice)
        .await
        .body;
    assert!(msg["reactions"].as_array().is_none_or(|r| r.is_empty()));
    assert_eq!(
        t.delete(&format!("/channels/{c}/messages/1/reactions"), &s.alice)
            .await
            .body["code"],
        10008
    );
}

#[tokio::test]
async fn counts_preview_search_and_regions() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let carol = t.register("carol").await;
    let _gw = gateway(t, &s.bob, 1).await;

    let plain = t.get(&format!("/guilds/{g}"), &s.alice).await.body;
    assert!(plain.get("approximate_presence_count").is_none());
    let counted = t
        .get(&format!("/guilds/{g}?with_counts=true"), &s.alice)
        .await
        .body;
    assert_eq!(counted["approximate_member_count"], 2);
    assert_eq!(counted["approximate_presence_count"], 1, "Bob is online");

    let p = t.get(&format!("/guilds/{g}/preview"), &s.bob).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["name"], "Routes");
    assert_eq!(p.body["approximate_member_count"], 2);
    assert!(p.body["emojis"].is_array());
    assert_eq!(
        t.get(&format!("/guilds/{g}/preview"), &carol).await.body["code"],
        10004
    );
    t.patch(
        &format!("/guilds/{g}"),
        &s.alice,
        json!({"features": ["DISCOVERABLE"]}),
    )
    .await;
    assert_eq!(
        t.get(&format!("/guilds/{g}/preview"), &carol).await.status,
        200,
        "discoverable guilds preview for anyone"
    );

    // Search by username prefix, nickname, case-insensitively; limit.
    t.patch(
        &format!("/guilds/{g}/members/@me"),
        &s.bob,
        json!({"nick": "Builder"}),
    )
    .await;
    let r = t
        .get(
            &format!("/guilds/{g}/members/search?query=AL&limit=5"),
            &s.bob,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice"]);
    let r = t
        .get(
            &format!("/guilds/{g}/members/search?query=build&limit=5"),
            &s.alice,
        )
        .await;
    assert_eq!(r.body[0]["nick"], "Builder");
    let r = t
        .get(&format!("/guilds/{g}/members/search?query=zzz"), &s.alice)
        .await;
    assert_eq!(r.body, json!([]));
    let r = t
        .get(&format!("/guilds/{g}/members/search"), &s.alice)
        .await;
    assert_eq!(r.body["code"], 50035);
    let r = t
        .get(
            &format!("/guilds/{g}/members/search?query=a&limit=1001"),
            &s.alice,
        )
        .await;
    assert_eq!(r.body["code"], 50035);
    assert_eq!(
        t.get(&format!("/guilds/{g}/members/search?query=a"), &carol)
            .await
            .body["code"],
        10004
    );

    let r = t.get(&format!("/guilds/{g}/regions"), &s.bob).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body[0]["optimal"], true);
    assert!(r.body[0]["id"].is_string());
    assert_eq!(
        t.get(&format!("/guilds/{g}/regions"), &carol).await.body["code"],
        10004
    );
}

/// Prune uses the join date as its activity measure (the server does not track activity), so
/// this test backdates memberships in the store before the guild actor loads them.
#[tokio::test]
async fn prune_count_and_begin() {
    let s = setup().await;
    let (g, c) = (s.guild.clone(), s.channel.clone());
    let carol = s.t.register("carol").await;
    let carol_id = id_of(&s.t.me(&carol).await);
    s.t.join(&carol, &s.invite).await;
    let role =
        s.t.post(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!({"name": "kept"}),
        )
        .await;
    let rid = id_of(&role.body);
    put(
        &s.t,
        &format!("/guilds/{g}/members/{carol_id}/roles/{rid}"),
        &s.alice,
        json!({}),
    )
    .await;
    let r =
        s.t.get(&format!("/guilds/{g}/prune?days=1"), &s.alice)
            .await;
    assert_eq!(r.body, json!({"pruned": 0}), "everyone joined just now");

    // Restart, backdate Bob and Carol by 10 days before the guild is loaded again.
    let (alice, bob, bob_id) = (s.alice.clone(), s.bob.clone(), s.bob_id.clone());
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let store = t.srv().app.store();
    let gid: accord::id::GuildId = g.parse().unwrap();
    for user in [&bob_id, &carol_id] {
        let uid: accord::id::UserId = user.parse().unwrap();
        let mut m = store.get_member(gid, uid).await.unwrap().unwrap();
        m.joined_at = accord::model::Timestamp(m.joined_at.0 - 10 * 86_400_000);
        store.put_member(&m).await.unwrap();
    }

    let r = t.get(&format!("/guilds/{g}/prune"), &bob).await;
    assert_eq!(r.body["code"], 50013);
    let r = t.get(&format!("/guilds/{g}/prune?days=31"), &alice).await;
    assert_eq!(r.body["code"], 50035);
    let r = t.get(&format!("/guilds/{g}/prune?days=0"), &alice).await;
    assert_eq!(r.body["code"], 50035);
    let r = t.get(&format!("/guilds/{g}/prune?days=7"), &alice).await;
    assert_eq!(r.body, json!({"pruned": 1}), "Carol has a role");
    let r = t
        .get(
            &format!("/guilds/{g}/prune?days=7&include_roles={rid}"),
            &alice,
        )
        .await;
    assert_eq!(r.body, json!({"pruned": 2}));
    let r = t.get(&format!("/guilds/{g}/prune?days=11"), &alice).await;
    assert_eq!(r.body, json!({"pruned": 0}));

    let mut gw = gateway(&t, &alice, 1).await;
    let r = t
        .req_with(
            Method::POST,
            &format!("/guilds/{g}/prune"),
            Some(&alice),
            Some(json!({"days": 7})),
            &[("x-audit-log-reason", "spring%20cleaning")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"pruned": 1}));
    let ev = gw.event("GUILD_AUDIT_LOG_ENTRY_CREATE").await;
    assert_eq!(ev["action_type"], 21);
    assert_eq!(ev["options"]["members_removed"], "1");
    assert_eq!(ev["reason"], "spring cleaning");
    assert_eq!(
        t.get(&format!("/guilds/{g}/members/{bob_id}"), &alice)
            .await
            .body["code"],
        10007
    );
    assert_eq!(
        t.get(&format!("/guilds/{g}/members/{carol_id}"), &alice)
            .await
            .status,
        200
    );
    assert_eq!(
        t.get(&format!("/channels/{c}"), &bob).await.body["code"],
        10003
    );
    let r = t
        .post(
            &format!("/guilds/{g}/prune"),
            &alice,
            json!({"days": 7, "compute_prune_count": false, "include_roles": [rid]}),
        )
        .await;
    assert_eq!(r.body, json!({"pruned": null}));
    assert_eq!(
        t.get(&format!("/guilds/{g}/members/{carol_id}"), &alice)
            .await
            .body["code"],
        10007
    );
}

#[tokio::test]
async fn vanity_url() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let r = t.get(&format!("/guilds/{g}/vanity-url"), &s.alice).await;
    assert_eq!(r.body, json!({"code": null, "uses": 0}));
    assert_eq!(
        t.get(&format!("/guilds/{g}/vanity-url"), &s.bob).await.body["code"],
        50013
    );
    let mut gw = gateway(t, &s.alice, 1).await;
    let r = t
        .patch(
            &format!("/guilds/{g}/vanity-url"),
            &s.alice,
            json!({"code": "Cool-Guild"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"code": "cool-guild", "uses": 0}));
    let ev = gw.event("GUILD_UPDATE").await;
    assert_eq!(ev["vanity_url_code"], "cool-guild");
    // The code works as an invite.
    let preview = t.req(Method::GET, "/invites/cool-guild", None, None).await;
    assert_eq!(preview.body["guild"]["id"], *g);
    let carol = t.register("carol").await;
    t.join(&carol, "cool-guild").await;
    let r = t.get(&format!("/guilds/{g}/vanity-url"), &s.alice).await;
    assert_eq!(r.body["uses"], 1);
    // Taken, invalid.
    let (other, _) = t.guild(&s.alice, "Other").await;
    for code in ["cool-guild", "no spaces!", "x"] {
        let r = t
            .patch(
                &format!("/guilds/{other}/vanity-url"),
                &s.alice,
                json!({"code": code}),
            )
            .await;
        assert_eq!(r.body["code"], 50020, "{code}: {}", r.body);
    }
    assert_eq!(
        t.patch(
            &format!("/guilds/{g}/vanity-url"),
            &s.bob,
            json!({"code": "mine"})
        )
        .await
        .body["code"],
        50013
    );
    // Removing frees the code.
    let r = t
        .patch(
            &format!("/guilds/{g}/vanity-url"),
            &s.alice,
            json!({"code": null}),
        )
        .await;
    assert_eq!(r.body, json!({"code": null, "uses": 0}));
    assert_eq!(
        t.req(Method::GET, "/invites/cool-guild", None, None)
            .await
            .body["code"],
        10006
    );
    let r = t
        .patch(
            &format!("/guilds/{other}/vanity-url"),
            &s.alice,
            json!({"code": "cool-guild"}),
        )
        .await;
    assert_eq!(r.body["code"], "cool-guild");
}

#[tokio::test]
async fn widget_settings_and_json() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let r = t.get(&format!("/guilds/{g}/widget"), &s.alice).await;
    assert_eq!(r.body, json!({"enabled": false, "channel_id": null}));
    assert_eq!(
        t.get(&format!("/guilds/{g}/widget"), &s.bob).await.body["code"],
        50013
    );
    let r = t
        .req(Method::GET, &format!("/guilds/{g}/widget.json"), None, None)
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50004)));
    let mut gw = gateway(t, &s.alice, 1).await;
    let r = t
        .patch(
            &format!("/guilds/{g}/widget"),
            &s.alice,
            json!({"enabled": true, "channel_id": s.channel}),
        )
        .await;
    assert_eq!(r.body, json!({"enabled": true, "channel_id": s.channel}));
    let ev = gw.event("GUILD_UPDATE").await;
    assert_eq!(ev["widget_enabled"], true);
    let r = t
        .patch(
            &format!("/guilds/{g}/widget"),
            &s.alice,
            json!({"channel_id": "12345"}),
        )
        .await;
    assert_eq!(r.body["code"], 50035);
    let r = t
        .req(Method::GET, &format!("/guilds/{g}/widget.json"), None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Routes");
    assert_eq!(
        r.body["channels"][0]["name"], "General",
        "the default voice channel"
    );
    assert!(r.body["presence_count"].is_number());
}

#[tokio::test]
async fn bans_get_one_and_delete_messages() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let second = id_of(
        &t.post(
            &format!("/guilds/{g}/channels"),
            &s.alice,
            json!({"name": "second"}),
        )
        .await
        .body,
    );
    let keep = post_message(t, &s.alice, c, "alice stays").await;
    let mut bobs = Vec::new();
    for i in 0..3 {
        bobs.push(post_message(t, &s.bob, c, &format!("spam {i}")).await);
    }
    bobs.push(post_message(t, &s.bob, &second, "more spam").await);

    let r = t
        .get(&format!("/guilds/{g}/bans/{}", s.bob_id), &s.alice)
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10026)));
    let r = put(
        t,
        &format!("/guilds/{g}/bans/{}", s.bob_id),
        &s.alice,
        json!({"delete_message_seconds": 604_801}),
    )
    .await;
    assert_eq!(r.body["code"], 50035);

    let mut gw = gateway(t, &s.alice, 1).await;
    let r = t
        .req_with(
            Method::PUT,
            &format!("/guilds/{g}/bans/{}", s.bob_id),
            Some(&s.alice),
            Some(json!({"delete_message_seconds": 3600})),
            &[("x-audit-log-reason", "spam%20bot")],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Deleted before the reply: both channels hold only Alice's message now.
    let left = t
        .get(&format!("/channels/{c}/messages"), &s.alice)
        .await
        .body;
    let ids: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [keep.as_str()]);
    assert_eq!(
        t.get(&format!("/channels/{second}/messages"), &s.alice)
            .await
            .body,
        json!([])
    );
    let mut deleted: Vec<String> = Vec::new();
    while deleted.len() < bobs.len() {
        let ev = gw.event("MESSAGE_DELETE_BULK").await;
        deleted.extend(
            ev["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap().to_string()),
        );
    }
    deleted.sort();
    bobs.sort();
    assert_eq!(deleted, bobs);

    let r = t
        .get(&format!("/guilds/{g}/bans/{}", s.bob_id), &s.alice)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["id"], s.bob_id);
    assert_eq!(r.body["reason"], "spam bot");
    let carol = t.register("carol").await;
    t.join(&carol, &s.invite).await;
    assert_eq!(
        t.get(&format!("/guilds/{g}/bans/{}", s.bob_id), &carol)
            .await
            .body["code"],
        50013
    );
}

#[tokio::test]
async fn invite_delete_event() {
    let s = setup().await;
    let (t, c) = (&s.t, &s.channel);
    let mut gw = gateway(t, &s.alice, 1).await;
    let inv = t
        .post(
            &format!("/channels/{c}/invites"),
            &s.alice,
            json!({"unique": true}),
        )
        .await;
    let code = inv.body["code"].as_str().unwrap().to_string();
    let created = gw.event("INVITE_CREATE").await;
    assert_eq!(created["code"], code);
    let r = t.delete(&format!("/invites/{code}"), &s.alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ev = gw.event("INVITE_DELETE").await;
    assert_eq!(ev["code"], code);
    assert_eq!(ev["channel_id"], *c);
    assert_eq!(ev["guild_id"], s.guild);
}

#[tokio::test]
async fn audit_log_records_moderation() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let mut gw = gateway(t, &s.alice, 1).await;
    let r = t
        .req_with(
            Method::PATCH,
            &format!("/guilds/{g}"),
            Some(&s.alice),
            Some(json!({"name": "Renamed"})),
            &[("x-audit-log-reason", "new%20name%20%E2%9C%A8")],
        )
        .await;
    assert_eq!(r.status, 200);
    let ev = gw.event("GUILD_AUDIT_LOG_ENTRY_CREATE").await;
    assert_eq!(ev["action_type"], 1);
    assert_eq!(ev["guild_id"], *g);
    assert_eq!(ev["reason"], "new name ✨");
    let role = t
        .post(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!({"name": "mods"}),
        )
        .await;
    let rid = id_of(&role.body);
    t.req_with(
        Method::DELETE,
        &format!("/guilds/{g}/members/{}", s.bob_id),
        Some(&s.alice),
        None,
        &[("x-audit-log-reason", "bye")],
    )
    .await;

    let log = t.get(&format!("/guilds/{g}/audit-logs"), &s.alice).await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entries = log.body["audit_log_entries"].as_array().unwrap();
    let types: Vec<i64> = entries
        .iter()
        .map(|e| e["action_type"].as_i64().unwrap())
        .collect();
    assert_eq!(types, [20, 30, 1], "newest first");
    assert_eq!(entries[0]["target_id"], s.bob_id);
    assert_eq!(entries[0]["reason"], "bye");
    assert_eq!(entries[1]["target_id"], rid);
    let name_change = entries[2]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "name")
        .unwrap();
    assert_eq!(name_change["old_value"], "Routes");
    assert_eq!(name_change["new_value"], "Renamed");
    let users: Vec<&str> = log.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        users.contains(&"alice") && users.contains(&"bob"),
        "{users:?}"
    );

    let filtered = t
        .get(&format!("/guilds/{g}/audit-logs?action_type=30"), &s.alice)
        .await;
    assert_eq!(
        filtered.body["audit_log_entries"].as_array().unwrap().len(),
        1
    );
    let paged = t
        .get(
            &format!(
                "/guilds/{g}/audit-logs?limit=1&before={}",
                entries[0]["id"].as_str().unwrap()
            ),
            &s.alice,
        )
        .await;
    assert_eq!(paged.body["audit_log_entries"][0]["action_type"], 30);
    assert_eq!(
        t.get(&format!("/guilds/{g}/audit-logs?limit=0"), &s.alice)
            .await
            .body["code"],
        50035
    );
    // Without VIEW_AUDIT_LOG: refused.
    let carol = t.register("carol").await;
    t.join(&carol, &s.invite).await;
    assert_eq!(
        t.get(&format!("/guilds/{g}/audit-logs"), &carol).await.body["code"],
        50013
    );
}

#[tokio::test]
async fn custom_emojis() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let mut gw = gateway(t, &s.alice, 1).await;
    let r = t
        .post(
            &format!("/guilds/{g}/emojis"),
            &s.alice,
            json!({"name": "blob_wave", "image": png_data_uri(32, 32)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let emoji = id_of(&r.body);
    assert_eq!(r.body["name"], "blob_wave");
    assert_eq!(r.body["animated"], false);
    assert_eq!(r.body["require_colons"], true);
    assert_eq!(r.body["user"]["username"], "alice");
    let ev = gw.event("GUILD_EMOJIS_UPDATE").await;
    assert_eq!(ev["guild_id"], *g);
    assert_eq!(ev["emojis"][0]["id"], emoji);

    // In the guild object, listed and fetched; Bob (no expression permissions beyond the
    // default) sees no `user`.
    let guild = t.get(&format!("/guilds/{g}"), &s.alice).await.body;
    assert_eq!(guild["emojis"][0]["name"], "blob_wave");
    let list = t.get(&format!("/guilds/{g}/emojis"), &s.alice).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let one = t.get(&format!("/guilds/{g}/emojis/{emoji}"), &s.bob).await;
    assert_eq!(one.body["name"], "blob_wave");
    // The image, at the URL Discord clients build.
    let img = t
        .http
        .get(format!("{}/emojis/{emoji}.png", t.srv().url()))
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/png");

    // Validation.
    for (body, field) in [
        (json!({"name": "x", "image": png_data_uri(8, 8)}), "name"),
        (
            json!({"name": "bad name", "image": png_data_uri(8, 8)}),
            "name",
        ),
        (json!({"name": "ok_name"}), "image"),
        (
            json!({"name": "ok_name", "image": "data:image/png;base64,aGVsbG8="}),
            "image",
        ),
    ] {
        let r = t.post(&format!("/guilds/{g}/emojis"), &s.alice, body).await;
        assert_eq!(r.body["code"], 50035, "{}", r.body);
        assert!(r.body["errors"][field].is_object(), "{}", r.body);
    }

    // Modify: name and roles.
    let r = t
        .patch(
            &format!("/guilds/{g}/emojis/{emoji}"),
            &s.alice,
            json!({"name": "wave", "roles": [g]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "wave");
    assert_eq!(r.body["roles"], json!([g]));
    let ev = gw.event("GUILD_EMOJIS_UPDATE").await;
    assert_eq!(ev["emojis"][0]["name"], "wave");
    let r = t
        .patch(
            &format!("/guilds/{g}/emojis/{emoji}"),
            &s.alice,
            json!({"roles": ["1"]}),
        )
        .await;
    assert_eq!(r.body["code"], 50035);

    // Bob may create (CREATE_GUILD_EXPRESSIONS is in @everyone's defaults, as on Discord) and
    // manage his own, not Alice's.
    let r = t
        .post(
            &format!("/guilds/{g}/emojis"),
            &s.bob,
            json!({"name": "bobs", "image": png_data_uri(8, 8)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let bobs = id_of(&r.body);
    assert_eq!(
        t.patch(
            &format!("/guilds/{g}/emojis/{emoji}"),
            &s.bob,
            json!({"name": "mine"})
        )
        .await
        .body["code"],
        50013
    );
    assert_eq!(
        t.delete(&format!("/guilds/{g}/emojis/{bobs}"), &s.bob)
            .await
            .status,
        204
    );
    // The image goes with it.
    let img = t
        .http
        .get(format!("{}/emojis/{bobs}.png", t.srv().url()))
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 404);
    // Without the permissions, nothing.
    t.patch(
        &format!("/guilds/{g}/roles/{g}"),
        &s.alice,
        json!({"permissions": "68608"}),
    )
    .await;
    assert_eq!(
        t.post(
            &format!("/guilds/{g}/emojis"),
            &s.bob,
            json!({"name": "nope", "image": png_data_uri(8, 8)})
        )
        .await
        .body["code"],
        50013
    );

    // Persisted across a restart.
    let (alice, guild) = (s.alice.clone(), g.clone());
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let list = t.get(&format!("/guilds/{guild}/emojis"), &alice).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "wave");

    let r = t
        .delete(&format!("/guilds/{guild}/emojis/{emoji}"), &alice)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        t.get(&format!("/guilds/{guild}/emojis/{emoji}"), &alice)
            .await
            .body["code"],
        10014
    );
    assert_eq!(
        t.delete(&format!("/guilds/{guild}/emojis/{emoji}"), &alice)
            .await
            .body["code"],
        10014
    );
    let log = t
        .get(
            &format!("/guilds/{guild}/audit-logs?action_type=62"),
            &alice,
        )
        .await;
    assert_eq!(log.body["audit_log_entries"][0]["target_id"], emoji);
}

#[tokio::test]
async fn role_mentions_ping_only_mentionable_roles() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    // @everyone without MENTION_EVERYONE (which Discord's defaults include).
    t.patch(
        &format!("/guilds/{g}/roles/{g}"),
        &s.alice,
        json!({"permissions": "68608"}),
    )
    .await;
    let quiet = id_of(
        &t.post(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!({"name": "quiet"}),
        )
        .await
        .body,
    );
    let loud = id_of(
        &t.post(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!({"name": "loud", "mentionable": true}),
        )
        .await
        .body,
    );
    let text = format!("<@&{quiet}> <@&{loud}> <@&123> @everyone");
    let by_bob = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"content": text}),
        )
        .await
        .body;
    assert_eq!(by_bob["mention_roles"], json!([loud]));
    assert_eq!(by_bob["mention_everyone"], false);
    let by_alice = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.alice,
            json!({"content": text}),
        )
        .await
        .body;
    let mut roles: Vec<String> = serde_json::from_value(by_alice["mention_roles"].clone()).unwrap();
    roles.sort();
    let mut want = vec![quiet, loud];
    want.sort();
    assert_eq!(roles, want, "MENTION_EVERYONE pings any role");
    assert_eq!(by_alice["mention_everyone"], true);
}

/// twilight-model (strict serde) parses what the new routes and events send.
#[tokio::test]
async fn shapes_parse_with_twilight() {
    use twilight_model::gateway::payload::incoming::{
        GuildAuditLogEntryCreate, GuildEmojisUpdate, ReactionRemoveAll, ReactionRemoveEmoji,
    };
    use twilight_model::guild::audit_log::AuditLog;
    use twilight_model::guild::widget::{GuildWidget, GuildWidgetSettings};
    use twilight_model::guild::{Emoji, GuildPreview, GuildPrune, Member};
    use twilight_model::voice::VoiceRegion;

    fn parse<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> T {
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what}: {e}\n{v}"))
    }

    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let mut gw = gateway(t, &s.alice, 1).await;
    let emoji = t
        .post(
            &format!("/guilds/{g}/emojis"),
            &s.alice,
            json!({"name": "shape", "image": png_data_uri(16, 16)}),
        )
        .await;
    parse::<Emoji>(&emoji.body, "emoji");
    parse::<GuildEmojisUpdate>(
        &gw.event("GUILD_EMOJIS_UPDATE").await,
        "GUILD_EMOJIS_UPDATE",
    );
    parse::<Vec<Emoji>>(
        &t.get(&format!("/guilds/{g}/emojis"), &s.alice).await.body,
        "emoji list",
    );
    parse::<GuildPreview>(
        &t.get(&format!("/guilds/{g}/preview"), &s.alice).await.body,
        "preview",
    );
    parse::<GuildPrune>(
        &t.get(&format!("/guilds/{g}/prune"), &s.alice).await.body,
        "prune",
    );
    parse::<Vec<Member>>(
        &t.get(&format!("/guilds/{g}/members/search?query=b"), &s.alice)
            .await
            .body,
        "member search",
    );
    parse::<Vec<VoiceRegion>>(
        &t.get(&format!("/guilds/{g}/regions"), &s.alice).await.body,
        "regions",
    );
    let widget = t
        .patch(
            &format!("/guilds/{g}/widget"),
            &s.alice,
            // twilight requires a channel here (Discord documents it as nullable).
            json!({"enabled": true, "channel_id": c}),
        )
        .await;
    parse::<GuildWidgetSettings>(&widget.body, "widget settings");
    parse::<GuildWidget>(
        &t.req(Method::GET, &format!("/guilds/{g}/widget.json"), None, None)
            .await
            .body,
        "widget.json",
    );
    let m = post_message(t, &s.bob, c, "shapes").await;
    put(
        t,
        &format!("/channels/{c}/messages/{m}/reactions/%F0%9F%91%8D/@me"),
        &s.bob,
        json!({}),
    )
    .await;
    t.delete(
        &format!("/channels/{c}/messages/{m}/reactions/%F0%9F%91%8D"),
        &s.alice,
    )
    .await;
    parse::<ReactionRemoveEmoji>(
        &gw.event("MESSAGE_REACTION_REMOVE_EMOJI").await,
        "MESSAGE_REACTION_REMOVE_EMOJI",
    );
    put(
        t,
        &format!("/channels/{c}/messages/{m}/reactions/%F0%9F%91%8D/@me"),
        &s.bob,
        json!({}),
    )
    .await;
    t.delete(&format!("/channels/{c}/messages/{m}/reactions"), &s.alice)
        .await;
    parse::<ReactionRemoveAll>(
        &gw.event("MESSAGE_REACTION_REMOVE_ALL").await,
        "MESSAGE_REACTION_REMOVE_ALL",
    );
    // Several kinds of entries, then the whole log.
    t.patch(
        &format!("/guilds/{g}"),
        &s.alice,
        json!({"name": "Shapes", "description": "d"}),
    )
    .await;
    t.post(
        &format!("/guilds/{g}/roles"),
        &s.alice,
        json!({"name": "r", "color": 255}),
    )
    .await;
    put(
        t,
        &format!("/channels/{c}/permissions/{g}"),
        &s.alice,
        json!({"type": 0, "deny": "2048"}),
    )
    .await;
    put(
        t,
        &format!("/guilds/{g}/bans/{}", s.bob_id),
        &s.alice,
        json!({}),
    )
    .await;
    parse::<GuildAuditLogEntryCreate>(
        &gw.event("GUILD_AUDIT_LOG_ENTRY_CREATE").await,
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
    );
    let log = t
        .get(&format!("/guilds/{g}/audit-logs"), &s.alice)
        .await
        .body;
    let parsed: AuditLog = parse(&log, "audit log");
    assert!(parsed.entries.len() >= 5, "{log}");
}

#[tokio::test]
async fn concurrent_role_grants_on_one_member_all_land() {
    let t = common::start().await;
    let owner = t.register("granter").await;
    let member = t.register("grantee").await;
    let (guild, channel) = t.guild(&owner, "Grants").await;
    t.join_via_invite(&owner, &channel, &member).await;
    let member_id = t.me(&member).await["id"].as_str().unwrap().to_string();
    let mut roles = Vec::new();
    for i in 0..8 {
        let r = t
            .post(
                &format!("/guilds/{guild}/roles"),
                &owner,
                json!({"name": format!("r{i}")}),
            )
            .await;
        roles.push(r.body["id"].as_str().unwrap().to_string());
    }
    let grants = roles.iter().map(|r| {
        let path = format!("/guilds/{guild}/members/{member_id}/roles/{r}");
        let t = &t;
        let owner = &owner;
        async move { t.req(Method::PUT, &path, Some(owner), None).await }
    });
    for r in futures::future::join_all(grants).await {
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let m = t
        .get(&format!("/guilds/{guild}/members/{member_id}"), &owner)
        .await;
    let mut have: Vec<String> = serde_json::from_value(m.body["roles"].clone()).unwrap();
    have.sort();
    roles.sort();
    assert_eq!(have, roles, "no grant undid another");
    // And concurrent removals likewise.
    let removals = roles.iter().take(4).map(|r| {
        let path = format!("/guilds/{guild}/members/{member_id}/roles/{r}");
        let t = &t;
        let owner = &owner;
        async move { t.req(Method::DELETE, &path, Some(owner), None).await }
    });
    futures::future::join_all(removals).await;
    let m = t
        .get(&format!("/guilds/{guild}/members/{member_id}"), &owner)
        .await;
    assert_eq!(m.body["roles"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn guild_edit_features_images_and_community_channels() {
    let s = setup().await;
    let (t, g, channel) = (&s.t, &s.guild, &s.channel);
    let features = |v: &Value| -> Vec<String> {
        let mut f: Vec<String> = serde_json::from_value(v["features"].clone()).unwrap();
        f.sort();
        f
    };
    // COMMUNITY needs a rules and an updates channel, as on Discord (40006 otherwise).
    let r = t
        .patch(
            &format!("/guilds/{g}"),
            &s.alice,
            json!({"features": ["COMMUNITY"], "rules_channel_id": channel}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (403, &json!(40006)),
        "{}",
        r.body
    );
    // Granted features can't be claimed; the mutable ones are taken, with the rest of the edit.
    let r = t
        .patch(
            &format!("/guilds/{g}"),
            &s.alice,
            json!({
                "features": ["VERIFIED", "PARTNERED", "COMMUNITY", "INVITES_DISABLED"],
                "rules_channel_id": channel,
                "public_updates_channel_id": channel,
                "banner": png_data_uri(64, 32),
                "splash": png_data_uri(32, 32),
                "discovery_splash": png_data_uri(32, 32),
                "premium_progress_bar_enabled": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(features(&r.body), ["COMMUNITY", "INVITES_DISABLED"]);
    assert_eq!(r.body["rules_channel_id"], json!(channel));
    assert_eq!(r.body["public_updates_channel_id"], json!(channel));
    assert_eq!(r.body["premium_progress_bar_enabled"], true);
    for (field, dir) in [
        ("banner", "banners"),
        ("splash", "splashes"),
        ("discovery_splash", "discovery-splashes"),
    ] {
        let hash = r.body[field].as_str().expect(field);
        let img = t
            .http
            .get(format!("{}/{dir}/{g}/{hash}.png", t.srv().url()))
            .send()
            .await
            .unwrap();
        assert_eq!(img.status(), 200, "{dir}");
    }
    // A caller without MANAGE_GUILD is refused before the CDN stores anything.
    let banners = t.dir.path().join(format!("cdn/banners/{g}"));
    let files = || std::fs::read_dir(&banners).unwrap().count();
    assert_eq!(files(), 1);
    let r = t
        .patch(
            &format!("/guilds/{g}"),
            &s.bob,
            json!({"banner": png_data_uri(48, 16), "icon": png_data_uri(16, 16)}),
        )
        .await;
    assert_eq!(r.body["code"], 50013, "{}", r.body);
    assert_eq!(files(), 1);
    assert!(!t.dir.path().join(format!("cdn/icons/{g}")).exists());
    // The feature pauses joins through invites, until it is turned off.
    let carol = t.register("carol").await;
    let r = t
        .post(&format!("/invites/{}", s.invite), &carol, json!({}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A channel the guild doesn't have is refused.
    let r = t
        .patch(
            &format!("/guilds/{g}"),
            &s.alice,
            json!({"rules_channel_id": "1234"}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["rules_channel_id"]),
        "NUMBER_TYPE_COERCE",
        "{}",
        r.body
    );
    // MANAGE_GUILD may pause and resume invites, but COMMUNITY needs ADMINISTRATOR.
    let role = t
        .post(
            &format!("/guilds/{g}/roles"),
            &s.alice,
            json!({"name": "managers", "permissions": "32"}),
        )
        .await;
    let role = id_of(&role.body);
    let r = put(
        t,
        &format!("/guilds/{g}/members/{}/roles/{role}", s.bob_id),
        &s.alice,
        json!({}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t
        .patch(&format!("/guilds/{g}"), &s.bob, json!({"features": []}))
        .await;
    assert_eq!(r.body["code"], 50013, "{}", r.body);
    let r = t
        .patch(
            &format!("/guilds/{g}"),
            &s.bob,
            json!({"features": ["COMMUNITY"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(features(&r.body), ["COMMUNITY"]);
    t.join(&carol, &s.invite).await;
}
