//! `loadgen fanout`: one guild with N online sessions; messages posted over REST at a fixed
//! rate (open loop: a slow answer does not delay the next post). Every delivered MESSAGE_CREATE
//! gives the time from the POST being sent to the event being received; delivered is compared
//! with expected (successful posts × sessions open), so nothing may be lost. With
//! `--server-pid` the server's memory is reported before, at peak and `--after-secs` after.
//!
//! With several `--url`s (a cluster's nodes) session k connects to node k mod n, and posts go
//! to the first node, so most events cross nodes. Runs with more sessions than one process
//! may hold descriptors for (`--workers`, automatic above 15,000) keep the sessions in worker
//! processes ([`super::worker`]) and the posting and the figures here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::sync::watch;

use super::api::{Api, run_tag};
use super::gateway::{self, Ctx, Tally};
use super::procstat::MemoryWatch;
use super::worker::{self, Workers};
use super::{Common, Recorder, Report, gateway_url, marker, secs};

/// Sessions per worker process when `--workers` is automatic: well under the 20,000
/// descriptors one process may hold on the boxes we measure on.
const SESSIONS_PER_WORKER: usize = 15_000;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Online members (gateway sessions) in the guild.
    #[arg(short = 'n', long, default_value_t = 1000)]
    pub sessions: usize,
    /// Messages posted per second.
    #[arg(short = 'm', long, default_value_t = 10.0)]
    pub rate: f64,
    /// At most this many messages.
    #[arg(long, default_value_t = 1000)]
    pub messages: u64,
    /// At most this many seconds of posting.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Members that take turns posting (spreads per-user rate limits).
    #[arg(long, default_value_t = 8)]
    pub posters: usize,
    /// Seconds to wait for the last events after posting stops.
    #[arg(long, default_value_t = 15.0)]
    pub drain: f64,
    /// Processes that hold the sessions: 0 = this one up to 15,000 sessions, else one per
    /// 15,000; 1 = this one; n > 1 = n worker processes.
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// The accord binary worker processes run (default: this executable).
    #[arg(long)]
    pub worker_exe: Option<PathBuf>,
}

impl Args {
    /// How many worker processes hold `n` sessions (0: they are held in this process).
    fn worker_processes(&self, n: usize) -> usize {
        match self.workers {
            0 if n > SESSIONS_PER_WORKER => n.div_ceil(SESSIONS_PER_WORKER),
            0 | 1 => 0,
            w => w,
        }
    }
}

/// Where each session connects: session k to node k mod n, as (gateway URL, tokens) groups.
fn spread(urls: &[String], tokens: Vec<String>) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> =
        urls.iter().map(|u| (gateway_url(u), Vec::new())).collect();
    if groups.is_empty() {
        return groups;
    }
    let n = groups.len();
    for (k, t) in tokens.into_iter().enumerate() {
        groups[k % n].1.push(t);
    }
    groups
}

/// The sessions of a run: tasks in this process, or worker processes.
enum Held {
    Here {
        stop: watch::Sender<bool>,
        handles: Vec<tokio::task::JoinHandle<()>>,
    },
    Workers(Workers),
}

pub async fn run(
    common: &Common,
    args: &Args,
    api: &Api,
    recorder: &Recorder,
) -> anyhow::Result<Report> {
    let n = args.sessions;
    let per_user = common.sessions_per_user.max(1);
    let tag = run_tag();
    let owner = api.register(&format!("lgf{tag}owner")).await?;
    let (_guild, channel) = api.guild(&owner, &format!("loadgen fanout {tag}")).await?;
    let members = api
        .register_many(
            &format!("lgf{tag}u"),
            n.div_ceil(per_user).max(1),
            common.setup_concurrency,
        )
        .await?;
    api.join_all(&owner, &channel, &members, common.setup_concurrency)
        .await?;
    let tokens: Vec<String> = (0..n)
        .map(|i| members[i / per_user].token.clone())
        .collect();

    let tally = Arc::new(Tally::default());
    let intents = gateway::GUILDS | gateway::GUILD_MESSAGES | gateway::MESSAGE_CONTENT;
    let groups = spread(&common.urls, tokens);
    let memory = MemoryWatch::start(&common.server_pids);
    let open_started = Instant::now();
    let opened_us = recorder.now_us();
    let processes = args.worker_processes(n);
    let held = if processes == 0 {
        let (stop_tx, stop) = watch::channel(false);
        let rate = common.connect_rate / groups.len().max(1) as f64;
        let opens = groups.into_iter().map(|(url, tokens)| {
            let ctx = Ctx {
                url,
                intents,
                recorder: recorder.clone(),
                tally: tally.clone(),
                stop: stop.clone(),
                retry: common.retry_policy(),
                zlib_stream: common.zlib_stream,
            };
            async move { gateway::open_sessions(&ctx, tokens, rate).await }
        });
        let handles = futures::future::join_all(opens)
            .await
            .into_iter()
            .flatten()
            .collect();
        Held::Here {
            stop: stop_tx,
            handles,
        }
    } else {
        let specs = worker_specs(common, recorder, intents, groups, processes);
        let exe = match &args.worker_exe {
            Some(p) => p.clone(),
            None => std::env::current_exe()?,
        };
        Held::Workers(Workers::spawn(&exe, specs, tally.clone()).await?)
    };
    gateway::wait_settled(&tally, n as u64, Instant::now() + Duration::from_secs(300)).await;
    let open_secs = open_started.elapsed().as_secs_f64();

    // Posting: open loop at the given rate, bounded by count and time.
    let posters: Vec<String> = members
        .iter()
        .take(args.posters.max(1))
        .map(|m| m.token.clone())
        .collect();
    let expected = Arc::new(AtomicU64::new(0));
    recorder.start_phase();
    let started = Instant::now();
    let deadline = started + secs(args.duration);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(0.001)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::new();
    let path = format!("/channels/{channel}/messages");
    for seq in 0..args.messages {
        tick.tick().await;
        if Instant::now() >= deadline {
            break;
        }
        let token = posters[seq as usize % posters.len()].clone();
        // Sessions open when the post is sent are the ones that must receive it.
        let audience = tally.alive.load(Ordering::Relaxed);
        let (api, recorder, expected, path) = (
            api.clone(),
            recorder.clone(),
            expected.clone(),
            path.clone(),
        );
        posts.push(tokio::spawn(async move {
            post(&api, &recorder, audience, &expected, &path, &token, seq).await;
        }));
    }
    for p in posts {
        let _ = p.await;
    }
    let posting_secs = started.elapsed().as_secs_f64();

    // Drain: wait for the events still in flight.
    let drain_until = Instant::now() + secs(args.drain);
    let delivered_now = |held: &Held| match held {
        Held::Here { .. } => recorder.get("delivered_create"),
        Held::Workers(w) => w.delivered(),
    };
    while delivered_now(&held) < expected.load(Ordering::Relaxed) && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    match held {
        Held::Here { stop, handles } => gateway::stop_sessions(&stop, handles).await,
        Held::Workers(w) => {
            let last = w.finish(recorder).await?;
            tally.store(&last.tally);
        }
    }
    let memory = match memory {
        Some(w) => Some(w.finish(secs(common.after_secs)).await),
        None => None,
    };

    let delivered = recorder.get("delivered_create");
    let expected = expected.load(Ordering::Relaxed);
    let sent = recorder.get("post");
    let mut figures = BTreeMap::new();
    tally.storm_figures(opened_us, n as u64, &mut figures);
    figures.insert(
        "sessions_ready".into(),
        tally.ready.load(Ordering::Relaxed) as f64,
    );
    figures.insert("open_secs".into(), open_secs);
    figures.insert("messages_posted".into(), sent as f64);
    figures.insert("posts_per_sec".into(), sent as f64 / posting_secs.max(1e-9));
    figures.insert(
        "events_per_sec".into(),
        delivered as f64 / elapsed.max(1e-9),
    );
    figures.insert("rate_limited_429".into(), recorder.get("429") as f64);
    figures.insert("nodes".into(), common.urls.len() as f64);
    figures.insert("worker_processes".into(), processes as f64);
    let failures = tally.failed.load(Ordering::Relaxed)
        + recorder.get("session_dropped")
        + recorder.get("post_error");
    Ok(Report {
        scenario: "fanout".into(),
        label: common.label.clone(),
        url: common.url().to_string(),
        params: json!({"sessions": n, "rate": args.rate, "messages": args.messages,
            "duration_secs": args.duration, "posters": posters.len(),
            "sessions_per_user": per_user, "nodes": common.urls.len(),
            "worker_processes": processes}),
        admin_config_applied: false,
        elapsed_secs: elapsed,
        expected,
        delivered,
        failures,
        figures,
        latency_us: recorder.percentiles(),
        timeline: recorder.timeline(),
        memory,
        soak: None,
    })
}

/// Splits the sessions of every node over `processes` workers, each opening its share at its
/// share of the connect rate.
fn worker_specs(
    common: &Common,
    recorder: &Recorder,
    intents: u64,
    groups: Vec<(String, Vec<String>)>,
    processes: usize,
) -> Vec<worker::Spec> {
    let mut specs: Vec<worker::Spec> = (0..processes)
        .map(|_| worker::Spec {
            origin_unix_us: recorder.origin_unix_us,
            groups: Vec::new(),
            intents,
            connect_rate: common.connect_rate / processes as f64,
            identify_attempts: common.identify_attempts,
            zlib_stream: common.zlib_stream,
        })
        .collect();
    for (url, tokens) in groups {
        let share = tokens.len().div_ceil(processes).max(1);
        for (w, chunk) in tokens.chunks(share).enumerate() {
            specs[w % processes].groups.push(worker::Group {
                gateway_url: url.clone(),
                tokens: chunk.to_vec(),
            });
        }
    }
    specs
}

async fn post(
    api: &Api,
    recorder: &Recorder,
    audience: u64,
    expected: &AtomicU64,
    path: &str,
    token: &str,
    seq: u64,
) {
    let sent = recorder.now_us();
    let body = json!({"content": marker(seq, sent)});
    let t0 = Instant::now();
    match api.call(Method::POST, path, Some(token), Some(&body)).await {
        Ok(r) if r.ok() => {
            expected.fetch_add(audience, Ordering::Relaxed);
            recorder.latency(
                "post",
                u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX),
            );
        }
        Ok(r) if r.status == 429 => recorder.count("429", 1),
        Ok(r) => {
            tracing::debug!(status = r.status, body = %r.body, "post failed");
            recorder.count("post_error", 1);
        }
        Err(e) => {
            tracing::debug!(error = %e, "post failed");
            recorder.count("post_error", 1);
        }
    }
}
