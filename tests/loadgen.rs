//! Smoke runs of every `accord loadgen` scenario (small N, a few seconds) against an in-process
//! server, and of `fanout`/`rest`/`sessions` against the raw baseline server, through the
//! library API the command uses. They check the tool still works end to end — nothing lost, no
//! failures — not how fast anything is. Also: a short soak, and the identify retries against a
//! scripted gateway that refuses, rate-limits and drops connections before READY.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use accord::loadgen::gateway::{self, Ctx, Tally};
use accord::loadgen::retry::RetryPolicy;
use accord::loadgen::{
    self, Common, Recorder, Report, Scenario, baseline, fanout, mixed, rest, sessions, soak,
};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn setup() -> (common::TestServer, tempfile::TempDir, Common) {
    let t = common::start().await;
    let admin = t.register("lgadmin").await;
    t.make_admin(&admin).await;
    let out = tempfile::tempdir().expect("tempdir");
    let mut c = Common::new(t.srv().url(), out.path());
    c.admin_token = Some(admin);
    c.server_pids = vec![std::process::id()];
    c.after_secs = 0.2;
    (t, out, c)
}

fn check(r: &Report) {
    assert!(r.ok(), "{} not ok: {r:#?}", r.scenario);
    assert!(r.expected > 0, "{r:#?}");
}

fn fanout_args(sessions: usize, messages: u64) -> fanout::Args {
    fanout::Args {
        sessions,
        rate: 20.0,
        messages,
        duration: 10.0,
        posters: 2,
        drain: 10.0,
        workers: 0,
        worker_exe: None,
    }
}

fn rest_args() -> rest::Args {
    rest::Args {
        clients: 4,
        channels: 2,
        read_every: 3,
        requests: 120,
        duration: 10.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_scenario_holds_every_session() {
    let (t, out, c) = setup().await;
    let args = sessions::Args {
        sessions: 24,
        hold: 1.0,
        duration: 30.0,
    };
    let r = loadgen::run(&c, &Scenario::Sessions(args))
        .await
        .expect("run");
    check(&r);
    assert_eq!(r.delivered, 24);
    assert!(r.admin_config_applied);
    assert!(r.figures.contains_key("server_kib_per_session"), "{r:#?}");
    assert_eq!(r.latency_us["identify"].count, 24);
    let memory = r.memory.expect("memory with --server-pid");
    assert!(
        memory.before_kib > 0 && memory.peak_kib >= memory.before_kib,
        "{memory:?}"
    );
    assert!(
        memory.after_kib > 0 && memory.after_over_before > 0.0,
        "{memory:?}"
    );
    assert!(
        r.figures["all_ready_secs"] >= r.figures["first_ready_secs"],
        "{r:#?}"
    );
    assert_eq!(r.figures["identify_retries"], 0.0);
    assert!(out.path().join("accord-sessions.json").exists());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_scenario_delivers_every_message_to_every_session() {
    let (t, out, c) = setup().await;
    let r = loadgen::run(&c, &Scenario::Fanout(fanout_args(16, 20)))
        .await
        .expect("run");
    check(&r);
    assert_eq!(r.expected, 16 * 20);
    assert_eq!(r.latency_us["delivered_create"].count, 16 * 20);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("accord-fanout.json")).expect("result file"),
    )
    .expect("json");
    assert_eq!(json["delivered"], 16 * 20);
    assert!(
        json["memory"]["after_over_before"].as_f64().is_some(),
        "{json}"
    );
    t.stop().await;
}

/// Several `--url`s and `--workers 2`: the sessions are spread over both URLs (two names of
/// one server here) and held by two `accord loadgen session-worker` processes, whose
/// deliveries and identify latencies come back into the run's figures; nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_spreads_sessions_over_urls_and_worker_processes() {
    let (t, out, mut c) = setup().await;
    let other = t.srv().url().replace("127.0.0.1", "localhost");
    c.urls.push(other);
    let mut args = fanout_args(12, 20);
    args.workers = 2;
    args.worker_exe = Some(env!("CARGO_BIN_EXE_accord").into());
    let r = loadgen::run(&c, &Scenario::Fanout(args))
        .await
        .expect("run");
    check(&r);
    assert_eq!(r.expected, 12 * 20);
    assert_eq!(r.latency_us["delivered_create"].count, 12 * 20);
    assert_eq!(r.latency_us["identify"].count, 12);
    assert_eq!(r.figures["sessions_ready"], 12.0);
    assert_eq!(r.figures["worker_processes"], 2.0);
    assert_eq!(r.figures["nodes"], 2.0);
    assert!(r.figures.contains_key("all_ready_secs"), "{:?}", r.figures);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("accord-fanout.json")).expect("result file"),
    )
    .expect("json");
    assert_eq!(json["params"]["worker_processes"], 2);
    t.stop().await;
}

/// `--zlib-stream`: every session inflates its one deflate stream; nothing is lost and
/// every event is still seen (the inflater keeps the stream's history across messages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_over_zlib_stream_delivers_every_message() {
    let (t, _out, mut c) = setup().await;
    c.zlib_stream = true;
    let r = loadgen::run(&c, &Scenario::Fanout(fanout_args(8, 20)))
        .await
        .expect("run");
    check(&r);
    assert_eq!(r.latency_us["delivered_create"].count, 8 * 20);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_scenario_posts_and_reads_without_errors() {
    let (t, _out, c) = setup().await;
    let r = loadgen::run(&c, &Scenario::Rest(rest_args()))
        .await
        .expect("run");
    check(&r);
    assert_eq!(r.delivered, 120);
    assert!(r.latency_us["create"].count > 0 && r.latency_us["history"].count > 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_scenario_delivers_every_event() {
    let (t, _out, c) = setup().await;
    let args = mixed::Args {
        small_guilds: 3,
        small_size: 3,
        large_guilds: 1,
        large_size: 8,
        rate: 40.0,
        actions: 80,
        duration: 10.0,
        drain: 10.0,
        seed: 7,
    };
    let r = loadgen::run(&c, &Scenario::Mixed(args)).await.expect("run");
    check(&r);
    for kind in ["create", "update", "reaction"] {
        assert!(
            r.figures[&format!("expected_{kind}")] > 0.0,
            "no {kind} events: {r:#?}"
        );
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_run_unchanged_against_the_baseline() {
    let server = baseline::start("127.0.0.1:0").await.expect("baseline");
    let out = tempfile::tempdir().expect("tempdir");
    let mut c = Common::new(server.url(), out.path());
    c.label = "baseline".into();
    c.server_pids = vec![std::process::id()];
    c.after_secs = 0.2;
    let r = loadgen::run(&c, &Scenario::Fanout(fanout_args(16, 20)))
        .await
        .expect("fanout");
    check(&r);
    assert!(!r.admin_config_applied);
    let r = loadgen::run(&c, &Scenario::Rest(rest_args()))
        .await
        .expect("rest");
    check(&r);
    let args = sessions::Args {
        sessions: 10,
        hold: 0.5,
        duration: 30.0,
    };
    let r = loadgen::run(&c, &Scenario::Sessions(args))
        .await
        .expect("sessions");
    check(&r);
    assert!(out.path().join("baseline-fanout.json").exists());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_records_series_with_reconnects_and_resumes() {
    let (t, out, mut c) = setup().await;
    c.no_plots = false;
    let log = out.path().join("server.log");
    std::fs::write(&log, b"").expect("log file");
    // Something writes to the "server log" meanwhile, so the size series moves.
    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let mut line = std::fs::read(&log).unwrap_or_default();
                line.extend_from_slice(b"a log line\n");
                let _ = std::fs::write(&log, line);
            }
        })
    };
    let args = soak::Args {
        minutes: 0.0,
        seconds: Some(12.0),
        guilds: 2,
        members: 4,
        rate: 15.0,
        actions: 10_000,
        reconnects_per_min: 40.0,
        resumes_per_min: 40.0,
        sample_secs: 1.0,
        server_log: Some(log),
        warmup: 0.2,
        growth_threshold: 0.1,
        seed: 3,
    };
    let r = loadgen::run(&c, &Scenario::Soak(args)).await.expect("run");
    writer.abort();
    assert_eq!(r.failures, 0, "{r:#?}");
    assert!(r.ok(), "{r:#?}");
    assert!(r.figures["reconnect"] > 0.0, "no reconnects: {r:#?}");
    assert!(r.figures["resumed"] > 0.0, "no resumes: {r:#?}");
    assert!(r.latency_us["post"].count > 0 && r.latency_us["delivered_create"].count > 0);
    assert!(r.latency_us["resume"].count > 0);
    let series = r.soak.as_ref().expect("series");
    assert!(series.samples.len() >= 8, "{series:#?}");
    for name in [
        "rss_kib",
        "fds",
        "log_bytes",
        "log_bytes_per_sec",
        "actors_guild",
        "actors_session",
        "mailbox_session",
        "sessions_online",
        "create_p99_ms",
        "fanout_p99_ms",
    ] {
        assert!(
            series.names.iter().any(|n| n == name),
            "no {name}: {:?}",
            series.names
        );
    }
    assert!(series.verdicts.iter().any(|v| v.series == "rss_kib"));
    assert!(r.memory.is_some());
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("accord-soak.json")).expect("result file"),
    )
    .expect("json");
    assert!(
        json["soak"]["samples"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        json["soak"]["verdicts"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
    assert!(out.path().join("accord-soak-series.png").exists());
    t.stop().await;
}

/// What the scripted gateway does with one IDENTIFY of a token, by attempt number.
#[derive(Clone, Copy)]
enum Script {
    /// Close with a code after IDENTIFY.
    Close(u16),
    /// Drop the TCP connection without a close frame (1006 for the client).
    Drop,
    /// READY.
    Ready,
}

/// A minimal gateway on 127.0.0.1:0: the first `refuse` TCP connections are dropped before
/// the WebSocket upgrade (a reset for the client); after that each token's n-th IDENTIFY gets
/// `script[n]` (the last entry from then on).
async fn scripted_gateway(refuse: u64, script: Vec<Script>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let connections = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if connections.fetch_add(1, Ordering::Relaxed) < refuse {
                drop(tcp);
                continue;
            }
            let (attempts, script) = (attempts.clone(), script.clone());
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let hello = r#"{"op":10,"d":{"heartbeat_interval":45000}}"#;
                if ws.send(Message::Text(hello.into())).await.is_err() {
                    return;
                }
                let token = loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) => {
                            let v: serde_json::Value =
                                serde_json::from_str(t.as_str()).unwrap_or_default();
                            if v["op"] == 2 {
                                break v["d"]["token"].as_str().unwrap_or_default().to_string();
                            }
                        }
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                };
                let n = {
                    let mut a = attempts.lock();
                    let n = a.entry(token).or_default();
                    *n += 1;
                    *n - 1
                };
                match script[n.min(script.len() - 1)] {
                    Script::Close(code) => {
                        let frame = CloseFrame {
                            code: CloseCode::from(code),
                            reason: "scripted".into(),
                        };
                        let _ = ws.close(Some(frame)).await;
                    }
                    Script::Drop => drop(ws),
                    Script::Ready => {
                        let ready = r#"{"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"s","resume_gateway_url":"ws://127.0.0.1:1","guilds":[]}}"#;
                        let _ = ws.send(Message::Text(ready.into())).await;
                        // Hold until the client closes.
                        while let Some(Ok(m)) = ws.next().await {
                            if m.is_close() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    format!("ws://{addr}/?v=10&encoding=json")
}

fn scripted_ctx(url: String) -> (Ctx, Arc<Tally>, tokio::sync::watch::Sender<bool>) {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let tally = Arc::new(Tally::default());
    let ctx = Ctx {
        url,
        intents: gateway::GUILDS,
        recorder: Recorder::new(),
        tally: tally.clone(),
        stop,
        retry: RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
        },
        zlib_stream: false,
    };
    (ctx, tally, stop_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_storm_retries_until_every_session_is_ready() {
    // Each session: a reset connection (for the first 3), then 4008 (rate limited), a dropped
    // socket (1006), 4000 (unknown error) — all retryable for discord.js — then READY.
    let url = scripted_gateway(
        3,
        vec![
            Script::Close(4008),
            Script::Drop,
            Script::Close(4000),
            Script::Ready,
        ],
    )
    .await;
    let (ctx, tally, stop) = scripted_ctx(url);
    let n = 8;
    let tokens = (0..n).map(|i| format!("token{i}")).collect();
    let handles = gateway::open_sessions(&ctx, tokens, 200.0).await;
    gateway::wait_settled(&tally, n, Instant::now() + Duration::from_secs(30)).await;
    assert_eq!(tally.ready.load(Ordering::Relaxed), n);
    assert_eq!(tally.failed.load(Ordering::Relaxed), 0);
    // Three scripted failures per session plus the three refused connections.
    assert_eq!(tally.retries.load(Ordering::Relaxed), 3 * n + 3);
    assert_eq!(tally.retried_sessions.load(Ordering::Relaxed), n);
    let r = &ctx.recorder;
    assert_eq!(r.get("retry_close_4008"), n);
    assert_eq!(r.get("retry_close_4000"), n);
    assert_eq!(r.get("retry_abnormal"), n);
    assert_eq!(r.get("retry_connect"), 3);
    // Identify latency counts from the first attempt: at least the three backoffs' lower bounds.
    let identify = r.percentiles()["identify"];
    assert_eq!(identify.count, n);
    assert!(identify.min >= (10 + 20 + 40) * 1000, "{identify:?}");
    let mut figures = std::collections::BTreeMap::new();
    tally.storm_figures(0, n, &mut figures);
    assert!(figures["all_ready_secs"] >= figures["first_ready_secs"]);
    gateway::stop_sessions(&stop, handles).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_close_codes_are_not_retried() {
    for code in [4004, 4013, 4014] {
        let url = scripted_gateway(0, vec![Script::Close(code), Script::Ready]).await;
        let (ctx, tally, stop) = scripted_ctx(url);
        let handles = gateway::open_sessions(&ctx, vec!["a".into(), "b".into()], 100.0).await;
        gateway::wait_settled(&tally, 2, Instant::now() + Duration::from_secs(10)).await;
        assert_eq!(tally.failed.load(Ordering::Relaxed), 2, "close {code}");
        assert_eq!(tally.ready.load(Ordering::Relaxed), 0, "close {code}");
        assert_eq!(tally.retries.load(Ordering::Relaxed), 0, "close {code}");
        assert_eq!(ctx.recorder.get("identify_fatal"), 2);
        gateway::stop_sessions(&stop, handles).await;
    }
}
