//! A hot channel (many clients posting to one channel at once) goes on with its next message
//! while earlier writes are being committed, yet acknowledges nothing before it is durable and
//! everything in order (issue 14). These tests drive a real server over HTTP and WebSocket.
//!
//! Why the order test also shows that replies never precede durability: the crash test kills
//! the server with SIGKILL in the middle of a 64-client stream, with `--durability immediate`,
//! and then every message whose HTTP 200 had arrived must be in the store. A reply sent before
//! its fsync would, sooner or later, be missing after such a kill; and the channel actor's
//! pipeline (src/actors/channel/pipeline.rs) sends every reply and event only after each write
//! queued before it has been committed.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Clients posting at once in the crash test.
const CLIENTS: usize = 64;

/// The server binary on `dir`, as its own process, with fsync-before-acknowledge durability.
/// Returns the child and its base URL (read from the line it prints once it listens).
async fn spawn_server(dir: &std::path::Path) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_accord"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--durability",
            "immediate",
            // scripts/test exports ACCORD_SCYLLA_NODES for the Scylla tests; this one is about
            // the embedded store's durability.
            "--database",
            "embedded",
        ])
        .arg("--data-dir")
        .arg(dir)
        .env_remove("ACCORD_SCYLLA_NODES")
        .env_remove("ACCORD_DATABASE_KIND")
        .env_remove("ACCORD_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("server process starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("Accord is serving ") {
                return rest.split_whitespace().next().map(str::to_string);
            }
        }
        None
    })
    .await
    .expect("server says where it listens")
    .expect("server printed its address");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// Every message of `channel`, oldest first, read page by page.
async fn all_messages(t: &common::TestServer, token: &str, channel: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            None => format!("/channels/{channel}/messages?limit=100"),
            Some(b) => format!("/channels/{channel}/messages?limit=100&before={b}"),
        };
        let page = t.get(&path, token).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.body.as_array().expect("array").clone();
        if page.is_empty() {
            break;
        }
        before = page.last().and_then(|m| m["id"].as_str()).map(String::from);
        out.extend(page);
    }
    out.reverse();
    out
}

fn id_of(v: &Value) -> u64 {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("snowflake id")
}

/// 64 clients post to one channel of a separate server process, which is killed with SIGKILL
/// mid-stream and restarted on the same data directory: every acknowledged message is there,
/// nothing a client never sent is, and each client's messages are in the channel in the order
/// they were acknowledged (ids strictly increase with acknowledgement order per client).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_kill_9_in_order() {
    // Accounts, guild and a generous rate limit, made in-process and flushed to the directory.
    let t = common::start().await;
    let owner = t.register("hotowner").await;
    let (_, channel) = t.guild(&owner, "Hot").await;
    let mut tokens = vec![owner.clone()];
    for i in 1..CLIENTS {
        let token = t.register(&format!("hot{i}")).await;
        t.join_via_invite(&owner, &channel, &token).await;
        tokens.push(token);
    }
    let dir = t.stop().await;

    let (mut child, url) = spawn_server(dir.path()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("client");
    let acked_total = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for (c, token) in tokens.iter().cloned().enumerate() {
        let (http, url, channel, acked_total) = (
            http.clone(),
            url.clone(),
            channel.clone(),
            acked_total.clone(),
        );
        // Each client posts one message after another; returns (seq, id) per acknowledgement.
        clients.push(tokio::spawn(async move {
            let mut acked: Vec<(u64, u64)> = Vec::new();
            for seq in 0u64.. {
                let sent = http
                    .post(format!("{url}/api/v10/channels/{channel}/messages"))
                    .header("authorization", &token)
                    .json(&json!({"content": format!("c{c} s{seq}")}))
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await;
                let Ok(resp) = sent else { break };
                if resp.status() != 200 {
                    panic!("client {c}: status {} before the kill", resp.status());
                }
                let Ok(body) = resp.json::<Value>().await else {
                    break;
                };
                acked.push((seq, id_of(&body)));
                acked_total.fetch_add(1, Ordering::Relaxed);
            }
            acked
        }));
    }
    // Mid-stream: once a good number of messages are acknowledged (or after a while).
    let started = Instant::now();
    while acked_total.load(Ordering::Relaxed) < 3_000 && started.elapsed() < Duration::from_secs(8)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.expect("killed server exits");
    assert!(!status.success(), "the server was killed, not stopped");
    let mut acked: Vec<Vec<(u64, u64)>> = Vec::new();
    for c in clients {
        acked.push(c.await.expect("client task"));
    }
    let total: usize = acked.iter().map(Vec::len).sum();
    assert!(total > 0, "some messages were acknowledged before the kill");

    // Restarted on the same directory: read the channel back.
    let t = common::start_in(dir).await;
    let stored = all_messages(&t, &owner, &channel).await;
    let by_id: HashMap<u64, &Value> = stored.iter().map(|m| (id_of(m), m)).collect();
    // Per client, what the channel holds, in id order: seq numbers.
    let mut in_channel: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for m in &stored {
        let content = m["content"].as_str().unwrap_or_default();
        let mut parts = content.split(' ');
        let (Some(c), Some(s)) = (parts.next(), parts.next()) else {
            continue;
        };
        let c: usize = c.trim_start_matches('c').parse().expect("client number");
        let s: u64 = s.trim_start_matches('s').parse().expect("seq number");
        in_channel.entry(c).or_default().push(s);
    }
    for (c, acks) in acked.iter().enumerate() {
        for (seq, id) in acks {
            let m = by_id
                .get(id)
                .unwrap_or_else(|| panic!("client {c}: acknowledged message {id} (s{seq}) lost"));
            assert_eq!(m["content"], format!("c{c} s{seq}"));
        }
        assert!(
            acks.windows(2).all(|w| w[0].1 < w[1].1),
            "client {c}: ids increase with acknowledgement order"
        );
        // In the channel (by id): exactly the acknowledged ones in order, plus at most the one
        // that was in flight at the kill (written, never acknowledged).
        let seen = in_channel.get(&c).cloned().unwrap_or_default();
        let expected: Vec<u64> = acks.iter().map(|(s, _)| *s).collect();
        assert!(
            seen == expected || (seen.len() == expected.len() + 1 && seen.starts_with(&expected)),
            "client {c}: channel order {seen:?} vs acknowledged {expected:?}"
        );
        if seen.len() > expected.len() {
            assert_eq!(
                seen[expected.len()],
                expected.len() as u64,
                "the in-flight one"
            );
        }
    }
    eprintln!(
        "{total} messages acknowledged by {CLIENTS} clients before SIGKILL; {} stored",
        stored.len()
    );
}

/// Under concurrent posting to one channel, a member's gateway session receives MESSAGE_CREATE
/// for that channel in id order, one per acknowledged message (the channel's pipeline emits
/// events in the order the actor assigned ids, each once its write is durable).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn message_create_events_arrive_in_id_order_under_concurrent_posting() {
    const POSTERS: usize = 16;
    const EACH: usize = 25;
    let t = common::start().await;
    let owner = t.register("orderowner").await;
    let (_, channel) = t.guild(&owner, "Ordered").await;
    let mut tokens = Vec::new();
    for i in 0..POSTERS {
        let token = t.register(&format!("poster{i}")).await;
        t.join_via_invite(&owner, &channel, &token).await;
        tokens.push(token);
    }
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    // GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT
    gw.identify(&owner, 1 | 1 << 9 | 1 << 15).await;
    gw.event("GUILD_CREATE").await;

    let t = Arc::new(t);
    let mut posters = Vec::new();
    for token in tokens {
        let (t, channel) = (t.clone(), channel.clone());
        posters.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..EACH {
                let r = t
                    .post(
                        &format!("/channels/{channel}/messages"),
                        &token,
                        json!({"content": format!("n{n}")}),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
                ids.push(id_of(&r.body));
            }
            ids
        }));
    }
    // Read while they post (a session that falls far behind would be closed as too slow).
    let mut events = Vec::new();
    while events.len() < POSTERS * EACH {
        let d = gw.event("MESSAGE_CREATE").await;
        if d["channel_id"] == channel.as_str() {
            events.push(id_of(&d));
        }
    }
    let mut acked = Vec::new();
    for p in posters {
        acked.extend(p.await.expect("poster"));
    }
    acked.sort_unstable();
    assert!(
        events.windows(2).all(|w| w[0] < w[1]),
        "MESSAGE_CREATE in id order"
    );
    assert_eq!(events, acked, "one event per acknowledged message");
}
