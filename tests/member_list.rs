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
