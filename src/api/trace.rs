//! Per-request tracing: every request gets an `x-request-id` (kept if the client or a proxy sent
//! one, else a node-unique counter), echoed on the response, and an `info` span `request{id,
//! method, path}` that every log line written while serving it carries.
//!
//! Paths are logged with secrets blanked: webhook and interaction tokens travel in the URL
//! (`/webhooks/{id}/{token}`, `/interactions/{id}/{token}/callback`) and must never reach a log.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};
use tower_http::trace::MakeSpan;

/// Request ids `<process start, hex>-<counter>`: unique on this node without a random source per
/// request, and distinct across restarts.
#[derive(Clone)]
pub struct CountingRequestId {
    prefix: u32,
    next: &'static AtomicU64,
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

impl Default for CountingRequestId {
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            prefix: now as u32,
            next: &NEXT_REQUEST,
        }
    }
}

impl MakeRequestId for CountingRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The `request` span: id (from `x-request-id`), method, and the path with secrets blanked.
#[derive(Clone, Copy, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            parent: None,
            "request",
            id,
            method = %request.method(),
            path = %Redacted(request.uri().path()),
        )
    }
}

/// The path with the token segment of webhook and interaction URLs replaced by `{token}`.
pub fn redacted_path(path: &str) -> String {
    Redacted(path).to_string()
}

/// Formats a path with tokens blanked, straight into the log line (no copy per request).
struct Redacted<'a>(&'a str);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The segment two after `webhooks`/`interactions` is the token.
        let mut token_in = None::<u8>;
        for (i, segment) in self.0.split('/').enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            token_in = match token_in {
                Some(1) => {
                    f.write_str("{token}")?;
                    None
                }
                Some(n) => {
                    f.write_str(segment)?;
                    Some(n - 1)
                }
                None => {
                    f.write_str(segment)?;
                    matches!(segment, "webhooks" | "interactions").then_some(2)
                }
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_are_blanked() {
        assert_eq!(
            redacted_path("/api/v10/webhooks/123/s3cr3t/messages/@original"),
            "/api/v10/webhooks/123/{token}/messages/@original"
        );
        assert_eq!(
            redacted_path("/api/interactions/9/tok/callback"),
            "/api/interactions/9/{token}/callback"
        );
        assert_eq!(redacted_path("/api/webhooks/123"), "/api/webhooks/123");
        assert_eq!(
            redacted_path("/api/channels/1/messages"),
            "/api/channels/1/messages"
        );
    }

    #[test]
    fn request_ids_are_distinct() {
        let mut make = CountingRequestId::default();
        let req = Request::new(());
        let a = make.make_request_id(&req).unwrap();
        let b = make.make_request_id(&req).unwrap();
        assert_ne!(a.header_value(), b.header_value());
    }
}
