//! Accepting gateway connections on `/` (`?v=10&encoding=json&compress=zlib-stream`): the
//! WebSocket upgrade, HELLO, and the handshake that ends in a new session (IDENTIFY) or in
//! handing the connection to the session it resumes (RESUME).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use dashmap::DashMap;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::close::CloseCode;
use super::compress::{Compression, DeflateSize};
use super::connection::{Connection, Inbound};
use super::payload::{self, Resume};
use super::session;
use super::state::{Action, SessionLimits, SessionMachine, SessionPhase};
use crate::app::App;
use crate::error::ApiError;

/// A request to attach a connection to a parked session; the connection comes back when the
/// resume is refused, so the client can IDENTIFY on it.
pub struct Attach {
    pub connection: Connection,
    pub machine: SessionMachine,
    pub resume: Resume,
    pub refused: oneshot::Sender<(Connection, SessionMachine)>,
}

/// Gateway-wide state: sessions that may be resumed, by their wire `session_id`.
#[derive(Default)]
pub struct Gateway {
    /// Boxed: a tokio channel allocates its first block of 32 slots up front, and an `Attach`
    /// slot is hundreds of bytes — 32 of them per idle session was ~10 KiB for nothing.
    pub resumable: DashMap<String, mpsc::Sender<Box<Attach>>>,
    next_key: AtomicU64,
}

impl Gateway {
    pub fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[derive(Debug, Deserialize)]
struct GatewayQuery {
    v: Option<String>,
    encoding: Option<String>,
    compress: Option<String>,
}

/// `GET /`: the gateway WebSocket, or instance info for a plain HTTP request.
pub async fn root(State(app): State<App>, request: Request) -> Response {
    if !fastwebsockets::upgrade::is_upgrade_request(&request) {
        return crate::api::routes::policies::instance(State(app))
            .await
            .into_response();
    }
    let query: GatewayQuery = match serde_urlencoded_query(request.uri().query()) {
        Some(q) => q,
        None => return ApiError::NotFound.into_response(),
    };
    if query.encoding.as_deref().is_some_and(|e| e != "json") {
        // ETF is not supported; JSON is the default and what every listed client can use.
        return ApiError::coded(axum::http::StatusCode::BAD_REQUEST, 0, "invalid-form-body")
            .into_response();
    }
    let compression = match Compression::from_query(query.compress.as_deref()) {
        Ok(c) => c,
        Err(_) => {
            return ApiError::coded(axum::http::StatusCode::BAD_REQUEST, 0, "invalid-form-body")
                .into_response();
        }
    };
    // Discord serves v6..v10 (older ones are decommissioned): anything else is closed with
    // 4012 right after the upgrade, as Discord does.
    let version_ok = query
        .v
        .as_deref()
        .is_none_or(|v| v.parse::<u8>().is_ok_and(|v| (6..=10).contains(&v)));
    let mut request = request;
    // The socket's place among the unauthenticated connections, given up at READY/RESUMED.
    let tag = request.extensions_mut().remove::<crate::net::ConnTag>();
    let (response, upgrade) = match fastwebsockets::upgrade::upgrade(&mut request) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "bad websocket upgrade");
            return ApiError::NotFound.into_response();
        }
    };
    // Its own root span: the HTTP request's span ends with the upgrade response.
    let span = tracing::debug_span!(parent: None, "gateway");
    tokio::spawn(
        async move {
            match upgrade.await {
                Ok(ws) => {
                    let config = app.config().get();
                    let deflate = DeflateSize {
                        level: config.gateway.zlib_level,
                        window_bits: config.gateway.zlib_window_bits,
                        mem_level: config.gateway.zlib_mem_level,
                    };
                    let max = config.gateway.max_payload_bytes;
                    drop(config);
                    let connection = Connection::new(ws, compression, deflate, max);
                    if !version_ok {
                        connection.close(CloseCode::InvalidApiVersion).await;
                        return;
                    }
                    handshake(app, connection, tag).await;
                }
                Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
            }
        }
        .instrument(span),
    );
    response.into_response()
}

fn serde_urlencoded_query(q: Option<&str>) -> Option<GatewayQuery> {
    let mut out = GatewayQuery {
        v: None,
        encoding: None,
        compress: None,
    };
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "v" => out.v = Some(v.to_string()),
            "encoding" => out.encoding = Some(v.to_string()),
            "compress" => out.compress = Some(v.to_string()),
            _ => {}
        }
    }
    Some(out)
}

pub fn limits(app: &App) -> SessionLimits {
    let c = app.config().get();
    SessionLimits {
        heartbeat_interval: Duration::from_millis(c.gateway.heartbeat_interval_ms),
        max_frames_per_window: c.gateway.max_payloads_per_window,
        rate_window: Duration::from_secs(c.gateway.rate_window_secs),
    }
}

pub fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// HELLO, IDENTIFY or RESUME, then the session for an IDENTIFY. `tag` is the socket's
/// connection entry, marked authenticated once a session takes the socket.
///
/// The negotiation runs in its own (boxed, short-lived) future: this task is allocated at the
/// size of its largest state and lives as long as the session, so nothing of the handshake
/// (IDENTIFY's payload, the resume hand-off) may stay inline beside the session's state.
pub async fn handshake(app: App, connection: Connection, tag: Option<crate::net::ConnTag>) {
    if let Some((connection, machine, ready)) =
        Box::pin(negotiate(&app, connection, tag.as_ref())).await
    {
        session::run(app, connection, machine, ready).await;
    }
}

/// HELLO, then wait for IDENTIFY or RESUME (heartbeats are answered meanwhile), for at most
/// `gateway.identify_timeout_ms`: heartbeating alone does not keep a connection that never
/// identifies. Returns what a new session needs after a successful IDENTIFY; `None` when the
/// connection was closed or handed to the session it resumed.
async fn negotiate(
    app: &App,
    mut connection: Connection,
    tag: Option<&crate::net::ConnTag>,
) -> Option<(Connection, SessionMachine, session::Ready)> {
    let limits = limits(app);
    let identify_by = tokio::time::Instant::now()
        + Duration::from_millis(app.config().get().gateway.identify_timeout_ms);
    let authenticated = || {
        if let Some(tag) = tag {
            tag.authenticated();
        }
    };
    let mut machine = SessionMachine::new(limits, now());
    if connection
        .send(&payload::hello(limits.heartbeat_interval.as_millis() as u64))
        .await
        .is_err()
    {
        return None;
    }
    loop {
        let deadline = tokio::time::Instant::from_std(machine.heartbeat_deadline_at());
        let inbound = tokio::select! {
            i = connection.recv() => i,
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(Action::Close(code)) = machine.check_heartbeat(now()) {
                    connection.close(code).await;
                    return None;
                }
                continue;
            }
            _ = tokio::time::sleep_until(identify_by),
                if machine.phase() == SessionPhase::AwaitingIdentify =>
            {
                tracing::debug!("no IDENTIFY in time; closing");
                let _ = machine.close(CloseCode::SessionTimedOut);
                connection.close(CloseCode::SessionTimedOut).await;
                return None;
            }
        };
        let frame = match inbound {
            Inbound::Message(f) => f,
            Inbound::Ping(p) => {
                if let Some(Action::Close(code)) = machine.on_ping(now()) {
                    connection.close(code).await;
                    return None;
                }
                let _ = connection.pong(p).await;
                continue;
            }
            Inbound::TooLarge => {
                connection.close(CloseCode::DecodeError).await;
                return None;
            }
            Inbound::Closed(_) => return None,
        };
        match machine.on_frame(&frame, now()) {
            Action::HeartbeatAck if connection.send(&payload::heartbeat_ack()).await.is_err() => {
                return None;
            }
            Action::Identify { identify, intents } => {
                if identify.compress == Some(true) {
                    connection.enable_payload_compression();
                }
                match session::identify(app, &identify, intents).await {
                    Ok(ready) => {
                        if machine.ready().is_err() {
                            connection.close(CloseCode::UnknownError).await;
                            return None;
                        }
                        authenticated();
                        return Some((connection, machine, ready));
                    }
                    Err(code) => {
                        connection.close(code).await;
                        return None;
                    }
                }
            }
            Action::Resume(resume) => {
                let target = app
                    .gateway
                    .resumable
                    .get(&resume.session_id)
                    .map(|s| s.clone());
                let Some(target) = target else {
                    let _ = machine.resume_failed();
                    if connection
                        .send(&payload::invalid_session(false))
                        .await
                        .is_err()
                    {
                        return None;
                    }
                    continue;
                };
                let (refused_tx, refused_rx) = oneshot::channel();
                let attach = Box::new(Attach {
                    connection,
                    machine,
                    resume,
                    refused: refused_tx,
                });
                if let Err(mpsc::error::SendError(a)) = target.send(attach).await {
                    // The session ended between lookup and attach.
                    connection = a.connection;
                    machine = a.machine;
                    let _ = machine.resume_failed();
                    if connection
                        .send(&payload::invalid_session(false))
                        .await
                        .is_err()
                    {
                        return None;
                    }
                    continue;
                }
                match refused_rx.await {
                    // Refused: the session sent INVALID_SESSION; the client may IDENTIFY here.
                    Ok((c, m)) => {
                        connection = c;
                        machine = m;
                    }
                    // Accepted: the session owns the connection now.
                    Err(_) => {
                        authenticated();
                        return None;
                    }
                }
            }
            Action::Close(code) => {
                connection.close(code).await;
                return None;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    fn future_size3<A, B, C, F: Future>(_: fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    fn future_size4<A, B, C, D, F: Future>(_: fn(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// A gateway connection's task is allocated at the size of its largest state and lives as
    /// long as the session: idle-session memory depends on IDENTIFY, RESUME and the rare ops
    /// being boxed rather than inline. (The bound holds for debug builds, whose futures are the
    /// larger ones.)
    #[test]
    fn a_connections_task_stays_small() {
        let handshake = future_size3(super::handshake);
        let run = future_size4(super::session::run);
        eprintln!(
            "handshake future {handshake} B, session future {run} B (Ready {} B, SessionMachine {} B, Connection {} B)",
            std::mem::size_of::<super::session::Ready>(),
            std::mem::size_of::<super::SessionMachine>(),
            std::mem::size_of::<super::Connection>(),
        );
        assert!(handshake <= 4096, "handshake future is {handshake} B");
        assert!(run <= 4096, "session future is {run} B");
    }
}
