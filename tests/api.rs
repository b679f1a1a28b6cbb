//! REST API tests: the real server over HTTP, as a client sees it.

mod common;

use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn register_login_me_logout() {
    let t = common::start().await;
    let token = t.register("alice").await;
    let me = t.me(&token).await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["verified"], false);
    assert!(me.get("password_hash").is_none());
    // Discord-shaped tokens: the first part is the base64 user id.
    let first = token.split('.').next().unwrap();
    use base64::Engine;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first)
        .unwrap();
    assert_eq!(String::from_utf8(id).unwrap(), me["id"].as_str().unwrap());

    let bad = t
        .req(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "alice@example.com", "password": "wrong password"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["errors"]["login"]["_errors"][0]["code"],
        "INVALID_LOGIN"
    );

    let ok = t
        .req(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "ALICE@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["user_id"], me["id"]);
    let token2 = ok.body["token"].as_str().unwrap().to_string();
    assert_eq!(t.me(&token2).await["id"], me["id"]);

    let out = t
        .req(Method::POST, "/auth/logout", Some(&token2), Some(json!({})))
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(
        t.get("/users/@me", &token).await.status,
        401,
        "logout revokes every token"
    );
}

#[tokio::test]
async fn register_validation_is_discord_shaped() {
    let t = common::start().await;
    let r = t.req(Method::POST, "/auth/register", None, Some(json!({"username": "a", "email": "nope", "password": "x", "date_of_birth": "2020-01-01"}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 50035);
    assert_eq!(r.body["message"], "Invalid Form Body");
    assert_eq!(
        r.body["errors"]["username"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_LENGTH"
    );
    assert_eq!(
        r.body["errors"]["email"]["_errors"][0]["code"],
        "EMAIL_TYPE_INVALID_EMAIL"
    );
    assert_eq!(
        r.body["errors"]["password"]["_errors"][0]["code"],
        "PASSWORD_TOO_SHORT"
    );
    assert_eq!(
        r.body["errors"]["date_of_birth"]["_errors"][0]["code"],
        "DATE_OF_BIRTH_UNDERAGE"
    );

    t.register("bob").await;
    let dup = t.req(Method::POST, "/auth/register", None, Some(json!({"username": "bob2", "email": "BOB@example.com", "password": "long enough pw", "date_of_birth": "2000-01-01"}))).await;
    assert_eq!(
        dup.body["errors"]["email"]["_errors"][0]["code"],
        "EMAIL_ALREADY_REGISTERED"
    );
    let taken = t.req(Method::POST, "/auth/register", None, Some(json!({"username": "BOB", "email": "other@example.com", "password": "long enough pw", "date_of_birth": "2000-01-01"}))).await;
    assert_eq!(
        taken.body["errors"]["username"]["_errors"][0]["code"],
        "USERNAME_ALREADY_TAKEN"
    );

    // Broken JSON and wrong types.
    let resp = t
        .http
        .post(t.url("/auth/register"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 50109);
    let r = t
        .req(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": 5})),
        )
        .await;
    assert_eq!(
        r.body["errors"]["username"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_TYPE"
    );
}

#[tokio::test]
async fn errors_are_json_and_localized() {
    let t = common::start().await;
    let r = t.req(Method::GET, "/users/@me", None, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"code": 0, "message": "401: Unauthorized"}));
    let r = t
        .req(Method::GET, "/users/@me", Some("garbage.token.here"), None)
        .await;
    assert_eq!(r.status, 401);
    let r = t.req(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["code"], 0);
    let token = t.register("carol").await;
    let r = t
        .req_with(
            Method::GET,
            "/channels/123",
            Some(&token),
            None,
            &[("accept-language", "de-DE,de;q=0.9")],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!({"code": 10003, "message": "Unbekannter Kanal"})
    );
    let r = t
        .req_with(
            Method::GET,
            "/channels/123",
            Some(&token),
            None,
            &[("x-discord-locale", "fr")],
        )
        .await;
    assert_eq!(
        r.body["message"], "Unknown Channel",
        "unknown locales fall back to English"
    );
    let r = t
        .req(Method::GET, "/channels/not-a-number", Some(&token), None)
        .await;
    assert_eq!(r.status, 404);
    // Every API version prefix routes the same.
    for prefix in ["/api", "/api/v9", "/api/v10"] {
        let resp = t
            .http
            .get(format!("{}{prefix}/users/@me", t.srv().url()))
            .header("authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{prefix}");
    }
}

#[tokio::test]
async fn guild_channel_message_flow() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (guild, channel) = t.guild(&alice, "Test Guild").await;

    let g = t.get(&format!("/guilds/{guild}"), &alice).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["name"], "Test Guild");
    assert_eq!(g.body["owner_id"], t.me(&alice).await["id"]);
    assert_eq!(
        g.body["roles"][0]["id"], guild,
        "@everyone shares the guild id"
    );

    // Bob is not a member yet.
    assert_eq!(
        t.get(&format!("/guilds/{guild}"), &bob).await.body["code"],
        10004
    );
    let r = t
        .post(
            &format!("/channels/{channel}/messages"),
            &bob,
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(r.body["code"], 10003);

    // Messages: create, validation, list newest first, edit, delete.
    let m1 = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "first", "nonce": "n1"}),
        )
        .await;
    assert_eq!(m1.status, 200, "{}", m1.body);
    assert_eq!(m1.body["content"], "first");
    assert_eq!(m1.body["nonce"], "n1");
    assert_eq!(m1.body["author"]["username"], "alice");
    let m2 = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "second"}),
        )
        .await;
    let empty = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "  "}),
        )
        .await;
    assert_eq!(empty.body["code"], 50006);
    let long = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "x".repeat(2001)}),
        )
        .await;
    assert_eq!(
        long.body["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    let list = t
        .get(&format!("/channels/{channel}/messages?limit=10"), &alice)
        .await;
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            m2.body["id"].as_str().unwrap(),
            m1.body["id"].as_str().unwrap()
        ]
    );
    let before = t
        .get(
            &format!(
                "/channels/{channel}/messages?before={}",
                m2.body["id"].as_str().unwrap()
            ),
            &alice,
        )
        .await;
    assert_eq!(before.body.as_array().unwrap().len(), 1);
    let bad_limit = t
        .get(&format!("/channels/{channel}/messages?limit=101"), &alice)
        .await;
    assert_eq!(bad_limit.body["code"], 50035);

    let edit = t
        .patch(
            &format!(
                "/channels/{channel}/messages/{}",
                m1.body["id"].as_str().unwrap()
            ),
            &alice,
            json!({"content": "edited"}),
        )
        .await;
    assert_eq!(edit.body["content"], "edited");
    assert!(edit.body["edited_timestamp"].is_string());

    // Invite Bob; he joins and can talk; he cannot edit Alice's message or delete it.
    let inv = t
        .post(
            &format!("/channels/{channel}/invites"),
            &alice,
            json!({"max_age": 0, "max_uses": 1}),
        )
        .await;
    assert_eq!(inv.status, 200, "{}", inv.body);
    let code = inv.body["code"].as_str().unwrap().to_string();
    let preview = t
        .req(Method::GET, &format!("/invites/{code}"), None, None)
        .await;
    assert_eq!(preview.body["guild"]["name"], "Test Guild");
    let join = t.post(&format!("/invites/{code}"), &bob, json!({})).await;
    assert_eq!(join.status, 200, "{}", join.body);
    assert_eq!(join.body["new_member"], true);
    let carol = t.register("carol").await;
    assert_eq!(
        t.post(&format!("/invites/{code}"), &carol, json!({}))
            .await
            .body["code"],
        10006,
        "max_uses reached"
    );

    let hi = t
        .post(
            &format!("/channels/{channel}/messages"),
            &bob,
            json!({"content": "hi <@123>"}),
        )
        .await;
    assert_eq!(hi.status, 200);
    let forbidden = t
        .patch(
            &format!(
                "/channels/{channel}/messages/{}",
                m1.body["id"].as_str().unwrap()
            ),
            &bob,
            json!({"content": "hacked"}),
        )
        .await;
    assert_eq!(forbidden.body["code"], 50005);
    let del = t
        .delete(
            &format!(
                "/channels/{channel}/messages/{}",
                m1.body["id"].as_str().unwrap()
            ),
            &bob,
        )
        .await;
    assert_eq!(del.body["code"], 50013);
    assert_eq!(
        t.delete(
            &format!(
                "/channels/{channel}/messages/{}",
                m1.body["id"].as_str().unwrap()
            ),
            &alice
        )
        .await
        .status,
        204
    );
    assert_eq!(
        t.get(
            &format!(
                "/channels/{channel}/messages/{}",
                m1.body["id"].as_str().unwrap()
            ),
            &alice
        )
        .await
        .body["code"],
        10008
    );

    // Bob can't create channels; Alice can. Channel overwrites hide a channel from Bob.
    let r = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &bob,
            json!({"name": "nope"}),
        )
        .await;
    assert_eq!(r.body["code"], 50013);
    let secret = t
        .post(&format!("/guilds/{guild}/channels"), &alice, json!({"name": "Secret Stuff", "permission_overwrites": [{"id": guild, "type": 0, "allow": "0", "deny": "1024"}]}))
        .await;
    assert_eq!(secret.status, 201, "{}", secret.body);
    assert_eq!(secret.body["name"], "secret-stuff");
    let sid = secret.body["id"].as_str().unwrap();
    assert_eq!(
        t.get(&format!("/channels/{sid}"), &bob).await.body["code"],
        50001
    );
    let bob_channels = t.get(&format!("/guilds/{guild}/channels"), &bob).await;
    assert!(
        bob_channels
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != sid)
    );

    // Reactions and pins.
    let mid = hi.body["id"].as_str().unwrap();
    assert_eq!(
        t.req(
            Method::PUT,
            &format!("/channels/{channel}/messages/{mid}/reactions/%F0%9F%91%8D/@me"),
            Some(&alice),
            None
        )
        .await
        .status,
        204
    );
    let m = t
        .get(&format!("/channels/{channel}/messages/{mid}"), &alice)
        .await;
    assert_eq!(m.body["reactions"][0]["emoji"]["name"], "👍");
    assert_eq!(m.body["reactions"][0]["me"], true);
    assert_eq!(
        t.req(
            Method::PUT,
            &format!("/channels/{channel}/pins/{mid}"),
            Some(&alice),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        t.get(&format!("/channels/{channel}/pins"), &alice)
            .await
            .body[0]["id"],
        mid
    );

    // Members and kicking.
    let members = t
        .get(&format!("/guilds/{guild}/members?limit=10"), &alice)
        .await;
    assert_eq!(members.body.as_array().unwrap().len(), 2);
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.delete(&format!("/guilds/{guild}/members/{bob_id}"), &bob)
            .await
            .body["code"],
        50013
    );
    assert_eq!(
        t.delete(&format!("/guilds/{guild}/members/{bob_id}"), &alice)
            .await
            .status,
        204
    );
    assert_eq!(
        t.get(&format!("/guilds/{guild}"), &bob).await.body["code"],
        10004
    );

    let mine = t.get("/users/@me/guilds", &alice).await;
    assert_eq!(mine.body[0]["id"], guild);
    assert_eq!(mine.body[0]["owner"], true);
}

#[tokio::test]
async fn roles_grant_permissions() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (guild, channel) = t.guild(&alice, "Roles").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();

    assert_eq!(
        t.post(
            &format!("/guilds/{guild}/channels"),
            &bob,
            json!({"name": "x"})
        )
        .await
        .status,
        403
    );
    let role = t
        .post(
            &format!("/guilds/{guild}/roles"),
            &alice,
            json!({"name": "mods", "permissions": "16"}),
        )
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    let rid = role.body["id"].as_str().unwrap();
    assert_eq!(
        t.req(
            Method::PUT,
            &format!("/guilds/{guild}/members/{bob_id}/roles/{rid}"),
            Some(&alice),
            None
        )
        .await
        .status,
        204
    );
    let made = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &bob,
            json!({"name": "by-bob"}),
        )
        .await;
    assert_eq!(made.status, 201, "MANAGE_CHANNELS via role: {}", made.body);
    // Taking the role away takes the permission away (the channel actors' caches are dropped).
    assert_eq!(
        t.delete(&format!("/guilds/{guild}/roles/{rid}"), &alice)
            .await
            .status,
        204
    );
    assert_eq!(
        t.post(
            &format!("/guilds/{guild}/channels"),
            &bob,
            json!({"name": "again"})
        )
        .await
        .status,
        403
    );
    // @everyone loses SEND_MESSAGES: Bob can no longer post.
    t.patch(
        &format!("/guilds/{guild}/roles/{guild}"),
        &alice,
        json!({"permissions": "1024"}),
    )
    .await;
    assert_eq!(
        t.post(
            &format!("/channels/{channel}/messages"),
            &bob,
            json!({"content": "x"})
        )
        .await
        .body["code"],
        50013
    );
    assert_eq!(
        t.post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "owner can"})
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn dms_between_users() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    let dm = t
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipient_id": bob_id}),
        )
        .await;
    assert_eq!(dm.status, 200, "{}", dm.body);
    assert_eq!(dm.body["type"], 1);
    assert_eq!(dm.body["recipients"][0]["username"], "bob");
    let again = t
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipient_id": bob_id}),
        )
        .await;
    assert_eq!(again.body["id"], dm.body["id"], "the DM is reused");
    let id = dm.body["id"].as_str().unwrap();
    assert_eq!(
        t.post(
            &format!("/channels/{id}/messages"),
            &alice,
            json!({"content": "psst"})
        )
        .await
        .status,
        200
    );
    let seen = t.get(&format!("/channels/{id}/messages"), &bob).await;
    assert_eq!(seen.body[0]["content"], "psst");
    assert_eq!(
        t.get(&format!("/channels/{id}/messages"), &carol)
            .await
            .body["code"],
        10003
    );
    assert_eq!(t.get("/users/@me/channels", &bob).await.body[0]["id"], id);
}

#[tokio::test]
async fn admin_config_changes_apply_live_and_persist() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    assert_eq!(t.get("/admin/config", &alice).await.status, 403);
    t.make_admin(&alice).await;
    let c = t.get("/admin/config", &alice).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.body["limits"]["message"]["max_characters"], 2000);
    assert_eq!(c.body["gateway"]["heartbeat_interval_ms"], 41250);

    let bad = t
        .patch(
            "/admin/config",
            &alice,
            json!({"limits": {"message": {"max_characters": "lots"}}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["errors"]["limits"]["message"]["max_characters"]["_errors"][0]["code"].is_string(),
        "{}",
        bad.body
    );
    let bad = t
        .patch(
            "/admin/config",
            &alice,
            json!({"limits": {"message": {"max_characters": 0}}}),
        )
        .await;
    assert_eq!(
        bad.body["errors"]["limits"]["message"]["max_characters"]["_errors"][0]["code"],
        "NUMBER_TYPE_MIN"
    );

    let ok = t.patch("/admin/config", &alice, json!({"limits": {"message": {"max_characters": 5}}, "general": {"instance_name": "Live"}})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let (_, channel) = t.guild(&alice, "gg").await;
    let r = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "too long"}),
        )
        .await;
    assert_eq!(
        r.body["errors"]["content"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH",
        "no restart needed"
    );
    let inst = t.req(Method::GET, "/policies/instance", None, None).await;
    assert_eq!(inst.body["instanceName"], "Live");

    // Survives a restart; the stored value wins over the default.
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let alice = t
        .req(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "alice@example.com", "password": "correct horse battery"})),
        )
        .await;
    let token = alice.body["token"].as_str().unwrap().to_string();
    let c = t.get("/admin/config", &token).await;
    assert_eq!(c.body["limits"]["message"]["max_characters"], 5);
    assert_eq!(c.body["general"]["instance_name"], "Live");
}

#[tokio::test]
async fn data_survives_restart() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (guild, channel) = t.guild(&alice, "Persistent").await;
    t.post(
        &format!("/channels/{channel}/messages"),
        &alice,
        json!({"content": "kept"}),
    )
    .await;
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    // The token is still valid: the signing key is kept in the data directory.
    assert_eq!(
        t.get(&format!("/guilds/{guild}"), &alice).await.body["name"],
        "Persistent"
    );
    assert_eq!(
        t.get(&format!("/channels/{channel}/messages"), &alice)
            .await
            .body[0]["content"],
        "kept"
    );
}

#[tokio::test]
async fn instance_endpoints() {
    let t = common::start().await;
    let d = t
        .req(Method::GET, "/policies/instance/domains", None, None)
        .await;
    assert_eq!(d.status, 200);
    assert!(
        d.body["gateway"]
            .as_str()
            .unwrap()
            .starts_with("ws://127.0.0.1:")
    );
    assert!(d.body["apiEndpoint"].as_str().unwrap().ends_with("/api"));
    let g = t.req(Method::GET, "/gateway", None, None).await;
    assert_eq!(g.body["url"], d.body["gateway"]);
    assert!(!g.body["url"].as_str().unwrap().contains('?'));
    let token = t.register("bot_owner").await;
    let gb = t.get("/gateway/bot", &token).await;
    assert_eq!(gb.body["shards"], 1);
    assert!(
        gb.body["session_start_limit"]["max_concurrency"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let wk = t
        .http
        .get(format!("{}/.well-known/spacebar", t.srv().url()))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(wk["api"].as_str().unwrap().ends_with("/api/v9"));
}

#[tokio::test]
async fn field_errors_in_the_second_language() {
    let t = common::start().await;
    let r = t
        .req_with(Method::POST, "/auth/register", None, Some(json!({"username": "a", "email": "a@example.com", "password": "long enough pw", "date_of_birth": "2000-01-01"})), &[("x-discord-locale", "de")])
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["message"], "Ungültiger Formularinhalt");
    let e = &r.body["errors"]["username"]["_errors"][0];
    assert_eq!(e["code"], "BASE_TYPE_BAD_LENGTH");
    assert_eq!(e["message"], "Muss zwischen 2 und 32 Zeichen lang sein.");
}

/// A configuration stored by an older version (missing keys) gains the new keys with their
/// defaults on the next start; values already stored are kept.
#[tokio::test]
async fn stored_config_gains_new_keys_and_keeps_values() {
    let t = common::start().await;
    let dir = t.stop().await;
    {
        // Simulate an older version's stored config: drop a key, change a value.
        let store = accord::open_store(&accord::StoreChoice::Embedded {
            data_dir: dir.path().to_path_buf(),
            durability: accord::store::Durability::Immediate,
            eventual_flush: Default::default(),
        })
        .await
        .unwrap();
        let mut stored: serde_json::Value =
            serde_json::from_str(&store.get_config().await.unwrap().unwrap()).unwrap();
        stored["limits"]["rate"]
            .as_object_mut()
            .unwrap()
            .remove("route_window_secs");
        stored["gateway"]
            .as_object_mut()
            .unwrap()
            .remove("max_guilds_per_shard");
        stored["limits"]["message"]["max_characters"] = json!(1234);
        store.put_config(&stored.to_string()).await.unwrap();
        store.flush().await.unwrap();
    }
    let t = common::start_in(dir).await;
    let c = t.srv().app.config().get();
    assert_eq!(c.limits.message.max_characters, 1234, "stored value kept");
    let raw: serde_json::Value =
        serde_json::from_str(&t.srv().app.store().get_config().await.unwrap().unwrap()).unwrap();
    assert_eq!(
        raw["limits"]["rate"]["route_window_secs"],
        json!(
            accord::config::Config::default()
                .limits
                .rate
                .route_window_secs
        ),
        "new key written with its default"
    );
    assert_eq!(raw["gateway"]["max_guilds_per_shard"], json!(2500));
    assert_eq!(raw["limits"]["message"]["max_characters"], 1234);
}

#[tokio::test]
async fn replies_carry_the_message_they_answer() {
    let t = common::start().await;
    let alice = t.register("asker").await;
    let bob = t.register("answerer").await;
    let (_, channel) = t.guild(&alice, "Replies").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    let question = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "what time is it?"}),
        )
        .await;
    let qid = question.body["id"].as_str().unwrap().to_string();
    let reply = t
        .post(
            &format!("/channels/{channel}/messages"),
            &bob,
            json!({"content": "noon", "message_reference": {"message_id": qid}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["type"], 19);
    assert_eq!(reply.body["message_reference"]["message_id"], qid.as_str());
    assert_eq!(
        reply.body["message_reference"]["channel_id"],
        channel.as_str()
    );
    assert_eq!(reply.body["referenced_message"]["id"], qid.as_str());
    assert_eq!(
        reply.body["referenced_message"]["content"],
        "what time is it?"
    );
    assert_eq!(
        reply.body["mentions"][0]["username"], "asker",
        "the replied-to author is mentioned by default"
    );
    let rid = reply.body["id"].as_str().unwrap().to_string();
    let fetched = t
        .get(&format!("/channels/{channel}/messages/{rid}"), &alice)
        .await;
    assert_eq!(
        fetched.body["referenced_message"]["content"],
        "what time is it?"
    );
    // Without a ping for the replied-to author.
    let quiet = t
        .post(
            &format!("/channels/{channel}/messages"),
            &bob,
            json!({"content": "shh", "message_reference": {"message_id": qid}, "allowed_mentions": {"replied_user": false}}),
        )
        .await;
    assert_eq!(quiet.body["mentions"], json!([]));
    // A missing target is refused when asked, ignored otherwise.
    let missing = t
        .post(
            &format!("/channels/{channel}/messages"),
            &bob,
            json!({"content": "?", "message_reference": {"message_id": "1234567890", "fail_if_not_exists": true}}),
        )
        .await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(missing.body["code"], 50035);
    // The original deleted: the reply still says what it answered, with a null message.
    assert_eq!(
        t.delete(&format!("/channels/{channel}/messages/{qid}"), &alice)
            .await
            .status,
        204
    );
    let after = t
        .get(&format!("/channels/{channel}/messages/{rid}"), &alice)
        .await;
    assert_eq!(after.body["message_reference"]["message_id"], qid.as_str());
    assert!(after.body["referenced_message"].is_null(), "{}", after.body);
    let page = t
        .get(&format!("/channels/{channel}/messages?limit=10"), &alice)
        .await;
    assert!(
        page.body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == rid.as_str() && m["referenced_message"].is_null())
    );
}

/// History pages are served from the channel's rendered-JSON cache; it must not outlive what
/// it baked in: a renamed author shows the new name, a reacted message shows `me` per reader,
/// an edit shows the new content.
#[tokio::test]
async fn history_shows_renames_reactions_and_edits_of_cached_messages() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (guild, channel) = t.guild(&alice, "cache").await;
    let bob = t.register("bob").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    let _ = guild;
    let path = format!("/channels/{channel}/messages");
    let posted = t.post(&path, &alice, json!({"content": "one"})).await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let mid = posted.body["id"].as_str().unwrap().to_string();
    t.post(&path, &bob, json!({"content": "two"})).await;
    let page = |body: &serde_json::Value| body.as_array().unwrap().clone();

    // Twice, so the second read comes from the cache; both equal the created objects.
    let first = t.get(&format!("{path}?limit=10"), &alice).await;
    let second = t.get(&format!("{path}?limit=10"), &alice).await;
    assert_eq!(first.body, second.body);
    assert_eq!(page(&second.body)[1], posted.body);

    let renamed = t
        .patch("/users/@me", &alice, json!({"global_name": "Alice A."}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let after = t.get(&format!("{path}?limit=10"), &bob).await;
    assert_eq!(page(&after.body)[1]["author"]["global_name"], "Alice A.");

    let react = format!("{path}/{mid}/reactions/%F0%9F%91%8D/@me");
    assert_eq!(
        t.req(Method::PUT, &react, Some(&bob), None).await.status,
        204
    );
    let for_bob = t.get(&format!("{path}?limit=10"), &bob).await;
    let for_alice = t.get(&format!("{path}?limit=10"), &alice).await;
    assert_eq!(page(&for_bob.body)[1]["reactions"][0]["me"], true);
    assert_eq!(page(&for_alice.body)[1]["reactions"][0]["me"], false);

    let edited = t
        .patch(&format!("{path}/{mid}"), &alice, json!({"content": "uno"}))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let last = t.get(&format!("{path}?limit=10"), &bob).await;
    assert_eq!(page(&last.body)[1]["content"], "uno");
    assert_eq!(page(&last.body)[0]["content"], "two");
}

/// An embed must be an object: schemathesis sent `"embeds": [[null, null]]`, which was stored
/// and served back (in the message and the channel's history) as an embed no client can read.
#[tokio::test]
async fn embeds_that_are_not_objects_are_refused() {
    let t = common::start().await;
    let token = t.register("embedder").await;
    let (_, channel) = t.guild(&token, "Embeds").await;
    let path = format!("/channels/{channel}/messages");
    let r = t
        .post(
            &path,
            &token,
            json!({"content": "x", "embeds": [[null, null]]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], 50035);
    assert_eq!(
        r.body["errors"]["embeds"]["0"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_TYPE"
    );
    let r = t
        .post(
            &path,
            &token,
            json!({"content": "x", "embeds": [{"title": "t"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    let edit = t
        .patch(&format!("{path}/{id}"), &token, json!({"embeds": [7]}))
        .await;
    assert_eq!(edit.status, 400, "{}", edit.body);
    assert_eq!(
        edit.body["errors"]["embeds"]["0"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_TYPE"
    );
    let history = t.get(&path, &token).await;
    assert_eq!(history.body[0]["embeds"][0]["title"], "t");
    assert_eq!(history.body[0]["embeds"].as_array().map(Vec::len), Some(1));
    t.stop().await;
}
