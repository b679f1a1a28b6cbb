//! The whole server on the ScyllaDB backend (Cassandra in `scripts/test`): a smoke subset of the
//! REST and gateway flow. Skipped without `ACCORD_SCYLLA_NODES`, failed if
//! `ACCORD_REQUIRE_SCYLLA=1` and no CQL server is given.

mod common;

use accord::{ServeOptions, StoreChoice};
use common::Gateway;
use serde_json::json;

async fn scylla_server() -> Option<common::TestServer> {
    let Ok(nodes) = std::env::var("ACCORD_SCYLLA_NODES") else {
        assert!(
            std::env::var("ACCORD_REQUIRE_SCYLLA").as_deref() != Ok("1"),
            "ACCORD_REQUIRE_SCYLLA=1 but ACCORD_SCYLLA_NODES is not set"
        );
        eprintln!("skipping: ACCORD_SCYLLA_NODES is not set");
        return None;
    };
    let keyspace = format!(
        "accord_server_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    );
    let server = accord::start(ServeOptions {
        store: StoreChoice::scylla(nodes.split(',').map(str::to_string).collect(), keyspace),
        listen: Some("127.0.0.1:0".into()),
        cdn_listen: None,
        cluster: None,
        secret: None,
    })
    .await
    .expect("server starts on the CQL backend");
    Some(common::wrap(server).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_guild_messages_and_gateway_on_scylla() {
    let Some(t) = scylla_server().await else {
        return;
    };
    let alice = t.register("alice").await;
    let login = t
        .req(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "alice@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let (guild, channel) = t.guild(&alice, "On Scylla").await;
    let mut gw = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw.identify(&alice, 1 | (1 << 9) | (1 << 15)).await;
    assert_eq!(gw.event("GUILD_CREATE").await["id"], guild);
    let mut ids = Vec::new();
    for i in 0..120 {
        let m = t
            .post(
                &format!("/channels/{channel}/messages"),
                &alice,
                json!({"content": format!("m{i}")}),
            )
            .await;
        assert_eq!(m.status, 200, "{}", m.body);
        ids.push(m.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(gw.event("MESSAGE_CREATE").await["content"], "m0");
    let latest = t
        .get(&format!("/channels/{channel}/messages?limit=100"), &alice)
        .await;
    let got: Vec<&str> = latest
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = ids.iter().rev().take(100).map(String::as_str).collect();
    assert_eq!(got, want);
    let older = t
        .get(
            &format!("/channels/{channel}/messages?before={}&limit=100", ids[20]),
            &alice,
        )
        .await;
    assert_eq!(older.body.as_array().unwrap().len(), 20);
    let around = t
        .get(
            &format!("/channels/{channel}/messages?around={}&limit=5", ids[60]),
            &alice,
        )
        .await;
    assert!(
        around
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == ids[60].as_str())
    );
}
