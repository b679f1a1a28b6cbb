//! Announcement channels: converting a text channel (PATCH type 0 ↔ 5), following one into
//! another guild's channel (a channel follower webhook), crossposting (flags, reference, the
//! webhook author, MESSAGE_CREATE in the follower), the errors Discord answers, and unfollowing
//! by deleting the webhook; a published poll reaches followers as a read-only copy.

mod common;

use common::{Gateway, TestServer};
use serde_json::{Value, json};

/// GUILDS | GUILD_WEBHOOKS | GUILD_MESSAGES | MESSAGE_CONTENT.
const INTENTS: u64 = 1 | (1 << 5) | (1 << 9) | (1 << 15);

/// Two guilds: "News Guild" (owner `news`) with an announcement channel `updates`, and
/// "Fan Guild" (owner `fan`, also a plain member of News Guild) with a text channel.
struct Setup {
    t: TestServer,
    news: String,
    fan: String,
    news_guild: String,
    news_general: String,
    updates: String,
    fan_guild: String,
    fan_channel: String,
}

async fn setup() -> Setup {
    let t = common::start().await;
    let news = t.register("news").await;
    let fan = t.register("fan").await;
    let (news_guild, news_general) = t.guild(&news, "News Guild").await;
    let (fan_guild, fan_channel) = t.guild(&fan, "Fan Guild").await;
    let updates = t
        .post(
            &format!("/guilds/{news_guild}/channels"),
            &news,
            json!({"name": "updates", "type": 5}),
        )
        .await;
    assert_eq!(updates.status, 201, "{}", updates.body);
    assert_eq!(updates.body["type"], 5);
    let updates = id(&updates.body);
    t.join_via_invite(&news, &news_general, &fan).await;
    Setup {
        t,
        news,
        fan,
        news_guild,
        news_general,
        updates,
        fan_guild,
        fan_channel,
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn post(t: &TestServer, token: &str, channel: &str, body: Value) -> String {
    let r = t
        .post(&format!("/channels/{channel}/messages"), token, body)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    id(&r.body)
}

async fn follow(t: &TestServer, token: &str, source: &str, target: &str) -> common::Resp {
    t.post(
        &format!("/channels/{source}/followers"),
        token,
        json!({"webhook_channel_id": target}),
    )
    .await
}

async fn crosspost(t: &TestServer, token: &str, channel: &str, message: &str) -> common::Resp {
    t.post(
        &format!("/channels/{channel}/messages/{message}/crosspost"),
        token,
        json!({}),
    )
    .await
}

/// The next MESSAGE_CREATE in `channel` (others are skipped).
async fn created_in(gw: &mut Gateway, channel: &str) -> Value {
    loop {
        let ev = gw.event("MESSAGE_CREATE").await;
        if ev["channel_id"] == channel {
            return ev;
        }
    }
}

#[tokio::test]
async fn follow_and_crosspost_across_guilds() {
    let s = setup().await;
    let t = &s.t;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&s.fan, INTENTS).await;
    gw.event("GUILD_CREATE").await;
    gw.event("GUILD_CREATE").await;

    // Follow: 200 {channel_id: source, webhook_id}; the webhook is type 2 in the target.
    let r = follow(t, &s.fan, &s.updates, &s.fan_channel).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["channel_id"], s.updates.as_str());
    let webhook = r.body["webhook_id"].as_str().unwrap().to_string();
    let ev = gw.event("WEBHOOKS_UPDATE").await;
    assert_eq!(ev["guild_id"], s.fan_guild.as_str());
    assert_eq!(ev["channel_id"], s.fan_channel.as_str());
    let hooks = t
        .get(&format!("/channels/{}/webhooks", s.fan_channel), &s.fan)
        .await;
    assert_eq!(hooks.status, 200, "{}", hooks.body);
    let hook = &hooks.body[0];
    assert_eq!(hook["id"], webhook.as_str());
    assert_eq!(hook["type"], 2);
    assert_eq!(hook["name"], "News Guild");
    assert_eq!(hook["guild_id"], s.fan_guild.as_str());
    assert_eq!(hook["source_guild"]["id"], s.news_guild.as_str());
    assert_eq!(hook["source_guild"]["name"], "News Guild");
    assert!(hook["source_guild"].get("icon").is_some());
    assert_eq!(hook["source_channel"]["id"], s.updates.as_str());
    assert_eq!(hook["source_channel"]["name"], "updates");
    assert!(
        hook.get("token").is_none(),
        "follower webhooks have no token"
    );
    // Following again into the same channel answers the same follower.
    let again = follow(t, &s.fan, &s.updates, &s.fan_channel).await;
    assert_eq!(again.body["webhook_id"], webhook.as_str());
    // WEBHOOK_CREATE (50) in the target guild's audit log, nothing in the source's.
    let log = t
        .get(
            &format!("/guilds/{}/audit-logs?action_type=50", s.fan_guild),
            &s.fan,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entries = log.body["audit_log_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", log.body);
    assert_eq!(entries[0]["target_id"], webhook.as_str());
    assert!(
        entries[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "type" && c["new_value"] == 2)
    );
    let source_log = t
        .get(
            &format!("/guilds/{}/audit-logs?action_type=50", s.news_guild),
            &s.news,
        )
        .await;
    assert!(
        source_log.body["audit_log_entries"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Post and crosspost: the source is flagged CROSSPOSTED (MESSAGE_UPDATE too).
    let embed = json!({"title": "Release", "description": "v2 is out"});
    let msg = post(
        t,
        &s.news,
        &s.updates,
        json!({"content": "big news <@everyone>", "embeds": [embed]}),
    )
    .await;
    let r = crosspost(t, &s.news, &s.updates, &msg).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], msg.as_str());
    assert_eq!(r.body["flags"].as_u64().unwrap() & 1, 1);
    // The follower gets a copy: IS_CROSSPOST, referencing the source, by the webhook.
    let copy = created_in(&mut gw, &s.fan_channel).await;
    assert_eq!(copy["guild_id"], s.fan_guild.as_str());
    assert_eq!(copy["content"], "big news <@everyone>");
    assert_eq!(copy["embeds"][0]["title"], "Release");
    assert_eq!(copy["flags"], 2);
    assert_eq!(copy["webhook_id"], webhook.as_str());
    assert_eq!(copy["author"]["id"], webhook.as_str());
    assert_eq!(copy["author"]["username"], "News Guild #updates");
    assert_eq!(copy["author"]["bot"], true);
    assert_eq!(copy["mention_everyone"], false);
    assert_eq!(copy["message_reference"]["message_id"], msg.as_str());
    assert_eq!(copy["message_reference"]["channel_id"], s.updates.as_str());
    assert_eq!(copy["message_reference"]["guild_id"], s.news_guild.as_str());
    serde_json::from_value::<twilight_model::channel::Message>(copy.clone())
        .expect("a crosspost copy is a Discord message");
    let source = t
        .get(&format!("/channels/{}/messages/{msg}", s.updates), &s.news)
        .await;
    assert_eq!(source.body["flags"], 1);
    let history = t
        .get(&format!("/channels/{}/messages", s.fan_channel), &s.fan)
        .await;
    assert_eq!(history.body[0]["id"], copy["id"]);
    assert_eq!(history.body[0]["flags"], 2);

    // Twice → 40033.
    let twice = crosspost(t, &s.news, &s.updates, &msg).await;
    assert_eq!(twice.status, 400, "{}", twice.body);
    assert_eq!(twice.body["code"], 40033);
    assert_eq!(
        twice.body["message"],
        "This message has already been crossposted"
    );

    // Someone else's message needs MANAGE_MESSAGES (fan is a plain member of News Guild)…
    let other = post(t, &s.news, &s.updates, json!({"content": "second"})).await;
    let denied = crosspost(t, &s.fan, &s.updates, &other).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["code"], 50013);
    // …one's own only SEND_MESSAGES.
    let own = post(t, &s.fan, &s.updates, json!({"content": "from a fan"})).await;
    let r = crosspost(t, &s.fan, &s.updates, &own).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        created_in(&mut gw, &s.fan_channel).await["content"],
        "from a fan"
    );

    // Only announcement channels crosspost.
    let plain = post(t, &s.news, &s.news_general, json!({"content": "plain"})).await;
    let r = crosspost(t, &s.news, &s.news_general, &plain).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], 50024);
}

#[tokio::test]
async fn follow_is_refused_when_it_should_be() {
    let s = setup().await;
    let t = &s.t;
    // The source must be an announcement channel.
    let r = follow(t, &s.fan, &s.news_general, &s.fan_channel).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], 50024);
    // The body needs webhook_channel_id.
    let r = t
        .post(
            &format!("/channels/{}/followers", s.updates),
            &s.fan,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 50035);
    assert!(r.body["errors"]["webhook_channel_id"].is_object());
    // The target must be a channel the caller can manage webhooks in: news is no member of
    // Fan Guild (Unknown Channel); a plain member of it lacks MANAGE_WEBHOOKS (50013).
    let r = follow(t, &s.news, &s.updates, &s.fan_channel).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["code"], 10003);
    t.join_via_invite(&s.fan, &s.fan_channel, &s.news).await;
    let r = follow(t, &s.news, &s.updates, &s.fan_channel).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["code"], 50013);
    // The source must be visible to the caller: a stranger to News Guild can't follow it.
    let stranger = t.register("stranger").await;
    let (_, own_channel) = t.guild(&stranger, "Elsewhere").await;
    let r = follow(t, &stranger, &s.updates, &own_channel).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["code"], 10003);
    // Category targets don't take messages.
    let category = t
        .post(
            &format!("/guilds/{}/channels", s.fan_guild),
            &s.fan,
            json!({"name": "cat", "type": 4}),
        )
        .await;
    let r = follow(t, &s.fan, &s.updates, &id(&category.body)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], 50024);
    // Nor can a channel follow itself.
    let r = follow(t, &s.news, &s.updates, &s.updates).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["errors"]["webhook_channel_id"].is_object());
    // Follower webhooks can't be executed (they have no token).
    let r = follow(t, &s.fan, &s.updates, &s.fan_channel).await;
    let hook = r.body["webhook_id"].as_str().unwrap();
    let exec = t
        .req(
            reqwest::Method::POST,
            &format!("/webhooks/{hook}/x"),
            None,
            Some(json!({"content": "nope"})),
        )
        .await;
    assert_eq!(exec.body["code"], 10015);
}

#[tokio::test]
async fn unfollowing_and_deleted_targets_stop_delivery() {
    let s = setup().await;
    let t = &s.t;
    let second = t
        .post(
            &format!("/guilds/{}/channels", s.fan_guild),
            &s.fan,
            json!({"name": "second"}),
        )
        .await;
    let second = id(&second.body);
    let third = t
        .post(
            &format!("/guilds/{}/channels", s.fan_guild),
            &s.fan,
            json!({"name": "third"}),
        )
        .await;
    let third = id(&third.body);
    // Followers are delivered in webhook id order: fan_channel first, then second, then third.
    let first_hook = follow(t, &s.fan, &s.updates, &s.fan_channel).await.body["webhook_id"]
        .as_str()
        .unwrap()
        .to_string();
    let second_hook = follow(t, &s.fan, &s.updates, &second).await.body["webhook_id"]
        .as_str()
        .unwrap()
        .to_string();
    follow(t, &s.fan, &s.updates, &third).await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&s.fan, INTENTS).await;
    gw.event("GUILD_CREATE").await;
    gw.event("GUILD_CREATE").await;

    // Unfollow the first by deleting its webhook (WEBHOOK_DELETE in the audit log); delete the
    // second channel outright.
    let r = t.delete(&format!("/webhooks/{first_hook}"), &s.fan).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let log = t
        .get(
            &format!("/guilds/{}/audit-logs?action_type=52", s.fan_guild),
            &s.fan,
        )
        .await;
    assert_eq!(
        log.body["audit_log_entries"][0]["target_id"],
        first_hook.as_str()
    );
    let r = t.delete(&format!("/channels/{second}"), &s.fan).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let msg = post(t, &s.news, &s.updates, json!({"content": "only third"})).await;
    let r = crosspost(t, &s.news, &s.updates, &msg).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The third channel gets it; the first (unfollowed) does not: a later message there is the
    // next MESSAGE_CREATE it sees (its delivery would have been queued before the third's).
    let copy = created_in(&mut gw, &third).await;
    assert_eq!(copy["content"], "only third");
    post(t, &s.fan, &s.fan_channel, json!({"content": "sentinel"})).await;
    assert_eq!(
        created_in(&mut gw, &s.fan_channel).await["content"],
        "sentinel"
    );
    // The follower of the deleted channel was removed during delivery.
    let store = t.srv().app.store();
    let gone: accord::id::WebhookId = second_hook.parse().unwrap();
    assert!(store.get_webhook(gone).await.unwrap().is_none());
    let source: accord::id::ChannelId = s.updates.parse().unwrap();
    assert_eq!(store.webhooks_following(source).await.unwrap().len(), 1);
}

#[tokio::test]
async fn channel_type_switches_between_text_and_announcement() {
    let s = setup().await;
    let t = &s.t;
    let r = t
        .patch(
            &format!("/channels/{}", s.news_general),
            &s.news,
            json!({"type": 5}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["type"], 5);
    // Now it crossposts (the channel actor saw the change).
    let msg = post(t, &s.news, &s.news_general, json!({"content": "hi"})).await;
    assert_eq!(
        crosspost(t, &s.news, &s.news_general, &msg).await.status,
        200
    );
    // Back to text; then it doesn't.
    let r = t
        .patch(
            &format!("/channels/{}", s.news_general),
            &s.news,
            json!({"type": 0}),
        )
        .await;
    assert_eq!(r.body["type"], 0);
    let msg = post(t, &s.news, &s.news_general, json!({"content": "hi"})).await;
    assert_eq!(
        crosspost(t, &s.news, &s.news_general, &msg).await.body["code"],
        50024
    );
    // Other conversions are refused; a member without MANAGE_CHANNELS can't convert.
    let voice = t
        .post(
            &format!("/guilds/{}/channels", s.news_guild),
            &s.news,
            json!({"name": "voice", "type": 2}),
        )
        .await;
    let r = t
        .patch(
            &format!("/channels/{}", id(&voice.body)),
            &s.news,
            json!({"type": 5}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["errors"]["type"].is_object(), "{}", r.body);
    let r = t
        .patch(
            &format!("/channels/{}", s.updates),
            &s.fan,
            json!({"type": 0}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The conversion is in the audit log (CHANNEL_UPDATE with the type change).
    let log = t
        .get(
            &format!("/guilds/{}/audit-logs?action_type=11", s.news_guild),
            &s.news,
        )
        .await;
    assert!(
        log.body["audit_log_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["key"] == "type" && c["old_value"] == 0 && c["new_value"] == 5))
    );
}

#[tokio::test]
async fn a_published_poll_reaches_followers_read_only() {
    let s = setup().await;
    let t = &s.t;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&s.fan, INTENTS).await;
    gw.event("GUILD_CREATE").await;
    gw.event("GUILD_CREATE").await;
    let r = follow(t, &s.fan, &s.updates, &s.fan_channel).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = json!({"poll": {
        "question": {"text": "Next release?"},
        "answers": [{"poll_media": {"text": "May"}}, {"poll_media": {"text": "June", "emoji": {"name": "🌞"}}}],
        "duration": 24,
        "allow_multiselect": false,
    }});
    let source = post(t, &s.news, &s.updates, body).await;
    // The fan votes where the poll lives, before and after it is published.
    let vote =
        |channel: &str, message: &str| format!("/channels/{channel}/polls/{message}/answers/@me");
    let r = t
        .req(
            reqwest::Method::PUT,
            &vote(&s.updates, &source),
            Some(&s.fan),
            Some(json!({"answer_ids": [2]})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = crosspost(t, &s.news, &s.updates, &source).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["poll"]["results"]["answer_counts"][1]["count"], 1);

    // The copy carries the poll — question, answers, expiry, settings — without results
    // (Discord's "unknown results") and without anyone's votes.
    let copy = created_in(&mut gw, &s.fan_channel).await;
    let poll = &copy["poll"];
    assert_eq!(poll["question"]["text"], "Next release?", "{copy}");
    assert_eq!(poll["answers"][1]["poll_media"]["text"], "June");
    assert_eq!(poll["answers"][1]["poll_media"]["emoji"]["name"], "🌞");
    assert_eq!(poll["expiry"], r.body["poll"]["expiry"]);
    assert_eq!(poll["allow_multiselect"], false);
    assert!(poll.get("results").is_none(), "{copy}");
    let copy_id = copy["id"].as_str().expect("id").to_string();
    let fetched = t
        .get(
            &format!("/channels/{}/messages/{copy_id}", s.fan_channel),
            &s.fan,
        )
        .await;
    assert_eq!(fetched.body["poll"]["question"]["text"], "Next release?");
    assert!(fetched.body["poll"].get("results").is_none());

    // Nobody votes on the copy (520000); the original still takes votes.
    let r = t
        .req(
            reqwest::Method::PUT,
            &vote(&s.fan_channel, &copy_id),
            Some(&s.fan),
            Some(json!({"answer_ids": [1]})),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(520000)));
    let r = t
        .get(
            &format!("/channels/{}/polls/{copy_id}/answers/2", s.fan_channel),
            &s.fan,
        )
        .await;
    assert_eq!(r.body["users"], json!([]), "{}", r.body);
    let r = t
        .req(
            reqwest::Method::PUT,
            &vote(&s.updates, &source),
            Some(&s.fan),
            Some(json!({"answer_ids": [1]})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}
