//! `loadgen sessions`: open N identified gateway sessions at a rate, hold them with heartbeats,
//! report the identify rate, failures and (with `--server-pid`) the server's RSS per session,
//! its peak, and whether it comes back once the sessions are closed (`--after-secs`). Sessions
//! that fail before READY retry as discord.js does; the run reports the retries, first READY and
//! the time until every session was READY.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use super::api::{Api, run_tag};
use super::gateway::{self, Ctx, Tally};
use super::procstat::MemoryWatch;
use super::{Common, Recorder, Report, gateway_url, rss_kib, secs};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Sessions to open.
    #[arg(short = 'n', long, default_value_t = 1000)]
    pub sessions: usize,
    /// Seconds to hold them once open (heartbeating).
    #[arg(long, default_value_t = 30.0)]
    pub hold: f64,
    /// Upper bound on the whole measured phase (opening + holding), seconds.
    #[arg(long, default_value_t = 600.0)]
    pub duration: f64,
}

pub async fn run(
    common: &Common,
    args: &Args,
    api: &Api,
    recorder: &Recorder,
) -> anyhow::Result<Report> {
    let n = args.sessions;
    let per_user = common.sessions_per_user.max(1);
    let users = api
        .register_many(
            &format!("lgs{}u", run_tag()),
            n.div_ceil(per_user),
            common.setup_concurrency,
        )
        .await?;
    let tokens: Vec<String> = (0..n).map(|i| users[i / per_user].token.clone()).collect();

    let rss_before = common.server_rss_kib();
    let memory = MemoryWatch::start(&common.server_pids);
    let own_before = rss_kib(std::process::id());
    let (stop_tx, stop) = watch::channel(false);
    let tally = Arc::new(Tally::default());
    let ctx = Ctx {
        url: gateway_url(common.url()),
        intents: gateway::GUILDS,
        recorder: recorder.clone(),
        tally: tally.clone(),
        stop,
        retry: common.retry_policy(),
        zlib_stream: common.zlib_stream,
    };
    recorder.start_phase();
    let started = Instant::now();
    let opened_us = recorder.now_us();
    let deadline = started + secs(args.duration);
    let handles = gateway::open_sessions(&ctx, tokens, common.connect_rate).await;
    gateway::wait_settled(&tally, n as u64, deadline).await;
    let open_secs = started.elapsed().as_secs_f64();
    let ready = tally.ready.load(Ordering::Relaxed);
    let rss_open = common.server_rss_kib();

    // Hold: heartbeats keep the sessions alive; the server must not drop any.
    let hold_until = (Instant::now() + secs(args.hold)).min(deadline);
    while Instant::now() < hold_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alive = tally.alive.load(Ordering::Relaxed);
    let rss_held = common.server_rss_kib();
    let own_held = rss_kib(std::process::id());
    let elapsed = started.elapsed().as_secs_f64();
    gateway::stop_sessions(&stop_tx, handles).await;
    let memory = match memory {
        Some(w) => Some(w.finish(secs(common.after_secs)).await),
        None => None,
    };

    let mut figures = BTreeMap::new();
    tally.storm_figures(opened_us, n as u64, &mut figures);
    figures.insert("sessions_ready".into(), ready as f64);
    figures.insert("sessions_alive_at_end".into(), alive as f64);
    figures.insert(
        "identify_per_sec".into(),
        ready as f64 / open_secs.max(1e-9),
    );
    figures.insert("open_secs".into(), open_secs);
    if let (Some(before), Some(held)) = (rss_before, rss_held) {
        figures.insert("server_rss_before_kib".into(), before as f64);
        figures.insert("server_rss_held_kib".into(), held as f64);
        if let Some(open) = rss_open {
            figures.insert("server_rss_open_kib".into(), open as f64);
        }
        figures.insert(
            "server_kib_per_session".into(),
            held.saturating_sub(before) as f64 / (alive.max(1)) as f64,
        );
    }
    if let (Some(before), Some(held)) = (own_before, own_held) {
        figures.insert(
            "loadgen_kib_per_session".into(),
            held.saturating_sub(before) as f64 / (alive.max(1)) as f64,
        );
    }
    let failures = tally.failed.load(Ordering::Relaxed) + recorder.get("session_dropped");
    Ok(Report {
        scenario: "sessions".into(),
        label: common.label.clone(),
        url: common.url().to_string(),
        params: json!({"sessions": n, "hold_secs": args.hold, "duration_secs": args.duration,
            "sessions_per_user": per_user, "connect_rate": common.connect_rate}),
        admin_config_applied: false,
        elapsed_secs: elapsed,
        expected: n as u64,
        delivered: alive,
        failures,
        figures,
        latency_us: recorder.percentiles(),
        timeline: recorder.timeline(),
        memory,
        soak: None,
    })
}
