//! Forum and media channels over HTTP and the gateway: their settings on create and PATCH
//! (tags with snowflake ids, default reaction, sort order, layout, REQUIRE_TAG) with Discord's
//! validation codes; posts as public threads whose starter message has the thread's id;
//! applied tags (the forum's own, at most five, moderated ones for MANAGE_THREADS holders,
//! 40067 when a tag is required); no messages straight into a forum; media posts need a file;
//! thread search by name, tags, archive state, order and page; and bulk deletes lowering a
//! thread's message count.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
/// VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY.
const BASIC: u64 = (1 << 10) | (1 << 11) | (1 << 16);

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

/// A forum (type 15) with the tags `names` (the last one moderated).
async fn forum(t: &common::TestServer, owner: &str, guild: &str, names: &[&str]) -> Value {
    let tags: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": n, "moderated": i + 1 == names.len() && names.len() > 1}))
        .collect();
    let r = t
        .post(
            &format!("/guilds/{guild}/channels"),
            owner,
            json!({"name": "Help", "type": 15, "available_tags": tags, "topic": "Ask here"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

fn tag_ids(forum: &Value) -> Vec<String> {
    forum["available_tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(id)
        .collect()
}

async fn post_in(
    t: &common::TestServer,
    forum: &str,
    token: &str,
    name: &str,
    tags: &[&str],
) -> common::Resp {
    t.post(
        &format!("/channels/{forum}/threads"),
        token,
        json!({"name": name, "applied_tags": tags, "message": {"content": format!("{name}?")}}),
    )
    .await
}

#[tokio::test]
async fn forum_settings_are_validated_and_kept() {
    let common::OwnerAndMember {
        t, alice, guild, ..
    } = common::owner_and_member("Forums").await;
    let f = forum(&t, &alice, &guild, &["question", "solved"]).await;
    assert_eq!(f["type"], 15);
    let tags = f["available_tags"].as_array().expect("tags");
    assert_eq!(tags.len(), 2);
    assert_eq!(tags[0]["name"], "question");
    assert_eq!(tags[0]["moderated"], false);
    assert_eq!(tags[1]["moderated"], true);
    assert!(tags[0]["emoji_id"].is_null() && tags[0]["emoji_name"].is_null());
    assert!(
        tags[0]["id"]
            .as_str()
            .is_some_and(|s| s.parse::<u64>().is_ok())
    );
    assert!(f["default_reaction_emoji"].is_null());
    assert!(f["default_sort_order"].is_null());
    assert_eq!(f["default_forum_layout"], 0);
    assert_eq!(f["default_thread_rate_limit_per_user"], 0);
    assert_eq!(f["flags"], 0);
    let parsed = serde_json::from_value::<twilight_model::channel::Channel>(f.clone())
        .expect("twilight parses the forum");
    assert_eq!(parsed.available_tags.map(|t| t.len()), Some(2));
    let fid = id(&f);

    // PATCH keeps the ids of tags it names and gives new ones ids.
    let kept = tags[0]["id"].as_str().expect("id").to_string();
    let r = t
        .patch(
            &format!("/channels/{fid}"),
            &alice,
            json!({
                "available_tags": [{"id": kept, "name": "question", "emoji_name": "❓"}, {"name": "bug"}],
                "default_reaction_emoji": {"emoji_name": "👍", "emoji_id": null},
                "default_sort_order": 1,
                "default_forum_layout": 2,
                "default_thread_rate_limit_per_user": 30,
                "flags": 16 | (1 << 15),
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tags = r.body["available_tags"].as_array().expect("tags");
    assert_eq!(tags[0]["id"], kept.as_str());
    assert_eq!(tags[0]["emoji_name"], "❓");
    assert_ne!(tags[1]["id"], kept.as_str());
    assert_eq!(r.body["default_reaction_emoji"]["emoji_name"], "👍");
    assert_eq!(r.body["default_sort_order"], 1);
    assert_eq!(r.body["default_forum_layout"], 2);
    assert_eq!(r.body["default_thread_rate_limit_per_user"], 30);
    // REQUIRE_TAG sticks; HIDE_MEDIA_DOWNLOAD_OPTIONS is for media channels only.
    assert_eq!(r.body["flags"], 16);
    // Kept across a fetch (the stored record), and null clears the reaction.
    let r = t
        .patch(
            &format!("/channels/{fid}"),
            &alice,
            json!({"default_reaction_emoji": null, "default_sort_order": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = t.get(&format!("/channels/{fid}"), &alice).await.body;
    assert!(got["default_reaction_emoji"].is_null());
    assert!(got.get("default_reaction_emoji").is_some());
    assert!(got["default_sort_order"].is_null());
    assert_eq!(got["default_forum_layout"], 2);
    assert_eq!(got["available_tags"].as_array().map(Vec::len), Some(2));

    // Validation with Discord's codes.
    let too_many: Vec<Value> = (0..21).map(|i| json!({"name": format!("t{i}")})).collect();
    let r = t
        .patch(
            &format!("/channels/{fid}"),
            &alice,
            json!({"available_tags": too_many}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 50035);
    assert_eq!(
        common::field_code(&r.body, &["available_tags"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    let r = t
        .patch(
            &format!("/channels/{fid}"),
            &alice,
            json!({"available_tags": [{"name": "x".repeat(21)}, {"name": ""}], "default_sort_order": 3, "default_forum_layout": 7}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        common::field_code(&r.body, &["available_tags", "0", "name"]),
        "BASE_TYPE_BAD_LENGTH"
    );
    assert_eq!(
        common::field_code(&r.body, &["available_tags", "1", "name"]),
        "BASE_TYPE_REQUIRED"
    );
    assert_eq!(
        common::field_code(&r.body, &["default_sort_order"]),
        "BASE_TYPE_CHOICES"
    );
    assert_eq!(
        common::field_code(&r.body, &["default_forum_layout"]),
        "BASE_TYPE_CHOICES"
    );
    let r = t
        .patch(
            &format!("/channels/{fid}"),
            &alice,
            json!({"default_reaction_emoji": {"emoji_id": "12345"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        common::field_code(&r.body, &["default_reaction_emoji", "emoji_id"]),
        "NUMBER_TYPE_COERCE"
    );
    // Nothing of a refused PATCH was applied.
    let got = t.get(&format!("/channels/{fid}"), &alice).await.body;
    assert_eq!(got["available_tags"].as_array().map(Vec::len), Some(2));

    // A text channel carries none of the forum fields.
    let channels = t
        .get(&format!("/guilds/{guild}/channels"), &alice)
        .await
        .body;
    let plain = channels
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["type"] == 0)
        .cloned()
        .expect("text channel");
    assert!(plain.get("available_tags").is_none());
    assert!(plain.get("default_reaction_emoji").is_none());
}

#[tokio::test]
async fn a_post_is_a_thread_with_its_starter_message() {
    let common::OwnerAndMember {
        t,
        alice,
        alice_id,
        bob,
        guild,
        ..
    } = common::owner_and_member("Posts").await;
    let f = forum(&t, &alice, &guild, &["question", "staff"]).await;
    let fid = id(&f);
    let tags = tag_ids(&f);
    let mut bob_gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    bob_gw.identify(&bob, GUILDS | GUILD_MESSAGES).await;
    bob_gw.event("GUILD_CREATE").await;

    let r = post_in(&t, &fid, &alice, "How do forums work", &[&tags[0]]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let post = r.body.clone();
    let pid = id(&post);
    assert_eq!(post["type"], 11);
    assert_eq!(post["parent_id"], fid.as_str());
    assert_eq!(post["owner_id"], alice_id.as_str());
    assert_eq!(post["applied_tags"], json!([tags[0]]));
    assert_eq!(
        post["message"]["id"],
        pid.as_str(),
        "the starter has the thread's id"
    );
    assert_eq!(post["message"]["channel_id"], pid.as_str());
    assert_eq!(post["message"]["content"], "How do forums work?");
    assert_eq!(post["last_message_id"], pid.as_str());
    assert_eq!(post["message_count"], 0);
    serde_json::from_value::<twilight_model::channel::Channel>(post.clone())
        .expect("twilight parses the post");

    let created = bob_gw.event("THREAD_CREATE").await;
    assert_eq!(created["id"], pid.as_str());
    assert_eq!(created["applied_tags"], json!([tags[0]]));
    let first = bob_gw.event("MESSAGE_CREATE").await;
    assert_eq!(first["id"], pid.as_str());
    assert_eq!(first["channel_id"], pid.as_str());

    // The starter is the thread's first message; replies count, the starter does not.
    let r = t
        .post(
            &format!("/channels/{pid}/messages"),
            &bob,
            json!({"content": "like this"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let msgs = t.get(&format!("/channels/{pid}/messages"), &bob).await.body;
    let ids: Vec<&str> = msgs
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids.last(), Some(&pid.as_str()));
    assert_eq!(ids.len(), 2);

    // No message goes straight into the forum.
    let r = t
        .post(
            &format!("/channels/{fid}/messages"),
            &alice,
            json!({"content": "hello forum"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 50008);

    // A post needs its message; its tags must be the forum's, at most five, and a moderated
    // one needs MANAGE_THREADS.
    let r = t
        .post(
            &format!("/channels/{fid}/threads"),
            &alice,
            json!({"name": "no message"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        common::field_code(&r.body, &["message"]),
        "BASE_TYPE_REQUIRED"
    );
    let r = post_in(&t, &fid, &alice, "Foreign tag", &["123456789"]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        common::field_code(&r.body, &["applied_tags", "0"]),
        "BASE_TYPE_CHOICES"
    );
    let six = [&tags[0]; 6].map(String::as_str);
    let r = post_in(&t, &fid, &alice, "Six tags", &six).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        common::field_code(&r.body, &["applied_tags"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    let r = post_in(&t, &fid, &bob, "Staff only", &[&tags[1]]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["code"], 50013);
    let r = post_in(&t, &fid, &alice, "Staff only", &[&tags[1]]).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // An empty starter message is refused and leaves no thread behind.
    let r = t
        .post(
            &format!("/channels/{fid}/threads"),
            &bob,
            json!({"name": "Empty", "message": {"content": ""}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 50006);
    let found = t
        .get(&format!("/channels/{fid}/threads/search?name=Empty"), &bob)
        .await;
    assert_eq!(found.body["total_results"], 0, "{}", found.body);

    // REQUIRE_TAG: 40067 without a tag.
    let r = t
        .patch(&format!("/channels/{fid}"), &alice, json!({"flags": 16}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_in(&t, &fid, &bob, "Untagged", &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 40067);

    // Bob without SEND_MESSAGES may not post.
    set_everyone(&t, &alice, &guild, (1 << 10) | (1 << 16)).await;
    let r = post_in(&t, &fid, &bob, "Muted", &[&tags[0]]).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], 50013);
    set_everyone(&t, &alice, &guild, BASIC).await;

    // The creator changes the post's tags; REQUIRE_TAG keeps at least one; a moderated one
    // stays with moderators.
    let r = post_in(&t, &fid, &bob, "Bob asks", &[&tags[0]]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let bobs = id(&r.body);
    let r = t
        .patch(
            &format!("/channels/{bobs}"),
            &bob,
            json!({"applied_tags": []}),
        )
        .await;
    assert_eq!(r.body["code"], 40067, "{}", r.body);
    let r = t
        .patch(
            &format!("/channels/{bobs}"),
            &bob,
            json!({"applied_tags": [tags[1]]}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .patch(
            &format!("/channels/{bobs}"),
            &alice,
            json!({"applied_tags": [tags[1], tags[0]]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied_tags"], json!([tags[1], tags[0]]));
    let updated = loop {
        let u = bob_gw.event("THREAD_UPDATE").await;
        if u["id"] == bobs.as_str() {
            break u;
        }
    };
    assert_eq!(updated["applied_tags"], json!([tags[1], tags[0]]));
}

#[tokio::test]
async fn media_posts_need_a_file() {
    let common::OwnerAndMember {
        t, alice, guild, ..
    } = common::owner_and_member("Media").await;
    let r = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &alice,
            json!({"name": "gallery", "type": 16}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("default_forum_layout").is_none());
    let media = id(&r.body);
    let r = t
        .patch(
            &format!("/channels/{media}"),
            &alice,
            json!({"flags": 1 << 15}),
        )
        .await;
    assert_eq!(r.body["flags"], 1 << 15);
    let r = t
        .post(
            &format!("/channels/{media}/threads"),
            &alice,
            json!({"name": "text only", "message": {"content": "no picture"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        common::field_code(&r.body, &["message", "attachments"]),
        "BASE_TYPE_REQUIRED"
    );
    let form = reqwest::multipart::Form::new()
        .text(
            "payload_json",
            json!({"name": "A picture", "message": {"content": "look", "attachments": [{"id": 0, "filename": "pic.txt"}]}}).to_string(),
        )
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"not really a picture".to_vec()).file_name("a.txt"),
        );
    let r = t
        .http
        .post(t.url(&format!("/channels/{media}/threads")))
        .header("authorization", &alice)
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let post: Value = r.json().await.expect("json");
    let pid = id(&post);
    assert_eq!(post["message"]["id"], pid.as_str());
    let atts = post["message"]["attachments"]
        .as_array()
        .expect("attachments");
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0]["filename"], "pic.txt");
    let url = atts[0]["url"].as_str().expect("url");
    assert!(url.contains(&pid), "stored under the post: {url}");
    let file = t.http.get(url).send().await.expect("get");
    assert_eq!(file.status(), 200);
}

#[tokio::test]
async fn thread_search_filters_sorts_and_pages() {
    let common::OwnerAndMember {
        t,
        alice,
        bob,
        guild,
        ..
    } = common::owner_and_member("Search").await;
    let f = forum(&t, &alice, &guild, &["rust", "go", "staff"]).await;
    let fid = id(&f);
    let tags = tag_ids(&f);
    let mut posts = Vec::new();
    for (name, tags) in [
        ("Rust lifetimes", vec![&tags[0]]),
        ("Go channels", vec![&tags[1]]),
        ("Rust and Go together", vec![&tags[0], &tags[1]]),
        ("Nothing tagged", vec![]),
    ] {
        let tags: Vec<&str> = tags.into_iter().map(String::as_str).collect();
        let r = post_in(&t, &fid, &alice, name, &tags).await;
        assert_eq!(r.status, 201, "{}", r.body);
        posts.push(id(&r.body));
    }
    let search = |q: String| {
        let t = &t;
        let bob = bob.clone();
        let fid = fid.clone();
        async move {
            let r = t
                .get(&format!("/channels/{fid}/threads/search?{q}"), &bob)
                .await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            r.body
        }
    };
    let names = |v: &Value| -> Vec<String> {
        v["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };

    let all = search(String::new()).await;
    assert_eq!(all["total_results"], 4);
    assert_eq!(all["has_more"], false);
    // Newest activity first by default.
    assert_eq!(names(&all)[0], "Nothing tagged");
    let first = all["first_messages"].as_array().expect("first_messages");
    assert_eq!(first.len(), 4);
    assert!(first.iter().any(|m| m["content"] == "Rust lifetimes?"));

    let rust = search("name=rust".into()).await;
    assert_eq!(rust["total_results"], 2);
    let some = search(format!("tag={}&tag={}", tags[0], tags[1])).await;
    assert_eq!(some["total_results"], 3);
    let both = search(format!(
        "tag={}&tag={}&tag_setting=match_all",
        tags[0], tags[1]
    ))
    .await;
    assert_eq!(names(&both), vec!["Rust and Go together"]);
    let comma = search(format!("tag={},{}&tag_setting=match_all", tags[0], tags[1])).await;
    assert_eq!(comma["total_results"], 1);

    let oldest = search("sort_by=creation_time&sort_order=asc&limit=1".into()).await;
    assert_eq!(names(&oldest), vec!["Rust lifetimes"]);
    assert_eq!(oldest["has_more"], true);
    assert_eq!(oldest["total_results"], 4);
    let page = search("sort_by=creation_time&sort_order=asc&limit=2&offset=2".into()).await;
    assert_eq!(names(&page), vec!["Rust and Go together", "Nothing tagged"]);
    assert_eq!(page["has_more"], false);

    // A reply moves a post up in last-activity order.
    let r = t
        .post(
            &format!("/channels/{}/messages", posts[0]),
            &bob,
            json!({"content": "bump"}),
        )
        .await;
    assert_eq!(r.status, 200);
    // The guild actor learns of the reply asynchronously; search until it shows.
    let mut bumped = Value::Null;
    for _ in 0..50 {
        bumped = search("limit=1".into()).await;
        if names(&bumped) == vec!["Rust lifetimes"] {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(names(&bumped), vec!["Rust lifetimes"]);

    // Archived posts: filtered by `archived`.
    let r = t
        .patch(
            &format!("/channels/{}", posts[1]),
            &alice,
            json!({"archived": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let archived = search("archived=true".into()).await;
    assert_eq!(names(&archived), vec!["Go channels"]);
    let open = search("archived=false".into()).await;
    assert_eq!(open["total_results"], 3);

    // Validation.
    for (q, field, code) in [
        ("limit=26", "limit", "NUMBER_TYPE_MAX"),
        ("limit=0", "limit", "NUMBER_TYPE_MIN"),
        ("offset=9976", "offset", "NUMBER_TYPE_MAX"),
        ("tag_setting=some", "tag_setting", "BASE_TYPE_CHOICES"),
        ("sort_order=up", "sort_order", "BASE_TYPE_CHOICES"),
        ("tag=abc", "tag", "NUMBER_TYPE_COERCE"),
    ] {
        let r = t
            .get(&format!("/channels/{fid}/threads/search?{q}"), &bob)
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(common::field_code(&r.body, &[field]), code, "{q}");
    }

    // Without READ_MESSAGE_HISTORY: 50013; an outsider: 50001 or 10003.
    set_everyone(&t, &alice, &guild, (1 << 10) | (1 << 11)).await;
    let r = t
        .req(
            Method::GET,
            &format!("/channels/{fid}/threads/search"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], 50013);
    let carol = t.register("carol").await;
    let r = t
        .get(&format!("/channels/{fid}/threads/search"), &carol)
        .await;
    assert!(r.status == 403 || r.status == 404, "{}", r.body);
}

async fn message_count(t: &common::TestServer, token: &str, thread: &str) -> u64 {
    t.get(&format!("/channels/{thread}"), token).await.body["message_count"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn bulk_delete_in_a_thread_lowers_its_message_count() {
    let common::OwnerAndMember {
        t, alice, channel, ..
    } = common::owner_and_member("Counts").await;
    let r = t
        .post(
            &format!("/channels/{channel}/threads"),
            &alice,
            json!({"name": "counted"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let thread = id(&r.body);
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = t
            .post(
                &format!("/channels/{thread}/messages"),
                &alice,
                json!({"content": format!("m{i}")}),
            )
            .await;
        assert_eq!(r.status, 200);
        ids.push(id(&r.body));
    }
    let mut n = 0;
    for _ in 0..50 {
        n = message_count(&t, &alice, &thread).await;
        if n == 3 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(n, 3);
    // Two real messages and one id that never was: the count drops by two.
    let r = t
        .post(
            &format!("/channels/{thread}/messages/bulk-delete"),
            &alice,
            json!({"messages": [ids[0], ids[1], (ids[2].parse::<u64>().unwrap() + 1).to_string()]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    for _ in 0..50 {
        n = message_count(&t, &alice, &thread).await;
        if n == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(n, 1);
}
