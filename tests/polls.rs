//! Polls over HTTP and the gateway: a poll on message create (validated with Discord's codes
//! against the live `limits.poll`), votes through the route Discord's client uses and the
//! per-answer forms, an answer's voters, MESSAGE_POLL_VOTE_ADD/REMOVE gated by the poll intents
//! and by VIEW_CHANNEL, ending a poll (its author only), and polls ending on their timer — also
//! across a restart.

mod common;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const DIRECT_MESSAGES: u64 = 1 << 12;
const GUILD_MESSAGE_POLLS: u64 = 1 << 24;
const DIRECT_MESSAGE_POLLS: u64 = 1 << 25;

fn poll(question: &str, answers: &[&str], multiselect: bool) -> Value {
    let answers: Vec<Value> = answers
        .iter()
        .map(|a| json!({"poll_media": {"text": a}}))
        .collect();
    json!({"poll": {
        "question": {"text": question},
        "answers": answers,
        "allow_multiselect": multiselect,
        "layout_type": 1,
    }})
}

/// Posts `body` (a message with a poll) in `channel`; the new message's id.
async fn post_poll(t: &common::TestServer, channel: &str, token: &str, body: Value) -> String {
    let r = t
        .post(&format!("/channels/{channel}/messages"), token, body)
        .await;
    r.body["id"].as_str().expect("id").to_string()
}

async fn put(t: &common::TestServer, path: &str, token: &str, body: Value) -> common::Resp {
    t.req(Method::PUT, path, Some(token), Some(body)).await
}

/// The next MESSAGE_* dispatch (other events, such as guild ones, are skipped).
async fn next_message_event(gw: &mut common::Gateway) -> (String, Value) {
    loop {
        let v = gw.recv().await;
        if v["op"] == 0
            && let Some(name) = v["t"].as_str()
            && name.starts_with("MESSAGE_")
        {
            return (name.to_string(), v["d"].clone());
        }
    }
}

async fn gateway(t: &common::TestServer, token: &str, intents: u64) -> common::Gateway {
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(token, intents).await;
    gw
}

fn counts(message: &Value) -> Vec<(u64, u64, bool)> {
    message["poll"]["results"]["answer_counts"]
        .as_array()
        .expect("answer_counts")
        .iter()
        .map(|c| {
            (
                c["id"].as_u64().unwrap(),
                c["count"].as_u64().unwrap(),
                c["me_voted"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn set_poll_limits(t: &common::TestServer, limits: Value) {
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"poll": limits}}),
        )
        .await
        .expect("patch");
}

#[tokio::test]
async fn poll_create_validation_votes_and_voters() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    let (_, c) = t.guild(&alice, "Polls").await;
    t.join_via_invite(&alice, &c, &bob).await;
    let messages = format!("/channels/{c}/messages");

    // Created: Discord's poll object on the message.
    let r = t
        .post(&messages, &alice, poll("Lunch?", &["pizza", "soup"], false))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let p = &r.body["poll"];
    assert_eq!(p["question"], json!({"text": "Lunch?"}));
    assert_eq!(
        p["answers"],
        json!([
            {"answer_id": 1, "poll_media": {"text": "pizza"}},
            {"answer_id": 2, "poll_media": {"text": "soup"}},
        ])
    );
    assert_eq!(p["allow_multiselect"], false);
    assert_eq!(p["layout_type"], 1);
    assert_eq!(p["results"]["is_finalized"], false);
    assert_eq!(counts(&r.body), vec![(1, 0, false), (2, 0, false)]);
    let expiry = accord::model::Timestamp::parse(p["expiry"].as_str().unwrap()).unwrap();
    let created = accord::model::Timestamp::parse(r.body["timestamp"].as_str().unwrap()).unwrap();
    let hours = (expiry.millis() - created.millis()) as f64 / 3_600_000.0;
    assert!(
        (hours - 24.0).abs() < 0.01,
        "default duration 24 h, got {hours}"
    );
    let m = r.body["id"].as_str().unwrap().to_string();

    // A sent poll is not editable (520003); the message's other fields still are.
    let edit = t
        .patch(
            &format!("{messages}/{m}"),
            &alice,
            json!({"poll": {"question": {"text": "Dinner?"}}}),
        )
        .await;
    assert_eq!(
        (edit.status, edit.body["code"].clone()),
        (400, json!(520003)),
        "{}",
        edit.body
    );
    assert_eq!(edit.body["message"], "Cannot edit a poll message");
    let edit = t
        .patch(
            &format!("{messages}/{m}"),
            &alice,
            json!({"content": "vote!"}),
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert_eq!(edit.body["poll"]["question"], json!({"text": "Lunch?"}));

    // A custom emoji must be one the author may use here (520004); a unicode one always is.
    let mut with_emoji = poll("Which?", &["a", "b"], false);
    with_emoji["poll"]["answers"][0]["poll_media"]["emoji"] = json!({"id": "123456789012345678"});
    let r = t.post(&messages, &alice, with_emoji.clone()).await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (400, json!(520004)),
        "{}",
        r.body
    );
    with_emoji["poll"]["answers"][0]["poll_media"]["emoji"] = json!({"name": "🍕"});
    let r = t.post(&messages, &alice, with_emoji).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Validation, Discord's codes at Discord's paths.
    let bad = |f: fn(&mut Value)| {
        let mut b = poll("q", &["a", "b"], false);
        f(&mut b["poll"]);
        b
    };
    let r = t
        .post(
            &messages,
            &alice,
            bad(|p| {
                p.as_object_mut().unwrap().remove("question");
            }),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50035)));
    assert_eq!(
        common::field_code(&r.body, &["poll", "question", "text"]),
        "BASE_TYPE_REQUIRED"
    );
    let r = t
        .post(
            &messages,
            &alice,
            bad(|p| p["question"]["text"] = json!("x".repeat(301))),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "question", "text"]),
        "BASE_TYPE_BAD_LENGTH"
    );
    let r = t
        .post(
            &messages,
            &alice,
            bad(|p| p["answers"][1]["poll_media"]["text"] = json!("y".repeat(56))),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "answers", "1", "poll_media", "text"]),
        "BASE_TYPE_BAD_LENGTH"
    );
    let r = t
        .post(
            &messages,
            &alice,
            bad(|p| p["answers"] = json!(vec![json!({"poll_media": {"text": "a"}}); 11])),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "answers"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    let r = t
        .post(&messages, &alice, bad(|p| p["answers"] = json!([])))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "answers"]),
        "BASE_TYPE_MIN_LENGTH"
    );
    let r = t
        .post(&messages, &alice, bad(|p| p["duration"] = json!(0)))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "duration"]),
        "NUMBER_TYPE_MIN"
    );
    let r = t
        .post(&messages, &alice, bad(|p| p["duration"] = json!(769)))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "duration"]),
        "NUMBER_TYPE_MAX"
    );
    let r = t
        .post(&messages, &alice, bad(|p| p["duration"] = json!(1.5)))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "duration"]),
        "BASE_TYPE_BAD_TYPE"
    );
    // A whole float is an integer (discord.py sends `duration: 1.0`).
    let r = t
        .post(&messages, &alice, bad(|p| p["duration"] = json!(2.0)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(&messages, &alice, bad(|p| p["layout_type"] = json!(2)))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "layout_type"]),
        "BASE_TYPE_CHOICES"
    );
    // The limits are the live configuration's.
    set_poll_limits(&t, json!({"max_answers": 3, "max_duration_hours": 48})).await;
    let r = t
        .post(&messages, &alice, poll("q", &["a", "b", "c", "d"], false))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "answers"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    let r = t
        .post(&messages, &alice, bad(|p| p["duration"] = json!(49)))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["poll", "duration"]),
        "NUMBER_TYPE_MAX"
    );
    set_poll_limits(&t, json!({"max_answers": 10, "max_duration_hours": 768})).await;
    // `null` members count as absent (client libraries send them).
    let mut nulls = poll("q", &["a"], false);
    nulls["poll"]["duration"] = Value::Null;
    nulls["poll"]["allow_multiselect"] = Value::Null;
    nulls["poll"]["answers"][0]["poll_media"]["emoji"] = json!({"id": null, "name": "🍕"});
    let r = t.post(&messages, &alice, nulls).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["poll"]["answers"][0]["poll_media"]["emoji"],
        json!({"id": null, "name": "🍕"})
    );

    // Votes: single choice refuses two answers and unknown ones.
    let votes = format!("/channels/{c}/polls/{m}/answers/@me");
    let r = put(&t, &votes, &bob, json!({"answer_ids": [1, 2]})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50035)));
    assert_eq!(
        common::field_code(&r.body, &["answer_ids"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    let r = put(&t, &votes, &bob, json!({"answer_ids": [5]})).await;
    assert_eq!(
        common::field_code(&r.body, &["answer_ids", "0"]),
        "BASE_TYPE_CHOICES"
    );
    let r = put(&t, &votes, &bob, json!({"answer_ids": [1]})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let as_bob = t.get(&format!("{messages}/{m}"), &bob).await.body;
    assert_eq!(counts(&as_bob), vec![(1, 1, true), (2, 0, false)]);
    let as_alice = t.get(&format!("{messages}/{m}"), &alice).await.body;
    assert_eq!(counts(&as_alice), vec![(1, 1, false), (2, 0, false)]);
    // History shows the same per reader.
    let history = t.get(&messages, &bob).await.body;
    let listed = history
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == m.as_str())
        .unwrap();
    assert_eq!(counts(listed), vec![(1, 1, true), (2, 0, false)]);

    // Voters of an answer.
    let voters = |a: u8| format!("/channels/{c}/polls/{m}/answers/{a}");
    let r = t.get(&voters(1), &alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let users = r.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["id"], bob_id.as_str());
    assert_eq!(users[0]["username"], "bob");
    assert_eq!(t.get(&voters(2), &alice).await.body, json!({"users": []}));
    let r = t
        .get(&format!("{}?after={bob_id}", voters(1)), &alice)
        .await;
    assert_eq!(r.body, json!({"users": []}));
    let r = t.get(&format!("{}?limit=0", voters(1)), &alice).await;
    assert_eq!(r.body["code"], 50035);
    let r = t.get(&voters(9), &alice).await;
    assert_eq!(r.status, 404);

    // Per-answer votes: on a single-choice poll a vote replaces the other.
    let one = |a: u8| format!("/channels/{c}/polls/{m}/answers/{a}/@me");
    assert_eq!(put(&t, &one(2), &bob, json!({})).await.status, 204);
    let as_bob = t.get(&format!("{messages}/{m}"), &bob).await.body;
    assert_eq!(counts(&as_bob), vec![(1, 0, false), (2, 1, true)]);
    assert_eq!(t.delete(&one(2), &bob).await.status, 204);
    let as_bob = t.get(&format!("{messages}/{m}"), &bob).await.body;
    assert_eq!(counts(&as_bob), vec![(1, 0, false), (2, 0, false)]);

    // Multiple choice: several at once; an empty list takes them all back.
    let r = t
        .post(&messages, &alice, poll("Which?", &["a", "b", "c"], true))
        .await;
    let multi = r.body["id"].as_str().unwrap().to_string();
    let votes = format!("/channels/{c}/polls/{multi}/answers/@me");
    assert_eq!(
        put(&t, &votes, &bob, json!({"answer_ids": [1, 3]}))
            .await
            .status,
        204
    );
    let one = format!("/channels/{c}/polls/{multi}/answers/2/@me");
    assert_eq!(put(&t, &one, &alice, json!({})).await.status, 204);
    let as_bob = t.get(&format!("{messages}/{multi}"), &bob).await.body;
    assert_eq!(
        counts(&as_bob),
        vec![(1, 1, true), (2, 1, false), (3, 1, true)]
    );
    assert_eq!(
        put(&t, &votes, &bob, json!({"answer_ids": []}))
            .await
            .status,
        204
    );
    let as_bob = t.get(&format!("{messages}/{multi}"), &bob).await.body;
    assert_eq!(
        counts(&as_bob),
        vec![(1, 0, false), (2, 1, false), (3, 0, false)]
    );

    // A message without a poll has nothing to vote on; an outsider sees no channel.
    let plain = t
        .post(&messages, &alice, json!({"content": "no poll"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = put(
        &t,
        &format!("/channels/{c}/polls/{plain}/answers/@me"),
        &bob,
        json!({"answer_ids": [1]}),
    )
    .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10008)));
    let carol = t.register("carol").await;
    let r = put(&t, &votes, &carol, json!({"answer_ids": [1]})).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10003)));
}

#[tokio::test]
async fn vote_events_follow_the_poll_intents_and_channel_visibility() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let alice_id = t.me(&alice).await["id"].as_str().unwrap().to_string();
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    let (g, c) = t.guild(&alice, "Polls").await;
    t.join_via_invite(&alice, &c, &bob).await;
    t.join_via_invite(&alice, &c, &carol).await;
    // A channel Carol can't see (@everyone denied VIEW_CHANNEL, Bob allowed).
    let hidden = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "hidden", "type": 0, "permission_overwrites": [
                {"id": g, "type": 0, "allow": "0", "deny": "1024"},
                {"id": bob_id, "type": 1, "allow": "1024", "deny": "0"},
            ]}),
        )
        .await;
    assert_eq!(hidden.status, 201, "{}", hidden.body);
    let hidden = hidden.body["id"].as_str().unwrap().to_string();

    let mut with = gateway(&t, &alice, GUILDS | GUILD_MESSAGE_POLLS).await;
    let mut without = gateway(&t, &alice, GUILDS | GUILD_MESSAGES).await;
    let mut carol_gw = gateway(&t, &carol, GUILDS | GUILD_MESSAGE_POLLS).await;

    let secret = post_poll(&t, &hidden, &alice, poll("secret?", &["y", "n"], false)).await;
    let m = post_poll(&t, &c, &alice, poll("open?", &["y", "n"], false)).await;

    // Bob votes in the hidden channel, then in the open one, then changes his vote.
    let r = put(
        &t,
        &format!("/channels/{hidden}/polls/{secret}/answers/@me"),
        &bob,
        json!({"answer_ids": [2]}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let votes = format!("/channels/{c}/polls/{m}/answers/@me");
    assert_eq!(
        put(&t, &votes, &bob, json!({"answer_ids": [1]}))
            .await
            .status,
        204
    );
    assert_eq!(
        put(&t, &votes, &bob, json!({"answer_ids": [2]}))
            .await
            .status,
        204
    );

    let (name, d) = next_message_event(&mut with).await;
    assert_eq!(name, "MESSAGE_POLL_VOTE_ADD");
    assert_eq!(
        d,
        json!({"user_id": bob_id, "channel_id": hidden, "message_id": secret, "guild_id": g, "answer_id": 2})
    );
    let (name, d) = next_message_event(&mut with).await;
    assert_eq!(
        (name.as_str(), &d["answer_id"], &d["message_id"]),
        ("MESSAGE_POLL_VOTE_ADD", &json!(1), &json!(m))
    );
    let (name, d) = next_message_event(&mut with).await;
    assert_eq!(
        (name.as_str(), &d["answer_id"]),
        ("MESSAGE_POLL_VOTE_REMOVE", &json!(1))
    );
    assert_eq!(d["user_id"], bob_id.as_str());
    let (name, d) = next_message_event(&mut with).await;
    assert_eq!(
        (name.as_str(), &d["answer_id"]),
        ("MESSAGE_POLL_VOTE_ADD", &json!(2))
    );

    // Carol gets the open channel's votes only; the session without the intent none at all
    // (its next message event is the plain message sent after the votes).
    let (name, d) = next_message_event(&mut carol_gw).await;
    assert_eq!(
        (name.as_str(), &d["message_id"], &d["answer_id"]),
        ("MESSAGE_POLL_VOTE_ADD", &json!(m), &json!(1))
    );
    t.post(
        &format!("/channels/{c}/messages"),
        &alice,
        json!({"content": "after the votes"}),
    )
    .await;
    loop {
        let (name, d) = next_message_event(&mut without).await;
        assert_eq!(
            name, "MESSAGE_CREATE",
            "no vote events without the intent: {d}"
        );
        if d["content"] == "after the votes" {
            break;
        }
    }

    // DMs: DIRECT_MESSAGE_POLLS, no guild_id.
    let dm = t
        .post(
            "/users/@me/channels",
            &bob,
            json!({"recipient_id": alice_id}),
        )
        .await;
    let dm = dm.body["id"].as_str().unwrap().to_string();
    let mut bob_dm = gateway(&t, &bob, DIRECT_MESSAGES | DIRECT_MESSAGE_POLLS).await;
    let dm_poll = post_poll(&t, &dm, &bob, poll("dm?", &["y", "n"], true)).await;
    let r = put(
        &t,
        &format!("/channels/{dm}/polls/{dm_poll}/answers/1/@me"),
        &alice,
        json!({}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    loop {
        let (name, d) = next_message_event(&mut bob_dm).await;
        if name == "MESSAGE_CREATE" {
            continue;
        }
        assert_eq!(name, "MESSAGE_POLL_VOTE_ADD");
        assert_eq!(
            d,
            json!({"user_id": alice_id, "channel_id": dm, "message_id": dm_poll, "answer_id": 1})
        );
        break;
    }
}

#[tokio::test]
async fn only_the_author_ends_a_poll_and_then_it_takes_no_votes() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (_, c) = t.guild(&alice, "Polls").await;
    t.join_via_invite(&alice, &c, &bob).await;
    let messages = format!("/channels/{c}/messages");
    let m = t
        .post(&messages, &alice, poll("Ship it?", &["yes", "no"], false))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let votes = format!("/channels/{c}/polls/{m}/answers/@me");
    assert_eq!(
        put(&t, &votes, &bob, json!({"answer_ids": [1]}))
            .await
            .status,
        204
    );
    let mut bob_gw = gateway(&t, &bob, GUILDS | GUILD_MESSAGES).await;
    let expire = format!("/channels/{c}/polls/{m}/expire");

    let r = t.post(&expire, &bob, json!({})).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let plain = t
        .post(&messages, &alice, json!({"content": "no poll"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .post(
            &format!("/channels/{c}/polls/{plain}/expire"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(520006)));

    let r = t.post(&expire, &alice, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], m.as_str());
    assert_eq!(r.body["poll"]["results"]["is_finalized"], true);
    assert_eq!(counts(&r.body), vec![(1, 1, false), (2, 0, false)]);
    // The expiry moves to the moment it ended.
    let expiry =
        accord::model::Timestamp::parse(r.body["poll"]["expiry"].as_str().unwrap()).unwrap();
    assert!(expiry <= accord::model::Timestamp::now());

    // Everyone sees the final results.
    let (name, d) = loop {
        let (name, d) = next_message_event(&mut bob_gw).await;
        if name != "MESSAGE_CREATE" {
            break (name, d);
        }
    };
    assert_eq!(name, "MESSAGE_UPDATE", "{d}");
    assert_eq!(d["id"], m.as_str());
    assert_eq!(d["poll"]["results"]["is_finalized"], true);

    // Closed: votes and a second end are refused with 520001.
    let r = put(&t, &votes, &bob, json!({"answer_ids": [2]})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(520001)));
    assert_eq!(r.body["message"], "Poll expired");
    let r = t
        .req(
            Method::DELETE,
            &format!("/channels/{c}/polls/{m}/answers/1/@me"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(r.body["code"], 520001);
    let r = t.post(&expire, &alice, json!({})).await;
    assert_eq!(r.body["code"], 520001);
    let as_bob = t.get(&format!("{messages}/{m}"), &bob).await.body;
    assert_eq!(counts(&as_bob), vec![(1, 1, true), (2, 0, false)]);
}

/// Waits (bounded) until the message's poll is final, reading it over REST: after a restart the
/// poll may end before a gateway session could connect to see its MESSAGE_UPDATE.
async fn wait_finalized(t: &common::TestServer, path: &str, token: &str) -> Value {
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let m = t.get(path, token).await.body;
        if m["poll"]["results"]["is_finalized"] == true {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poll never ended: {m}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn polls_end_on_their_timer_also_across_a_restart() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (_, c) = t.guild(&alice, "Polls").await;
    t.join_via_invite(&alice, &c, &bob).await;
    let messages = format!("/channels/{c}/messages");
    // One "hour" of duration lasts two seconds here.
    set_poll_limits(&t, json!({"hour_secs": 2})).await;
    let mut bob_gw = gateway(&t, &bob, GUILDS | GUILD_MESSAGES).await;

    let mut body = poll("Quick?", &["yes", "no"], false);
    body["poll"]["duration"] = json!(1);
    let m = t.post(&messages, &alice, body).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let votes = format!("/channels/{c}/polls/{m}/answers/@me");
    assert_eq!(
        put(&t, &votes, &bob, json!({"answer_ids": [2]}))
            .await
            .status,
        204
    );
    let (name, d) = loop {
        let (name, d) = next_message_event(&mut bob_gw).await;
        if name != "MESSAGE_CREATE" {
            break (name, d);
        }
    };
    assert_eq!(name, "MESSAGE_UPDATE", "{d}");
    assert_eq!(d["id"], m.as_str());
    assert_eq!(d["poll"]["results"]["is_finalized"], true);
    assert_eq!(counts(&d), vec![(1, 0, false), (2, 1, false)]);
    let r = put(&t, &votes, &bob, json!({"answer_ids": [1]})).await;
    assert_eq!(r.body["code"], 520001);
    let store = t.srv().app.store();
    assert!(store.poll_expiries().await.unwrap().is_empty());

    // A poll still open at shutdown ends after the restart, from its stored end.
    let mut body = poll("Across a restart?", &["yes", "no"], true);
    body["poll"]["duration"] = json!(1);
    let later = t.post(&messages, &alice, body).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = store.poll_expiries().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].message_id.to_string(), later);
    drop(bob_gw);
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let m = wait_finalized(&t, &format!("{messages}/{later}"), &alice).await;
    assert_eq!(counts(&m), vec![(1, 0, false), (2, 0, false)]);
    let r = put(
        &t,
        &format!("/channels/{c}/polls/{later}/answers/@me"),
        &bob,
        json!({"answer_ids": [1]}),
    )
    .await;
    assert_eq!(r.body["code"], 520001);
    // The stored end is gone once the poll is final (a write queued just after the update).
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while !t
        .srv()
        .app
        .store()
        .poll_expiries()
        .await
        .unwrap()
        .is_empty()
    {
        assert!(tokio::time::Instant::now() < deadline, "stored end kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
