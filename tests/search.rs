//! Message search over HTTP: `GET /guilds/{id}/messages/search` finds what the channel actors
//! indexed (content words, authors, mentions, `has`, channels, id ranges, paging and order),
//! keeps up with edits and deletions, shows only channels the caller may read, validates its
//! parameters with Discord's codes, and survives a restart and a rebuild from the store
//! (`accord search reindex`'s code path).

mod common;

use serde_json::{Value, json};

/// VIEW_CHANNEL | SEND_MESSAGES (no READ_MESSAGE_HISTORY).
const NO_HISTORY: u64 = (1 << 10) | (1 << 11);

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// Commits what the channel actors have handed the indexer (they hand it over before the
/// message's reply leaves, so everything sent so far is searchable after this).
async fn settle(t: &common::TestServer) {
    let index = t
        .srv()
        .app
        .services
        .search
        .get()
        .cloned()
        .expect("search on");
    tokio::task::spawn_blocking(move || index.flush())
        .await
        .expect("join")
        .expect("flush");
}

async fn search(t: &common::TestServer, token: &str, guild: &str, q: &str) -> Value {
    let r = t
        .get(&format!("/guilds/{guild}/messages/search?{q}"), token)
        .await;
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    r.body
}

fn contents(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|group| group[0]["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn send(t: &common::TestServer, token: &str, channel: &str, body: Value) -> String {
    let r = t
        .post(&format!("/channels/{channel}/messages"), token, body)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    id(&r.body)
}

#[tokio::test]
async fn finds_messages_by_content_author_mentions_and_has() {
    let common::OwnerAndMember {
        t,
        alice,
        bob,
        bob_id,
        guild,
        channel,
        ..
    } = common::owner_and_member("Search").await;
    let first = send(
        &t,
        &alice,
        &channel,
        json!({"content": "The quick brown fox"}),
    )
    .await;
    send(
        &t,
        &bob,
        &channel,
        json!({"content": "a QUICK look at https://example.com"}),
    )
    .await;
    send(
        &t,
        &alice,
        &channel,
        json!({"content": format!("hey <@{bob_id}> quick question")}),
    )
    .await;
    let r = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &alice,
            json!({"name": "other"}),
        )
        .await;
    let other = id(&r.body);
    let last = send(&t, &bob, &other, json!({"content": "slow and quick"})).await;
    settle(&t).await;

    let all = search(&t, &bob, &guild, "content=quick").await;
    assert_eq!(all["total_results"], 4);
    assert_eq!(all["doing_deep_historical_index"], false);
    assert!(all["analytics_id"].is_string());
    // Newest first, each result a one-message group.
    assert_eq!(
        contents(&all),
        vec![
            "slow and quick",
            &format!("hey <@{bob_id}> quick question"),
            "a QUICK look at https://example.com",
            "The quick brown fox",
        ]
    );
    assert_eq!(all["messages"][0][0]["channel_id"], other.as_str());
    serde_json::from_value::<Vec<Vec<twilight_model::channel::Message>>>(all["messages"].clone())
        .expect("twilight parses the results");

    let both = search(&t, &bob, &guild, "content=quick%20fox").await;
    assert_eq!(contents(&both), vec!["The quick brown fox"]);
    let by_bob = search(&t, &alice, &guild, &format!("author_id={bob_id}")).await;
    assert_eq!(by_bob["total_results"], 2);
    let mentions = search(&t, &alice, &guild, &format!("mentions={bob_id}")).await;
    assert_eq!(mentions["total_results"], 1);
    let links = search(&t, &alice, &guild, "has=link").await;
    assert_eq!(
        contents(&links),
        vec!["a QUICK look at https://example.com"]
    );
    let no_links = search(&t, &alice, &guild, "content=quick&has=-link").await;
    assert_eq!(no_links["total_results"], 3);
    let in_other = search(&t, &alice, &guild, &format!("channel_id={other}")).await;
    assert_eq!(contents(&in_other), vec!["slow and quick"]);
    let between = search(
        &t,
        &alice,
        &guild,
        &format!("content=quick&min_id={first}&max_id={last}"),
    )
    .await;
    assert_eq!(between["total_results"], 2);
    let oldest = search(
        &t,
        &alice,
        &guild,
        "content=quick&sort_order=asc&limit=1&offset=1",
    )
    .await;
    assert_eq!(oldest["total_results"], 4);
    assert_eq!(
        contents(&oldest),
        vec!["a QUICK look at https://example.com"]
    );
    let relevant = search(&t, &alice, &guild, "content=quick&sort_by=relevance").await;
    assert_eq!(relevant["total_results"], 4);

    // Edits and deletions reach the index.
    let r = t
        .patch(
            &format!("/channels/{channel}/messages/{first}"),
            &alice,
            json!({"content": "The lazy dog"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .delete(&format!("/channels/{other}/messages/{last}"), &bob)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    settle(&t).await;
    let now = search(&t, &alice, &guild, "content=quick").await;
    assert_eq!(now["total_results"], 2);
    let lazy = search(&t, &alice, &guild, "content=lazy").await;
    assert_eq!(lazy["total_results"], 1);
    // A deleted channel takes its messages out of search.
    send(
        &t,
        &alice,
        &other,
        json!({"content": "gone with the channel"}),
    )
    .await;
    let r = t.delete(&format!("/channels/{other}"), &alice).await;
    assert_eq!(r.status, 200, "{}", r.body);
    settle(&t).await;
    let gone = search(&t, &alice, &guild, "content=gone").await;
    assert_eq!(gone["total_results"], 0);
}

#[tokio::test]
async fn only_readable_channels_and_discord_validation() {
    let common::OwnerAndMember {
        t,
        alice,
        bob,
        guild,
        channel,
        ..
    } = common::owner_and_member("Private").await;
    let r = t
        .post(
            &format!("/guilds/{guild}/channels"),
            &alice,
            json!({"name": "staff", "permission_overwrites": [{"id": guild, "type": 0, "allow": "0", "deny": (1u64 << 10).to_string()}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let staff = id(&r.body);
    send(&t, &alice, &staff, json!({"content": "secret plans"})).await;
    send(&t, &alice, &channel, json!({"content": "public plans"})).await;
    settle(&t).await;

    assert_eq!(
        search(&t, &alice, &guild, "content=plans").await["total_results"],
        2
    );
    let for_bob = search(&t, &bob, &guild, "content=plans").await;
    assert_eq!(contents(&for_bob), vec!["public plans"]);
    // Asking for a channel one may not read: 50001.
    let r = t
        .get(
            &format!("/guilds/{guild}/messages/search?channel_id={staff}"),
            &bob,
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], 50001);
    // Without READ_MESSAGE_HISTORY nothing is found.
    let r = t
        .patch(
            &format!("/guilds/{guild}/roles/{guild}"),
            &alice,
            json!({"permissions": NO_HISTORY.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        search(&t, &bob, &guild, "content=plans").await["total_results"],
        0
    );
    // Not a member: 10004 or 50001 like every guild route.
    let carol = t.register("carol").await;
    let r = t
        .get(&format!("/guilds/{guild}/messages/search"), &carol)
        .await;
    assert!(r.status == 403 || r.status == 404, "{}", r.body);

    for (q, field, code) in [
        ("limit=26", "limit", "NUMBER_TYPE_MAX"),
        ("limit=0", "limit", "NUMBER_TYPE_MIN"),
        ("offset=9976", "offset", "NUMBER_TYPE_MAX"),
        ("has=pictures", "has", "BASE_TYPE_CHOICES"),
        ("author_type=robot", "author_type", "BASE_TYPE_CHOICES"),
        ("author_id=abc", "author_id", "NUMBER_TYPE_COERCE"),
        ("sort_by=size", "sort_by", "BASE_TYPE_CHOICES"),
        ("sort_order=up", "sort_order", "BASE_TYPE_CHOICES"),
        ("pinned=maybe", "pinned", "BASE_TYPE_BAD_TYPE"),
    ] {
        let r = t
            .get(&format!("/guilds/{guild}/messages/search?{q}"), &alice)
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["code"], 50035, "{q}");
        assert_eq!(common::field_code(&r.body, &[field]), code, "{q}");
    }
    let long = "x".repeat(1025);
    let r = t
        .get(
            &format!("/guilds/{guild}/messages/search?content={long}"),
            &alice,
        )
        .await;
    assert_eq!(
        common::field_code(&r.body, &["content"]),
        "BASE_TYPE_MAX_LENGTH"
    );
}

#[tokio::test]
async fn the_index_survives_a_restart_and_rebuilds_from_the_store() {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let (guild, channel) = t.guild(&alice, "Durable").await;
    for i in 0..30 {
        send(
            &t,
            &alice,
            &channel,
            json!({"content": format!("entry {i}")}),
        )
        .await;
    }
    // A pinned message is found with `pinned=true` (the pin is an update of the record).
    let pinned = send(&t, &alice, &channel, json!({"content": "pin me"})).await;
    let r = t
        .req(
            reqwest::Method::PUT,
            &format!("/channels/{channel}/pins/{pinned}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    settle(&t).await;
    assert_eq!(
        search(&t, &alice, &guild, "pinned=true").await["total_results"],
        1
    );
    let dir = t.stop().await;

    // The index on disk is still there after a restart.
    let t = common::start_in(dir).await;
    // Tokens are signed with the data directory's instance key, so Alice's still works.
    assert_eq!(
        search(&t, &alice, &guild, "content=entry").await["total_results"],
        30
    );
    // Rebuilt from the store: the same answers.
    let store = t.srv().app.store().clone();
    let index = t
        .srv()
        .app
        .services
        .search
        .get()
        .cloned()
        .expect("search on");
    let (guilds, messages) = accord::search::reindex::reindex_all(&store, &index)
        .await
        .expect("reindex");
    assert!(guilds >= 1);
    assert!(messages >= 31, "{messages}");
    assert_eq!(
        search(&t, &alice, &guild, "content=entry&limit=5").await["total_results"],
        30
    );
    assert_eq!(
        search(&t, &alice, &guild, "pinned=true").await["total_results"],
        1
    );
}

/// Reactions and poll votes change a message but nothing the index keeps: they reach the
/// store without handing the indexer a copy; an edit (content) still does.
#[tokio::test]
async fn reactions_do_not_reindex_their_message() {
    let common::OwnerAndMember {
        t,
        alice,
        bob,
        guild,
        channel,
        ..
    } = common::owner_and_member("Reactions").await;
    let index = t
        .srv()
        .app
        .services
        .search
        .get()
        .cloned()
        .expect("search on");
    let m = send(&t, &alice, &channel, json!({"content": "react to me"})).await;
    settle(&t).await;
    let before = index.submitted();
    let reaction = format!("/channels/{channel}/messages/{m}/reactions/%F0%9F%91%8D");
    for token in [&alice, &bob] {
        let r = t
            .req(
                reqwest::Method::PUT,
                &format!("{reaction}/@me"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    assert_eq!(t.delete(&format!("{reaction}/@me"), &bob).await.status, 204);
    assert_eq!(t.delete(&reaction, &alice).await.status, 204);
    settle(&t).await;
    assert_eq!(
        index.submitted(),
        before,
        "reactions re-indexed the message"
    );
    let stored = t
        .get(&format!("/channels/{channel}/messages/{m}"), &alice)
        .await;
    assert!(
        stored.body.get("reactions").is_none_or(|r| r == &json!([])),
        "{}",
        stored.body
    );

    let edited = t
        .patch(
            &format!("/channels/{channel}/messages/{m}"),
            &alice,
            json!({"content": "edited words"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    settle(&t).await;
    assert_eq!(index.submitted(), before + 1, "an edit re-indexes");
    assert_eq!(
        contents(&search(&t, &alice, &guild, "content=edited").await),
        vec!["edited words"]
    );
}

/// `author_type=bot` finds what bots wrote; `user` and `-bot` leave it out; webhooks stay apart.
#[tokio::test]
async fn author_type_tells_bots_users_and_webhooks_apart() {
    let common::OwnerAndMember {
        t,
        alice,
        guild,
        channel,
        ..
    } = common::owner_and_member("Authors").await;
    let bot = t
        .bot_in_guild(&alice, &guild, "Beeper", "bot", "3072")
        .await;
    send(&t, &bot.token, &channel, json!({"content": "beep words"})).await;
    send(&t, &alice, &channel, json!({"content": "human words"})).await;
    let hook = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &alice,
            json!({"name": "Hook"}),
        )
        .await;
    let (hook_id, token) = (
        id(&hook.body),
        hook.body["token"].as_str().unwrap().to_string(),
    );
    let r = t
        .req(
            reqwest::Method::POST,
            &format!("/webhooks/{hook_id}/{token}"),
            None,
            Some(json!({"content": "hooked words"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    settle(&t).await;
    let found = |q: &'static str| {
        let (t, alice, guild) = (&t, &alice, &guild);
        async move {
            let mut c = contents(&search(t, alice, guild, &format!("content=words&{q}")).await);
            c.sort();
            c
        }
    };
    assert_eq!(found("author_type=bot").await, vec!["beep words"]);
    assert_eq!(found("author_type=user").await, vec!["human words"]);
    assert_eq!(found("author_type=webhook").await, vec!["hooked words"]);
    assert_eq!(
        found("author_type=-bot").await,
        vec!["hooked words", "human words"]
    );
    assert_eq!(
        found("author_type=bot&author_type=webhook").await,
        vec!["beep words", "hooked words"]
    );
}
