//! The walk: fixtures built over HTTP the way clients build them, then every operation called
//! at least once (GETs on everything, and the writes themselves). Each step's response is
//! checked by [`Shapes`]; the steps here only make sure the fixtures exist.

use base64::Engine;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::common::Gateway;
use crate::{Shapes, id};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;

/// Who and what the walk made.
struct World {
    alice: String,
    alice_id: String,
    bob: String,
    bob_id: String,
    carol: String,
    carol_id: String,
    guild: String,
    channel: String,
    news: String,
    role: String,
    bot: String,
    app_id: String,
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgba8(w, h)
        .write_to(&mut out, image::ImageOutputFormat::Png)
        .expect("png");
    out.into_inner()
}

fn png_data_uri(w: u32, h: u32) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png(w, h))
    )
}

pub async fn run(s: &mut Shapes) {
    let w = setup(s).await;
    users(s, &w).await;
    guild(s, &w).await;
    roles_and_members(s, &w).await;
    channels_and_invites(s, &w).await;
    messages(s, &w).await;
    webhooks(s, &w).await;
    emojis_and_stickers(s, &w).await;
    voice_and_stage(s, &w).await;
    scheduled_events(s, &w).await;
    threads(s, &w).await;
    forums(s, &w).await;
    auto_moderation(s, &w).await;
    member_verification(s, &w).await;
    templates_and_bans(s, &w).await;
    dms(s, &w).await;
    applications(s, &w).await;
    interactions(s, &w).await;
    oauth2(s, &w).await;
    teardown(s, &w).await;
}

/// Member verification in a guild of its own (the gate would hold the walk's later joiners):
/// Carol joins, answers the form, Alice lists the requests and approves hers.
async fn member_verification(s: &mut Shapes, w: &World) {
    let (g, channel) = s.t.guild(&w.alice, "Gated").await;
    s.patch(
        &format!("/guilds/{g}/member-verification"),
        &w.alice,
        json!({"enabled": true, "description": "Apply here", "form_fields": [
            {"field_type": "TERMS", "label": "Rules", "required": true, "values": ["Be kind"]},
            {"field_type": "PARAGRAPH", "label": "About you", "required": true},
            {"field_type": "MULTIPLE_CHOICE", "label": "Pick one", "required": false,
             "choices": ["Tea", "Coffee"]},
        ]}),
    )
    .await;
    s.get(&format!("/guilds/{g}/member-verification"), &w.carol)
        .await;
    let code = s.t.invite_code(&w.alice, &channel).await;
    s.t.join(&w.carol, &code).await;
    let r = s
        .put(
            &format!("/guilds/{g}/requests/@me"),
            &w.carol,
            Some(json!({"form_fields": [
                {"field_type": "TERMS", "label": "Rules", "response": true},
                {"field_type": "PARAGRAPH", "label": "About you", "response": "I draw maps"},
                {"field_type": "MULTIPLE_CHOICE", "label": "Pick one", "response": 0},
            ]})),
        )
        .await;
    let request = id(&r, "join request");
    s.get(&format!("/guilds/{g}/requests?status=SUBMITTED"), &w.alice)
        .await;
    s.patch(
        &format!("/guilds/{g}/requests/{request}"),
        &w.alice,
        json!({"action": "APPROVED"}),
    )
    .await;
    s.get(&format!("/guilds/{g}/requests?limit=10"), &w.alice)
        .await;
}

async fn setup(s: &mut Shapes) -> World {
    let alice = s.t.register("alice").await;
    let bob = s.t.register("bob").await;
    let carol = s.t.register("carol").await;
    let alice_id = s.t.me(&alice).await["id"].as_str().expect("id").to_string();
    let bob_id = s.t.me(&bob).await["id"].as_str().expect("id").to_string();
    let carol_id = s.t.me(&carol).await["id"].as_str().expect("id").to_string();
    let (guild, channel) = s.t.guild(&alice, "Shapes").await;
    s.t.join_via_invite(&alice, &channel, &bob).await;
    let news = s
        .post(
            &format!("/guilds/{guild}/channels"),
            &alice,
            json!({"name": "news", "type": 5, "topic": "announcements"}),
        )
        .await;
    let news = id(&news, "announcement channel");
    let role = s
        .post(
            &format!("/guilds/{guild}/roles"),
            &alice,
            json!({"name": "mods", "color": 0x3498db, "hoist": true, "mentionable": true, "permissions": "8192"}),
        )
        .await;
    let role = id(&role, "role");

    // A bot in the guild.
    let app =
        s.t.post("/applications", &alice, json!({"name": "Shape Bot"}))
            .await;
    let app_id = id(&app, "application");
    let bot =
        s.t.post(&format!("/applications/{app_id}/bot"), &alice, json!({}))
            .await;
    let bot = format!("Bot {}", bot.body["token"].as_str().expect("bot token"));
    let added =
        s.t.post(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot%20applications.commands"),
            &alice,
            json!({"guild_id": guild, "permissions": "3072", "authorize": true}),
        )
        .await;
    assert_eq!(added.status, 200, "bot authorize: {}", added.body);
    World {
        alice,
        alice_id,
        bob,
        bob_id,
        carol,
        carol_id,
        guild,
        channel,
        news,
        role,
        bot,
        app_id,
    }
}

async fn users(s: &mut Shapes, w: &World) {
    s.get("/users/@me", &w.alice).await;
    s.get("/users/@me", &w.bot).await;
    s.patch("/users/@me", &w.alice, json!({"global_name": "Alice"}))
        .await;
    s.get(&format!("/users/{}", w.bob_id), &w.alice).await;
    s.get(&format!("/users/{}", w.app_id), &w.alice).await;
    s.get("/users/@me/guilds", &w.alice).await;
    s.get("/users/@me/guilds?with_counts=true", &w.bob).await;
    s.get(&format!("/users/@me/guilds/{}/member", w.guild), &w.bob)
        .await;
    s.get("/users/@me/connections", &w.alice).await;
    s.get("/gateway", &w.alice).await;
    s.get("/gateway/bot", &w.bot).await;
}

async fn guild(s: &mut Shapes, w: &World) {
    let g = &w.guild;
    s.get(&format!("/guilds/{g}"), &w.alice).await;
    s.get(&format!("/guilds/{g}?with_counts=true"), &w.bob)
        .await;
    s.patch(
        &format!("/guilds/{g}"),
        &w.alice,
        json!({"description": "A guild of every shape", "system_channel_id": w.channel}),
    )
    .await;
    s.get(&format!("/guilds/{g}/preview"), &w.alice).await;
    s.get(&format!("/guilds/{g}/regions"), &w.alice).await;
    s.get("/voice/regions", &w.bob).await;
    s.get(&format!("/guilds/{g}/prune?days=7"), &w.alice).await;
    s.post(
        &format!("/guilds/{g}/prune"),
        &w.alice,
        json!({"days": 30, "compute_prune_count": true}),
    )
    .await;
    s.get(&format!("/guilds/{g}/vanity-url"), &w.alice).await;
    s.patch(
        &format!("/guilds/{g}/widget"),
        &w.alice,
        json!({"enabled": true, "channel_id": w.channel}),
    )
    .await;
    s.get(&format!("/guilds/{g}/widget"), &w.alice).await;
    s.get(&format!("/guilds/{g}/widget.json"), &w.alice).await;
    s.get(&format!("/guilds/{g}/widget.png?style=banner2"), &w.alice)
        .await;

    // Welcome screen, onboarding, the new-member welcome derived from them, incident actions.
    s.get(&format!("/guilds/{g}/new-member-welcome"), &w.bob)
        .await;
    s.patch(
        &format!("/guilds/{g}/welcome-screen"),
        &w.alice,
        json!({"enabled": true, "description": "Hello!", "welcome_channels": [
            {"channel_id": w.channel, "description": "Chat here", "emoji_name": "👋"}
        ]}),
    )
    .await;
    s.get(&format!("/guilds/{g}/welcome-screen"), &w.bob).await;
    s.put(
        &format!("/guilds/{g}/onboarding"),
        &w.alice,
        Some(json!({
            "prompts": [{
                "id": "1200000000000000000",
                "title": "What brings you here?",
                "options": [{"title": "Games", "role_ids": [w.role], "channel_ids": [w.channel]}],
                "single_select": true,
            }],
            "default_channel_ids": [w.channel],
            "enabled": true,
            "mode": 0,
        })),
    )
    .await;
    s.get(&format!("/guilds/{g}/onboarding"), &w.bob).await;
    s.get(&format!("/guilds/{g}/new-member-welcome"), &w.bob)
        .await;
    let soon = accord::model::Timestamp::now().millis() + 3_600_000;
    s.put(
        &format!("/guilds/{g}/incident-actions"),
        &w.alice,
        Some(
            json!({"dms_disabled_until": accord::model::Timestamp::from_millis(soon).to_string()}),
        ),
    )
    .await;
    s.get(&format!("/guilds/{g}"), &w.bob).await;
    // Lifted again: a DM between the two members comes later in the walk, and paused DMs are
    // refused.
    s.put(
        &format!("/guilds/{g}/incident-actions"),
        &w.alice,
        Some(json!({"dms_disabled_until": null})),
    )
    .await;

    // Integrations: a second bot, listed, then removed with its integration.
    let extra =
        s.t.post("/applications", &w.alice, json!({"name": "Extra Bot"}))
            .await;
    let extra = id(&extra, "application");
    s.t.post(&format!("/applications/{extra}/bot"), &w.alice, json!({}))
        .await;
    let added =
        s.t.post(
            &format!("/oauth2/authorize?client_id={extra}&scope=bot%20applications.commands"),
            &w.alice,
            json!({"guild_id": g, "permissions": "0", "authorize": true}),
        )
        .await;
    assert_eq!(added.status, 200, "extra bot: {}", added.body);
    let listed = s.get(&format!("/guilds/{g}/integrations"), &w.alice).await;
    let integration = listed
        .body
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|i| i["application"]["id"] == extra.as_str())
        })
        .and_then(|i| i["id"].as_str())
        .unwrap_or_else(|| panic!("integrations: {}", listed.body))
        .to_string();
    s.delete(&format!("/guilds/{g}/integrations/{integration}"), &w.alice)
        .await;
}

async fn roles_and_members(s: &mut Shapes, w: &World) {
    let (g, r) = (&w.guild, &w.role);
    s.get(&format!("/guilds/{g}/roles"), &w.alice).await;
    s.get(&format!("/guilds/{g}/roles/{r}"), &w.alice).await;
    s.get(&format!("/guilds/{g}/roles/member-counts"), &w.bob)
        .await;
    s.patch(
        &format!("/guilds/{g}/roles/{r}"),
        &w.alice,
        json!({"name": "moderators"}),
    )
    .await;
    s.patch(
        &format!("/guilds/{g}/roles"),
        &w.alice,
        json!([{"id": r, "position": 1}]),
    )
    .await;
    s.put(
        &format!("/guilds/{g}/members/{}/roles/{r}", w.bob_id),
        &w.alice,
        None,
    )
    .await;
    s.get(&format!("/guilds/{g}/members?limit=10"), &w.alice)
        .await;
    s.get(&format!("/guilds/{g}/members/search?query=b"), &w.alice)
        .await;
    s.get(&format!("/guilds/{g}/members/{}", w.bob_id), &w.alice)
        .await;
    s.patch(
        &format!("/guilds/{g}/members/{}", w.bob_id),
        &w.alice,
        json!({"nick": "Bobby"}),
    )
    .await;
    s.patch(
        &format!("/guilds/{g}/members/@me"),
        &w.bob,
        json!({"nick": "Bob"}),
    )
    .await;
}

async fn channels_and_invites(s: &mut Shapes, w: &World) {
    let (g, c) = (&w.guild, &w.channel);
    s.get(&format!("/guilds/{g}/channels"), &w.alice).await;
    let voice = s
        .post(
            &format!("/guilds/{g}/channels"),
            &w.alice,
            json!({"name": "Voice", "type": 2, "bitrate": 64000}),
        )
        .await;
    id(&voice, "voice channel");
    let category = s
        .post(
            &format!("/guilds/{g}/channels"),
            &w.alice,
            json!({"name": "Things", "type": 4}),
        )
        .await;
    let category = id(&category, "category");
    s.call(
        Method::PATCH,
        &format!("/guilds/{g}/channels"),
        Some(&w.alice),
        Some(json!([{"id": w.news, "parent_id": category}])),
    )
    .await;
    s.get(&format!("/channels/{c}"), &w.alice).await;
    s.get(&format!("/channels/{}", w.news), &w.alice).await;
    s.patch(
        &format!("/channels/{c}"),
        &w.alice,
        json!({"topic": "all the shapes"}),
    )
    .await;
    s.put(
        &format!("/channels/{c}/permissions/{}", w.role),
        &w.alice,
        Some(json!({"type": 0, "allow": "1024", "deny": "0"})),
    )
    .await;
    s.put(
        &format!("/channels/{c}/permissions/{}", w.bob_id),
        &w.alice,
        Some(json!({"type": 1, "allow": "0", "deny": "8192"})),
    )
    .await;
    s.delete(&format!("/channels/{c}/permissions/{}", w.bob_id), &w.alice)
        .await;
    let invite = s
        .post(
            &format!("/channels/{c}/invites"),
            &w.alice,
            json!({"max_age": 3600, "max_uses": 5}),
        )
        .await;
    let code = invite.body["code"]
        .as_str()
        .expect("invite code")
        .to_string();
    s.get(&format!("/channels/{c}/invites"), &w.alice).await;
    s.get(&format!("/guilds/{g}/invites"), &w.alice).await;
    s.get(&format!("/invites/{code}"), &w.carol).await;
    s.get(&format!("/invites/{code}?with_counts=true"), &w.carol)
        .await;
    let csv = format!("user_id\n{}\n", w.carol_id);
    s.multipart(
        Method::PUT,
        &format!("/invites/{code}/target-users"),
        &w.alice,
        Form::new().part(
            "target_users_file",
            Part::bytes(csv.into_bytes()).file_name("users.csv"),
        ),
    )
    .await;
    s.get(&format!("/invites/{code}/target-users"), &w.alice)
        .await;
    s.get(
        &format!("/invites/{code}/target-users/job-status"),
        &w.alice,
    )
    .await;
    s.delete(&format!("/invites/{code}"), &w.alice).await;
}

async fn messages(s: &mut Shapes, w: &World) {
    let c = &w.channel;
    let plain = s
        .post(
            &format!("/channels/{c}/messages"),
            &w.alice,
            json!({
                "content": format!("hello <@{}>", w.bob_id),
                "embeds": [{
                    "title": "An embed",
                    "description": "with fields",
                    "url": "https://example.com/",
                    "color": 0x00ff00,
                    "fields": [{"name": "a", "value": "b", "inline": true}],
                    "footer": {"text": "foot"},
                    "author": {"name": "author"},
                }],
            }),
        )
        .await;
    let m1 = id(&plain, "message with an embed");
    let form = Form::new()
        .text(
            "payload_json",
            json!({"content": "a file", "attachments": [{"id": 0, "filename": "pic.png", "description": "a picture"}]})
                .to_string(),
        )
        .part(
            "files[0]",
            Part::bytes(png(16, 8))
                .file_name("pic.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let file = s
        .multipart(
            Method::POST,
            &format!("/channels/{c}/messages"),
            &w.alice,
            form,
        )
        .await;
    let m2 = id(&file, "message with an attachment");
    let reply = s
        .post(
            &format!("/channels/{c}/messages"),
            &w.bob,
            json!({"content": "a reply", "message_reference": {"message_id": m1}}),
        )
        .await;
    id(&reply, "reply");

    // Reactions, by two users.
    let thumbs = "%F0%9F%91%8D";
    s.put(
        &format!("/channels/{c}/messages/{m1}/reactions/{thumbs}/@me"),
        &w.alice,
        None,
    )
    .await;
    s.put(
        &format!("/channels/{c}/messages/{m1}/reactions/{thumbs}/@me"),
        &w.bob,
        None,
    )
    .await;
    s.get(&format!("/channels/{c}/messages?limit=50"), &w.alice)
        .await;
    s.get(&format!("/channels/{c}/messages/{m1}"), &w.bob).await;
    s.get(&format!("/channels/{c}/messages/{m2}"), &w.bob).await;
    s.get(
        &format!("/channels/{c}/messages/{m1}/reactions/{thumbs}"),
        &w.alice,
    )
    .await;
    s.patch(
        &format!("/channels/{c}/messages/{m1}"),
        &w.alice,
        json!({"content": "edited"}),
    )
    .await;
    s.delete(
        &format!("/channels/{c}/messages/{m1}/reactions/{thumbs}/@me"),
        &w.alice,
    )
    .await;
    s.delete(
        &format!(
            "/channels/{c}/messages/{m1}/reactions/{thumbs}/{}",
            w.bob_id
        ),
        &w.alice,
    )
    .await;
    s.put(
        &format!("/channels/{c}/messages/{m1}/reactions/{thumbs}/@me"),
        &w.alice,
        None,
    )
    .await;
    s.delete(
        &format!("/channels/{c}/messages/{m1}/reactions/{thumbs}"),
        &w.alice,
    )
    .await;
    s.put(
        &format!("/channels/{c}/messages/{m1}/reactions/{thumbs}/@me"),
        &w.alice,
        None,
    )
    .await;
    s.delete(&format!("/channels/{c}/messages/{m1}/reactions"), &w.alice)
        .await;

    // Pins, both forms.
    s.put(&format!("/channels/{c}/pins/{m1}"), &w.alice, None)
        .await;
    s.get(&format!("/channels/{c}/pins"), &w.alice).await;
    s.delete(&format!("/channels/{c}/pins/{m1}"), &w.alice)
        .await;
    s.put(&format!("/channels/{c}/messages/pins/{m2}"), &w.alice, None)
        .await;
    s.get(&format!("/channels/{c}/messages/pins"), &w.alice)
        .await;
    s.delete(&format!("/channels/{c}/messages/pins/{m2}"), &w.alice)
        .await;

    // A poll: created (the message carries Discord's poll object), voted on, its voters, ended.
    let poll = s
        .post(
            &format!("/channels/{c}/messages"),
            &w.alice,
            json!({"poll": {
                "question": {"text": "lunch?"},
                "answers": [
                    {"poll_media": {"text": "pizza", "emoji": {"name": "🍕"}}},
                    {"poll_media": {"text": "soup"}},
                ],
                "duration": 1,
                "allow_multiselect": true,
            }}),
        )
        .await;
    let p = id(&poll, "message with a poll");
    s.put(
        &format!("/channels/{c}/polls/{p}/answers/@me"),
        &w.bob,
        Some(json!({"answer_ids": [1, 2]})),
    )
    .await;
    s.get(&format!("/channels/{c}/polls/{p}/answers/1"), &w.alice)
        .await;
    s.post(
        &format!("/channels/{c}/polls/{p}/expire"),
        &w.alice,
        json!({}),
    )
    .await;

    s.call(
        Method::POST,
        &format!("/channels/{c}/typing"),
        Some(&w.alice),
        None,
    )
    .await;

    // An announcement: followed into the text channel, then crossposted.
    s.post(
        &format!("/channels/{}/followers", w.news),
        &w.alice,
        json!({"webhook_channel_id": c}),
    )
    .await;
    let news = s
        .post(
            &format!("/channels/{}/messages", w.news),
            &w.alice,
            json!({"content": "big news"}),
        )
        .await;
    let news = id(&news, "announcement");
    s.post(
        &format!("/channels/{}/messages/{news}/crosspost", w.news),
        &w.alice,
        json!({}),
    )
    .await;

    // Deletes: one, then two in bulk.
    let mut ids = Vec::new();
    for n in 0..3 {
        let m = s
            .post(
                &format!("/channels/{c}/messages"),
                &w.alice,
                json!({"content": format!("to delete {n}")}),
            )
            .await;
        ids.push(id(&m, "message to delete"));
    }
    s.delete(&format!("/channels/{c}/messages/{}", ids[0]), &w.alice)
        .await;
    s.post(
        &format!("/channels/{c}/messages/bulk-delete"),
        &w.alice,
        json!({"messages": [ids[1], ids[2]]}),
    )
    .await;
}

async fn webhooks(s: &mut Shapes, w: &World) {
    let (g, c) = (&w.guild, &w.channel);
    let hook = s
        .post(
            &format!("/channels/{c}/webhooks"),
            &w.alice,
            json!({"name": "Hooky", "avatar": png_data_uri(16, 16)}),
        )
        .await;
    let hook_id = id(&hook, "webhook");
    let token = hook.body["token"]
        .as_str()
        .expect("webhook token")
        .to_string();
    s.get(&format!("/channels/{c}/webhooks"), &w.alice).await;
    s.get(&format!("/guilds/{g}/webhooks"), &w.alice).await;
    s.get(&format!("/webhooks/{hook_id}"), &w.alice).await;
    s.patch(
        &format!("/webhooks/{hook_id}"),
        &w.alice,
        json!({"name": "Hooky II"}),
    )
    .await;
    let by_token = format!("/webhooks/{hook_id}/{token}");
    s.call(Method::GET, &by_token, None, None).await;
    s.call(
        Method::PATCH,
        &by_token,
        None,
        Some(json!({"name": "Hooky III"})),
    )
    .await;
    s.call(
        Method::POST,
        &by_token,
        None,
        Some(json!({"content": "no wait"})),
    )
    .await;
    let sent = s
        .call(
            Method::POST,
            &format!("{by_token}?wait=true"),
            None,
            Some(json!({"content": "from a hook", "username": "Someone", "embeds": [{"description": "hooked"}]})),
        )
        .await;
    let m = id(&sent, "webhook message");
    s.call(Method::GET, &format!("{by_token}/messages/{m}"), None, None)
        .await;
    s.call(
        Method::PATCH,
        &format!("{by_token}/messages/{m}"),
        None,
        Some(json!({"content": "edited by the hook"})),
    )
    .await;
    s.call(
        Method::DELETE,
        &format!("{by_token}/messages/{m}"),
        None,
        None,
    )
    .await;
    s.call(
        Method::POST,
        &format!("{by_token}/slack"),
        None,
        Some(json!({"text": "from slack", "attachments": [{"title": "t", "color": "#36a64f"}]})),
    )
    .await;
    // Without X-GitHub-Event: an event Discord doesn't post (204).
    s.call(
        Method::POST,
        &format!("{by_token}/github"),
        None,
        Some(json!({"zen": "Design for failure.", "sender": {"id": 1, "login": "octocat",
            "html_url": "https://github.com/octocat", "avatar_url": "https://github.com/octocat.png"}})),
    )
    .await;
    s.call(Method::DELETE, &by_token, None, None).await;
    let second = s
        .post(
            &format!("/channels/{c}/webhooks"),
            &w.alice,
            json!({"name": "Short-lived"}),
        )
        .await;
    let second = id(&second, "second webhook");
    s.delete(&format!("/webhooks/{second}"), &w.alice).await;
}

/// Alice joins a stage channel over the gateway (the voice state routes need a live state),
/// opens a stage and sets a voice channel's status.
async fn voice_and_stage(s: &mut Shapes, w: &World) {
    const GUILD_VOICE_STATES: u64 = 1 << 7;
    let g = &w.guild;
    let stage = s
        .post(
            &format!("/guilds/{g}/channels"),
            &w.alice,
            json!({"name": "stage", "type": 13}),
        )
        .await;
    let stage = id(&stage, "stage channel");
    let voice = s
        .post(
            &format!("/guilds/{g}/channels"),
            &w.alice,
            json!({"name": "lounge", "type": 2}),
        )
        .await;
    let voice = id(&voice, "voice channel");
    let mut gw = Gateway::connect(&s.t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&w.alice, GUILDS | GUILD_VOICE_STATES).await;
    gw.event("GUILD_CREATE").await;
    gw.send(json!({"op": 4, "d": {"guild_id": g, "channel_id": stage, "self_mute": false, "self_deaf": false}}))
        .await;
    gw.event("VOICE_STATE_UPDATE").await;
    s.get(&format!("/guilds/{g}/voice-states/@me"), &w.alice)
        .await;
    s.get(&format!("/guilds/{g}/voice-states/{}", w.alice_id), &w.bob)
        .await;
    s.patch(
        &format!("/guilds/{g}/voice-states/@me"),
        &w.alice,
        json!({"channel_id": stage, "suppress": false, "request_to_speak_timestamp": null}),
    )
    .await;
    s.patch(
        &format!("/guilds/{g}/voice-states/{}", w.alice_id),
        &w.alice,
        json!({"channel_id": stage, "suppress": true}),
    )
    .await;
    s.post(
        "/stage-instances",
        &w.alice,
        json!({"channel_id": stage, "topic": "Shapes live", "privacy_level": 2, "send_start_notification": false}),
    )
    .await;
    s.get(&format!("/stage-instances/{stage}"), &w.bob).await;
    s.patch(
        &format!("/stage-instances/{stage}"),
        &w.alice,
        json!({"topic": "Shapes, still live"}),
    )
    .await;
    s.delete(&format!("/stage-instances/{stage}"), &w.alice)
        .await;
    s.put(
        &format!("/channels/{voice}/voice-status"),
        &w.alice,
        Some(json!({"status": "shapes"})),
    )
    .await;

    // The soundboard: a guild sound, Discord's defaults, and one played in the voice channel.
    s.get("/soundboard-default-sounds", &w.bob).await;
    let sound = s
        .post(
            &format!("/guilds/{g}/soundboard-sounds"),
            &w.alice,
            json!({"name": "honk", "sound": "data:audio/mpeg;base64,SUQzBAAAAAAAAA==", "volume": 0.5, "emoji_name": "🦢"}),
        )
        .await;
    let sound = sound.body["sound_id"]
        .as_str()
        .expect("sound_id")
        .to_string();
    s.get(&format!("/guilds/{g}/soundboard-sounds"), &w.alice)
        .await;
    s.get(&format!("/guilds/{g}/soundboard-sounds/{sound}"), &w.bob)
        .await;
    s.patch(
        &format!("/guilds/{g}/soundboard-sounds/{sound}"),
        &w.alice,
        json!({"name": "honk honk"}),
    )
    .await;
    gw.send(json!({"op": 4, "d": {"guild_id": g, "channel_id": voice, "self_mute": false, "self_deaf": false}}))
        .await;
    // (The stage changes above were announced to this session too.)
    while gw.event("VOICE_STATE_UPDATE").await["channel_id"] != json!(voice) {}
    s.post(
        &format!("/channels/{voice}/send-soundboard-sound"),
        &w.alice,
        json!({"sound_id": sound}),
    )
    .await;
    s.delete(&format!("/guilds/{g}/soundboard-sounds/{sound}"), &w.alice)
        .await;
    drop(gw);
}

async fn emojis_and_stickers(s: &mut Shapes, w: &World) {
    let g = &w.guild;
    let emoji = s
        .post(
            &format!("/guilds/{g}/emojis"),
            &w.alice,
            json!({"name": "blob", "image": png_data_uri(32, 32)}),
        )
        .await;
    let emoji = id(&emoji, "emoji");
    s.get(&format!("/guilds/{g}/emojis"), &w.alice).await;
    s.get(&format!("/guilds/{g}/emojis/{emoji}"), &w.alice)
        .await;
    s.patch(
        &format!("/guilds/{g}/emojis/{emoji}"),
        &w.alice,
        json!({"name": "blobby"}),
    )
    .await;

    let form = Form::new()
        .text("name", "wave")
        .text("description", "a wave")
        .text("tags", "wave")
        .part("file", Part::bytes(png(320, 320)).file_name("wave.png"));
    let sticker = s
        .multipart(
            Method::POST,
            &format!("/guilds/{g}/stickers"),
            &w.alice,
            form,
        )
        .await;
    let sticker = id(&sticker, "sticker");
    s.get(&format!("/guilds/{g}/stickers"), &w.alice).await;
    s.get(&format!("/guilds/{g}/stickers/{sticker}"), &w.alice)
        .await;
    s.get(&format!("/stickers/{sticker}"), &w.bob).await;
    s.patch(
        &format!("/guilds/{g}/stickers/{sticker}"),
        &w.alice,
        json!({"description": "waving"}),
    )
    .await;
    s.get("/sticker-packs", &w.alice).await;

    // A message with the sticker and a custom-emoji reaction.
    let m = s
        .post(
            &format!("/channels/{}/messages", w.channel),
            &w.alice,
            json!({"sticker_ids": [sticker]}),
        )
        .await;
    let m = id(&m, "sticker message");
    let custom = format!("blobby:{emoji}");
    s.put(
        &format!(
            "/channels/{}/messages/{m}/reactions/{custom}/@me",
            w.channel
        ),
        &w.bob,
        None,
    )
    .await;
    s.get(&format!("/channels/{}/messages/{m}", w.channel), &w.bob)
        .await;
    s.get(
        &format!("/channels/{}/messages/{m}/reactions/{custom}", w.channel),
        &w.alice,
    )
    .await;

    s.delete(&format!("/guilds/{g}/stickers/{sticker}"), &w.alice)
        .await;
    s.delete(&format!("/guilds/{g}/emojis/{emoji}"), &w.alice)
        .await;
}

async fn scheduled_events(s: &mut Shapes, w: &World) {
    let g = &w.guild;
    let at = |secs: u64| {
        let t = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
        let ms = t
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64;
        accord::model::Timestamp::from_millis(ms).to_string()
    };
    // One instant for the start and the rule's start: read twice, a millisecond could pass
    // between them (an image is encoded in between), and the rule's occurrences would miss the
    // event's start by that millisecond.
    let starts = at(3600);
    let event = s
        .post(
            &format!("/guilds/{g}/scheduled-events"),
            &w.alice,
            json!({
                "name": "Picnic",
                "privacy_level": 2,
                "entity_type": 3,
                "scheduled_start_time": starts,
                "scheduled_end_time": at(7200),
                "entity_metadata": {"location": "the park"},
                "description": "bring snacks",
                "image": png_data_uri(64, 64),
                "recurrence_rule": {"start": starts, "frequency": 2, "interval": 1},
            }),
        )
        .await;
    let start = event.body["scheduled_start_time"].clone();
    let event = id(&event, "scheduled event");
    // The next week's occurrence moved by an hour, then canceled; answered for, counted.
    let next_week = accord::model::Timestamp::parse(start.as_str().unwrap_or_default())
        .map(|t| accord::model::Timestamp::from_millis(t.millis() + 7 * 86_400_000).to_string())
        .unwrap_or_default();
    let exception = s
        .post(
            &format!("/guilds/{g}/scheduled-events/{event}/exceptions"),
            &w.alice,
            json!({"original_scheduled_start_time": next_week, "scheduled_start_time": null, "is_canceled": false}),
        )
        .await;
    let exception = exception.body["event_exception_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    s.patch(
        &format!("/guilds/{g}/scheduled-events/{event}/exceptions/{exception}"),
        &w.alice,
        json!({"is_canceled": true}),
    )
    .await;
    s.put(
        &format!("/guilds/{g}/scheduled-events/{event}/{exception}/users/@me"),
        &w.bob,
        Some(json!({"response": 1})),
    )
    .await;
    s.get(
        &format!("/guilds/{g}/scheduled-events/{event}/{exception}/users?with_member=true"),
        &w.alice,
    )
    .await;
    s.get(
        &format!("/guilds/{g}/scheduled-events/{event}/users/counts?guild_scheduled_event_exception_ids={exception}"),
        &w.alice,
    )
    .await;
    s.put(
        &format!("/guilds/{g}/scheduled-events/{event}/users/@me"),
        &w.bob,
        None,
    )
    .await;
    s.get(
        &format!("/guilds/{g}/scheduled-events?with_user_count=true"),
        &w.alice,
    )
    .await;
    s.get(
        &format!("/guilds/{g}/scheduled-events/{event}?with_user_count=true"),
        &w.bob,
    )
    .await;
    s.get(
        &format!("/guilds/{g}/scheduled-events/{event}/users?with_member=true"),
        &w.alice,
    )
    .await;
    s.patch(
        &format!("/guilds/{g}/scheduled-events/{event}"),
        &w.alice,
        json!({"status": 2}),
    )
    .await;
    s.delete(
        &format!("/guilds/{g}/scheduled-events/{event}/{exception}/users/@me"),
        &w.bob,
    )
    .await;
    s.delete(
        &format!("/guilds/{g}/scheduled-events/{event}/exceptions/{exception}"),
        &w.alice,
    )
    .await;
    s.delete(&format!("/guilds/{g}/scheduled-events/{event}"), &w.alice)
        .await;
}

/// A forum with tags, a post in it (the thread with its starter `message`), a tag change and
/// a thread search.
async fn forums(s: &mut Shapes, w: &World) {
    let g = &w.guild;
    let forum = s
        .post(
            &format!("/guilds/{g}/channels"),
            &w.alice,
            json!({
                "name": "help",
                "type": 15,
                "available_tags": [{"name": "question"}, {"name": "solved", "emoji_name": "✅"}],
                "default_reaction_emoji": {"emoji_name": "👍"},
                "default_sort_order": 0,
                "default_forum_layout": 1,
            }),
        )
        .await;
    let tag = forum.body["available_tags"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let forum = id(&forum, "forum channel");
    s.patch(
        &format!("/channels/{forum}"),
        &w.alice,
        json!({"flags": 16, "default_thread_rate_limit_per_user": 10}),
    )
    .await;
    let post = s
        .post(
            &format!("/channels/{forum}/threads"),
            &w.alice,
            json!({"name": "How do I?", "applied_tags": [tag], "message": {"content": "Question"}}),
        )
        .await;
    let post = id(&post, "forum post");
    s.patch(
        &format!("/channels/{post}"),
        &w.alice,
        json!({"applied_tags": [tag]}),
    )
    .await;
    s.get(
        &format!("/channels/{forum}/threads/search?name=how&tag={tag}&sort_by=creation_time"),
        &w.bob,
    )
    .await;
    // Message search, once the indexer has committed what was sent so far.
    let index = s.t.srv().app.services.search.get().cloned();
    if let Some(index) = index {
        tokio::task::spawn_blocking(move || index.flush())
            .await
            .expect("join")
            .expect("flush");
    }
    let r = s
        .get(
            &format!("/guilds/{g}/messages/search?content=question&limit=5"),
            &w.bob,
        )
        .await;
    assert!(
        r.body["total_results"].as_u64().unwrap_or(0) >= 1,
        "{}",
        r.body
    );
}

async fn threads(s: &mut Shapes, w: &World) {
    let (g, c) = (&w.guild, &w.channel);
    let starter = s
        .post(
            &format!("/channels/{c}/messages"),
            &w.alice,
            json!({"content": "a thread starts here"}),
        )
        .await;
    let starter = id(&starter, "thread starter");
    let from_message = s
        .post(
            &format!("/channels/{c}/messages/{starter}/threads"),
            &w.alice,
            json!({"name": "From a message", "auto_archive_duration": 60}),
        )
        .await;
    let thread = id(&from_message, "thread from a message");
    // The starter now carries its thread.
    s.get(&format!("/channels/{c}/messages/{starter}"), &w.alice)
        .await;
    s.post(
        &format!("/channels/{thread}/messages"),
        &w.bob,
        json!({"content": "in the thread"}),
    )
    .await;
    let private = s
        .post(
            &format!("/channels/{c}/threads"),
            &w.alice,
            json!({"name": "Private", "type": 12, "invitable": true}),
        )
        .await;
    let private = id(&private, "private thread");
    s.put(
        &format!("/channels/{thread}/thread-members/@me"),
        &w.bob,
        None,
    )
    .await;
    s.put(
        &format!("/channels/{private}/thread-members/{}", w.bob_id),
        &w.alice,
        None,
    )
    .await;
    s.get(
        &format!("/channels/{thread}/thread-members?with_member=true"),
        &w.alice,
    )
    .await;
    s.get(
        &format!(
            "/channels/{thread}/thread-members/{}?with_member=true",
            w.bob_id
        ),
        &w.alice,
    )
    .await;
    s.get(&format!("/channels/{thread}"), &w.bob).await;
    s.get(&format!("/guilds/{g}/threads/active"), &w.bob).await;
    s.patch(
        &format!("/channels/{thread}"),
        &w.alice,
        json!({"name": "Renamed", "locked": false, "rate_limit_per_user": 5}),
    )
    .await;
    s.patch(
        &format!("/channels/{private}"),
        &w.alice,
        json!({"archived": true}),
    )
    .await;
    s.patch(
        &format!("/channels/{thread}"),
        &w.alice,
        json!({"archived": true}),
    )
    .await;
    s.get(&format!("/channels/{c}/threads/archived/public"), &w.bob)
        .await;
    s.get(
        &format!("/channels/{c}/threads/archived/private?limit=10"),
        &w.alice,
    )
    .await;
    s.get(
        &format!("/channels/{c}/users/@me/threads/archived/private"),
        &w.bob,
    )
    .await;
    s.patch(
        &format!("/channels/{thread}"),
        &w.alice,
        json!({"archived": false}),
    )
    .await;
    s.delete(&format!("/channels/{thread}/thread-members/@me"), &w.bob)
        .await;
    s.delete(
        &format!("/channels/{thread}/thread-members/{}", w.alice_id),
        &w.alice,
    )
    .await;
    s.delete(&format!("/channels/{private}"), &w.alice).await;
}

/// One rule of each message trigger type, read back, modified and deleted again (so later steps
/// post messages unmoderated).
async fn auto_moderation(s: &mut Shapes, w: &World) {
    let g = &w.guild;
    let base = format!("/guilds/{g}/auto-moderation/rules");
    let keyword = s
        .post(
            &base,
            &w.alice,
            json!({
                "name": "Keywords",
                "event_type": 1,
                "trigger_type": 1,
                "trigger_metadata": {
                    "keyword_filter": ["shapeword", "shape*"],
                    "regex_patterns": ["sh[a4]pes?"],
                    "allow_list": ["shapely"],
                },
                "actions": [
                    {"type": 1, "metadata": {"custom_message": "Not here"}},
                    {"type": 2, "metadata": {"channel_id": w.channel}},
                    {"type": 3, "metadata": {"duration_seconds": 60}},
                ],
                "enabled": true,
                "exempt_roles": [w.role],
                "exempt_channels": [w.news],
            }),
        )
        .await;
    let keyword = id(&keyword, "keyword rule");
    let mut others = Vec::new();
    for body in [
        json!({"name": "Presets", "event_type": 1, "trigger_type": 4,
               "trigger_metadata": {"presets": [1, 2], "allow_list": ["damn"]},
               "actions": [{"type": 1}]}),
        json!({"name": "Mentions", "event_type": 1, "trigger_type": 5,
               "trigger_metadata": {"mention_total_limit": 5, "mention_raid_protection_enabled": false},
               "actions": [{"type": 1}]}),
        json!({"name": "Spam", "event_type": 1, "trigger_type": 3, "actions": [{"type": 1}]}),
    ] {
        let rule = s.post(&base, &w.alice, body).await;
        others.push(id(&rule, "rule"));
    }
    s.get(&base, &w.alice).await;
    s.get(&format!("{base}/{keyword}"), &w.alice).await;
    s.patch(
        &format!("{base}/{keyword}"),
        &w.alice,
        json!({"name": "Keywords, renamed", "enabled": false}),
    )
    .await;
    for rule in std::iter::once(keyword).chain(others) {
        s.delete(&format!("{base}/{rule}"), &w.alice).await;
    }
}

async fn templates_and_bans(s: &mut Shapes, w: &World) {
    let g = &w.guild;
    let template = s
        .post(
            &format!("/guilds/{g}/templates"),
            &w.alice,
            json!({"name": "Shapes template", "description": "everything"}),
        )
        .await;
    let code = template.body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("template: {}", template.body))
        .to_string();
    s.get(&format!("/guilds/{g}/templates"), &w.alice).await;
    s.get(&format!("/guilds/templates/{code}"), &w.carol).await;
    s.patch(
        &format!("/guilds/{g}/templates/{code}"),
        &w.alice,
        json!({"description": "still everything"}),
    )
    .await;
    s.put(&format!("/guilds/{g}/templates/{code}"), &w.alice, None)
        .await;
    s.delete(&format!("/guilds/{g}/templates/{code}"), &w.alice)
        .await;

    s.put(
        &format!("/guilds/{g}/bans/{}", w.carol_id),
        &w.alice,
        Some(json!({"delete_message_seconds": 0})),
    )
    .await;
    s.get(&format!("/guilds/{g}/bans"), &w.alice).await;
    s.get(&format!("/guilds/{g}/bans/{}", w.carol_id), &w.alice)
        .await;
    s.delete(&format!("/guilds/{g}/bans/{}", w.carol_id), &w.alice)
        .await;
    s.post(
        &format!("/guilds/{g}/bulk-ban"),
        &w.alice,
        json!({"user_ids": [w.carol_id], "delete_message_seconds": 0}),
    )
    .await;
    s.delete(&format!("/guilds/{g}/bans/{}", w.carol_id), &w.alice)
        .await;
    s.get(&format!("/guilds/{g}/audit-logs?limit=100"), &w.alice)
        .await;
}

async fn dms(s: &mut Shapes, w: &World) {
    let dm = s
        .post(
            "/users/@me/channels",
            &w.alice,
            json!({"recipient_id": w.bob_id}),
        )
        .await;
    let dm = id(&dm, "DM");
    s.post(
        &format!("/channels/{dm}/messages"),
        &w.alice,
        json!({"content": "psst"}),
    )
    .await;
    s.get(&format!("/channels/{dm}"), &w.bob).await;
    s.get(&format!("/channels/{dm}/messages"), &w.bob).await;
    let group = s
        .post(
            "/users/@me/channels",
            &w.alice,
            json!({"recipients": [w.bob_id, w.carol_id]}),
        )
        .await;
    let group = id(&group, "group DM");
    s.get(&format!("/channels/{group}"), &w.carol).await;
    s.delete(
        &format!("/channels/{group}/recipients/{}", w.carol_id),
        &w.alice,
    )
    .await;
    s.put(
        &format!("/channels/{group}/recipients/{}", w.carol_id),
        &w.alice,
        Some(json!({})),
    )
    .await;
    s.delete(&format!("/channels/{group}"), &w.alice).await;
}

async fn applications(s: &mut Shapes, w: &World) {
    let a = &w.app_id;
    s.get("/applications/@me", &w.bot).await;
    s.patch(
        "/applications/@me",
        &w.bot,
        json!({"description": "Shapes, by its bot", "tags": ["shapes"]}),
    )
    .await;
    s.get("/oauth2/applications/@me", &w.bot).await;
    s.get(&format!("/applications/{a}"), &w.alice).await;
    s.patch(
        &format!("/applications/{a}"),
        &w.alice,
        json!({"description": "draws shapes"}),
    )
    .await;

    let global = format!("/applications/{a}/commands");
    let ping = s
        .post(
            &global,
            &w.bot,
            json!({"name": "ping", "description": "Pong!"}),
        )
        .await;
    let ping = id(&ping, "global command");
    s.get(&global, &w.bot).await;
    s.get(&format!("{global}/{ping}"), &w.bot).await;
    s.patch(
        &format!("{global}/{ping}"),
        &w.bot,
        json!({"description": "Pong!!"}),
    )
    .await;
    s.put(
        &global,
        &w.bot,
        Some(json!([{"name": "ping", "description": "Pong!"}, {"name": "User Info", "type": 2}])),
    )
    .await;
    let listed = s.t.get(&global, &w.bot).await;
    let ping = listed.body[0]["id"]
        .as_str()
        .expect("command id")
        .to_string();
    s.delete(&format!("{global}/{ping}"), &w.bot).await;

    let guild_cmds = format!("/applications/{a}/guilds/{}/commands", w.guild);
    let echo = s
        .post(
            &guild_cmds,
            &w.bot,
            json!({
                "name": "echo",
                "description": "Says it back",
                "options": [{"type": 3, "name": "text", "description": "What to say", "required": true}],
            }),
        )
        .await;
    let echo = id(&echo, "guild command");
    s.get(&guild_cmds, &w.bot).await;
    s.get(&format!("{guild_cmds}/{echo}"), &w.bot).await;
    s.patch(
        &format!("{guild_cmds}/{echo}"),
        &w.bot,
        json!({"description": "Echo"}),
    )
    .await;
    s.put(
        &guild_cmds,
        &w.bot,
        Some(json!([{"name": "echo", "description": "Echo", "options": [{"type": 3, "name": "text", "description": "What to say", "required": true}]}])),
    )
    .await;
    let listed = s.t.get(&guild_cmds, &w.bot).await;
    let echo = listed.body[0]["id"]
        .as_str()
        .expect("command id")
        .to_string();
    let gone = s
        .post(
            &guild_cmds,
            &w.bot,
            json!({"name": "gone", "description": "Deleted"}),
        )
        .await;
    let gone = id(&gone, "command to delete");
    s.delete(&format!("{guild_cmds}/{gone}"), &w.bot).await;

    // Command permissions: the guild owner allows bob on `echo`.
    s.put(
        &format!("{guild_cmds}/{echo}/permissions"),
        &w.alice,
        Some(json!({"permissions": [{"id": w.bob_id, "type": 2, "permission": true}]})),
    )
    .await;
    s.get(&format!("{guild_cmds}/{echo}/permissions"), &w.bot)
        .await;
    s.get(&format!("{guild_cmds}/permissions"), &w.bot).await;

    application_extras(s, w).await;
}

/// Application emojis, role connection metadata and a user's connection, test entitlements and
/// an attachment upload.
async fn application_extras(s: &mut Shapes, w: &World) {
    let a = &w.app_id;
    let emojis = format!("/applications/{a}/emojis");
    let emoji = s
        .post(
            &emojis,
            &w.bot,
            json!({"name": "shape", "image": png_data_uri(8, 8)}),
        )
        .await;
    let emoji = id(&emoji, "application emoji");
    s.get(&emojis, &w.bot).await;
    s.get(&format!("{emojis}/{emoji}"), &w.bot).await;
    s.patch(
        &format!("{emojis}/{emoji}"),
        &w.bot,
        json!({"name": "shapes"}),
    )
    .await;
    s.delete(&format!("{emojis}/{emoji}"), &w.bot).await;

    let meta = format!("/applications/{a}/role-connections/metadata");
    s.put(
        &meta,
        &w.bot,
        Some(json!([{"type": 7, "key": "verified", "name": "Verified", "description": "Is verified"}])),
    )
    .await;
    s.get(&meta, &w.bot).await;
    let mine = format!("/users/@me/applications/{a}/role-connection");
    s.put(
        &mine,
        &w.bob,
        Some(json!({"platform_name": "Shapes", "platform_username": "bob", "metadata": {"verified": "1"}})),
    )
    .await;
    s.get(&mine, &w.bob).await;
    s.delete(&mine, &w.bob).await;

    let entitlements = format!("/applications/{a}/entitlements");
    let e = s
        .post(
            &entitlements,
            &w.bot,
            json!({"sku_id": "1", "owner_id": w.bob_id, "owner_type": 2}),
        )
        .await;
    let e = id(&e, "entitlement");
    s.get(&entitlements, &w.bot).await;
    s.get(&format!("{entitlements}/{e}"), &w.bot).await;
    s.get(&format!("/users/@me/applications/{a}/entitlements"), &w.bob)
        .await;
    s.post(&format!("{entitlements}/{e}/consume"), &w.bot, json!({}))
        .await;
    s.delete(&format!("{entitlements}/{e}"), &w.bot).await;

    let form = Form::new().part("file", Part::bytes(png(4, 4)).file_name("icon.png"));
    s.multipart(
        Method::POST,
        &format!("/applications/{a}/attachment"),
        &w.alice,
        form,
    )
    .await;
}

/// A member invokes the bot's `/echo`; the bot answers through the callback and edits its
/// answer by the interaction token.
async fn interactions(s: &mut Shapes, w: &World) {
    let mut bot_gw = Gateway::connect(&s.t.gateway_url("v=10&encoding=json"), false).await;
    bot_gw.identify(&w.bot, GUILDS | GUILD_MESSAGES).await;
    bot_gw.event("GUILD_CREATE").await;
    let commands =
        s.t.get(
            &format!("/applications/{}/guilds/{}/commands", w.app_id, w.guild),
            &w.bot,
        )
        .await;
    let echo = commands.body[0]["id"].as_str().expect("echo").to_string();
    let invoked =
        s.t.post(
            "/interactions",
            &w.bob,
            json!({
                "type": 2,
                "application_id": w.app_id,
                "guild_id": w.guild,
                "channel_id": w.channel,
                "session_id": "shapes",
                "nonce": "1",
                "data": {"id": echo, "name": "echo", "type": 1, "version": "1",
                         "options": [{"type": 3, "name": "text", "value": "hi"}]},
            }),
        )
        .await;
    assert_eq!(invoked.status, 204, "invoke: {}", invoked.body);
    let i = bot_gw.event("INTERACTION_CREATE").await;
    let (iid, itoken) = (
        i["id"].as_str().expect("interaction id").to_string(),
        i["token"].as_str().expect("interaction token").to_string(),
    );
    s.call(
        Method::POST,
        &format!("/interactions/{iid}/{itoken}/callback"),
        None,
        Some(json!({"type": 4, "data": {"content": "hi back"}})),
    )
    .await;
    let original = format!("/webhooks/{}/{itoken}/messages/@original", w.app_id);
    s.call(Method::GET, &original, None, None).await;
    s.call(
        Method::PATCH,
        &original,
        None,
        Some(json!({"content": "hi back, edited"})),
    )
    .await;
    let follow = s
        .call(
            Method::POST,
            &format!("/webhooks/{}/{itoken}", w.app_id),
            None,
            Some(json!({"content": "a follow-up"})),
        )
        .await;
    id(&follow, "follow-up");
    s.call(Method::DELETE, &original, None, None).await;
}

/// A user grants the bot's application `identify guilds.join`; the bearer token reads its grant
/// and the bot adds the user to the guild.
async fn oauth2(s: &mut Shapes, w: &World) {
    let a = &w.app_id;
    let redirect = "https://shapes.example/cb";
    s.t.patch(
        &format!("/applications/{a}"),
        &w.alice,
        json!({"redirect_uris": [redirect]}),
    )
    .await;
    let secret =
        s.t.post(&format!("/applications/{a}/reset"), &w.alice, json!({}))
            .await;
    let secret = secret.body["secret"]
        .as_str()
        .expect("client secret")
        .to_string();
    let dave = s.t.register("dave").await;
    let dave_id = s.t.me(&dave).await["id"].as_str().expect("id").to_string();
    let consent =
        s.t.post(
            &format!(
                "/oauth2/authorize?client_id={a}&response_type=code&scope=identify%20guilds.join"
            ),
            &dave,
            json!({"authorize": true}),
        )
        .await;
    let location = consent.body["location"].as_str().expect("location");
    let code = location.split("code=").nth(1).expect("code");
    let tokens: serde_json::Value =
        s.t.http
            .post(s.t.url("/oauth2/token"))
            .basic_auth(a, Some(&secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
            ])
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token json");
    let access = tokens["access_token"].as_str().expect("access_token");
    let bearer = format!("Bearer {access}");
    s.get("/oauth2/@me", &bearer).await;
    s.get("/oauth2/userinfo", &bearer).await;
    s.call(Method::GET, "/oauth2/keys", None, None).await;
    let added = s
        .put(
            &format!("/guilds/{}/members/{dave_id}", w.guild),
            &w.bot,
            Some(json!({"access_token": access})),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
}

async fn teardown(s: &mut Shapes, w: &World) {
    let g = &w.guild;
    s.delete(
        &format!("/guilds/{g}/members/{}/roles/{}", w.bob_id, w.role),
        &w.alice,
    )
    .await;
    s.delete(&format!("/guilds/{g}/roles/{}", w.role), &w.alice)
        .await;
    let extra = s
        .post(
            &format!("/guilds/{g}/channels"),
            &w.alice,
            json!({"name": "doomed"}),
        )
        .await;
    let extra = id(&extra, "channel to delete");
    s.delete(&format!("/channels/{extra}"), &w.alice).await;
    s.t.join_via_invite(&w.alice, &w.channel, &w.carol).await;
    s.delete(&format!("/guilds/{g}/members/{}", w.carol_id), &w.alice)
        .await;
    s.delete(&format!("/users/@me/guilds/{g}"), &w.bob).await;
    let _ = &w.alice_id;
}
