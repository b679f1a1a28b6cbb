//! Guild templates over HTTP and the gateway: a template snapshots a guild (roles, a category,
//! channels with role overwrites, settings) with numbered roles and channels; anyone can read it
//! by code; creating a guild from it rebuilds the same structure under new ids (GUILD_CREATE to
//! the creator's session, usage counted); a change to the source guild makes it dirty until it
//! is synced; one template per guild; MANAGE_GUILD for writes; Discord's error codes.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

const SEND_MESSAGES: u64 = 1 << 11;
const MANAGE_MESSAGES: u64 = 1 << 13;
const VIEW_CHANNEL: u64 = 1 << 10;

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .expect("array")
        .iter()
        .find(|x| x[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

fn perms(v: &Value) -> u64 {
    v.as_str()
        .expect("bitfield string")
        .parse()
        .expect("number")
}

async fn put(t: &common::TestServer, path: &str, token: &str) -> common::Resp {
    t.req(Method::PUT, path, Some(token), None).await
}

/// The source guild: roles "mods" then "members" (same position, so "mods", the older, ranks
/// higher), a category "Info" holding "rules" whose overwrites let mods talk and stop @everyone,
/// a voice channel with a user limit, verification level 1 and a description.
struct Source {
    guild: String,
    mods: String,
    category: String,
    rules: String,
}

async fn source_guild(t: &common::TestServer, owner: &str) -> Source {
    let (guild, _) = t.guild(owner, "Source").await;
    let mods = t
        .post(
            &format!("/guilds/{guild}/roles"),
            owner,
            json!({"name": "mods", "permissions": MANAGE_MESSAGES.to_string(), "color": 0x3498db, "hoist": true, "mentionable": true}),
        )
        .await;
    assert_eq!(mods.status, 200, "{}", mods.body);
    let members = t
        .post(
            &format!("/guilds/{guild}/roles"),
            owner,
            json!({"name": "members", "permissions": VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(members.status, 200, "{}", members.body);
    let mods = id_of(&mods.body);
    let category = t
        .post(
            &format!("/guilds/{guild}/channels"),
            owner,
            json!({"name": "Info", "type": 4, "position": 5}),
        )
        .await;
    assert_eq!(category.status, 201, "{}", category.body);
    let category = id_of(&category.body);
    let rules = t
        .post(
            &format!("/guilds/{guild}/channels"),
            owner,
            json!({
                "name": "rules", "type": 0, "parent_id": category, "position": 6,
                "topic": "read me", "rate_limit_per_user": 30,
                "permission_overwrites": [
                    {"id": mods, "type": 0, "allow": SEND_MESSAGES.to_string(), "deny": "0"},
                    {"id": guild, "type": 0, "allow": "0", "deny": SEND_MESSAGES.to_string()},
                ],
            }),
        )
        .await;
    assert_eq!(rules.status, 201, "{}", rules.body);
    let rules = id_of(&rules.body);
    let voice = t
        .post(
            &format!("/guilds/{guild}/channels"),
            owner,
            json!({"name": "Lounge", "type": 2, "user_limit": 5, "position": 7}),
        )
        .await;
    assert_eq!(voice.status, 201, "{}", voice.body);
    let patched = t
        .patch(
            &format!("/guilds/{guild}"),
            owner,
            json!({"verification_level": 1, "description": "a place"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    Source {
        guild,
        mods,
        category,
        rules,
    }
}

#[tokio::test]
async fn template_snapshot_and_guild_from_template() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let carol = t.register("carol").await;
    let alice_id = id_of(&t.me(&alice).await);
    let carol_id = id_of(&t.me(&carol).await);
    let s = source_guild(&t, &alice).await;
    let g = &s.guild;

    let none = t.get(&format!("/guilds/{g}/templates"), &alice).await;
    assert_eq!((none.status, none.body.clone()), (200, json!([])));

    let created = t
        .post(
            &format!("/guilds/{g}/templates"),
            &alice,
            json!({"name": "Starter", "description": "everything you need"}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let tpl = created.body;
    let code = tpl["code"].as_str().expect("code").to_string();
    assert_eq!(code.len(), 12);
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{code}");
    assert_eq!(tpl["name"], "Starter");
    assert_eq!(tpl["description"], "everything you need");
    assert_eq!(tpl["usage_count"], 0);
    assert_eq!(tpl["creator_id"], alice_id.as_str());
    assert_eq!(tpl["creator"]["id"], alice_id.as_str());
    assert_eq!(tpl["source_guild_id"], g.as_str());
    assert_eq!(tpl["is_dirty"], false);
    assert_eq!(tpl["created_at"], tpl["updated_at"]);

    // The snapshot: numbered roles (@everyone 0, then bottom-up) and channels, references
    // rewritten to those numbers, no snowflakes of the source guild.
    let snap = &tpl["serialized_source_guild"];
    assert_eq!(snap["name"], "Source");
    assert_eq!(snap["description"], "a place");
    assert_eq!(snap["verification_level"], 1);
    let roles = &snap["roles"];
    assert_eq!(roles.as_array().unwrap().len(), 3, "{roles}");
    assert_eq!(roles[0]["id"], 0);
    assert_eq!(roles[0]["name"], "@everyone");
    assert_eq!(roles[1]["name"], "members");
    assert_eq!(roles[2]["name"], "mods");
    assert_eq!(roles[2]["id"], 2);
    assert_eq!(perms(&roles[2]["permissions"]), MANAGE_MESSAGES);
    assert_eq!(roles[2]["color"], 0x3498db);
    assert_eq!(roles[2]["hoist"], true);
    assert_eq!(roles[2]["colors"]["primary_color"], 0x3498db);
    let channels = &snap["channels"];
    assert_eq!(channels.as_array().unwrap().len(), 5, "{channels}");
    let info = find(channels, "name", "Info");
    let rules = find(channels, "name", "rules");
    let lounge = find(channels, "name", "Lounge");
    assert_eq!(info["type"], 4);
    assert!(info["id"].is_u64(), "numbered: {info}");
    assert_eq!(rules["parent_id"], info["id"]);
    assert_eq!(rules["topic"], "read me");
    assert_eq!(rules["rate_limit_per_user"], 30);
    assert_eq!(lounge["user_limit"], 5);
    let overwrites = rules["permission_overwrites"].as_array().unwrap();
    assert_eq!(overwrites.len(), 2, "{overwrites:?}");
    let mods_ow = overwrites.iter().find(|o| o["id"] == 2).expect("mods");
    assert_eq!(perms(&mods_ow["allow"]), SEND_MESSAGES);
    assert_eq!(mods_ow["type"], 0);
    let everyone_ow = overwrites.iter().find(|o| o["id"] == 0).expect("@everyone");
    assert_eq!(perms(&everyone_ow["deny"]), SEND_MESSAGES);
    let general = find(channels, "name", "general");
    assert_eq!(snap["system_channel_id"], general["id"]);
    assert!(!snap.to_string().contains(&s.mods), "no source role ids");
    assert!(
        !snap.to_string().contains(&s.rules),
        "no source channel ids"
    );

    // Anyone may read it by code: another user, and no token at all (as Discord's previews).
    let by_carol = t.get(&format!("/guilds/templates/{code}"), &carol).await;
    assert_eq!(by_carol.status, 200, "{}", by_carol.body);
    assert_eq!(by_carol.body, tpl);
    let anonymous = t
        .req(
            Method::GET,
            &format!("/guilds/templates/{code}"),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    assert_eq!(anonymous.body["code"], code.as_str());
    let unknown = t.get("/guilds/templates/nosuchcode00", &carol).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], 10057);
    assert_eq!(unknown.body["message"], "Unknown Guild Template");

    // Carol makes a guild from it; her session gets its GUILD_CREATE.
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&carol, 1).await;
    let made = t
        .post(
            &format!("/guilds/templates/{code}"),
            &carol,
            json!({"name": "Carol's copy"}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let new = id_of(&made.body);
    assert_ne!(&new, g);
    assert_eq!(made.body["name"], "Carol's copy");
    assert_eq!(made.body["owner_id"], carol_id.as_str());
    assert_eq!(made.body["verification_level"], 1);
    assert_eq!(made.body["description"], "a place");
    let event = gw.event("GUILD_CREATE").await;
    assert_eq!(event["id"], new.as_str());
    assert_eq!(event["name"], "Carol's copy");
    assert_eq!(event["channels"].as_array().unwrap().len(), 5);

    // Same roles under new ids, same hierarchy, @everyone's permissions carried over.
    let source_roles = t.get(&format!("/guilds/{g}/roles"), &alice).await.body;
    let new_roles = t.get(&format!("/guilds/{new}/roles"), &carol).await.body;
    assert_eq!(new_roles.as_array().unwrap().len(), 3, "{new_roles}");
    let everyone = find(&new_roles, "id", &new);
    assert_eq!(
        everyone["permissions"],
        find(&source_roles, "id", g)["permissions"]
    );
    let new_mods = find(&new_roles, "name", "mods");
    let new_members = find(&new_roles, "name", "members");
    assert_ne!(id_of(new_mods), s.mods);
    assert_eq!(perms(&new_mods["permissions"]), MANAGE_MESSAGES);
    assert_eq!(new_mods["color"], 0x3498db);
    assert_eq!(new_mods["hoist"], true);
    assert_eq!(new_mods["mentionable"], true);
    assert!(
        new_mods["position"].as_i64() > new_members["position"].as_i64(),
        "mods still rank above members: {new_roles}"
    );

    // Same channels, the category holding "rules", overwrites pointing at the new roles.
    let new_channels = t.get(&format!("/guilds/{new}/channels"), &carol).await.body;
    assert_eq!(new_channels.as_array().unwrap().len(), 5, "{new_channels}");
    let new_info = find(&new_channels, "name", "Info");
    let new_rules = find(&new_channels, "name", "rules");
    assert_ne!(id_of(new_info), s.category);
    assert_eq!(new_info["type"], 4);
    assert_eq!(new_rules["parent_id"], new_info["id"]);
    assert_eq!(new_rules["topic"], "read me");
    assert_eq!(new_rules["rate_limit_per_user"], 30);
    let ows = new_rules["permission_overwrites"].as_array().unwrap();
    assert_eq!(ows.len(), 2, "{ows:?}");
    let ow_mods = ows
        .iter()
        .find(|o| o["id"] == new_mods["id"])
        .expect("overwrite for the new mods role");
    assert_eq!(perms(&ow_mods["allow"]), SEND_MESSAGES);
    let ow_everyone = ows
        .iter()
        .find(|o| o["id"] == new.as_str())
        .expect("overwrite for the new @everyone");
    assert_eq!(perms(&ow_everyone["deny"]), SEND_MESSAGES);
    assert_eq!(find(&new_channels, "name", "Lounge")["user_limit"], 5);
    let new_general = find(&new_channels, "name", "general");
    let guild = t.get(&format!("/guilds/{new}"), &carol).await.body;
    assert_eq!(guild["system_channel_id"], new_general["id"]);

    // One use counted; the template itself is unchanged and still clean.
    let after = t
        .get(&format!("/guilds/templates/{code}"), &carol)
        .await
        .body;
    assert_eq!(after["usage_count"], 1);
    assert_eq!(after["is_dirty"], false);

    // The owner's guild limit applies as for POST /guilds (30001).
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"user": {"max_guilds": 1}}}),
        )
        .await
        .unwrap();
    let full = t
        .post(
            &format!("/guilds/templates/{code}"),
            &carol,
            json!({"name": "One too many"}),
        )
        .await;
    assert_eq!(
        (full.status, full.body["code"].clone()),
        (400, json!(30001))
    );
    let bad_name = t
        .post(
            &format!("/guilds/templates/{code}"),
            &alice,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(bad_name.status, 400);
    assert_eq!(bad_name.body["code"], 50035);
    assert!(bad_name.body["errors"]["name"]["_errors"].is_array());
    let still = t
        .get(&format!("/guilds/templates/{code}"), &carol)
        .await
        .body;
    assert_eq!(still["usage_count"], 1, "failed creates count no use");

    t.stop().await;
}

#[tokio::test]
async fn dirty_sync_modify_delete_and_limits() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let s = source_guild(&t, &alice).await;
    let g = &s.guild;
    // Bob is a member without MANAGE_GUILD.
    let channels = t.get(&format!("/guilds/{g}/channels"), &alice).await.body;
    let general = id_of(find(&channels, "name", "general"));
    t.join_via_invite(&alice, &general, &bob).await;

    let denied = t
        .post(
            &format!("/guilds/{g}/templates"),
            &bob,
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(
        (denied.status, denied.body["code"].clone()),
        (403, json!(50013))
    );
    let denied = t.get(&format!("/guilds/{g}/templates"), &bob).await;
    assert_eq!(
        (denied.status, denied.body["code"].clone()),
        (403, json!(50013))
    );

    // Field limits: name 1–100, description up to 120.
    let bad = t
        .post(
            &format!("/guilds/{g}/templates"),
            &alice,
            json!({"name": "n".repeat(101), "description": "d".repeat(121)}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["code"], 50035);
    assert_eq!(
        bad.body["errors"]["name"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_LENGTH"
    );
    assert_eq!(
        bad.body["errors"]["description"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    let missing = t
        .post(&format!("/guilds/{g}/templates"), &alice, json!({}))
        .await;
    assert_eq!(
        missing.body["errors"]["name"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );

    let created = t
        .post(
            &format!("/guilds/{g}/templates"),
            &alice,
            json!({"name": "Starter"}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let code = created.body["code"].as_str().unwrap().to_string();
    assert_eq!(created.body["description"], Value::Null);

    // One per guild.
    let second = t
        .post(
            &format!("/guilds/{g}/templates"),
            &alice,
            json!({"name": "Another"}),
        )
        .await;
    assert_eq!(second.status, 400, "{}", second.body);
    assert_eq!(second.body["code"], 30031);
    assert_eq!(second.body["message"], "Guild already has a template");

    // Writes by a member without MANAGE_GUILD, and through another guild's path.
    for (method, body) in [
        (Method::PUT, None),
        (Method::PATCH, Some(json!({"name": "x"}))),
        (Method::DELETE, None),
    ] {
        let r = t
            .req(
                method.clone(),
                &format!("/guilds/{g}/templates/{code}"),
                Some(&bob),
                body,
            )
            .await;
        assert_eq!(
            (r.status, r.body["code"].clone()),
            (403, json!(50013)),
            "{method}"
        );
    }
    let other = t
        .post("/guilds", &alice, json!({"name": "Elsewhere"}))
        .await;
    let other = id_of(&other.body);
    let wrong = put(&t, &format!("/guilds/{other}/templates/{code}"), &alice).await;
    assert_eq!(
        (wrong.status, wrong.body["code"].clone()),
        (404, json!(10057))
    );

    // A change to the guild makes the template dirty, in the list and by code.
    let renamed = t
        .patch(
            &format!("/guilds/{g}/roles/{}", s.mods),
            &alice,
            json!({"name": "moderators"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let list = t.get(&format!("/guilds/{g}/templates"), &alice).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["is_dirty"], true);
    let by_code = t.get(&format!("/guilds/templates/{code}"), &bob).await.body;
    assert_eq!(by_code["is_dirty"], true);
    assert_eq!(
        by_code["serialized_source_guild"]["roles"][2]["name"],
        "mods"
    );

    // Sync: a fresh snapshot, clean again.
    let synced = put(&t, &format!("/guilds/{g}/templates/{code}"), &alice).await;
    assert_eq!(synced.status, 200, "{}", synced.body);
    assert_eq!(synced.body["is_dirty"], false);
    assert_eq!(
        synced.body["serialized_source_guild"]["roles"][2]["name"],
        "moderators"
    );
    assert_eq!(synced.body["created_at"], created.body["created_at"]);
    let by_code = t.get(&format!("/guilds/templates/{code}"), &bob).await.body;
    assert_eq!(by_code["is_dirty"], false);
    assert_eq!(
        by_code["serialized_source_guild"],
        synced.body["serialized_source_guild"]
    );

    // A channel overwrite change counts too.
    let ow = t
        .req(
            Method::PUT,
            &format!("/channels/{}/permissions/{}", s.rules, s.mods),
            Some(&alice),
            Some(json!({"type": 0, "allow": "0", "deny": "0"})),
        )
        .await;
    assert_eq!(ow.status, 204, "{}", ow.body);
    let list = t.get(&format!("/guilds/{g}/templates"), &alice).await;
    assert_eq!(list.body[0]["is_dirty"], true);

    // Modify: name and description (null clears); limits as on create.
    let patched = t
        .patch(
            &format!("/guilds/{g}/templates/{code}"),
            &alice,
            json!({"name": "Renamed", "description": "now described"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["name"], "Renamed");
    assert_eq!(patched.body["description"], "now described");
    assert_eq!(patched.body["is_dirty"], true, "a rename doesn't sync");
    let cleared = t
        .patch(
            &format!("/guilds/{g}/templates/{code}"),
            &alice,
            json!({"description": null}),
        )
        .await;
    assert_eq!(cleared.body["description"], Value::Null);
    assert_eq!(cleared.body["name"], "Renamed");
    let bad = t
        .patch(
            &format!("/guilds/{g}/templates/{code}"),
            &alice,
            json!({"name": ""}),
        )
        .await;
    assert_eq!((bad.status, bad.body["code"].clone()), (400, json!(50035)));

    // Delete returns the template; then it is gone and a new one may be made.
    let deleted = t
        .delete(&format!("/guilds/{g}/templates/{code}"), &alice)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["code"], code.as_str());
    let gone = t.get(&format!("/guilds/templates/{code}"), &alice).await;
    assert_eq!(
        (gone.status, gone.body["code"].clone()),
        (404, json!(10057))
    );
    let again = t
        .delete(&format!("/guilds/{g}/templates/{code}"), &alice)
        .await;
    assert_eq!(again.body["code"], 10057);
    let list = t.get(&format!("/guilds/{g}/templates"), &alice).await;
    assert_eq!(list.body, json!([]));
    let fresh = t
        .post(
            &format!("/guilds/{g}/templates"),
            &alice,
            json!({"name": "Second life"}),
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let fresh_code = fresh.body["code"].as_str().unwrap().to_string();

    // Deleting the guild takes its template with it.
    let removed = t.delete(&format!("/guilds/{g}"), &alice).await;
    assert_eq!(removed.status, 204);
    let gone = t
        .get(&format!("/guilds/templates/{fresh_code}"), &bob)
        .await;
    assert_eq!(gone.body["code"], 10057);

    t.stop().await;
}

/// `POST /guilds` with Discord's placeholder ids: roles (the first is @everyone) referenced by
/// channel overwrites, channels referenced by `parent_id` and `system_channel_id` — the same
/// path templates use.
#[tokio::test]
async fn create_guild_body_with_roles_and_placeholders() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let r = t
        .post(
            "/guilds",
            &alice,
            json!({
                "name": "Bootstrapped",
                "roles": [
                    {"id": 0, "permissions": VIEW_CHANNEL.to_string()},
                    {"id": 7, "name": "staff", "permissions": MANAGE_MESSAGES.to_string(), "color": 255},
                ],
                "channels": [
                    {"id": 2, "name": "talk", "type": 0, "parent_id": 1,
                     "permission_overwrites": [{"id": 7, "type": 0, "allow": SEND_MESSAGES.to_string(), "deny": "0"}]},
                    {"id": 1, "name": "Area", "type": 4},
                ],
                "system_channel_id": 2,
                "afk_channel_id": null,
                "verification_level": null,
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = id_of(&r.body);
    let roles = &r.body["roles"];
    assert_eq!(perms(&find(roles, "id", &g)["permissions"]), VIEW_CHANNEL);
    let staff = find(roles, "name", "staff");
    assert_eq!(staff["color"], 255);
    let channels = t.get(&format!("/guilds/{g}/channels"), &alice).await.body;
    let area = find(&channels, "name", "Area");
    let talk = find(&channels, "name", "talk");
    assert_eq!(
        talk["parent_id"], area["id"],
        "a parent listed after its child"
    );
    assert_eq!(talk["permission_overwrites"][0]["id"], staff["id"]);
    assert_eq!(r.body["system_channel_id"], talk["id"]);

    let bad = t
        .post(
            "/guilds",
            &alice,
            json!({"name": "Bad", "channels": [{"name": "thread", "type": 11}]}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body["errors"]["channels"]["0"]["type"]["_errors"].is_array());
    t.stop().await;
}
