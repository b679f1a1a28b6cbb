//! The fixtures the matrix calls routes on, created once per run over REST: one guild with
//! channels, roles, messages, a webhook, an invite, an emoji, a sticker, a template; an
//! application with commands; a team; a group DM — and the callers: the owner, a member whose
//! @everyone role lacks every management permission, an outsider, a banned user, a disabled
//! account, a bot that is in no guild, and an instance admin.
//!
//! Destructive routes (DELETE a guild, a channel, a role, …) get a spare resource of their own,
//! named `spare_*`, so the rightful calls don't pull the fixtures from under each other.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestServer;

/// Every fixture name carries this, so a denial that leaks a resource's content is caught by a
/// plain substring search of the body.
pub const MARK: &str = "SECRETzq";

/// `VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY`: what @everyone (so the member, the
/// disabled and the banned user) keeps. Everything a row calls a permission is outside it.
const EVERYONE: u64 = (1 << 10) | (1 << 11) | (1 << 16);

/// A caller of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// No `Authorization` header.
    Nobody,
    /// The guild's owner; owns the application, the team, the webhook, the group DM.
    Owner,
    /// A guild member with only [`EVERYONE`]'s permissions.
    Member,
    /// A user in none of the owner's things.
    Outsider,
    /// Joined the guild, then was banned.
    Banned,
    /// Joined the guild, then an admin disabled the account (the token was taken before).
    Disabled,
    /// The application's bot (`Bot <token>`), a member of the guild with @everyone's permissions.
    Bot,
    /// An instance admin (in no guild).
    Admin,
    /// A fresh user per call, for routes that change the caller (joining, logging out).
    Fresh,
    /// A fresh user who joined the guild, for leaving it.
    FreshMember,
}

pub struct World {
    pub tokens: HashMap<Who, String>,
    /// Named ids and codes: `guild`, `channel`, `message`, `member_id`, `spare_role`, …
    pub ids: HashMap<&'static str, String>,
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

async fn ok(t: &TestServer, method: Method, path: &str, token: &str, body: Value) -> Value {
    let r = t.req(method.clone(), path, Some(token), Some(body)).await;
    assert!(
        (200..300).contains(&r.status),
        "fixture {method} {path}: {} {}",
        r.status,
        r.body
    );
    r.body
}

pub fn png_data_uri() -> String {
    use base64::Engine;
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(16, 16)
        .write_to(&mut png, image::ImageOutputFormat::Png)
        .expect("png");
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    )
}

/// A small Lottie sticker, the cheapest valid sticker file.
pub fn lottie() -> Vec<u8> {
    json!({"v": "5.7.4", "fr": 30, "ip": 0, "op": 60, "w": 320, "h": 320, "nm": MARK, "layers": []})
        .to_string()
        .into_bytes()
}

pub async fn upload_sticker(t: &TestServer, token: Option<&str>, guild: &str) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("name", format!("st{MARK}"))
        .text("tags", "wave")
        .text("description", "a sticker")
        .part(
            "file",
            reqwest::multipart::Part::bytes(lottie()).file_name("s.json"),
        );
    let mut r = t
        .http
        .post(t.url(&format!("/guilds/{guild}/stickers")))
        .multipart(form);
    if let Some(token) = token {
        r = r.header("authorization", token);
    }
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl World {
    pub fn token(&self, who: Who) -> Option<&str> {
        self.tokens.get(&who).map(String::as_str)
    }

    pub fn get(&self, name: &str) -> &str {
        self.ids
            .get(name)
            .unwrap_or_else(|| panic!("no fixture named {name}"))
    }

    pub async fn build(t: &TestServer) -> World {
        let mut w = World {
            tokens: HashMap::new(),
            ids: HashMap::new(),
        };
        let names = [
            (Who::Owner, "owner"),
            (Who::Member, "member"),
            (Who::Outsider, "outsider"),
            (Who::Banned, "banned"),
            (Who::Disabled, "disabled"),
            (Who::Admin, "admin"),
        ];
        for (who, name) in names {
            w.tokens.insert(who, t.register(name).await);
        }
        t.make_admin(&w.tokens[&Who::Admin]).await;
        for (who, key) in [
            (Who::Owner, "owner_id"),
            (Who::Member, "member_id"),
            (Who::Outsider, "outsider_id"),
            (Who::Banned, "banned_id"),
            (Who::Disabled, "disabled_id"),
        ] {
            let me = t.me(&w.tokens[&who]).await;
            w.ids.insert(key, id(&me));
        }
        let owner = w.tokens[&Who::Owner].clone();
        let o = owner.as_str();

        // The guild and what is in it.
        let (guild, channel) = t.guild(o, &format!("guild{MARK}")).await;
        ok(
            t,
            Method::PATCH,
            &format!("/guilds/{guild}/roles/{guild}"),
            o,
            json!({"permissions": EVERYONE.to_string()}),
        )
        .await;
        for who in [Who::Member, Who::Banned, Who::Disabled] {
            t.join_via_invite(o, &channel, &w.tokens[&who]).await;
        }
        let spare_guild = t.guild(o, &format!("spare{MARK}")).await.0;
        let spare_guild2 = t.guild(o, &format!("spare2{MARK}")).await.0;
        let spare_guild3 = t.guild(o, &format!("spare3{MARK}")).await.0;
        let mk_channel = |name: &str, kind: u8| {
            let name = format!("{name}{}", MARK.to_lowercase());
            let path = format!("/guilds/{guild}/channels");
            async move {
                id(&ok(
                    t,
                    Method::POST,
                    &path,
                    o,
                    json!({"name": name, "type": kind}),
                )
                .await)
            }
        };
        let spare_channel = mk_channel("spare", 0).await;
        let news = mk_channel("news", 5).await;
        let voice = mk_channel("voice", 2).await;
        let stage = mk_channel("stage", 13).await;
        let send = |channel: String, content: String| {
            let path = format!("/channels/{channel}/messages");
            async move { id(&ok(t, Method::POST, &path, o, json!({"content": content})).await) }
        };
        let message = send(channel.clone(), format!("message {MARK}")).await;
        for key in [
            "spare_message",
            "pin_message",
            "pin_message2",
            "react_message",
            "react_message2",
            "react_message3",
            "bulk1",
            "bulk2",
            "bulk3",
            "bulk4",
        ] {
            w.ids
                .insert(key, send(channel.clone(), format!("{key} {MARK}")).await);
        }
        let news_message = send(news.clone(), format!("news {MARK}")).await;
        // A public thread of the owner's, and a message to start another one from.
        let thread = id(&ok(
            t,
            Method::POST,
            &format!("/channels/{channel}/threads"),
            o,
            json!({"name": format!("thread{MARK}"), "type": 11}),
        )
        .await);
        w.ids.insert("thread", thread);
        w.ids.insert(
            "thread_starter",
            send(channel.clone(), format!("thread starter {MARK}")).await,
        );
        for key in ["pin_message", "pin_message2"] {
            let path = format!("/channels/{channel}/pins/{}", w.get(key));
            ok(t, Method::PUT, &path, o, json!({})).await;
        }
        for key in ["react_message", "react_message2", "react_message3"] {
            let path = format!(
                "/channels/{channel}/messages/{}/reactions/%F0%9F%91%8D/@me",
                w.get(key)
            );
            ok(t, Method::PUT, &path, o, json!({})).await;
        }
        // Polls (multiple choice) for the vote, voters and expire rows.
        for key in ["poll_message", "poll_message2"] {
            let path = format!("/channels/{channel}/messages");
            let poll = json!({"poll": {
                "question": {"text": format!("{key} {MARK}")},
                "answers": [{"poll_media": {"text": "yes"}}, {"poll_media": {"text": "no"}}],
                "allow_multiselect": true,
            }});
            w.ids
                .insert(key, id(&ok(t, Method::POST, &path, o, poll).await));
        }
        let mk_role = |name: &str| {
            let path = format!("/guilds/{guild}/roles");
            let name = format!("{name}{MARK}");
            async move { id(&ok(t, Method::POST, &path, o, json!({"name": name})).await) }
        };
        let role = mk_role("role").await;
        let spare_role = mk_role("spare").await;
        let given_role = mk_role("given").await;
        // The member holds `given_role`, for the role-removal row.
        ok(
            t,
            Method::PUT,
            &format!(
                "/guilds/{guild}/members/{}/roles/{given_role}",
                w.get("member_id")
            ),
            o,
            json!({}),
        )
        .await;
        let mk_emoji = |name: &'static str| {
            let path = format!("/guilds/{guild}/emojis");
            async move {
                id(&ok(
                    t,
                    Method::POST,
                    &path,
                    o,
                    json!({"name": name, "image": png_data_uri()}),
                )
                .await)
            }
        };
        let emoji = mk_emoji("emoji_one").await;
        let spare_emoji = mk_emoji("emoji_two").await;
        let mk_event = |name: &'static str| {
            let path = format!("/guilds/{guild}/scheduled-events");
            async move { id(&ok(t, Method::POST, &path, o, scheduled_event(name)).await) }
        };
        let event = mk_event("event_one").await;
        let spare_event = mk_event("event_two").await;
        // The recurring event's second, third and fourth occurrences: two with an exception
        // (one for PATCH, one for DELETE), one free for POST.
        let got = ok(
            t,
            Method::GET,
            &format!("/guilds/{guild}/scheduled-events/{event}"),
            o,
            json!({}),
        )
        .await;
        let first =
            accord::model::Timestamp::parse(got["scheduled_start_time"].as_str().expect("start"))
                .expect("a timestamp")
                .millis();
        let week =
            |n: i64| accord::model::Timestamp::from_millis(first + n * 7 * 86_400_000).to_string();
        let mut exceptions = Vec::new();
        for n in [1, 2] {
            let x = ok(
                t,
                Method::POST,
                &format!("/guilds/{guild}/scheduled-events/{event}/exceptions"),
                o,
                json!({"original_scheduled_start_time": week(n), "is_canceled": true}),
            )
            .await;
            exceptions.push(
                x["event_exception_id"]
                    .as_str()
                    .expect("an exception id")
                    .to_string(),
            );
        }
        let free_occurrence = week(3);
        let mk_rule = |name: &'static str| {
            let path = format!("/guilds/{guild}/auto-moderation/rules");
            async move { id(&ok(t, Method::POST, &path, o, automod_rule(name)).await) }
        };
        let automod_rule_id = mk_rule("rule_one").await;
        let spare_automod_rule = mk_rule("rule_two").await;
        // Two soundboard sounds (a tiny MP3: an ID3 header is all the server reads).
        let mut sounds = Vec::new();
        for n in ["one", "two"] {
            let body = ok(
                t,
                Method::POST,
                &format!("/guilds/{guild}/soundboard-sounds"),
                o,
                json!({"name": format!("{n}{MARK}"), "sound": "data:audio/mpeg;base64,SUQzBAAAAAAAAA=="}),
            )
            .await;
            sounds.push(body["sound_id"].as_str().expect("sound_id").to_string());
        }
        let mut stickers = Vec::new();
        for _ in 0..2 {
            let (status, body) = upload_sticker(t, Some(o), &guild).await;
            assert!((200..300).contains(&status), "sticker: {status} {body}");
            stickers.push(id(&body));
        }
        let mk_webhook = |name: &'static str| {
            let path = format!("/channels/{channel}/webhooks");
            async move { ok(t, Method::POST, &path, o, json!({"name": name})).await }
        };
        let mut hooks = Vec::new();
        for name in ["hook", "spare hook", "token hook"] {
            let h = mk_webhook(name).await;
            hooks.push((id(&h), h["token"].as_str().expect("token").to_string()));
        }
        let webhook_message = ok(
            t,
            Method::POST,
            &format!("/webhooks/{}/{}?wait=true", hooks[0].0, hooks[0].1),
            o,
            json!({"content": format!("hooked {MARK}")}),
        )
        .await;
        let spare_webhook_message = ok(
            t,
            Method::POST,
            &format!("/webhooks/{}/{}?wait=true", hooks[0].0, hooks[0].1),
            o,
            json!({"content": format!("hooked again {MARK}")}),
        )
        .await;
        let mk_invite = || {
            let path = format!("/channels/{channel}/invites");
            async move {
                ok(t, Method::POST, &path, o, json!({"max_age": 0})).await["code"]
                    .as_str()
                    .expect("code")
                    .to_string()
            }
        };
        let invite = mk_invite().await;
        let spare_invite = mk_invite().await;
        // `unique`: a fresh code, not one of the two above (which the DELETE row removes).
        let target_invite = ok(
            t,
            Method::POST,
            &format!("/channels/{channel}/invites"),
            o,
            json!({"max_age": 0, "unique": true}),
        )
        .await["code"]
            .as_str()
            .expect("code")
            .to_string();
        let mk_template = |name: &'static str| {
            let path = format!("/guilds/{guild}/templates");
            async move {
                ok(t, Method::POST, &path, o, json!({"name": name})).await["code"]
                    .as_str()
                    .expect("code")
                    .to_string()
            }
        };
        let template = mk_template("tpl").await;

        // The banned user joined above; a second banned user for the unban row.
        let spare_banned = t.register("spare_banned").await;
        let spare_banned_id = id(&t.me(&spare_banned).await);
        for user in [w.get("banned_id").to_string(), spare_banned_id.clone()] {
            ok(
                t,
                Method::PUT,
                &format!("/guilds/{guild}/bans/{user}"),
                o,
                json!({}),
            )
            .await;
        }
        // A kick target and a ban target (members the owner may remove).
        let kick = t.register("kick_me").await;
        t.join_via_invite(o, &channel, &kick).await;
        let ban_target = t.register("ban_me").await;

        // Applications, the bot, commands, the team.
        let mk_app = |name: &'static str| async move {
            ok(t, Method::POST, "/applications", o, json!({"name": name})).await
        };
        let application = id(&mk_app("app").await);
        let spare_app = id(&mk_app("spare app").await);
        let spare_app2 = id(&mk_app("spare app two").await);
        let reset_app = id(&mk_app("reset app").await);
        let bot_app = id(&mk_app("bot app").await);
        ok(
            t,
            Method::POST,
            &format!("/applications/{reset_app}/bot"),
            o,
            json!({}),
        )
        .await;
        let bot = ok(
            t,
            Method::POST,
            &format!("/applications/{application}/bot"),
            o,
            json!({}),
        )
        .await;
        w.tokens.insert(
            Who::Bot,
            format!("Bot {}", bot["token"].as_str().expect("bot token")),
        );
        // Guild commands need the application's bot in the guild (50001 otherwise), so the bot
        // joins it here and is refused there as a member without permissions is.
        ok(
            t,
            Method::POST,
            &format!("/oauth2/authorize?client_id={application}&scope=bot"),
            o,
            json!({"guild_id": guild, "permissions": "0", "authorize": true}),
        )
        .await;
        // A second bot whose integration the DELETE row removes (the first one stays).
        let integration_app = id(&mk_app("integration app").await);
        ok(
            t,
            Method::POST,
            &format!("/applications/{integration_app}/bot"),
            o,
            json!({}),
        )
        .await;
        ok(
            t,
            Method::POST,
            &format!("/oauth2/authorize?client_id={integration_app}&scope=bot"),
            o,
            json!({"guild_id": guild, "permissions": "0", "authorize": true}),
        )
        .await;
        let listed = t.get(&format!("/guilds/{guild}/integrations"), o).await;
        let integration = listed
            .body
            .as_array()
            .and_then(|all| {
                all.iter()
                    .find(|i| i["application"]["id"] == integration_app.as_str())
            })
            .and_then(|i| i["id"].as_str())
            .unwrap_or_else(|| panic!("integration fixture: {}", listed.body))
            .to_string();
        let command_body = |name: &str| json!({"name": name, "description": "a command"});
        let command = id(&ok(
            t,
            Method::POST,
            &format!("/applications/{application}/commands"),
            o,
            command_body("one"),
        )
        .await);
        let spare_command = id(&ok(
            t,
            Method::POST,
            &format!("/applications/{application}/commands"),
            o,
            command_body("two"),
        )
        .await);
        let guild_command = id(&ok(
            t,
            Method::POST,
            &format!("/applications/{application}/guilds/{guild}/commands"),
            o,
            command_body("three"),
        )
        .await);
        let spare_guild_command = id(&ok(
            t,
            Method::POST,
            &format!("/applications/{application}/guilds/{guild}/commands"),
            o,
            command_body("four"),
        )
        .await);
        // Application emojis and test entitlements (one of each to keep, one to delete).
        let mk_app_emoji = |name: &'static str| {
            let path = format!("/applications/{application}/emojis");
            async move {
                id(&ok(
                    t,
                    Method::POST,
                    &path,
                    o,
                    json!({"name": name, "image": png_data_uri()}),
                )
                .await)
            }
        };
        let app_emoji = mk_app_emoji("app_emoji").await;
        let spare_app_emoji = mk_app_emoji("spare_app_emoji").await;
        let member_id = w.get("member_id").to_string();
        let mk_entitlement = || {
            let path = format!("/applications/{application}/entitlements");
            let body = json!({"sku_id": "1", "owner_id": member_id, "owner_type": 2});
            async move { id(&ok(t, Method::POST, &path, o, body).await) }
        };
        let entitlement = mk_entitlement().await;
        let spare_entitlement = mk_entitlement().await;
        let mk_team = |name: &'static str| async move {
            id(&ok(t, Method::POST, "/teams", o, json!({"name": name})).await)
        };
        let team = mk_team("team").await;
        let spare_team = mk_team("spare team").await;
        let spare_team2 = mk_team("spare team two").await;
        let transfer_team = mk_team("transfer team").await;
        // A team the member is invited to (accepts) and one they belong to (leave).
        let member = w.tokens[&Who::Member].clone();
        let invite_team = mk_team("invite team").await;
        let leave_team = mk_team("leave team").await;
        for tm in [&team, &invite_team, &leave_team] {
            ok(
                t,
                Method::POST,
                &format!("/teams/{tm}/members"),
                o,
                json!({"username": "member", "role": "read_only"}),
            )
            .await;
        }
        ok(
            t,
            Method::PUT,
            &format!("/teams/{leave_team}/members/@me"),
            &member,
            json!({}),
        )
        .await;
        ok(
            t,
            Method::PUT,
            &format!("/teams/{team}/members/@me"),
            &member,
            json!({}),
        )
        .await;

        // A group DM of the owner with the member and a friend.
        let friend = t.register("friend").await;
        let friend_id = id(&t.me(&friend).await);
        let gdm = id(&ok(
            t,
            Method::POST,
            "/users/@me/channels",
            o,
            json!({"recipients": [w.get("member_id"), friend_id]}),
        )
        .await);

        // Finally the disabled account: its token was taken while it still worked.
        let admin = w.tokens[&Who::Admin].clone();
        ok(
            t,
            Method::PATCH,
            &format!("/admin/users/{}", w.get("disabled_id")),
            &admin,
            json!({"disabled": true}),
        )
        .await;

        let kick_id = id(&t.me(&kick).await);
        let ban_target_id = id(&t.me(&ban_target).await);
        let named: [(&'static str, String); 62] = [
            ("automod_rule", automod_rule_id),
            ("spare_automod_rule", spare_automod_rule),
            ("spare_guild3", spare_guild3),
            ("bot_app", bot_app),
            ("guild", guild),
            ("channel", channel),
            ("spare_guild", spare_guild),
            ("spare_guild2", spare_guild2),
            ("spare_channel", spare_channel),
            ("news", news),
            ("voice", voice),
            ("stage", stage),
            ("news_message", news_message),
            ("message", message),
            ("role", role),
            ("spare_role", spare_role),
            ("given_role", given_role),
            ("emoji_id", emoji),
            ("spare_emoji", spare_emoji),
            ("event", event),
            ("spare_event", spare_event),
            ("event_exception", exceptions[0].clone()),
            ("spare_event_exception", exceptions[1].clone()),
            ("free_occurrence", free_occurrence),
            ("sticker", stickers[0].clone()),
            ("spare_sticker", stickers[1].clone()),
            ("sound", sounds[0].clone()),
            ("spare_sound", sounds[1].clone()),
            ("webhook", hooks[0].0.clone()),
            ("webhook_token", hooks[0].1.clone()),
            ("spare_webhook", hooks[1].0.clone()),
            ("token_webhook", hooks[2].0.clone()),
            ("token_webhook_token", hooks[2].1.clone()),
            ("webhook_message", id(&webhook_message)),
            ("spare_webhook_message", id(&spare_webhook_message)),
            ("invite", invite),
            ("spare_invite", spare_invite),
            ("target_invite", target_invite),
            ("template", template),
            ("spare_banned_id", spare_banned_id),
            ("kick_id", kick_id),
            ("ban_target_id", ban_target_id),
            ("application", application),
            ("spare_app", spare_app),
            ("spare_app2", spare_app2),
            ("reset_app", reset_app),
            ("command", command),
            ("spare_command", spare_command),
            ("guild_command", guild_command),
            ("integration", integration),
            ("spare_guild_command", spare_guild_command),
            ("app_emoji", app_emoji),
            ("spare_app_emoji", spare_app_emoji),
            ("entitlement", entitlement),
            ("spare_entitlement", spare_entitlement),
            ("team", team),
            ("spare_team", spare_team),
            ("spare_team2", spare_team2),
            ("transfer_team", transfer_team),
            ("invite_team", invite_team),
            ("leave_team", leave_team),
            ("gdm", gdm),
        ];
        w.ids.extend(named);
        w.ids.insert("friend_id", friend_id);
        w
    }

    /// A new user's token (for [`Who::Fresh`]).
    pub async fn fresh(t: &TestServer, n: usize) -> String {
        t.register(&format!("fresh{n}")).await
    }

    /// Whether a response body shows any fixture's content or secret.
    pub fn leaks(&self, body: &str) -> Option<String> {
        if body.contains(MARK) || body.contains(&MARK.to_lowercase()) {
            return Some(format!("contains the fixture mark {MARK}"));
        }
        for key in ["webhook_token", "token_webhook_token"] {
            if body.contains(self.get(key)) {
                return Some(format!("contains {key}"));
            }
        }
        self.tokens
            .iter()
            .find(|(_, tok)| body.contains(tok.trim_start_matches("Bot ")))
            .map(|(who, _)| format!("contains {who:?}'s token"))
    }
}

/// A keyword rule that blocks a word nobody in the fixtures writes.
pub fn automod_rule(name: &str) -> Value {
    json!({
        "name": name,
        "event_type": 1,
        "trigger_type": 1,
        "trigger_metadata": {"keyword_filter": ["zzforbiddenzz"]},
        "actions": [{"type": 1, "metadata": {"custom_message": "not here"}}],
        "enabled": true,
    })
}

/// An external scheduled event starting in an hour (the start must lie in the future), weekly.
pub fn scheduled_event(name: &str) -> Value {
    let at = |secs: u64| {
        let t = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
        let unix = t
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as i64;
        accord::model::Timestamp::from_millis(unix).to_string()
    };
    let start = at(3600);
    json!({
        "name": name,
        "privacy_level": 2,
        "entity_type": 3,
        "scheduled_start_time": start,
        "scheduled_end_time": at(7200),
        "entity_metadata": {"location": "the park"},
        "recurrence_rule": {"start": start, "frequency": 2, "interval": 1},
    })
}
