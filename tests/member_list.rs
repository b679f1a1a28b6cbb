//! Live member lists (gateway ops 14/37, GUILD_MEMBER_LIST_UPDATE) as Discord's web client uses
//! them: a scripted user client (no `intents`, with `capabilities`) subscribes to a range of a
//! channel's list, gets a SYNC, then INSERT/UPDATE/DELETE with exact indexes and group counts
//! as members join, come online, get a hoisted role, go invisible and are kicked.

mod common;

use common::{Gateway, TestServer};
use serde_json::{Value, json};

/// HELLO → IDENTIFY as Discord's web client sends it (no `intents`) → READY.
async fn web_client(t: &TestServer, token: &str) -> Gateway {
    let mut gw = Gateway::connect(&t.gateway_url("v=9&encoding=json"), false).await;
    assert_eq!(gw.recv().await["op"], 10);
    gw.send(json!({"op": 2, "d": {
        "token": token,
        "capabilities": 16381,
        "properties": {"os": "Linux", "browser": "Chrome", "device": "", "client_build_number": 250_000},
        "presence": {"status": "online", "since": 0, "activities": [], "afk": false},
        "compress": false,
        "client_state": {"guild_versions": {}}
    }}))
    .await;
    gw.event("READY").await;
    gw
}

/// Op 14 for one channel's ranges.
async fn subscribe(gw: &mut Gateway, guild: &str, channel: &str, ranges: Value) {
    gw.send(json!({"op": 14, "d": {"guild_id": guild, "typing": true, "activities": true, "threads": true, "channels": {channel: ranges}}})).await;
}

/// The next GUILD_MEMBER_LIST_UPDATE whose first op is `first` (others are skipped: a presence
/// repeated by a connecting client, for one, is an UPDATE in place).
async fn list_update(gw: &mut Gateway, first: &str) -> Value {
    loop {
        let d = gw.event("GUILD_MEMBER_LIST_UPDATE").await;
        if d["ops"][0]["op"] == first {
            return d;
        }
    }
}

/// The ops as `(op, index)` and, for inserts, `group id` or `member user id`.
fn ops(d: &Value) -> Vec<(String, u64, String)> {
    d["ops"]
        .as_array()
        .expect("ops")
        .iter()
        .map(|o| {
            let item = &o["item"];
            let what = if item["group"].is_object() {
                format!("group:{}", item["group"]["id"].as_str().unwrap_or(""))
            } else {
                item["member"]["user"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            (
                o["op"].as_str().unwrap_or("").to_string(),
                o["index"].as_u64().unwrap_or(u64::MAX),
                what,
            )
        })
        .collect()
}

fn op(name: &str, index: u64, what: &str) -> (String, u64, String) {
    (name.to_string(), index, what.to_string())
}

fn groups(d: &Value) -> Vec<(String, u64)> {
    d["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap_or("").to_string(),
                g["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

async fn id_of(t: &TestServer, token: &str) -> String {
    t.me(token).await["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn member_list_follows_joins_presence_roles_and_kicks() {
    let t = common::start().await;
    let anna = t.register("anna").await;
    let zed = t.register("zed").await;
    let (g, ch) = t.guild(&anna, "Sidebar").await;
    let anna_id = id_of(&t, &anna).await;
    let zed_id = id_of(&t, &zed).await;
    let mut gw = web_client(&t, &anna).await;

    // SYNC of the range: the "online" group with Anna.
    subscribe(&mut gw, &g, &ch, json!([[0, 99]])).await;
    let d = list_update(&mut gw, "SYNC").await;
    assert_eq!(d["id"], "everyone", "a channel everyone sees");
    assert_eq!(d["guild_id"], g);
    assert_eq!(d["member_count"], 1);
    assert_eq!(d["ops"][0]["range"], json!([0, 99]));
    let items = d["ops"][0]["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["group"], json!({"id": "online", "count": 1}));
    assert_eq!(items[1]["member"]["user"]["id"], anna_id);
    assert_eq!(items[1]["member"]["presence"]["status"], "online");

    // Zed joins, without a session: the "offline" group appears with him.
    t.join_via_invite(&anna, &ch, &zed).await;
    let d = list_update(&mut gw, "INSERT").await;
    assert_eq!(
        ops(&d),
        vec![op("INSERT", 2, "group:offline"), op("INSERT", 3, &zed_id)]
    );
    assert_eq!(
        (d["member_count"].clone(), d["online_count"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(
        groups(&d),
        vec![("online".into(), 1), ("offline".into(), 1)]
    );

    // Zed comes online: out of "offline" (which empties and goes), into "online" after Anna.
    let mut zed_gw = web_client(&t, &zed).await;
    let d = list_update(&mut gw, "DELETE").await;
    assert_eq!(
        ops(&d),
        vec![
            op("DELETE", 3, ""),
            op("DELETE", 2, ""),
            op("INSERT", 2, &zed_id)
        ]
    );
    assert_eq!(groups(&d), vec![("online".into(), 2)]);
    assert_eq!(d["online_count"], 2);

    // A nickname that keeps his place: an UPDATE where he is, with the new member.
    let nick = t
        .patch(
            &format!("/guilds/{g}/members/{zed_id}"),
            &anna,
            json!({"nick": "zz top"}),
        )
        .await;
    assert_eq!(nick.status, 200, "{}", nick.body);
    let d = list_update(&mut gw, "UPDATE").await;
    assert_eq!(ops(&d), vec![op("UPDATE", 2, &zed_id)]);
    assert_eq!(d["ops"][0]["item"]["member"]["nick"], "zz top");

    // A hoisted role: the lists are redrawn (SYNC); given to Zed, it becomes his group, on top.
    let role = t
        .post(
            &format!("/guilds/{g}/roles"),
            &anna,
            json!({"name": "mods", "hoist": true}),
        )
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    let rid = role.body["id"].as_str().expect("role id").to_string();
    list_update(&mut gw, "SYNC").await;
    let put = t
        .req(
            reqwest::Method::PUT,
            &format!("/guilds/{g}/members/{zed_id}/roles/{rid}"),
            Some(&anna),
            None,
        )
        .await;
    assert_eq!(put.status, 204, "{}", put.body);
    let d = list_update(&mut gw, "DELETE").await;
    assert_eq!(
        ops(&d),
        vec![
            op("DELETE", 2, ""),
            op("INSERT", 0, &format!("group:{rid}")),
            op("INSERT", 1, &zed_id)
        ]
    );
    assert_eq!(groups(&d), vec![(rid.clone(), 1), ("online".into(), 1)]);

    // Invisible: offline, whatever his roles.
    zed_gw
        .send(json!({"op": 3, "d": {"since": null, "activities": [], "status": "invisible", "afk": false}}))
        .await;
    let d = list_update(&mut gw, "DELETE").await;
    assert_eq!(
        ops(&d),
        vec![
            op("DELETE", 1, ""),
            op("DELETE", 0, ""),
            op("INSERT", 2, "group:offline"),
            op("INSERT", 3, &zed_id)
        ]
    );
    assert_eq!(d["online_count"], 1);
    assert_eq!(
        d["ops"][3]["item"]["member"]["presence"]["status"],
        "offline"
    );

    // A smaller range: the dropped one is invalidated, the new one synced.
    subscribe(&mut gw, &g, &ch, json!([[0, 1]])).await;
    let d = list_update(&mut gw, "INVALIDATE").await;
    assert_eq!(d["ops"][0]["range"], json!([0, 99]));
    assert_eq!(d["ops"][1]["op"], "SYNC");
    assert_eq!(d["ops"][1]["items"].as_array().expect("items").len(), 2);

    // Kicked: he and the group he was alone in go.
    let kick = t
        .delete(&format!("/guilds/{g}/members/{zed_id}"), &anna)
        .await;
    assert_eq!(kick.status, 204, "{}", kick.body);
    let d = list_update(&mut gw, "DELETE").await;
    assert_eq!(ops(&d), vec![op("DELETE", 3, ""), op("DELETE", 2, "")]);
    assert_eq!(d["member_count"], 1);
}

#[tokio::test]
async fn channels_with_the_same_view_overwrites_share_a_list_of_who_sees_them() {
    let t = common::start().await;
    let anna = t.register("anna").await;
    let zed = t.register("zed").await;
    let (g, ch) = t.guild(&anna, "Private").await;
    t.join_via_invite(&anna, &ch, &zed).await;
    let anna_id = id_of(&t, &anna).await;
    let deny_everyone = json!([{"id": g, "type": 0, "allow": "0", "deny": "1024"}]);
    let mut private = Vec::new();
    for name in ["staff", "staff-2"] {
        let c = t
            .post(
                &format!("/guilds/{g}/channels"),
                &anna,
                json!({"name": name, "permission_overwrites": deny_everyone}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        private.push(c.body["id"].as_str().expect("id").to_string());
    }
    let mut gw = web_client(&t, &anna).await;
    let mut ids = Vec::new();
    for c in &private {
        subscribe(&mut gw, &g, c, json!([[0, 99]])).await;
        let d = list_update(&mut gw, "SYNC").await;
        // Only the owner sees these channels; Zed is not listed.
        assert_eq!(d["member_count"], 1, "{d}");
        let items = d["ops"][0]["items"].as_array().expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["member"]["user"]["id"], anna_id);
        ids.push(d["id"].as_str().expect("list id").to_string());
    }
    assert_ne!(ids[0], "everyone");
    assert!(ids[0].parse::<u32>().is_ok(), "a MurmurHash3: {}", ids[0]);
    assert_eq!(ids[0], ids[1], "same overwrites, same list");

    // Zed asks for a channel he cannot see: refused silently. The first list he gets is that
    // of the channel he asked for next.
    let mut zed_gw = web_client(&t, &zed).await;
    subscribe(&mut zed_gw, &g, &private[0], json!([[0, 99]])).await;
    subscribe(&mut zed_gw, &g, &ch, json!([[0, 99]])).await;
    let d = zed_gw.event("GUILD_MEMBER_LIST_UPDATE").await;
    assert_eq!(d["id"], "everyone");
    assert_eq!(d["member_count"], 2);
    assert_eq!(d["online_count"], 2);
}

/// THREAD_LIST_SYNC: a role that shows Zed a channel with an active thread syncs its threads to
/// him; a user client's op 14 with `threads: true` syncs the subscribed channel's.
#[tokio::test]
async fn thread_list_sync_on_gained_access_and_op_14_threads() {
    let t = common::start().await;
    let anna = t.register("anna").await;
    let zed = t.register("zed").await;
    let (g, ch) = t.guild(&anna, "Threads").await;
    t.join_via_invite(&anna, &ch, &zed).await;
    let zed_id = id_of(&t, &zed).await;
    let role = t
        .post(
            &format!("/guilds/{g}/roles"),
            &anna,
            json!({"name": "staff"}),
        )
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    let rid = role.body["id"].as_str().expect("role id").to_string();
    let staff = t
        .post(
            &format!("/guilds/{g}/channels"),
            &anna,
            json!({"name": "staff", "permission_overwrites": [
                {"id": g, "type": 0, "allow": "0", "deny": "1024"},
                {"id": rid, "type": 0, "allow": "1024", "deny": "0"}
            ]}),
        )
        .await;
    assert_eq!(staff.status, 201, "{}", staff.body);
    let staff = staff.body["id"].as_str().expect("id").to_string();
    let thread = t
        .post(
            &format!("/channels/{staff}/threads"),
            &anna,
            json!({"name": "plans", "type": 11}),
        )
        .await;
    assert_eq!(thread.status, 201, "{}", thread.body);
    let thread = thread.body["id"].as_str().expect("id").to_string();

    // The role shows Zed the channel: its active threads come with it, without memberships.
    let mut zed_gw = web_client(&t, &zed).await;
    let put = t
        .req(
            reqwest::Method::PUT,
            &format!("/guilds/{g}/members/{zed_id}/roles/{rid}"),
            Some(&anna),
            None,
        )
        .await;
    assert_eq!(put.status, 204, "{}", put.body);
    let sync = zed_gw.event("THREAD_LIST_SYNC").await;
    assert_eq!(sync["guild_id"], g);
    assert_eq!(sync["channel_ids"], json!([staff]));
    assert_eq!(sync["threads"][0]["id"], thread);
    assert_eq!(sync["threads"].as_array().expect("threads").len(), 1);
    assert_eq!(sync["members"], json!([]));

    // Zed follows the staff list; the role taken away, he hears no more of it. Anna's joining
    // (her session comes online) is not sent to him; the everyone list he asks for next is.
    subscribe(&mut zed_gw, &g, &staff, json!([[0, 99]])).await;
    let d = list_update(&mut zed_gw, "SYNC").await;
    assert_ne!(d["id"], "everyone");
    let del = t
        .req(
            reqwest::Method::DELETE,
            &format!("/guilds/{g}/members/{zed_id}/roles/{rid}"),
            Some(&anna),
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.body);

    // Op 14 with `threads: true`: the creator gets the channel's threads and her membership.
    let mut gw = web_client(&t, &anna).await;
    subscribe(&mut zed_gw, &g, &ch, json!([[0, 99]])).await;
    let d = zed_gw.event("GUILD_MEMBER_LIST_UPDATE").await;
    assert_eq!(
        d["id"], "everyone",
        "no update of the staff list first: {d}"
    );
    subscribe(&mut gw, &g, &staff, json!([[0, 99]])).await;
    let sync = gw.event("THREAD_LIST_SYNC").await;
    assert_eq!(sync["channel_ids"], json!([staff]));
    assert_eq!(sync["threads"][0]["id"], thread);
    assert_eq!(sync["members"][0]["id"], thread);
}

/// A channel `name` of guild `g` that only its owner sees (@everyone denied VIEW_CHANNEL).
async fn private_channel(t: &TestServer, owner: &str, g: &str, name: &str) -> String {
    let c = t
        .post(
            &format!("/guilds/{g}/channels"),
            owner,
            json!({"name": name, "permission_overwrites": [{"id": g, "type": 0, "allow": "0", "deny": "1024"}]}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    c.body["id"].as_str().expect("id").to_string()
}

/// Sets `nick` on `user` in `g` (as the owner `by`).
async fn set_nick(t: &TestServer, by: &str, g: &str, user: &str, nick: &str) {
    let r = t
        .patch(
            &format!("/guilds/{g}/members/{user}"),
            by,
            json!({"nick": nick}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The list updates up to and including the UPDATE of `marker`'s member: what a change before
/// the marker sent, and nothing after it.
async fn updates_until(gw: &mut Gateway, marker: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let d = gw.event("GUILD_MEMBER_LIST_UPDATE").await;
        let done =
            d["ops"][0]["op"] == "UPDATE" && d["ops"][0]["item"]["member"]["user"]["id"] == marker;
        seen.push(d);
        if done {
            return seen;
        }
    }
}

/// `(list id, op, member user id)` of each single-op update.
fn summary(updates: &[Value]) -> Vec<(String, String, String)> {
    updates
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap_or("").to_string(),
                d["ops"][0]["op"].as_str().unwrap_or("").to_string(),
                d["ops"][0]["item"]["member"]["user"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

/// Discord's web client names several channels in one op 14: each gets its list (one SYNC per
/// list id, channels sharing an id share it), every update of a list reaches the session once,
/// and a later op 14 that leaves channels out unsubscribes their lists.
#[tokio::test]
async fn one_op_14_subscribes_every_channel_it_names() {
    let t = common::start().await;
    let anna = t.register("anna").await;
    let zed = t.register("zed").await;
    let (g, ch) = t.guild(&anna, "Many").await;
    t.join_via_invite(&anna, &ch, &zed).await;
    let anna_id = id_of(&t, &anna).await;
    let zed_id = id_of(&t, &zed).await;
    let ch2 = t
        .post(
            &format!("/guilds/{g}/channels"),
            &anna,
            json!({"name": "also-public"}),
        )
        .await;
    assert_eq!(ch2.status, 201, "{}", ch2.body);
    let ch2 = ch2.body["id"].as_str().expect("id").to_string();
    let private = private_channel(&t, &anna, &g, "staff").await;
    let mut gw = web_client(&t, &anna).await;

    gw.send(
        json!({"op": 14, "d": {"guild_id": g, "typing": true, "channels": {
            ch.clone(): [[0, 99]], ch2.clone(): [[0, 99], [100, 199]], private.clone(): [[0, 99]]
        }}}),
    )
    .await;
    let mut syncs = [
        list_update(&mut gw, "SYNC").await,
        list_update(&mut gw, "SYNC").await,
    ];
    syncs.sort_by_key(|d| d["id"] != "everyone");
    let (everyone, staff) = (&syncs[0], &syncs[1]);
    assert_eq!(everyone["id"], "everyone");
    // The two public channels share it: one SYNC with both channels' ranges.
    let ranges: Vec<&Value> = everyone["ops"]
        .as_array()
        .expect("ops")
        .iter()
        .map(|o| &o["range"])
        .collect();
    assert_eq!(ranges, vec![&json!([0, 99]), &json!([100, 199])]);
    assert_eq!(
        (
            everyone["member_count"].clone(),
            everyone["online_count"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(
        groups(everyone),
        vec![("online".into(), 1), ("offline".into(), 1)]
    );
    let staff_id = staff["id"].as_str().expect("list id").to_string();
    assert!(staff_id.parse::<u32>().is_ok(), "{staff}");
    assert_eq!(staff["member_count"], 1, "only the owner sees #staff");

    // Anna's nickname: one UPDATE per list, not one per channel; Zed's (only on the everyone
    // list) marks the end.
    set_nick(&t, &anna, &g, &anna_id, "ann").await;
    set_nick(&t, &anna, &g, &zed_id, "zee").await;
    let mut got = summary(&updates_until(&mut gw, &zed_id).await);
    got.sort();
    let mut want = vec![
        (
            "everyone".to_string(),
            "UPDATE".to_string(),
            anna_id.clone(),
        ),
        (staff_id.clone(), "UPDATE".to_string(), anna_id.clone()),
        ("everyone".to_string(), "UPDATE".to_string(), zed_id.clone()),
    ];
    want.sort();
    assert_eq!(got, want);

    // The client leaves #staff and #also-public out: their lists go quiet, the other stays.
    subscribe(&mut gw, &g, &ch, json!([[0, 99]])).await;
    let d = list_update(&mut gw, "INVALIDATE").await;
    assert_eq!(d["id"], "everyone");
    assert_eq!(d["ops"][0]["range"], json!([100, 199]), "{d}");
    assert_eq!(d["ops"][1]["op"], "SYNC");
    set_nick(&t, &anna, &g, &anna_id, "anna b").await;
    set_nick(&t, &anna, &g, &zed_id, "zed b").await;
    assert_eq!(
        summary(&updates_until(&mut gw, &zed_id).await),
        vec![
            (
                "everyone".to_string(),
                "UPDATE".to_string(),
                anna_id.clone()
            ),
            ("everyone".to_string(), "UPDATE".to_string(), zed_id.clone()),
        ]
    );
}

/// Op 37 (GUILD_SUBSCRIPTIONS_BULK) names channels per guild like op 14; the channels one
/// request may name are bounded by `gateway.member_list_max_channels`.
#[tokio::test]
async fn op_37_subscribes_several_channels_within_the_configured_bound() {
    let t = common::start().await;
    let anna = t.register("anna").await;
    let zed = t.register("zed").await;
    let (g, ch) = t.guild(&anna, "Bulk").await;
    t.join_via_invite(&anna, &ch, &zed).await;
    let zed_id = id_of(&t, &zed).await;
    let private = private_channel(&t, &anna, &g, "staff").await;
    let mut gw = web_client(&t, &anna).await;
    let bulk = json!({"op": 37, "d": {"subscriptions": {g.clone(): {
        "typing": true, "activities": true, "threads": true, "member_updates": false,
        "members": [], "channels": {ch.clone(): [[0, 99]], private.clone(): [[0, 99]]}
    }}}});

    gw.send(bulk.clone()).await;
    let mut ids = [
        list_update(&mut gw, "SYNC").await["id"].clone(),
        list_update(&mut gw, "SYNC").await["id"].clone(),
    ];
    ids.sort_by_key(|id| *id != "everyone");
    assert_eq!(ids[0], "everyone");
    assert_ne!(ids[1], "everyone");

    // One channel per request: the first (by id) is subscribed, the other left out.
    t.make_admin(&anna).await;
    let r = t
        .patch(
            "/admin/config",
            &anna,
            json!({"gateway": {"member_list_max_channels": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    gw.send(bulk).await;
    let d = list_update(&mut gw, "SYNC").await;
    assert_eq!(d["id"], "everyone");
    set_nick(&t, &anna, &g, &zed_id, "zee").await;
    let updates = updates_until(&mut gw, &zed_id).await;
    assert_eq!(
        summary(&updates),
        vec![("everyone".to_string(), "UPDATE".to_string(), zed_id.clone())],
        "no SYNC of #staff: it was left out"
    );
}

/// Guilds over `gateway.member_list_offline_max_members` have no "offline" group: offline
/// members are counted but not listed, going offline DELETEs, coming online INSERTs, with
/// exact indexes and counts; back under the bound the lists are redrawn with the group.
#[tokio::test]
async fn large_guilds_leave_the_offline_group_out() {
    let t = common::start().await;
    let anna = t.register("anna").await;
    let zed = t.register("zed").await;
    let carol = t.register("carol").await;
    let (g, ch) = t.guild(&anna, "Large").await;
    t.join_via_invite(&anna, &ch, &zed).await;
    let zed_id = id_of(&t, &zed).await;
    t.make_admin(&anna).await;
    let set = |max: u32| {
        let (t, anna) = (&t, &anna);
        async move {
            let r = t
                .patch(
                    "/admin/config",
                    anna,
                    json!({"gateway": {"member_list_offline_max_members": max}}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    set(1).await;
    let mut gw = web_client(&t, &anna).await;

    subscribe(&mut gw, &g, &ch, json!([[0, 99]])).await;
    let d = list_update(&mut gw, "SYNC").await;
    assert_eq!(groups(&d), vec![("online".into(), 1)], "{d}");
    assert_eq!(
        (d["member_count"].clone(), d["online_count"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(d["ops"][0]["items"].as_array().expect("items").len(), 2);

    // Zed comes online: inserted after Anna; no group header moves.
    let mut zed_gw = web_client(&t, &zed).await;
    let d = list_update(&mut gw, "INSERT").await;
    assert_eq!(ops(&d), vec![op("INSERT", 2, &zed_id)]);
    assert_eq!(groups(&d), vec![("online".into(), 2)]);
    assert_eq!(d["online_count"], 2);

    // Invisible: deleted, still counted.
    zed_gw
        .send(json!({"op": 3, "d": {"since": null, "activities": [], "status": "invisible", "afk": false}}))
        .await;
    let d = list_update(&mut gw, "DELETE").await;
    assert_eq!(ops(&d), vec![op("DELETE", 2, "")]);
    assert_eq!(groups(&d), vec![("online".into(), 1)]);
    assert_eq!(
        (d["member_count"].clone(), d["online_count"].clone()),
        (json!(2), json!(1))
    );

    // Carol joins offline: nothing to draw; she is counted at the next update.
    t.join_via_invite(&anna, &ch, &carol).await;
    zed_gw
        .send(json!({"op": 3, "d": {"since": null, "activities": [], "status": "online", "afk": false}}))
        .await;
    let d = list_update(&mut gw, "INSERT").await;
    assert_eq!(ops(&d), vec![op("INSERT", 2, &zed_id)], "{d}");
    assert_eq!(
        (d["member_count"].clone(), d["online_count"].clone()),
        (json!(3), json!(2))
    );

    // Under the bound again: the next change redraws the list with Carol under "offline".
    set(1000).await;
    set_nick(&t, &anna, &g, &zed_id, "zee").await;
    let d = list_update(&mut gw, "SYNC").await;
    assert_eq!(
        groups(&d),
        vec![("online".into(), 2), ("offline".into(), 1)]
    );
    assert_eq!(d["ops"][0]["items"].as_array().expect("items").len(), 5);
}
