//! The gateway side: one task per session — connect, HELLO, IDENTIFY, READY (and the
//! GUILD_CREATEs it announces), then heartbeats and event accounting until told to stop.
//!
//! Events are not fully parsed: a session finds the event name and, for message events, the
//! latency marker (`lg <seq> <µs>`) by substring search, so the client's CPU goes to the
//! socket rather than to JSON trees.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{Recorder, parse_marker};

pub const GUILDS: u64 = 1;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
pub const MESSAGE_CONTENT: u64 = 1 << 15;

/// How long a session may take from connect to READY (+ GUILD_CREATEs).
const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(60);

/// Session counts shared by a run's sessions and its driver.
#[derive(Default)]
pub struct Tally {
    /// Sessions that reached READY (and their GUILD_CREATEs).
    pub ready: AtomicU64,
    /// Sessions that never got there (connect error, closed, timeout).
    pub failed: AtomicU64,
    /// Sessions open right now (ready and not closed).
    pub alive: AtomicU64,
}

impl Tally {
    pub fn settled(&self) -> u64 {
        self.ready.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
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
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

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
    let started = Instant::now();
    let mut ws = match tokio::time::timeout(IDENTIFY_TIMEOUT, handshake(&ctx, &token)).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "session failed to identify");
            fail(&ctx, "identify_failed");
            return;
        }
        Err(_) => {
            fail(&ctx, "identify_timeout");
            return;
        }
    };
    let (ws_conn, interval) = &mut ws;
    ctx.recorder.latency(
        "identify",
        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    ctx.tally.ready.fetch_add(1, Ordering::Relaxed);
    ctx.tally.alive.fetch_add(1, Ordering::Relaxed);
    let dropped = hold(&ctx, ws_conn, *interval).await;
    ctx.tally.alive.fetch_sub(1, Ordering::Relaxed);
    if dropped {
        ctx.recorder.count("session_dropped", 1);
    }
}

fn fail(ctx: &Ctx, what: &'static str) {
    ctx.tally.failed.fetch_add(1, Ordering::Relaxed);
    ctx.recorder.count(what, 1);
}

/// Connect, HELLO, IDENTIFY, READY and one GUILD_CREATE per guild READY lists.
async fn handshake(ctx: &Ctx, token: &str) -> anyhow::Result<(Ws, Duration)> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(ctx.url.as_str(), Some(config), true).await?;
    let hello = next_json(&mut ws).await?;
    anyhow::ensure!(hello["op"] == 10, "expected HELLO, got {hello}");
    let interval = hello["d"]["heartbeat_interval"].as_u64().unwrap_or(41_250);
    let identify = json!({"op": 2, "d": {
        "token": token,
        "intents": ctx.intents,
        "properties": {"os": "linux", "browser": "accord-loadgen", "device": "accord-loadgen"},
        "compress": false,
        "large_threshold": 50,
    }});
    ws.send(Message::Text(identify.to_string().into())).await?;
    let mut waiting_guilds: Option<usize> = None;
    loop {
        let v = next_json(&mut ws).await?;
        match (v["op"].as_u64(), v["t"].as_str()) {
            (Some(0), Some("READY")) => {
                waiting_guilds = Some(v["d"]["guilds"].as_array().map_or(0, |g| g.len()));
            }
            (Some(0), Some("GUILD_CREATE")) => {
                if let Some(n) = &mut waiting_guilds {
                    *n = n.saturating_sub(1);
                }
            }
            (Some(9), _) => anyhow::bail!("invalid session"),
            (Some(1), _) => {
                ws.send(Message::Text(r#"{"op":1,"d":null}"#.into()))
                    .await?;
            }
            _ => {}
        }
        if waiting_guilds == Some(0) {
            return Ok((ws, Duration::from_millis(interval.max(100))));
        }
    }
}

async fn next_json(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
            Some(Ok(Message::Binary(b))) => return Ok(serde_json::from_slice(&b)?),
            Some(Ok(Message::Close(f))) => anyhow::bail!("closed: {f:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("connection ended"),
        }
    }
}

/// Heartbeats and event accounting. Returns true when the server dropped the session.
async fn hold(ctx: &Ctx, ws: &mut Ws, interval: Duration) -> bool {
    let mut stop = ctx.stop.clone();
    // First beat at a random point of the interval, as Discord asks (spreads the load).
    let jitter = interval.mul_f64(rand::random::<f64>());
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + jitter, interval);
    let mut seq: Option<u64> = None;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                        Ok(s) => s.into(),
                        Err(_) => continue,
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return !*ctx.stop.borrow(),
                    Some(Ok(_)) => continue,
                };
                let raw = text.as_str();
                if let Some(s) = field_u64(raw, "\"s\":") {
                    seq = Some(s);
                }
                match field_u64(raw, "\"op\":") {
                    Some(0) => observe(ctx, raw),
                    Some(1) if send_heartbeat(ws, seq).await.is_err() => {
                        return !*ctx.stop.borrow();
                    }
                    Some(7) | Some(9) => return true,
                    _ => {}
                }
            }
            _ = beat.tick() => {
                if send_heartbeat(ws, seq).await.is_err() {
                    return !*ctx.stop.borrow();
                }
            }
            _ = super::stopped(&mut stop) => {
                let _ = ws.close(None).await;
                return false;
            }
        }
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
