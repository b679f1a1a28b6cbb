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
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The lease TTL of these tests: short, so that expiry is observed in seconds.
const TTL_MS: u64 = 3_000;

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

fn cluster_config(nats: &str, bucket: &str, name: &str) -> ClusterConfig {
    ClusterConfig {
        nats: vec![nats.to_string()],
        node_name: name.into(),
        bucket: bucket.into(),
        lease_ttl_ms: TTL_MS,
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
    let server = accord::start(ServeOptions {
        store: StoreChoice::scylla(env.scylla.clone(), keyspace.into()),
        listen: Some("127.0.0.1:0".into()),
        cdn_listen: None,
        cluster: Some(cluster_config(nats, bucket, name)),
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
    let r = n1.post("/guilds", &token, json!({"name": "after"})).await;
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
        tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.expect("stdout") {
                if line.starts_with("Accord is serving ") {
                    return;
                }
            }
            panic!("the node exited before serving");
        })
        .await
        .expect("node serves");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child }
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
