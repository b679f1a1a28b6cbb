//! Webhooks: manage, execute (with and without `wait`, overrides, files), edit/delete their
//! messages, and WEBHOOKS_UPDATE.

mod common;

use common::Gateway;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn webhook_lifecycle() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let guest = t.register("guest").await;
    let (guild, channel) = t.guild(&owner, "Hooks").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&owner, 1 | (1 << 5) | (1 << 9) | (1 << 15))
        .await;
    gw.event("GUILD_CREATE").await;

    let bad = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &owner,
            json!({"name": ""}),
        )
        .await;
    assert_eq!(
        bad.body["errors"]["name"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );
    let hook = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &owner,
            json!({"name": "Announcer"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{}", hook.body);
    let (id, token) = (
        hook.body["id"].as_str().unwrap().to_string(),
        hook.body["token"].as_str().unwrap().to_string(),
    );
    assert_eq!(hook.body["type"], 1);
    assert_eq!(gw.event("WEBHOOKS_UPDATE").await["channel_id"], channel);
    assert_eq!(
        t.get(&format!("/guilds/{guild}/webhooks"), &owner)
            .await
            .body[0]["id"],
        id
    );
    assert_eq!(
        t.get(&format!("/channels/{channel}/webhooks"), &guest)
            .await
            .status,
        404,
        "not a member"
    );

    // Execute without wait → 204; with wait → the message, author from the override.
    let r = t
        .req(
            Method::POST,
            &format!("/webhooks/{id}/{token}"),
            None,
            Some(json!({"content": "fire and forget"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let ev = gw.event("MESSAGE_CREATE").await;
    assert_eq!(ev["webhook_id"], id);
    assert_eq!(ev["author"]["username"], "Announcer");
    assert_eq!(ev["author"]["bot"], true);
    let m = t.req(Method::POST, &format!("/webhooks/{id}/{token}?wait=true"), None, Some(json!({"content": "with wait", "username": "Custom Name", "avatar_url": "http://x/y.png"}))).await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.body["author"]["username"], "Custom Name");
    assert_eq!(m.body["author"]["avatar"], "http://x/y.png");
    let mid = m.body["id"].as_str().unwrap().to_string();
    let history = t
        .get(&format!("/channels/{channel}/messages"), &owner)
        .await;
    assert_eq!(history.body[0]["author"]["username"], "Custom Name");

    // Files through a webhook.
    let form = reqwest::multipart::Form::new()
        .text("payload_json", json!({"content": "a file"}).to_string())
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a.txt"),
        );
    let r = t
        .http
        .post(t.url(&format!("/webhooks/{id}/{token}?wait=true")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["attachments"][0]["filename"], "a.txt");

    // Edit and delete its own message by token; a wrong token is Unknown Webhook.
    let e = t
        .req(
            Method::PATCH,
            &format!("/webhooks/{id}/{token}/messages/{mid}"),
            None,
            Some(json!({"content": "edited"})),
        )
        .await;
    assert_eq!(e.body["content"], "edited");
    assert_eq!(
        t.req(
            Method::GET,
            &format!("/webhooks/{id}/wrong/messages/{mid}"),
            None,
            None
        )
        .await
        .body["code"],
        10015
    );
    let user_msg = t
        .post(
            &format!("/channels/{channel}/messages"),
            &owner,
            json!({"content": "mine"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        t.req(
            Method::DELETE,
            &format!("/webhooks/{id}/{token}/messages/{user_msg}"),
            None,
            None
        )
        .await
        .body["code"],
        10008,
        "only its own messages"
    );
    assert_eq!(
        t.req(
            Method::DELETE,
            &format!("/webhooks/{id}/{token}/messages/{mid}"),
            None,
            None
        )
        .await
        .status,
        204
    );

    // Token view hides the creator; rename by token; delete by id.
    let v = t
        .req(Method::GET, &format!("/webhooks/{id}/{token}"), None, None)
        .await;
    assert!(v.body.get("user").is_none());
    let renamed = t
        .req(
            Method::PATCH,
            &format!("/webhooks/{id}/{token}"),
            None,
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(renamed.body["name"], "Renamed");
    assert_eq!(
        t.delete(&format!("/webhooks/{id}"), &owner).await.status,
        204
    );
    assert_eq!(
        t.req(
            Method::POST,
            &format!("/webhooks/{id}/{token}"),
            None,
            Some(json!({"content": "gone"}))
        )
        .await
        .body["code"],
        10015
    );
}

/// A webhook and its token in a fresh guild, with the owner's gateway watching messages.
async fn hook_with_gateway(
    t: &common::TestServer,
    name: &str,
) -> (String, String, String, Gateway) {
    let owner = t.register(name).await;
    let (_, channel) = t.guild(&owner, "Compat").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    // GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT
    gw.identify(&owner, 1 | (1 << 9) | (1 << 15)).await;
    gw.event("GUILD_CREATE").await;
    let hook = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &owner,
            json!({"name": "Compat"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{}", hook.body);
    (
        hook.body["id"].as_str().unwrap().to_string(),
        hook.body["token"].as_str().unwrap().to_string(),
        channel,
        gw,
    )
}

/// Slack's incoming-webhook payload (the sample from Slack's "attachments" reference): text,
/// author override and an attachment with every field become content, author and one embed.
#[tokio::test]
async fn slack_compatible_execute() {
    let t = common::start().await;
    let (id, token, channel, mut gw) = hook_with_gateway(&t, "slacker").await;
    let slack = format!("/webhooks/{id}/{token}/slack");
    let payload = json!({
        "text": "New deploy finished",
        "username": "deploy-bot",
        "icon_url": "https://example.com/deploy.png",
        "channel": "#ignored",
        "mrkdwn": true,
        "attachments": [{
            "fallback": "Required plain-text summary of the attachment.",
            "color": "#36a64f",
            "pretext": "Optional text that appears above the attachment block",
            "author_name": "Bobby Tables",
            "author_link": "http://flickr.com/bobby/",
            "author_icon": "http://flickr.com/icons/bobby.jpg",
            "title": "Slack API Documentation",
            "title_link": "https://api.slack.com/",
            "text": "Optional text that appears within the attachment",
            "fields": [{"title": "Priority", "value": "High", "short": false}],
            "image_url": "http://my-website.com/path/to/image.jpg",
            "thumb_url": "http://example.com/path/to/thumb.png",
            "footer": "Slack API",
            "footer_icon": "https://platform.slack-edge.com/img/default_application_icon.png",
            "ts": 123456789
        }, {"fallback": "only a fallback", "color": "danger"}]
    });
    let r = t
        .req(Method::POST, &slack, None, Some(payload.clone()))
        .await;
    assert_eq!((r.status, r.body.clone()), (200, json!("ok")));
    let ev = gw.event("MESSAGE_CREATE").await;
    assert_eq!(ev["channel_id"], channel);
    assert_eq!(ev["webhook_id"], id);
    assert_eq!(ev["content"], "New deploy finished");
    assert_eq!(ev["author"]["username"], "deploy-bot");
    assert_eq!(ev["author"]["avatar"], "https://example.com/deploy.png");
    let e = &ev["embeds"][0];
    assert_eq!(e["type"], "rich");
    assert_eq!(e["title"], "Slack API Documentation");
    assert_eq!(e["url"], "https://api.slack.com/");
    assert_eq!(
        e["description"],
        "Optional text that appears above the attachment block\nOptional text that appears within the attachment"
    );
    assert_eq!(e["color"], 0x36A64F);
    assert_eq!(e["author"]["name"], "Bobby Tables");
    assert_eq!(e["author"]["url"], "http://flickr.com/bobby/");
    assert_eq!(e["author"]["icon_url"], "http://flickr.com/icons/bobby.jpg");
    assert_eq!(
        e["fields"],
        json!([{"name": "Priority", "value": "High", "inline": false}])
    );
    assert_eq!(e["image"]["url"], "http://my-website.com/path/to/image.jpg");
    assert_eq!(
        e["thumbnail"]["url"],
        "http://example.com/path/to/thumb.png"
    );
    assert_eq!(e["footer"]["text"], "Slack API");
    assert_eq!(e["timestamp"], "1973-11-29T21:33:09.000000+00:00");
    // The second attachment shows nothing but its fallback and Slack's named colour.
    assert_eq!(ev["embeds"][1]["description"], "only a fallback");
    assert_eq!(ev["embeds"][1]["color"], 0xA30200);

    // ?wait=true answers the message, as the plain execute does; a form-encoded `payload`
    // (Slack's other encoding) is read too.
    let form = t
        .http
        .post(t.url(&format!("{slack}?wait=true")))
        .form(&[("payload", r#"{"text": "from a form"}"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let m: serde_json::Value = form.json().await.unwrap();
    assert_eq!(m["content"], "from a form");
    assert_eq!(m["author"]["username"], "Compat");
    assert_eq!(gw.event("MESSAGE_CREATE").await["id"], m["id"]);

    // multipart/form-data: the Slack JSON in a `payload` part, a file attached beside it.
    let multipart = reqwest::multipart::Form::new()
        .text(
            "payload",
            r#"{"text": "from multipart", "username": "mp-bot", "attachments": [{"title": "t", "color": "good"}]}"#,
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"build log".to_vec()).file_name("build.log"),
        );
    let r = t
        .http
        .post(t.url(&format!("{slack}?wait=true")))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m: serde_json::Value = r.json().await.unwrap();
    assert_eq!(m["content"], "from multipart", "{m}");
    assert_eq!(m["author"]["username"], "mp-bot");
    assert_eq!(m["embeds"][0]["title"], "t");
    assert_eq!(m["embeds"][0]["color"], 0x2EB886);
    assert_eq!(m["attachments"][0]["filename"], "build.log");
    assert_eq!(m["attachments"][0]["size"], 9);
    let file = t
        .http
        .get(m["attachments"][0]["url"].as_str().expect("url"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"build log");
    assert_eq!(gw.event("MESSAGE_CREATE").await["id"], m["id"]);
    // Without `?wait=true` Slack's "ok"; a bad payload part is the same field error as JSON.
    let r = t
        .http
        .post(t.url(&slack))
        .multipart(reqwest::multipart::Form::new().text("payload", r#"{"text": "plain"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!("ok"));
    assert_eq!(gw.event("MESSAGE_CREATE").await["content"], "plain");
    let r = t
        .http
        .post(t.url(&slack))
        .multipart(reqwest::multipart::Form::new().text(
            "payload",
            r#"{"attachments": [{"title": "x", "color": "green-ish"}]}"#,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        common::field_code(&body, &["attachments", "0", "color"]),
        "BASE_TYPE_BAD_TYPE"
    );

    // Errors are Discord's: a bad colour is a field error, nothing to post is 50006, a thread
    // this webhook can't reach is 10003, a wrong token 10015.
    let bad = t
        .req(
            Method::POST,
            &slack,
            None,
            Some(json!({"attachments": [{"title": "x", "color": "green-ish"}]})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        common::field_code(&bad.body, &["attachments", "0", "color"]),
        "BASE_TYPE_BAD_TYPE"
    );
    let empty = t.req(Method::POST, &slack, None, Some(json!({}))).await;
    assert_eq!(empty.body["code"], 50006, "{}", empty.body);
    let thread = t
        .req(
            Method::POST,
            &format!("{slack}?thread_id=1"),
            None,
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(thread.body["code"], 10003);
    let wrong = t
        .req(
            Method::POST,
            &format!("/webhooks/{id}/not-the-token/slack"),
            None,
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.body["code"].clone()),
        (404, json!(10015))
    );
}

fn octocat() -> serde_json::Value {
    json!({"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif",
        "html_url": "https://github.com/octocat", "type": "User", "site_admin": false})
}

fn hello_world() -> serde_json::Value {
    json!({"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "Hello-World",
        "full_name": "octocat/Hello-World", "private": false, "owner": octocat(),
        "html_url": "https://github.com/octocat/Hello-World", "default_branch": "main"})
}

/// GitHub events (payloads shaped as GitHub's webhook reference documents them) become the
/// embeds Discord writes; events Discord doesn't post answer 204 and post nothing.
#[tokio::test]
async fn github_compatible_execute() {
    let t = common::start().await;
    let (id, token, _, mut gw) = hook_with_gateway(&t, "hubber").await;
    let github = format!("/webhooks/{id}/{token}/github");
    let send = |event: &'static str, body: serde_json::Value, query: &'static str| {
        let t = &t;
        let path = format!("{github}{query}");
        async move {
            t.req_with(
                Method::POST,
                &path,
                None,
                Some(body),
                &[("X-GitHub-Event", event), ("X-GitHub-Delivery", "72d3162e")],
            )
            .await
        }
    };

    // push: two commits → `[repo:branch] 2 new commits`, linked to the comparison.
    let push = json!({
        "ref": "refs/heads/main", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "created": false, "deleted": false,
        "forced": false, "base_ref": null,
        "compare": "https://github.com/octocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
        "commits": [
            {"id": "1481a2de7b2a7d02428ad93446ab166be7793fbb", "tree_id": "t", "distinct": true,
             "message": "Fix the widget\n\nIt was broken.", "timestamp": "2015-05-05T19:40:15-04:00",
             "url": "https://github.com/octocat/Hello-World/commit/1481a2de7b2a7d02428ad93446ab166be7793fbb",
             "author": {"name": "Mona Lisa", "email": "mona@github.com", "username": "mona"},
             "committer": {"name": "Mona Lisa", "email": "mona@github.com", "username": "mona"},
             "added": [], "removed": [], "modified": ["README.md"]},
            {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "tree_id": "t", "distinct": true,
             "message": "A commit message that goes on for much longer than fifty characters do",
             "timestamp": "2015-05-05T19:40:15-04:00",
             "url": "https://github.com/octocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
             "author": {"name": "The Octocat", "email": "octocat@github.com"},
             "committer": {"name": "The Octocat", "email": "octocat@github.com"},
             "added": [], "removed": [], "modified": []}
        ],
        "head_commit": null,
        "repository": hello_world(), "pusher": {"name": "octocat", "email": "o@github.com"},
        "sender": octocat()
    });
    assert_eq!(send("push", push, "").await.status, 204);
    let ev = gw.event("MESSAGE_CREATE").await;
    assert_eq!(ev["webhook_id"], id);
    assert_eq!(ev["author"]["username"], "Compat");
    let e = &ev["embeds"][0];
    assert_eq!(e["title"], "[Hello-World:main] 2 new commits");
    assert_eq!(
        e["url"],
        "https://github.com/octocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f"
    );
    assert_eq!(e["color"], 0x7289DA);
    assert_eq!(
        e["description"],
        "[`1481a2d`](https://github.com/octocat/Hello-World/commit/1481a2de7b2a7d02428ad93446ab166be7793fbb) Fix the widget - mona\n\
         [`0d1a26e`](https://github.com/octocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c) A commit message that goes on for much longer tha… - The Octocat"
    );
    assert_eq!(
        e["author"],
        json!({"name": "octocat", "url": "https://github.com/octocat",
            "icon_url": "https://github.com/images/error/octocat_happy.gif"})
    );

    // issues opened, with ?wait=true: the message comes back, body quoted, Discord's orange.
    let issue = json!({"id": 1, "node_id": "MDU6SXNzdWUx", "number": 1347,
        "html_url": "https://github.com/octocat/Hello-World/issues/1347",
        "title": "Found a bug", "user": octocat(), "state": "open",
        "body": "I'm having a problem with this."});
    let r = send(
        "issues",
        json!({"action": "opened", "issue": issue.clone(), "repository": hello_world(), "sender": octocat()}),
        "?wait=true",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let e = &r.body["embeds"][0];
    assert_eq!(e["title"], "[Hello-World] Issue opened: #1347 Found a bug");
    assert_eq!(
        e["url"],
        "https://github.com/octocat/Hello-World/issues/1347"
    );
    assert_eq!(e["description"], "I'm having a problem with this.");
    assert_eq!(e["color"], 0xEB6420);
    assert_eq!(gw.event("MESSAGE_CREATE").await["id"], r.body["id"]);

    // A comment on a pull request's conversation (an issue with `pull_request`).
    let mut pr_issue = issue.clone();
    pr_issue["pull_request"] =
        json!({"url": "https://api.github.com/repos/octocat/Hello-World/pulls/1347"});
    let comment = json!({"action": "created", "issue": pr_issue, "repository": hello_world(),
        "sender": octocat(), "comment": {"id": 11, "user": octocat(), "body": "Me too",
        "html_url": "https://github.com/octocat/Hello-World/issues/1347#issuecomment-11"}});
    assert_eq!(send("issue_comment", comment, "").await.status, 204);
    let e = gw.event("MESSAGE_CREATE").await["embeds"][0].clone();
    assert_eq!(
        e["title"],
        "[Hello-World] New comment on pull request #1347: Found a bug"
    );
    assert_eq!(e["color"], 0xE68D60);
    assert_eq!(e["description"], "Me too");

    // Branch creation, a star, a release, a fork.
    let create = json!({"ref": "feature/x", "ref_type": "branch", "master_branch": "main",
        "pusher_type": "user", "repository": hello_world(), "sender": octocat()});
    send("create", create, "").await;
    assert_eq!(
        gw.event("MESSAGE_CREATE").await["embeds"][0]["title"],
        "[Hello-World] New branch created: feature/x"
    );
    let delete = json!({"ref": "v0.1", "ref_type": "tag", "pusher_type": "user",
        "repository": hello_world(), "sender": octocat()});
    send("delete", delete, "").await;
    assert_eq!(
        gw.event("MESSAGE_CREATE").await["embeds"][0]["title"],
        "[Hello-World] Tag deleted: v0.1"
    );
    send(
        "watch",
        json!({"action": "started", "repository": hello_world(), "sender": octocat()}),
        "",
    )
    .await;
    assert_eq!(
        gw.event("MESSAGE_CREATE").await["embeds"][0]["title"],
        "[Hello-World] New star added"
    );
    let release = json!({"action": "published", "repository": hello_world(), "sender": octocat(),
        "release": {"id": 2, "tag_name": "v1.0.0", "author": octocat(),
        "html_url": "https://github.com/octocat/Hello-World/releases/v1.0.0"}});
    send("release", release, "").await;
    let e = gw.event("MESSAGE_CREATE").await["embeds"][0].clone();
    assert_eq!(e["title"], "[Hello-World] New release published: v1.0.0");
    assert_eq!(
        e["url"],
        "https://github.com/octocat/Hello-World/releases/v1.0.0"
    );
    let mut forkee = hello_world();
    forkee["full_name"] = json!("mona/Hello-World");
    forkee["html_url"] = json!("https://github.com/mona/Hello-World");
    send(
        "fork",
        json!({"forkee": forkee, "repository": hello_world(), "sender": octocat()}),
        "",
    )
    .await;
    let e = gw.event("MESSAGE_CREATE").await["embeds"][0].clone();
    assert_eq!(e["title"], "[Hello-World] Fork created: mona/Hello-World");

    // Not posted: ping, a label change, an unknown event, a tag push. Each answers 204, and
    // the next posted event is the next MESSAGE_CREATE the gateway sees.
    let ping = json!({"zen": "Speak like a human.", "hook_id": 30, "hook": {"type": "Repository"},
        "repository": hello_world(), "sender": octocat()});
    assert_eq!(send("ping", ping, "?wait=true").await.status, 204);
    let labeled = json!({"action": "labeled", "issue": issue, "label": {"name": "bug"},
        "repository": hello_world(), "sender": octocat()});
    assert_eq!(send("issues", labeled, "").await.status, 204);
    assert_eq!(
        send("check_suite", json!({"sender": octocat()}), "")
            .await
            .status,
        204
    );
    let tag_push = json!({"ref": "refs/tags/v1.0.0", "commits": [], "deleted": false,
        "forced": false, "repository": hello_world(), "sender": octocat()});
    assert_eq!(send("push", tag_push, "").await.status, 204);
    // A payload without its sender is GitHub's no longer: 50035 on `sender`.
    let bad = send(
        "issues",
        json!({"action": "opened", "repository": hello_world()}),
        "",
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["code"], 50035);
    send(
        "public",
        json!({"repository": hello_world(), "sender": octocat()}),
        "",
    )
    .await;
    assert_eq!(
        gw.event("MESSAGE_CREATE").await["embeds"][0]["title"],
        "[Hello-World] Now open sourced!"
    );
}
