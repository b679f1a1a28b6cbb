//! Application extras over HTTP and the gateway: application emojis, role connections (linked
//! roles), test entitlements, command permissions in a guild (and their effect on invoking a
//! command), and the application attachment upload.

mod common;

use common::{Gateway, TestServer, field_code};
use reqwest::Method;
use serde_json::{Value, json};

/// An owner with an application and its bot, a member, and a guild of the owner's that both the
/// member and the bot are in.
struct World {
    t: TestServer,
    owner: String,
    owner_id: String,
    member: String,
    member_id: String,
    bot: String,
    app_id: String,
    guild: String,
    channel: String,
}

async fn world() -> World {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let member = t.register("member").await;
    let owner_id = t.me(&owner).await["id"].as_str().unwrap().to_string();
    let member_id = t.me(&member).await["id"].as_str().unwrap().to_string();
    let (guild, channel) = t.guild(&owner, "Apps").await;
    t.join_via_invite(&owner, &channel, &member).await;
    let common::BotApp {
        app_id, token: bot, ..
    } = t
        .bot_in_guild(&owner, &guild, "Extras Bot", "bot", "3072")
        .await;
    World {
        t,
        owner,
        owner_id,
        member,
        member_id,
        bot,
        app_id,
        guild,
        channel,
    }
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

async fn gateway(t: &TestServer, token: &str, guilds: usize) -> Gateway {
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(token, 1).await;
    for _ in 0..guilds {
        gw.event("GUILD_CREATE").await;
    }
    gw
}

async fn put(t: &TestServer, path: &str, token: &str, body: Value) -> common::Resp {
    t.req(Method::PUT, path, Some(token), Some(body)).await
}

#[tokio::test]
async fn application_emojis_crud_limit_and_access() {
    let w = world().await;
    let t = &w.t;
    let base = format!("/applications/{}/emojis", w.app_id);

    // The bot creates one; its `user` is the application's owner; the image is on the CDN.
    let made = t
        .post(
            &base,
            &w.bot,
            json!({"name": "wave", "image": png_data_uri(16, 16)}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["name"], "wave");
    assert_eq!(made.body["user"]["id"], w.owner_id);
    assert_eq!(made.body["roles"], json!([]));
    assert_eq!(made.body["animated"], false);
    let id = made.body["id"].as_str().unwrap().to_string();
    let img = t
        .http
        .get(format!("{}/emojis/{id}.png", t.srv().url()))
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/png");

    // The owner (a user token) lists them in Discord's `{items}` shape and gets one.
    let list = t.get(&base, &w.owner).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    let one = t.get(&format!("{base}/{id}"), &w.owner).await;
    assert_eq!(one.body["name"], "wave");

    // Guild emoji name rules; image required.
    for (body, field) in [
        (json!({"name": "x", "image": png_data_uri(8, 8)}), "name"),
        (
            json!({"name": "bad name", "image": png_data_uri(8, 8)}),
            "name",
        ),
        (json!({"name": "fine"}), "image"),
    ] {
        let r = t.post(&base, &w.bot, body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["code"], 50035);
        assert!(!field_code(&r.body, &[field]).is_empty(), "{}", r.body);
    }

    // Rename; a bad new name is refused.
    let renamed = t
        .patch(&format!("{base}/{id}"), &w.bot, json!({"name": "waves"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "waves");
    let bad = t
        .patch(&format!("{base}/{id}"), &w.bot, json!({"name": "!"}))
        .await;
    assert_eq!(bad.body["code"], 50035, "{}", bad.body);

    // A stranger (and another user) sees no application; an unknown emoji is 10014.
    assert_eq!(t.get(&base, &w.member).await.body["code"], 10002);
    let unknown = t.get(&format!("{base}/1234"), &w.bot).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], 10014);

    // The limit lives in the live config: at it, 30008.
    t.make_admin(&w.owner).await;
    let cfg = t
        .patch(
            "/admin/config",
            &w.owner,
            json!({"limits": {"application": {"max_emojis": 1}}}),
        )
        .await;
    assert_eq!(cfg.status, 200, "{}", cfg.body);
    let full = t
        .post(
            &base,
            &w.bot,
            json!({"name": "second", "image": png_data_uri(8, 8)}),
        )
        .await;
    assert_eq!(full.status, 400, "{}", full.body);
    assert_eq!(full.body["code"], 30008);

    // Delete: 204, then gone, its image from the CDN too.
    assert_eq!(t.delete(&format!("{base}/{id}"), &w.bot).await.status, 204);
    assert_eq!(
        t.get(&format!("{base}/{id}"), &w.bot).await.body["code"],
        10014
    );
    assert_eq!(t.get(&base, &w.bot).await.body["items"], json!([]));
    let img = t
        .http
        .get(format!("{}/emojis/{id}.png", t.srv().url()))
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 404);
}

#[tokio::test]
async fn role_connection_metadata_and_user_connections() {
    let w = world().await;
    let t = &w.t;
    let meta = format!("/applications/{}/role-connections/metadata", w.app_id);
    let mine = format!("/users/@me/applications/{}/role-connection", w.app_id);

    assert_eq!(t.get(&meta, &w.bot).await.body, json!([]));
    let records = json!([
        {"type": 2, "key": "level", "name": "Level", "description": "Level at least",
         "name_localizations": {"de": "Stufe"}},
        {"type": 7, "key": "verified", "name": "Verified", "description": "Is verified"},
        {"type": 6, "key": "since", "name": "Since", "description": "Member since"},
    ]);
    let set = put(t, &meta, &w.bot, records.clone()).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body, records);
    assert_eq!(t.get(&meta, &w.owner).await.body, records);

    // Validation: type, key pattern, duplicates, lengths, at most 5.
    let bad = put(
        t,
        &meta,
        &w.bot,
        json!([
            {"type": 9, "key": "ok", "name": "n", "description": "d"},
            {"type": 1, "key": "Bad Key", "name": "n", "description": "d"},
            {"type": 1, "key": "dup", "name": "n", "description": "d"},
            {"type": 1, "key": "dup", "name": "", "description": "d"},
        ]),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(field_code(&bad.body, &["0", "type"]), "BASE_TYPE_CHOICES");
    assert_eq!(field_code(&bad.body, &["1", "key"]), "STRING_TYPE_REGEX");
    assert_eq!(
        field_code(&bad.body, &["3", "key"]),
        "APPLICATION_ROLE_CONNECTION_METADATA_DUPLICATE_KEY"
    );
    assert_eq!(field_code(&bad.body, &["3", "name"]), "BASE_TYPE_REQUIRED");
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"type": 1, "key": format!("k{i}"), "name": "n", "description": "d"}))
        .collect();
    let many = put(t, &meta, &w.bot, json!(six)).await;
    assert_eq!(many.status, 400, "{}", many.body);
    assert_eq!(
        many.body["errors"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_ITEMS"
    );
    // Only the application's side may write them.
    assert_eq!(
        put(t, &meta, &w.member, records.clone()).await.body["code"],
        10002
    );

    // A user connects: values checked against the records.
    assert_eq!(
        t.get(&mine, &w.member).await.body,
        json!({"platform_username": null, "metadata": {}})
    );
    let c = put(
        t,
        &mine,
        &w.member,
        json!({"platform_name": "Game", "platform_username": "member#1",
               "metadata": {"level": 12, "verified": true, "since": "2024-01-02"}}),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["platform_name"], "Game");
    assert_eq!(
        c.body["metadata"],
        json!({"level": "12", "verified": "1", "since": "2024-01-02"})
    );
    assert_eq!(t.get(&mine, &w.member).await.body, c.body);
    let wrong = put(
        t,
        &mine,
        &w.member,
        json!({"metadata": {"nope": "1", "level": "high"}}),
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert_eq!(
        field_code(&wrong.body, &["metadata", "nope"]),
        "ROLE_CONNECTION_METADATA_UNKNOWN_KEY"
    );
    assert_eq!(
        field_code(&wrong.body, &["metadata", "level"]),
        "ROLE_CONNECTION_METADATA_BAD_VALUE"
    );
    // Bots have no role connections (20001); an unknown application is 10002.
    let as_bot = t.get(&mine, &w.bot).await;
    assert_eq!(as_bot.status, 403, "{}", as_bot.body);
    assert_eq!(as_bot.body["code"], 20001);
    assert_eq!(
        t.get("/users/@me/applications/1234/role-connection", &w.member)
            .await
            .body["code"],
        10002
    );

    // Delete: 204, then empty again.
    assert_eq!(t.delete(&mine, &w.member).await.status, 204);
    assert_eq!(t.get(&mine, &w.member).await.body["metadata"], json!({}));
}

#[tokio::test]
async fn test_entitlements_filters_and_events() {
    let w = world().await;
    let t = &w.t;
    let base = format!("/applications/{}/entitlements", w.app_id);
    let mut bot_gw = gateway(t, &w.bot, 1).await;

    // A user entitlement and a guild one; the bot hears of each.
    let user_e = t
        .post(
            &base,
            &w.owner,
            json!({"sku_id": "111", "owner_id": w.member_id, "owner_type": 2}),
        )
        .await;
    assert_eq!(user_e.status, 200, "{}", user_e.body);
    assert_eq!(user_e.body["type"], 8);
    assert_eq!(user_e.body["user_id"], w.member_id.as_str());
    assert_eq!(user_e.body["consumed"], false);
    assert_eq!(user_e.body["deleted"], false);
    let created = bot_gw.event("ENTITLEMENT_CREATE").await;
    assert_eq!(created["id"], user_e.body["id"]);
    let guild_e = t
        .post(
            &base,
            &w.bot,
            json!({"sku_id": "222", "owner_id": w.guild, "owner_type": 1}),
        )
        .await;
    assert_eq!(guild_e.status, 200, "{}", guild_e.body);
    assert_eq!(guild_e.body["guild_id"], w.guild.as_str());
    bot_gw.event("ENTITLEMENT_CREATE").await;
    let user_id = user_e.body["id"].as_str().unwrap().to_string();
    let guild_id = guild_e.body["id"].as_str().unwrap().to_string();

    // Validation and unknown owners.
    let bad = t
        .post(&base, &w.bot, json!({"sku_id": "1", "owner_type": 3}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(field_code(&bad.body, &["owner_id"]), "BASE_TYPE_REQUIRED");
    assert_eq!(field_code(&bad.body, &["owner_type"]), "BASE_TYPE_CHOICES");
    let nobody = t
        .post(
            &base,
            &w.bot,
            json!({"sku_id": "1", "owner_id": "1234", "owner_type": 2}),
        )
        .await;
    assert_eq!(nobody.body["code"], 10013, "{}", nobody.body);
    let no_guild = t
        .post(
            &base,
            &w.bot,
            json!({"sku_id": "1", "owner_id": "1234", "owner_type": 1}),
        )
        .await;
    assert_eq!(no_guild.body["code"], 10004, "{}", no_guild.body);

    // Filters: newest first; by user, guild, SKUs; after is oldest first; limit.
    let ids = |r: &common::Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.body))
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = t.get(&base, &w.bot).await;
    assert_eq!(ids(&all), vec![guild_id.clone(), user_id.clone()]);
    let by_user = t
        .get(&format!("{base}?user_id={}", w.member_id), &w.bot)
        .await;
    assert_eq!(ids(&by_user), vec![user_id.clone()]);
    let by_guild = t.get(&format!("{base}?guild_id={}", w.guild), &w.bot).await;
    assert_eq!(ids(&by_guild), vec![guild_id.clone()]);
    let by_sku = t.get(&format!("{base}?sku_ids=999,222"), &w.bot).await;
    assert_eq!(ids(&by_sku), vec![guild_id.clone()]);
    let after = t.get(&format!("{base}?after=0&limit=1"), &w.bot).await;
    assert_eq!(ids(&after), vec![user_id.clone()]);
    let before = t.get(&format!("{base}?before={guild_id}"), &w.bot).await;
    assert_eq!(ids(&before), vec![user_id.clone()]);
    let limit = t.get(&format!("{base}?limit=101"), &w.bot).await;
    assert_eq!(limit.status, 400, "{}", limit.body);

    // The member sees their own through /users/@me.
    let theirs = t
        .get(
            &format!("/users/@me/applications/{}/entitlements", w.app_id),
            &w.member,
        )
        .await;
    assert_eq!(ids(&theirs), vec![user_id.clone()]);
    let owners = t
        .get(
            &format!("/users/@me/applications/{}/entitlements", w.app_id),
            &w.owner,
        )
        .await;
    assert_eq!(ids(&owners), Vec::<String>::new());

    // Consume: 204 and ENTITLEMENT_UPDATE with consumed.
    let consumed = t
        .post(&format!("{base}/{user_id}/consume"), &w.bot, json!({}))
        .await;
    assert_eq!(consumed.status, 204, "{}", consumed.body);
    let updated = bot_gw.event("ENTITLEMENT_UPDATE").await;
    assert_eq!(updated["consumed"], true);
    assert_eq!(
        t.get(&format!("{base}/{user_id}"), &w.bot).await.body["consumed"],
        true
    );

    // Delete: 204, ENTITLEMENT_DELETE; listed again only with exclude_deleted=false.
    assert_eq!(
        t.delete(&format!("{base}/{guild_id}"), &w.bot).await.status,
        204
    );
    let deleted = bot_gw.event("ENTITLEMENT_DELETE").await;
    assert_eq!(deleted["id"], guild_id.as_str());
    assert_eq!(deleted["deleted"], true);
    assert_eq!(ids(&t.get(&base, &w.bot).await), vec![user_id.clone()]);
    let with_deleted = t
        .get(&format!("{base}?exclude_deleted=false"), &w.bot)
        .await;
    assert_eq!(ids(&with_deleted), vec![guild_id.clone(), user_id.clone()]);
    let again = t.delete(&format!("{base}/{guild_id}"), &w.bot).await;
    assert_eq!(again.body["code"], 10029, "{}", again.body);
    assert_eq!(
        t.get(&format!("{base}/1234"), &w.bot).await.body["code"],
        10029
    );

    // Strangers see no application.
    assert_eq!(t.get(&base, &w.member).await.body["code"], 10002);
}

#[tokio::test]
async fn command_permissions_set_listed_announced_and_enforced() {
    let w = world().await;
    let t = &w.t;
    let cmd = t
        .post(
            &format!("/applications/{}/guilds/{}/commands", w.app_id, w.guild),
            &w.bot,
            json!({"name": "echo", "description": "Says it back",
                   "options": [{"type": 3, "name": "text", "description": "What", "required": true}]}),
        )
        .await;
    assert_eq!(cmd.status, 201, "{}", cmd.body);
    let cmd_id = cmd.body["id"].as_str().unwrap().to_string();
    let base = format!("/applications/{}/guilds/{}/commands", w.app_id, w.guild);
    let invoke = |token: String| {
        let body = json!({
            "type": 2, "application_id": w.app_id, "guild_id": w.guild,
            "channel_id": w.channel, "session_id": "abc", "nonce": "1",
            "data": {"id": cmd_id, "name": "echo", "type": 1,
                     "options": [{"type": 3, "name": "text", "value": "hi"}]},
        });
        async move { t.post("/interactions", &token, body).await }
    };
    assert_eq!(invoke(w.member.clone()).await.status, 204);

    // Nothing set yet: an empty list, and 10066 for the command.
    assert_eq!(
        t.get(&format!("{base}/permissions"), &w.bot).await.body,
        json!([])
    );
    let none = t.get(&format!("{base}/{cmd_id}/permissions"), &w.bot).await;
    assert_eq!(none.status, 404, "{}", none.body);
    assert_eq!(none.body["code"], 10066);

    // Bots may not set them (20001); a member without MANAGE_GUILD/MANAGE_ROLES neither.
    let deny_member = json!({"permissions": [{"id": w.member_id, "type": 2, "permission": false}]});
    let by_bot = put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.bot,
        deny_member.clone(),
    )
    .await;
    assert_eq!(by_bot.status, 403, "{}", by_bot.body);
    assert_eq!(by_bot.body["code"], 20001);
    let by_member = put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.member,
        deny_member.clone(),
    )
    .await;
    assert_eq!(by_member.status, 403, "{}", by_member.body);
    assert_eq!(by_member.body["code"], 50013);

    // Validation: type, unknown role, too many.
    let bad = put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.owner,
        json!({"permissions": [
            {"id": w.member_id, "type": 4, "permission": true},
            {"id": "1234", "type": 1, "permission": true},
        ]}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(
        field_code(&bad.body, &["permissions", "0", "type"]),
        "BASE_TYPE_CHOICES"
    );
    let unknown_role = put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.owner,
        json!({"permissions": [{"id": "1234", "type": 1, "permission": true}]}),
    )
    .await;
    assert_eq!(
        field_code(&unknown_role.body, &["permissions", "0", "id"]),
        "NUMBER_TYPE_COERCE",
        "{}",
        unknown_role.body
    );
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"id": (1000 + i).to_string(), "type": 2, "permission": true}))
        .collect();
    let too_many = put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.owner,
        json!({"permissions": many}),
    )
    .await;
    assert_eq!(
        field_code(&too_many.body, &["permissions"]),
        "BASE_TYPE_MAX_ITEMS",
        "{}",
        too_many.body
    );

    // The owner denies the member: announced to the guild, listed, and enforced.
    let mut owner_gw = gateway(t, &w.owner, 1).await;
    let set = put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.owner,
        deny_member.clone(),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["id"], cmd_id.as_str());
    assert_eq!(set.body["application_id"], w.app_id.as_str());
    assert_eq!(set.body["guild_id"], w.guild.as_str());
    assert_eq!(set.body["permissions"][0]["type"], 2);
    let event = owner_gw
        .event("APPLICATION_COMMAND_PERMISSIONS_UPDATE")
        .await;
    assert_eq!(event, set.body);
    assert_eq!(
        t.get(&format!("{base}/{cmd_id}/permissions"), &w.bot)
            .await
            .body,
        set.body
    );
    let listed = t.get(&format!("{base}/permissions"), &w.owner).await;
    assert_eq!(listed.body, json!([set.body]));
    let denied = invoke(w.member.clone()).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["code"], 50013);
    // The owner is not named: still allowed.
    assert_eq!(invoke(w.owner.clone()).await.status, 204);

    // Audit log: APPLICATION_COMMAND_PERMISSION_UPDATE (121) with the target's change.
    let log = t
        .get(
            &format!("/guilds/{}/audit-logs?action_type=121", w.guild),
            &w.owner,
        )
        .await;
    let entry = &log.body["audit_log_entries"][0];
    assert_eq!(entry["action_type"], 121, "{}", log.body);
    assert_eq!(entry["target_id"], cmd_id.as_str());
    assert_eq!(entry["changes"][0]["key"], w.member_id.as_str());

    // Application-wide: @everyone denied everywhere, but the command's own list allows the
    // member by user — the command level wins. Clearing the command's list lets the
    // application-wide denial apply.
    let app_wide = put(
        t,
        &format!("{base}/{}/permissions", w.app_id),
        &w.owner,
        json!({"permissions": [{"id": w.guild, "type": 1, "permission": false}]}),
    )
    .await;
    assert_eq!(app_wide.status, 200, "{}", app_wide.body);
    let allow_member = json!({"permissions": [{"id": w.member_id, "type": 2, "permission": true}]});
    put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.owner,
        allow_member,
    )
    .await;
    assert_eq!(invoke(w.member.clone()).await.status, 204);
    assert_eq!(invoke(w.owner.clone()).await.status, 403);
    let cleared = put(
        t,
        &format!("{base}/{cmd_id}/permissions"),
        &w.owner,
        json!({"permissions": []}),
    )
    .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(invoke(w.member.clone()).await.status, 403);
    let listed = t.get(&format!("{base}/permissions"), &w.bot).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "{}", listed.body);
    assert_eq!(listed.body[0]["id"], w.app_id.as_str());

    // Unknown command: 10063.
    let unknown = t.get(&format!("{base}/1234/permissions"), &w.bot).await;
    assert_eq!(unknown.body["code"], 10063);
}

#[tokio::test]
async fn application_attachment_upload() {
    let w = world().await;
    let t = &w.t;
    let path = format!("/applications/{}/attachment", w.app_id);
    let png = {
        let mut png = std::io::Cursor::new(Vec::new());
        image::DynamicImage::new_rgb8(4, 3)
            .write_to(&mut png, image::ImageOutputFormat::Png)
            .unwrap();
        png.into_inner()
    };
    let upload = |token: String, part: Option<reqwest::multipart::Part>| {
        let mut form = reqwest::multipart::Form::new().text("other", "x");
        if let Some(p) = part {
            form = form.part("file", p);
        }
        let r = t
            .http
            .post(t.url(&path))
            .header("authorization", token)
            .multipart(form);
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = upload(
        w.owner.clone(),
        Some(reqwest::multipart::Part::bytes(png.clone()).file_name("icon.png")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let a = &body["attachment"];
    assert_eq!(a["filename"], "icon.png");
    assert_eq!(a["size"], png.len());
    assert_eq!(a["content_type"], "image/png");
    assert_eq!(a["width"], 4);
    assert_eq!(a["height"], 3);
    let url = a["url"].as_str().unwrap();
    let got = t.http.get(url).send().await.unwrap();
    assert_eq!(got.status(), 200, "{url}");
    assert_eq!(got.bytes().await.unwrap().as_ref(), png.as_slice());

    // The bot may upload too; without a file: 50035; strangers: 10002.
    let (status, _) = upload(
        w.bot.clone(),
        Some(reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt")),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = upload(w.owner.clone(), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(field_code(&body, &["file"]), "BASE_TYPE_REQUIRED");
    let (status, body) = upload(
        w.member.clone(),
        Some(reqwest::multipart::Part::bytes(png.clone()).file_name("icon.png")),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], 10002);
}

/// Deleting an application takes what hangs on it: its bot leaves the guild (members see
/// GUILD_MEMBER_REMOVE) and its token stops working, its uploads and its emojis' images are gone
/// from the CDN, its command permissions go also from a guild its bot is not in, users' role
/// connections to it go, and its emojis, entitlements and role connection metadata go from the
/// store (the store conformance suite checks those on both backends).
#[tokio::test]
async fn deleting_an_application_deletes_what_hangs_on_it() {
    let w = world().await;
    let t = &w.t;
    let bot_id = t.me(&w.bot).await["id"].as_str().unwrap().to_string();
    let mut owner_gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    // GUILDS | GUILD_MEMBERS
    owner_gw.identify(&w.owner, 1 | (1 << 1)).await;
    owner_gw.event("GUILD_CREATE").await;

    let emoji = t
        .post(
            &format!("/applications/{}/emojis", w.app_id),
            &w.bot,
            json!({"name": "wave", "image": png_data_uri(16, 16)}),
        )
        .await;
    assert_eq!(emoji.status, 201, "{}", emoji.body);
    let ent = t
        .post(
            &format!("/applications/{}/entitlements", w.app_id),
            &w.bot,
            json!({"sku_id": "111", "owner_id": w.member_id, "owner_type": 2}),
        )
        .await;
    assert_eq!(ent.status, 200, "{}", ent.body);
    let meta = put(
        t,
        &format!("/applications/{}/role-connections/metadata", w.app_id),
        &w.bot,
        json!([{"type": 7, "key": "verified", "name": "Verified", "description": "Is verified"}]),
    )
    .await;
    assert_eq!(meta.status, 200, "{}", meta.body);
    let upload = t
        .http
        .post(t.url(&format!("/applications/{}/attachment", w.app_id)))
        .header("authorization", &w.owner)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"notes".to_vec()).file_name("notes.txt"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200);
    let upload: Value = upload.json().await.unwrap();
    let url = upload["attachment"]["url"].as_str().unwrap().to_string();
    assert_eq!(t.http.get(&url).send().await.unwrap().status(), 200);
    let emoji_url = format!(
        "{}/emojis/{}.png",
        t.srv().url(),
        emoji.body["id"].as_str().unwrap()
    );
    assert_eq!(t.http.get(&emoji_url).send().await.unwrap().status(), 200);
    // The member connects an account to it.
    let mine = format!("/users/@me/applications/{}/role-connection", w.app_id);
    let c = put(
        t,
        &mine,
        &w.member,
        json!({"platform_name": "Game", "metadata": {"verified": true}}),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    // Application-wide command permissions in a guild its bot is not in (an
    // applications.commands-only install), and in the bot's guild.
    let (lone, _) = t.guild(&w.owner, "No bot here").await;
    for g in [&lone, &w.guild] {
        let p = put(
            t,
            &format!(
                "/applications/{0}/guilds/{g}/commands/{0}/permissions",
                w.app_id
            ),
            &w.owner,
            json!({"permissions": [{"id": g, "type": 1, "permission": false}]}),
        )
        .await;
        assert_eq!(p.status, 200, "{}", p.body);
    }
    let app_id: accord::id::ApplicationId = w.app_id.parse().unwrap();
    let lone_id: accord::id::GuildId = lone.parse().unwrap();
    let store = t.srv().app.store();
    assert_eq!(
        store
            .command_permissions_of(lone_id, app_id)
            .await
            .unwrap()
            .len(),
        1
    );

    // A member may not delete it; the owner may.
    let denied = t
        .delete(&format!("/applications/{}", w.app_id), &w.member)
        .await;
    assert_eq!(denied.status, 404, "{}", denied.body);
    let deleted = t
        .delete(&format!("/applications/{}", w.app_id), &w.owner)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    let removed = owner_gw.event("GUILD_MEMBER_REMOVE").await;
    assert_eq!(removed["user"]["id"], bot_id.as_str());
    assert_eq!(removed["guild_id"], w.guild.as_str());
    let member = t
        .get(&format!("/guilds/{}/members/{bot_id}", w.guild), &w.owner)
        .await;
    assert_eq!(member.body["code"], 10007, "{}", member.body);
    assert_eq!(t.get("/users/@me", &w.bot).await.status, 401);
    assert_eq!(t.http.get(&url).send().await.unwrap().status(), 404);
    assert_eq!(t.http.get(&emoji_url).send().await.unwrap().status(), 404);
    assert!(
        store
            .command_permissions_of(lone_id, app_id)
            .await
            .unwrap()
            .is_empty(),
        "permissions where the bot never was"
    );
    assert!(
        store
            .command_permission_guilds(app_id)
            .await
            .unwrap()
            .is_empty()
    );
    let member_id: accord::id::UserId = w.member_id.parse().unwrap();
    assert_eq!(
        store
            .get_user_role_connection(member_id, app_id)
            .await
            .unwrap(),
        None
    );
    let gone = t
        .get(&format!("/applications/{}", w.app_id), &w.owner)
        .await;
    assert_eq!(gone.body["code"], 10002);
}
