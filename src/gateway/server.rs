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
use super::compress::Compression;
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
                    let max = app.config().get().gateway.max_payload_bytes;
                    let connection = Connection::new(ws, compression, max);
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

/// HELLO, then wait for IDENTIFY or RESUME (heartbeats are answered meanwhile), for at most
/// `gateway.identify_timeout_ms`: heartbeating alone does not keep a connection that never
/// identifies. `tag` is the socket's connection entry, marked authenticated once a session
/// takes the socket.
pub async fn handshake(app: App, mut connection: Connection, tag: Option<crate::net::ConnTag>) {
    let limits = limits(&app);
    let identify_by = tokio::time::Instant::now()
        + Duration::from_millis(app.config().get().gateway.identify_timeout_ms);
    let authenticated = || {
        if let Some(tag) = &tag {
            tag.authenticated();
        }
    };
    let mut machine = SessionMachine::new(limits, now());
    if connection
        .send(&payload::hello(limits.heartbeat_interval.as_millis() as u64))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let deadline = tokio::time::Instant::from_std(machine.heartbeat_deadline_at());
        let inbound = tokio::select! {
            i = connection.recv() => i,
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(Action::Close(code)) = machine.check_heartbeat(now()) {
                    connection.close(code).await;
                    return;
                }
                continue;
            }
            _ = tokio::time::sleep_until(identify_by),
                if machine.phase() == SessionPhase::AwaitingIdentify =>
            {
                tracing::debug!("no IDENTIFY in time; closing");
                let _ = machine.close(CloseCode::SessionTimedOut);
                connection.close(CloseCode::SessionTimedOut).await;
                return;
            }
        };
        let frame = match inbound {
            Inbound::Message(f) => f,
            Inbound::Ping(p) => {
                if let Some(Action::Close(code)) = machine.on_ping(now()) {
                    connection.close(code).await;
                    return;
                }
                let _ = connection.pong(p).await;
                continue;
            }
            Inbound::TooLarge => {
                connection.close(CloseCode::DecodeError).await;
                return;
            }
            Inbound::Closed(_) => return,
        };
        match machine.on_frame(&frame, now()) {
            Action::HeartbeatAck if connection.send(&payload::heartbeat_ack()).await.is_err() => {
                return;
            }
            Action::Identify { identify, intents } => {
                if identify.compress == Some(true) {
                    connection.enable_payload_compression();
                }
                match session::identify(&app, &identify, intents).await {
                    Ok(ready) => {
                        if machine.ready().is_err() {
                            connection.close(CloseCode::UnknownError).await;
                            return;
                        }
                        authenticated();
                        session::run(app, connection, machine, ready).await;
                        return;
                    }
                    Err(code) => {
                        connection.close(code).await;
                        return;
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
                        return;
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
                        return;
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
                        return;
                    }
                }
            }
            Action::Close(code) => {
                connection.close(code).await;
                return;
            }
            _ => {}
        }
    }
}
