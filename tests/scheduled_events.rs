//! Guild scheduled events over HTTP and the gateway: create/list/get/modify/delete with Discord's
//! validation and codes, the status lifecycle, permissions (MANAGE_EVENTS, CREATE_EVENTS,
//! VIEW_CHANNEL on the event's channel), subscribers and their paging, the GUILD_SCHEDULED_EVENT_*
//! dispatches gated by their intent, `guild_scheduled_events` in GUILD_CREATE, audit entries,
//! events surviving a restart, and events following their channels (moved between channels seen
//! by different members; deleted with their channel).

mod common;

use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;

fn future(secs: u64) -> String {
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
    let unix = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    accord::model::Timestamp::from_millis(unix).to_string()
}

/// Discord's weekday (0 = Monday) of a timestamp, in UTC.
fn weekday_of(timestamp: &str) -> i64 {
    let days = accord::model::Timestamp::parse(timestamp)
        .expect("timestamp")
        .millis()
        .div_euclid(86_400_000);
    // 1970-01-01 was a Thursday (3).
    (days + 3).rem_euclid(7)
}

/// A weekly event an hour from now, recurring on the start's own weekday (whatever day the
/// test runs), so its next occurrence is exactly a week on.
fn external(name: &str) -> Value {
    let start = future(3600);
    json!({
        "name": name,
        "privacy_level": 2,
        "entity_type": 3,
        "scheduled_start_time": start,
        "scheduled_end_time": future(7200),
        "entity_metadata": {"location": "the park"},
        "description": null,
        "recurrence_rule": {"start": start, "frequency": 2, "interval": 1, "by_weekday": [weekday_of(&start)]},
    })
}

#[tokio::test]
async fn scheduled_events_crud_validation_permissions_and_gateway() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let (g, text) = t.guild(&alice, "Events").await;
    t.join_via_invite(&alice, &text, &bob).await;

    // Alice's sessions: one with the intent, one without.
    let mut with = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    with.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    with.event("GUILD_CREATE").await;
    let mut without = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    without.identify(&alice, GUILDS).await;
    without.event("GUILD_CREATE").await;

    let base = format!("/guilds/{g}/scheduled-events");

    // Validation: external events need a location and an end time; voice needs a voice channel.
    let mut bad = external("no place");
    bad["entity_metadata"] = json!({});
    bad.as_object_mut().unwrap().remove("scheduled_end_time");
    let r = t.post(&base, &alice, bad).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], 50035);
    assert_eq!(
        common::field_code(&r.body, &["entity_metadata", "location"]),
        "BASE_TYPE_REQUIRED"
    );
    assert_eq!(
        common::field_code(&r.body, &["scheduled_end_time"]),
        "BASE_TYPE_REQUIRED"
    );
    let r = t
        .post(
            &base,
            &alice,
            json!({"name": "voice", "privacy_level": 2, "entity_type": 2,
                   "scheduled_start_time": future(60), "channel_id": text}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!common::field_code(&r.body, &["channel_id"]).is_empty());
    let r = t
        .post(
            &base,
            &alice,
            json!({"name": "x", "privacy_level": 1, "entity_type": 9}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(!common::field_code(&r.body, &["privacy_level"]).is_empty());
    assert!(!common::field_code(&r.body, &["entity_type"]).is_empty());
    assert!(!common::field_code(&r.body, &["scheduled_start_time"]).is_empty());
    // Not a member: Unknown Guild.
    assert_eq!(
        t.post(&base, &carol, external("x")).await.body["code"],
        10004
    );

    // Create an external event.
    let r = t.post(&base, &alice, external("Picnic")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ev = r.body.clone();
    let id = ev["id"].as_str().unwrap().to_string();
    assert_eq!(ev["status"], 1);
    assert_eq!(ev["entity_type"], 3);
    assert_eq!(ev["channel_id"], Value::Null);
    assert_eq!(ev["entity_metadata"]["location"], "the park");
    assert_eq!(ev["recurrence_rule"]["frequency"], 2);
    assert_eq!(ev["creator"]["username"], "alice");
    assert_eq!(ev["guild_scheduled_event_exceptions"], json!([]));
    let d = with.event("GUILD_SCHEDULED_EVENT_CREATE").await;
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["name"], "Picnic");

    // A voice event in a voice channel, and one in a channel Bob can't see.
    let voice = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "hangout", "type": 2}),
        )
        .await;
    assert_eq!(voice.status, 201, "{}", voice.body);
    let voice_id = voice.body["id"].as_str().unwrap().to_string();
    let hidden = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "secret", "type": 2,
                   "permission_overwrites": [{"id": g, "type": 0, "allow": "0", "deny": "1024"}]}),
        )
        .await;
    assert_eq!(hidden.status, 201, "{}", hidden.body);
    let hidden_id = hidden.body["id"].as_str().unwrap().to_string();
    let voice_event = |channel: &str, name: &str| {
        json!({"name": name, "privacy_level": 2, "entity_type": 2,
               "scheduled_start_time": future(600), "channel_id": channel})
    };
    let r = t
        .post(&base, &alice, voice_event(&voice_id, "Voice chat"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["channel_id"], voice_id.as_str());
    assert_eq!(r.body["entity_metadata"], json!({}));
    let secret = t
        .post(&base, &alice, voice_event(&hidden_id, "Secret"))
        .await;
    assert_eq!(secret.status, 200, "{}", secret.body);
    let secret_id = secret.body["id"].as_str().unwrap().to_string();

    // Listing: Bob doesn't see the event in the channel he can't see.
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let all = t.get(&base, &alice).await;
    assert_eq!(names(&all.body), ["Picnic", "Voice chat", "Secret"]);
    assert!(all.body[0].get("user_count").is_none());
    let bobs = t.get(&format!("{base}?with_user_count=true"), &bob).await;
    assert_eq!(names(&bobs.body), ["Picnic", "Voice chat"]);
    assert_eq!(bobs.body[0]["user_count"], 0);
    assert_eq!(
        t.get(&format!("{base}/{secret_id}"), &bob).await.body["code"],
        10070
    );
    assert_eq!(
        t.get(&format!("{base}/1"), &alice).await.body["code"],
        10070
    );

    // Permissions: Bob may create (CREATE_EVENTS is in @everyone's defaults) but not change
    // Alice's event without MANAGE_EVENTS; he may change his own.
    let r = t
        .patch(&format!("{base}/{id}"), &bob, json!({"name": "Bob's now"}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["code"], 50013);
    let own = t.post(&base, &bob, external("Bob's")).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let own_id = own.body["id"].as_str().unwrap().to_string();
    let r = t
        .patch(
            &format!("{base}/{own_id}"),
            &bob,
            json!({"description": "mine"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["description"], "mine");

    // Subscribers: paging in user id order, USER_ADD/USER_REMOVE, counts.
    let me = |tok: &str| {
        let tok = tok.to_string();
        let t = &t;
        async move { t.me(&tok).await["id"].as_str().unwrap().to_string() }
    };
    let (alice_id, bob_id) = (me(&alice).await, me(&bob).await);
    for tok in [&alice, &bob, &bob] {
        let r = t
            .req(
                reqwest::Method::PUT,
                &format!("{base}/{id}/users/@me"),
                Some(tok),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let add = with.event("GUILD_SCHEDULED_EVENT_USER_ADD").await;
    assert_eq!(add["user_id"], alice_id.as_str());
    assert_eq!(add["guild_scheduled_event_id"], id.as_str());
    let add = with.event("GUILD_SCHEDULED_EVENT_USER_ADD").await;
    assert_eq!(add["user_id"], bob_id.as_str());
    let got = t
        .get(&format!("{base}/{id}?with_user_count=true"), &bob)
        .await;
    assert_eq!(got.body["user_count"], 2);
    let users = t
        .get(&format!("{base}/{id}/users?with_member=true"), &alice)
        .await;
    assert_eq!(users.status, 200, "{}", users.body);
    let mut sorted = vec![alice_id.clone(), bob_id.clone()];
    sorted.sort_by_key(|s| s.parse::<u64>().unwrap());
    let ids: Vec<&str> = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, sorted);
    assert!(users.body[0]["member"]["roles"].is_array());
    let after = t
        .get(&format!("{base}/{id}/users?after={}", sorted[0]), &alice)
        .await;
    assert_eq!(after.body.as_array().unwrap().len(), 1);
    assert_eq!(after.body[0]["user"]["id"], sorted[1].as_str());
    let before = t
        .get(
            &format!("{base}/{id}/users?before={}&limit=1", sorted[1]),
            &alice,
        )
        .await;
    assert_eq!(before.body[0]["user"]["id"], sorted[0].as_str());
    let r = t.delete(&format!("{base}/{id}/users/@me"), &bob).await;
    assert_eq!(r.status, 204);
    let removed = with.event("GUILD_SCHEDULED_EVENT_USER_REMOVE").await;
    assert_eq!(removed["user_id"], bob_id.as_str());

    // Status: SCHEDULED → COMPLETED is refused, → ACTIVE → COMPLETED works, then it's final.
    let status = |s: u8| json!({ "status": s });
    let r = t.patch(&format!("{base}/{id}"), &alice, status(3)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], 50035);
    assert!(!common::field_code(&r.body, &["status"]).is_empty());
    let r = t.patch(&format!("{base}/{id}"), &alice, status(2)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], 2);
    let upd = with.event("GUILD_SCHEDULED_EVENT_UPDATE").await;
    assert_eq!(upd["status"], 2);
    // A recurring event completes into its next occurrence, a week on, SCHEDULED again.
    let start = millis(&r.body["scheduled_start_time"]);
    let r = t.patch(&format!("{base}/{id}"), &alice, status(3)).await;
    assert_eq!(r.body["status"], 1, "{}", r.body);
    assert_eq!(
        millis(&r.body["scheduled_start_time"]),
        start + 7 * 86_400_000
    );
    // Without its rule, completing is final.
    let r = t
        .patch(
            &format!("{base}/{id}"),
            &alice,
            json!({"recurrence_rule": null, "status": 2}),
        )
        .await;
    assert_eq!(r.body["status"], 2, "{}", r.body);
    let r = t.patch(&format!("{base}/{id}"), &alice, status(3)).await;
    assert_eq!(r.body["status"], 3);
    let r = t.patch(&format!("{base}/{id}"), &alice, status(2)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = t
        .patch(&format!("{base}/{own_id}"), &alice, status(4))
        .await;
    assert_eq!(r.body["status"], 4);

    // Delete: 204, the dispatch, gone.
    let r = t.delete(&format!("{base}/{own_id}"), &alice).await;
    assert_eq!(r.status, 204);
    let del = with.event("GUILD_SCHEDULED_EVENT_DELETE").await;
    assert_eq!(del["id"], own_id.as_str());
    assert_eq!(
        t.get(&format!("{base}/{own_id}"), &alice).await.body["code"],
        10070
    );

    // The session without the intent saw none of it: the next thing it gets is GUILD_UPDATE.
    let r = t
        .patch(&format!("/guilds/{g}"), &alice, json!({"name": "Events!"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    loop {
        let v = without.recv().await;
        if v["op"] != 0 {
            continue;
        }
        let name = v["t"].as_str().unwrap_or_default().to_string();
        assert!(!name.starts_with("GUILD_SCHEDULED_EVENT"), "{name} leaked");
        if name == "GUILD_UPDATE" {
            break;
        }
    }

    // Audit entries 100/101/102.
    for (action, target) in [(100, &id), (101, &id), (102, &own_id)] {
        let log = t
            .get(
                &format!("/guilds/{g}/audit-logs?action_type={action}"),
                &alice,
            )
            .await;
        assert_eq!(log.status, 200, "{}", log.body);
        let entries = log.body["audit_log_entries"].as_array().unwrap();
        assert!(
            entries.iter().any(|e| e["target_id"] == target.as_str()),
            "{action}: {}",
            log.body
        );
    }

    // GUILD_CREATE carries the events the user can see.
    let mut fresh = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    fresh.identify(&bob, GUILDS).await;
    let gc = fresh.event("GUILD_CREATE").await;
    let mut seen = names(&gc["guild_scheduled_events"]);
    seen.sort();
    assert_eq!(seen, ["Picnic", "Voice chat"]);

    // Events and subscribers survive a restart.
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let got = t
        .get(&format!("{base}/{id}?with_user_count=true"), &alice)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["status"], 3);
    assert_eq!(got.body["user_count"], 1);
    assert_eq!(got.body["recurrence_rule"], Value::Null);
}

/// The scheduled-event dispatches (name, event id, channel id) a session receives before the
/// GUILD_UPDATE that `mark` causes: everything sent before it is already queued, so what is
/// absent was not sent (no timing involved).
async fn events_until_mark(
    t: &common::TestServer,
    owner: &str,
    g: &str,
    mark: &str,
    gws: [&mut common::Gateway; 2],
) -> [Vec<(String, String, Value)>; 2] {
    let r = t
        .patch(&format!("/guilds/{g}"), owner, json!({ "name": mark }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut out: [Vec<(String, String, Value)>; 2] = Default::default();
    for (gw, seen) in gws.into_iter().zip(out.iter_mut()) {
        loop {
            let v = gw.recv().await;
            if v["op"] != 0 {
                continue;
            }
            let name = v["t"].as_str().unwrap_or_default().to_string();
            if name == "GUILD_UPDATE" && v["d"]["name"] == mark {
                break;
            }
            if name.starts_with("GUILD_SCHEDULED_EVENT") {
                let id = v["d"]["id"].as_str().unwrap_or_default().to_string();
                seen.push((name, id, v["d"]["channel_id"].clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn scheduled_events_follow_their_channels_moves_and_deletions() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (g, text) = t.guild(&alice, "Channels").await;
    t.join_via_invite(&alice, &text, &bob).await;
    let mut a = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    a.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    a.event("GUILD_CREATE").await;
    let mut b = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    b.identify(&bob, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    b.event("GUILD_CREATE").await;

    // Two voice channels Bob sees, one he doesn't.
    let channel = |name: &str, hidden: bool| {
        let mut body = json!({"name": name, "type": 2});
        if hidden {
            body["permission_overwrites"] =
                json!([{"id": g, "type": 0, "allow": "0", "deny": "1024"}]);
        }
        let (t, alice, g) = (&t, &alice, &g);
        async move {
            let r = t.post(&format!("/guilds/{g}/channels"), alice, body).await;
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let open = channel("open", false).await;
    let open2 = channel("open2", false).await;
    let secret = channel("secret", true).await;

    let base = format!("/guilds/{g}/scheduled-events");
    let create = |body: Value| {
        let (t, alice, base) = (&t, &alice, &base);
        async move {
            let r = t.post(base, alice, body).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let voice = |channel: &str, name: &str| {
        json!({"name": name, "privacy_level": 2, "entity_type": 2,
               "scheduled_start_time": future(600), "channel_id": channel})
    };
    let ev_a = create(voice(&open, "A")).await;
    let ev_s = create(voice(&secret, "S")).await;
    let ev_x = create(external("X")).await;
    let [seen_a, seen_b] = events_until_mark(&t, &alice, &g, "m0", [&mut a, &mut b]).await;
    assert_eq!(seen_a.len(), 3, "{seen_a:?}");
    assert_eq!(seen_b.len(), 2, "{seen_b:?}");

    let ev =
        |name: &str, id: &str, channel: &str| (name.to_string(), id.to_string(), json!(channel));
    let moved = |id: &str, to: &str| {
        let (t, alice, base) = (&t, &alice, &base);
        let (id, to) = (id.to_string(), to.to_string());
        async move {
            let r = t
                .patch(&format!("{base}/{id}"), alice, json!({ "channel_id": to }))
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["channel_id"], to.as_str());
        }
    };

    // Into a channel Bob can't see: he loses sight of it (the event as he knew it, so the
    // hidden channel's id is not told); Alice sees an update.
    moved(&ev_a, &secret).await;
    let [seen_a, seen_b] = events_until_mark(&t, &alice, &g, "m1", [&mut a, &mut b]).await;
    assert_eq!(seen_a, [ev("GUILD_SCHEDULED_EVENT_UPDATE", &ev_a, &secret)]);
    assert_eq!(seen_b, [ev("GUILD_SCHEDULED_EVENT_DELETE", &ev_a, &open)]);
    // Out of it: Bob gains sight of it.
    moved(&ev_s, &open).await;
    let [seen_a, seen_b] = events_until_mark(&t, &alice, &g, "m2", [&mut a, &mut b]).await;
    assert_eq!(seen_a, [ev("GUILD_SCHEDULED_EVENT_UPDATE", &ev_s, &open)]);
    assert_eq!(seen_b, [ev("GUILD_SCHEDULED_EVENT_CREATE", &ev_s, &open)]);
    // Between two channels he sees: an update.
    moved(&ev_s, &open2).await;
    let [seen_a, seen_b] = events_until_mark(&t, &alice, &g, "m3", [&mut a, &mut b]).await;
    assert_eq!(seen_a, [ev("GUILD_SCHEDULED_EVENT_UPDATE", &ev_s, &open2)]);
    assert_eq!(seen_b, [ev("GUILD_SCHEDULED_EVENT_UPDATE", &ev_s, &open2)]);
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&t.get(&base, &bob).await.body), ["S", "X"]);

    // Deleting a channel deletes its events, told to those who could see them.
    let r = t.delete(&format!("/channels/{open2}"), &alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.delete(&format!("/channels/{secret}"), &alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let [seen_a, seen_b] = events_until_mark(&t, &alice, &g, "m4", [&mut a, &mut b]).await;
    assert_eq!(
        seen_a,
        [
            ev("GUILD_SCHEDULED_EVENT_DELETE", &ev_s, &open2),
            ev("GUILD_SCHEDULED_EVENT_DELETE", &ev_a, &secret)
        ]
    );
    assert_eq!(seen_b, [ev("GUILD_SCHEDULED_EVENT_DELETE", &ev_s, &open2)]);
    // Gone from lists, lookups and GUILD_CREATE; the external event stays.
    assert_eq!(names(&t.get(&base, &alice).await.body), ["X"]);
    for id in [&ev_a, &ev_s] {
        let r = t.get(&format!("{base}/{id}"), &alice).await;
        assert_eq!(r.body["code"], 10070, "{}", r.body);
    }
    let mut fresh = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    fresh.identify(&alice, GUILDS).await;
    let gc = fresh.event("GUILD_CREATE").await;
    assert_eq!(names(&gc["guild_scheduled_events"]), ["X"]);

    // And from storage: after a restart only the external event is loaded.
    drop((a, b, fresh));
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let all = t.get(&base, &alice).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(names(&all.body), ["X"]);
    assert_eq!(all.body[0]["id"], ev_x.as_str());
}

/// An ISO8601 time `ms` milliseconds from now.
fn in_ms(ms: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    accord::model::Timestamp::from_millis(now + ms).to_string()
}

fn millis(iso: &Value) -> i64 {
    accord::model::Timestamp::parse(iso.as_str().unwrap())
        .unwrap()
        .millis()
}

/// An external event from `start_ms` to `end_ms` from now.
fn external_at(name: &str, start_ms: i64, end_ms: i64) -> Value {
    json!({
        "name": name, "privacy_level": 2, "entity_type": 3,
        "scheduled_start_time": in_ms(start_ms), "scheduled_end_time": in_ms(end_ms),
        "entity_metadata": {"location": "the park"},
    })
}

/// Waits for the GUILD_SCHEDULED_EVENT_UPDATE of `id` with `status`.
async fn update_with_status(gw: &mut common::Gateway, id: &str, status: u64) -> Value {
    loop {
        let d = gw.event("GUILD_SCHEDULED_EVENT_UPDATE").await;
        if d["id"] == id && d["status"] == status {
            return d;
        }
    }
}

/// Discord's automation: an EXTERNAL event becomes ACTIVE at its start and COMPLETED at its end,
/// with GUILD_SCHEDULED_EVENT_UPDATE each time; the clock survives a restart (what fell due while
/// the server was down happens at start, what is still ahead is re-armed).
#[tokio::test]
async fn external_events_start_and_end_on_schedule_across_a_restart() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (g, _) = t.guild(&alice, "Clock").await;
    let base = format!("/guilds/{g}/scheduled-events");
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    gw.event("GUILD_CREATE").await;

    let r = t.post(&base, &alice, external_at("soon", 1500, 3000)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let soon = r.body["id"].as_str().unwrap().to_string();
    let started = update_with_status(&mut gw, &soon, 2).await;
    assert_eq!(started["name"], "soon");
    update_with_status(&mut gw, &soon, 3).await;
    let got = t.get(&format!("{base}/{soon}"), &alice).await;
    assert_eq!(got.body["status"], 3, "{}", got.body);

    // One event falls due (start and end) while the server is down, one after it is back.
    let r = t
        .post(&base, &alice, external_at("while down", 1000, 2000))
        .await;
    let down = r.body["id"].as_str().unwrap().to_string();
    let down_end = millis(&r.body["scheduled_end_time"]);
    let r = t
        .post(&base, &alice, external_at("after", 6000, 7000))
        .await;
    let after = r.body["id"].as_str().unwrap().to_string();
    drop(gw);
    let dir = t.stop().await;
    // The server is down past the first event's end: the wall clock is the thing under test.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    tokio::time::sleep(std::time::Duration::from_millis(
        (down_end - now + 200).max(0) as u64,
    ))
    .await;
    let t = common::start_in(dir).await;
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    let gc = gw.event("GUILD_CREATE").await;
    let status = |id: &str| {
        gc["guild_scheduled_events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .map(|e| e["status"].clone())
    };
    assert_eq!(status(&down), Some(json!(3)), "{gc}");
    assert_eq!(status(&after), Some(json!(1)), "{gc}");
    update_with_status(&mut gw, &after, 2).await;
    update_with_status(&mut gw, &after, 3).await;
}

/// A recurring event that completes moves to its next occurrence, SCHEDULED again, instead of
/// ending; so does one a moderator completes by hand.
#[tokio::test]
async fn recurring_events_move_to_their_next_occurrence() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (g, _) = t.guild(&alice, "Weekly").await;
    let base = format!("/guilds/{g}/scheduled-events");
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    gw.event("GUILD_CREATE").await;

    let mut body = external_at("daily", 1500, 2500);
    body["recurrence_rule"] =
        json!({"start": body["scheduled_start_time"], "frequency": 3, "interval": 1});
    let r = t.post(&base, &alice, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let start = millis(&r.body["scheduled_start_time"]);
    let end = millis(&r.body["scheduled_end_time"]);
    update_with_status(&mut gw, &id, 2).await;
    let next = update_with_status(&mut gw, &id, 1).await;
    let day = 86_400_000;
    assert_eq!(millis(&next["scheduled_start_time"]), start + day);
    assert_eq!(millis(&next["scheduled_end_time"]), end + day);
    assert_eq!(next["recurrence_rule"]["frequency"], 3);

    // By hand: start it, then complete it; it comes back for the day after.
    let r = t
        .patch(&format!("{base}/{id}"), &alice, json!({"status": 2}))
        .await;
    assert_eq!(r.body["status"], 2, "{}", r.body);
    let r = t
        .patch(&format!("{base}/{id}"), &alice, json!({"status": 3}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], 1);
    assert_eq!(millis(&r.body["scheduled_start_time"]), start + 2 * day);
}

/// Stage and voice events are started by a moderator, never by the clock; one nobody started is
/// canceled `event_auto_cancel_secs` after its start, and an ACTIVE one whose channel stays
/// empty for `event_empty_end_secs` completes.
#[tokio::test]
async fn voice_events_cancel_unstarted_and_complete_when_empty() {
    let t = common::start().await;
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"guild": {"event_auto_cancel_secs": 1, "event_empty_end_secs": 1}}}),
        )
        .await
        .unwrap();
    let alice = t.register("alice").await;
    let (g, _) = t.guild(&alice, "Voice").await;
    let base = format!("/guilds/{g}/scheduled-events");
    let voice = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "hangout", "type": 2}),
        )
        .await;
    let voice = voice.body["id"].as_str().unwrap().to_string();
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    gw.event("GUILD_CREATE").await;
    let event = |name: &str, start_ms: i64| {
        json!({"name": name, "privacy_level": 2, "entity_type": 2,
               "scheduled_start_time": in_ms(start_ms), "channel_id": voice})
    };
    let r = t.post(&base, &alice, event("nobody came", 500)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let unstarted = r.body["id"].as_str().unwrap().to_string();
    let r = t.post(&base, &alice, event("started", 60_000)).await;
    let started = r.body["id"].as_str().unwrap().to_string();
    let r = t
        .patch(&format!("{base}/{started}"), &alice, json!({"status": 2}))
        .await;
    assert_eq!(r.body["status"], 2, "{}", r.body);
    // The clock never starts a voice event: the unstarted one goes straight to CANCELED, the
    // started one (its channel empty) to COMPLETED, in whichever order their times come.
    let (mut canceled, mut completed) = (false, false);
    while !(canceled && completed) {
        let d = gw.event("GUILD_SCHEDULED_EVENT_UPDATE").await;
        if d["id"] == unstarted {
            assert_eq!(d["status"], 4, "{d}");
            canceled = true;
        } else if d["id"] == started && d["status"] != 2 {
            assert_eq!(d["status"], 3, "{d}");
            completed = true;
        }
    }
}

/// Recurrence rules are checked as Discord's docs list the allowed fields and combinations.
#[tokio::test]
async fn recurrence_rules_are_validated_like_discord() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (g, _) = t.guild(&alice, "Rules").await;
    let base = format!("/guilds/{g}/scheduled-events");
    let start = in_ms(3_600_000);
    let cases = [
        (json!({"start": start, "frequency": 3, "count": 5}), "count"),
        (json!({"start": start, "frequency": 3, "end": start}), "end"),
        (
            json!({"start": start, "frequency": 3, "interval": 2}),
            "interval",
        ),
        (
            json!({"start": start, "frequency": 3, "by_weekday": [0, 3]}),
            "by_weekday",
        ),
        (
            json!({"start": start, "frequency": 2, "by_weekday": [0, 3]}),
            "by_weekday",
        ),
        (
            json!({"start": start, "frequency": 1, "by_weekday": [1]}),
            "by_weekday",
        ),
        (
            json!({"start": start, "frequency": 2, "by_n_weekday": [{"n": 1, "day": 1}]}),
            "by_n_weekday",
        ),
        (
            json!({"start": start, "frequency": 0, "by_month": [7]}),
            "by_month_day",
        ),
        (json!({"start": start, "frequency": 9}), "frequency"),
        (json!({"frequency": 3}), "start"),
    ];
    for (rule, field) in cases {
        let mut body = external_at("rule", 3_600_000, 7_200_000);
        body["recurrence_rule"] = rule.clone();
        let r = t.post(&base, &alice, body).await;
        assert_eq!(r.status, 400, "{rule}: {}", r.body);
        assert_eq!(r.body["code"], 50035);
        assert!(
            !common::field_code(&r.body, &["recurrence_rule", field]).is_empty(),
            "{rule}: {}",
            r.body
        );
    }
    let mut body = external_at("rule", 3_600_000, 7_200_000);
    body["recurrence_rule"] = json!({"start": start, "frequency": 1, "interval": 1, "by_n_weekday": [{"n": 4, "day": 2}]});
    let r = t.post(&base, &alice, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["recurrence_rule"]["by_n_weekday"][0]["n"], 4);
    assert_eq!(r.body["recurrence_rule"]["count"], Value::Null);
}

/// The exception id of the occurrence originally starting at `ms` (Discord's: the snowflake of
/// that time).
fn occurrence_id(ms: i64) -> String {
    accord::id::Snowflake::from_timestamp_ms(ms as u64)
        .get()
        .to_string()
}

/// Recurrence exceptions: create/modify/delete with Discord's validation and permissions, shown
/// in the event (with a GUILD_SCHEDULED_EVENT_UPDATE), answers for single occurrences feeding
/// `users/counts` and `…/{exception}/users`, and the clock skipping a canceled occurrence.
#[tokio::test]
async fn recurrence_exceptions_answers_and_counts() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (g, text) = t.guild(&alice, "Exceptions").await;
    t.join_via_invite(&alice, &text, &bob).await;
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    let base = format!("/guilds/{g}/scheduled-events");
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    gw.event("GUILD_CREATE").await;

    let mut body = external_at("weekly", 3_600_000, 7_200_000);
    body["recurrence_rule"] =
        json!({"start": body["scheduled_start_time"], "frequency": 2, "interval": 1});
    let r = t.post(&base, &alice, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let start = millis(&r.body["scheduled_start_time"]);
    let week = 7 * 86_400_000;
    let iso = |ms: i64| accord::model::Timestamp::from_millis(ms).to_string();
    let exceptions = format!("{base}/{id}/exceptions");

    // Validation.
    let r = t
        .post(&exceptions, &alice, json!({"is_canceled": true}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        common::field_code(&r.body, &["original_scheduled_start_time"]),
        "BASE_TYPE_REQUIRED"
    );
    let r = t
        .post(
            &exceptions,
            &alice,
            json!({"original_scheduled_start_time": iso(start + 86_400_000)}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!common::field_code(&r.body, &["original_scheduled_start_time"]).is_empty());
    let once = t
        .post(&base, &alice, external_at("once", 3_600_000, 7_200_000))
        .await;
    let once = once.body["id"].as_str().unwrap().to_string();
    let r = t
        .post(
            &format!("{base}/{once}/exceptions"),
            &alice,
            json!({"original_scheduled_start_time": iso(start)}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Bob lacks MANAGE_EVENTS.
    let r = t
        .post(
            &exceptions,
            &bob,
            json!({"original_scheduled_start_time": iso(start + week)}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(50013)),
        "{}",
        r.body
    );

    // Create: next week's occurrence an hour later, lasting two hours.
    let r = t
        .post(
            &exceptions,
            &alice,
            json!({"original_scheduled_start_time": iso(start + week),
                   "scheduled_start_time": iso(start + week + 3_600_000),
                   "scheduled_end_time": iso(start + week + 3 * 3_600_000)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let x = r.body["event_exception_id"].as_str().unwrap().to_string();
    assert_eq!(x, occurrence_id(start + week));
    assert_eq!(r.body["event_id"], id.as_str());
    assert_eq!(r.body["is_canceled"], false);
    assert_eq!(
        millis(&r.body["scheduled_start_time"]),
        start + week + 3_600_000
    );
    let d = update_with_status(&mut gw, &id, 1).await;
    assert_eq!(
        d["guild_scheduled_event_exceptions"][0]["event_exception_id"],
        x.as_str()
    );

    // Modify: an end before the start is refused; canceling is fine.
    let one = format!("{exceptions}/{x}");
    let r = t
        .patch(
            &one,
            &alice,
            json!({"scheduled_end_time": iso(start + week)}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!common::field_code(&r.body, &["scheduled_end_time"]).is_empty());
    let r = t.patch(&one, &alice, json!({"is_canceled": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["is_canceled"], true);
    let got = t.get(&format!("{base}/{id}"), &bob).await;
    assert_eq!(
        got.body["guild_scheduled_event_exceptions"],
        json!([{"event_id": id, "event_exception_id": x, "is_canceled": true,
                "scheduled_start_time": iso(start + week + 3_600_000),
                "scheduled_end_time": iso(start + week + 3 * 3_600_000)}])
    );

    // Answers and counts: Alice follows the series but skips next week; Bob comes to next week
    // only.
    let r = put(&t, &format!("{base}/{id}/users/@me"), &alice, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(
        &t,
        &format!("{base}/{id}/{x}/users/@me"),
        &alice,
        Some(json!({"response": 0})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(&t, &format!("{base}/{id}/{x}/users/@me"), &bob, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"], 1);
    let added = loop {
        let d = gw.event("GUILD_SCHEDULED_EVENT_USER_ADD").await;
        if d["user_id"] == bob_id.as_str() {
            break d;
        }
    };
    assert_eq!(added["guild_scheduled_event_exception_id"], x.as_str());
    let later = occurrence_id(start + 2 * week);
    let counts = t
        .get(
            &format!("{base}/{id}/users/counts?guild_scheduled_event_exception_ids={x}&guild_scheduled_event_exception_ids={later}"),
            &bob,
        )
        .await;
    assert_eq!(counts.status, 200, "{}", counts.body);
    assert_eq!(
        counts.body,
        json!({"guild_scheduled_event_count": 1,
               "guild_scheduled_event_exception_counts": {x.clone(): 1, later.clone(): 1}})
    );
    let users = t.get(&format!("{base}/{id}/{x}/users"), &alice).await;
    assert_eq!(users.status, 200, "{}", users.body);
    let listed: Vec<&str> = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [bob_id.as_str()]);
    assert_eq!(
        users.body[0]["guild_scheduled_event_exception_id"],
        x.as_str()
    );
    // Bob forgets his answer: nobody comes next week.
    let r = t.delete(&format!("{base}/{id}/{x}/users/@me"), &bob).await;
    assert_eq!(r.status, 204);
    let counts = t
        .get(
            &format!("{base}/{id}/users/counts?guild_scheduled_event_exception_ids={x}"),
            &bob,
        )
        .await;
    assert_eq!(counts.body["guild_scheduled_event_exception_counts"][&x], 0);
    // Not an occurrence; too many ids.
    let odd = occurrence_id(start + 86_400_000);
    let r = put(&t, &format!("{base}/{id}/{odd}/users/@me"), &bob, None).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10070)));
    let many: Vec<String> = (1..=11)
        .map(|n| {
            format!(
                "guild_scheduled_event_exception_ids={}",
                occurrence_id(start + n * week)
            )
        })
        .collect();
    let r = t
        .get(
            &format!("{base}/{id}/users/counts?{}", many.join("&")),
            &bob,
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50035)));

    // Delete: the occurrence follows the rule again; a second delete finds nothing.
    assert_eq!(t.delete(&one, &alice).await.status, 204);
    let r = t.delete(&one, &alice).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let got = t.get(&format!("{base}/{id}"), &bob).await;
    assert_eq!(got.body["guild_scheduled_event_exceptions"], json!([]));

    // The clock skips a canceled occurrence: canceling the current one moves the event on.
    let mut body = external_at("daily", 1500, 2500);
    body["recurrence_rule"] =
        json!({"start": body["scheduled_start_time"], "frequency": 3, "interval": 1});
    let r = t.post(&base, &alice, body).await;
    let daily = r.body["id"].as_str().unwrap().to_string();
    let first = millis(&r.body["scheduled_start_time"]);
    let r = t
        .post(
            &format!("{base}/{daily}/exceptions"),
            &alice,
            json!({"original_scheduled_start_time": iso(first), "is_canceled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    loop {
        let d = gw.event("GUILD_SCHEDULED_EVENT_UPDATE").await;
        if d["id"] != daily.as_str() {
            continue;
        }
        assert_eq!(d["status"], 1, "never started: {d}");
        if millis(&d["scheduled_start_time"]) == first + 86_400_000 {
            assert_eq!(d["guild_scheduled_event_exceptions"], json!([]));
            break;
        }
    }
}

async fn put(t: &common::TestServer, path: &str, token: &str, body: Option<Value>) -> common::Resp {
    t.req(reqwest::Method::PUT, path, Some(token), body).await
}

/// A stage event starts when a moderator opens its stage instance (`entity_id` is the
/// instance) and completes when the instance closes.
#[tokio::test]
async fn stage_events_follow_their_stage_instance() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (g, _) = t.guild(&alice, "Stage").await;
    let stage = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "talks", "type": 13}),
        )
        .await;
    assert_eq!(stage.status, 201, "{}", stage.body);
    let stage = stage.body["id"].as_str().unwrap().to_string();
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    gw.event("GUILD_CREATE").await;
    let r = t
        .post(
            &format!("/guilds/{g}/scheduled-events"),
            &alice,
            json!({"name": "AMA", "privacy_level": 2, "entity_type": 1,
                   "scheduled_start_time": in_ms(600_000), "channel_id": stage}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = t
        .post(
            "/stage-instances",
            &alice,
            json!({"channel_id": stage, "topic": "ask away", "guild_scheduled_event_id": id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let instance = r.body["id"].as_str().unwrap().to_string();
    let started = update_with_status(&mut gw, &id, 2).await;
    assert_eq!(started["entity_id"], instance.as_str());
    let r = t.delete(&format!("/stage-instances/{stage}"), &alice).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let ended = update_with_status(&mut gw, &id, 3).await;
    assert_eq!(ended["entity_id"], Value::Null);
}
