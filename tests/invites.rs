//! Invites restricted to target users (`/invites/{code}/target-users` and its job status), over
//! HTTP on a real server.

mod common;

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use common::TestServer;

/// Discord's JSON error code 10006 Unknown Invite.
const UNKNOWN_INVITE: u64 = 10006;

/// Uploads `csv` as the invite's target users file; returns the status and the body (Null when
/// empty).
async fn put_targets(t: &TestServer, token: &str, code: &str, csv: &str) -> (u16, Value) {
    let form = Form::new().part(
        "target_users_file",
        Part::bytes(csv.as_bytes().to_vec())
            .file_name("users.csv")
            .mime_str("text/csv")
            .expect("mime"),
    );
    let r = t
        .multipart(
            reqwest::Method::PUT,
            &format!("/invites/{code}/target-users"),
            token,
            form,
        )
        .await;
    (r.status, r.body)
}

/// The target users CSV: its status, content type and text.
async fn get_targets(t: &TestServer, token: &str, code: &str) -> (u16, String, String) {
    let (status, kind, bytes) = t
        .get_raw(&format!("/invites/{code}/target-users"), Some(token))
        .await;
    (status, kind, String::from_utf8(bytes).expect("UTF-8 CSV"))
}

async fn job(t: &TestServer, token: &str, code: &str) -> Value {
    let r = t
        .get(&format!("/invites/{code}/target-users/job-status"), token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn id_of(t: &TestServer, token: &str) -> String {
    t.me(token).await["id"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_target_users_may_accept() {
    let s = common::owner_and_member("Targets").await;
    let t = &s.t;
    let carol = t.register("carol").await;
    let dave = t.register("dave").await;
    let carol_id = id_of(t, &carol).await;
    let code = t.invite_code(&s.alice, &s.channel).await;

    // Before any upload the job is Discord's UNSPECIFIED and the list is only its header.
    let none = job(t, &s.alice, &code).await;
    assert_eq!(none["status"], 0, "{none}");
    assert_eq!(none["total_users"], 0);
    assert_eq!(none["created_at"], Value::Null);
    let (status, kind, csv) = get_targets(t, &s.alice, &code).await;
    assert_eq!((status, csv.as_str()), (200, "user_id\r\n"));
    assert!(kind.starts_with("text/csv"), "{kind}");

    // A header, a duplicate and a quoted id: one user, carol.
    let file = format!("user_id\n{carol_id}\n\"{carol_id}\"\n");
    let (status, body) = put_targets(t, &s.alice, &code, &file).await;
    assert_eq!(status, 204, "{body}");
    let done = job(t, &s.alice, &code).await;
    assert_eq!(done["status"], 2, "COMPLETED: {done}");
    assert_eq!(done["total_users"], 1);
    assert_eq!(done["processed_users"], 1);
    assert!(done["created_at"].is_string() && done["completed_at"].is_string());
    assert_eq!(done["error_message"], Value::Null);
    let (_, _, csv) = get_targets(t, &s.alice, &code).await;
    assert_eq!(csv, format!("user_id\r\n{carol_id}\r\n"));

    // Dave is not on the list: for him the invite does not exist.
    let refused = t
        .post(&format!("/invites/{code}"), &dave, serde_json::json!({}))
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(refused.body["code"], UNKNOWN_INVITE);
    t.join(&carol, &code).await;
    let member = t
        .get(&format!("/guilds/{}/members/{carol_id}", s.guild), &s.alice)
        .await;
    assert_eq!(member.status, 200, "carol joined: {}", member.body);

    // An empty file lifts the restriction.
    let (status, body) = put_targets(t, &s.alice, &code, "user_id\n").await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(job(t, &s.alice, &code).await["total_users"], 0);
    t.join(&dave, &code).await;
    s.t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_validated() {
    let s = common::owner_and_member("Checked").await;
    let t = &s.t;
    let code = t.invite_code(&s.alice, &s.channel).await;
    let url = t.url(&format!("/invites/{code}/target-users"));

    // No file at all, as multipart and as JSON.
    let empty_form = t
        .http
        .put(&url)
        .header("authorization", &s.alice)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .expect("request");
    assert_eq!(empty_form.status().as_u16(), 400);
    let body: Value = empty_form.json().await.expect("json");
    assert_eq!(body["code"], 50035);
    assert_eq!(
        common::field_code(&body, &["target_users_file"]),
        "BASE_TYPE_REQUIRED"
    );
    let json = t
        .req(
            reqwest::Method::PUT,
            &format!("/invites/{code}/target-users"),
            Some(&s.alice),
            Some(serde_json::json!({"target_users_file": "1"})),
        )
        .await;
    assert_eq!(json.status, 400, "{}", json.body);
    assert_eq!(
        common::field_code(&json.body, &["target_users_file"]),
        "BASE_TYPE_REQUIRED"
    );

    // Lines that are not ids are named by their line index (the header is line 0).
    let (status, body) = put_targets(
        t,
        &s.alice,
        &code,
        &format!("user_id\n{}\nnope\n", s.bob_id),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        common::field_code(&body, &["target_users_file", "2"]),
        "NUMBER_TYPE_COERCE"
    );
    assert_eq!(
        job(t, &s.alice, &code).await["status"],
        0,
        "a bad file starts no job"
    );

    // Ids of nobody: the job ran and failed, says why, and the old list stays.
    let (status, _) = put_targets(t, &s.alice, &code, &format!("{}\n", s.bob_id)).await;
    assert_eq!(status, 204);
    let (status, body) = put_targets(t, &s.alice, &code, &format!("{}\n4242\n", s.bob_id)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        common::field_code(&body, &["target_users_file", "1"]),
        "USER_TYPE_UNKNOWN"
    );
    let failed = job(t, &s.alice, &code).await;
    assert_eq!(failed["status"], 3, "FAILED: {failed}");
    assert_eq!(failed["total_users"], 2);
    assert_eq!(failed["processed_users"], 2);
    assert_eq!(failed["completed_at"], Value::Null);
    assert!(
        failed["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("4242")),
        "{failed}"
    );
    let (_, _, csv) = get_targets(t, &s.alice, &code).await;
    assert_eq!(csv, format!("user_id\r\n{}\r\n", s.bob_id));
    s.t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviter_or_manage_guild_may_manage() {
    let s = common::owner_and_member("Managed").await;
    let t = &s.t;
    let outsider = t.register("outsider").await;
    let alices = t.invite_code(&s.alice, &s.channel).await;
    // @everyone may create invites: Bob's own invite is his to restrict.
    let bobs = t.invite_code(&s.bob, &s.channel).await;

    let (status, body) = put_targets(t, &s.bob, &bobs, &format!("{}\n", s.alice_id)).await;
    assert_eq!(status, 204, "the inviter: {body}");
    // The owner (MANAGE_GUILD) may read and replace it too.
    let (status, _, csv) = get_targets(t, &s.alice, &bobs).await;
    assert_eq!(
        (status, csv),
        (200, format!("user_id\r\n{}\r\n", s.alice_id))
    );
    let (status, body) = put_targets(t, &s.alice, &bobs, "").await;
    assert_eq!(status, 204, "MANAGE_GUILD: {body}");

    // Bob on Alice's invite: a member without MANAGE_GUILD.
    let (status, body) = put_targets(t, &s.bob, &alices, &format!("{}\n", s.bob_id)).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (403, Some(50013)),
        "{body}"
    );
    let r = t
        .get(
            &format!("/invites/{alices}/target-users/job-status"),
            &s.bob,
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_u64()), (403, Some(50013)));
    // A stranger to the guild learns nothing; an unknown code is 10006.
    let (status, _, _) = get_targets(t, &outsider, &alices).await;
    assert_eq!(status, 404);
    let r = t
        .get("/invites/nosuchcode/target-users/job-status", &s.alice)
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_u64()),
        (404, Some(UNKNOWN_INVITE))
    );

    // Deleting the invite deletes its list with it.
    let (status, _) = put_targets(t, &s.alice, &alices, &format!("{}\n", s.bob_id)).await;
    assert_eq!(status, 204);
    let del = t.delete(&format!("/invites/{alices}"), &s.alice).await;
    assert_eq!(del.status, 200, "{}", del.body);
    let left = t.srv().app.store().invite_target_users(&alices).await;
    assert_eq!(left.expect("store"), None);
    s.t.stop().await;
}
