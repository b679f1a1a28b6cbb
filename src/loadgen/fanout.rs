//! `loadgen fanout`: one guild with N online sessions; messages posted over REST at a fixed
//! rate (open loop: a slow answer does not delay the next post). Every delivered MESSAGE_CREATE
//! gives the time from the POST being sent to the event being received; delivered is compared
//! with expected (successful posts × sessions open), so nothing may be lost. With
//! `--server-pid` the server's memory is reported before, at peak and `--after-secs` after.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::sync::watch;

use super::api::{Api, run_tag};
use super::gateway::{self, Ctx, Tally};
use super::procstat::MemoryWatch;
use super::{Common, Recorder, Report, gateway_url, marker, secs};

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

    let (stop_tx, stop) = watch::channel(false);
    let tally = Arc::new(Tally::default());
    let ctx = Ctx {
        url: gateway_url(&common.url),
        intents: gateway::GUILDS | gateway::GUILD_MESSAGES | gateway::MESSAGE_CONTENT,
        recorder: recorder.clone(),
        tally: tally.clone(),
        stop,
        retry: common.retry_policy(),
        zlib_stream: common.zlib_stream,
    };
    let memory = MemoryWatch::start(common.server_pid);
    let open_started = Instant::now();
    let opened_us = recorder.now_us();
    let handles = gateway::open_sessions(&ctx, tokens, common.connect_rate).await;
    gateway::wait_settled(&tally, n as u64, Instant::now() + Duration::from_secs(120)).await;
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
        let (api, recorder, tally, expected, path) = (
            api.clone(),
            recorder.clone(),
            tally.clone(),
            expected.clone(),
            path.clone(),
        );
        posts.push(tokio::spawn(async move {
            post(&api, &recorder, &tally, &expected, &path, &token, seq).await;
        }));
    }
    for p in posts {
        let _ = p.await;
    }
    let posting_secs = started.elapsed().as_secs_f64();

    // Drain: wait for the events still in flight.
    let drain_until = Instant::now() + secs(args.drain);
    while recorder.get("delivered_create") < expected.load(Ordering::Relaxed)
        && Instant::now() < drain_until
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    gateway::stop_sessions(&stop_tx, handles).await;
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
    let failures = tally.failed.load(Ordering::Relaxed)
        + recorder.get("session_dropped")
        + recorder.get("post_error");
    Ok(Report {
        scenario: "fanout".into(),
        label: common.label.clone(),
        url: common.url.clone(),
        params: json!({"sessions": n, "rate": args.rate, "messages": args.messages,
            "duration_secs": args.duration, "posters": posters.len(),
            "sessions_per_user": per_user}),
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

async fn post(
    api: &Api,
    recorder: &Recorder,
    tally: &Tally,
    expected: &AtomicU64,
    path: &str,
    token: &str,
    seq: u64,
) {
    let sent = recorder.now_us();
    // Sessions open when the post is sent are the ones that must receive it.
    let audience = tally.alive.load(Ordering::Relaxed);
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
