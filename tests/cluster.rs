//! Cluster mode on real NATS (JetStream) and a real CQL server (Cassandra in `scripts/test`):
//! nodes as in-process servers, plus child `accord serve` processes where a process must die
//! (`kill -9`) or the command line itself is under test.
//!
//! Skipped without `ACCORD_NATS_URL` / `ACCORD_SCYLLA_NODES`; failed instead when
//! `ACCORD_REQUIRE_NATS=1` / `ACCORD_REQUIRE_SCYLLA=1` (set by `scripts/test`).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use accord::cluster::ClusterConfig;
use accord::{ServeOptions, StoreChoice};
use futures::StreamExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The lease TTL of these tests: short, so that expiry is observed in seconds.
const TTL_MS: u64 = 3_000;

/// The lease TTL of the tests that observe no expiry (routing, fan-out): long enough that a
/// renewal delayed by a loaded machine does not move a guild in the middle of the test (its
/// sessions would be subscribed again, but events in the gap are lost, as in a Discord outage).
const STEADY_TTL_MS: u64 = 10_000;

/// One multi-node test at a time: three nodes each, plus NATS and Cassandra, on two cores are
/// enough load; several at once made lease renewals late.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The token-signing key of the child nodes (a cluster's nodes share one).
const SECRET: &str = "7365637265742d6f662d7468652d636c75737465722d74657374732d30313233";

struct Env {
    nats: String,
    scylla: Vec<String>,
}

/// Where NATS and the CQL server are, or `None` (skip) when not given and not required.
fn env() -> Option<Env> {
    let nats = std::env::var("ACCORD_NATS_URL").ok();
    let scylla = std::env::var("ACCORD_SCYLLA_NODES").ok();
    for (var, required, given) in [
        ("ACCORD_NATS_URL", "ACCORD_REQUIRE_NATS", nats.is_some()),
        (
            "ACCORD_SCYLLA_NODES",
            "ACCORD_REQUIRE_SCYLLA",
            scylla.is_some(),
        ),
    ] {
        if !given {
            assert!(
                std::env::var(required).as_deref() != Ok("1"),
                "{required}=1 but {var} is not set"
            );
            eprintln!("skipping: {var} is not set");
            return None;
        }
    }
    Some(Env {
        nats: nats?,
        scylla: scylla?.split(',').map(str::to_string).collect(),
    })
}

/// A keyspace and a lease bucket of this test alone.
fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), rand::random::<u32>())
}

fn cluster_config(nats: &str, bucket: &str, name: &str, ttl_ms: u64) -> ClusterConfig {
    ClusterConfig {
        nats: vec![nats.to_string()],
        node_name: name.into(),
        bucket: bucket.into(),
        lease_ttl_ms: ttl_ms,
        ..ClusterConfig::default()
    }
}

/// An in-process node of the cluster `bucket` on keyspace `keyspace`.
async fn node(
    env: &Env,
    nats: &str,
    keyspace: &str,
    bucket: &str,
    name: &str,
) -> common::TestServer {
    node_ttl(env, nats, keyspace, bucket, name, TTL_MS).await
}

/// [`node`] with lease TTL `ttl_ms`.
async fn node_ttl(
    env: &Env,
    nats: &str,
    keyspace: &str,
    bucket: &str,
    name: &str,
    ttl_ms: u64,
) -> common::TestServer {
    let server = accord::start(ServeOptions {
        store: StoreChoice::scylla(env.scylla.clone(), keyspace.into()),
        listen: Some("127.0.0.1:0".into()),
        cdn_listen: None,
        cluster: Some(cluster_config(nats, bucket, name, ttl_ms)),
        secret: Some(hex::decode(SECRET).expect("hex secret")),
    })
    .await
    .expect("cluster node starts");
    common::wrap(server).await
}

fn status(t: &common::TestServer) -> accord::cluster::ClusterStatus {
    t.srv().app.cluster.as_ref().expect("cluster mode").status()
}

fn member_names(t: &common::TestServer) -> Vec<String> {
    status(t).members.into_iter().map(|m| m.name).collect()
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `limit`.
async fn until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

/// The worker id (10 node bits) inside a snowflake string.
fn worker_of(id: &serde_json::Value) -> u16 {
    let id: u64 = id.as_str().expect("id string").parse().expect("snowflake");
    ((id >> 12) & 0x3ff) as u16
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_hold_unique_worker_ids_and_see_each_other() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("ids"));
    let n1 = node(&env, &env.nats, &keyspace, &bucket, "n1").await;
    let (n2, n3) = tokio::join!(
        node(&env, &env.nats, &keyspace, &bucket, "n2"),
        node(&env, &env.nats, &keyspace, &bucket, "n3"),
    );
    let nodes = [&n1, &n2, &n3];
    let seen = until(
        Duration::from_secs(5),
        "every node sees three members",
        || nodes.iter().all(|n| member_names(n) == ["n1", "n2", "n3"]),
    )
    .await;
    eprintln!("membership complete on all three nodes {seen:?} after the last start");

    let workers: Vec<u16> = nodes
        .iter()
        .map(|n| status(n).worker_id.expect("a valid worker-id lease"))
        .collect();
    let mut distinct = workers.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "worker ids {workers:?}");
    // Every member publishes the worker id it holds.
    for m in status(&n1).members {
        let i = ["n1", "n2", "n3"]
            .iter()
            .position(|n| *n == m.name)
            .unwrap();
        assert_eq!(m.worker_id, workers[i]);
    }

    // Ids minted on each node carry that node's worker id.
    for (i, n) in nodes.iter().enumerate() {
        let token = n.register(&format!("user{i}")).await;
        let me = n.me(&token).await;
        assert_eq!(worker_of(&me["id"]), workers[i], "user on n{}", i + 1);
        let g = n
            .post("/guilds", &token, json!({"name": "cluster guild"}))
            .await;
        assert_eq!(g.status, 201, "{}", g.body);
        assert_eq!(worker_of(&g.body["id"]), workers[i]);
    }

    // The held ids really are taken: a fifth party cannot claim them while the nodes live.
    let client = async_nats::connect(&env.nats).await.expect("nats");
    let kv = async_nats::jetstream::new(client)
        .get_key_value(&bucket)
        .await
        .expect("bucket");
    for w in &workers {
        let taken = kv.create(format!("worker.{w}"), "intruder".into()).await;
        assert!(taken.is_err(), "worker.{w} could be claimed while held");
    }
    assert!(kv.create("node.n2", "intruder".into()).await.is_err());

    // The cluster in /metrics and the health JSON.
    let admin = n1.register("admin").await;
    n1.make_admin(&admin).await;
    let metrics = n1
        .http
        .get(format!("{}/metrics", n1.srv().url()))
        .header("authorization", format!("Bearer {admin}"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("body");
    assert!(text.contains("accord_cluster_members 3\n"), "{text}");
    assert!(
        text.contains(&format!(
            "accord_cluster_worker_id{{node=\"n1\"}} {}\n",
            workers[0]
        )),
        "{text}"
    );
    assert!(text.contains("accord_cluster_ids_available 1\n"));
    let health = n1.get("/admin/health", &admin).await;
    assert_eq!(health.status, 200, "{}", health.body);
    let cluster = &health.body["cluster"];
    assert_eq!(cluster["node"], "n1");
    assert_eq!(cluster["worker_id"], workers[0]);
    assert_eq!(cluster["members"].as_array().unwrap().len(), 3);
    assert_eq!(cluster["nats_connected"], true);

    for n in [n1, n2, n3] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_leaves_or_stops_renewing_drops_out() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("members"));
    let n1 = node(&env, &env.nats, &keyspace, &bucket, "n1").await;
    let n2 = node(&env, &env.nats, &keyspace, &bucket, "n2").await;
    let mut child = ChildNode::spawn(&env, &keyspace, &bucket, "n3").await;
    until(Duration::from_secs(5), "three members", || {
        member_names(&n1) == ["n1", "n2", "n3"]
    })
    .await;

    // A clean stop releases the node's leases: the others drop it at once.
    n2.stop().await;
    let gone = until(Duration::from_secs(2), "n2 dropped after leaving", || {
        member_names(&n1) == ["n1", "n3"]
    })
    .await;
    eprintln!("a leaving node dropped out after {gone:?}");

    // kill -9: no goodbye; the others drop it once its lease runs out.
    child.kill().await;
    let killed = Instant::now();
    until(
        Duration::from_millis(TTL_MS + 3_000),
        "n3 dropped after kill -9",
        || member_names(&n1) == ["n1"],
    )
    .await;
    eprintln!(
        "a killed node dropped out after {:?} (lease TTL {TTL_MS} ms)",
        killed.elapsed()
    );
    // Its worker id and name are free again once expired: a new node may take the name.
    let n3 = node(&env, &env.nats, &keyspace, &bucket, "n3").await;
    until(Duration::from_secs(5), "the new n3 joins", || {
        member_names(&n1) == ["n1", "n3"]
    })
    .await;
    n3.stop().await;
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn minting_is_refused_while_the_lease_cannot_be_renewed() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("fence"));
    // This node reaches NATS through a proxy the test can cut: a partition from NATS only.
    let proxy = Proxy::start(&env.nats).await;
    let n1 = node(&env, &proxy.url, &keyspace, &bucket, "n1").await;
    let token = n1.register("alice").await;
    let before = status(&n1).worker_id.expect("worker id");

    proxy.cut(true);
    let refused_after = until(
        Duration::from_millis(TTL_MS + 2_000),
        "minting refused",
        || !status(&n1).ids_available,
    )
    .await;
    eprintln!("minting stopped {refused_after:?} after NATS became unreachable");
    // Well before the TTL: no other node can have claimed the id yet.
    assert!(refused_after < Duration::from_millis(TTL_MS));
    let r = n1.post("/guilds", &token, json!({"name": "during"})).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], 0);
    assert!(r.body["retry_after"].as_f64().unwrap() > 0.0, "{}", r.body);
    // Reads that mint nothing are still served.
    assert_eq!(n1.get("/users/@me", &token).await.status, 200);

    // Meanwhile another node claims ids freely, and never the one n1 may still think it has
    // until its old lease has expired.
    let n2 = node(&env, &env.nats, &keyspace, &bucket, "n2").await;
    assert_ne!(status(&n2).worker_id, None);

    proxy.cut(false);
    until(Duration::from_secs(10), "minting resumes", || {
        status(&n1).ids_available
    })
    .await;
    // Right after the partition heals the new guild's ownership lease may still be settling:
    // the client is told to retry (503 with retry_after), as a real client would.
    let started = Instant::now();
    let r = loop {
        let r = n1.post("/guilds", &token, json!({"name": "after"})).await;
        if r.status != 503 || started.elapsed() > Duration::from_secs(10) {
            break r;
        }
        let wait = r.body["retry_after"].as_f64().expect("retry_after");
        tokio::time::sleep(Duration::from_secs_f64(wait.min(1.0))).await;
    };
    assert_eq!(r.status, 201, "{}", r.body);
    let after = status(&n1).worker_id.expect("worker id");
    assert_ne!(
        Some(after),
        status(&n2).worker_id,
        "two live nodes share a worker id"
    );
    assert_eq!(worker_of(&r.body["id"]), after);
    eprintln!("worker id {before} before the partition, {after} after");
    n2.stop().await;
    n1.stop().await;
}

/// Nodes of a new cluster start together and all open its buckets at once; whichever loses
/// the race to create a bucket's stream must find the winner's, not fail to start (CI saw
/// "subjects overlap" from nats-server for such a loser).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_opening_a_new_bucket_at_once_all_get_it() {
    let Some(env) = env() else { return };
    // One connection each, as separate nodes have: requests on one connection are served in turn.
    let mut contexts = Vec::new();
    for _ in 0..6 {
        let client = async_nats::connect(env.nats.as_str()).await.expect("NATS");
        contexts.push(async_nats::jetstream::new(client));
    }
    let js = contexts[0].clone();
    for round in 0..50 {
        let bucket = unique(&format!("race{round}"));
        let opens = contexts.iter().map(|js| {
            let js = js.clone();
            let bucket = bucket.clone();
            tokio::spawn(async move {
                accord::cluster::lease::open_bucket(&js, &bucket, Duration::from_secs(5)).await
            })
        });
        for open in futures::future::join_all(opens).await {
            let store = open.expect("task").expect("every opener gets the bucket");
            assert_eq!(store.name, bucket);
        }
        js.delete_stream(format!("KV_{bucket}"))
            .await
            .expect("bucket removed");
    }
}

#[tokio::test]
async fn cluster_mode_refuses_the_embedded_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", "embedded"])
        .args(["--cluster", "nats://127.0.0.1:1", "--node-name", "n1"])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("ACCORD_SCYLLA_NODES")
        .env_remove("ACCORD_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("accord runs");
    assert!(!out.status.success(), "started anyway");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cluster mode needs the ScyllaDB store"),
        "{stderr}"
    );
    // Refused before anything was created or connected.
    assert!(!dir.path().join("accord.redb").exists());
}

/// `accord serve` as a child process in the cluster, given every setting explicitly.
struct ChildNode {
    child: tokio::process::Child,
    /// Its base URL (`http://127.0.0.1:port`), as it printed it.
    url: String,
}

impl ChildNode {
    async fn spawn(env: &Env, keyspace: &str, bucket: &str, name: &str) -> Self {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_accord"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", "scylla"])
            .args(["--scylla-nodes", &env.scylla.join(",")])
            .args(["--scylla-keyspace", keyspace])
            .args(["--cluster", &env.nats, "--node-name", name])
            .args(["--cluster-bucket", bucket])
            .args(["--lease-ttl-ms", &TTL_MS.to_string()]);
        for var in [
            "ACCORD_CONFIG",
            "ACCORD_DATA_DIR",
            "ACCORD_ADVERTISE_API",
            "ACCORD_ADVERTISE_GATEWAY",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .env("ACCORD_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node process starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.expect("stdout") {
                if let Some(rest) = line.strip_prefix("Accord is serving ") {
                    return rest.split(' ').next().expect("url").to_string();
                }
            }
            panic!("the node exited before serving");
        })
        .await
        .expect("node serves");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, url }
    }

    /// `kill -9`.
    async fn kill(&mut self) {
        self.child.start_kill().expect("kill");
        let _ = self.child.wait().await;
    }
}

/// A TCP proxy to NATS that the test can cut (closing every connection and refusing new ones)
/// and restore.
struct Proxy {
    url: String,
    cut: watch::Sender<bool>,
}

impl Proxy {
    async fn start(nats_url: &str) -> Self {
        let upstream = nats_url.trim_start_matches("nats://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("nats://{}", listener.local_addr().expect("addr"));
        let (cut, cut_rx) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let mut cut_rx = cut_rx.clone();
                if *cut_rx.borrow() {
                    continue; // dropped: refused
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut up) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = cut_rx.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { url, cut }
    }

    fn cut(&self, cut: bool) {
        let _ = self.cut.send(cut);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moved_guild_brings_its_sessions_back_before_its_next_event() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("moves"));
    let [n1, n2, n3] = three_nodes(&env, &keyspace, &bucket).await;
    let token = n1.register("mover").await;
    let g = n1
        .post("/guilds", &token, json!({"name": "on the move"}))
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let guild = g.body["id"].as_str().expect("id").to_string();
    let gid: u64 = guild.parse().expect("snowflake");
    let channel = first_text_channel(&n1, &token, &guild).await;
    // The session sits on the node that will NOT own the guild after n1 leaves: it comes back
    // through the other node.
    let heir = accord::cluster::placement::owner_of(gid, &["n2", "n3"]).expect("heir");
    let (heir_node, session_node) = if heir == "n2" { (&n2, &n3) } else { (&n3, &n2) };
    let mut gw =
        common::Gateway::connect(&session_node.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&token, 1 | (1 << 9) | (1 << 15)).await;
    let created = gw.event("GUILD_CREATE").await;
    assert_eq!(created["id"], guild.as_str());

    // The owner leaves. Nothing is posted: the guild must start on its heir by itself and the
    // session be subscribed there, as after an outage.
    n1.stop().await;
    let moved = Instant::now();
    let gone = gw.event("GUILD_DELETE").await;
    assert_eq!(gone["id"], guild.as_str());
    assert_eq!(gone["unavailable"], true, "{gone}");
    let back = gw.event("GUILD_CREATE").await;
    assert_eq!(back["id"], guild.as_str());
    eprintln!(
        "session on {} back with the guild on {heir} {:?} after its owner left",
        if heir == "n2" { "n3" } else { "n2" },
        moved.elapsed()
    );
    assert!(
        heir_node
            .srv()
            .app
            .services
            .registry
            .running_guild(accord::id::GuildId::new(gid))
            .is_some(),
        "the guild runs on its heir"
    );

    // The first message after the move reaches the session (it used to start the guild, and
    // went out before any remote session was back).
    let m = session_node
        .post(
            &format!("/channels/{channel}/messages"),
            &token,
            json!({"content": "first after the move"}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    let d = gw.event("MESSAGE_CREATE").await;
    assert_eq!(d["content"], "first after the move");
    n2.stop().await;
    n3.stop().await;
}

/// GET /users/@me through the raw client: the rate-limit headers are what this test reads.
async fn me_with_headers(n: &common::TestServer, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(n.url("/users/@me"))
        .header("authorization", token)
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configuration_changes_and_rate_limits_hold_cluster_wide() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("limits"));
    let nodes = three_nodes(&env, &keyspace, &bucket).await;
    let [n1, n2, n3] = &nodes;
    let admin = n1.register("operator").await;
    n1.make_admin(&admin).await;
    let user = n1.register("spreader").await;

    // One admin change on n1 is taken up by every node, without a restart.
    let patched = n1
        .patch(
            "/admin/config",
            &admin,
            json!({"limits": {"rate": {"enabled": true, "route_count": 4, "route_window_secs": 60}}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let took = until(
        Duration::from_secs(5),
        "every node has the new limits",
        || {
            nodes
                .iter()
                .all(|n| n.srv().app.config().get().limits.rate.route_count == 4)
        },
    )
    .await;
    eprintln!("configuration change on every node after {took:?}");

    // The same bucket, whichever node is asked: one count for the account, at its home.
    let mut seen = Vec::new();
    for n in [n1, n2, n3, n1, n2, n3] {
        let r = me_with_headers(n, &user).await;
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        seen.push((
            r.status().as_u16(),
            header("x-ratelimit-remaining"),
            header("x-ratelimit-scope"),
        ));
    }
    let expected: Vec<(u16, String, String)> = [
        (200, "3", ""),
        (200, "2", ""),
        (200, "1", ""),
        (200, "0", ""),
        (429, "0", "user"),
        (429, "0", "user"),
    ]
    .into_iter()
    .map(|(s, r, scope)| (s, r.to_string(), scope.to_string()))
    .collect();
    assert_eq!(seen, expected, "four requests in the window, cluster-wide");

    // A second change, stored over the first (not over a node's older snapshot): limits high
    // enough to time what counting at the home costs.
    let patched = n2
        .patch(
            "/admin/config",
            &admin,
            json!({"limits": {"rate": {"route_count": 100000}}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["limits"]["rate"]["route_window_secs"], 60);
    until(
        Duration::from_secs(5),
        "every node has the second change",
        || {
            nodes.iter().all(|n| {
                let rate = &n.srv().app.config().get().limits.rate;
                rate.route_count == 100_000 && rate.route_window_secs == 60
            })
        },
    )
    .await;
    let uid: u64 = n1.me(&user).await["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("snowflake");
    let home = n1
        .srv()
        .app
        .cluster
        .as_ref()
        .expect("cluster")
        .ownership()
        .placed(uid)
        .expect("home");
    let name_of = |n: &common::TestServer| {
        n.srv()
            .app
            .cluster
            .as_ref()
            .expect("cluster")
            .node_name()
            .to_string()
    };
    let home_node = nodes.iter().find(|n| name_of(n) == home).expect("home");
    let away = nodes.iter().find(|n| name_of(n) != home).expect("away");
    let mut medians = Vec::new();
    for n in [home_node, away] {
        let mut took = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let r = me_with_headers(n, &user).await;
            assert_eq!(r.status(), 200);
            took.push(t.elapsed());
        }
        took.sort();
        medians.push(took[took.len() / 2]);
    }
    eprintln!(
        "GET /users/@me median: {:?} at the account's home, {:?} counted there from another node",
        medians[0], medians[1]
    );
    for n in nodes {
        n.stop().await;
    }
}

/// The first text channel of a guild object from `POST /guilds`.
async fn first_text_channel(n: &common::TestServer, token: &str, guild: &str) -> String {
    let channels = n.get(&format!("/guilds/{guild}/channels"), token).await;
    assert_eq!(channels.status, 200, "{}", channels.body);
    channels
        .body
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["type"] == 0)
        .expect("a text channel")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_cut_from_nats_stops_its_guilds_and_the_next_owner_takes_them() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("owner"));
    let proxy = Proxy::start(&env.nats).await;
    let n1 = node(&env, &proxy.url, &keyspace, &bucket, "n1").await;
    let n2 = node(&env, &env.nats, &keyspace, &bucket, "n2").await;
    until(Duration::from_secs(5), "two members", || {
        member_names(&n1) == ["n1", "n2"] && member_names(&n2) == ["n1", "n2"]
    })
    .await;
    let token = n1.register("owner").await;
    let g = n1.post("/guilds", &token, json!({"name": "fenced"})).await;
    assert_eq!(g.status, 201, "{}", g.body);
    let guild = g.body["id"].as_str().expect("id").to_string();
    let gid = accord::id::GuildId::new(guild.parse().expect("snowflake"));
    // A node creates guilds it owns: the lease is n1's, and n2 cannot claim it.
    let ownership = n1.srv().app.cluster.as_ref().expect("cluster").ownership();
    assert_eq!(
        ownership
            .check(accord::cluster::Owned::Guild(gid.get()))
            .map(|_| ()),
        Ok(())
    );
    let channel = first_text_channel(&n1, &token, &guild).await;
    let sent = n1
        .post(
            &format!("/channels/{channel}/messages"),
            &token,
            json!({"content": "before"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(status(&n1).ownership_leases >= 1);
    assert!(n1.srv().app.services.registry.running_guild(gid).is_some());

    // Cut n1 from NATS: before the TTL could let another node claim the guild, n1 stops
    // trusting its lease, stops the guild's actor, and refuses every use of the guild with
    // 503 + retry_after, reads included (they could be stale).
    //
    // A request that passed the fence and waits in the guild's mailbox when the lease lapses
    // (the actor is held busy here) is refused with 503, and nothing of it is written.
    let actor = n1.srv().app.services.guild(gid).await.expect("guild actor");
    accord::actors::tell(
        &actor,
        accord::actors::guild::GuildMsg::InjectStall(Duration::from_millis(TTL_MS)),
    )
    .expect("stall");
    let guild_path = format!("/guilds/{guild}");
    let (late, fenced) = tokio::join!(
        n1.patch(&guild_path, &token, json!({"name": "written late"})),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            proxy.cut(true);
            until(
                Duration::from_millis(TTL_MS + 2_000),
                "n1 stops trusting its lease",
                || {
                    ownership
                        .check(accord::cluster::Owned::Guild(gid.get()))
                        .is_err()
                },
            )
            .await
        }
    );
    assert_eq!(late.status, 503, "{}", late.body);
    assert!(late.body["retry_after"].as_f64().is_some(), "{}", late.body);
    eprintln!("n1 fenced itself off its guild {fenced:?} after the cut (TTL {TTL_MS} ms)");
    assert!(fenced < Duration::from_millis(TTL_MS));
    until(
        Duration::from_secs(2),
        "the guild actor stops on n1",
        || n1.srv().app.services.registry.running_guild(gid).is_none(),
    )
    .await;
    for path in [
        format!("/guilds/{guild}"),
        format!("/channels/{channel}/messages?limit=5"),
    ] {
        let r = n1.get(&path, &token).await;
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert_eq!(r.body["code"], 0);
        assert!(
            r.body["retry_after"].as_f64().expect("retry_after") > 0.0,
            "{}",
            r.body
        );
    }
    // Nothing else was stopped: the account is still served.
    assert_eq!(n1.get("/users/@me", &token).await.status, 200);

    // n2 sees n1 leave (TTL), becomes the owner, claims the lapsed lease and serves the guild
    // from the store, with the message n1 wrote.
    until(Duration::from_millis(TTL_MS + 3_000), "n2 drops n1", || {
        member_names(&n2) == ["n2"]
    })
    .await;
    let mut last = None;
    let limit = Instant::now() + Duration::from_millis(TTL_MS + 3_000);
    loop {
        let r = n2
            .get(&format!("/channels/{channel}/messages?limit=5"), &token)
            .await;
        if r.status == 200 {
            assert_eq!(r.body[0]["content"], "before", "{}", r.body);
            break;
        }
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(
            Instant::now() < limit,
            "n2 never took the guild over: {last:?}"
        );
        last = Some(r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(n2.srv().app.services.registry.running_guild(gid).is_some());
    let kept = n2.get(&format!("/guilds/{guild}"), &token).await;
    assert_eq!(
        kept.body["name"], "fenced",
        "the refused rename was not written"
    );
    proxy.cut(false);
    n2.stop().await;
    n1.stop().await;
}

/// Three nodes, all fully aware of each other.
async fn three_nodes(env: &Env, keyspace: &str, bucket: &str) -> [common::TestServer; 3] {
    let (n1, n2, n3) = tokio::join!(
        node_ttl(env, &env.nats, keyspace, bucket, "n1", STEADY_TTL_MS),
        node_ttl(env, &env.nats, keyspace, bucket, "n2", STEADY_TTL_MS),
        node_ttl(env, &env.nats, keyspace, bucket, "n3", STEADY_TTL_MS),
    );
    let nodes = [n1, n2, n3];
    until(
        Duration::from_secs(5),
        "every node sees three members",
        || nodes.iter().all(|n| member_names(n) == ["n1", "n2", "n3"]),
    )
    .await;
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rest_works_on_any_node_through_the_owner() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("rest"));
    let [n1, n2, n3] = three_nodes(&env, &keyspace, &bucket).await;
    let token = n1.register("founder").await;
    // A token minted on n1 is good on every node (one shared secret).
    assert_eq!(n3.get("/users/@me", &token).await.status, 200);

    let g = n1
        .post("/guilds", &token, json!({"name": "everywhere"}))
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let guild = g.body["id"].as_str().expect("id").to_string();
    let gid: u64 = guild.parse().expect("snowflake");
    let owner = n1
        .srv()
        .app
        .cluster
        .as_ref()
        .expect("cluster")
        .ownership()
        .owner_of(accord::cluster::Owned::Guild(gid))
        .expect("owner");
    assert_eq!(owner, "n1", "a node creates guilds it owns");

    // Channels and messages through the other two nodes: forwarded to n1, which alone runs
    // the guild (n2 and n3 never start its actor).
    let c = n2
        .post(
            &format!("/guilds/{guild}/channels"),
            &token,
            json!({"name": "from-n2", "type": 0}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let channel = c.body["id"].as_str().expect("id").to_string();
    // `POST /stage-instances` names its channel only in the body: still served by the owner.
    let stage = n2
        .post(
            &format!("/guilds/{guild}/channels"),
            &token,
            json!({"name": "stage", "type": 13}),
        )
        .await;
    assert_eq!(stage.status, 201, "{}", stage.body);
    let stage = stage.body["id"].as_str().expect("id").to_string();
    let opened = n3
        .post(
            "/stage-instances",
            &token,
            json!({"channel_id": stage, "topic": "through n3"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let read = n2.get(&format!("/stage-instances/{stage}"), &token).await;
    assert_eq!(read.body["topic"], "through n3", "{}", read.body);
    let mut sent = Vec::new();
    for (i, n) in [&n2, &n3, &n2, &n3].into_iter().enumerate() {
        let m = n
            .post(
                &format!("/channels/{channel}/messages"),
                &token,
                json!({"content": format!("m{i}")}),
            )
            .await;
        assert_eq!(m.status, 200, "{}", m.body);
        sent.push(m.body["id"].as_str().expect("id").to_string());
    }
    let gid = accord::id::GuildId::new(gid);
    assert!(n1.srv().app.services.registry.running_guild(gid).is_some());
    for n in [&n2, &n3] {
        assert!(n.srv().app.services.registry.running_guild(gid).is_none());
    }

    // The same reads from every node: the owner's ordering, newest first.
    let mut reads = Vec::new();
    for n in [&n1, &n2, &n3] {
        reads.push(latest_ids(n, &token, &channel, 10).await);
        let chans = n.get(&format!("/guilds/{guild}/channels"), &token).await;
        assert_eq!(chans.status, 200, "{}", chans.body);
        assert!(chans.body.to_string().contains("from-n2"), "{}", chans.body);
    }
    let newest_first: Vec<String> = sent.iter().rev().cloned().collect();
    for r in &reads {
        assert_eq!(r, &newest_first);
    }
    // What a hop costs: the same read served by the owner and forwarded from another node.
    let mut timings = Vec::new();
    for n in [&n1, &n2] {
        let mut took = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let r = n
                .get(&format!("/channels/{channel}/messages?limit=1"), &token)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            took.push(t.elapsed());
        }
        took.sort();
        timings.push(took[took.len() / 2]);
    }
    eprintln!(
        "GET messages median: {:?} on the owner, {:?} forwarded from another node",
        timings[0], timings[1]
    );

    // Errors come back from the owner as they are: Discord's shapes, through any node.
    let bad = n3
        .post(&format!("/channels/{channel}/messages"), &token, json!({}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["code"], 50006, "{}", bad.body);

    // What a node remembers of channel leases is bounded: n2 routes requests for 40 channels
    // with room for 8 lookups (running channel actors, here on n1 only, are never evicted).
    n2.srv()
        .app
        .config()
        .apply_patch(
            n2.srv().app.store().as_ref(),
            &json!({"actors": {"channel_route_entries": 8}}),
        )
        .await
        .expect("patch");
    for i in 0..40 {
        let c = n1
            .post(
                &format!("/guilds/{guild}/channels"),
                &token,
                json!({"name": format!("c{i}"), "type": 0}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        let id = c.body["id"].as_str().expect("id");
        let r = n2
            .get(&format!("/channels/{id}/messages?limit=1"), &token)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let (running, routes) = n2.srv().app.services.registry.channel_owner_entries();
        assert!(routes <= 8, "{routes} routing entries on n2 after {i}");
        assert_eq!(running, 0, "n2 runs no channel of n1's guild");
    }
    // A deleted channel leaves nothing behind on its owner.
    let cid = accord::id::ChannelId::new(channel.parse().expect("snowflake"));
    assert!(n1.srv().app.services.registry.channel_owner(cid).is_some());
    let d = n3.delete(&format!("/channels/{channel}"), &token).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(n1.srv().app.services.registry.channel_owner(cid).is_none());
    assert!(
        n1.srv()
            .app
            .services
            .registry
            .running_channel(cid)
            .is_none()
    );

    // The owner stops answering (its responder is gone): a 503 with retry_after, not a hang.
    n1.stop().await;
    let started = Instant::now();
    let r = n2.get(&format!("/guilds/{guild}/channels"), &token).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    if r.status != 200 {
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(r.body["retry_after"].as_f64().expect("retry_after") > 0.0);
    }
    n2.stop().await;
    n3.stop().await;
}

/// Waits for the next MESSAGE_CREATE and returns its content.
async fn next_message(g: &mut common::Gateway) -> String {
    g.event("MESSAGE_CREATE").await["content"]
        .as_str()
        .expect("content")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_on_other_nodes_get_the_owners_events_and_its_revocations() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("fanout"));
    let [n1, n2, n3] = three_nodes(&env, &keyspace, &bucket).await;
    let alice = n1.register("alice").await;
    let bob = n3.register("bob").await;
    let bob_id = n3.me(&bob).await["id"].as_str().expect("id").to_string();
    let g = n1.post("/guilds", &alice, json!({"name": "fan-out"})).await;
    assert_eq!(g.status, 201, "{}", g.body);
    let guild = g.body["id"].as_str().expect("id").to_string();
    let general = first_text_channel(&n1, &alice, &guild).await;
    let other = n1
        .post(
            &format!("/guilds/{guild}/channels"),
            &alice,
            json!({"name": "other", "type": 0}),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let other = other.body["id"].as_str().expect("id").to_string();
    let invite = n1
        .post(&format!("/channels/{general}/invites"), &alice, json!({}))
        .await;
    assert_eq!(invite.status, 200, "{}", invite.body);
    let code = invite.body["code"].as_str().expect("code").to_string();
    // Bob joins through n3: the join is forwarded to the guild's owner.
    let joined = n3.post(&format!("/invites/{code}"), &bob, json!({})).await;
    assert_eq!(joined.status, 200, "{}", joined.body);

    // GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT
    let intents = 1 | (1 << 9) | (1 << 15);
    let mut on_n2 = common::Gateway::connect(&n2.gateway_url("v=10&encoding=json"), false).await;
    let ready = on_n2.identify(&alice, intents).await;
    assert_eq!(
        ready["resume_gateway_url"],
        format!("ws://{}", n2.srv().addr),
        "resume_gateway_url names the session's node"
    );
    assert_eq!(on_n2.event("GUILD_CREATE").await["id"], guild.as_str());
    let mut on_n3 = common::Gateway::connect(&n3.gateway_url("v=10&encoding=json"), false).await;
    // bob also watches presences (GUILD_PRESENCES).
    on_n3.identify(&bob, intents | (1 << 8)).await;
    let created = on_n3.event("GUILD_CREATE").await;
    assert_eq!(created["id"], guild.as_str());
    assert!(created.to_string().contains("other"), "{created}");

    // A second session on n3 (alice's), to see that n3 gets each event once for both.
    let mut alice_on_n3 =
        common::Gateway::connect(&n3.gateway_url("v=10&encoding=json"), false).await;
    alice_on_n3.identify(&alice, intents).await;
    assert_eq!(
        alice_on_n3.event("GUILD_CREATE").await["id"],
        guild.as_str()
    );
    let watcher = async_nats::connect(&env.nats).await.expect("nats");
    let mut relayed = watcher
        .subscribe("accord.node.n3.events")
        .await
        .expect("subscribe");
    watcher.flush().await.expect("flush");

    // REST on n1 (the owner): every remote session gets the message.
    let post = |channel: &str, content: &str| {
        let (path, body) = (
            format!("/channels/{channel}/messages"),
            json!({"content": content}),
        );
        let n1 = &n1;
        let alice = alice.clone();
        async move {
            let r = n1.post(&path, &alice, body).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    post(&general, "hello everyone").await;
    assert_eq!(next_message(&mut on_n2).await, "hello everyone");
    assert_eq!(next_message(&mut on_n3).await, "hello everyone");
    assert_eq!(next_message(&mut alice_on_n3).await, "hello everyone");
    // n1 published that event to n3 once, addressed to both of n3's sessions.
    let frame = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = relayed.next().await.expect("relayed frame");
            let line = m.payload.split(|b| *b == b'\n').next().expect("meta line");
            let meta: serde_json::Value = serde_json::from_slice(line).expect("meta json");
            if meta["name"] == "MESSAGE_CREATE" {
                return meta;
            }
        }
    })
    .await
    .expect("a relayed MESSAGE_CREATE");
    assert_eq!(frame["from"], "n1", "{frame}");
    assert_eq!(frame["to"].as_array().expect("keys").len(), 2, "{frame}");

    // Revoke VIEW_CHANNEL of #general for bob, through n1: from the next event on, bob's
    // session on n3 gets nothing of #general — checked against an event of #other sent after
    // it, which must be the next message bob sees.
    let deny = n1
        .req(
            reqwest::Method::PUT,
            &format!("/channels/{general}/permissions/{bob_id}"),
            Some(&alice),
            Some(json!({"type": 1, "allow": "0", "deny": "1024"})),
        )
        .await;
    assert_eq!(deny.status, 204, "{}", deny.body);
    post(&general, "secret").await;
    post(&other, "public").await;
    assert_eq!(next_message(&mut on_n2).await, "secret");
    assert_eq!(next_message(&mut on_n2).await, "public");
    assert_eq!(next_message(&mut on_n3).await, "public");
    assert_eq!(next_message(&mut alice_on_n3).await, "secret");

    // Presence is cluster-wide: alice's op 3 on n2 reaches the owner, whose PRESENCE_UPDATE
    // reaches bob on n3.
    let alice_id = n1.me(&alice).await["id"].as_str().expect("id").to_string();
    on_n2
        .send(
            json!({"op": 3, "d": {"since": null, "activities": [], "status": "dnd", "afk": false}}),
        )
        .await;
    loop {
        let p = on_n3.event("PRESENCE_UPDATE").await;
        if p["user"]["id"] == alice_id.as_str() && p["status"] == "dnd" {
            assert_eq!(p["guild_id"], guild.as_str(), "{p}");
            break;
        }
    }

    // A session that ends (its node unsubscribes it on the owner) does not disturb the others.
    drop(on_n3);
    post(&other, "after").await;
    assert_eq!(next_message(&mut on_n2).await, "after");

    // A user whose session is on n2 joins through n3: the owner (n1) has the session
    // subscribed through n2, which sends it the GUILD_CREATE, and then the guild's events.
    let carol = n2.register("carol").await;
    let mut carol_on_n2 =
        common::Gateway::connect(&n2.gateway_url("v=10&encoding=json"), false).await;
    // … with DIRECT_MESSAGES too.
    carol_on_n2.identify(&carol, intents | (1 << 12)).await;
    let joined = n3
        .post(&format!("/invites/{code}"), &carol, json!({}))
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(
        carol_on_n2.event("GUILD_CREATE").await["id"],
        guild.as_str()
    );
    post(&other, "welcome carol").await;
    assert_eq!(next_message(&mut carol_on_n2).await, "welcome carol");

    // User-scoped events cross nodes too: a DM alice sends through n3 reaches carol on n2,
    // and alice's rename through n1 reaches her own session on n2.
    let carol_id = n2.me(&carol).await["id"].as_str().expect("id").to_string();
    let dm = n3
        .post(
            "/users/@me/channels",
            &alice,
            json!({"recipient_id": carol_id}),
        )
        .await;
    assert_eq!(dm.status, 200, "{}", dm.body);
    let dm = dm.body["id"].as_str().expect("id").to_string();
    post(&dm, "psst").await;
    assert_eq!(next_message(&mut carol_on_n2).await, "psst");
    let renamed = n1
        .patch("/users/@me", &alice, json!({"global_name": "Alice on n1"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(
        on_n2.event("USER_UPDATE").await["global_name"],
        "Alice on n1"
    );

    // User events travel only to the nodes holding a session of their user: n1 never held
    // one, so it heard none of the DMs and renames above, while n2 (alice and carol) did.
    let interest = |n: &common::TestServer| {
        let remote = n.srv().app.services.remote.get().expect("remote");
        let i = remote.user_interest();
        (i.subscribed(), i.frames_received())
    };
    assert_eq!(interest(&n1), (0, 0), "n1 holds no session");
    let (subscribed, heard) = interest(&n2);
    assert_eq!(subscribed, 2, "n2 holds alice's and carol's sessions");
    assert!(heard > 0, "n2 heard the DM and the rename");
    // Carol logs off (close 1000 ends the session): n2 drops her subject, and an event for
    // her no longer reaches it.
    carol_on_n2
        .ws
        .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 1000u16.into(),
            reason: "".into(),
        }))
        .await
        .expect("close");
    until(Duration::from_secs(10), "n2 drops carol's subject", || {
        interest(&n2).0 == 1
    })
    .await;
    let heard = interest(&n2).1;
    let renamed = n1
        .patch("/users/@me", &carol, json!({"global_name": "Carol away"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    post(&other, "after carol left").await;
    assert_eq!(next_message(&mut on_n2).await, "after carol left");
    assert_eq!(interest(&n2).1, heard, "nothing for carol reached n2");
    for n in [n1, n2, n3] {
        n.stop().await;
    }
}

/// One client posting to `channel` through `node` until `stop`: messages `p{k}-{i}` in
/// sequence, each retried (same nonce, `enforce_nonce`) until acknowledged, as a client does
/// on 503 + `retry_after`. Returns the ids of the acknowledged messages, in order.
async fn post_until_stopped(
    node: &common::TestServer,
    token: &str,
    channel: &str,
    k: usize,
    stop: watch::Receiver<bool>,
) -> Vec<(String, String)> {
    let mut acked = Vec::new();
    let mut i = 0;
    while !*stop.borrow() {
        let content = format!("p{k}-{i}");
        let r = node
            .post(
                &format!("/channels/{channel}/messages"),
                token,
                json!({"content": content, "nonce": format!("{k}-{i}"), "enforce_nonce": true}),
            )
            .await;
        match r.status {
            200 => {
                assert_eq!(r.body["content"], content.as_str(), "{}", r.body);
                acked.push((r.body["id"].as_str().expect("id").to_string(), content));
                i += 1;
            }
            429 | 503 => {
                let wait = r.body["retry_after"]
                    .as_f64()
                    .unwrap_or(0.2)
                    .clamp(0.05, 1.0);
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            }
            status => panic!("post {content}: {status} {}", r.body),
        }
    }
    acked
}

/// The ids of a channel's latest `limit` messages read through `node`, newest first.
async fn latest_ids(
    node: &common::TestServer,
    token: &str,
    channel: &str,
    limit: usize,
) -> Vec<String> {
    let r = node
        .get(
            &format!("/channels/{channel}/messages?limit={limit}"),
            token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect()
}

/// A channel's whole history through `node`, newest first: (id, content) of each message.
async fn history(node: &common::TestServer, token: &str, channel: &str) -> Vec<(String, String)> {
    let mut stored: Vec<(String, String)> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            Some(b) => format!("/channels/{channel}/messages?limit=100&before={b}"),
            None => format!("/channels/{channel}/messages?limit=100"),
        };
        let page = node.get(&path, token).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.body.as_array().expect("messages").clone();
        if page.is_empty() {
            return stored;
        }
        for m in &page {
            stored.push((
                m["id"].as_str().expect("id").to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            ));
        }
        before = stored.last().map(|m| m.0.clone());
    }
}

/// Reads `g`'s dispatches (heartbeating meanwhile, so a quiet session stays open) until one
/// named `name` satisfies `matches`; returns the names seen before it. Fails after `limit`.
async fn dispatches_until(
    g: &mut common::Gateway,
    limit: Duration,
    name: &str,
    mut matches: impl FnMut(&serde_json::Value) -> bool,
) -> Vec<(String, serde_json::Value)> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut beat = Instant::now();
    g.send(json!({"op": 1, "d": null})).await;
    loop {
        assert!(
            Instant::now() < deadline,
            "no matching {name} within {limit:?}"
        );
        // Within the gateway's send limit (120 a minute), and well inside the 10 s read wait.
        if beat.elapsed() > Duration::from_secs(3) {
            g.send(json!({"op": 1, "d": null})).await;
            beat = Instant::now();
        }
        let v = g.recv().await;
        if v["op"] != 0 {
            continue;
        }
        let t = v["t"].as_str().expect("t").to_string();
        if t == name && matches(&v["d"]) {
            return seen;
        }
        seen.push((t, v["d"].clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_killed_under_load_serves_again_from_another_node_and_its_sessions_come_back() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("failover"));
    let n2 = node(&env, &env.nats, &keyspace, &bucket, "n2").await;
    // Load, not Discord's 5 messages per 5 s: rate limits off, in the shared config the
    // other nodes load when they start.
    n2.srv()
        .app
        .config()
        .apply_patch(
            n2.srv().app.store().as_ref(),
            // A poll "hour" of 4 s: the poll below ends after its owner is gone.
            &json!({"limits": {"rate": {"enabled": false}, "poll": {"hour_secs": 4}}}),
        )
        .await
        .expect("patch");
    let mut n1 = ChildNode::spawn(&env, &keyspace, &bucket, "n1").await;
    let n3 = node(&env, &env.nats, &keyspace, &bucket, "n3").await;
    until(Duration::from_secs(10), "three members", || {
        [&n2, &n3]
            .iter()
            .all(|n| member_names(n) == ["n1", "n2", "n3"])
    })
    .await;
    let alice = n2.register("alice").await;
    // The guild is created on n1, so n1 owns it.
    let created = n2
        .http
        .post(format!("{}/api/v10/guilds", n1.url))
        .header("authorization", &alice)
        .json(&json!({"name": "busy"}))
        .send()
        .await
        .expect("create on n1");
    assert_eq!(created.status(), 201);
    let guild: serde_json::Value = created.json().await.expect("guild");
    let guild = guild["id"].as_str().expect("id").to_string();
    let gid: u64 = guild.parse().expect("snowflake");
    let ownership = n2.srv().app.cluster.as_ref().expect("cluster").ownership();
    assert_eq!(
        ownership.owner_of(accord::cluster::Owned::Guild(gid)),
        Ok("n1".to_string())
    );
    let channel = first_text_channel(&n2, &alice, &guild).await;

    // A session on n3 holds the guild (subscribed on n1).
    let intents = 1 | (1 << 9) | (1 << 15);
    let mut session = common::Gateway::connect(&n3.gateway_url("v=10&encoding=json"), false).await;
    session.identify(&alice, intents).await;
    assert_eq!(session.event("GUILD_CREATE").await["id"], guild.as_str());

    // Four clients post through n2 (forwarded to n1) while n1 is killed.
    let (stop, stopped) = watch::channel(false);
    let n2 = std::sync::Arc::new(n2);
    let posters: Vec<_> = (0..4)
        .map(|k| {
            let (n2, alice, channel, stopped) =
                (n2.clone(), alice.clone(), channel.clone(), stopped.clone());
            tokio::spawn(async move { post_until_stopped(&n2, &alice, &channel, k, stopped).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // A poll armed on n1 just before it dies (announced to the other nodes).
    let poll = n2
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"poll": {"question": {"text": "still there?"}, "answers": [{"poll_media": {"text": "yes"}}], "duration": 1}}),
        )
        .await;
    assert_eq!(poll.status, 200, "{}", poll.body);
    let poll = poll.body["id"].as_str().expect("id").to_string();
    n1.kill().await;
    let killed = Instant::now();

    // The guild serves again from n2 or n3: a read through n2 answers 200.
    let back = loop {
        let r = n2
            .get(&format!("/channels/{channel}/messages?limit=1"), &alice)
            .await;
        if r.status == 200 {
            break killed.elapsed();
        }
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the guild never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let owner = ownership
        .owner_of(accord::cluster::Owned::Guild(gid))
        .expect("an owner");
    eprintln!(
        "guild served again by {owner} {back:?} after kill -9 of its owner (lease TTL {TTL_MS} ms)"
    );
    assert!(back < Duration::from_secs(10), "{back:?}");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.send(true).expect("stop");
    let mut acked = Vec::new();
    for p in posters {
        acked.push(p.await.expect("poster"));
    }

    // Every acknowledged message is there, and each client's messages are in the order it
    // sent them.
    let stored = history(&n2, &alice, &channel).await;
    let position: std::collections::HashMap<&str, usize> = stored
        .iter()
        .rev()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let total: usize = acked.iter().map(Vec::len).sum();
    for (k, mine) in acked.iter().enumerate() {
        assert!(!mine.is_empty(), "client {k} got nothing acknowledged");
        let mut last = None;
        for (id, content) in mine {
            let at = *position
                .get(id.as_str())
                .unwrap_or_else(|| panic!("acknowledged {content} ({id}) is missing"));
            assert!(last < Some(at), "client {k}: {content} out of order");
            last = Some(at);
        }
    }
    eprintln!(
        "{total} acknowledged messages, all stored in order ({} in the channel)",
        stored.len()
    );

    // The poll ends on time on the new owner.
    let ended = Instant::now() + Duration::from_secs(20);
    loop {
        let m = n2
            .get(&format!("/channels/{channel}/messages/{poll}"), &alice)
            .await;
        assert_eq!(m.status, 200, "{}", m.body);
        if m.body["poll"]["results"]["is_finalized"] == true {
            break;
        }
        assert!(Instant::now() < ended, "the poll never ended: {}", m.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The session on n3 was told the guild went away and came back, and gets its events again.
    let seen = dispatches_until(&mut session, Duration::from_secs(20), "GUILD_CREATE", |d| {
        d["id"] == guild.as_str()
    })
    .await;
    assert!(
        seen.iter().any(|(t, d)| t == "GUILD_DELETE"
            && d["unavailable"] == true
            && d["id"] == guild.as_str()),
        "no GUILD_DELETE unavailable before the new GUILD_CREATE: {:?}",
        seen.iter().map(|(t, _)| t).collect::<Vec<_>>()
    );
    let r = n2
        .post(
            &format!("/channels/{channel}/messages"),
            &alice,
            json!({"content": "after the failover"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    dispatches_until(
        &mut session,
        Duration::from_secs(10),
        "MESSAGE_CREATE",
        |d| d["content"] == "after the failover",
    )
    .await;
    drop(session);
    if let Ok(n2) = std::sync::Arc::try_unwrap(n2) {
        n2.stop().await;
    }
    n3.stop().await;
}

/// The node a user's actor (relationships, settings, read states) lives on.
fn home_of(n: &common::TestServer, user: &str) -> String {
    n.srv()
        .app
        .cluster
        .as_ref()
        .expect("cluster")
        .ownership()
        .owner_of(accord::cluster::Owned::User(
            user.parse().expect("snowflake"),
        ))
        .expect("home")
}

/// A user's actor runs on its home node only: relationships, settings and read states changed
/// through any node are what every node answers next (no node keeps a copy a change elsewhere
/// leaves stale), the other side of a friend request reaches its user's home and session, an
/// acknowledgement made on the channel's owner lands on the user's home, and READY on a node
/// that is not the home reads the user's parts fresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_users_own_state_lives_on_its_home_node_and_reads_the_same_everywhere() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("users"));
    let nodes = three_nodes(&env, &keyspace, &bucket).await;
    let not = |home: &str| {
        nodes
            .iter()
            .find(|n| n.srv().app.cluster.as_ref().expect("cluster").node_name() != home)
            .expect("another node")
    };
    let alice = nodes[0].register("alice").await;
    let bob = nodes[1].register("bob").await;
    let alice_id = nodes[0].me(&alice).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let bob_id = nodes[0].me(&bob).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (alice_home, bob_home) = (home_of(&nodes[0], &alice_id), home_of(&nodes[0], &bob_id));

    // Every node reads both users' (empty) relationships and default settings first, so a node
    // that cached them would answer stale data after the changes below.
    for n in &nodes {
        for t in [&alice, &bob] {
            assert_eq!(n.get("/users/@me/relationships", t).await.status, 200);
            assert_eq!(n.get("/users/@me/settings", t).await.status, 200);
        }
    }
    let mut bob_gw =
        common::Gateway::connect(&not(&bob_home).gateway_url("v=10&encoding=json"), false).await;
    bob_gw.identify(&bob, 0).await;

    // A friend request sent through a node that is not alice's home.
    let r = not(&alice_home)
        .req(
            reqwest::Method::PUT,
            &format!("/users/@me/relationships/{bob_id}"),
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let added = bob_gw.event("RELATIONSHIP_ADD").await;
    assert_eq!(
        (added["id"].as_str(), added["type"].as_u64()),
        (Some(alice_id.as_str()), Some(3))
    );
    let kind = |v: &serde_json::Value, id: &str| {
        v.as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == id))
            .and_then(|r| r["type"].as_u64())
    };
    for n in &nodes {
        let a = n.get("/users/@me/relationships", &alice).await;
        assert_eq!(kind(&a.body, &bob_id), Some(4), "alice's side: {}", a.body);
        let b = n.get("/users/@me/relationships", &bob).await;
        assert_eq!(kind(&b.body, &alice_id), Some(3), "bob's side: {}", b.body);
    }
    // Bob accepts through a node that is not his home: friends on both sides, everywhere.
    let r = not(&bob_home)
        .req(
            reqwest::Method::PUT,
            &format!("/users/@me/relationships/{alice_id}"),
            Some(&bob),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Alice's side is changed by a cast to her home after bob's is written, as on one node:
    // wait until her home has it, then every node must read it.
    let limit = Instant::now() + Duration::from_secs(5);
    loop {
        let a = nodes[0].get("/users/@me/relationships", &alice).await;
        if kind(&a.body, &bob_id) == Some(1) {
            break;
        }
        assert!(
            Instant::now() < limit,
            "alice never became bob's friend: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for n in &nodes {
        let a = n.get("/users/@me/relationships", &alice).await;
        assert_eq!(kind(&a.body, &bob_id), Some(1), "{}", a.body);
        let b = n.get("/users/@me/relationships", &bob).await;
        assert_eq!(kind(&b.body, &alice_id), Some(1), "{}", b.body);
    }

    // Settings changed on one node read the same on every node, whichever changed them last.
    for (writer, theme) in [(0, "light"), (2, "dark"), (1, "light")] {
        let r = nodes[writer]
            .patch("/users/@me/settings", &alice, json!({"theme": theme}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for n in &nodes {
            let s = n.get("/users/@me/settings", &alice).await;
            assert_eq!(s.body["theme"], theme, "after a change on n{}", writer + 1);
        }
    }

    // A DM from bob; alice acknowledges it through every node in turn (the ack route runs on
    // the DM's owner, the read state on alice's home).
    let dm = nodes[2]
        .post(
            "/users/@me/channels",
            &bob,
            json!({"recipient_id": alice_id}),
        )
        .await;
    assert_eq!(dm.status, 200, "{}", dm.body);
    let dm = dm.body["id"].as_str().expect("id").to_string();
    let m = nodes[0]
        .post(
            &format!("/channels/{dm}/messages"),
            &bob,
            json!({"content": "hi alice"}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    let message = m.body["id"].as_str().expect("id").to_string();
    for n in &nodes {
        let r = n
            .post(
                &format!("/channels/{dm}/messages/{message}/ack"),
                &alice,
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // A guild alice made through a node that is not her home runs there; acknowledging its
    // channel in bulk (served on her home) is checked and applied through that owner.
    let elsewhere = not(&alice_home);
    let (_guild, text) = elsewhere.guild(&alice, "not at home").await;
    let m = elsewhere
        .post(
            &format!("/channels/{text}/messages"),
            &alice,
            json!({"content": "note"}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    let note = m.body["id"].as_str().expect("id").to_string();
    let bulk = nodes[0]
        .post(
            "/read-states/ack-bulk",
            &alice,
            json!({"read_states": [{"channel_id": text, "message_id": note}]}),
        )
        .await;
    assert_eq!(bulk.status, 204, "{}", bulk.body);
    // READY on a node that is not alice's home carries those read states and her settings.
    let mut alice_gw =
        common::Gateway::connect(&not(&alice_home).gateway_url("v=10&encoding=json"), false).await;
    let ready = alice_gw.identify(&alice, 0).await;
    let entries = ready["read_state"]["entries"].as_array().expect("entries");
    for (channel, last) in [(&dm, &message), (&text, &note)] {
        assert!(
            entries
                .iter()
                .any(|e| e["id"] == channel.as_str() && e["last_message_id"] == last.as_str()),
            "{}",
            ready["read_state"]
        );
    }
    assert_eq!(ready["user_settings"]["theme"], "light");
    assert_eq!(kind(&ready["relationships"], &bob_id), Some(1));

    // Only the homes run (registered) actors for these users.
    for n in &nodes {
        let name = n
            .srv()
            .app
            .cluster
            .as_ref()
            .expect("cluster")
            .node_name()
            .to_string();
        for (id, home) in [(&alice_id, &alice_home), (&bob_id, &bob_home)] {
            let running = n
                .srv()
                .app
                .services
                .registry
                .running_user(accord::id::UserId::new(id.parse().expect("snowflake")))
                .is_some();
            assert!(
                !running || &name == home,
                "{name} runs the actor of a user homed on {home}"
            );
        }
    }
    for n in nodes {
        n.stop().await;
    }
}

/// A guild handed to a node that joins while clients post: the old owner stops its actors and
/// releases the lease only once the writes they started have landed, and it still acknowledges
/// those writes (it holds the lease until then). So the heir, which loads the channel after the
/// release, shows every acknowledged message from its first read — served from the history it
/// keeps in memory — and no client, retrying a 503 with the same nonce, posts one twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_guild_handed_to_a_joining_node_keeps_every_acknowledged_message() {
    let Some(env) = env() else { return };
    let _serial = SERIAL.lock().await;
    let (keyspace, bucket) = (unique("accord_cluster"), unique("handover"));
    let (n1, n2) = tokio::join!(
        node_ttl(&env, &env.nats, &keyspace, &bucket, "n1", STEADY_TTL_MS),
        node_ttl(&env, &env.nats, &keyspace, &bucket, "n2", STEADY_TTL_MS),
    );
    until(Duration::from_secs(5), "both nodes see two members", || {
        [&n1, &n2].iter().all(|n| member_names(n) == ["n1", "n2"])
    })
    .await;
    let alice = n1.register("handover").await;
    let g = n1
        .post("/guilds", &alice, json!({"name": "handed over"}))
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let guild = g.body["id"].as_str().expect("id").to_string();
    let gid: u64 = guild.parse().expect("snowflake");
    let channel = first_text_channel(&n1, &alice, &guild).await;
    let before = accord::cluster::placement::owner_of(gid, &["n1", "n2"]).expect("owner");
    // A third node whose name wins the guild over both.
    let heir = (3..100)
        .map(|k| format!("n{k}"))
        .find(|name| {
            accord::cluster::placement::owner_of(gid, &["n1", "n2", name.as_str()])
                == Some(name.as_str())
        })
        .expect("some name wins the guild");

    // Four clients post, two on each node (one of them the owner itself).
    let (stop, stopped) = watch::channel(false);
    let nodes = [std::sync::Arc::new(n1), std::sync::Arc::new(n2)];
    let posters: Vec<_> = (0..4)
        .map(|k| {
            let (node, alice, channel, stopped) = (
                nodes[k % 2].clone(),
                alice.clone(),
                channel.clone(),
                stopped.clone(),
            );
            tokio::spawn(
                async move { post_until_stopped(&node, &alice, &channel, k, stopped).await },
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let n3 = node_ttl(&env, &env.nats, &keyspace, &bucket, &heir, STEADY_TTL_MS).await;
    let joined = Instant::now();
    until(
        Duration::from_secs(15),
        "the guild runs on the node that joined",
        || {
            n3.srv()
                .app
                .services
                .registry
                .running_guild(accord::id::GuildId::new(gid))
                .is_some()
        },
    )
    .await;
    eprintln!(
        "guild moved from {before} to {heir} {:?} after it joined",
        joined.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.send(true).expect("stop");
    let mut acked = Vec::new();
    for p in posters {
        acked.push(p.await.expect("poster"));
    }

    // The heir's first read of the latest messages comes from what it loaded at the move.
    let total: usize = acked.iter().map(Vec::len).sum();
    let latest = latest_ids(&n3, &alice, &channel, 100).await;
    let newest_acked: Vec<&String> = {
        let mut all: Vec<&String> = acked.iter().flatten().map(|(id, _)| id).collect();
        all.sort_by_key(|id| std::cmp::Reverse(id.parse::<u64>().expect("snowflake")));
        all.into_iter().take(latest.len().min(total)).collect()
    };
    for id in &newest_acked {
        assert!(
            latest.contains(id),
            "acknowledged message {id} missing on {heir}"
        );
    }

    // The whole history: every acknowledged message once, and no content twice.
    let stored = history(&n3, &alice, &channel).await;
    let ids: std::collections::HashSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    for (k, mine) in acked.iter().enumerate() {
        assert!(!mine.is_empty(), "client {k} got nothing acknowledged");
        for (id, content) in mine {
            assert!(
                ids.contains(id.as_str()),
                "client {k}: {content} ({id}) lost"
            );
        }
    }
    let mut contents: Vec<&str> = stored
        .iter()
        .map(|(_, c)| c.as_str())
        .filter(|c| c.starts_with('p'))
        .collect();
    contents.sort_unstable();
    let before_dedup = contents.len();
    contents.dedup();
    assert_eq!(before_dedup, contents.len(), "a message was stored twice");
    eprintln!("{total} messages acknowledged across the hand-over, all on {heir}, none twice");
    n3.stop().await;
    for n in nodes {
        if let Ok(n) = std::sync::Arc::try_unwrap(n) {
            n.stop().await;
        }
    }
}

/// A lease handed over carries a note (an ownership lease: the old owner's last write stamp)
/// to the one node that takes it next; a live or already-taken lease is not taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_over_lease_carries_its_note_to_the_next_holder_only() {
    use accord::cluster::lease;
    let Some(env) = env() else { return };
    let client = async_nats::connect(&env.nats).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    let store = lease::open_bucket(&js, &unique("handnote"), Duration::from_secs(10))
        .await
        .expect("bucket");
    let value = |name: &str| bytes::Bytes::from(name.to_string());

    let first = lease::claim_or_take(&store, "guild.1", value("n1"))
        .await
        .expect("claim")
        .expect("a free key is claimed");
    assert_eq!(first.note, None);
    assert_eq!(
        lease::claim_or_take(&store, "guild.1", value("n2"))
            .await
            .expect("claim"),
        None,
        "held by n1"
    );

    lease::hand_over(&store, "guild.1", b"1797210340261000", first.revision)
        .await
        .expect("hand over");
    let (a, b) = tokio::join!(
        lease::claim_or_take(&store, "guild.1", value("n2")),
        lease::claim_or_take(&store, "guild.1", value("n3")),
    );
    let won: Vec<lease::Claimed> = [a, b]
        .into_iter()
        .filter_map(|r| r.expect("claim"))
        .collect();
    assert_eq!(won.len(), 1, "one claimer takes it: {won:?}");
    assert_eq!(won[0].note.as_deref(), Some(&b"1797210340261000"[..]));
    assert!(won[0].revision > first.revision);
    // The old holder's revision no longer renews or hands anything over.
    assert!(
        lease::hand_over(&store, "guild.1", b"0", first.revision)
            .await
            .is_err()
    );
}
