//! `loadgen rest`: K concurrent clients (closed loop: each sends its next request when the
//! previous one answered), posting messages and every few requests reading the latest page of
//! history. Reports req/s and latency percentiles per operation; 429s are counted apart and
//! honoured (the client waits `retry_after`, capped at one second).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::api::{Api, run_tag};
use super::{Common, Recorder, Report, secs};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Concurrent clients.
    #[arg(short = 'k', long, default_value_t = 64)]
    pub clients: usize,
    /// Text channels the clients spread over (client i uses channel i mod C; 0 = one each).
    #[arg(long, default_value_t = 0)]
    pub channels: usize,
    /// Every R-th request of a client reads history (`GET …/messages?limit=50`); 0 = never.
    #[arg(long, default_value_t = 5)]
    pub read_every: u64,
    /// At most this many requests in all.
    #[arg(long, default_value_t = 200_000)]
    pub requests: u64,
    /// At most this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
}

pub async fn run(
    common: &Common,
    args: &Args,
    api: &Api,
    recorder: &Recorder,
) -> anyhow::Result<Report> {
    let k = args.clients.max(1);
    let tag = run_tag();
    let owner = api.register(&format!("lgr{tag}owner")).await?;
    let (guild, first) = api.guild(&owner, &format!("loadgen rest {tag}")).await?;
    let n_channels = if args.channels == 0 { k } else { args.channels };
    let mut channels = vec![first.clone()];
    for i in 1..n_channels {
        channels.push(api.channel(&owner, &guild, &format!("lg-{i}")).await?);
    }
    let clients = api
        .register_many(&format!("lgr{tag}u"), k, common.setup_concurrency)
        .await?;
    api.join_all(&owner, &first, &clients, common.setup_concurrency)
        .await?;

    recorder.start_phase();
    let started = Instant::now();
    let deadline = started + secs(args.duration);
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let channel = channels[i % channels.len()].clone();
        let (api, recorder, issued) = (api.clone(), recorder.clone(), issued.clone());
        let (limit, read_every) = (args.requests, args.read_every);
        tasks.push(tokio::spawn(async move {
            let create = format!("/channels/{channel}/messages");
            let history = format!("/channels/{channel}/messages?limit=50");
            let mut n: u64 = 0;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < limit {
                n += 1;
                let read = read_every > 0 && n.is_multiple_of(read_every);
                let (name, method, path, body) = if read {
                    ("history", Method::GET, &history, None)
                } else {
                    (
                        "create",
                        Method::POST,
                        &create,
                        Some(json!({"content": format!("loadgen rest {i} {n}")})),
                    )
                };
                let t0 = Instant::now();
                match api
                    .call_measured(method, path, Some(&client.token), body.as_ref())
                    .await
                {
                    Ok(r) if r.ok() => recorder.latency(
                        name,
                        u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX),
                    ),
                    Ok(r) if r.status == 429 => {
                        recorder.count("429", 1);
                        let wait = r.body["retry_after"].as_f64().unwrap_or(1.0);
                        tokio::time::sleep(Duration::from_secs_f64(wait.clamp(0.001, 1.0))).await;
                    }
                    Ok(r) => {
                        tracing::debug!(status = r.status, body = %r.body, "rest call failed");
                        recorder.count("http_error", 1);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "rest call failed");
                        recorder.count("transport_error", 1);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();

    let (creates, reads) = (recorder.get("create"), recorder.get("history"));
    let rate_limited = recorder.get("429");
    let failures = recorder.get("http_error") + recorder.get("transport_error");
    let mut figures = BTreeMap::new();
    figures.insert(
        "req_per_sec".into(),
        (creates + reads) as f64 / elapsed.max(1e-9),
    );
    figures.insert("create_per_sec".into(), creates as f64 / elapsed.max(1e-9));
    figures.insert("history_per_sec".into(), reads as f64 / elapsed.max(1e-9));
    figures.insert("rate_limited_429".into(), rate_limited as f64);
    Ok(Report {
        scenario: "rest".into(),
        label: common.label.clone(),
        url: common.url().to_string(),
        params: json!({"clients": k, "channels": channels.len(), "read_every": args.read_every,
            "requests": args.requests, "duration_secs": args.duration}),
        admin_config_applied: false,
        elapsed_secs: elapsed,
        expected: creates + reads + failures,
        delivered: creates + reads,
        failures,
        figures,
        latency_us: recorder.percentiles(),
        timeline: recorder.timeline(),
        memory: None,
        soak: None,
    })
}
