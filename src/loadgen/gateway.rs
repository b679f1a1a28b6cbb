//! The gateway side: one task per session — connect, HELLO, IDENTIFY, READY (and the
//! GUILD_CREATEs it announces), then heartbeats and event accounting until told to stop.
//!
//! Events are not fully parsed: a session finds the event name and, for message events, the
//! latency marker (`lg <seq> <µs>`) by substring search, so the client's CPU goes to the
//! socket rather than to JSON trees.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use super::inflate::Inflater;
use super::retry::{AttemptError, RetryPolicy};
use super::{Recorder, parse_marker};

pub const GUILDS: u64 = 1;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
/// What the mixed and soak scenarios listen to: guilds, messages, reactions, typing, content.
pub const MESSAGE_TRAFFIC: u64 =
    GUILDS | GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS | GUILD_MESSAGE_TYPING | MESSAGE_CONTENT;

/// How long one attempt may take from connect to READY (+ GUILD_CREATEs).
const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(60);

/// Session counts shared by a run's sessions and its driver.
#[derive(Default)]
pub struct Tally {
    /// Sessions that reached READY (and their GUILD_CREATEs).
    pub ready: AtomicU64,
    /// Sessions that never got there (fatal close, attempts exhausted).
    pub failed: AtomicU64,
    /// Sessions open right now (ready and not closed).
    pub alive: AtomicU64,
    /// Reconnects after a failed attempt, over all sessions.
    pub retries: AtomicU64,
    /// Sessions that needed at least one retry.
    pub retried_sessions: AtomicU64,
    /// µs on the recorder's clock of the first READY, plus one (0: none yet).
    first_ready_us: AtomicU64,
    /// µs on the recorder's clock of the latest READY.
    last_ready_us: AtomicU64,
}

/// A [`Tally`]'s counts at one moment: what a worker process reports to the run that spawned
/// it ([`super::worker`]), summed over workers with [`TallySnapshot::add`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TallySnapshot {
    pub ready: u64,
    pub failed: u64,
    pub alive: u64,
    pub retries: u64,
    pub retried_sessions: u64,
    /// Plus one, as in [`Tally`] (0: none yet); on the run's shared clock.
    pub first_ready_us: u64,
    pub last_ready_us: u64,
}

impl TallySnapshot {
    /// Adds another process's counts: sums, the earliest first READY, the latest last one.
    pub fn add(&mut self, o: &TallySnapshot) {
        self.ready += o.ready;
        self.failed += o.failed;
        self.alive += o.alive;
        self.retries += o.retries;
        self.retried_sessions += o.retried_sessions;
        self.first_ready_us = match (self.first_ready_us, o.first_ready_us) {
            (0, b) => b,
            (a, 0) => a,
            (a, b) => a.min(b),
        };
        self.last_ready_us = self.last_ready_us.max(o.last_ready_us);
    }
}

impl Tally {
    /// The counts now.
    pub fn snapshot(&self) -> TallySnapshot {
        TallySnapshot {
            ready: self.ready.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            alive: self.alive.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            retried_sessions: self.retried_sessions.load(Ordering::Relaxed),
            first_ready_us: self.first_ready_us.load(Ordering::Relaxed),
            last_ready_us: self.last_ready_us.load(Ordering::Relaxed),
        }
    }

    /// Replaces the counts (a run whose sessions live in worker processes mirrors their sum).
    pub fn store(&self, s: &TallySnapshot) {
        self.ready.store(s.ready, Ordering::Relaxed);
        self.failed.store(s.failed, Ordering::Relaxed);
        self.alive.store(s.alive, Ordering::Relaxed);
        self.retries.store(s.retries, Ordering::Relaxed);
        self.retried_sessions
            .store(s.retried_sessions, Ordering::Relaxed);
        self.first_ready_us
            .store(s.first_ready_us, Ordering::Relaxed);
        self.last_ready_us.store(s.last_ready_us, Ordering::Relaxed);
    }

    pub fn settled(&self) -> u64 {
        self.ready.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    fn mark_ready(&self, now_us: u64) {
        let _ = self.first_ready_us.compare_exchange(
            0,
            now_us.saturating_add(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.last_ready_us.fetch_max(now_us, Ordering::Relaxed);
    }

    /// When the first session became READY (µs on the recorder's clock).
    pub fn first_ready_us(&self) -> Option<u64> {
        self.first_ready_us.load(Ordering::Relaxed).checked_sub(1)
    }

    /// When the latest session became READY (µs on the recorder's clock).
    pub fn last_ready_us(&self) -> Option<u64> {
        self.first_ready_us()
            .map(|_| self.last_ready_us.load(Ordering::Relaxed))
    }

    /// The identify-storm figures of a run whose sessions started opening at `opened_us`:
    /// retries, first READY and (when every one of `n` sessions got there) time to all READY.
    pub fn storm_figures(&self, opened_us: u64, n: u64, figures: &mut BTreeMap<String, f64>) {
        let secs = |us: u64| us.saturating_sub(opened_us) as f64 / 1e6;
        figures.insert(
            "identify_retries".into(),
            self.retries.load(Ordering::Relaxed) as f64,
        );
        figures.insert(
            "sessions_retried".into(),
            self.retried_sessions.load(Ordering::Relaxed) as f64,
        );
        if let Some(first) = self.first_ready_us() {
            figures.insert("first_ready_secs".into(), secs(first));
        }
        if self.ready.load(Ordering::Relaxed) >= n
            && let Some(last) = self.last_ready_us()
        {
            figures.insert("all_ready_secs".into(), secs(last));
        }
    }
}

/// Everything a session needs.
#[derive(Clone)]
pub struct Ctx {
    pub url: String,
    pub intents: u64,
    pub recorder: Recorder,
    pub tally: Arc<Tally>,
    pub stop: watch::Receiver<bool>,
    /// How a failed attempt to reach READY is retried.
    pub retry: RetryPolicy,
    /// Ask for `compress=zlib-stream` and inflate what arrives.
    pub zlib_stream: bool,
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An identified (or resumed) session's connection and what it needs to resume later.
pub struct Identified {
    pub ws: Ws,
    /// The connection's inflate stream when it uses zlib-stream.
    pub inflate: Option<Box<Inflater>>,
    pub heartbeat: Duration,
    pub session_id: String,
    /// READY's `resume_gateway_url` (no query string), where a RESUME goes.
    pub resume_url: String,
    /// The last sequence number received.
    pub seq: Option<u64>,
}

/// What a running session can be told to do besides stopping (the soak's churn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Close with 1000 (the session ends on the server) and IDENTIFY anew.
    Reconnect,
    /// Drop the socket without a close frame and RESUME on `resume_gateway_url`.
    Resume,
}

/// How [`hold`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    /// The run told the session to stop; it closed with 1000.
    Stopped,
    /// The server closed or dropped the connection (or sent RECONNECT / INVALID_SESSION).
    Dropped,
    /// A command arrived; the connection is untouched and the caller acts on it.
    Command(Cmd),
}

/// Opens `tokens.len()` sessions at `rate` per second (one task each) and returns their
/// handles; sessions run until `ctx.stop` turns true.
pub async fn open_sessions(
    ctx: &Ctx,
    tokens: Vec<String>,
    rate: f64,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::with_capacity(tokens.len());
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for token in tokens {
        if *ctx.stop.borrow() {
            break;
        }
        tick.tick().await;
        handles.push(tokio::spawn(session(ctx.clone(), token)));
    }
    handles
}

/// Waits until every session is READY or failed (or the deadline passes).
pub async fn wait_settled(tally: &Tally, n: u64, deadline: Instant) {
    while tally.settled() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Tells sessions to close and waits (bounded) for them.
pub async fn stop_sessions(stop: &watch::Sender<bool>, handles: Vec<tokio::task::JoinHandle<()>>) {
    let _ = stop.send(true);
    let all = futures::future::join_all(handles);
    let _ = tokio::time::timeout(Duration::from_secs(20), all).await;
}

async fn session(ctx: Ctx, token: String) {
    let Some(mut s) = identify(&ctx, &token).await else {
        ctx.tally.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    ctx.tally.ready.fetch_add(1, Ordering::Relaxed);
    ctx.tally.mark_ready(ctx.recorder.now_us());
    ctx.tally.alive.fetch_add(1, Ordering::Relaxed);
    let end = hold(&ctx, &mut s, None).await;
    ctx.tally.alive.fetch_sub(1, Ordering::Relaxed);
    if end == HoldEnd::Dropped {
        ctx.recorder.count("session_dropped", 1);
    }
}

/// Connects and identifies, retrying as discord.js does ([`RetryPolicy`]), until READY and
/// the GUILD_CREATEs it announces. Records the `identify` latency from the first attempt
/// (retries included) and counts retries by cause; `None` when a fatal close ended it, the
/// attempts ran out or the run was told to stop.
pub async fn identify(ctx: &Ctx, token: &str) -> Option<Identified> {
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        let result = match tokio::time::timeout(IDENTIFY_TIMEOUT, handshake(ctx, token)).await {
            Ok(r) => r,
            Err(_) => Err(AttemptError::Timeout),
        };
        let err = match result {
            Ok(s) => {
                ctx.recorder.latency(
                    "identify",
                    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                );
                if attempt > 1 {
                    ctx.tally.retried_sessions.fetch_add(1, Ordering::Relaxed);
                }
                return Some(s);
            }
            Err(e) => e,
        };
        if *ctx.stop.borrow() {
            return None;
        }
        if !ctx.retry.again(attempt, &err) {
            tracing::debug!(error = %err, attempt, "session failed to identify");
            ctx.recorder.count(
                if err.retryable() {
                    "identify_gave_up"
                } else {
                    "identify_fatal"
                },
                1,
            );
            return None;
        }
        ctx.recorder.count(err.kind(), 1);
        ctx.tally.retries.fetch_add(1, Ordering::Relaxed);
        let wait = ctx.retry.delay(attempt, rand::random::<f64>());
        let mut stop = ctx.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = super::stopped(&mut stop) => return None,
        }
        attempt += 1;
    }
}

/// One attempt: connect, HELLO, IDENTIFY, READY and one GUILD_CREATE per guild READY lists.
async fn handshake(ctx: &Ctx, token: &str) -> Result<Identified, AttemptError> {
    let (mut ws, mut inflate, heartbeat) = connect(&ctx.url, ctx.zlib_stream).await?;
    let identify = json!({"op": 2, "d": {
        "token": token,
        "intents": ctx.intents,
        "properties": {"os": "linux", "browser": "accord-loadgen", "device": "accord-loadgen"},
        "compress": false,
        "large_threshold": 50,
    }});
    ws.send(Message::Text(identify.to_string().into())).await?;
    let mut waiting_guilds: Option<usize> = None;
    let mut session_id = String::new();
    let mut resume_url = String::new();
    let mut seq = None;
    loop {
        let v = next_handshake_frame(&mut ws, &mut inflate, &mut seq).await?;
        match (v["op"].as_u64(), v["t"].as_str()) {
            (Some(0), Some("READY")) => {
                waiting_guilds = Some(v["d"]["guilds"].as_array().map_or(0, |g| g.len()));
                session_id = v["d"]["session_id"].as_str().unwrap_or_default().into();
                resume_url = v["d"]["resume_gateway_url"]
                    .as_str()
                    .unwrap_or_default()
                    .into();
            }
            (Some(0), Some("GUILD_CREATE")) => {
                if let Some(n) = &mut waiting_guilds {
                    *n = n.saturating_sub(1);
                }
            }
            _ => {}
        }
        if waiting_guilds == Some(0) {
            return Ok(Identified {
                ws,
                inflate,
                heartbeat,
                session_id,
                resume_url,
                seq,
            });
        }
    }
}

/// Connects and reads HELLO; returns the socket and the heartbeat interval.
async fn connect(
    url: &str,
    zlib_stream: bool,
) -> Result<(Ws, Option<Box<Inflater>>, Duration), AttemptError> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    // Anything failing before the upgrade completes is a failed connect (refused, reset, an
    // HTTP error answer), whatever tungstenite calls it.
    let url = if zlib_stream {
        format!("{url}&compress=zlib-stream")
    } else {
        url.to_string()
    };
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| AttemptError::Connect(e.to_string()))?;
    let mut inflate = zlib_stream.then(Box::<Inflater>::default);
    let hello = next_json(&mut ws, &mut inflate).await?;
    if hello["op"] != 10 {
        return Err(AttemptError::Protocol(format!(
            "expected HELLO, got {hello}"
        )));
    }
    let interval = hello["d"]["heartbeat_interval"].as_u64().unwrap_or(41_250);
    Ok((ws, inflate, Duration::from_millis(interval.max(100))))
}

/// Drops the connection without a close frame (as a network failure would) and RESUMEs on
/// the session's `resume_gateway_url`: the events missed meanwhile are replayed, then RESUMED.
/// Returns the resumed session and how many events were replayed.
pub async fn drop_and_resume(
    ctx: &Ctx,
    token: &str,
    s: Identified,
) -> Result<(Identified, u64), AttemptError> {
    let Identified {
        ws,
        session_id,
        resume_url,
        mut seq,
        ..
    } = s;
    // No close frame: the server parks the session for its resume window.
    drop(ws);
    let base = if resume_url.is_empty() {
        ctx.url.split('?').next().unwrap_or_default().to_string()
    } else {
        resume_url.clone()
    };
    let url = format!("{}/?v=10&encoding=json", base.trim_end_matches('/'));
    let (mut ws, mut inflate, heartbeat) = connect(&url, ctx.zlib_stream).await?;
    let resume = json!({"op": 6, "d": {
        "token": token, "session_id": session_id, "seq": seq,
    }});
    ws.send(Message::Text(resume.to_string().into())).await?;
    let mut replayed = 0;
    loop {
        let v = next_handshake_frame(&mut ws, &mut inflate, &mut seq).await?;
        match (v["op"].as_u64(), v["t"].as_str()) {
            (Some(0), Some("RESUMED")) => break,
            (Some(0), _) => replayed += 1,
            _ => {}
        }
    }
    let resumed = Identified {
        ws,
        inflate,
        heartbeat,
        session_id,
        resume_url,
        seq,
    };
    Ok((resumed, replayed))
}

/// The next payload during IDENTIFY or RESUME, with the sequence number noted and the control
/// ops handled as discord.js does: INVALID_SESSION and RECONNECT end the attempt, a heartbeat
/// request is answered at once.
async fn next_handshake_frame(
    ws: &mut Ws,
    inflate: &mut Option<Box<Inflater>>,
    seq: &mut Option<u64>,
) -> Result<Value, AttemptError> {
    loop {
        let v = next_json(ws, inflate).await?;
        if let Some(s) = v["s"].as_u64() {
            *seq = Some(s);
        }
        match v["op"].as_u64() {
            Some(9) => return Err(AttemptError::InvalidSession),
            Some(7) => return Err(AttemptError::Reconnect),
            Some(1) => {
                ws.send(Message::Text(r#"{"op":1,"d":null}"#.into()))
                    .await?;
            }
            _ => return Ok(v),
        }
    }
}

async fn next_json(
    ws: &mut Ws,
    inflate: &mut Option<Box<Inflater>>,
) -> Result<Value, AttemptError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str())
                    .map_err(|e| AttemptError::Protocol(e.to_string()));
            }
            Some(Ok(Message::Binary(b))) => {
                let bytes = match inflate {
                    Some(z) => z.inflate(&b).map_err(AttemptError::Protocol)?,
                    None => &b[..],
                };
                return serde_json::from_slice(bytes)
                    .map_err(|e| AttemptError::Protocol(e.to_string()));
            }
            Some(Ok(Message::Close(f))) => {
                // A close frame without a code is 1005 ("no status received").
                return Err(AttemptError::Closed(f.map_or(1005, |f| u16::from(f.code))));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => return Err(AttemptError::Abnormal),
        }
    }
}

/// Heartbeats and event accounting until the run stops, the server drops the session, or
/// (when `cmds` is given) a command arrives.
pub async fn hold(
    ctx: &Ctx,
    s: &mut Identified,
    mut cmds: Option<&mut mpsc::Receiver<Cmd>>,
) -> HoldEnd {
    let mut stop = ctx.stop.clone();
    let interval = s.heartbeat;
    // First beat at a random point of the interval, as Discord asks (spreads the load).
    let jitter = interval.mul_f64(rand::random::<f64>());
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + jitter, interval);
    let ws = &mut s.ws;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(b))) => {
                        let bytes = match s.inflate.as_deref_mut() {
                            Some(z) => match z.inflate(&b) {
                                Ok(bytes) => bytes,
                                Err(_) => return HoldEnd::Dropped,
                            },
                            None => &b[..],
                        };
                        match std::str::from_utf8(bytes) {
                            Ok(text) => text.to_owned().into(),
                            Err(_) => continue,
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return dropped_or_stopped(ctx),
                    Some(Ok(_)) => continue,
                };
                let raw = text.as_str();
                if let Some(n) = field_u64(raw, "\"s\":") {
                    s.seq = Some(n);
                }
                match field_u64(raw, "\"op\":") {
                    Some(0) => observe(ctx, raw),
                    Some(1) if send_heartbeat(ws, s.seq).await.is_err() => {
                        return dropped_or_stopped(ctx);
                    }
                    Some(7) | Some(9) => return HoldEnd::Dropped,
                    _ => {}
                }
            }
            _ = beat.tick() => {
                if send_heartbeat(ws, s.seq).await.is_err() {
                    return dropped_or_stopped(ctx);
                }
            }
            Some(cmd) = next_cmd(&mut cmds) => return HoldEnd::Command(cmd),
            _ = super::stopped(&mut stop) => {
                close_normally(ws).await;
                return HoldEnd::Stopped;
            }
        }
    }
}

/// Closes with 1000: the session ends on the server at once (as discord.js's `destroy()`
/// does). A close frame without a code would leave it parked for RESUME for the server's
/// resume window, holding its memory.
pub async fn close_normally(ws: &mut Ws) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(Some(frame))).await;
}

fn dropped_or_stopped(ctx: &Ctx) -> HoldEnd {
    if *ctx.stop.borrow() {
        HoldEnd::Stopped
    } else {
        HoldEnd::Dropped
    }
}

/// The next command, or never when there is no command channel (or it is closed).
async fn next_cmd(cmds: &mut Option<&mut mpsc::Receiver<Cmd>>) -> Option<Cmd> {
    match cmds {
        Some(rx) => match rx.recv().await {
            Some(c) => Some(c),
            None => futures::future::pending().await,
        },
        None => futures::future::pending().await,
    }
}

async fn send_heartbeat(
    ws: &mut Ws,
    seq: Option<u64>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let d = seq.map_or_else(|| "null".to_string(), |s| s.to_string());
    ws.send(Message::Text(format!(r#"{{"op":1,"d":{d}}}"#).into()))
        .await
}

/// Counts a dispatch; message events with a marker also give a delivery latency.
fn observe(ctx: &Ctx, raw: &str) {
    let Some(name) = event_name(raw) else { return };
    let now = ctx.recorder.now_us();
    match name {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" => {
            if let Some((_, sent)) = parse_marker(raw) {
                let key = if name == "MESSAGE_CREATE" {
                    "delivered_create"
                } else {
                    "delivered_update"
                };
                ctx.recorder.latency(key, now.saturating_sub(sent));
            }
        }
        "TYPING_START" => ctx.recorder.count("delivered_typing", 1),
        "MESSAGE_REACTION_ADD" => ctx.recorder.count("delivered_reaction", 1),
        _ => {}
    }
}

/// The value of the top-level `"t"` of a dispatch frame.
fn event_name(raw: &str) -> Option<&str> {
    let at = raw.find("\"t\":\"")? + 5;
    let rest = raw.get(at..)?;
    rest.get(..rest.find('"')?)
}

/// A small unsigned number after `key` (first occurrence), e.g. `"op":` or `"s":`.
fn field_u64(raw: &str, key: &str) -> Option<u64> {
    let at = raw.find(key)? + key.len();
    let digits: &str = raw.get(at..)?.trim_start();
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits.get(..end)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_frames() {
        let f = r#"{"t":"MESSAGE_CREATE","s":17,"op":0,"d":{"content":"lg 1 2","t":"x"}}"#;
        assert_eq!(event_name(f), Some("MESSAGE_CREATE"));
        assert_eq!(field_u64(f, "\"op\":"), Some(0));
        assert_eq!(field_u64(f, "\"s\":"), Some(17));
        assert_eq!(field_u64(r#"{"op": 11}"#, "\"op\":"), Some(11));
        assert_eq!(field_u64(r#"{"op":0,"s":null}"#, "\"s\":"), None);
    }
}
