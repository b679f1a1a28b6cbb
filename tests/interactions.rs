//! Application commands and interactions: a bot registers commands (global and per guild), a
//! user invokes one, the bot gets INTERACTION_CREATE and answers (message, deferred, ephemeral),
//! follows up and edits by the interaction token; the errors Discord gives along the way.

mod common;

use common::{Gateway, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const MESSAGE_CONTENT: u64 = 1 << 15;
const USE_APPLICATION_COMMANDS: u64 = 1 << 31;

/// A guild with its owner, a member, and a bot added with VIEW_CHANNEL | SEND_MESSAGES.
struct World {
    t: TestServer,
    owner: String,
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
    let member_id = t.me(&member).await["id"].as_str().unwrap().to_string();
    let (guild, channel) = t.guild(&owner, "Commands").await;
    t.join_via_invite(&owner, &channel, &member).await;
    let common::BotApp {
        app_id, token: bot, ..
    } = t
        .bot_in_guild(&owner, &guild, "Slash Bot", "bot", "3072")
        .await;
    World {
        t,
        owner,
        member,
        member_id,
        bot,
        app_id,
        guild,
        channel,
    }
}

async fn gateway(t: &TestServer, token: &str, intents: u64) -> Gateway {
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(token, intents).await;
    gw.event("GUILD_CREATE").await;
    gw
}

impl World {
    fn commands(&self) -> String {
        format!("/applications/{}/commands", self.app_id)
    }

    fn guild_commands(&self) -> String {
        format!(
            "/applications/{}/guilds/{}/commands",
            self.app_id, self.guild
        )
    }

    /// A guild command `echo {text: string (required), who: user}`; returns its id.
    async fn echo_command(&self) -> String {
        let r = self
            .t
            .post(
                &self.guild_commands(),
                &self.bot,
                json!({
                    "name": "echo",
                    "description": "Says it back",
                    "options": [
                        {"type": 3, "name": "text", "description": "What to say", "required": true},
                        {"type": 6, "name": "who", "description": "To whom"},
                    ],
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// The member invokes `command` with `options`; returns the response status and body.
    async fn invoke(&self, token: &str, command: &str, options: Value) -> common::Resp {
        self.t
            .post(
                "/interactions",
                token,
                json!({
                    "type": 2,
                    "application_id": self.app_id,
                    "guild_id": self.guild,
                    "channel_id": self.channel,
                    "session_id": "abc",
                    "nonce": "1234567890",
                    "data": {"id": command, "name": "echo", "type": 1, "version": "1", "options": options},
                }),
            )
            .await
    }

    async fn callback(&self, interaction: &Value, body: Value) -> common::Resp {
        self.t
            .req(
                Method::POST,
                &format!(
                    "/interactions/{}/{}/callback",
                    interaction["id"].as_str().unwrap(),
                    interaction["token"].as_str().unwrap()
                ),
                None,
                Some(body),
            )
            .await
    }

    /// `/webhooks/{application}/{token}{rest}`
    fn hook(&self, interaction: &Value, rest: &str) -> String {
        format!(
            "/webhooks/{}/{}{rest}",
            self.app_id,
            interaction["token"].as_str().unwrap()
        )
    }

    async fn history(&self) -> Vec<Value> {
        let r = self
            .t
            .get(&format!("/channels/{}/messages", self.channel), &self.owner)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body.as_array().unwrap().clone()
    }
}

fn code(r: &common::Resp) -> &Value {
    &r.body["code"]
}

#[tokio::test]
async fn commands_crud_bulk_overwrite_and_validation() {
    let w = world().await;
    let t = &w.t;

    // Create, then the same name again: overwritten under the same id (200, not 201).
    let ping = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "ping", "description": "Pong!", "default_member_permissions": null, "dm_permission": true}),
        )
        .await;
    assert_eq!(ping.status, 201, "{}", ping.body);
    serde_json::from_value::<twilight_model::application::command::Command>(ping.body.clone())
        .expect("twilight Command");
    assert_eq!(ping.body["application_id"], w.app_id);
    assert_eq!(ping.body["type"], 1);
    assert!(ping.body.get("guild_id").is_none());
    let id = ping.body["id"].as_str().unwrap().to_string();
    let again = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "ping", "description": "Pong again"}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], id);
    assert_eq!(again.body["description"], "Pong again");
    // A user command of the same name is another command.
    let user_cmd = t
        .post(&w.commands(), &w.bot, json!({"name": "Ping Me", "type": 2}))
        .await;
    assert_eq!(user_cmd.status, 201, "{}", user_cmd.body);
    assert_eq!(user_cmd.body["description"], "");
    let list = t.get(&w.commands(), &w.bot).await;
    assert_eq!(list.body.as_array().unwrap().len(), 2, "{}", list.body);
    // The owner (a user token) reads them too; a stranger can't.
    assert_eq!(t.get(&w.commands(), &w.owner).await.status, 200);
    assert_eq!(code(&t.get(&w.commands(), &w.member).await), 10002);

    // Edit: a new version; localizations only with `with_localizations`.
    let one = format!("{}/{id}", w.commands());
    let before = t.get(&one, &w.bot).await;
    let patched = t
        .patch(
            &one,
            &w.bot,
            json!({"description": "Edited", "name_localizations": {"de": "pingen"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["description"], "Edited");
    assert_ne!(patched.body["version"], before.body["version"]);
    assert_eq!(patched.body["name_localizations"]["de"], "pingen");
    let plain = t.get(&w.commands(), &w.bot).await;
    assert!(plain.body[0].get("name_localizations").is_none());
    let localized = t
        .get(&format!("{}?with_localizations=true", w.commands()), &w.bot)
        .await;
    assert_eq!(localized.body[0]["name_localizations"]["de"], "pingen");
    // Renaming onto a taken name of the same type is refused.
    let clash = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "other", "description": "x"}),
        )
        .await;
    let clash_id = clash.body["id"].as_str().unwrap();
    let r = t
        .patch(
            &format!("{}/{clash_id}", w.commands()),
            &w.bot,
            json!({"name": "ping"}),
        )
        .await;
    assert_eq!(
        r.body["errors"]["name"]["_errors"][0]["code"], "APPLICATION_COMMANDS_DUPLICATE_NAME",
        "{}",
        r.body
    );

    // Guild commands: separate from the global ones.
    let g = t
        .post(
            &w.guild_commands(),
            &w.bot,
            json!({"name": "ping", "description": "Guild pong"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    assert_eq!(g.body["guild_id"], w.guild);
    assert_ne!(g.body["id"], id);
    let g_id = g.body["id"].as_str().unwrap().to_string();
    assert_eq!(t.get(&w.guild_commands(), &w.bot).await.body[0]["id"], g_id);
    // A guild command is not reachable under the global path, nor the reverse.
    assert_eq!(
        code(&t.get(&format!("{}/{g_id}", w.commands()), &w.bot).await),
        10063
    );
    assert_eq!(
        code(&t.get(&format!("{}/{id}", w.guild_commands()), &w.bot).await),
        10063
    );
    assert_eq!(
        t.delete(&format!("{}/{g_id}", w.guild_commands()), &w.bot)
            .await
            .status,
        204
    );
    assert_eq!(
        code(
            &t.get(&format!("{}/{g_id}", w.guild_commands()), &w.bot)
                .await
        ),
        10063
    );
    // The bot must be in the guild.
    let (other_guild, _) = t.guild(&w.owner, "Elsewhere").await;
    let r = t
        .get(
            &format!("/applications/{}/guilds/{other_guild}/commands", w.app_id),
            &w.bot,
        )
        .await;
    assert_eq!((r.status, code(&r).clone()), (403, json!(50001)));

    // Bulk overwrite: `ping` kept (same id, same version when unchanged), `echo` new, the
    // rest gone.
    let kept = t.get(&one, &w.bot).await.body;
    let put = t
        .req(
            Method::PUT,
            &w.commands(),
            Some(&w.bot),
            Some(json!([
                {"name": "ping", "description": "Edited", "name_localizations": {"de": "pingen"}},
                {"name": "echo", "description": "Echo", "options": [{"type": 3, "name": "text", "description": "t"}]},
            ])),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body[0]["id"], id);
    assert_eq!(
        put.body[0]["version"], kept["version"],
        "unchanged keeps its version"
    );
    let list = t.get(&w.commands(), &w.bot).await.body;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"ping") && names.contains(&"echo"));

    // Validation, as Discord reports it.
    let bad = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "Bad Name", "description": "x".repeat(101)}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(code(&bad), 50035);
    assert_eq!(
        bad.body["errors"]["name"]["_errors"][0]["code"],
        "APPLICATION_COMMAND_INVALID_NAME"
    );
    assert_eq!(
        bad.body["errors"]["description"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_LENGTH"
    );
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"type": 3, "name": format!("o{i}"), "description": "d"}))
        .collect();
    let r = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "many", "description": "d", "options": many}),
        )
        .await;
    assert_eq!(
        r.body["errors"]["options"]["_errors"][0]["code"], "BASE_TYPE_MAX_ITEMS",
        "{}",
        r.body
    );
    let r = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "req", "description": "d", "options": [
                {"type": 3, "name": "a", "description": "d"},
                {"type": 3, "name": "b", "description": "d", "required": true},
            ]}),
        )
        .await;
    assert_eq!(
        r.body["errors"]["options"]["1"]["required"]["_errors"][0]["code"],
        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
        "{}",
        r.body
    );
    let dup = t
        .req(
            Method::PUT,
            &w.commands(),
            Some(&w.bot),
            Some(json!([
                {"name": "same", "description": "d"},
                {"name": "same", "description": "d"},
            ])),
        )
        .await;
    assert_eq!(
        dup.body["errors"]["1"]["name"]["_errors"][0]["code"],
        "APPLICATION_COMMANDS_DUPLICATE_NAME",
        "{}",
        dup.body
    );

    // Limits: 100 slash commands per scope (more in a bulk overwrite is a form error; one more
    // by POST is 30032).
    let hundred: Vec<Value> = (0..100)
        .map(|i| json!({"name": format!("c{i}"), "description": "d"}))
        .collect();
    let mut too_many = hundred.clone();
    too_many.push(json!({"name": "c100", "description": "d"}));
    let r = t
        .req(
            Method::PUT,
            &w.commands(),
            Some(&w.bot),
            Some(json!(too_many)),
        )
        .await;
    assert_eq!(code(&r), 50035, "{}", r.body);
    let r = t
        .req(
            Method::PUT,
            &w.commands(),
            Some(&w.bot),
            Some(json!(hundred)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "c100", "description": "d"}),
        )
        .await;
    assert_eq!((r.status, code(&r).clone()), (400, json!(30032)));
    // Overwriting an existing name is still fine at the limit.
    let r = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "c5", "description": "new"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn invoke_respond_follow_up_and_edit() {
    let w = world().await;
    let t = &w.t;
    let command = w.echo_command().await;
    let mut bot_gw = gateway(t, &w.bot, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    let mut user_gw = gateway(t, &w.member, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;

    let r = w
        .invoke(
            &w.member,
            &command,
            json!([
                {"type": 3, "name": "text", "value": "hello"},
                {"type": 6, "name": "who", "value": w.member_id},
            ]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // The bot's INTERACTION_CREATE: Discord's interaction object.
    let i = bot_gw.event("INTERACTION_CREATE").await;
    serde_json::from_value::<twilight_model::application::interaction::Interaction>(i.clone())
        .expect("twilight Interaction");
    assert_eq!(i["type"], 2);
    assert_eq!(i["version"], 1);
    assert_eq!(i["application_id"], w.app_id);
    assert_eq!(i["guild_id"], w.guild);
    assert_eq!(i["channel_id"], w.channel);
    assert_eq!(i["channel"]["id"], w.channel);
    assert_eq!(i["data"]["id"], command);
    assert_eq!(i["data"]["name"], "echo");
    assert_eq!(i["data"]["guild_id"], w.guild);
    assert_eq!(
        i["data"]["options"],
        json!([
            {"name": "text", "type": 3, "value": "hello"},
            {"name": "who", "type": 6, "value": w.member_id},
        ])
    );
    assert_eq!(
        i["data"]["resolved"]["users"][&w.member_id]["username"],
        "member"
    );
    assert!(
        i["data"]["resolved"]["members"][&w.member_id]
            .get("user")
            .is_none()
    );
    assert_eq!(i["member"]["user"]["id"], w.member_id);
    let perms: u64 = i["member"]["permissions"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(perms & USE_APPLICATION_COMMANDS, 0);
    let app_perms: u64 = i["app_permissions"].as_str().unwrap().parse().unwrap();
    assert_eq!(app_perms & 3072, 3072, "the bot's channel permissions");
    assert_eq!(i["locale"], "en-US");
    assert_eq!(i["entitlements"], json!([]));
    assert_eq!(i["authorizing_integration_owners"]["0"], w.guild);
    assert_eq!(i["context"], 0);
    assert!(i["token"].as_str().unwrap().len() > 40);
    // The user's client hears of it too (id and nonce).
    let mine = user_gw.event("INTERACTION_CREATE").await;
    assert_eq!(
        (&mine["id"], &mine["nonce"]),
        (&i["id"], &json!("1234567890"))
    );

    // Answer with a message: 204; the user sees success and the message.
    let r = w
        .callback(&i, json!({"type": 4, "data": {"content": "hello back"}}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The message goes out through the guild, the success straight to the user: either may
    // come first.
    let (mut success, mut created) = (None, None);
    while success.is_none() || created.is_none() {
        let v = user_gw.recv().await;
        match v["t"].as_str() {
            Some("INTERACTION_SUCCESS") => success = Some(v["d"].clone()),
            Some("MESSAGE_CREATE") => created = Some(v["d"].clone()),
            _ => {}
        }
    }
    assert_eq!(success.unwrap()["id"], i["id"]);
    let m = created.unwrap();
    assert_eq!(m["content"], "hello back");
    assert_eq!(m["type"], 20);
    assert_eq!(m["author"]["id"], w.app_id);
    assert_eq!(m["author"]["bot"], true);
    assert_eq!(m["application_id"], w.app_id);
    assert_eq!(m["webhook_id"], w.app_id);
    assert_eq!(m["interaction_metadata"]["id"], i["id"]);
    assert_eq!(m["interaction_metadata"]["type"], 2);
    assert_eq!(m["interaction_metadata"]["user"]["id"], w.member_id);
    assert_eq!(m["interaction"]["name"], "echo");
    assert_eq!(m["interaction"]["user"]["id"], w.member_id);
    serde_json::from_value::<twilight_model::channel::Message>(m.clone())
        .expect("twilight Message");
    let original = m["id"].as_str().unwrap().to_string();
    let history = w.history().await;
    assert_eq!(history[0]["id"], original);
    assert_eq!(history[0]["interaction_metadata"]["id"], i["id"]);

    // One answer only.
    let twice = w
        .callback(&i, json!({"type": 4, "data": {"content": "again"}}))
        .await;
    assert_eq!((twice.status, code(&twice).clone()), (400, json!(40060)));

    // @original by token.
    let got = t
        .req(Method::GET, &w.hook(&i, "/messages/@original"), None, None)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["id"], original);

    // A follow-up, then edit and delete it by id.
    let f = t
        .req(
            Method::POST,
            &w.hook(&i, ""),
            None,
            Some(json!({"content": "and one more thing"})),
        )
        .await;
    assert_eq!(f.status, 200, "{}", f.body);
    assert_eq!(
        f.body["interaction_metadata"]["original_response_message_id"],
        original
    );
    assert_eq!(user_gw.event("MESSAGE_CREATE").await["id"], f.body["id"]);
    let fid = f.body["id"].as_str().unwrap();
    let e = t
        .req(
            Method::PATCH,
            &w.hook(&i, &format!("/messages/{fid}")),
            None,
            Some(json!({"content": "edited"})),
        )
        .await;
    assert_eq!(e.body["content"], "edited", "{}", e.body);
    assert_eq!(user_gw.event("MESSAGE_UPDATE").await["content"], "edited");
    let d = t
        .req(
            Method::DELETE,
            &w.hook(&i, &format!("/messages/{fid}")),
            None,
            None,
        )
        .await;
    assert_eq!(d.status, 204, "{}", d.body);
    assert_eq!(user_gw.event("MESSAGE_DELETE").await["id"], fid);
    // Another user's message is not the interaction's.
    let other = t
        .post(
            &format!("/channels/{}/messages", w.channel),
            &w.owner,
            json!({"content": "not yours"}),
        )
        .await;
    let oid = other.body["id"].as_str().unwrap();
    let r = t
        .req(
            Method::DELETE,
            &w.hook(&i, &format!("/messages/{oid}")),
            None,
            None,
        )
        .await;
    assert_eq!(code(&r), 10008);

    // Wrong or unknown tokens.
    let forged = json!({"id": i["id"], "token": "aW50ZXJhY3Rpb246bm9wZQ"});
    let r = w
        .callback(&forged, json!({"type": 4, "data": {"content": "x"}}))
        .await;
    assert_eq!((r.status, code(&r).clone()), (404, json!(10062)));
    let r = t
        .req(
            Method::POST,
            &w.hook(&forged, ""),
            None,
            Some(json!({"content": "x"})),
        )
        .await;
    assert_eq!((r.status, code(&r).clone()), (401, json!(50027)));
}

#[tokio::test]
async fn deferred_response_then_edit_original() {
    let w = world().await;
    let t = &w.t;
    let command = w.echo_command().await;
    let mut bot_gw = gateway(t, &w.bot, GUILDS).await;
    let mut user_gw = gateway(t, &w.member, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    w.invoke(
        &w.member,
        &command,
        json!([{"type": 3, "name": "text", "value": "slow"}]),
    )
    .await;
    let i = bot_gw.event("INTERACTION_CREATE").await;

    let r = t
        .req(
            Method::POST,
            &format!(
                "/interactions/{}/{}/callback?with_response=true",
                i["id"].as_str().unwrap(),
                i["token"].as_str().unwrap()
            ),
            None,
            Some(json!({"type": 5})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["interaction"]["id"], i["id"]);
    assert_eq!(r.body["interaction"]["response_message_loading"], true);
    assert_eq!(r.body["interaction"]["response_message_ephemeral"], false);
    let loading = &r.body["resource"]["message"];
    assert_eq!(loading["flags"].as_u64().unwrap() & 128, 128, "LOADING");
    assert_eq!(r.body["interaction"]["response_message_id"], loading["id"]);
    let m = user_gw.event("MESSAGE_CREATE").await;
    assert_eq!(m["id"], loading["id"]);
    assert_eq!(m["content"], "");

    let e = t
        .req(
            Method::PATCH,
            &w.hook(&i, "/messages/@original"),
            None,
            Some(json!({"content": "done thinking"})),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.body);
    assert_eq!(e.body["content"], "done thinking");
    assert_eq!(e.body["flags"].as_u64().unwrap() & 128, 0);
    let u = user_gw.event("MESSAGE_UPDATE").await;
    assert_eq!(
        (&u["id"], &u["content"]),
        (&m["id"], &json!("done thinking"))
    );
    assert_eq!(w.history().await[0]["content"], "done thinking");

    // Deleting the response removes it from history.
    let d = t
        .req(
            Method::DELETE,
            &w.hook(&i, "/messages/@original"),
            None,
            None,
        )
        .await;
    assert_eq!(d.status, 204, "{}", d.body);
    assert!(w.history().await.iter().all(|x| x["id"] != m["id"]));
}

#[tokio::test]
async fn ephemeral_response_reaches_only_the_invoker() {
    let w = world().await;
    let t = &w.t;
    let command = w.echo_command().await;
    let mut bot_gw = gateway(t, &w.bot, GUILDS).await;
    let mut user_gw = gateway(t, &w.member, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    let mut owner_gw = gateway(t, &w.owner, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    w.invoke(
        &w.member,
        &command,
        json!([{"type": 3, "name": "text", "value": "psst"}]),
    )
    .await;
    let i = bot_gw.event("INTERACTION_CREATE").await;
    let r = w
        .callback(
            &i,
            json!({"type": 4, "data": {"content": "only you", "flags": 64}}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let m = user_gw.event("MESSAGE_CREATE").await;
    assert_eq!(m["content"], "only you");
    assert_eq!(m["flags"].as_u64().unwrap() & 64, 64);
    // Not stored: the channel's history doesn't have it.
    assert!(w.history().await.iter().all(|x| x["id"] != m["id"]));
    // Others don't see it: the owner's next message event is a later, ordinary one.
    t.post(
        &format!("/channels/{}/messages", w.channel),
        &w.owner,
        json!({"content": "public"}),
    )
    .await;
    assert_eq!(owner_gw.event("MESSAGE_CREATE").await["content"], "public");
    // The application still reads and edits it by token; the edit goes to the invoker.
    let got = t
        .req(Method::GET, &w.hook(&i, "/messages/@original"), None, None)
        .await;
    assert_eq!(got.body["content"], "only you", "{}", got.body);
    let e = t
        .req(
            Method::PATCH,
            &w.hook(&i, "/messages/@original"),
            None,
            Some(json!({"content": "still only you"})),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.body);
    loop {
        let u = user_gw.event("MESSAGE_UPDATE").await;
        if u["id"] == m["id"] {
            assert_eq!(u["content"], "still only you");
            break;
        }
    }
    // An ephemeral follow-up, too.
    let f = t
        .req(
            Method::POST,
            &w.hook(&i, ""),
            None,
            Some(json!({"content": "secret follow-up", "flags": 64})),
        )
        .await;
    assert_eq!(f.body["flags"].as_u64().unwrap() & 64, 64, "{}", f.body);
    assert!(w.history().await.iter().all(|x| x["id"] != f.body["id"]));
}

#[tokio::test]
async fn invocation_errors_and_unanswered_interactions() {
    let w = world().await;
    let t = &w.t;
    let command = w.echo_command().await;
    let mut user_gw = gateway(t, &w.member, GUILDS).await;

    // Unknown command, wrong interaction type, a missing required option, a bot invoking.
    let r = w.invoke(&w.member, "123456789", json!([])).await;
    assert_eq!((r.status, code(&r).clone()), (404, json!(10063)));
    let r = t
        .post(
            "/interactions",
            &w.member,
            json!({"type": 3, "application_id": w.app_id, "channel_id": w.channel, "data": {"id": command}}),
        )
        .await;
    assert_eq!(code(&r), 50035, "{}", r.body);
    let r = w.invoke(&w.member, &command, json!([])).await;
    assert_eq!(code(&r), 50035);
    assert!(
        r.body["errors"]["data"]["options"]["text"].is_object(),
        "{}",
        r.body
    );
    let r = w
        .invoke(
            &w.member,
            &command,
            json!([{"type": 3, "name": "text", "value": 5}]),
        )
        .await;
    assert_eq!(code(&r), 50035, "{}", r.body);
    let r = w
        .invoke(
            &w.bot,
            &command,
            json!([{"type": 3, "name": "text", "value": "x"}]),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Nobody answers: after 3 seconds the user is told it failed, and a late answer is refused.
    let r = w
        .invoke(
            &w.member,
            &command,
            json!([{"type": 3, "name": "text", "value": "anyone?"}]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let created = user_gw.event("INTERACTION_CREATE").await;
    let failed = user_gw.event("INTERACTION_FAILURE").await;
    assert_eq!(failed["id"], created["id"]);
    assert_eq!(failed["nonce"], "1234567890");

    // Without USE_APPLICATION_COMMANDS (taken from @everyone): Missing Permissions.
    let roles = t.get(&format!("/guilds/{}/roles", w.guild), &w.owner).await;
    let everyone = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == w.guild)
        .unwrap()
        .clone();
    let perms: u64 = everyone["permissions"].as_str().unwrap().parse().unwrap();
    let r = t
        .patch(
            &format!("/guilds/{}/roles/{}", w.guild, w.guild),
            &w.owner,
            json!({"permissions": (perms & !USE_APPLICATION_COMMANDS).to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w
        .invoke(
            &w.member,
            &command,
            json!([{"type": 3, "name": "text", "value": "x"}]),
        )
        .await;
    assert_eq!((r.status, code(&r).clone()), (403, json!(50013)));
    // The owner keeps the permission (all of them).
    let r = w
        .invoke(
            &w.owner,
            &command,
            json!([{"type": 3, "name": "text", "value": "x"}]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // `default_member_permissions` "0": administrators only.
    let admin_only = t
        .post(
            &w.guild_commands(),
            &w.bot,
            json!({"name": "admin", "description": "Admins", "default_member_permissions": "0"}),
        )
        .await;
    let admin_id = admin_only.body["id"].as_str().unwrap();
    let r = t
        .patch(
            &format!("/guilds/{}/roles/{}", w.guild, w.guild),
            &w.owner,
            json!({"permissions": perms.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = w.invoke(&w.member, admin_id, json!([])).await;
    assert_eq!(code(&r), 50013, "{}", r.body);
}

#[tokio::test]
async fn user_commands_resolve_their_target_and_global_commands_work_in_bot_dms() {
    let w = world().await;
    let t = &w.t;
    let mut bot_gw = gateway(t, &w.bot, GUILDS | (1 << 12)).await;
    let user_cmd = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "High Five", "type": 2}),
        )
        .await;
    assert_eq!(user_cmd.status, 201, "{}", user_cmd.body);
    let owner_id = t.me(&w.owner).await["id"].as_str().unwrap().to_string();
    let r = t
        .post(
            "/interactions",
            &w.member,
            json!({
                "type": 2, "application_id": w.app_id, "guild_id": w.guild, "channel_id": w.channel,
                "data": {"id": user_cmd.body["id"], "name": "High Five", "type": 2, "target_id": owner_id},
            }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let i = bot_gw.event("INTERACTION_CREATE").await;
    assert_eq!(i["data"]["type"], 2);
    assert_eq!(i["data"]["target_id"], owner_id);
    assert_eq!(
        i["data"]["resolved"]["users"][&owner_id]["username"],
        "owner"
    );
    assert!(i["data"]["resolved"]["members"][&owner_id]["permissions"].is_string());
    serde_json::from_value::<twilight_model::application::interaction::Interaction>(i.clone())
        .expect("twilight Interaction");
    let r = w
        .callback(&i, json!({"type": 4, "data": {"content": "✋"}}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let m = w.history().await;
    assert_eq!(m[0]["type"], 23, "CONTEXT_MENU_COMMAND");
    assert_eq!(m[0]["interaction_metadata"]["target_user"]["id"], owner_id);

    // A global slash command in the member's DM with the bot.
    let ping = t
        .post(
            &w.commands(),
            &w.bot,
            json!({"name": "ping", "description": "Pong"}),
        )
        .await;
    let dm = t
        .post(
            "/users/@me/channels",
            &w.member,
            json!({"recipient_id": w.app_id}),
        )
        .await;
    assert_eq!(dm.status, 200, "{}", dm.body);
    let dm_id = dm.body["id"].as_str().unwrap();
    let r = t
        .post(
            "/interactions",
            &w.member,
            json!({"type": 2, "application_id": w.app_id, "channel_id": dm_id,
                   "data": {"id": ping.body["id"], "name": "ping", "type": 1}}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let i = bot_gw.event("INTERACTION_CREATE").await;
    assert_eq!(i["context"], 1);
    assert_eq!(i["user"]["id"], w.member_id);
    assert!(i.get("member").is_none() && i.get("guild_id").is_none());
    let r = w
        .callback(&i, json!({"type": 4, "data": {"content": "pong"}}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let msgs = t
        .get(&format!("/channels/{dm_id}/messages"), &w.member)
        .await;
    assert_eq!(msgs.body[0]["content"], "pong", "{}", msgs.body);
    // A guild command is not usable outside its guild.
    let echo = w.echo_command().await;
    let r = t
        .post(
            "/interactions",
            &w.member,
            json!({"type": 2, "application_id": w.app_id, "channel_id": dm_id,
                   "data": {"id": echo, "name": "echo", "type": 1}}),
        )
        .await;
    assert_eq!(code(&r), 10063, "{}", r.body);
}
