//! Auto-moderation over HTTP and the gateway: rule CRUD with Discord's validation, limits and
//! codes (50035 field errors, 50013, 10066), AUTO_MODERATION_RULE_* to managers, audit entries
//! 140–145; enforcement on message create, edit and webhook execution (keywords with
//! wildcards and allow lists, regexes, presets, mention spam, spam repeats), exemptions
//! (MANAGE_GUILD, exempt channels and roles), the block error 200000, the alert message (type
//! 24), the timeout, and AUTO_MODERATION_ACTION_EXECUTION.

mod common;

use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;

fn keyword_rule(name: &str, words: &[&str]) -> Value {
    json!({
        "name": name,
        "event_type": 1,
        "trigger_type": 1,
        "trigger_metadata": {"keyword_filter": words},
        "actions": [{"type": 1}],
        "enabled": true,
    })
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn audit_types(log: &Value) -> Vec<u64> {
    log["audit_log_entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action_type"].as_u64().expect("action_type"))
        .collect()
}

#[tokio::test]
async fn rules_crud_validation_limits_events_and_audit() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (g, text) = t.guild(&alice, "AutoMod").await;
    t.join_via_invite(&alice, &text, &bob).await;
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | AUTO_MODERATION_CONFIGURATION)
        .await;
    gw.event("GUILD_CREATE").await;
    let base = format!("/guilds/{g}/auto-moderation/rules");

    // MANAGE_GUILD is needed to read or write rules.
    let r = t.post(&base, &bob, keyword_rule("bob's", &["x"])).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t.get(&base, &bob).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));

    // Validation, every field error at once where it can be.
    let r = t.post(&base, &alice, json!({"trigger_type": 1})).await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(50035)));
    for f in ["name", "event_type", "actions"] {
        assert_eq!(
            common::field_code(&r.body, &[f]),
            "BASE_TYPE_REQUIRED",
            "{f}"
        );
    }
    let r = t
        .post(
            &base,
            &alice,
            json!({"name": "x", "event_type": 1, "trigger_type": 2, "actions": [{"type": 1}]}),
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["trigger_type"]),
        "BASE_TYPE_CHOICES"
    );
    let long = "k".repeat(61);
    let r = t
        .post(
            &base,
            &alice,
            json!({
                "name": "bad",
                "event_type": 1,
                "trigger_type": 1,
                "trigger_metadata": {"keyword_filter": ["ok", long], "regex_patterns": ["(unclosed"]},
                "actions": [
                    {"type": 1, "metadata": {"custom_message": "m".repeat(151)}},
                    {"type": 3, "metadata": {"duration_seconds": 2_419_201}},
                    {"type": 2, "metadata": {}},
                ],
                "exempt_roles": ["1"],
            }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let cases = [
        (
            &["trigger_metadata", "keyword_filter", "1"][..],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            &["trigger_metadata", "regex_patterns", "0"][..],
            "AUTO_MODERATION_INVALID_REGEX",
        ),
        (
            &["actions", "0", "metadata", "custom_message"][..],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            &["actions", "1", "metadata", "duration_seconds"][..],
            "NUMBER_TYPE_MAX",
        ),
        (
            &["actions", "2", "metadata", "channel_id"][..],
            "BASE_TYPE_REQUIRED",
        ),
        (&["exempt_roles", "0"][..], "NUMBER_TYPE_COERCE"),
    ];
    for (path, code) in cases {
        assert_eq!(
            common::field_code(&r.body, path),
            code,
            "{path:?}: {}",
            r.body
        );
    }

    // A valid rule: Discord's object back, RULE_CREATE to the manager's session, and stored.
    let r = t
        .post(
            &base,
            &alice,
            json!({
                "name": "No cats",
                "event_type": 1,
                "trigger_type": 1,
                "trigger_metadata": {"keyword_filter": ["cat*"], "allow_list": ["catalog"],
                                     "presets": [1], "mention_total_limit": 3},
                "actions": [{"type": 1, "metadata": {"custom_message": "No cats here"}}],
                "enabled": true,
                "exempt_channels": [text],
                "exempt_roles": null,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rule = r.body.clone();
    let rule_id = id(&rule);
    assert_eq!(rule["guild_id"], json!(g));
    assert_eq!(rule["trigger_type"], 1);
    assert_eq!(rule["creator_id"], t.me(&alice).await["id"]);
    // Only the keyword trigger's metadata fields, all present.
    assert_eq!(
        rule["trigger_metadata"],
        json!({"keyword_filter": ["cat*"], "regex_patterns": [], "allow_list": ["catalog"]})
    );
    assert_eq!(
        rule["actions"],
        json!([{"type": 1, "metadata": {"custom_message": "No cats here"}}])
    );
    assert_eq!(rule["exempt_channels"], json!([text]));
    let created = gw.event("AUTO_MODERATION_RULE_CREATE").await;
    assert_eq!(created, rule);
    // What a strict client library (twilight) parses.
    serde_json::from_value::<twilight_model::guild::auto_moderation::AutoModerationRule>(
        rule.clone(),
    )
    .expect("twilight parses the rule");
    let r = t.get(&format!("{base}/{rule_id}"), &alice).await;
    assert_eq!((r.status, &r.body), (200, &rule));

    // Rules per trigger type: 6 keyword rules, 1 spam rule.
    for n in 0..5 {
        let r = t
            .post(&base, &alice, keyword_rule(&format!("k{n}"), &["w"]))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = t.post(&base, &alice, keyword_rule("seventh", &["w"])).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        common::field_code(&r.body, &["trigger_type"]),
        "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED"
    );
    let spam =
        json!({"name": "spam", "event_type": 1, "trigger_type": 3, "actions": [{"type": 1}]});
    assert_eq!(t.post(&base, &alice, spam.clone()).await.status, 200);
    assert_eq!(t.post(&base, &alice, spam).await.status, 400);
    let list = t.get(&base, &alice).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(7));

    // PATCH: fields change, the trigger type cannot.
    let r = t
        .patch(
            &format!("{base}/{rule_id}"),
            &alice,
            json!({"name": "Still no cats", "enabled": false, "trigger_type": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Still no cats");
    assert_eq!(r.body["enabled"], false);
    let updated = gw.event("AUTO_MODERATION_RULE_UPDATE").await;
    assert_eq!(updated["name"], "Still no cats");
    let r = t
        .patch(
            &format!("{base}/{rule_id}"),
            &alice,
            json!({"trigger_type": 5}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // DELETE, then 10066 for the gone rule.
    let r = t.delete(&format!("{base}/{rule_id}"), &alice).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let deleted = gw.event("AUTO_MODERATION_RULE_DELETE").await;
    assert_eq!(deleted["id"], json!(rule_id));
    let r = t.get(&format!("{base}/{rule_id}"), &alice).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10066)));
    let r = t.delete(&format!("{base}/{rule_id}"), &alice).await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10066)));

    // Audit entries: create (140), update (141), delete (142).
    let log = t
        .get(
            &format!("/guilds/{g}/audit-logs?target_id={rule_id}"),
            &alice,
        )
        .await;
    assert_eq!(audit_types(&log.body), vec![142, 141, 140]);

    // Rules survive a restart (the guild actor reloads them from the store).
    let dir = t.stop().await;
    let t = common::start_in(dir).await;
    let list = t.get(&base, &alice).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(6), "{}", list.body);
}

#[tokio::test]
async fn enforcement_blocks_alerts_times_out_and_reports() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let bob_id = t.me(&bob).await["id"].as_str().unwrap().to_string();
    let (g, text) = t.guild(&alice, "Moderated").await;
    t.join_via_invite(&alice, &text, &bob).await;
    let alerts = t
        .post(
            &format!("/guilds/{g}/channels"),
            &alice,
            json!({"name": "alerts"}),
        )
        .await;
    let alerts = id(&alerts.body);
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&alice, GUILDS | GUILD_MESSAGES | AUTO_MODERATION_EXECUTION)
        .await;
    gw.event("GUILD_CREATE").await;
    let base = format!("/guilds/{g}/auto-moderation/rules");
    let msgs = format!("/channels/{text}/messages");

    let r = t
        .post(
            &base,
            &alice,
            json!({
                "name": "Words",
                "event_type": 1,
                "trigger_type": 1,
                "trigger_metadata": {
                    "keyword_filter": ["badword", "cat*", "*zilla"],
                    "regex_patterns": [r"fr[e3]{2}\s+n[i1]tro"],
                    "allow_list": ["catalog"],
                },
                "actions": [
                    {"type": 1, "metadata": {"custom_message": "Mind your words"}},
                    {"type": 2, "metadata": {"channel_id": alerts}},
                ],
                "enabled": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let words = id(&r.body);

    // Clean messages pass; allow-listed words pass.
    for ok in ["hello there", "the catalog is out", "scatter", "badwords"] {
        let r = t.post(&msgs, &bob, json!({"content": ok})).await;
        assert_eq!(r.status, 200, "{ok}: {}", r.body);
    }
    // Blocked: whole word (any case), prefix, suffix, regex.
    for bad in [
        "a BadWord here",
        "catnip!",
        "godzilla",
        "free nitro",
        "FR33   N1TRO",
    ] {
        let r = t.post(&msgs, &bob, json!({"content": bad})).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["code"], 200000, "{bad}");
        assert_eq!(
            r.body["message"],
            "Message was blocked by automatic moderation"
        );
    }
    // Each block: an alert message (type 24) in the alert channel and the executions of both
    // actions, with the matched keyword and content; no message id (nothing was posted).
    let mut alert = Value::Null;
    let mut executions = Vec::new();
    while alert.is_null() || executions.len() < 2 {
        let v = gw.recv().await;
        match v["t"].as_str() {
            Some("MESSAGE_CREATE") if v["d"]["channel_id"] == json!(alerts) && alert.is_null() => {
                alert = v["d"].clone();
            }
            Some("AUTO_MODERATION_ACTION_EXECUTION") if executions.len() < 2 => {
                executions.push(v["d"].clone());
            }
            _ => {}
        }
    }
    assert_eq!(alert["type"], 24, "{alert}");
    assert_eq!(alert["channel_id"], json!(alerts));
    assert_eq!(alert["author"]["id"], json!(bob_id));
    assert_eq!(alert["embeds"][0]["type"], "auto_moderation_message");
    assert_eq!(alert["embeds"][0]["description"], "a BadWord here");
    let mut actions = Vec::new();
    for e in executions {
        serde_json::from_value::<
            twilight_model::gateway::payload::incoming::AutoModerationActionExecution,
        >(e.clone())
        .expect("twilight parses the execution");
        assert_eq!(e["rule_id"], json!(words));
        assert_eq!(e["rule_trigger_type"], 1);
        assert_eq!(e["user_id"], json!(bob_id));
        assert_eq!(e["channel_id"], json!(text));
        assert_eq!(e["content"], "a BadWord here");
        assert_eq!(e["matched_keyword"], "badword");
        assert_eq!(e["matched_content"], "BadWord");
        assert!(e.get("message_id").is_none(), "{e}");
        if e["action"]["type"] == 2 {
            assert_eq!(e["alert_system_message_id"], alert["id"]);
        }
        actions.push(e["action"]["type"].as_u64().unwrap());
    }
    actions.sort();
    assert_eq!(actions, vec![1, 2]);
    // The owner (MANAGE_GUILD) is exempt.
    let r = t.post(&msgs, &alice, json!({"content": "badword"})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Edits are checked too.
    let r = t.post(&msgs, &bob, json!({"content": "innocent"})).await;
    let m = id(&r.body);
    let r = t
        .patch(
            &format!("{msgs}/{m}"),
            &bob,
            json!({"content": "now a badword"}),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(200000)));
    let r = t.get(&format!("{msgs}/{m}"), &bob).await;
    assert_eq!(r.body["content"], "innocent");

    // So are webhooks (no member, keyword rules apply).
    let hook = t
        .post(
            &format!("/channels/{text}/webhooks"),
            &alice,
            json!({"name": "hook"}),
        )
        .await;
    let (hook_id, token) = (
        id(&hook.body),
        hook.body["token"].as_str().unwrap().to_string(),
    );
    let r = t
        .req(
            reqwest::Method::POST,
            &format!("/webhooks/{hook_id}/{token}?wait=true"),
            None,
            Some(json!({"content": "badword from a hook"})),
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (400, json!(200000)));

    // Exempt channels and roles.
    let role = t
        .post(
            &format!("/guilds/{g}/roles"),
            &alice,
            json!({"name": "trusted"}),
        )
        .await;
    let role = id(&role.body);
    let r = t
        .patch(
            &format!("{base}/{words}"),
            &alice,
            json!({"exempt_roles": [role]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .req(
            reqwest::Method::PUT,
            &format!("/guilds/{g}/members/{bob_id}/roles/{role}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t.post(&msgs, &bob, json!({"content": "badword"})).await;
    assert_eq!(r.status, 200, "exempt role: {}", r.body);
    let r = t
        .patch(
            &format!("{base}/{words}"),
            &alice,
            json!({"exempt_roles": [], "exempt_channels": [text]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.post(&msgs, &bob, json!({"content": "badword"})).await;
    assert_eq!(r.status, 200, "exempt channel: {}", r.body);
    // A disabled rule does nothing.
    t.patch(
        &format!("{base}/{words}"),
        &alice,
        json!({"exempt_channels": [], "enabled": false}),
    )
    .await;
    let r = t.post(&msgs, &bob, json!({"content": "badword"})).await;
    assert_eq!(r.status, 200, "disabled: {}", r.body);

    // Mention spam with a timeout: the message goes through, the member is timed out.
    let r = t
        .post(
            &base,
            &alice,
            json!({
                "name": "Mentions",
                "event_type": 1,
                "trigger_type": 5,
                "trigger_metadata": {"mention_total_limit": 2},
                "actions": [{"type": 3, "metadata": {"duration_seconds": 600}}],
                "enabled": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(&msgs, &bob, json!({"content": "<@1> <@2> <@&3>"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let posted = id(&r.body);
    let e = loop {
        let e = gw.event("AUTO_MODERATION_ACTION_EXECUTION").await;
        if e["rule_trigger_type"] == 5 {
            break e;
        }
    };
    assert_eq!(e["action"]["type"], 3);
    assert_eq!(e["message_id"], json!(posted));
    let member = t
        .get(&format!("/guilds/{g}/members/{bob_id}"), &alice)
        .await;
    assert!(
        member.body["communication_disabled_until"].is_string(),
        "{}",
        member.body
    );

    // One alert per blocked member message (five sends, one edit; the webhook has no member
    // to name). The guild actor handled every execution before the last, so all are posted.
    let history = t.get(&format!("/channels/{alerts}/messages"), &alice).await;
    assert_eq!(
        history.body.as_array().map(Vec::len),
        Some(6),
        "{}",
        history.body
    );

    // Audit entries: block (143), alert (144), timeout (145), with the rule in `options`.
    let log = t
        .get(&format!("/guilds/{g}/audit-logs?user_id={bob_id}"), &alice)
        .await;
    let types = audit_types(&log.body);
    for want in [143, 144, 145] {
        assert!(types.contains(&want), "{want} in {types:?}");
    }
    let block = log.body["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action_type"] == 143)
        .unwrap();
    assert_eq!(block["options"]["auto_moderation_rule_name"], "Words");
    assert_eq!(block["options"]["auto_moderation_rule_trigger_type"], "1");
}

#[tokio::test]
async fn presets_and_spam_repeats() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let (g, text) = t.guild(&alice, "Presets").await;
    t.join_via_invite(&alice, &text, &bob).await;
    let base = format!("/guilds/{g}/auto-moderation/rules");
    let msgs = format!("/channels/{text}/messages");
    let r = t
        .post(
            &base,
            &alice,
            json!({"name": "Profanity", "event_type": 1, "trigger_type": 4,
                   "trigger_metadata": {"presets": [1, 1, 3], "allow_list": ["damn"]},
                   "actions": [{"type": 1}], "enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Duplicates fold; only the preset trigger's fields.
    assert_eq!(
        r.body["trigger_metadata"],
        json!({"presets": [1, 3], "allow_list": ["damn"]})
    );
    assert_eq!(
        t.post(&msgs, &bob, json!({"content": "well damn"}))
            .await
            .status,
        200
    );
    let r = t.post(&msgs, &bob, json!({"content": "oh SHIT"})).await;
    assert_eq!(r.body["code"], 200000, "{}", r.body);

    let r = t
        .post(
            &base,
            &alice,
            json!({"name": "Spam", "event_type": 1, "trigger_type": 3,
                   "actions": [{"type": 1}], "enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The third identical message in a row is spam (limits.automod.spam_repeats = 3).
    for _ in 0..2 {
        let r = t
            .post(&msgs, &bob, json!({"content": "buy my stuff"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = t
        .post(&msgs, &bob, json!({"content": "Buy my stuff "}))
        .await;
    assert_eq!(r.body["code"], 200000, "{}", r.body);
    let r = t
        .post(&msgs, &bob, json!({"content": "something else"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
