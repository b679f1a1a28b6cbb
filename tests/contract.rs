//! Contract fuzzing: schemathesis (PyPI, pinned in tests/contract/requirements.txt) generates
//! requests from our own `/api/openapi.json` — valid and invalid bodies, query strings and path
//! parameters — sends them to a server started here, and checks every response: never a 5xx, a
//! status the spec declares, the declared content type, and a body matching the declared schema
//! (every error is `{code, message, errors?}`).
//!
//! "Conforms" means something because the document has response schemas: Discord's own for the
//! operations we share with its public spec (src/api/openapi/responses.rs), Discord's error
//! object for every 4xx. Accord's own operations (admin, Spacebar extras) have no 2xx schema
//! yet, so for them only the status and the errors are checked.
//!
//! To get past 401 and 404 into the real handlers it is authenticated with a real user's token
//! (a bot's for the `/applications/@me` routes) and the path parameters are pinned
//! (schemathesis `[parameters]`) to a guild, channel, message, role, webhook, invite, template,
//! application and team that user owns. Operations that would end the run's own session or
//! remove the fixtures everything else works on (logout, deleting the guild, the channel, the
//! application, the team, resetting the bot's token) are left out.
//!
//! The run is bounded by [`MAX_TIME_SECS`] and [`MAX_EXAMPLES`] and seeded, so a finding
//! reproduces. schemathesis is installed by `tests/contract/install.sh` (`scripts/test` runs it).
//! Without it the test prints a skip notice and passes — unless `CI` or
//! `ACCORD_REQUIRE_CONTRACT=1` is set, which makes a missing install a failure.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// schemathesis's own time budget for the whole run (its fuzzing phase repeats until it is
/// spent, so this is also about how long the run takes).
const MAX_TIME_SECS: u64 = 90;
/// Test cases per operation and phase, at most.
const MAX_EXAMPLES: u32 = 5;
/// Fixed so that a failure found in CI reproduces locally.
const SEED: u64 = 18;
/// Hard limit on the child process (the budget plus start-up and the last requests).
const RUN_TIMEOUT: Duration = Duration::from_secs(MAX_TIME_SECS + 120);

/// The checks run on every response (see `schemathesis run --help`).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// Operations not fuzzed, and why: each would end the session or remove the fixtures every
/// other operation works on, turning the rest of the run into 401s and 404s.
/// By operationId (as /api/openapi.json names them).
const EXCLUDED: &[&str] = &[
    "postAuthLogout",
    "deleteGuildsGuildId",
    "postGuildsGuildIdDelete",
    "deleteUsersMeGuildsGuildId",
    "deleteChannelsChannelId",
    "deleteApplicationsApplicationId",
    "postApplicationsApplicationIdDelete",
    "postApplicationsApplicationIdTransfer",
    "postApplicationsApplicationIdBotReset",
    "deleteTeamsTeamId",
    "postTeamsTeamIdDelete",
];

fn contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract")
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Writes past the test harness's capture, so progress shows while the test runs.
fn show(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// The schemathesis executable, or None (after a skip notice) when it is not installed and that
/// is allowed; panics when it is required.
fn schemathesis() -> Option<PathBuf> {
    let bin = contract_dir().join(".venv/bin/schemathesis");
    let runs = std::process::Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if runs {
        return Some(bin);
    }
    let why = format!(
        "schemathesis is not installed ({} does not run): run tests/contract/install.sh",
        bin.display()
    );
    if env_set("CI") || env_set("ACCORD_REQUIRE_CONTRACT") {
        panic!("{why} (required because CI or ACCORD_REQUIRE_CONTRACT is set)");
    }
    show(&format!("skipped: {why}"));
    None
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// What the fuzzer's requests point at: everything owned by the user whose token it sends.
struct World {
    token: String,
    params: Vec<(&'static str, String)>,
    template: String,
    invite: String,
    webhook_token: String,
    /// `Bot <token>` of the application's bot.
    bot: String,
}

async fn world(t: &common::TestServer) -> World {
    let token = t.register("fuzzer").await;
    let friend = t.register("friend").await;
    let user = id(&t.me(&token).await);
    let friend_id = id(&t.me(&friend).await);
    let (guild, channel) = t.guild(&token, "Contract").await;
    t.join_via_invite(&token, &channel, &friend).await;
    let message = t
        .post(
            &format!("/channels/{channel}/messages"),
            &token,
            json!({"content": "hello"}),
        )
        .await;
    assert_eq!(message.status, 200, "{}", message.body);
    let role = t
        .post(
            &format!("/guilds/{guild}/roles"),
            &token,
            json!({"name": "r"}),
        )
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    let webhook = t
        .post(
            &format!("/channels/{channel}/webhooks"),
            &token,
            json!({"name": "hook"}),
        )
        .await;
    assert_eq!(webhook.status, 200, "{}", webhook.body);
    let invite = t
        .post(&format!("/channels/{channel}/invites"), &token, json!({}))
        .await;
    assert_eq!(invite.status, 200, "{}", invite.body);
    let template = t
        .post(
            &format!("/guilds/{guild}/templates"),
            &token,
            json!({"name": "tpl"}),
        )
        .await;
    assert_eq!(template.status, 200, "{}", template.body);
    let application = t
        .post("/applications", &token, json!({"name": "App"}))
        .await;
    assert_eq!(application.status, 201, "{}", application.body);
    let bot = t
        .post(
            &format!("/applications/{}/bot", id(&application.body)),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(bot.status, 200, "{}", bot.body);
    let bot = format!("Bot {}", bot.body["token"].as_str().expect("bot token"));
    let team = t.post("/teams", &token, json!({"name": "Team"})).await;
    assert_eq!(team.status, 201, "{}", team.body);
    let params = vec![
        ("guild_id", guild),
        ("channel_id", channel),
        ("message_id", id(&message.body)),
        ("role_id", id(&role.body)),
        ("user_id", friend_id),
        ("overwrite_id", user),
        ("webhook_id", id(&webhook.body)),
        ("application_id", id(&application.body)),
        ("team_id", id(&team.body)),
        ("emoji", "%F0%9F%91%8D".to_string()),
    ];
    World {
        token,
        params,
        template: template.body["code"].as_str().expect("code").to_string(),
        invite: invite.body["code"].as_str().expect("code").to_string(),
        webhook_token: webhook.body["token"].as_str().expect("token").to_string(),
        bot,
    }
}

/// schemathesis.toml: the token, the pinned path parameters, per-operation `code`s.
fn config(w: &World) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "headers = {{ Authorization = {} }}\n\n[parameters]\n",
        json!(w.token)
    ));
    for (name, value) in &w.params {
        out.push_str(&format!("{name} = {}\n", json!(value)));
    }
    out.push_str(&format!("token = {}\n", json!(w.webhook_token)));
    out.push_str(&format!(
        "\n[[operations]]\ninclude-path-regex = \"^/guilds/templates/|/templates/\\\\{{code\\\\}}$\"\nparameters = {{ code = {} }}\n",
        json!(w.template)
    ));
    out.push_str(&format!(
        "\n[[operations]]\ninclude-path-regex = \"^/invites/\"\nparameters = {{ code = {} }}\n",
        json!(w.invite)
    ));
    out.push_str(&format!(
        "\n[[operations]]\ninclude-path-regex = \"^(/oauth2)?/applications/@me\"\nheaders = {{ Authorization = {} }}\n",
        json!(w.bot)
    ));
    out
}

/// The counts schemathesis prints under `Test cases:` in its summary (`2325 generated, 2325
/// passed`), for the report.
fn summary_line(lines: &[String]) -> Option<String> {
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("Test cases:"))?;
    lines
        .get(at + 1)
        .map(|l| l.trim().to_string())
        .filter(|l| l.contains("generated"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_or_spec_violations() {
    let Some(bin) = schemathesis() else { return };
    let t = common::start().await;
    let w = world(&t).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("schemathesis.toml");
    std::fs::write(&config_path, config(&w)).expect("config");
    let base = t.srv().url();

    let mut cmd = Command::new(&bin);
    cmd.arg("--config-file")
        .arg(&config_path)
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--max-time", &MAX_TIME_SECS.to_string()])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", &SEED.to_string()])
        // One worker: with several, hypothesis's lambda-description cache races between the
        // threads ("AST constructor recursion depth mismatch") and the run fails on its own.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--suppress-health-check", "all"])
        .args(["--max-failures", "200"])
        .arg("--no-color");
    for operation in EXCLUDED {
        cmd.args(["--exclude-operation-id", operation]);
    }
    let started = Instant::now();
    let mut child = cmd
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start schemathesis");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    // Both pipes are read at once: one left unread could fill and stall the child.
    let collect = async move {
        let out = async {
            let mut lines = Vec::new();
            let mut out = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = out.next_line().await {
                show(&format!("schemathesis: {line}"));
                lines.push(line);
            }
            lines
        };
        let err = async {
            let mut lines = Vec::new();
            let mut err = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = err.next_line().await {
                show(&format!("schemathesis (stderr): {line}"));
                lines.push(line);
            }
            lines
        };
        let (mut lines, err) = tokio::join!(out, err);
        lines.extend(err);
        lines
    };
    let (lines, status) = tokio::time::timeout(RUN_TIMEOUT, async {
        let lines = collect.await;
        (lines, child.wait().await.expect("wait"))
    })
    .await
    .expect("schemathesis exceeded its time limit");
    show(&format!(
        "schemathesis finished in {:.0?}: {}",
        started.elapsed(),
        summary_line(&lines).unwrap_or_else(|| "no summary line".into())
    ));
    assert!(
        status.success(),
        "schemathesis reported failures (exit {status}); see its output above"
    );
    assert!(
        summary_line(&lines).is_some(),
        "schemathesis printed no test case summary"
    );
    t.stop().await;
}
