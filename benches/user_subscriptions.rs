//! What a cluster node pays per user with sessions on it for hearing that user's events
//! (`actors::remote::user_events`): one NATS subscription to `accord.user.<id>.events`, read
//! by a task of its own, with a readiness watch and a map entry. This opens N subscriptions of
//! that shape on one connection and reads the resident memory of this process, and of the
//! NATS server when its pid is given, before, with all N open, and after they are dropped (and
//! glibc's free memory trimmed, as the node's trimmer does).
//!
//! `ACCORD_NATS_URL=nats://127.0.0.1:4222 cargo bench --bench user_subscriptions`
//! (`NATS_PID=<pid>` adds the server's side; `SUBSCRIPTIONS=N`, default 10,000).

use std::time::Duration;

use accord::loadgen::procstat::rss_kib;
use dashmap::DashMap;
use futures::StreamExt;
use tokio::sync::watch;

/// As the node keeps it: the reading task and whether the server confirmed the subscription.
struct Interest {
    task: tokio::task::AbortHandle,
    _ready: watch::Receiver<bool>,
}

fn rss(pid: Option<u32>) -> Option<u64> {
    pid.and_then(rss_kib)
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: only run for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Ok(url) = std::env::var("ACCORD_NATS_URL") else {
        eprintln!("ACCORD_NATS_URL not set: nothing to measure");
        return;
    };
    let n: u64 = std::env::var("SUBSCRIPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server: Option<u32> = std::env::var("NATS_PID").ok().and_then(|v| v.parse().ok());
    let me = Some(std::process::id());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = async_nats::connect(&url).await.expect("connect to NATS");
        let users: DashMap<u64, Interest> = DashMap::new();
        settle().await;
        let (me_before, server_before) = (rss(me), rss(server));
        for user in 0..n {
            let (ready_tx, ready) = watch::channel(false);
            let client = client.clone();
            let task = tokio::spawn(async move {
                let mut frames = client
                    .subscribe(format!("accord.user.{}.events", 1_000_000 + user))
                    .await
                    .expect("subscribe");
                let _ = ready_tx.send(true);
                while frames.next().await.is_some() {}
            });
            users.insert(
                user,
                Interest {
                    task: task.abort_handle(),
                    _ready: ready,
                },
            );
        }
        client.flush().await.expect("flush");
        settle().await;
        let (me_open, server_open) = (rss(me), rss(server));
        users.retain(|_, i| {
            i.task.abort();
            false
        });
        client.flush().await.expect("flush");
        settle().await;
        // What the node's trimmer does after load (`accord::memory`).
        accord::memory::trim();
        let (me_after, server_after) = (rss(me), rss(server));
        let per = |before: Option<u64>, open: Option<u64>| match (before, open) {
            (Some(b), Some(o)) => format!("{:.2}", o.saturating_sub(b) as f64 / n as f64),
            _ => "-".into(),
        };
        let kib = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
        println!("{n} user subscriptions (KiB)");
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>12}",
            "process", "before", "open", "dropped", "per user"
        );
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>12}",
            "node",
            kib(me_before),
            kib(me_open),
            kib(me_after),
            per(me_before, me_open)
        );
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>12}",
            "nats-server",
            kib(server_before),
            kib(server_open),
            kib(server_after),
            per(server_before, server_open)
        );
    });
}
