//! The baseline: a minimal raw broadcast server on hyper + fastwebsockets that speaks just
//! enough of the protocol for `loadgen sessions`, `fanout` and `rest` to run against it
//! unchanged — HELLO, IDENTIFY → READY, heartbeat ACKs, and REST answers shaped like Discord's
//! for the setup calls. `POST /channels/{id}/messages` encodes one MESSAGE_CREATE and hands the
//! same bytes to every identified socket (a tokio broadcast channel). No auth, no storage, no
//! permissions, no sequence numbers: the ceiling that Accord's figures are a ratio of.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use bytes::Bytes;
use fastwebsockets::{FragmentCollectorRead, Frame, OpCode, Payload};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Listen address (loopback).
    #[arg(long, default_value = "127.0.0.1:3101")]
    pub listen: String,
}

/// A running baseline server.
pub struct Baseline {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Baseline {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct State {
    events: broadcast::Sender<Bytes>,
    next_id: AtomicU64,
    stop: watch::Receiver<bool>,
}

impl State {
    fn id(&self) -> String {
        (self.next_id.fetch_add(1, Ordering::Relaxed) + 1_000_000).to_string()
    }
}

/// Binds and serves in the background.
pub async fn start(listen: &str) -> anyhow::Result<Baseline> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the baseline listens on loopback only"
    );
    let (stop, stop_rx) = watch::channel(false);
    let state = Arc::new(State {
        events: broadcast::channel(16_384).0,
        next_id: AtomicU64::new(0),
        stop: stop_rx,
    });
    let task = tokio::spawn(accept_loop(listener, state));
    Ok(Baseline { addr, stop, task })
}

/// `accord loadgen baseline-server`: serves until Ctrl-C.
pub async fn serve_forever(args: Args) -> anyhow::Result<()> {
    let server = start(&args.listen).await?;
    println!(
        "baseline broadcast server on {} (gateway ws://{})",
        server.url(),
        server.addr
    );
    let _ = tokio::signal::ctrl_c().await;
    server.stop().await;
    Ok(())
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut stop = state.stop.clone();
    loop {
        let stream = tokio::select! {
            a = listener.accept() => match a {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "baseline accept failed");
                    continue;
                }
            },
            _ = super::stopped(&mut stop) => return,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

type Resp = Response<Full<Bytes>>;

fn json_response(status: StatusCode, body: &Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(state: Arc<State>, mut req: Request<Incoming>) -> Result<Resp, Infallible> {
    if fastwebsockets::upgrade::is_upgrade_request(&req) {
        return Ok(match fastwebsockets::upgrade::upgrade(&mut req) {
            Ok((response, upgrade)) => {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Ok(ws) = upgrade.await {
                        socket(state, ws).await;
                    }
                });
                response.map(|_| Full::new(Bytes::new()))
            }
            Err(_) => json_response(StatusCode::BAD_REQUEST, &json!({"code": 0})),
        });
    }
    let method = req.method().clone();
    let path = api_path(req.uri().path()).to_string();
    let body: Value = match req.into_body().collect().await {
        Ok(b) => serde_json::from_slice(&b.to_bytes()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let ok = StatusCode::OK;
    Ok(match (&method, parts.as_slice()) {
        (&Method::POST, ["auth", "register" | "login"]) => {
            json_response(ok, &json!({"token": format!("baseline.{}", state.id())}))
        }
        (&Method::GET, ["users", "@me"]) => json_response(
            ok,
            &json!({"id": state.id(), "username": "baseline", "discriminator": "0"}),
        ),
        (&Method::POST, ["guilds"]) => json_response(
            StatusCode::CREATED,
            &json!({"id": state.id(), "name": body["name"]}),
        ),
        (&Method::GET, ["guilds", g, "channels"]) => json_response(
            ok,
            &json!([{"id": format!("{g}1"), "type": 0, "name": "general", "guild_id": g}]),
        ),
        (&Method::POST, ["guilds", g, "channels"]) => json_response(
            StatusCode::CREATED,
            &json!({"id": state.id(), "type": 0, "name": body["name"], "guild_id": g}),
        ),
        (&Method::POST, ["channels", _, "invites"]) => {
            json_response(ok, &json!({"code": "baseline"}))
        }
        (&Method::POST, ["invites", code]) => json_response(ok, &json!({"code": code})),
        (&Method::GET, ["channels", _, "messages"]) => json_response(ok, &json!([])),
        (&Method::POST, ["channels", channel, "messages"]) => {
            let message = json!({
                "id": state.id(),
                "channel_id": channel,
                "content": body["content"],
                "author": {"id": "0", "username": "baseline", "discriminator": "0"},
                "type": 0,
            });
            let frame = json!({"t": "MESSAGE_CREATE", "s": null, "op": 0, "d": message});
            // No receivers is fine (nobody identified yet).
            let _ = state.events.send(Bytes::from(frame.to_string()));
            json_response(ok, &message)
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"message": "404: Not Found", "code": 0}),
        ),
    })
}

/// `/api`, `/api/v10/…` → the route part.
fn api_path(path: &str) -> &str {
    let p = path.strip_prefix("/api").unwrap_or(path);
    match p.strip_prefix("/v") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            rest.find('/').map_or("", |i| &rest[i..])
        }
        _ => p,
    }
}

type Io = TokioIo<hyper::upgrade::Upgraded>;

async fn socket(state: Arc<State>, mut ws: fastwebsockets::WebSocket<Io>) {
    ws.set_auto_close(false);
    ws.set_auto_pong(false);
    let (read, mut write) = ws.split(tokio::io::split);
    let (inbound_tx, mut inbound) = mpsc::channel::<Vec<u8>>(16);
    let reader = tokio::spawn(async move {
        let mut read = FragmentCollectorRead::new(read);
        loop {
            match read
                .read_frame::<_, std::io::Error>(&mut |_| async { Ok(()) })
                .await
            {
                Ok(f) if matches!(f.opcode, OpCode::Text | OpCode::Binary) => {
                    if inbound_tx.send(f.payload.to_vec()).await.is_err() {
                        return;
                    }
                }
                Ok(f) if f.opcode == OpCode::Close => return,
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let hello = br#"{"op":10,"s":null,"t":null,"d":{"heartbeat_interval":41250}}"#;
    if write
        .write_frame(Frame::text(Payload::Borrowed(hello)))
        .await
        .is_err()
    {
        reader.abort();
        return;
    }
    let mut events: Option<broadcast::Receiver<Bytes>> = None;
    let mut stop = state.stop.clone();
    loop {
        tokio::select! {
            m = inbound.recv() => {
                let Some(m) = m else { break };
                let op = serde_json::from_slice::<Value>(&m)
                    .ok()
                    .and_then(|v| v["op"].as_u64());
                let reply = match op {
                    Some(2) => {
                        events = Some(state.events.subscribe());
                        let id = state.id();
                        json!({"op": 0, "s": 1, "t": "READY", "d": {
                            "v": 10,
                            "user": {"id": id, "username": "baseline", "discriminator": "0",
                                "bot": false, "verified": true, "mfa_enabled": false, "flags": 0},
                            "guilds": [],
                            "session_id": format!("baseline-{id}"),
                            "resume_gateway_url": "ws://127.0.0.1",
                            "application": {"id": id, "flags": 0},
                        }})
                        .to_string()
                    }
                    Some(1) => r#"{"op":11,"s":null,"t":null,"d":null}"#.to_string(),
                    _ => continue,
                };
                if write.write_frame(Frame::text(Payload::Owned(reply.into_bytes()))).await.is_err() {
                    break;
                }
            }
            e = next_event(&mut events) => match e {
                Ok(bytes) => {
                    if write.write_frame(Frame::text(Payload::Borrowed(&bytes))).await.is_err() {
                        break;
                    }
                }
                // A socket that fell behind the broadcast buffer is closed, as Accord does.
                Err(_) => {
                    let _ = write.write_frame(Frame::close(4000, b"lagged")).await;
                    break;
                }
            },
            _ = super::stopped(&mut stop) => {
                let _ = write.write_frame(Frame::close(1001, b"")).await;
                break;
            }
        }
    }
    reader.abort();
}

async fn next_event(
    events: &mut Option<broadcast::Receiver<Bytes>>,
) -> Result<Bytes, broadcast::error::RecvError> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::api_path;

    #[test]
    fn strips_api_prefix_and_version() {
        assert_eq!(
            api_path("/api/v10/channels/1/messages"),
            "/channels/1/messages"
        );
        assert_eq!(api_path("/api/guilds"), "/guilds");
        assert_eq!(api_path("/api/v9"), "");
    }
}
