//! Member verification and join requests, over HTTP and the gateway: the gate holds newcomers
//! (`pending`, sending refused with 50009) until they submit the form; terms alone let them in
//! at once, other questions wait for a moderator who approves (pending ends) or rejects (the
//! member is removed); GUILD_JOIN_REQUEST_CREATE/UPDATE/DELETE reach the applicant and the
//! moderators; validation and permissions.

mod common;

use common::{Gateway, TestServer, field_code, owner_and_member};
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const INTENTS: u64 = GUILDS | GUILD_MEMBERS | GUILD_MESSAGES;

fn terms() -> Value {
    json!({"field_type": "TERMS", "label": "Read the rules", "required": true,
           "values": ["Be kind", "No spam"]})
}

fn review_form() -> Value {
    json!([
        terms(),
        {"field_type": "TEXT_INPUT", "label": "Why join?", "required": true, "placeholder": "Because"},
        {"field_type": "MULTIPLE_CHOICE", "label": "Favourite?", "required": false,
         "choices": ["Cats", "Dogs"]},
    ])
}

fn review_answers() -> Value {
    json!({"form_fields": [
        {"field_type": "TERMS", "label": "Read the rules", "response": true},
        {"field_type": "TEXT_INPUT", "label": "Why join?", "response": "I like it here"},
        {"field_type": "MULTIPLE_CHOICE", "label": "Favourite?", "response": 1},
    ]})
}

async fn user_id(t: &TestServer, token: &str) -> String {
    t.me(token).await["id"].as_str().expect("id").to_string()
}

/// A gateway session of `token`, past READY.
async fn online(t: &TestServer, token: &str) -> Gateway {
    let mut gw = Gateway::connect(&t.gateway_url("?v=10&encoding=json"), false).await;
    gw.identify(token, INTENTS).await;
    gw
}

async fn gate(t: &TestServer, owner: &str, guild: &str, fields: Value) -> Value {
    let r = t
        .patch(
            &format!("/guilds/{guild}/member-verification"),
            owner,
            json!({"enabled": true, "description": "Welcome", "form_fields": fields}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn say(t: &TestServer, token: &str, channel: &str) -> u16 {
    t.post(
        &format!("/channels/{channel}/messages"),
        token,
        json!({"content": "hello"}),
    )
    .await
    .status
}

async fn put_answers(t: &TestServer, token: &str, guild: &str, body: Value) -> common::Resp {
    t.req(
        reqwest::Method::PUT,
        &format!("/guilds/{guild}/requests/@me"),
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn terms_only_gate_holds_newcomers_until_they_accept() {
    let s = owner_and_member("Screened").await;
    let t = &s.t;
    let form = gate(t, &s.alice, &s.guild, json!([terms()])).await;
    assert_eq!(form["form_fields"][0]["values"][1], "No spam");
    assert_eq!(form["description"], "Welcome");
    let version = form["version"].as_str().expect("version").to_string();
    let g = t.get(&format!("/guilds/{}", s.guild), &s.alice).await;
    assert!(
        g.body["features"]
            .as_array()
            .unwrap()
            .contains(&json!("MEMBER_VERIFICATION_GATE_ENABLED")),
        "{}",
        g.body
    );

    let carol = t.register("carol").await;
    let carol_id = user_id(t, &carol).await;
    // Before joining, the invitee's client shows the form (with the guild).
    let preview = t
        .get(
            &format!(
                "/guilds/{}/member-verification?with_guild=true&invite_code={}",
                s.guild, s.invite
            ),
            &carol,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["guild"]["name"], "Screened");
    assert_eq!(preview.body["form_fields"][0]["field_type"], "TERMS");
    let mut gw = online(t, &carol).await;
    t.join(&carol, &s.invite).await;
    gw.event("GUILD_CREATE").await;
    let m = t
        .get(&format!("/guilds/{}/members/{carol_id}", s.guild), &s.alice)
        .await;
    assert_eq!(m.body["pending"], true, "{}", m.body);
    // Pending: may look, may not speak.
    let blocked = t
        .post(
            &format!("/channels/{}/messages", s.channel),
            &carol,
            json!({"content": "let me in"}),
        )
        .await;
    assert_eq!(blocked.status, 403, "{}", blocked.body);
    assert_eq!(blocked.body["code"], 50009);
    let read = t
        .get(&format!("/channels/{}/messages", s.channel), &carol)
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    // Members from before the gate are not held.
    assert_eq!(say(t, &s.bob, &s.channel).await, 200);

    let seen = t
        .get(&format!("/guilds/{}/member-verification", s.guild), &carol)
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.body["version"], version.as_str());
    let r = put_answers(
        t,
        &carol,
        &s.guild,
        json!({"version": version, "form_fields": [{"field_type": "TERMS", "label": "Read the rules", "values": ["Be kind", "No spam"], "required": true, "response": true}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["application_status"], "APPROVED");
    assert_eq!(r.body["user_id"], carol_id.as_str());
    assert_eq!(r.body["form_responses"][0]["response"], true);
    let created = gw.event("GUILD_JOIN_REQUEST_CREATE").await;
    assert_eq!(created["status"], "APPROVED");
    assert_eq!(created["guild_id"], s.guild.as_str());
    assert_eq!(created["request"]["id"], r.body["id"]);
    let update = gw.event("GUILD_MEMBER_UPDATE").await;
    assert_eq!(update["user"]["id"], carol_id.as_str());
    assert_eq!(update["pending"], false);
    assert_eq!(say(t, &carol, &s.channel).await, 200);
    // Passed: a second submission is refused.
    let again = put_answers(
        t,
        &carol,
        &s.guild,
        json!({"form_fields": [{"response": true}]}),
    )
    .await;
    assert_eq!(again.status, 400, "{}", again.body);
}

#[tokio::test]
async fn moderators_approve_and_reject_join_requests() {
    let s = owner_and_member("Apply").await;
    let t = &s.t;
    gate(t, &s.alice, &s.guild, review_form()).await;
    let mut mods = online(t, &s.alice).await;

    let carol = t.register("carol").await;
    let carol_id = user_id(t, &carol).await;
    let mut cgw = online(t, &carol).await;
    t.join(&carol, &s.invite).await;
    cgw.event("GUILD_CREATE").await;
    let r = put_answers(t, &carol, &s.guild, review_answers()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["application_status"], "SUBMITTED");
    assert_eq!(r.body["form_responses"][1]["response"], "I like it here");
    assert_eq!(r.body["form_responses"][2]["response"], 1);
    let request = r.body["id"].as_str().expect("id").to_string();
    let seen = mods.event("GUILD_JOIN_REQUEST_CREATE").await;
    assert_eq!(seen["status"], "SUBMITTED");
    assert_eq!(seen["request"]["user"]["id"], carol_id.as_str());
    assert_eq!(
        cgw.event("GUILD_JOIN_REQUEST_CREATE").await["request"]["id"],
        request.as_str()
    );
    // Submitted is not admitted.
    assert_eq!(say(t, &carol, &s.channel).await, 403);
    // A new session of the applicant reads its request in READY; others have none.
    let mut again = Gateway::connect(&t.gateway_url("?v=10&encoding=json"), false).await;
    let ready = again.identify(&carol, INTENTS).await;
    let mine = &ready["guild_join_requests"];
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{ready}");
    assert_eq!(mine[0]["id"], request.as_str());
    assert_eq!(mine[0]["application_status"], "SUBMITTED");
    assert_eq!(mine[0]["guild_id"], s.guild.as_str());
    let mut other = Gateway::connect(&t.gateway_url("?v=10&encoding=json"), false).await;
    let ready = other.identify(&s.bob, INTENTS).await;
    assert_eq!(ready["guild_join_requests"], json!([]));

    // Only moderators (KICK_MEMBERS) see the queue.
    let denied = t
        .get(&format!("/guilds/{}/requests", s.guild), &s.bob)
        .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["code"], 50013);
    let denied = t
        .patch(
            &format!("/guilds/{}/requests/{request}", s.guild),
            &s.bob,
            json!({"action": "APPROVED"}),
        )
        .await;
    assert_eq!(denied.body["code"], 50013, "{}", denied.body);
    let list = t
        .get(
            &format!("/guilds/{}/requests?status=SUBMITTED", s.guild),
            &s.alice,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["guild_join_requests"][0]["id"], request.as_str());

    let approved = t
        .patch(
            &format!("/guilds/{}/requests/{request}", s.guild),
            &s.alice,
            json!({"action": "APPROVED"}),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["application_status"], "APPROVED");
    assert_eq!(approved.body["actioned_by_user"]["id"], s.alice_id.as_str());
    assert!(approved.body["reviewed_at"].is_string());
    let update = cgw.event("GUILD_JOIN_REQUEST_UPDATE").await;
    assert_eq!(update["status"], "APPROVED");
    assert_eq!(cgw.event("GUILD_MEMBER_UPDATE").await["pending"], false);
    assert_eq!(say(t, &carol, &s.channel).await, 200);
    // Decided once.
    let twice = t
        .patch(
            &format!("/guilds/{}/requests/{request}", s.guild),
            &s.alice,
            json!({"action": "REJECTED"}),
        )
        .await;
    assert_eq!(twice.status, 400, "{}", twice.body);

    // Rejected: the applicant is told why and removed.
    let dave = t.register("dave").await;
    let dave_id = user_id(t, &dave).await;
    let mut dgw = online(t, &dave).await;
    t.join(&dave, &s.invite).await;
    dgw.event("GUILD_CREATE").await;
    let r = put_answers(t, &dave, &s.guild, review_answers()).await;
    let dave_request = r.body["id"].as_str().expect("id").to_string();
    let rejected = t
        .patch(
            &format!("/guilds/{}/requests/{dave_request}", s.guild),
            &s.alice,
            json!({"action": "REJECTED", "rejection_reason": "Not now"}),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert_eq!(rejected.body["application_status"], "REJECTED");
    assert_eq!(rejected.body["rejection_reason"], "Not now");
    let update = dgw.event("GUILD_JOIN_REQUEST_UPDATE").await;
    assert_eq!(update["request"]["rejection_reason"], "Not now");
    assert_eq!(dgw.event("GUILD_DELETE").await["id"], s.guild.as_str());
    let gone = t
        .get(&format!("/guilds/{}/members/{dave_id}", s.guild), &s.alice)
        .await;
    assert_eq!(gone.body["code"], 10007, "{}", gone.body);

    // The history, by status and paged by id.
    let all = t
        .get(&format!("/guilds/{}/requests", s.guild), &s.alice)
        .await;
    assert_eq!(all.body["total"], 2, "{}", all.body);
    let rej = t
        .get(
            &format!("/guilds/{}/requests?status=REJECTED", s.guild),
            &s.alice,
        )
        .await;
    assert_eq!(rej.body["total"], 1);
    assert_eq!(
        rej.body["guild_join_requests"][0]["user_id"],
        dave_id.as_str()
    );
    let first = t
        .get(&format!("/guilds/{}/requests?limit=1", s.guild), &s.alice)
        .await;
    assert_eq!(first.body["guild_join_requests"][0]["id"], request.as_str());
    assert_eq!(first.body["total"], 2);
    let next = t
        .get(
            &format!("/guilds/{}/requests?limit=1&after={request}", s.guild),
            &s.alice,
        )
        .await;
    assert_eq!(
        next.body["guild_join_requests"][0]["id"],
        dave_request.as_str()
    );
    let before = t
        .get(
            &format!("/guilds/{}/requests?before={dave_request}", s.guild),
            &s.alice,
        )
        .await;
    let ids: Vec<&Value> = before.body["guild_join_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, vec![&json!(request)]);
    let unknown = t
        .patch(
            &format!("/guilds/{}/requests/1234567890123456789", s.guild),
            &s.alice,
            json!({"action": "APPROVED"}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.body["code"], 10075);
}

#[tokio::test]
async fn forms_and_answers_are_validated() {
    let s = owner_and_member("Strict").await;
    let t = &s.t;
    let path = format!("/guilds/{}/member-verification", s.guild);
    // Managing the form takes MANAGE_GUILD; off, it is the managers' to see.
    let r = t.patch(&path, &s.bob, json!({"description": "x"})).await;
    assert_eq!(r.body["code"], 50013, "{}", r.body);
    let r = t.get(&path, &s.bob).await;
    assert_eq!(r.body["code"], 50013, "{}", r.body);
    // The gate is off: nothing to submit.
    let r = put_answers(t, &s.bob, &s.guild, json!({"form_fields": []})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["code"], 10068);

    let r = t.patch(&path, &s.alice, json!({"enabled": true})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(field_code(&r.body, &["form_fields"]), "BASE_TYPE_MIN_ITEMS");
    let r = t
        .patch(
            &path,
            &s.alice,
            json!({"form_fields": [{"field_type": "SELFIE", "label": "Smile"}]}),
        )
        .await;
    assert_eq!(
        field_code(&r.body, &["form_fields", "0", "field_type"]),
        "BASE_TYPE_CHOICES",
        "{}",
        r.body
    );
    let six: Vec<Value> = (0..6).map(|_| terms()).collect();
    let r = t.patch(&path, &s.alice, json!({"form_fields": six})).await;
    assert_eq!(field_code(&r.body, &["form_fields"]), "BASE_TYPE_MAX_ITEMS");
    let long = "x".repeat(301);
    let nine = vec!["a"; 9];
    let r = t
        .patch(
            &path,
            &s.alice,
            json!({"description": long, "form_fields": [
                {"field_type": "TERMS", "label": long, "values": []},
                {"field_type": "MULTIPLE_CHOICE", "label": "Pick", "choices": nine},
            ]}),
        )
        .await;
    assert_eq!(
        field_code(&r.body, &["description"]),
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_eq!(
        field_code(&r.body, &["form_fields", "0", "label"]),
        "BASE_TYPE_BAD_LENGTH",
        "{}",
        r.body
    );
    assert_eq!(
        field_code(&r.body, &["form_fields", "0", "values"]),
        "BASE_TYPE_MIN_ITEMS"
    );
    assert_eq!(
        field_code(&r.body, &["form_fields", "1", "choices"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    // Discord's older clients send the fields as a JSON string.
    let as_string = review_form().to_string();
    let r = t
        .patch(
            &path,
            &s.alice,
            json!({"enabled": true, "form_fields": as_string}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let version = r.body["version"].as_str().unwrap().to_string();
    assert_eq!(r.body["form_fields"][2]["choices"][0], "Cats");

    // A member who joined before the gate already passed it.
    let r = put_answers(t, &s.bob, &s.guild, review_answers()).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let carol = t.register("carol").await;
    t.join(&carol, &s.invite).await;
    let answers = |terms: Value, text: Value, choice: Value| json!({"form_fields": [{"response": terms}, {"response": text}, {"response": choice}]});
    let r = put_answers(
        t,
        &carol,
        &s.guild,
        answers(json!(false), json!(""), json!(5)),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        field_code(&r.body, &["form_fields", "0", "response"]),
        "BASE_TYPE_REQUIRED"
    );
    assert_eq!(
        field_code(&r.body, &["form_fields", "1", "response"]),
        "BASE_TYPE_REQUIRED"
    );
    assert_eq!(
        field_code(&r.body, &["form_fields", "2", "response"]),
        "NUMBER_TYPE_MAX"
    );
    let r = put_answers(
        t,
        &carol,
        &s.guild,
        answers(json!(true), json!("y".repeat(151)), json!("Cats")),
    )
    .await;
    assert_eq!(
        field_code(&r.body, &["form_fields", "1", "response"]),
        "BASE_TYPE_MAX_LENGTH",
        "{}",
        r.body
    );
    assert_eq!(
        field_code(&r.body, &["form_fields", "2", "response"]),
        "BASE_TYPE_BAD_TYPE"
    );
    let r = put_answers(
        t,
        &carol,
        &s.guild,
        json!({"form_fields": [{"response": true}]}),
    )
    .await;
    assert_eq!(
        field_code(&r.body, &["form_fields"]),
        "BASE_TYPE_BAD_LENGTH"
    );
    let mut stale = review_answers();
    stale["version"] = json!("2020-01-01T00:00:00.000000+00:00");
    let r = put_answers(t, &carol, &s.guild, stale).await;
    assert_eq!(field_code(&r.body, &["version"]), "BASE_TYPE_CHOICES");
    let mut current = review_answers();
    current["version"] = json!(version);
    let r = put_answers(t, &carol, &s.guild, current).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let request = r.body["id"].as_str().unwrap().to_string();

    // Queries and decisions.
    let list = format!("/guilds/{}/requests", s.guild);
    let r = t.get(&format!("{list}?status=STARTED"), &s.alice).await;
    assert_eq!(field_code(&r.body, &["status"]), "BASE_TYPE_CHOICES");
    let r = t.get(&format!("{list}?limit=0"), &s.alice).await;
    assert_eq!(field_code(&r.body, &["limit"]), "NUMBER_TYPE_MIN");
    let r = t.get(&format!("{list}?limit=101"), &s.alice).await;
    assert_eq!(field_code(&r.body, &["limit"]), "NUMBER_TYPE_MAX");
    let one = format!("{list}/{request}");
    let r = t.patch(&one, &s.alice, json!({"action": "MAYBE"})).await;
    assert_eq!(field_code(&r.body, &["action"]), "BASE_TYPE_CHOICES");
    let r = t.patch(&one, &s.alice, json!({})).await;
    assert_eq!(field_code(&r.body, &["action"]), "BASE_TYPE_REQUIRED");
    let r = t
        .patch(
            &one,
            &s.alice,
            json!({"action": "REJECTED", "rejection_reason": "z".repeat(161)}),
        )
        .await;
    assert_eq!(
        field_code(&r.body, &["rejection_reason"]),
        "BASE_TYPE_MAX_LENGTH"
    );
    // Strangers learn nothing.
    let eve = t.register("eve").await;
    let r = t.get(&list, &eve).await;
    assert_eq!(r.body["code"], 10004, "{}", r.body);
}

#[tokio::test]
async fn withdrawing_and_leaving_delete_the_request() {
    let s = owner_and_member("Withdraw").await;
    let t = &s.t;
    gate(t, &s.alice, &s.guild, review_form()).await;
    let mut mods = online(t, &s.alice).await;
    let carol = t.register("carol").await;
    let carol_id = user_id(t, &carol).await;
    t.join(&carol, &s.invite).await;
    let r = put_answers(t, &carol, &s.guild, review_answers()).await;
    let request = r.body["id"].as_str().unwrap().to_string();
    mods.event("GUILD_JOIN_REQUEST_CREATE").await;
    // Submitting again replaces the answers of the same request.
    let mut changed = review_answers();
    changed["form_fields"][1]["response"] = json!("Second thoughts");
    let r = put_answers(t, &carol, &s.guild, changed).await;
    assert_eq!(r.body["id"], request.as_str(), "{}", r.body);
    let update = mods.event("GUILD_JOIN_REQUEST_UPDATE").await;
    assert_eq!(
        update["request"]["form_responses"][1]["response"],
        "Second thoughts"
    );

    let r = t
        .delete(&format!("/guilds/{}/requests/@me", s.guild), &carol)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let deleted = mods.event("GUILD_JOIN_REQUEST_DELETE").await;
    assert_eq!(deleted["id"], request.as_str());
    assert_eq!(deleted["user_id"], carol_id.as_str());
    let r = t
        .delete(&format!("/guilds/{}/requests/@me", s.guild), &carol)
        .await;
    assert_eq!(r.body["code"], 10075, "{}", r.body);
    // Still pending: submit again, then leave — the request goes with the member.
    let r = put_answers(t, &carol, &s.guild, review_answers()).await;
    let second = r.body["id"].as_str().unwrap().to_string();
    assert_ne!(second, request);
    mods.event("GUILD_JOIN_REQUEST_CREATE").await;
    let r = t
        .delete(&format!("/users/@me/guilds/{}", s.guild), &carol)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        mods.event("GUILD_JOIN_REQUEST_DELETE").await["id"],
        second.as_str()
    );
    let list = t
        .get(&format!("/guilds/{}/requests", s.guild), &s.alice)
        .await;
    assert_eq!(list.body["total"], 0, "{}", list.body);
}

#[tokio::test]
async fn turning_the_gate_off_lets_pending_members_in() {
    let s = owner_and_member("Open").await;
    let t = &s.t;
    gate(t, &s.alice, &s.guild, review_form()).await;
    let carol = t.register("carol").await;
    let carol_id = user_id(t, &carol).await;
    let mut cgw = online(t, &carol).await;
    t.join(&carol, &s.invite).await;
    cgw.event("GUILD_CREATE").await;
    put_answers(t, &carol, &s.guild, review_answers()).await;
    cgw.event("GUILD_JOIN_REQUEST_CREATE").await;
    let erin = t.register("erin").await;
    t.join(&erin, &s.invite).await;

    let r = t
        .patch(
            &format!("/guilds/{}/member-verification", s.guild),
            &s.alice,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        cgw.event("GUILD_JOIN_REQUEST_UPDATE").await["status"],
        "APPROVED"
    );
    let update = cgw.event("GUILD_MEMBER_UPDATE").await;
    assert_eq!(update["user"]["id"], carol_id.as_str());
    assert_eq!(update["pending"], false);
    assert_eq!(say(t, &carol, &s.channel).await, 200);
    // Pending without a request (never submitted) gets in too.
    assert_eq!(say(t, &erin, &s.channel).await, 200);
    let g = t.get(&format!("/guilds/{}", s.guild), &s.alice).await;
    assert!(
        !g.body["features"]
            .as_array()
            .unwrap()
            .contains(&json!("MEMBER_VERIFICATION_GATE_ENABLED"))
    );
    // Each change of the form is in the audit log (Discord's 210).
    let log = t
        .get(
            &format!("/guilds/{}/audit-logs?action_type=210", s.guild),
            &s.alice,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert_eq!(
        log.body["audit_log_entries"].as_array().unwrap().len(),
        2,
        "{}",
        log.body
    );
    // A bot never waits at the gate.
    gate(t, &s.alice, &s.guild, json!([terms()])).await;
    let bot = t
        .bot_in_guild(&s.alice, &s.guild, "Helper", "bot", "2048")
        .await;
    let m = t
        .get(
            &format!("/guilds/{}/members/{}", s.guild, bot.bot_id),
            &s.alice,
        )
        .await;
    assert_eq!(m.body["pending"], false, "{}", m.body);
    // The feature in `PATCH /guilds/{id}` is the same switch.
    let frank = t.register("frank").await;
    t.join(&frank, &s.invite).await;
    assert_eq!(say(t, &frank, &s.channel).await, 403);
    let r = t
        .patch(
            &format!("/guilds/{}", s.guild),
            &s.alice,
            json!({"features": []}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(say(t, &frank, &s.channel).await, 200);
    let form = t
        .get(&format!("/guilds/{}/member-verification", s.guild), &s.bob)
        .await;
    assert_eq!(form.body["code"], 50013, "{}", form.body);
}

#[tokio::test]
async fn the_gate_feature_needs_a_form() {
    let s = owner_and_member("Featured").await;
    let r =
        s.t.patch(
            &format!("/guilds/{}", s.guild),
            &s.alice,
            json!({"features": ["MEMBER_VERIFICATION_GATE_ENABLED"]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(field_code(&r.body, &["features"]), "BASE_TYPE_CHOICES");
}
