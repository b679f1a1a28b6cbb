//! Serving the HTTP listeners connection by connection, with the limits a hostile client meets
//! before any route runs: a cap on connections per IP and on connections that never
//! authenticate (checked at accept), a header-read timeout and an idle keep-alive limit (a clock
//! per connection), and a body-read deadline (a body wrapper, applied by the API's `limits`
//! middleware).
//!
//! `axum::serve` offers none of these: it sets no timer on hyper, so a client that sends half
//! its headers holds its socket forever. hyper's own `header_read_timeout` starts counting as
//! soon as a connection is idle, which makes it an idle limit and a header limit in one; the
//! clock here tells the two apart by watching for the first byte of the next request.

mod body;
mod limits;

pub use body::{BodyTimeout, DeadlineBody, is_body_timeout};
pub use limits::{
    ConnState, ConnTag, ConnectionStats, ConnectionTable, Cut, Refusal, mark_authenticated,
};

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tracing::Instrument;

use crate::config::LiveConfig;
use crate::error::ApiError;

/// The most a connection buffers: request headers larger than this are answered 431 and the
/// connection closed. hyper's default (~400 KiB) would let every unauthenticated connection
/// the cap allows hold that much in half-sent headers; 64 KiB is twice what common proxies
/// accept (nginx: 4 × 8 KiB) and more than any Discord client sends.
const MAX_BUFFER_BYTES: usize = 64 * 1024;

/// Serves `router` on `listener` until `stop` turns true, then stops accepting, lets in-flight
/// requests finish and returns when every connection is closed (upgraded WebSockets excepted:
/// the gateway says goodbye to those itself).
pub fn serve(
    listener: TcpListener,
    router: axum::Router,
    config: Arc<LiveConfig>,
    table: Arc<ConnectionTable>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<io::Result<()>> {
    tokio::spawn(async move {
        // Every connection task holds a receiver; `closed()` resolves when the last is gone.
        let (all_done, done) = watch::channel(());
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|s| *s) => break,
            };
            let (stream, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            };
            let admitted = table.admit(remote.ip(), &config.get().server);
            let state = match admitted {
                Ok(state) => state,
                Err(refusal) => {
                    tracing::debug!(%remote, ?refusal, "connection refused");
                    refuse(stream, refusal);
                    continue;
                }
            };
            let span = tracing::trace_span!(parent: None, "connection", %remote);
            tokio::spawn(
                serve_connection(
                    stream,
                    remote,
                    state,
                    router.clone(),
                    config.clone(),
                    stop.clone(),
                    done.clone(),
                )
                .instrument(span),
            );
        }
        drop(listener);
        drop(done);
        all_done.closed().await;
        Ok(())
    })
}

/// Errors of `accept` that concern one connection are skipped; the others (out of file
/// descriptors) would fail again at once, so the loop pauses instead of spinning.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed; pausing for 1 s");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}

/// Answers a connection over a limit with a Discord-style error and closes it, without
/// waiting for anything: the answer is written if the socket takes it at once.
fn refuse(stream: TcpStream, refusal: Refusal) {
    let (status, error) = match refusal {
        Refusal::PerIp => (
            "429 Too Many Requests",
            ApiError::RateLimited {
                retry_after: 1.0,
                global: true,
            },
        ),
        Refusal::Unauthenticated => (
            "503 Service Unavailable",
            ApiError::coded(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                0,
                "service-unavailable",
            ),
        ),
    };
    let body = error.body().to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // Whatever of the request already arrived is read first: closing a socket with unread
    // input sends a reset, which can make the client lose the answer.
    let mut scratch = [0u8; 4096];
    for _ in 0..4 {
        match stream.try_read(&mut scratch) {
            Ok(n) if n > 0 => continue,
            _ => break,
        }
    }
    let _ = stream.try_write(response.as_bytes());
    if let Ok(std) = stream.into_std() {
        let _ = std.shutdown(std::net::Shutdown::Write);
    }
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    state: Arc<ConnState>,
    router: axum::Router,
    config: Arc<LiveConfig>,
    mut stop: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
) {
    let io = TokioIo::new(TrackedIo {
        inner: stream,
        state: state.clone(),
    });
    let tag = ConnTag(state.clone());
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let router = router.clone();
        let in_flight = InFlight::start(tag.0.clone());
        request.extensions_mut().insert(ConnectInfo(remote));
        request.extensions_mut().insert(tag.clone());
        async move {
            let response = router.oneshot(request).await;
            // Busy until the body is sent: a large download on a slow link is not idleness.
            response
                .map(|r| r.map(|body| axum::body::Body::new(body::Guarded::new(body, in_flight))))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(MAX_BUFFER_BYTES)
        .serve_connection(io, service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    let mut check_at = tokio::time::Instant::now();
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = state.request_ended.notified() => {
                check_at = tokio::time::Instant::now();
            }
            _ = tokio::time::sleep_until(check_at) => {
                match state.check(&config.get().server) {
                    Ok(next) => check_at = tokio::time::Instant::from_std(next),
                    Err(cut) => {
                        tracing::debug!(%remote, ?cut, "closing a slow or idle connection");
                        return;
                    }
                }
            }
        }
    }
}

/// Marks a request in progress on its connection for as long as it lives: until its response
/// body is written out (a request dropped mid-way, with its connection, ends too).
struct InFlight(Arc<ConnState>);

impl InFlight {
    fn start(state: Arc<ConnState>) -> Self {
        state.request_started();
        Self(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

/// The socket, telling its connection's clock when bytes arrive. It travels with the socket
/// into a WebSocket upgrade, so the connection's place in the table is held until the socket
/// closes.
struct TrackedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.on_read();
        }
        polled
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
