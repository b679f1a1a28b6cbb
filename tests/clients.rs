//! Acceptance tests with the real client libraries: discord.js (tests/clients/js/bot.mjs) and
//! discord.py (tests/clients/py/bot.py), unmodified, against the server started in-process.
//!
//! Each test prepares a scenario over REST (an owner, a guild, an application with a bot user
//! added to the guild through OAuth2, an invite, a second user who joins through it), then runs
//! the library's script, which logs the bot in and drives it: READY, the guild cache, messages,
//! replies, reactions, edits, roles, members, a member joining, a resume after the server closes
//! the socket. The scripts print one `PASS`/`FAIL` line per scenario; they are streamed here
//! and any failure fails the test.
//!
//! The libraries are installed by `tests/clients/install.sh` (`scripts/test` runs it). Without
//! them the tests print a skip notice and pass — unless `CI` or `ACCORD_REQUIRE_CLIENTS=1` is
//! set, which makes a missing install a failure. With `ACCORD_SCYLLA_NODES` set, the discord.js
//! scenario also runs against a Cassandra/ScyllaDB-backed server.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use accord::{ServeOptions, StoreChoice};
use common::TestServer;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Upper bound for one library's whole run (its own steps time out after 20–40 s each).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// The permissions the bot asks for when it is added to the guild, as a bot's invite link would.
const BOT_PERMISSIONS: u64 = (1 << 6) // ADD_REACTIONS
    | (1 << 10) // VIEW_CHANNEL
    | (1 << 11) // SEND_MESSAGES
    | (1 << 13) // MANAGE_MESSAGES
    | (1 << 14) // EMBED_LINKS
    | (1 << 16) // READ_MESSAGE_HISTORY
    | (1 << 28) // MANAGE_ROLES
    | (1 << 4); // MANAGE_CHANNELS

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Writes straight to the process's stderr, past the test harness's output capture, so the
/// PASS/FAIL lines show while the test runs and in CI logs even when the test passes.
fn show(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// A client library's script and the program that runs it.
struct ClientLib {
    name: &'static str,
    program: PathBuf,
    script: PathBuf,
    /// What must exist for the library to count as installed.
    installed: PathBuf,
}

impl ClientLib {
    fn discord_js() -> Self {
        let dir = clients_dir().join("js");
        Self {
            name: "discord.js",
            program: PathBuf::from("node"),
            script: dir.join("bot.mjs"),
            installed: dir.join("node_modules/discord.js/package.json"),
        }
    }

    fn discord_py() -> Self {
        let dir = clients_dir().join("py");
        Self {
            name: "discord.py",
            program: dir.join(".venv/bin/python"),
            script: dir.join("bot.py"),
            installed: dir.join(".venv/bin/python"),
        }
    }

    /// True when the library can run; false (after a skip notice) when it is not installed and
    /// that is allowed; panics when it is required.
    fn available(&self) -> bool {
        let runnable = self.installed.exists()
            && std::process::Command::new(&self.program)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if runnable {
            return true;
        }
        let why = format!(
            "{} is not installed ({} missing or {} does not run): run tests/clients/install.sh",
            self.name,
            self.installed.display(),
            self.program.display()
        );
        if env_set("CI") || env_set("ACCORD_REQUIRE_CLIENTS") {
            panic!("{why} (required because CI or ACCORD_REQUIRE_CLIENTS is set)");
        }
        show(&format!("skipped: {why}"));
        false
    }

    /// Runs the script against `base_url` with the scenario; streams its PASS/FAIL lines and
    /// panics if it fails, times out or reports no scenario.
    async fn run(&self, label: &str, base_url: &str, scenario: &Value) {
        let file = tempfile::NamedTempFile::new().expect("scenario file");
        std::fs::write(file.path(), scenario.to_string()).expect("write scenario");
        let started = Instant::now();
        let mut child = Command::new(&self.program)
            .arg(&self.script)
            .arg(base_url)
            .arg(file.path())
            .current_dir(self.script.parent().expect("script dir"))
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let prefix = format!("[{label}]");
        let out_prefix = prefix.clone();
        let out = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut all = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                show(&format!("{out_prefix} {line}"));
                all.push(line);
            }
            all
        });
        let err = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut all = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                all.push(line);
            }
            all
        });
        let status = match tokio::time::timeout(RUN_TIMEOUT, child.wait()).await {
            Ok(status) => Some(status.expect("wait for client")),
            Err(_) => {
                let _ = child.kill().await;
                None
            }
        };
        let out = out.await.unwrap_or_default();
        let err = err.await.unwrap_or_default();
        let elapsed = started.elapsed();
        let passed = out.iter().filter(|l| l.starts_with("PASS ")).count();
        let failed: Vec<&String> = out.iter().filter(|l| l.starts_with("FAIL ")).collect();
        show(&format!(
            "{prefix} finished in {:.1} s: {passed} passed, {} failed",
            elapsed.as_secs_f64(),
            failed.len()
        ));
        let ok = status.is_some_and(|s| s.success()) && failed.is_empty() && passed > 0;
        if !ok {
            for line in &err {
                show(&format!("{prefix} stderr: {line}"));
            }
            match status {
                None => panic!("{label} timed out after {RUN_TIMEOUT:?}"),
                Some(s) => panic!(
                    "{label} failed ({s}): {passed} passed, failed: {:#?}",
                    failed
                ),
            }
        }
    }
}

/// Everything a client script needs, prepared over REST the way a person would: register, make
/// a guild, create an application with a bot, add the bot through OAuth2, make an invite.
async fn prepare(t: &TestServer) -> Value {
    let owner = t.register("owner").await;
    let owner_id = t.me(&owner).await["id"].clone();
    let (guild_id, channel_id) = t.guild(&owner, "Client library tests").await;

    let app = t
        .post("/applications", &owner, json!({"name": "Accord Test Bot"}))
        .await;
    assert!(
        app.status == 200 || app.status == 201,
        "create application: {} {}",
        app.status,
        app.body
    );
    let application_id = app.body["id"].as_str().expect("application id").to_string();
    let bot = t
        .post(
            &format!("/applications/{application_id}/bot"),
            &owner,
            json!({}),
        )
        .await;
    assert!(
        bot.status == 200 || bot.status == 201,
        "create bot: {} {}",
        bot.status,
        bot.body
    );
    let bot_token = bot.body["token"].as_str().expect("bot token").to_string();
    let bot_me = t.me(&bot_token).await;
    assert_eq!(bot_me["bot"], true, "bot user: {bot_me}");
    let bot_id = bot_me["id"].as_str().expect("bot id").to_string();

    let added = t
        .post(
            &format!(
                "/oauth2/authorize?client_id={application_id}&scope=bot&permissions={BOT_PERMISSIONS}"
            ),
            &owner,
            json!({"guild_id": guild_id, "permissions": BOT_PERMISSIONS.to_string(), "authorize": true}),
        )
        .await;
    assert!(
        (200..300).contains(&added.status),
        "add the bot to the guild: {} {}",
        added.status,
        added.body
    );

    let invite = t
        .post(
            &format!("/channels/{channel_id}/invites"),
            &owner,
            json!({"max_age": 0, "max_uses": 0}),
        )
        .await;
    assert!(
        invite.status == 200 || invite.status == 201,
        "create invite: {} {}",
        invite.status,
        invite.body
    );
    let invite_code = invite.body["code"]
        .as_str()
        .expect("invite code")
        .to_string();

    let joiner = t.register("joiner").await;
    let joiner_id = t.me(&joiner).await["id"].clone();

    json!({
        "user_token": owner,
        "user_id": owner_id,
        "guild_id": guild_id,
        "channel_id": channel_id,
        "application_id": application_id,
        "bot_token": bot_token,
        "bot_id": bot_id,
        "invite_code": invite_code,
        "joiner_token": joiner,
        "joiner_id": joiner_id,
    })
}

/// Puts back Discord's rate limits (the test harness relaxes them): the libraries must cope with
/// the real buckets and headers, as against Discord.
async fn discord_rate_limits(t: &TestServer) {
    let defaults = serde_json::to_value(accord::config::Config::default()).expect("config");
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"limits": {"rate": defaults["limits"]["rate"]}}),
        )
        .await
        .expect("restore rate limits");
}

async fn run_against(t: &TestServer, lib: &ClientLib, label: &str) {
    discord_rate_limits(t).await;
    let scenario = prepare(t).await;
    lib.run(label, &t.srv().url(), &scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_js() {
    let lib = ClientLib::discord_js();
    if !lib.available() {
        return;
    }
    let t = common::start().await;
    run_against(&t, &lib, "discord.js").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_py() {
    let lib = ClientLib::discord_py();
    if !lib.available() {
        return;
    }
    let t = common::start().await;
    run_against(&t, &lib, "discord.py").await;
    t.stop().await;
}

/// The discord.js scenario once more, on the ScyllaDB backend (a real CQL server).
///
/// On a thread and runtime of its own with roomy stacks: in debug builds the server's start-up
/// on Scylla nests futures deep enough to overflow a test thread's default 2 MiB stack.
#[test]
fn discord_js_on_scylla() {
    on_roomy_stacks("discord_js_on_scylla", discord_js_on_scylla_body);
}

/// Runs `body` on a thread and runtime of its own with 16 MiB stacks (see
/// [`discord_js_on_scylla`]), passing its panic on.
fn on_roomy_stacks<F, Fut>(name: &str, body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let thread = std::thread::Builder::new()
        .name(name.into())
        .stack_size(16 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(body())
        })
        .expect("spawn test thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

async fn discord_js_on_scylla_body() {
    let nodes: Vec<String> = std::env::var("ACCORD_SCYLLA_NODES")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if nodes.is_empty() {
        if env_set("ACCORD_REQUIRE_SCYLLA") {
            panic!("ACCORD_REQUIRE_SCYLLA=1 but ACCORD_SCYLLA_NODES is not set");
        }
        show("skipped: ACCORD_SCYLLA_NODES is not set (discord.js on the ScyllaDB backend)");
        return;
    }
    let lib = ClientLib::discord_js();
    if !lib.available() {
        return;
    }
    // Named like the conformance suite's keyspaces, so its clean-up of stale ones covers it.
    let keyspace = format!(
        "accord_test_{}_{:08x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        rand::random::<u32>()
    );
    let server = accord::start(ServeOptions {
        store: StoreChoice::scylla(nodes.clone(), keyspace.clone()),
        listen: Some("127.0.0.1:0".into()),
        cdn_listen: None,
        cluster: None,
        secret: None,
    })
    .await
    .unwrap_or_else(|e| panic!("server on Scylla at {nodes:?}: {e:#}"));
    server
        .app
        .config()
        .apply_patch(
            server.app.store().as_ref(),
            &json!({"security": {"argon2_memory_kib": 64, "argon2_iterations": 1}}),
        )
        .await
        .expect("patch config");
    let t = TestServer {
        server: Some(server),
        dir: tempfile::tempdir().expect("tempdir"),
        http: reqwest::Client::new(),
    };
    run_against(&t, &lib, "discord.js on scylla").await;
    t.stop().await;
    if let Ok(store) = accord::store::scylla::ScyllaStore::connect(&nodes, &keyspace).await {
        let _ = store
            .session()
            .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
            .await;
    }
}

/// The discord.js scenario on a two-node cluster (real NATS and a real CQL server): its REST
/// calls go to n1, which owns the guild, and its gateway session lives on n2 — n1 advertises
/// n2's gateway, so `GET /gateway/bot` sends the library there. Every event the bot sees
/// crosses from n1 to n2.
#[test]
fn discord_js_across_two_nodes() {
    on_roomy_stacks(
        "discord_js_across_two_nodes",
        discord_js_across_two_nodes_body,
    );
}

async fn discord_js_across_two_nodes_body() {
    let scylla: Vec<String> = std::env::var("ACCORD_SCYLLA_NODES")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let nats = std::env::var("ACCORD_NATS_URL").unwrap_or_default();
    if scylla.is_empty() || nats.is_empty() {
        if env_set("ACCORD_REQUIRE_SCYLLA") || env_set("ACCORD_REQUIRE_NATS") {
            panic!(
                "a CQL server and NATS are required, but ACCORD_SCYLLA_NODES or ACCORD_NATS_URL is not set"
            );
        }
        show(
            "skipped: ACCORD_SCYLLA_NODES or ACCORD_NATS_URL is not set (discord.js across two nodes)",
        );
        return;
    }
    let lib = ClientLib::discord_js();
    if !lib.available() {
        return;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let keyspace = format!("accord_test_{stamp}_{:08x}", rand::random::<u32>());
    let bucket = format!("accord_js_{stamp}_{:08x}", rand::random::<u32>());
    let secret: [u8; 32] = rand::random();
    let start = |name: &'static str, advertise_gateway: String| {
        let (scylla, keyspace, bucket, nats) = (
            scylla.clone(),
            keyspace.clone(),
            bucket.clone(),
            nats.clone(),
        );
        async move {
            accord::start(ServeOptions {
                store: StoreChoice::scylla(scylla, keyspace),
                listen: Some("127.0.0.1:0".into()),
                cdn_listen: None,
                cluster: Some(accord::cluster::ClusterConfig {
                    nats: vec![nats],
                    node_name: name.into(),
                    bucket,
                    advertise_gateway,
                    ..accord::cluster::ClusterConfig::default()
                }),
                secret: Some(secret.to_vec()),
            })
            .await
            .unwrap_or_else(|e| panic!("cluster node {name}: {e:#}"))
        }
    };
    let n2 = start("n2", String::new()).await;
    let n1 = start("n1", format!("ws://{}", n2.addr)).await;
    n1.app
        .config()
        .apply_patch(
            n1.app.store().as_ref(),
            &json!({"security": {"argon2_memory_kib": 64, "argon2_iterations": 1}}),
        )
        .await
        .expect("patch config");
    let members = |s: &accord::Server| {
        s.app
            .cluster
            .as_ref()
            .map_or(0, |c| c.status().members.len())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while members(&n1) < 2 || members(&n2) < 2 {
        assert!(
            Instant::now() < deadline,
            "the two nodes never saw each other"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t1 = TestServer {
        server: Some(n1),
        dir: tempfile::tempdir().expect("tempdir"),
        http: reqwest::Client::new(),
    };
    let gateway = t1.req(reqwest::Method::GET, "/gateway", None, None).await;
    assert_eq!(
        gateway.body["url"],
        format!("ws://{}", n2.addr),
        "n1 sends clients to n2's gateway"
    );
    run_against(&t1, &lib, "discord.js across two nodes").await;
    t1.stop().await;
    n2.shutdown().await.expect("n2 stops");
    if let Ok(store) = accord::store::scylla::ScyllaStore::connect(&scylla, &keyspace).await {
        let _ = store
            .session()
            .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
            .await;
    }
}

/// What the client libraries needed that Accord lacked, each pinned by a plain REST/gateway test
/// so it stays fixed even where the libraries are not installed.
mod library_gaps {
    use super::*;
    use common::Gateway;
    use futures::StreamExt;

    fn s(v: &Value) -> String {
        v.as_str().expect("string").to_string()
    }

    /// discord.js (14.19+) and discord.py (2.6+) send and read a role's colour as
    /// `colors.primary_color`; a new role (position 1, like the bot's own role) ranks below the
    /// older role, so the bot can assign the role it just made.
    #[tokio::test]
    async fn role_colors_and_equal_position_ranking() {
        let t = common::start().await;
        let sc = prepare(&t).await;
        let (bot, guild, user) = (
            format!("Bot {}", s(&sc["bot_token"])),
            s(&sc["guild_id"]),
            s(&sc["user_id"]),
        );
        let role = t
            .post(
                &format!("/guilds/{guild}/roles"),
                &bot,
                json!({"name": "made by bot", "colors": {"primary_color": 0x3498db, "secondary_color": null, "tertiary_color": null}, "permissions": "0"}),
            )
            .await;
        assert_eq!(role.status, 200, "{}", role.body);
        assert_eq!(role.body["color"], 0x3498db);
        assert_eq!(role.body["colors"]["primary_color"], 0x3498db);
        assert_eq!(role.body["colors"]["secondary_color"], Value::Null);
        let role_id = s(&role.body["id"]);
        let put = t
            .req(
                reqwest::Method::PUT,
                &format!("/guilds/{guild}/members/{user}/roles/{role_id}"),
                Some(&bot),
                None,
            )
            .await;
        assert_eq!(put.status, 204, "{}", put.body);
        let roles = t.get(&format!("/guilds/{guild}/roles"), &bot).await;
        assert!(
            roles
                .body
                .as_array()
                .expect("roles")
                .iter()
                .all(|r| r["colors"].is_object()),
            "every role carries colors: {}",
            roles.body
        );
        t.stop().await;
    }

    /// discord.js percent-encodes an explicit `@me` (`setNickname` → `members/%40me`).
    #[tokio::test]
    async fn percent_encoded_at_me() {
        let t = common::start().await;
        let sc = prepare(&t).await;
        let bot = format!("Bot {}", s(&sc["bot_token"]));
        let guild = s(&sc["guild_id"]);
        let r = t
            .patch(
                &format!("/guilds/{guild}/members/%40me"),
                &bot,
                json!({"nick": "Botty"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["nick"], "Botty");
        assert_eq!(t.get("/users/%40me", &bot).await.body["id"], sc["bot_id"]);
        t.stop().await;
    }

    /// Both libraries pin and list pins through `/channels/{id}/messages/pins`.
    #[tokio::test]
    async fn message_pins_endpoints() {
        let t = common::start().await;
        let sc = prepare(&t).await;
        let (user, channel) = (s(&sc["user_token"]), s(&sc["channel_id"]));
        let m = t
            .post(
                &format!("/channels/{channel}/messages"),
                &user,
                json!({"content": "pin me"}),
            )
            .await;
        let id = s(&m.body["id"]);
        let pin = t
            .req(
                reqwest::Method::PUT,
                &format!("/channels/{channel}/messages/pins/{id}"),
                Some(&user),
                None,
            )
            .await;
        assert_eq!(pin.status, 204, "{}", pin.body);
        let list = t
            .get(&format!("/channels/{channel}/messages/pins"), &user)
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(list.body["has_more"], false);
        assert_eq!(list.body["items"][0]["message"]["id"], json!(id));
        let at = s(&list.body["items"][0]["pinned_at"]);
        let before = t
            .get(
                &format!(
                    "/channels/{channel}/messages/pins?before={}&limit=10",
                    at.replace('+', "%2B")
                ),
                &user,
            )
            .await;
        assert_eq!(before.status, 200, "{}", before.body);
        assert_eq!(before.body["items"], json!([]));
        let unpin = t
            .req(
                reqwest::Method::DELETE,
                &format!("/channels/{channel}/messages/pins/{id}"),
                Some(&user),
                None,
            )
            .await;
        assert_eq!(unpin.status, 204);
        let list = t
            .get(&format!("/channels/{channel}/messages/pins"), &user)
            .await;
        assert_eq!(list.body["items"], json!([]));
        t.stop().await;
    }

    /// discord.py sends booleans in query strings as `1`/`0` (`fetch_guild` → `with_counts=1`).
    #[tokio::test]
    async fn with_counts_as_a_number() {
        let t = common::start().await;
        let sc = prepare(&t).await;
        let (user, guild) = (s(&sc["user_token"]), s(&sc["guild_id"]));
        let r = t
            .get(&format!("/guilds/{guild}?with_counts=1"), &user)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body["approximate_member_count"].as_u64().is_some(),
            "{}",
            r.body
        );
        let r = t.get("/users/@me/guilds?with_counts=1", &user).await;
        assert_eq!(r.status, 200, "{}", r.body);
        t.stop().await;
    }

    /// Message-create buckets are per channel: discord.py stalled its first DM for the rest of
    /// the window after a few messages in a guild channel.
    #[tokio::test]
    async fn message_rate_limit_is_per_channel() {
        let t = common::start().await;
        let sc = prepare(&t).await;
        let (user, channel) = (s(&sc["user_token"]), s(&sc["channel_id"]));
        discord_rate_limits(&t).await;
        let dm = t
            .post(
                "/users/@me/channels",
                &user,
                json!({"recipient_id": sc["joiner_id"]}),
            )
            .await;
        assert_eq!(dm.status, 200, "{}", dm.body);
        let dm = s(&dm.body["id"]);
        let remaining = |r: &reqwest::Response| -> Option<u64> {
            r.headers()
                .get("x-ratelimit-remaining")?
                .to_str()
                .ok()?
                .parse()
                .ok()
        };
        let post = |c: String| {
            t.http
                .post(t.url(&format!("/channels/{c}/messages")))
                .header("authorization", &user)
                .json(&json!({"content": "x"}))
                .send()
        };
        for _ in 0..3 {
            post(channel.clone()).await.expect("post");
        }
        let r = post(dm).await.expect("post");
        assert_eq!(r.status(), 200);
        assert_eq!(remaining(&r), Some(4), "a fresh channel has a fresh bucket");
        t.stop().await;
    }

    /// A close for a resumable reason ends the TCP connection too: the `ws` package (discord.js)
    /// only reconnects once the socket is gone. READY's `application.flags` are the
    /// application's (discord.py keeps them).
    #[tokio::test]
    async fn resumable_close_releases_the_socket() {
        let t = common::start().await;
        let sc = prepare(&t).await;
        let app = t
            .get("/applications/@me", &format!("Bot {}", s(&sc["bot_token"])))
            .await;
        let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
        let ready = gw.identify(&s(&sc["bot_token"]), 1).await;
        assert_eq!(ready["application"]["flags"], app.body["flags"]);
        gw.send(json!({"op": 99, "d": null})).await;
        loop {
            match gw.next().await {
                Ok(_) => continue,
                Err(code) => {
                    assert_eq!(code, Some(4001));
                    break;
                }
            }
        }
        // After the close frame the server hangs up; the stream ends instead of timing out.
        let end = tokio::time::timeout(Duration::from_secs(3), gw.ws.next()).await;
        assert!(
            matches!(end, Ok(None) | Ok(Some(Err(_)))),
            "the socket stayed open after the close frame: {end:?}"
        );
        t.stop().await;
    }
}
