//! Gateway tests: real WebSocket connections to the running server.

mod common;

use common::Gateway;
use serde_json::json;

const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const DIRECT_MESSAGES: u64 = 1 << 12;
const MESSAGE_CONTENT: u64 = 1 << 15;

#[tokio::test]
async fn identify_ready_guild_create_and_message_events() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (guild, channel) = t.guild(&alice, "Gateway Guild").await;

    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    let ready = gw
        .identify(&alice, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT)
        .await;
    assert_eq!(ready["v"], 10);
    assert_eq!(ready["user"]["username"], "alice");
    assert_eq!(ready["user"]["mfa_enabled"], false);
    assert_eq!(
        ready["guilds"][0],
        json!({"id": guild, "unavailable": true})
    );
    assert!(ready["session_id"].as_str().unwrap().len() >= 16);
    assert!(
        ready["resume_gateway_url"]
            .as_str()
            .unwrap()
            .starts_with("ws://")
    );
    // twilight-model parses what we send, strictly.
    let gc = gw.event("GUILD_CREATE").await;
    assert_eq!(gc["id"], guild);
    assert_eq!(gc["member_count"], 1);
    serde_json::from_value::<twilight_model::guild::Guild>(gc.clone())
        .expect("GUILD_CREATE parses as twilight Guild");

    // Heartbeat → ACK.
    gw.send(json!({"op": 1, "d": gw.seq})).await;
    loop {
        let v = gw.recv().await;
        if v["op"] == 11 {
            break;
        }
    }

    let sent = t
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "hello gateway"}),
        )
        .await;
    let ev = gw.event("MESSAGE_CREATE").await;
    assert_eq!(ev["id"], sent.body["id"]);
    assert_eq!(ev["content"], "hello gateway");
    assert_eq!(ev["guild_id"], guild);
    serde_json::from_value::<twilight_model::channel::Message>(ev)
        .expect("MESSAGE_CREATE parses as twilight Message");

    // A channel created over REST arrives as CHANNEL_CREATE.
    t.post(
        &format!("/guilds/{guild}/channels"),
        &alice,
        json!({"name": "more"}),
    )
    .await;
    let cc = gw.event("CHANNEL_CREATE").await;
    assert_eq!(cc["name"], "more");
}

#[tokio::test]
async fn ready_parses_as_twilight_for_bots() {
    let t = common::start().await;
    let token = t.register("robot").await;
    // Mark the account as a bot the way the bot issue will (applications); the READY shape is
    // what matters here.
    let me = t.me(&token).await;
    let id: accord::id::UserId = me["id"].as_str().unwrap().parse().unwrap();
    let store = t.srv().app.store();
    let mut u = store.get_user(id).await.unwrap().unwrap();
    u.bot = true;
    store.update_user(&u).await.unwrap();
    t.srv().app.services.users.updated(u.clone());
    t.srv().app.auth.refresh(&u);
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    let ready = gw.identify(&format!("Bot {token}"), GUILDS).await;
    assert_eq!(ready["application"]["id"], me["id"]);
    serde_json::from_value::<twilight_model::gateway::payload::incoming::Ready>(ready)
        .expect("READY parses as twilight Ready");
}

#[tokio::test]
async fn zlib_stream_and_message_content_intent() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (_, channel) = t.guild(&alice, "Zlib").await;
    let mut gw = Gateway::connect(
        &t.gateway_url("v=10&encoding=json&compress=zlib-stream"),
        true,
    )
    .await;
    let ready = gw.identify(&alice, GUILDS | GUILD_MESSAGES).await;
    assert_eq!(ready["user"]["username"], "alice");
    t.post(
        &format!("/channels/{channel}/messages"),
        &alice,
        json!({"content": "compressed"}),
    )
    .await;
    let ev = gw.event("MESSAGE_CREATE").await;
    // A user session gets content without MESSAGE_CONTENT (the intent only limits bots).
    assert_eq!(ev["content"], "compressed");
}

#[tokio::test]
async fn intents_filter_events() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (guild, channel) = t.guild(&alice, "Intents").await;
    // Only GUILDS: no MESSAGE_CREATE, but CHANNEL_CREATE arrives.
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&alice, GUILDS).await;
    gw.event("GUILD_CREATE").await;
    t.post(
        &format!("/channels/{channel}/messages"),
        &alice,
        json!({"content": "invisible"}),
    )
    .await;
    t.post(
        &format!("/guilds/{guild}/channels"),
        &alice,
        json!({"name": "visible"}),
    )
    .await;
    let v = gw.recv().await;
    assert_eq!(
        v["t"], "CHANNEL_CREATE",
        "the message was filtered out: {v}"
    );
}

#[tokio::test]
async fn protocol_errors_close_with_discord_codes() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    // Bad token → 4004.
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.recv().await;
    gw.send(json!({"op": 2, "d": {"token": "nope", "intents": 1, "properties": {}}}))
        .await;
    assert_eq!(gw.next().await.err(), Some(Some(4004)));
    // Anything but identify first → 4003.
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.recv().await;
    gw.send(json!({"op": 8, "d": {"guild_id": "1", "query": "", "limit": 0}}))
        .await;
    assert_eq!(gw.next().await.err(), Some(Some(4003)));
    // Garbage → 4002; unknown opcode → 4001.
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.recv().await;
    gw.ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            "{not json".into(),
        ))
        .await
        .unwrap();
    assert_eq!(gw.next().await.err(), Some(Some(4002)));
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.recv().await;
    gw.send(json!({"op": 99, "d": null})).await;
    assert_eq!(gw.next().await.err(), Some(Some(4001)));
    // Identify twice → 4005.
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&alice, GUILDS).await;
    gw.send(json!({"op": 2, "d": {"token": alice, "intents": 1, "properties": {}}}))
        .await;
    loop {
        match gw.next().await {
            Ok(_) => continue,
            Err(code) => {
                assert_eq!(code, Some(4005));
                break;
            }
        }
    }
    // Heartbeat before identify is fine (discord.py does it).
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.recv().await;
    gw.send(json!({"op": 1, "d": null})).await;
    assert_eq!(gw.recv().await["op"], 11);
}

use futures::SinkExt;

#[tokio::test]
async fn resume_replays_missed_events() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (_, channel) = t.guild(&alice, "Resume").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    let ready = gw
        .identify(&alice, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT)
        .await;
    gw.event("GUILD_CREATE").await;
    let session_id = ready["session_id"].as_str().unwrap().to_string();
    let seq = gw.seq;
    // Drop the connection abnormally (no close frame with 1000).
    gw.ws
        .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 4000u16.into(),
            reason: "".into(),
        }))
        .await
        .unwrap();
    drop(gw);
    for i in 0..3 {
        t.post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": format!("missed {i}")}),
        )
        .await;
    }
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    assert_eq!(gw.recv().await["op"], 10);
    gw.send(json!({"op": 6, "d": {"token": alice, "session_id": session_id, "seq": seq}}))
        .await;
    for i in 0..3 {
        let ev = gw.event("MESSAGE_CREATE").await;
        assert_eq!(ev["content"], format!("missed {i}"));
    }
    gw.event("RESUMED").await;
    assert_eq!(gw.seq, seq + 4);
    // A resume of an unknown session is refused; the client may identify on the same socket.
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.recv().await;
    gw.send(json!({"op": 6, "d": {"token": alice, "session_id": "nope", "seq": 1}}))
        .await;
    let inv = gw.recv().await;
    assert_eq!(inv["op"], 9);
    assert_eq!(inv["d"], false);
    gw.send(json!({"op": 2, "d": {"token": alice, "intents": 1, "properties": {}}}))
        .await;
    gw.event("READY").await;
}

#[tokio::test]
async fn dm_and_member_events() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (guild, channel) = t.guild(&alice, "Members").await;
    let mut a = Gateway::connect(&t.gateway_url("v=10"), false).await;
    a.identify(
        &alice,
        GUILDS | GUILD_MEMBERS | DIRECT_MESSAGES | MESSAGE_CONTENT,
    )
    .await;
    a.event("GUILD_CREATE").await;
    let mut b = Gateway::connect(&t.gateway_url("v=10"), false).await;
    b.identify(
        &bob,
        GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT,
    )
    .await;

    // Bob joins via invite: Alice sees GUILD_MEMBER_ADD, Bob gets GUILD_CREATE.
    t.join_via_invite(&alice, &channel, &bob).await;
    let add = a.event("GUILD_MEMBER_ADD").await;
    assert_eq!(add["user"]["username"], "bob");
    assert_eq!(add["guild_id"], guild);
    let gc = b.event("GUILD_CREATE").await;
    assert_eq!(gc["id"], guild);
    assert_eq!(gc["member_count"], 2);

    // Request members (op 8).
    a.send(json!({"op": 8, "d": {"guild_id": guild, "query": "", "limit": 0, "nonce": "n"}}))
        .await;
    let chunk = a.event("GUILD_MEMBERS_CHUNK").await;
    assert_eq!(chunk["members"].as_array().unwrap().len(), 2);
    assert_eq!(chunk["nonce"], "n");

    // A DM reaches Bob.
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    let dm = t
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipient_id": bob_id}),
        )
        .await;
    t.post(
        &format!("/channels/{}/messages", dm.body["id"].as_str().unwrap()),
        &alice,
        json!({"content": "direct"}),
    )
    .await;
    let ev = b.event("MESSAGE_CREATE").await;
    assert_eq!(ev["content"], "direct");
    assert!(ev.get("guild_id").is_none());
}

#[tokio::test]
async fn versions_payload_compression_and_sharding() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    // Unsupported API version → 4012.
    let mut gw = Gateway::connect(&t.gateway_url("v=3&encoding=json"), false).await;
    assert_eq!(gw.next().await.err(), Some(Some(4012)));

    // IDENTIFY `compress: true`: every payload after it is its own zlib stream.
    let mut gw = Gateway::connect(&t.gateway_url("v=9"), false).await;
    assert_eq!(gw.recv().await["op"], 10);
    gw.send(json!({"op": 2, "d": {"token": alice, "intents": GUILDS, "compress": true, "properties": {}}})).await;
    use futures::StreamExt;
    let frame = tokio::time::timeout(common::WAIT, gw.ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let tokio_tungstenite::tungstenite::Message::Binary(bytes) = frame else {
        panic!("expected a binary frame")
    };
    let mut text = String::new();
    use std::io::Read;
    flate2::read::ZlibDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ready["t"], "READY");

    // Shards see only their guilds: (guild_id >> 22) % num_shards == shard_id.
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(t.guild(&alice, &format!("Shard {i}")).await.0);
    }
    for shard in 0..2u64 {
        let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
        gw.recv().await;
        gw.send(json!({"op": 2, "d": {"token": alice, "intents": GUILDS, "shard": [shard, 2], "properties": {}}})).await;
        let ready = gw.event("READY").await;
        assert_eq!(ready["shard"], json!([shard, 2]));
        let got: Vec<String> = ready["guilds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_string())
            .collect();
        let want: Vec<String> = ids
            .iter()
            .filter(|id| (id.parse::<u64>().unwrap() >> 22) % 2 == shard)
            .cloned()
            .collect();
        assert_eq!(got.len(), want.len());
        assert!(want.iter().all(|w| got.contains(w)));
    }
    // Bad shard → 4010.
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.recv().await;
    gw.send(json!({"op": 2, "d": {"token": alice, "intents": GUILDS, "shard": [2, 2], "properties": {}}})).await;
    assert_eq!(gw.next().await.err(), Some(Some(4010)));
}

#[tokio::test]
async fn missed_heartbeats_time_out() {
    let t = common::start().await;
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"gateway": {"heartbeat_interval_ms": 1000}}),
        )
        .await
        .unwrap();
    let alice = t.register("alice").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    let hello = gw.recv().await;
    assert_eq!(hello["d"]["heartbeat_interval"], 1000);
    gw.send(json!({"op": 2, "d": {"token": alice, "intents": GUILDS, "properties": {}}}))
        .await;
    // No heartbeat: closed with 4009 after 1.5 intervals.
    loop {
        match gw.next().await {
            Ok(_) => continue,
            Err(code) => {
                assert_eq!(code, Some(4009));
                break;
            }
        }
    }
}

#[tokio::test]
async fn presence_and_voice_states() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (guild, channel) = t.guild(&alice, "Presence").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    let voice = t
        .get(&format!("/guilds/{guild}/channels"), &alice)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 2)
        .unwrap()["id"]
        .clone();
    const GUILD_PRESENCES: u64 = 1 << 8;
    const GUILD_VOICE_STATES: u64 = 1 << 7;
    let mut a = Gateway::connect(&t.gateway_url("v=10"), false).await;
    a.identify(&alice, GUILDS | GUILD_PRESENCES | GUILD_VOICE_STATES)
        .await;
    a.event("GUILD_CREATE").await;
    let mut b = Gateway::connect(&t.gateway_url("v=10"), false).await;
    b.identify(&bob, GUILDS).await;
    let bob_id = t.me(&bob).await["id"].clone();
    // Alice's own presence comes first; wait for Bob's.
    loop {
        let p = a.event("PRESENCE_UPDATE").await;
        if p["user"]["id"] == bob_id {
            assert_eq!(p["status"], "online");
            break;
        }
    }
    b.send(json!({"op": 3, "d": {"since": null, "activities": [{"name": "tests", "type": 0}], "status": "dnd", "afk": false}})).await;
    let p = a.event("PRESENCE_UPDATE").await;
    assert_eq!(p["user"]["id"], bob_id);
    assert_eq!(p["status"], "dnd");
    assert_eq!(p["activities"][0]["name"], "tests");
    assert_eq!(p["guild_id"], guild);
    b.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": voice, "self_mute": true, "self_deaf": false}})).await;
    let v = a.event("VOICE_STATE_UPDATE").await;
    assert_eq!(v["channel_id"], voice);
    assert_eq!(v["self_mute"], true);
    // Guild voice states carry the member, as Discord sends them.
    assert_eq!(v["member"]["user"]["id"], bob_id);
    assert!(v["member"]["joined_at"].is_string(), "{v}");
    // Bob logs off (close 1000 ends the session; a dropped socket would stay resumable): offline.
    b.ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: 1000u16.into(),
        reason: "".into(),
    }))
    .await
    .unwrap();
    // Offline, and out of voice with the session (the member still attached), in either order.
    let (mut offline, mut left) = (false, false);
    while !(offline && left) {
        let e = a.recv().await;
        match e["t"].as_str() {
            Some("PRESENCE_UPDATE") if e["d"]["status"] == "offline" => offline = true,
            Some("VOICE_STATE_UPDATE") => {
                assert_eq!(e["d"]["channel_id"], serde_json::Value::Null);
                assert_eq!(e["d"]["member"]["user"]["id"], bob_id);
                left = true;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn member_list_subscriptions_ops_14_and_37() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (guild, channel) = t.guild(&alice, "Sidebar").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    let mut gw = Gateway::connect(&t.gateway_url("v=9"), false).await;
    // A user client: no intents field.
    assert_eq!(gw.recv().await["op"], 10);
    gw.send(json!({"op": 2, "d": {"token": alice, "capabilities": 16381, "properties": {"os": "Linux", "browser": "Firefox"}}})).await;
    gw.event("READY").await;
    gw.send(json!({"op": 14, "d": {"guild_id": guild, "typing": true, "activities": true, "threads": true, "channels": {channel.clone(): [[0, 99]]}}})).await;
    let list = gw.event("GUILD_MEMBER_LIST_UPDATE").await;
    assert_eq!(list["guild_id"], guild);
    assert_eq!(list["member_count"], 2);
    assert_eq!(list["online_count"], 1, "only alice has a session");
    let items = list["ops"][0]["items"].as_array().unwrap();
    assert_eq!(list["ops"][0]["op"], "SYNC");
    assert_eq!(items[0]["group"]["id"], "online");
    assert_eq!(items[1]["member"]["user"]["username"], "alice");
    assert_eq!(items[2]["group"]["id"], "offline");
    assert_eq!(items[3]["member"]["user"]["username"], "bob");
    // The bulk form.
    gw.send(json!({"op": 37, "d": {"subscriptions": {guild.clone(): {"channels": {channel.clone(): [[0, 1]]}}}}})).await;
    let list = gw.event("GUILD_MEMBER_LIST_UPDATE").await;
    // The range it no longer holds is invalidated, the new one synced.
    assert_eq!(list["ops"][0]["op"], "INVALIDATE");
    assert_eq!(list["ops"][0]["range"], json!([0, 99]));
    assert_eq!(list["ops"][1]["op"], "SYNC");
    assert_eq!(list["ops"][1]["items"].as_array().unwrap().len(), 2);
}

/// Op 8 answers a guild of any size whole, in Discord's chunks of 1,000, and an array of guild
/// ids is served once per guild the session is in (repeats and foreign guilds ignored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_members_chunks_big_guilds_and_ignores_foreign_ids() {
    use futures::StreamExt;
    const JOINERS: usize = 1100;
    let t = common::start().await;
    let owner = t.register("chunkowner").await;
    let (guild, channel) = t.guild(&owner, "Chunks").await;
    let inv = t
        .post(
            &format!("/channels/{channel}/invites"),
            &owner,
            json!({"max_uses": 0}),
        )
        .await;
    assert_eq!(inv.status, 200, "{}", inv.body);
    let code = inv.body["code"].as_str().unwrap().to_string();
    let ids: Vec<String> = futures::stream::iter(0..JOINERS)
        .map(|i| {
            let (t, code) = (&t, &code);
            async move {
                let token = t.register(&format!("chunk{i}")).await;
                let joined = t.post(&format!("/invites/{code}"), &token, json!({})).await;
                assert_eq!(joined.status, 200, "join: {}", joined.body);
                t.me(&token).await["id"].as_str().unwrap().to_string()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let newest = ids
        .iter()
        .max_by_key(|id| id.parse::<u64>().unwrap())
        .unwrap()
        .clone();

    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&owner, GUILDS | GUILD_MEMBERS).await;
    gw.event("GUILD_CREATE").await;
    gw.send(json!({"op": 8, "d": {"guild_id": guild, "query": "", "limit": 0, "nonce": "all"}}))
        .await;
    let mut seen = std::collections::HashSet::new();
    for index in 0..2 {
        let chunk = gw.event("GUILD_MEMBERS_CHUNK").await;
        assert_eq!(chunk["chunk_index"], index);
        assert_eq!(chunk["chunk_count"], 2);
        assert_eq!(chunk["nonce"], "all");
        for m in chunk["members"].as_array().unwrap() {
            assert!(seen.insert(m["user"]["id"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(seen.len(), JOINERS + 1);

    // The newest member sorts last, beyond the first page; a foreign id and a repeat are ignored.
    gw.send(
        json!({"op": 8, "d": {"guild_id": [guild, guild, "175928847299117063"],
        "user_ids": [newest], "nonce": "one"}}),
    )
    .await;
    let chunk = gw.event("GUILD_MEMBERS_CHUNK").await;
    assert_eq!(chunk["members"].as_array().unwrap().len(), 1);
    assert_eq!(chunk["members"][0]["user"]["id"], newest.as_str());
    assert_eq!(chunk["chunk_count"], 1);
    assert_eq!(chunk["not_found"], json!([]));
    gw.send(json!({"op": 1, "d": null})).await;
    loop {
        let v = gw.recv().await;
        assert_ne!(v["t"], "GUILD_MEMBERS_CHUNK", "one chunk per guild: {v}");
        if v["op"] == 11 {
            break;
        }
    }
}
