//! Threads over HTTP and the gateway: starting one from a message (the starter's `thread`,
//! MESSAGE_UPDATE, 160004 on a second one) and standalone (the THREAD_CREATED system message),
//! validation with Discord's codes, THREAD_CREATE to those who may see the thread (private
//! ones only to their members and MANAGE_THREADS holders), posting in a thread
//! (SEND_MESSAGES_IN_THREADS, counts), thread members and their events, archiving, locking,
//! the active and archived lists, deletion, `threads` in GUILD_CREATE, the audit log, and the
//! auto-archive timer — also across a restart.

mod common;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_MESSAGES: u64 = 1 << 9;

const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
/// VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY.
const BASIC: u64 = (1 << 10) | (1 << 11) | (1 << 16);

async fn gateway(t: &common::TestServer, token: &str, intents: u64) -> (common::Gateway, Value) {
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(token, intents).await;
    let guild = gw.event("GUILD_CREATE").await;
    (gw, guild)
}

async fn put(t: &common::TestServer, path: &str, token: &str) -> common::Resp {
    t.req(Method::PUT, path, Some(token), Some(json!({}))).await
}

/// The next THREAD_UPDATE about `thread` (others are skipped).
async fn thread_update(gw: &mut common::Gateway, thread: &str) -> Value {
    loop {
        let d = gw.event("THREAD_UPDATE").await;
        if d["id"] == thread {
            return d;
        }
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn set_everyone(t: &common::TestServer, owner: &str, guild: &str, perms: u64) {
    let r = t
        .patch(
            &format!("/guilds/{guild}/roles/{guild}"),
            owner,
            json!({"permissions": perms.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn set_thread_limits(t: &common::TestServer, limits: Value) {
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"thread": limits}}),
        )
        .await
        .expect("patch");
}

#[tokio::test]
async fn thread_from_a_message_marks_it_and_counts_its_messages() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let alice_id = id(&t.me(&alice).await);
    let (g, c) = t.guild(&alice, "Threads").await;
    t.join_via_invite(&alice, &c, &bob).await;
    let (mut bob_gw, _) = gateway(&t, &bob, GUILDS | GUILD_MESSAGES).await;
    let m = id(&t
        .post(
            &format!("/channels/{c}/messages"),
            &alice,
            json!({"content": "let's talk"}),
        )
        .await
        .body);
    bob_gw.event("MESSAGE_CREATE").await;

    let threads = format!("/channels/{c}/messages/{m}/threads");
    let r = t
        .post(
            &threads,
            &alice,
            json!({"name": " Talk ", "auto_archive_duration": 60, "rate_limit_per_user": null}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let thread = r.body.clone();
    assert_eq!(thread["id"], m.as_str(), "a thread takes its message's id");
    assert_eq!(thread["type"], 11);
    assert_eq!(thread["name"], "Talk");
    assert_eq!(thread["guild_id"], g.as_str());
    assert_eq!(thread["parent_id"], c.as_str());
    assert_eq!(thread["owner_id"], alice_id.as_str());
    assert_eq!(thread["thread_metadata"]["archived"], false);
    assert_eq!(thread["thread_metadata"]["locked"], false);
    assert_eq!(thread["thread_metadata"]["auto_archive_duration"], 60);
    assert_eq!(thread["member_count"], 1);
    assert_eq!(thread["message_count"], 0);
    assert!(thread.get("permission_overwrites").is_none());
    // A strict client model takes it (twilight's Channel with thread metadata).
    let parsed = serde_json::from_value::<twilight_model::channel::Channel>(thread.clone())
        .expect("twilight parses the thread");
    assert!(parsed.thread_metadata.is_some());

    let created = bob_gw.event("THREAD_CREATE").await;
    assert_eq!(created["id"], m.as_str());
    assert_eq!(created["newly_created"], true);
    let updated = bob_gw.event("MESSAGE_UPDATE").await;
    assert_eq!(updated["id"], m.as_str());
    assert_eq!(updated["thread"]["id"], m.as_str());
    let starter = t.get(&format!("/channels/{c}/messages/{m}"), &bob).await;
    assert_eq!(starter.body["thread"]["name"], "Talk");

    // A second thread from the same message.
    let r = t.post(&threads, &bob, json!({"name": "again"})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(160004)));
    // A message that isn't there.
    let r = t
        .post(
            &format!("/channels/{c}/messages/1234567890123456789/threads"),
            &alice,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10008)));

    // Posting in the thread: counts grow, the parent's members see it.
    let in_thread = format!("/channels/{m}/messages");
    for text in ["one", "two"] {
        let r = t.post(&in_thread, &bob, json!({"content": text})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let d = bob_gw.event("MESSAGE_CREATE").await;
        assert_eq!(d["channel_id"], m.as_str());
    }
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let v = t.get(&format!("/channels/{m}"), &bob).await.body;
        if v["message_count"] == 2 {
            assert_eq!(v["total_message_sent"], 2);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not counted: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // GUILD_CREATE lists it under `threads`, not `channels`.
    let (_gw, guild) = gateway(&t, &bob, GUILDS).await;
    let ids =
        |key: &str| -> Vec<String> { guild[key].as_array().unwrap().iter().map(id).collect() };
    assert_eq!(ids("threads"), vec![m.clone()]);
    assert_eq!(guild["threads"][0]["member"]["user_id"], json!(null));
    serde_json::from_value::<twilight_model::guild::Guild>(guild.clone())
        .expect("twilight parses GUILD_CREATE with threads");
    assert!(!ids("channels").contains(&m));
    let r = t.get(&format!("/guilds/{g}/channels"), &bob).await;
    assert!(!r.body.to_string().contains(&format!("\"id\":\"{m}\"")));

    // The audit log has THREAD_CREATE (110).
    let r = t
        .get(&format!("/guilds/{g}/audit-logs?action_type=110"), &alice)
        .await;
    let entries = r.body["audit_log_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", r.body);
    assert_eq!(entries[0]["target_id"], m.as_str());
}

#[tokio::test]
async fn thread_bodies_are_validated_with_discords_codes() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (g, c) = t.guild(&alice, "Threads").await;
    let threads = format!("/channels/{c}/threads");
    let r = t.post(&threads, &alice, json!({})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50035)));
    assert_eq!(common::field_code(&r.body, &["name"]), "BASE_TYPE_REQUIRED");
    let r = t
        .post(&threads, &alice, json!({"name": "x".repeat(101)}))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["name"]),
        "BASE_TYPE_BAD_LENGTH"
    );
    let r = t
        .post(
            &threads,
            &alice,
            json!({"name": "a", "auto_archive_duration": 61}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["auto_archive_duration"]),
        "BASE_TYPE_CHOICES"
    );
    let r = t
        .post(
            &threads,
            &alice,
            json!({"name": "a", "rate_limit_per_user": 21601}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["rate_limit_per_user"]),
        "NUMBER_TYPE_MAX"
    );
    let r = t
        .post(&threads, &alice, json!({"name": "a", "type": 10}))
        .await;
    assert_eq!(common::field_code(&r.body, &["type"]), "BASE_TYPE_CHOICES");
    // Announcement channels take announcement threads only.
    let news = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "news", "type": 5}),
        )
        .await
        .body;
    let r = t
        .post(
            &format!("/channels/{}/threads", id(&news)),
            &alice,
            json!({"name": "a", "type": 12}),
        )
        .await;
    assert_eq!(common::field_code(&r.body, &["type"]), "BASE_TYPE_CHOICES");
    let r = t
        .post(
            &format!("/channels/{}/threads", id(&news)),
            &alice,
            json!({"name": "a"}),
        )
        .await;
    assert_eq!((r.status, r.body["type"].clone()), (201, json!(10)));
    // Not in a thread, not in a voice channel.
    let thread = id(&t.post(&threads, &alice, json!({"name": "t"})).await.body);
    let r = t
        .post(
            &format!("/channels/{thread}/threads"),
            &alice,
            json!({"name": "a"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50024)));
    // The active threads limit (live config), 160006.
    set_thread_limits(&t, json!({"max_active_per_guild": 2})).await;
    let r = t.post(&threads, &alice, json!({"name": "third"})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(160006)));
}

#[tokio::test]
async fn standalone_and_private_threads_and_their_permissions() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let bob_id = id(&t.me(&bob).await);
    let (g, c) = t.guild(&alice, "Threads").await;
    t.join_via_invite(&alice, &c, &bob).await;
    t.join_via_invite(&alice, &c, &carol).await;
    let (mut carol_gw, _) = gateway(&t, &carol, GUILDS | GUILD_MESSAGES).await;

    // A standalone public thread: the THREAD_CREATED (18) message in the parent names it.
    let public = t
        .post(
            &format!("/channels/{c}/threads"),
            &bob,
            json!({"name": "Plans"}),
        )
        .await;
    assert_eq!(public.status, 201, "{}", public.body);
    assert_eq!(public.body["type"], 11);
    let public = id(&public.body);
    assert_eq!(carol_gw.event("THREAD_CREATE").await["id"], public.as_str());
    let system = carol_gw.event("MESSAGE_CREATE").await;
    assert_eq!(system["type"], 18);
    assert_eq!(system["channel_id"], c.as_str());
    assert_eq!(system["content"], "Plans");
    assert_eq!(system["message_reference"]["channel_id"], public.as_str());

    // A private thread: only its members and MANAGE_THREADS holders see it.
    let private = t
        .post(
            &format!("/channels/{c}/threads"),
            &alice,
            json!({"name": "Secret", "type": 12, "invitable": false}),
        )
        .await;
    assert_eq!(private.status, 201, "{}", private.body);
    assert_eq!(private.body["thread_metadata"]["invitable"], false);
    let private = id(&private.body);
    let r = t.get(&format!("/channels/{private}"), &carol).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50001)));
    let r = t
        .post(
            &format!("/channels/{private}/messages"),
            &carol,
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(r.status, 403);
    // Carol may not add herself to it; the creator adds Bob.
    let r = put(
        &t,
        &format!("/channels/{private}/thread-members/@me"),
        &carol,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = put(
        &t,
        &format!("/channels/{private}/thread-members/{bob_id}"),
        &alice,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t.get(&format!("/channels/{private}"), &bob).await;
    assert_eq!(r.status, 200);
    // Carol, who can't see it, heard of none of it: the next event she gets is a later one.
    t.post(
        &format!("/channels/{c}/messages"),
        &alice,
        json!({"content": "later"}),
    )
    .await;
    let next = loop {
        let v = carol_gw.recv().await;
        if v["op"] == 0 {
            break v;
        }
    };
    assert_eq!(next["t"], "MESSAGE_CREATE", "{next}");
    assert_eq!(next["d"]["content"], "later");

    // Without SEND_MESSAGES_IN_THREADS no posting in threads (SEND_MESSAGES is not enough);
    // without CREATE_PUBLIC_THREADS no new threads.
    set_everyone(&t, &alice, &g, BASIC | CREATE_PUBLIC_THREADS).await;
    let r = t
        .post(
            &format!("/channels/{public}/messages"),
            &carol,
            json!({"content": "x"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    set_everyone(&t, &alice, &g, BASIC | SEND_MESSAGES_IN_THREADS).await;
    let r = t
        .post(
            &format!("/channels/{public}/messages"),
            &carol,
            json!({"content": "x"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            &format!("/channels/{c}/threads"),
            &carol,
            json!({"name": "no"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
}

#[tokio::test]
async fn thread_members_join_leave_list_and_their_events() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let alice_id = id(&t.me(&alice).await);
    let bob_id = id(&t.me(&bob).await);
    let (g, c) = t.guild(&alice, "Threads").await;
    t.join_via_invite(&alice, &c, &bob).await;
    let thread = id(&t
        .post(
            &format!("/channels/{c}/threads"),
            &alice,
            json!({"name": "t"}),
        )
        .await
        .body);
    let (mut alice_gw, _) = gateway(&t, &alice, GUILDS | GUILD_MEMBERS).await;
    let (mut bob_gw, _) = gateway(&t, &bob, GUILDS).await;

    let me = format!("/channels/{thread}/thread-members/@me");
    assert_eq!(put(&t, &me, &bob).await.status, 204);
    let own = bob_gw.event("THREAD_MEMBER_UPDATE").await;
    assert_eq!(own["id"], thread.as_str());
    assert_eq!(own["user_id"], bob_id.as_str());
    assert_eq!(own["guild_id"], g.as_str());
    let members = bob_gw.event("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(members["member_count"], 2);
    assert_eq!(members["added_members"][0]["user_id"], bob_id.as_str());
    // Alice (GUILD_MEMBERS) hears of others joining.
    let seen = alice_gw.event("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(seen["added_members"][0]["user_id"], bob_id.as_str());
    // Joining again changes nothing.
    assert_eq!(put(&t, &me, &bob).await.status, 204);

    let list = t
        .get(&format!("/channels/{thread}/thread-members"), &bob)
        .await;
    let users: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    let mut want = vec![alice_id.as_str(), bob_id.as_str()];
    want.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_eq!(users, want);
    let after = t
        .get(
            &format!(
                "/channels/{thread}/thread-members?after={}&limit=1&with_member=true",
                want[0]
            ),
            &bob,
        )
        .await;
    let page = after.body.as_array().unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["user_id"], want[1]);
    assert!(
        page[0]["member"]["user"]["id"].is_string(),
        "{}",
        after.body
    );
    let r = t
        .get(
            &format!("/channels/{thread}/thread-members?limit=101"),
            &bob,
        )
        .await;
    assert_eq!(common::field_code(&r.body, &["limit"]), "NUMBER_TYPE_MAX");
    let one = t
        .get(
            &format!("/channels/{thread}/thread-members/{bob_id}"),
            &alice,
        )
        .await;
    assert_eq!(one.body["id"], thread.as_str());
    assert!(one.body["join_timestamp"].is_string());

    // Bob may not remove Alice; Alice (MANAGE_THREADS) may remove Bob.
    let alice_member = format!("/channels/{thread}/thread-members/{alice_id}");
    let r = t.delete(&alice_member, &bob).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t
        .delete(
            &format!("/channels/{thread}/thread-members/{bob_id}"),
            &alice,
        )
        .await;
    assert_eq!(r.status, 204);
    let removed = bob_gw.event("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(removed["removed_member_ids"], json!([bob_id]));
    assert_eq!(removed["member_count"], 1);
    let r = t
        .get(
            &format!("/channels/{thread}/thread-members/{bob_id}"),
            &alice,
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10007)));
    // Leaving the guild leaves its threads.
    assert_eq!(put(&t, &me, &bob).await.status, 204);
    let r = t.delete(&format!("/users/@me/guilds/{g}"), &bob).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t
        .get(
            &format!("/channels/{thread}/thread-members/{bob_id}"),
            &alice,
        )
        .await;
    assert_eq!(r.body["code"], 10007, "{}", r.body);
    // Alice leaves on her own.
    assert_eq!(t.delete(&me, &alice).await.status, 204);
    let list = t
        .get(&format!("/channels/{thread}/thread-members"), &alice)
        .await;
    assert_eq!(list.body, json!([]));
    assert_eq!(
        t.get(&format!("/channels/{thread}"), &alice).await.body["member_count"],
        0
    );
}

#[tokio::test]
async fn archive_lock_unarchive_lists_and_delete() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (g, c) = t.guild(&alice, "Threads").await;
    t.join_via_invite(&alice, &c, &bob).await;
    let (mut bob_gw, _) = gateway(&t, &bob, GUILDS | GUILD_MESSAGES).await;
    let thread = id(&t
        .post(
            &format!("/channels/{c}/threads"),
            &bob,
            json!({"name": "t"}),
        )
        .await
        .body);
    let private = id(&t
        .post(
            &format!("/channels/{c}/threads"),
            &bob,
            json!({"name": "p", "type": 12}),
        )
        .await
        .body);
    let path = format!("/channels/{thread}");
    let early = id(&t
        .post(
            &format!("{path}/messages"),
            &bob,
            json!({"content": "early"}),
        )
        .await
        .body);

    // Active threads.
    let active = t.get(&format!("/guilds/{g}/threads/active"), &bob).await;
    assert_eq!(active.body["threads"].as_array().unwrap().len(), 2);
    assert_eq!(active.body["members"].as_array().unwrap().len(), 2);

    // The creator archives their thread; THREAD_UPDATE says so.
    let r = t.patch(&path, &bob, json!({"archived": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["thread_metadata"]["archived"], true);
    let up = thread_update(&mut bob_gw, &thread).await;
    assert_eq!(up["thread_metadata"]["archived"], true);
    // Archived: no more changes but unarchiving, and no new members.
    let r = t.patch(&path, &bob, json!({"name": "renamed"})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50083)));
    let r = put(&t, &format!("{path}/thread-members/@me"), &alice).await;
    assert_eq!(r.body["code"], 50083);
    // Its messages are read-only meanwhile: no edits, no reactions.
    let r = t
        .patch(
            &format!("{path}/messages/{early}"),
            &bob,
            json!({"content": "edited"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50083)));
    let r = put(
        &t,
        &format!("{path}/messages/{early}/reactions/%F0%9F%91%8D/@me"),
        &bob,
    )
    .await;
    assert_eq!(r.body["code"], 50083, "{}", r.body);

    // Listed as archived (public), newest first; `before` pages.
    let public = t
        .get(&format!("/channels/{c}/threads/archived/public"), &bob)
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(public.body["threads"][0]["id"], thread.as_str());
    assert_eq!(public.body["has_more"], false);
    let at = public.body["threads"][0]["thread_metadata"]["archive_timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let before = t
        .get(
            &format!(
                "/channels/{c}/threads/archived/public?before={}",
                urlencode(&at)
            ),
            &bob,
        )
        .await;
    assert_eq!(before.body["threads"], json!([]), "{}", before.body);
    let r = t
        .get(
            &format!("/channels/{c}/threads/archived/public?before=yesterday"),
            &bob,
        )
        .await;
    assert_eq!(common::field_code(&r.body, &["before"]), "DATE_TYPE_PARSE");

    // Private archived lists: MANAGE_THREADS for all of them, or one's own.
    let r = t
        .patch(
            &format!("/channels/{private}"),
            &bob,
            json!({"archived": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .get(&format!("/channels/{c}/threads/archived/private"), &bob)
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t
        .get(&format!("/channels/{c}/threads/archived/private"), &alice)
        .await;
    assert_eq!(r.body["threads"][0]["id"], private.as_str());
    let r = t
        .get(
            &format!("/channels/{c}/users/@me/threads/archived/private"),
            &bob,
        )
        .await;
    assert_eq!(r.body["threads"][0]["id"], private.as_str());
    assert_eq!(r.body["members"][0]["id"], private.as_str());

    // A message in an archived, unlocked thread reopens it.
    let r = t
        .post(
            &format!("{path}/messages"),
            &bob,
            json!({"content": "back"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let up = thread_update(&mut bob_gw, &thread).await;
    assert_eq!(up["thread_metadata"]["archived"], false);

    // Locked and archived: only MANAGE_THREADS reopens it; Bob may not lock.
    let r = t.patch(&path, &bob, json!({"locked": true})).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t.patch(&path, &alice, json!({"locked": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            &format!("{path}/messages"),
            &bob,
            json!({"content": "locked out"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(160005)));
    let r = t
        .post(
            &format!("{path}/messages"),
            &alice,
            json!({"content": "moderator"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.patch(&path, &alice, json!({"archived": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            &format!("{path}/messages"),
            &bob,
            json!({"content": "let me in"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50083)));
    let r = t.patch(&path, &bob, json!({"archived": false})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = t
        .patch(
            &path,
            &alice,
            json!({"archived": false, "auto_archive_duration": 1440}),
        )
        .await;
    assert_eq!(r.body["thread_metadata"]["auto_archive_duration"], 1440);
    assert_eq!(r.body["thread_metadata"]["archived"], false);
    let r = t
        .patch(&path, &alice, json!({"auto_archive_duration": 7}))
        .await;
    assert_eq!(
        common::field_code(&r.body, &["auto_archive_duration"]),
        "BASE_TYPE_CHOICES"
    );

    // Deleting: MANAGE_THREADS; THREAD_DELETE carries ids and type only.
    let r = t.delete(&path, &bob).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t.delete(&path, &alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let gone = bob_gw.event("THREAD_DELETE").await;
    assert_eq!(
        gone,
        json!({"id": thread, "guild_id": g, "parent_id": c, "type": 11})
    );
    let r = t.get(&path, &alice).await;
    assert_eq!(r.body["code"], 10003);
    let r = t
        .get(&format!("/guilds/{g}/audit-logs?action_type=112"), &alice)
        .await;
    assert_eq!(r.body["audit_log_entries"].as_array().unwrap().len(), 1);
    let r = t
        .get(&format!("/guilds/{g}/audit-logs?action_type=111"), &alice)
        .await;
    assert!(!r.body["audit_log_entries"].as_array().unwrap().is_empty());
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn idle_threads_archive_themselves_also_across_a_restart() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (_, c) = t.guild(&alice, "Threads").await;
    // One "minute" of auto_archive_duration lasts one second here, and 1 is allowed.
    set_thread_limits(
        &t,
        json!({"minute_secs": 1, "auto_archive_durations": [1, 60, 1440, 4320, 10080]}),
    )
    .await;
    let (mut gw, _) = gateway(&t, &alice, GUILDS).await;
    let thread = id(&t
        .post(
            &format!("/channels/{c}/threads"),
            &alice,
            json!({"name": "quick", "auto_archive_duration": 1}),
        )
        .await
        .body);
    let up = gw.event("THREAD_UPDATE").await;
    assert_eq!(up["id"], thread.as_str());
    assert_eq!(up["thread_metadata"]["archived"], true);

    // One still active at shutdown archives after the restart, from its stored clock.
    set_thread_limits(&t, json!({"minute_secs": 3})).await;
    let later = id(&t
        .post(
            &format!("/channels/{c}/threads"),
            &alice,
            json!({"name": "across", "auto_archive_duration": 1}),
        )
        .await
        .body);
    drop(gw);
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let v = t.get(&format!("/channels/{later}"), &alice).await.body;
        if v["thread_metadata"]["archived"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never archived: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
