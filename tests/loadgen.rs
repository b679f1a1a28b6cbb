//! Smoke runs of every `accord loadgen` scenario (small N, a few seconds) against an in-process
//! server, and of `fanout`/`rest`/`sessions` against the raw baseline server, through the
//! library API the command uses. They check the tool still works end to end — nothing lost, no
//! failures — not how fast anything is.

mod common;

use accord::loadgen::{self, Common, Report, Scenario, baseline, fanout, mixed, rest, sessions};

async fn setup() -> (common::TestServer, tempfile::TempDir, Common) {
    let t = common::start().await;
    let admin = t.register("lgadmin").await;
    t.make_admin(&admin).await;
    let out = tempfile::tempdir().expect("tempdir");
    let mut c = Common::new(t.srv().url(), out.path());
    c.admin_token = Some(admin);
    c.server_pid = Some(std::process::id());
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
    c.server_pid = Some(std::process::id());
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
