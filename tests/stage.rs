//! Voice states, voice channel status, stage instances and the soundboard, over HTTP and the
//! gateway (issue 16, part 6). Accord keeps voice state but carries no media.

mod common;

use common::{Gateway, OwnerAndMember, TestServer, field_code, owner_and_member};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

const GUILDS: u64 = 1;
const GUILD_VOICE_STATES: u64 = 1 << 7;

async fn channel(t: &TestServer, token: &str, guild: &str, name: &str, kind: u64) -> String {
    let r = t
        .post(
            &format!("/guilds/{guild}/channels"),
            token,
            json!({"name": name, "type": kind}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("id").to_string()
}

async fn session(t: &TestServer, token: &str, intents: u64) -> Gateway {
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(token, intents).await;
    gw.event("GUILD_CREATE").await;
    gw
}

async fn join_voice(gw: &mut Gateway, guild: &str, channel: Option<&str>) {
    gw.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": channel, "self_mute": false, "self_deaf": false}}))
        .await;
}

/// The next VOICE_STATE_UPDATE about `user`.
async fn voice_update(gw: &mut Gateway, user: &str) -> Value {
    loop {
        let v = gw.event("VOICE_STATE_UPDATE").await;
        if v["user_id"] == user {
            return v;
        }
    }
}

async fn close(mut gw: Gateway) {
    gw.ws
        .close(Some(CloseFrame {
            code: 1000u16.into(),
            reason: "".into(),
        }))
        .await
        .expect("close");
}

#[tokio::test]
async fn voice_state_routes_and_stage_speaking() {
    let OwnerAndMember {
        t,
        alice,
        alice_id,
        bob,
        bob_id,
        guild,
        ..
    } = owner_and_member("Stage").await;
    let stage = channel(&t, &alice, &guild, "town-hall", 13).await;
    let voice = channel(&t, &alice, &guild, "lounge", 2).await;
    let mut a = session(&t, &alice, GUILDS | GUILD_VOICE_STATES).await;
    let mut b = session(&t, &bob, GUILDS).await;

    let none = t
        .get(&format!("/guilds/{guild}/voice-states/@me"), &bob)
        .await;
    assert_eq!(
        (none.status, none.body["code"].clone()),
        (404, json!(10065))
    );

    // Joining a stage: audience, suppressed.
    join_voice(&mut b, &guild, Some(&stage)).await;
    let v = voice_update(&mut a, &bob_id).await;
    assert_eq!(v["channel_id"], stage);
    assert_eq!(v["suppress"], true);
    assert_eq!(v["request_to_speak_timestamp"], Value::Null);

    let mine = t
        .get(&format!("/guilds/{guild}/voice-states/@me"), &bob)
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["channel_id"], stage);
    assert_eq!(mine.body["member"]["user"]["id"], bob_id);
    let seen = t
        .get(&format!("/guilds/{guild}/voice-states/{bob_id}"), &alice)
        .await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["session_id"], mine.body["session_id"]);
    let alice_none = t
        .get(&format!("/guilds/{guild}/voice-states/{alice_id}"), &bob)
        .await;
    assert_eq!(alice_none.body["code"], 10065);

    // Bob raises his hand (REQUEST_TO_SPEAK is @everyone's), but may not un-suppress himself.
    let when = "2030-01-02T03:04:05.000000+00:00";
    let r = t
        .patch(
            &format!("/guilds/{guild}/voice-states/@me"),
            &bob,
            json!({"channel_id": stage, "request_to_speak_timestamp": when}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let v = voice_update(&mut a, &bob_id).await;
    assert_eq!(v["request_to_speak_timestamp"], when);
    assert_eq!(v["suppress"], true);
    let r = t
        .patch(
            &format!("/guilds/{guild}/voice-states/@me"),
            &bob,
            json!({"suppress": false}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t
        .patch(
            &format!("/guilds/{guild}/voice-states/{bob_id}"),
            &bob,
            json!({"channel_id": stage, "suppress": false}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    // Naming another channel than the one Bob is in.
    let r = t
        .patch(
            &format!("/guilds/{guild}/voice-states/@me"),
            &bob,
            json!({"channel_id": voice, "suppress": true}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(field_code(&r.body, &["channel_id"]), "BASE_TYPE_CHOICES");

    // Alice (MUTE_MEMBERS) invites him to speak: unsuppressed, hand lowered.
    let r = t
        .patch(
            &format!("/guilds/{guild}/voice-states/{bob_id}"),
            &alice,
            json!({"channel_id": stage, "suppress": false}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let v = voice_update(&mut a, &bob_id).await;
    assert_eq!(v["suppress"], false);
    assert_eq!(v["request_to_speak_timestamp"], Value::Null);
    // He may always step back to the audience himself.
    let r = t
        .patch(
            &format!("/guilds/{guild}/voice-states/@me"),
            &bob,
            json!({"suppress": true}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(voice_update(&mut a, &bob_id).await["suppress"], true);

    // Stage controls don't apply in a plain voice channel.
    join_voice(&mut b, &guild, Some(&voice)).await;
    let v = voice_update(&mut a, &bob_id).await;
    assert_eq!(
        (v["channel_id"].clone(), v["suppress"].clone()),
        (json!(voice), json!(false))
    );
    let r = t
        .patch(
            &format!("/guilds/{guild}/voice-states/@me"),
            &bob,
            json!({"suppress": true}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50024)));

    // A new session sees Bob in GUILD_CREATE's voice_states.
    let mut a2 = Gateway::connect(&t.gateway_url("v=10"), false).await;
    a2.identify(&alice, GUILDS).await;
    let g = a2.event("GUILD_CREATE").await;
    let states = g["voice_states"].as_array().expect("voice_states");
    assert!(
        states
            .iter()
            .any(|s| s["user_id"] == bob_id && s["channel_id"] == voice),
        "{states:?}"
    );

    // Leaving: channel_id null, and the state is gone.
    join_voice(&mut b, &guild, None).await;
    let v = voice_update(&mut a, &bob_id).await;
    assert_eq!(v["channel_id"], Value::Null);
    let gone = t
        .get(&format!("/guilds/{guild}/voice-states/@me"), &bob)
        .await;
    assert_eq!(gone.body["code"], 10065);
}

#[tokio::test]
async fn a_voice_state_ends_with_the_session_that_joined() {
    let OwnerAndMember {
        t,
        alice,
        bob,
        bob_id,
        guild,
        ..
    } = owner_and_member("Sessions").await;
    let voice = channel(&t, &alice, &guild, "lounge", 2).await;
    let mut a = session(&t, &alice, GUILDS | GUILD_VOICE_STATES).await;
    let mut b1 = session(&t, &bob, GUILDS).await;
    let b2 = session(&t, &bob, GUILDS).await;
    join_voice(&mut b1, &guild, Some(&voice)).await;
    assert_eq!(voice_update(&mut a, &bob_id).await["channel_id"], voice);
    // Bob's other session ending changes nothing; the one that joined ending removes it.
    close(b2).await;
    close(b1).await;
    let v = voice_update(&mut a, &bob_id).await;
    assert_eq!(v["channel_id"], Value::Null);
    let gone = t
        .get(&format!("/guilds/{guild}/voice-states/{bob_id}"), &alice)
        .await;
    assert_eq!(gone.body["code"], 10065);
}

#[tokio::test]
async fn voice_channel_status() {
    let OwnerAndMember {
        t,
        alice,
        bob,
        guild,
        channel: text,
        ..
    } = owner_and_member("Status").await;
    let voice = channel(&t, &alice, &guild, "lounge", 2).await;
    let mut a = session(&t, &alice, GUILDS).await;
    let path = format!("/channels/{voice}/voice-status");

    // Bob is not connected and lacks the permission.
    let r = t
        .req(
            reqwest::Method::PUT,
            &path,
            Some(&bob),
            Some(json!({"status": "x"})),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t
        .req(
            reqwest::Method::PUT,
            &format!("/channels/{text}/voice-status"),
            Some(&alice),
            Some(json!({"status": "x"})),
        )
        .await;
    assert_eq!(r.body["code"], 50024);
    let r = t
        .req(
            reqwest::Method::PUT,
            &path,
            Some(&alice),
            Some(json!({"status": "y".repeat(501)})),
        )
        .await;
    assert_eq!(field_code(&r.body, &["status"]), "BASE_TYPE_MAX_LENGTH");

    join_voice(&mut a, &guild, Some(&voice)).await;
    let r = t
        .req(
            reqwest::Method::PUT,
            &path,
            Some(&alice),
            Some(json!({"status": "listening party"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = a.event("VOICE_CHANNEL_STATUS_UPDATE").await;
    assert_eq!(
        (e["id"].clone(), e["guild_id"].clone(), e["status"].clone()),
        (json!(voice), json!(guild), json!("listening party"))
    );
    // The last one out clears it.
    join_voice(&mut a, &guild, None).await;
    let e = a.event("VOICE_CHANNEL_STATUS_UPDATE").await;
    assert_eq!(e["status"], Value::Null);
}

#[tokio::test]
async fn stage_instances_open_change_and_close() {
    let OwnerAndMember {
        t,
        alice,
        bob,
        guild,
        channel: text,
        ..
    } = owner_and_member("Stages").await;
    let stage = channel(&t, &alice, &guild, "town-hall", 13).await;
    let mut b = session(&t, &bob, GUILDS).await;

    // Validation, channel type and permissions.
    let r = t
        .post("/stage-instances", &alice, json!({"topic": ""}))
        .await;
    assert_eq!(field_code(&r.body, &["channel_id"]), "BASE_TYPE_REQUIRED");
    let r = t
        .post(
            "/stage-instances",
            &alice,
            json!({"channel_id": stage, "topic": "t".repeat(121), "privacy_level": 1}),
        )
        .await;
    assert_eq!(field_code(&r.body, &["topic"]), "BASE_TYPE_BAD_LENGTH");
    assert_eq!(field_code(&r.body, &["privacy_level"]), "BASE_TYPE_CHOICES");
    let r = t
        .post(
            "/stage-instances",
            &alice,
            json!({"channel_id": text, "topic": "x"}),
        )
        .await;
    assert_eq!(r.body["code"], 50024);
    let r = t
        .post(
            "/stage-instances",
            &bob,
            json!({"channel_id": stage, "topic": "mine"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let none = t.get(&format!("/stage-instances/{stage}"), &bob).await;
    assert_eq!(
        (none.status, none.body["code"].clone()),
        (404, json!(10067))
    );

    let r = t
        .req_with(
            reqwest::Method::POST,
            "/stage-instances",
            Some(&alice),
            Some(json!({"channel_id": stage, "topic": "Town hall", "privacy_level": 2, "send_start_notification": true})),
            &[("x-audit-log-reason", "weekly")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].clone();
    assert_eq!(r.body["channel_id"], stage);
    assert_eq!(r.body["guild_id"], guild);
    assert_eq!(r.body["privacy_level"], 2);
    assert_eq!(r.body["discoverable_disabled"], false);
    let e = b.event("STAGE_INSTANCE_CREATE").await;
    assert_eq!(
        (e["id"].clone(), e["topic"].clone()),
        (id.clone(), json!("Town hall"))
    );
    let again = t
        .post(
            "/stage-instances",
            &alice,
            json!({"channel_id": stage, "topic": "twice"}),
        )
        .await;
    assert_eq!(
        (again.status, again.body["code"].clone()),
        (400, json!(150006))
    );
    let got = t.get(&format!("/stage-instances/{stage}"), &bob).await;
    assert_eq!(got.body["id"], id);

    // A new session sees it in GUILD_CREATE.
    let mut b2 = Gateway::connect(&t.gateway_url("v=10"), false).await;
    b2.identify(&bob, GUILDS).await;
    let g = b2.event("GUILD_CREATE").await;
    assert_eq!(g["stage_instances"][0]["id"], id);

    let r = t
        .patch(
            &format!("/stage-instances/{stage}"),
            &bob,
            json!({"topic": "mine"}),
        )
        .await;
    assert_eq!(r.body["code"], 50013);
    let r = t
        .patch(
            &format!("/stage-instances/{stage}"),
            &alice,
            json!({"topic": "Town hall, part two"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["topic"], "Town hall, part two");
    let e = b.event("STAGE_INSTANCE_UPDATE").await;
    assert_eq!(e["topic"], "Town hall, part two");

    let r = t.delete(&format!("/stage-instances/{stage}"), &alice).await;
    assert_eq!(r.status, 204);
    assert_eq!(b.event("STAGE_INSTANCE_DELETE").await["id"], id);
    let gone = t.get(&format!("/stage-instances/{stage}"), &alice).await;
    assert_eq!(gone.body["code"], 10067);

    // The audit log has the three entries, the first with its reason.
    let log = t
        .get(&format!("/guilds/{guild}/audit-logs"), &alice)
        .await
        .body;
    let entries = log["audit_log_entries"].as_array().expect("entries");
    for action in [83, 84, 85] {
        let e = entries
            .iter()
            .find(|e| e["action_type"] == action)
            .unwrap_or_else(|| panic!("no audit entry {action}: {log}"));
        assert_eq!(e["target_id"], id);
    }
    let created = entries.iter().find(|e| e["action_type"] == 83).expect("83");
    assert_eq!(created["reason"], "weekly");

    // Deleting the channel closes its stage.
    t.post(
        "/stage-instances",
        &alice,
        json!({"channel_id": stage, "topic": "last"}),
    )
    .await;
    b.event("STAGE_INSTANCE_CREATE").await;
    let r = t.delete(&format!("/channels/{stage}"), &alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(b.event("STAGE_INSTANCE_DELETE").await["topic"], "last");
}

/// A few bytes that read as an MP3 (an ID3 tag) / an Ogg page.
const MP3: &str = "data:audio/mpeg;base64,SUQzBAAAAAAAAA==";
const OGG: &str = "data:audio/ogg;base64,T2dnUwACAAAAAAAA";
const GUILD_EXPRESSIONS: u64 = 1 << 3;

#[tokio::test]
async fn soundboard_sounds_crud_cdn_and_events() {
    let OwnerAndMember {
        t,
        alice,
        alice_id,
        bob,
        guild,
        ..
    } = owner_and_member("Sounds").await;
    let mut b = session(&t, &bob, GUILDS | GUILD_EXPRESSIONS).await;
    let path = format!("/guilds/{guild}/soundboard-sounds");

    let defaults = t.get("/soundboard-default-sounds", &bob).await;
    assert_eq!(defaults.status, 200);
    assert_eq!(defaults.body[0]["sound_id"], "1");
    assert_eq!(defaults.body[0]["name"], "quack");
    // Every default sound can be played: the CDN serves its audio under its id.
    for d in defaults.body.as_array().expect("defaults") {
        let id = d["sound_id"].as_str().expect("sound_id");
        let file = t
            .http
            .get(format!("{}/soundboard-sounds/{id}", t.srv().url()))
            .send()
            .await
            .expect("cdn");
        assert_eq!(file.status(), 200, "default sound {id}");
        assert_eq!(file.headers()["content-type"], "audio/ogg");
        assert!(file.bytes().await.expect("bytes").starts_with(b"OggS"));
    }

    // Validation and permission (Bob's @everyone has CREATE_GUILD_EXPRESSIONS: take it away).
    let r = t
        .post(
            &path,
            &alice,
            json!({"name": "x", "sound": "data:audio/wav;base64,UklGRg==", "volume": 2}),
        )
        .await;
    assert_eq!(field_code(&r.body, &["name"]), "BASE_TYPE_BAD_LENGTH");
    assert_eq!(field_code(&r.body, &["volume"]), "NUMBER_TYPE_MAX");
    let r = t
        .post(
            &path,
            &alice,
            json!({"name": "wav", "sound": "data:audio/wav;base64,UklGRg=="}),
        )
        .await;
    assert_eq!(field_code(&r.body, &["sound"]), "BASE_TYPE_BAD_TYPE");
    let big = format!("data:audio/mpeg;base64,{}", "SUQz".repeat(200_000));
    let r = t
        .post(&path, &alice, json!({"name": "big", "sound": big}))
        .await;
    assert_eq!(field_code(&r.body, &["sound"]), "BASE_TYPE_MAX_LENGTH");
    let everyone = t
        .patch(
            &format!("/guilds/{guild}/roles/{guild}"),
            &alice,
            json!({"permissions": "1024"}),
        )
        .await;
    assert_eq!(everyone.status, 200, "{}", everyone.body);
    let r = t
        .post(&path, &bob, json!({"name": "nope", "sound": MP3}))
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));

    let r = t
        .post(
            &path,
            &alice,
            json!({"name": "honk", "sound": MP3, "volume": 0.5, "emoji_name": "🦢"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sound = r.body["sound_id"].as_str().expect("sound_id").to_string();
    assert_eq!(r.body["user"]["id"], alice_id);
    assert_eq!(r.body["volume"], 0.5);
    let e = b.event("GUILD_SOUNDBOARD_SOUND_CREATE").await;
    assert_eq!(
        (e["sound_id"].clone(), e["guild_id"].clone()),
        (json!(sound), json!(guild))
    );

    // The file is on the CDN.
    let file = t
        .http
        .get(format!("{}/soundboard-sounds/{sound}", t.srv().url()))
        .send()
        .await
        .expect("cdn");
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "audio/mpeg");
    assert!(file.bytes().await.expect("bytes").starts_with(b"ID3"));

    let list = t.get(&path, &bob).await;
    assert_eq!(list.body["items"][0]["sound_id"], sound);
    assert!(
        list.body["items"][0].get("user").is_none(),
        "members without expression rights don't see the uploader"
    );
    let one = t.get(&format!("{path}/{sound}"), &bob).await;
    assert_eq!(one.body["name"], "honk");
    let r = t.get(&format!("{path}/1"), &bob).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10097)));

    let r = t
        .patch(&format!("{path}/{sound}"), &bob, json!({"name": "mine"}))
        .await;
    assert_eq!(r.body["code"], 50013);
    let r = t
        .patch(
            &format!("{path}/{sound}"),
            &alice,
            json!({"name": "honk honk", "emoji_name": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["emoji_name"], Value::Null);
    assert_eq!(
        b.event("GUILD_SOUNDBOARD_SOUND_UPDATE").await["name"],
        "honk honk"
    );

    // GUILD_CREATE and op 31 carry the sounds.
    let mut b2 = Gateway::connect(&t.gateway_url("v=10"), false).await;
    b2.identify(&bob, GUILDS).await;
    let g = b2.event("GUILD_CREATE").await;
    assert_eq!(g["soundboard_sounds"][0]["sound_id"], sound);
    b2.send(json!({"op": 31, "d": {"guild_ids": [guild]}}))
        .await;
    let s = b2.event("SOUNDBOARD_SOUNDS").await;
    assert_eq!(s["guild_id"], guild);
    assert_eq!(s["soundboard_sounds"][0]["sound_id"], sound);

    let r = t.delete(&format!("{path}/{sound}"), &alice).await;
    assert_eq!(r.status, 204);
    let e = b.event("GUILD_SOUNDBOARD_SOUND_DELETE").await;
    assert_eq!(
        (e["sound_id"].clone(), e["guild_id"].clone()),
        (json!(sound), json!(guild))
    );
    let file = t
        .http
        .get(format!("{}/soundboard-sounds/{sound}", t.srv().url()))
        .send()
        .await
        .expect("cdn");
    assert_eq!(file.status(), 404);

    let log = t
        .get(&format!("/guilds/{guild}/audit-logs"), &alice)
        .await
        .body;
    for action in [130, 131, 132] {
        assert!(
            log["audit_log_entries"]
                .as_array()
                .expect("entries")
                .iter()
                .any(|e| e["action_type"] == action && e["target_id"] == sound),
            "no audit entry {action}: {log}"
        );
    }
}

#[tokio::test]
async fn soundboard_limit_comes_from_the_config() {
    let OwnerAndMember {
        t, alice, guild, ..
    } = owner_and_member("Full").await;
    let path = format!("/guilds/{guild}/soundboard-sounds");
    for i in 0..8 {
        let r = t
            .post(
                &path,
                &alice,
                json!({"name": format!("s{i}"), "sound": OGG}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = t
        .post(&path, &alice, json!({"name": "ninth", "sound": OGG}))
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(30045)));
}

#[tokio::test]
async fn send_soundboard_sound_emits_the_effect() {
    let OwnerAndMember {
        t,
        alice,
        alice_id,
        bob,
        bob_id,
        guild,
        channel: text,
        ..
    } = owner_and_member("Effects").await;
    let voice = channel(&t, &alice, &guild, "lounge", 2).await;
    // Another guild of Alice's with a sound of its own.
    let (other, _) = t.guild(&alice, "Elsewhere").await;
    let r = t
        .post(
            &format!("/guilds/{other}/soundboard-sounds"),
            &alice,
            json!({"name": "far away", "sound": MP3, "emoji_name": "🌍"}),
        )
        .await;
    let external = r.body["sound_id"].as_str().expect("sound_id").to_string();
    let mut a = session(&t, &alice, GUILDS | GUILD_VOICE_STATES).await;
    let mut b = session(&t, &bob, GUILDS | GUILD_VOICE_STATES).await;
    let send = format!("/channels/{voice}/send-soundboard-sound");

    // Not connected: 40032.
    let r = t.post(&send, &bob, json!({"sound_id": "1"})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(40032)));
    let r = t.post(&send, &bob, json!({})).await;
    assert_eq!(field_code(&r.body, &["sound_id"]), "BASE_TYPE_REQUIRED");
    let r = t
        .post(
            &format!("/channels/{text}/send-soundboard-sound"),
            &bob,
            json!({"sound_id": "1"}),
        )
        .await;
    assert_eq!(r.body["code"], 40032);

    join_voice(&mut b, &guild, Some(&voice)).await;
    voice_update(&mut a, &bob_id).await;
    let r = t.post(&send, &bob, json!({"sound_id": "2"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = a.event("VOICE_CHANNEL_EFFECT_SEND").await;
    assert_eq!(
        (
            e["channel_id"].clone(),
            e["user_id"].clone(),
            e["sound_id"].clone()
        ),
        (json!(voice), json!(bob_id), json!("2"))
    );
    assert_eq!(e["emoji"]["name"], "🔊");
    let r = t.post(&send, &bob, json!({"sound_id": "999"})).await;
    assert_eq!(r.body["code"], 10097);

    // Another guild's sound: Bob is not in it; Alice is, with USE_EXTERNAL_SOUNDS.
    let r = t
        .post(
            &send,
            &bob,
            json!({"sound_id": external, "source_guild_id": other}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    join_voice(&mut a, &guild, Some(&voice)).await;
    voice_update(&mut a, &alice_id).await;
    let r = t
        .post(
            &send,
            &alice,
            json!({"sound_id": external, "source_guild_id": other}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // (Bob's own effect came to him too, first.)
    let e = loop {
        let e = b.event("VOICE_CHANNEL_EFFECT_SEND").await;
        if e["user_id"] == alice_id {
            break e;
        }
    };
    assert_eq!(
        (e["sound_id"].clone(), e["source_guild_id"].clone()),
        (json!(external), json!(other))
    );

    // Self-muted members can't play sounds.
    b.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": voice, "self_mute": true, "self_deaf": false}}))
        .await;
    voice_update(&mut a, &bob_id).await;
    let r = t.post(&send, &bob, json!({"sound_id": "1"})).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
}
