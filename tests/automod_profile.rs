//! Auto-moderation of members rather than messages, over HTTP and the gateway: MEMBER_PROFILE
//! rules judging names on join, nickname change and user profile change (the quarantine flag
//! 128 on the member, BLOCK_MEMBER_INTERACTION keeping the member from sending and reacting,
//! AUTO_MODERATION_ACTION_EXECUTION without a channel, audit entry 146, lifted when the name
//! is fixed or the rule goes), and mention raid protection (a burst of mention spam from
//! several members records `raid_detected_at`, pauses invites and DMs, and posts the alert).

mod common;

use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const MESSAGE_CONTENT: u64 = 1 << 15;
const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;
const QUARANTINED: u64 = 1 << 7;

fn profile_rule(alert_channel: &str) -> Value {
    json!({
        "name": "names",
        "event_type": 2,
        "trigger_type": 6,
        "trigger_metadata": {"keyword_filter": ["*spam*"], "allow_list": ["spamalot"]},
        "actions": [{"type": 4}, {"type": 2, "metadata": {"channel_id": alert_channel}}],
        "enabled": true,
    })
}

/// The next GUILD_MEMBER_UPDATE about `user` for which `pick` holds (earlier ones, of
/// changes already checked over HTTP, are skipped).
async fn member_update(
    gw: &mut common::Gateway,
    user: &str,
    pick: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let d = gw.event("GUILD_MEMBER_UPDATE").await;
        if d["user"]["id"] == user && pick(&d) {
            return d;
        }
    }
}

/// The next AUTO_MODERATION_ACTION_EXECUTION with the given action type.
async fn execution(gw: &mut common::Gateway, action: u64) -> Value {
    loop {
        let d = gw.event("AUTO_MODERATION_ACTION_EXECUTION").await;
        if d["action"]["type"] == action {
            return d;
        }
    }
}

async fn say(t: &common::TestServer, token: &str, channel: &str, content: &str) -> common::Resp {
    t.post(
        &format!("/channels/{channel}/messages"),
        token,
        json!({"content": content}),
    )
    .await
}

#[tokio::test]
async fn member_profile_rules_quarantine_names_until_fixed() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (g, text) = t.guild(&alice, "Profiles").await;
    let bob_id = t.me(&bob).await["id"].as_str().expect("id").to_string();
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(
        &alice,
        GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | MESSAGE_CONTENT | AUTO_MODERATION_EXECUTION,
    )
    .await;
    gw.event("GUILD_CREATE").await;
    let rules = format!("/guilds/{g}/auto-moderation/rules");
    let r = t.post(&rules, &alice, profile_rule(&text)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["event_type"], 2);
    let rule_id = r.body["id"].as_str().expect("id").to_string();

    // A clean name joins clean and may talk.
    t.join_via_invite(&alice, &text, &bob).await;
    let added = gw.event("GUILD_MEMBER_ADD").await;
    assert_eq!(added["flags"].as_u64().expect("flags") & QUARANTINED, 0);
    assert_eq!(say(&t, &bob, &text, "hello").await.status, 200);

    // A nickname the rule names quarantines: flag 128, the execution (no channel, the name as
    // content), and the member can no longer send or react.
    let me = format!("/guilds/{g}/members/@me");
    let r = t.patch(&me, &bob, json!({"nick": "SpamLord"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["flags"].as_u64().expect("flags") & QUARANTINED,
        QUARANTINED
    );
    let e = execution(&mut gw, 4).await;
    assert_eq!(e["rule_id"], rule_id.as_str());
    assert_eq!(e["rule_trigger_type"], 6);
    assert_eq!(e["user_id"], bob_id.as_str());
    assert_eq!(e["guild_id"], g.as_str());
    assert_eq!(e["content"], "SpamLord");
    assert_eq!(e["matched_keyword"], "*spam*");
    assert_eq!(e["matched_content"], "SpamLord");
    assert!(
        e.get("channel_id").is_none() && e.get("message_id").is_none(),
        "{e}"
    );
    let alert = execution(&mut gw, 2).await;
    assert!(alert["alert_system_message_id"].is_string(), "{alert}");
    let r = say(&t, &bob, &text, "let me talk").await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let mid = say(&t, &alice, &text, "react to this").await.body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let react = format!("/channels/{text}/messages/{mid}/reactions/%F0%9F%91%8D/@me");
    let r = t.req(reqwest::Method::PUT, &react, Some(&bob), None).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let log = t
        .get(&format!("/guilds/{g}/audit-logs?action_type=146"), &alice)
        .await;
    let entries = log.body["audit_log_entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{}", log.body);
    assert_eq!(entries[0]["target_id"], bob_id.as_str());
    assert_eq!(
        entries[0]["options"]["auto_moderation_rule_trigger_type"],
        "6"
    );

    // An allowed word is no match; fixing the name lifts the quarantine.
    let r = t.patch(&me, &bob, json!({"nick": "spamalot"})).await;
    assert_eq!(
        r.body["flags"].as_u64().expect("flags") & QUARANTINED,
        0,
        "{}",
        r.body
    );
    assert_eq!(say(&t, &bob, &text, "free again").await.status, 200);

    // A display name counts as well (the user profile changes, every guild judges it).
    let r = t
        .patch("/users/@me", &bob, json!({"global_name": "spammy bob"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let u = member_update(&mut gw, &bob_id, |d| {
        d["user"]["global_name"] == "spammy bob"
    })
    .await;
    assert_eq!(
        u["flags"].as_u64().expect("flags") & QUARANTINED,
        QUARANTINED,
        "{u}"
    );
    let e = execution(&mut gw, 4).await;
    assert_eq!(e["content"], "spammy bob");
    assert_eq!(say(&t, &bob, &text, "hi").await.status, 403);

    // Deleting the rule frees whoever it held.
    let r = t.delete(&format!("{rules}/{rule_id}"), &alice).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let u = member_update(&mut gw, &bob_id, |d| d["flags"] == 0).await;
    assert_eq!(u["user"]["global_name"], "spammy bob", "{u}");
    assert_eq!(say(&t, &bob, &text, "back").await.status, 200);

    // A newcomer whose username matches joins quarantined; the owner is never judged.
    let r = t.post(&rules, &alice, profile_rule(&text)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let carol = t.register("spamcarol").await;
    t.join_via_invite(&alice, &text, &carol).await;
    let added = gw.event("GUILD_MEMBER_ADD").await;
    assert_eq!(
        added["flags"].as_u64().expect("flags") & QUARANTINED,
        QUARANTINED
    );
    assert_eq!(execution(&mut gw, 4).await["content"], "spamcarol");
    assert_eq!(say(&t, &carol, &text, "hi").await.status, 403);
    let r = t.patch(&me, &alice, json!({"nick": "spam queen"})).await;
    assert_eq!(r.body["flags"].as_u64().expect("flags") & QUARANTINED, 0);

    // The flag survives a restart with the member.
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let r = t
        .get(
            &format!(
                "/guilds/{g}/members/{}",
                t.me(&carol).await["id"].as_str().expect("id")
            ),
            &alice,
        )
        .await;
    assert_eq!(
        r.body["flags"].as_u64().expect("flags") & QUARANTINED,
        QUARANTINED
    );
    assert_eq!(say(&t, &carol, &text, "hi").await.status, 403);
}

async fn set_raid_limits(t: &common::TestServer, limits: Value) {
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"automod": limits}}),
        )
        .await
        .expect("patch");
}

#[tokio::test]
async fn mention_raid_protection_detects_a_raid_and_pauses_joins() {
    let t = common::start().await;
    set_raid_limits(
        &t,
        json!({"mention_raid_members": 2, "mention_raid_window_secs": 600, "mention_raid_pause_minutes": 30}),
    )
    .await;
    let alice = t.register("alice").await;
    let (g, text) = t.guild(&alice, "Raided").await;
    let alerts = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "safety"}),
        )
        .await;
    let alerts = alerts.body["id"].as_str().expect("id").to_string();
    let r = t
        .patch(
            &format!("/guilds/{g}"),
            &alice,
            json!({"safety_alerts_channel_id": alerts}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["safety_alerts_channel_id"], alerts.as_str());
    let mut spammers = Vec::new();
    for name in ["bob", "carol", "dave"] {
        let token = t.register(name).await;
        t.join_via_invite(&alice, &text, &token).await;
        spammers.push(token);
    }
    let alice_id = t.me(&alice).await["id"].as_str().expect("id").to_string();
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT)
        .await;
    gw.event("GUILD_CREATE").await;
    let rules = format!("/guilds/{g}/auto-moderation/rules");
    let r = t
        .post(
            &rules,
            &alice,
            json!({
                "name": "mentions",
                "event_type": 1,
                "trigger_type": 5,
                "trigger_metadata": {"mention_total_limit": 1, "mention_raid_protection_enabled": false},
                "actions": [{"type": 1}],
                "enabled": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rule = r.body["id"].as_str().expect("id").to_string();
    let spam = |i: usize| format!("<@{alice_id}> <@{}> spam {i}", 1000 + i);

    // Without raid protection, mention spam from several members is only blocked.
    for (i, s) in spammers.iter().enumerate() {
        let r = say(&t, s, &text, &spam(i)).await;
        assert_eq!((r.status, r.body["code"].clone()), (400, json!(200000)));
    }
    let guild = t.get(&format!("/guilds/{g}"), &alice).await;
    assert_eq!(guild.body["incidents_data"], Value::Null, "{}", guild.body);

    // With it, the second member within the window makes a raid.
    let r = t
        .patch(
            &format!("{rules}/{rule}"),
            &alice,
            json!({"trigger_metadata": {"mention_total_limit": 1, "mention_raid_protection_enabled": true}}),
        )
        .await;
    assert_eq!(
        r.body["trigger_metadata"]["mention_raid_protection_enabled"],
        true
    );
    assert_eq!(say(&t, &spammers[0], &text, &spam(7)).await.status, 400);
    let guild = t.get(&format!("/guilds/{g}"), &alice).await;
    assert_eq!(
        guild.body["incidents_data"],
        Value::Null,
        "one member is no raid"
    );
    // The same member again is still one member.
    assert_eq!(say(&t, &spammers[0], &text, &spam(8)).await.status, 400);
    assert_eq!(say(&t, &spammers[1], &text, &spam(9)).await.status, 400);
    let update = gw.event("GUILD_UPDATE").await;
    let incidents = &update["incidents_data"];
    assert!(incidents["raid_detected_at"].is_string(), "{update}");
    let until = incidents["invites_disabled_until"].as_str().expect("until");
    assert_eq!(incidents["dms_disabled_until"], until);
    assert!(
        update["features"]
            .as_array()
            .expect("features")
            .iter()
            .any(|f| f == "INVITES_DISABLED"),
        "{update}"
    );
    let alert = loop {
        let m = gw.event("MESSAGE_CREATE").await;
        if m["channel_id"] == alerts.as_str() {
            break m;
        }
    };
    assert_eq!(alert["type"], 36);
    assert_eq!(alert["content"], until);

    // Joining through an invite is paused now; lifting the pause keeps the detection time.
    let erin = t.register("erin").await;
    let code = t.invite_code(&alice, &text).await;
    let r = t
        .req(
            reqwest::Method::POST,
            &format!("/invites/{code}"),
            Some(&erin),
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = t
        .req(
            reqwest::Method::PUT,
            &format!("/guilds/{g}/incident-actions"),
            Some(&alice),
            Some(json!({"invites_disabled_until": null, "dms_disabled_until": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let guild = t.get(&format!("/guilds/{g}"), &alice).await;
    assert!(guild.body["incidents_data"]["raid_detected_at"].is_string());
    assert_eq!(
        guild.body["incidents_data"]["invites_disabled_until"],
        Value::Null
    );
}
