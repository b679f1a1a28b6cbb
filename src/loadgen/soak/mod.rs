//! `loadgen soak`: a modest, steady mixed load for minutes, to see whether the server stays
//! flat — memory, file descriptors, log growth, live actors, mailbox depths, latencies.
//!
//! A few guilds with every member online (one gateway session each); a random member acts at
//! `--rate` (the `mixed` blend: messages, typing, reactions, edits); meanwhile sessions come and
//! go: `--reconnects-per-min` close with 1000 and IDENTIFY anew, `--resumes-per-min` drop the
//! socket without a close frame and RESUME on READY's `resume_gateway_url` with session_id and
//! seq. Every `--sample-secs` the run records the server's RSS and open descriptors (with
//! `--server-pid`), the size of `--server-log`, the gauges of `GET /metrics` (with
//! `--admin-token`), and the p99 of message create (POST to 200) and of fan-out (POST sent to
//! MESSAGE_CREATE received) over that interval. The series go into the JSON (`soak`) and a
//! PNG with one panel per series; each health series gets a flatness verdict ([`series`]).
//! Bounded by `--minutes`/`--seconds` and `--actions`.

mod client;
pub mod series;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::api::{Api, run_tag};
use super::gateway::{self, Cmd, Ctx, Tally};
use super::mixed::{self, EMOJI, Guild};
use super::procstat::{self, MemoryWatch};
use super::{Common, Recorder, Report, gateway_url, secs};
pub use series::{Sample, Series, Verdict};

/// The longest soak the command accepts.
const MAX_SECS: f64 = 24.0 * 3600.0;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Minutes of load.
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Seconds of load instead of `--minutes` (short runs, tests).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Guilds …
    #[arg(long, default_value_t = 4)]
    pub guilds: usize,
    /// … of this many members, each online with one gateway session.
    #[arg(long, default_value_t = 10)]
    pub members: usize,
    /// Actions per second (messages 60 %, typing 15 %, reactions 15 %, edits 10 %).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// At most this many actions.
    #[arg(long, default_value_t = 1_000_000)]
    pub actions: u64,
    /// Sessions closed (1000) and identified anew per minute.
    #[arg(long, default_value_t = 6.0)]
    pub reconnects_per_min: f64,
    /// Sessions dropped without a close frame and resumed per minute.
    #[arg(long, default_value_t = 6.0)]
    pub resumes_per_min: f64,
    /// Seconds between samples of the series.
    #[arg(long, default_value_t = 5.0)]
    pub sample_secs: f64,
    /// The server's log file: its size is sampled (growth rate per interval).
    #[arg(long)]
    pub server_log: Option<PathBuf>,
    /// Fraction of the run the flatness verdict skips as warm-up.
    #[arg(long, default_value_t = 0.2)]
    pub warmup: f64,
    /// Relative growth (mean of the last third over the middle third) that flags a series.
    #[arg(long, default_value_t = 0.10)]
    pub growth_threshold: f64,
    /// Seed of the member/action choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Args {
    /// The length of the load.
    pub fn duration_secs(&self) -> f64 {
        self.seconds
            .unwrap_or(self.minutes * 60.0)
            .clamp(0.0, MAX_SECS)
    }
}

pub async fn run(
    common: &Common,
    args: &Args,
    api: &Api,
    recorder: &Recorder,
) -> anyhow::Result<Report> {
    anyhow::ensure!(
        args.guilds > 0 && args.members > 0,
        "soak needs guilds and members"
    );
    let tag = run_tag();
    let all = api
        .register_many(
            &format!("lgk{tag}u"),
            args.guilds * args.members,
            common.setup_concurrency,
        )
        .await?;
    let mut guilds = Vec::with_capacity(args.guilds);
    for (g, members) in all.chunks(args.members).enumerate() {
        let owner = &members[0];
        let (_id, channel) = api.guild(owner, &format!("loadgen soak {tag} {g}")).await?;
        api.join_all(owner, &channel, &members[1..], common.setup_concurrency)
            .await?;
        guilds.push(Guild {
            channel,
            members: members.to_vec(),
            sessions: members.len() as u64,
        });
    }
    let guilds = Arc::new(guilds);
    let who: Vec<(usize, usize)> = guilds
        .iter()
        .enumerate()
        .flat_map(|(g, guild)| (0..guild.members.len()).map(move |m| (g, m)))
        .collect();

    let memory = MemoryWatch::start(&common.server_pids);
    let (stop_tx, stop) = watch::channel(false);
    let tally = Arc::new(Tally::default());
    let ctx = Ctx {
        url: gateway_url(common.url()),
        intents: gateway::MESSAGE_TRAFFIC,
        recorder: recorder.clone(),
        tally: tally.clone(),
        stop: stop.clone(),
        retry: common.retry_policy(),
        zlib_stream: common.zlib_stream,
    };
    let opened_us = recorder.now_us();
    let mut members = Vec::with_capacity(all.len());
    let mut controls = Vec::with_capacity(all.len());
    let mut open = tokio::time::interval(Duration::from_secs_f64(
        1.0 / common.connect_rate.max(0.001),
    ));
    for user in &all {
        open.tick().await;
        let (tx, rx) = mpsc::channel(1);
        controls.push(tx);
        members.push(tokio::spawn(client::member(
            ctx.clone(),
            user.token.clone(),
            rx,
        )));
    }
    let n = all.len() as u64;
    gateway::wait_settled(&tally, n, Instant::now() + Duration::from_secs(120)).await;

    recorder.enable_windows();
    recorder.start_phase();
    let started = Instant::now();
    let deadline = started + secs(args.duration_secs());
    // The sampler stops (with a last sample) before the sessions are told to close, so the
    // last sample still shows the load, not the shutdown.
    let (sampler_stop_tx, sampler_stop) = watch::channel(false);
    let sampler = tokio::spawn(sample_loop(Sampler {
        pid: common.server_pid(),
        log: args.server_log.clone(),
        api: api.clone(),
        admin_token: common.admin_token.clone(),
        recorder: recorder.clone(),
        tally: tally.clone(),
        every: secs(args.sample_secs.max(0.2)),
        stop: sampler_stop,
        started,
    }));
    let churn = tokio::spawn(churn(
        controls,
        args.reconnects_per_min,
        args.resumes_per_min,
        args.seed,
        stop.clone(),
        recorder.clone(),
    ));

    // The actions: the `mixed` blend, open loop at the rate, bounded by count and time.
    let state = Arc::new(Mutex::new(mixed::State::default()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(0.001)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut actions = tokio::task::JoinSet::new();
    for seq in 0..args.actions {
        tick.tick().await;
        if Instant::now() >= deadline {
            break;
        }
        while actions.try_join_next().is_some() {}
        if seq % 1024 == 0 {
            state.lock().prune();
        }
        let (g, m) = who[rng.gen_range(0..who.len())];
        let roll = rng.gen_range(0..100);
        let emoji = rng.gen_range(0..EMOJI.len());
        let action = mixed::choose(&state.lock(), roll, g, m, emoji);
        let (api, recorder, state, guilds) =
            (api.clone(), recorder.clone(), state.clone(), guilds.clone());
        actions.spawn(async move {
            mixed::act(&api, &recorder, &state, &guilds[g], g, m, seq, action).await;
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), actions.join_all()).await;
    let elapsed = started.elapsed().as_secs_f64();

    let _ = sampler_stop_tx.send(true);
    let samples = sampler.await.unwrap_or_default();
    let _ = stop_tx.send(true);
    churn.abort();
    let all_members = futures::future::join_all(members);
    let _ = tokio::time::timeout(Duration::from_secs(20), all_members).await;
    let memory = match memory {
        Some(w) => Some(w.finish(secs(common.after_secs)).await),
        None => None,
    };

    let series = Series::new(
        args.sample_secs,
        args.warmup,
        args.growth_threshold,
        samples,
    );
    let done: u64 = ["post", "typing", "react", "edit"]
        .iter()
        .map(|k| recorder.get(k))
        .sum();
    let errors = recorder.get("http_error");
    let mut figures = BTreeMap::new();
    tally.storm_figures(opened_us, n, &mut figures);
    for k in [
        "reconnect",
        "resumed",
        "resume_failed",
        "delivered_replayed",
        "session_dropped",
        "identify_failed",
        "delivered_create",
        "delivered_update",
        "delivered_reaction",
        "delivered_typing",
        "churn_skipped",
    ] {
        figures.insert(k.to_string(), recorder.get(k) as f64);
    }
    figures.insert("sessions".into(), n as f64);
    figures.insert("actions_per_sec".into(), done as f64 / elapsed.max(1e-9));
    figures.insert("rate_limited_429".into(), recorder.get("429") as f64);
    figures.insert(
        "series_growing".into(),
        series.verdicts.iter().filter(|v| v.growing()).count() as f64,
    );
    let failures = tally.failed.load(Ordering::Relaxed)
        + recorder.get("session_dropped")
        + recorder.get("resume_failed")
        + recorder.get("identify_failed")
        + errors;
    Ok(Report {
        scenario: "soak".into(),
        label: common.label.clone(),
        url: common.url().to_string(),
        params: json!({"duration_secs": args.duration_secs(), "guilds": args.guilds,
            "members": args.members, "rate": args.rate, "actions": args.actions,
            "reconnects_per_min": args.reconnects_per_min,
            "resumes_per_min": args.resumes_per_min, "sample_secs": args.sample_secs,
            "warmup": args.warmup, "growth_threshold": args.growth_threshold,
            "seed": args.seed}),
        admin_config_applied: false,
        elapsed_secs: elapsed,
        // Actions answered (429s aside) against actions that succeeded.
        expected: done + errors,
        delivered: done,
        failures,
        figures,
        latency_us: recorder.percentiles(),
        timeline: recorder.timeline(),
        memory,
        soak: Some(series),
    })
}

/// Sends reconnect and resume commands to random members at the given rates per minute. A
/// member busy (identifying, resuming) skips the turn (`churn_skipped`).
async fn churn(
    controls: Vec<mpsc::Sender<Cmd>>,
    reconnects_per_min: f64,
    resumes_per_min: f64,
    seed: u64,
    mut stop: watch::Receiver<bool>,
    recorder: Recorder,
) {
    if controls.is_empty() {
        return;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed.wrapping_add(1));
    let period = |per_min: f64| Duration::from_secs_f64(60.0 / per_min.max(1e-6));
    let mut reconnect = tokio::time::interval(period(reconnects_per_min));
    let mut resume = tokio::time::interval(period(resumes_per_min));
    reconnect.tick().await;
    resume.tick().await;
    loop {
        let cmd = tokio::select! {
            _ = reconnect.tick(), if reconnects_per_min > 0.0 => Cmd::Reconnect,
            _ = resume.tick(), if resumes_per_min > 0.0 => Cmd::Resume,
            _ = super::stopped(&mut stop) => return,
        };
        let target = &controls[rng.gen_range(0..controls.len())];
        if target.try_send(cmd).is_err() {
            recorder.count("churn_skipped", 1);
        }
    }
}

struct Sampler {
    pid: Option<u32>,
    log: Option<PathBuf>,
    api: Api,
    admin_token: Option<String>,
    recorder: Recorder,
    tally: Arc<Tally>,
    every: Duration,
    stop: watch::Receiver<bool>,
    started: Instant,
}

/// Samples every `every` until the run stops, plus one last sample then.
async fn sample_loop(mut s: Sampler) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(s.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut last = Last {
        at: Instant::now(),
        log: s.log.as_deref().and_then(procstat::file_len),
        posts: 0,
        delivered: 0,
    };
    let mut metrics_ok = true;
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = super::stopped(&mut s.stop) => true,
        };
        out.push(sample(&s, &mut last, &mut metrics_ok).await);
        if stopping || out.len() > 100_000 {
            return out;
        }
    }
}

/// The previous sample's cumulative readings, for per-interval rates.
struct Last {
    at: Instant,
    log: Option<u64>,
    posts: u64,
    delivered: u64,
}

async fn sample(s: &Sampler, last: &mut Last, metrics_ok: &mut bool) -> Sample {
    let mut v = BTreeMap::new();
    let now = Instant::now();
    let dt = now.duration_since(last.at).as_secs_f64().max(1e-3);
    if let Some(pid) = s.pid {
        if let Some(kib) = procstat::rss_kib(pid) {
            v.insert("rss_kib".to_string(), kib as f64);
        }
        if let Some(fds) = procstat::open_fds(pid) {
            v.insert("fds".to_string(), fds as f64);
        }
    }
    if let Some(kib) = procstat::rss_kib(std::process::id()) {
        v.insert("loadgen_rss_kib".to_string(), kib as f64);
    }
    if let Some(path) = &s.log
        && let Some(len) = procstat::file_len(path)
    {
        v.insert("log_bytes".to_string(), len as f64);
        if let Some(prev) = last.log {
            v.insert(
                "log_bytes_per_sec".to_string(),
                len.saturating_sub(prev) as f64 / dt,
            );
        }
        last.log = Some(len);
    }
    if let Some(token) = &s.admin_token
        && *metrics_ok
    {
        match s.api.metrics(token).await {
            Ok(text) => v.extend(series::parse_metrics(&text)),
            Err(e) => {
                // Once: a server without Accord's /metrics (or a non-admin token) won't change.
                eprintln!("loadgen soak: no /metrics series ({e})");
                *metrics_ok = false;
            }
        }
    }
    let window = s.recorder.take_window();
    let ms = |us: u64| us as f64 / 1000.0;
    if let Some(p) = window.get("post") {
        v.insert("create_p99_ms".to_string(), ms(p.p99));
    }
    if let Some(p) = window.get("delivered_create") {
        v.insert("fanout_p99_ms".to_string(), ms(p.p99));
    }
    let posts = s.recorder.get("post");
    let delivered = s.recorder.get("delivered_create");
    v.insert(
        "messages_per_sec".to_string(),
        posts.saturating_sub(last.posts) as f64 / dt,
    );
    v.insert(
        "deliveries_per_sec".to_string(),
        delivered.saturating_sub(last.delivered) as f64 / dt,
    );
    v.insert(
        "sessions_alive".to_string(),
        s.tally.alive.load(Ordering::Relaxed) as f64,
    );
    last.at = now;
    last.posts = posts;
    last.delivered = delivered;
    Sample {
        t_secs: s.started.elapsed().as_secs_f64(),
        values: v,
    }
}
