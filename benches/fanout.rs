//! Fan-out through the actor runtime (issue 4): one guild, N subscribed in-process sessions; the
//! time from "message accepted" (the event handed to the guild actor) to "the last subscriber has
//! the bytes", p50/p99 over repeated events. Baseline in the same run: a plain loop writing the
//! same `Arc` to N bounded tokio channels with the same receiver tasks. Prints a table with the
//! ratio (actor fan-out time / baseline time).
//!
//! `cargo bench --bench fanout` (a plain `main`: criterion's sampling model doesn't fit a
//! "time until N receivers have it" measurement).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use accord::actors::Services;
use accord::actors::guild::{GuildMsg, new_guild_state};
use accord::actors::sessions::SessionHandle;
use accord::config::{Config, LiveConfig};
use accord::events::Dispatch;
use accord::gateway::intents::Intents;
use accord::id::{SnowflakeGenerator, UserId};
use accord::model::MemberRecord;
use accord::store::Durability;
use accord::store::embedded::EmbeddedStore;
use tokio::sync::{Notify, mpsc};

const ROUNDS: usize = 40;

struct Done {
    left: AtomicUsize,
    notify: Notify,
}

fn spawn_receivers(receivers: Vec<mpsc::Receiver<Arc<Dispatch>>>, done: Arc<Done>) {
    for mut rx in receivers {
        let done = done.clone();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                if done.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                    done.notify.notify_one();
                }
            }
        });
    }
}

async fn wait_all(done: &Done) {
    while done.left.load(Ordering::Acquire) > 0 {
        done.notify.notified().await;
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

async fn actor_fanout(n: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path(), Durability::Eventual).expect("store"));
    let mut config = Config::default();
    config.gateway.session_queue_limit = 1024;
    let services = Services::new(
        Arc::new(LiveConfig::fixed(config)),
        store.clone(),
        SnowflakeGenerator::new(1, 1).expect("ids"),
    );
    let owner = UserId::new(1);
    let mut state = new_guild_state(&services, owner, "bench".into(), None, Vec::new())
        .expect("unleased generator");
    let guild = state.guild.id;
    for i in 0..n {
        state
            .members
            .push(MemberRecord::new(guild, UserId::new(1_000_000 + i as u64)));
    }
    let channel = state.channels[0].id;
    accord::store::Store::create_guild(store.as_ref(), &state)
        .await
        .expect("create");
    let actor = services.guild(guild).await.expect("actor");
    let mut receivers = Vec::with_capacity(n);
    for i in 0..n {
        let (h, rx, _) = SessionHandle::new(
            i as u64,
            UserId::new(1_000_000 + i as u64),
            false,
            // What a bot reading messages asks for; no presences (those would flood the
            // queues while the N sessions subscribe, before the measurement starts).
            Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT,
            1024,
        );
        let _ =
            accord::actors::mailbox::call(&actor, |port| GuildMsg::Subscribe(h, port), None).await;
        receivers.push(rx);
    }
    let done = Arc::new(Done {
        left: AtomicUsize::new(0),
        notify: Notify::new(),
    });
    spawn_receivers(receivers, done.clone());
    let message = serde_json::json!({"id": "1", "channel_id": channel, "content": "x".repeat(200), "author": {"id": "1", "username": "bench"}});
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        done.left.store(n, Ordering::Release);
        let start = Instant::now();
        let event = Dispatch::message("MESSAGE_CREATE", &message, true, vec![]);
        let _ = accord::actors::tell(
            &actor,
            GuildMsg::Fanout {
                event,
                channel: Some(channel),
            },
        );
        wait_all(&done).await;
        samples.push(start.elapsed());
    }
    samples
}

async fn baseline(n: usize) -> Vec<Duration> {
    let mut senders = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = mpsc::channel::<Arc<Dispatch>>(1024);
        senders.push(tx);
        receivers.push(rx);
    }
    let done = Arc::new(Done {
        left: AtomicUsize::new(0),
        notify: Notify::new(),
    });
    spawn_receivers(receivers, done.clone());
    let message = serde_json::json!({"id": "1", "channel_id": "2", "content": "x".repeat(200), "author": {"id": "1", "username": "bench"}});
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        done.left.store(n, Ordering::Release);
        let start = Instant::now();
        let event = Dispatch::message("MESSAGE_CREATE", &message, true, vec![]);
        for tx in &senders {
            let _ = tx.try_send(event.clone());
        }
        wait_all(&done).await;
        samples.push(start.elapsed());
    }
    samples
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{:>7} | {:>12} {:>12} | {:>12} {:>12} | {:>6}",
        "N", "actor p50", "actor p99", "loop p50", "loop p99", "ratio"
    );
    for n in [1_000usize, 10_000] {
        let (mut a, mut b) = runtime.block_on(async { (actor_fanout(n).await, baseline(n).await) });
        let (a50, a99, b50, b99) = (
            percentile(&mut a, 0.5),
            percentile(&mut a, 0.99),
            percentile(&mut b, 0.5),
            percentile(&mut b, 0.99),
        );
        println!(
            "{n:>7} | {:>12.3?} {:>12.3?} | {:>12.3?} {:>12.3?} | {:>6.2}",
            a50,
            a99,
            b50,
            b99,
            a50.as_secs_f64() / b50.as_secs_f64()
        );
    }
}
