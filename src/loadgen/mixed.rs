//! `loadgen mixed`: a blend closer to real traffic — many small guilds and a few large ones,
//! every member online, and a random member (seeded, so runs repeat) acting at a fixed rate:
//! 60 % messages, 15 % typing, 15 % reactions, 10 % edits of their own last message. Event
//! deliveries are counted per type against what the sender's guild should receive.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;
use tokio::sync::watch;

use super::api::{Api, User, run_tag};
use super::gateway::{self, Ctx, Tally};
use super::{Common, Recorder, Report, gateway_url, marker, secs};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Small guilds …
    #[arg(long, default_value_t = 50)]
    pub small_guilds: usize,
    /// … of this many members each.
    #[arg(long, default_value_t = 5)]
    pub small_size: usize,
    /// Large guilds …
    #[arg(long, default_value_t = 2)]
    pub large_guilds: usize,
    /// … of this many members each.
    #[arg(long, default_value_t = 200)]
    pub large_size: usize,
    /// Actions per second (all members together).
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// At most this many actions.
    #[arg(long, default_value_t = 10_000)]
    pub actions: u64,
    /// At most this many seconds of activity.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Seconds to wait for the last events after activity stops.
    #[arg(long, default_value_t = 15.0)]
    pub drain: f64,
    /// Seed of the member/action choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub(crate) const EMOJI: &[&str] = &["👍", "❤", "😂", "🎉", "🔥", "👀", "✅", "🚀"];

pub(crate) struct Guild {
    pub(crate) channel: String,
    pub(crate) members: Vec<User>,
    /// Sessions that see this guild's events.
    pub(crate) sessions: u64,
}

#[derive(Default)]
pub(crate) struct State {
    /// Each member's last message (guild, member) → id, for edits.
    last_own: HashMap<(usize, usize), String>,
    /// Each guild's newest message, for reactions.
    latest: HashMap<usize, String>,
    /// (message, guild, member, emoji) already added: a repeat sends no event.
    reacted: HashSet<(String, usize, usize, usize)>,
}

impl State {
    /// Forgets reactions to messages that are no longer any guild's newest (reactions only go
    /// to the newest), so a long run (the soak) doesn't grow the load generator's memory.
    pub(crate) fn prune(&mut self) {
        let latest: HashSet<&String> = self.latest.values().collect();
        self.reacted.retain(|(m, ..)| latest.contains(m));
    }
}

pub async fn run(
    common: &Common,
    args: &Args,
    api: &Api,
    recorder: &Recorder,
) -> anyhow::Result<Report> {
    let per_user = common.sessions_per_user.max(1);
    let tag = run_tag();
    let sizes: Vec<usize> = std::iter::repeat_n(args.small_size.max(1), args.small_guilds)
        .chain(std::iter::repeat_n(
            args.large_size.max(1),
            args.large_guilds,
        ))
        .collect();
    anyhow::ensure!(!sizes.is_empty(), "mixed needs at least one guild");
    let all = api
        .register_many(
            &format!("lgm{tag}u"),
            sizes.iter().sum(),
            common.setup_concurrency,
        )
        .await?;
    let mut guilds = Vec::with_capacity(sizes.len());
    let mut rest = all.as_slice();
    for (g, size) in sizes.iter().enumerate() {
        let (members, tail) = rest.split_at(*size);
        rest = tail;
        let owner = &members[0];
        let (_id, channel) = api
            .guild(owner, &format!("loadgen mixed {tag} {g}"))
            .await?;
        api.join_all(owner, &channel, &members[1..], common.setup_concurrency)
            .await?;
        guilds.push(Guild {
            channel,
            members: members.to_vec(),
            sessions: (members.len() * per_user) as u64,
        });
    }
    let guilds = Arc::new(guilds);
    let tokens: Vec<String> = all
        .iter()
        .flat_map(|u| std::iter::repeat_n(u.token.clone(), per_user))
        .collect();
    let n_sessions = tokens.len() as u64;
    // (guild, member) of every user, for a uniform choice of who acts.
    let who: Vec<(usize, usize)> = guilds
        .iter()
        .enumerate()
        .flat_map(|(g, guild)| (0..guild.members.len()).map(move |m| (g, m)))
        .collect();

    let (stop_tx, stop) = watch::channel(false);
    let tally = Arc::new(Tally::default());
    let ctx = Ctx {
        url: gateway_url(common.url()),
        intents: gateway::MESSAGE_TRAFFIC,
        recorder: recorder.clone(),
        tally: tally.clone(),
        stop,
        retry: common.retry_policy(),
        zlib_stream: common.zlib_stream,
    };
    let handles = gateway::open_sessions(&ctx, tokens, common.connect_rate).await;
    gateway::wait_settled(
        &tally,
        n_sessions,
        Instant::now() + Duration::from_secs(120),
    )
    .await;

    recorder.start_phase();
    let started = Instant::now();
    let deadline = started + secs(args.duration);
    let state = Arc::new(Mutex::new(State::default()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(0.001)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut actions = Vec::new();
    for seq in 0..args.actions {
        tick.tick().await;
        if Instant::now() >= deadline {
            break;
        }
        let (g, m) = who[rng.gen_range(0..who.len())];
        let roll = rng.gen_range(0..100);
        let emoji = rng.gen_range(0..EMOJI.len());
        let action = choose(&state.lock(), roll, g, m, emoji);
        let (api, recorder, state, guilds) =
            (api.clone(), recorder.clone(), state.clone(), guilds.clone());
        actions.push(tokio::spawn(async move {
            act(&api, &recorder, &state, &guilds[g], g, m, seq, action).await;
        }));
    }
    for a in actions {
        let _ = a.await;
    }
    let active_secs = started.elapsed().as_secs_f64();

    let pairs = [
        ("delivered_create", "expected_create"),
        ("delivered_update", "expected_update"),
        ("delivered_reaction", "expected_reaction"),
    ];
    let totals = |r: &Recorder| {
        pairs
            .iter()
            .fold((0, 0), |(d, e), (dk, ek)| (d + r.get(dk), e + r.get(ek)))
    };
    let drain_until = Instant::now() + secs(args.drain);
    while Instant::now() < drain_until && {
        let (d, e) = totals(recorder);
        d < e || recorder.get("delivered_typing") < recorder.get("expected_typing")
    } {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    gateway::stop_sessions(&stop_tx, handles).await;

    let (delivered, expected) = totals(recorder);
    let mut figures = BTreeMap::new();
    for (k, v) in recorder.counters() {
        if k.starts_with("delivered_") || k.starts_with("expected_") {
            figures.insert(k, v as f64);
        }
    }
    let done: u64 = ["post", "typing", "react", "edit"]
        .iter()
        .map(|k| recorder.get(k))
        .sum();
    figures.insert(
        "actions_per_sec".into(),
        done as f64 / active_secs.max(1e-9),
    );
    figures.insert(
        "events_per_sec".into(),
        delivered as f64 / elapsed.max(1e-9),
    );
    figures.insert("guilds".into(), guilds.len() as f64);
    figures.insert("sessions".into(), n_sessions as f64);
    figures.insert("rate_limited_429".into(), recorder.get("429") as f64);
    let failures = tally.failed.load(Ordering::Relaxed)
        + recorder.get("session_dropped")
        + recorder.get("http_error");
    Ok(Report {
        scenario: "mixed".into(),
        label: common.label.clone(),
        url: common.url().to_string(),
        params: json!({"small_guilds": args.small_guilds, "small_size": args.small_size,
            "large_guilds": args.large_guilds, "large_size": args.large_size,
            "rate": args.rate, "actions": args.actions, "duration_secs": args.duration,
            "seed": args.seed, "sessions_per_user": per_user}),
        admin_config_applied: false,
        elapsed_secs: elapsed,
        expected,
        delivered,
        failures,
        figures,
        latency_us: recorder.percentiles(),
        timeline: recorder.timeline(),
        memory: None,
        soak: None,
    })
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Message,
    Typing,
    React { message: String, emoji: usize },
    Edit { message: String },
}

pub(crate) fn choose(state: &State, roll: u32, g: usize, m: usize, emoji: usize) -> Action {
    match roll {
        0..60 => Action::Message,
        60..75 => Action::Typing,
        75..90 => {
            let Some(message) = state.latest.get(&g) else {
                return Action::Message;
            };
            (0..EMOJI.len())
                .map(|i| (emoji + i) % EMOJI.len())
                .find(|e| !state.reacted.contains(&(message.clone(), g, m, *e)))
                .map_or(Action::Message, |emoji| Action::React {
                    message: message.clone(),
                    emoji,
                })
        }
        _ => match state.last_own.get(&(g, m)) {
            Some(message) => Action::Edit {
                message: message.clone(),
            },
            None => Action::Message,
        },
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn act(
    api: &Api,
    recorder: &Recorder,
    state: &Mutex<State>,
    guild: &Guild,
    g: usize,
    m: usize,
    seq: u64,
    action: Action,
) {
    let token = guild.members[m].token.as_str();
    let channel = &guild.channel;
    let sent = recorder.now_us();
    let (name, expect, method, path, body) = match &action {
        Action::Message => (
            "post",
            "expected_create",
            Method::POST,
            format!("/channels/{channel}/messages"),
            Some(json!({"content": marker(seq, sent)})),
        ),
        Action::Typing => (
            "typing",
            "expected_typing",
            Method::POST,
            format!("/channels/{channel}/typing"),
            None,
        ),
        Action::React { message, emoji } => {
            // Reserve it before sending, so a concurrent action doesn't pick it too.
            state.lock().reacted.insert((message.clone(), g, m, *emoji));
            (
                "react",
                "expected_reaction",
                Method::PUT,
                format!(
                    "/channels/{channel}/messages/{message}/reactions/{}/@me",
                    percent_encode(EMOJI[*emoji])
                ),
                None,
            )
        }
        Action::Edit { message } => (
            "edit",
            "expected_update",
            Method::PATCH,
            format!("/channels/{channel}/messages/{message}"),
            Some(json!({"content": marker(seq, sent)})),
        ),
    };
    let t0 = Instant::now();
    match api.call(method, &path, Some(token), body.as_ref()).await {
        Ok(r) if r.ok() => {
            recorder.count(expect, guild.sessions);
            recorder.latency(
                name,
                u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX),
            );
            if let (Action::Message, Some(id)) = (&action, r.body["id"].as_str()) {
                let mut st = state.lock();
                st.last_own.insert((g, m), id.to_string());
                st.latest.insert(g, id.to_string());
            }
        }
        Ok(r) if r.status == 429 => recorder.count("429", 1),
        Ok(r) => {
            tracing::debug!(status = r.status, body = %r.body, "{name} failed");
            recorder.count("http_error", 1);
        }
        Err(e) => {
            tracing::debug!(error = %e, "{name} failed");
            recorder.count("http_error", 1);
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
