//! REST requests forwarded to the node that owns their resource, over NATS request/reply on
//! `accord.node.<name>.http`.
//!
//! A first cut of DESIGN §7's "commands as data": instead of one serde variant per actor
//! command, the whole HTTP request travels (method, path and query, the headers that matter,
//! the body) in a versioned envelope, and the owner answers it with its own router — so every
//! route works across nodes without a second implementation, and authentication, validation,
//! rate limits and permission checks all happen once, on the owner.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

/// The envelope version this build speaks; an owner answers other versions with a 503 so a
/// rolling upgrade retries instead of misreading a request.
pub const VERSION: u16 = 1;

/// The request headers that travel with a forwarded request; the rest (connection-level,
/// hop-by-hop) stay behind.
pub const FORWARDED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept",
    "accept-language",
    "user-agent",
    "x-audit-log-reason",
    "x-discord-locale",
    "x-super-properties",
    "x-request-id",
    "if-none-match",
];

/// The subject a node answers forwarded requests on.
pub fn http_subject(node: &str) -> String {
    format!("accord.node.{node}.http")
}

/// A REST request sent to its owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpRequest {
    pub v: u16,
    /// The node that received it from the client.
    pub from: String,
    pub method: String,
    /// Path and query, as the client sent them.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    /// The client's address (rate limits and logs see the real client, not the entry node).
    pub peer: Option<SocketAddr>,
    #[serde(with = "base64_bytes")]
    pub body: Bytes,
}

/// The owner's response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpResponse {
    pub v: u16,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(with = "base64_bytes")]
    pub body: Bytes,
}

/// Why a forwarded request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("node {0} did not answer in time")]
    Timeout(String),
    #[error("node {0} is not listening (stopped or moving)")]
    NoResponder(String),
    #[error("the request is larger than a NATS message may be ({0} bytes)")]
    TooLarge(usize),
    #[error("forwarding to node {node}: {message}")]
    Nats { node: String, message: String },
    #[error("unreadable envelope: {0}")]
    Envelope(String),
}

/// Sends `request` to `node` and waits up to `timeout` for its response.
pub async fn send(
    client: &async_nats::Client,
    node: &str,
    request: &HttpRequest,
    timeout: Duration,
) -> Result<HttpResponse, ForwardError> {
    let payload = serde_json::to_vec(request).map_err(|e| ForwardError::Envelope(e.to_string()))?;
    let max = client.server_info().max_payload;
    if payload.len() > max {
        return Err(ForwardError::TooLarge(max));
    }
    let reply = tokio::time::timeout(timeout, client.request(http_subject(node), payload.into()))
        .await
        .map_err(|_| ForwardError::Timeout(node.into()))?
        .map_err(|e| match e.kind() {
            async_nats::RequestErrorKind::NoResponders => ForwardError::NoResponder(node.into()),
            async_nats::RequestErrorKind::TimedOut => ForwardError::Timeout(node.into()),
            _ => ForwardError::Nats {
                node: node.into(),
                message: e.to_string(),
            },
        })?;
    let response: HttpResponse = serde_json::from_slice(&reply.payload)
        .map_err(|e| ForwardError::Envelope(e.to_string()))?;
    if response.v != VERSION {
        return Err(ForwardError::Envelope(format!(
            "version {} (this node speaks {VERSION})",
            response.v
        )));
    }
    Ok(response)
}

/// Answers requests forwarded to `node` with `handle` until the subscription ends (NATS
/// closed) or `stop`, each on its own task. Returns once subscribed, so a node is reachable
/// from the moment it has started.
pub async fn spawn_responder<F, Fut>(
    client: async_nats::Client,
    node: String,
    handle: F,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ForwardError>
where
    F: Fn(HttpRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = HttpResponse> + Send + 'static,
{
    let mut requests =
        client
            .subscribe(http_subject(&node))
            .await
            .map_err(|e| ForwardError::Nats {
                node: node.clone(),
                message: e.to_string(),
            })?;
    Ok(tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                _ = stop.changed() => break,
                m = requests.next() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            let Some(reply_to) = message.reply.clone() else {
                continue;
            };
            let (client, handle) = (client.clone(), handle.clone());
            tokio::spawn(async move {
                let response = match serde_json::from_slice::<HttpRequest>(&message.payload) {
                    Ok(request) if request.v == VERSION => handle(request).await,
                    Ok(request) => unreadable(&format!("envelope version {}", request.v)),
                    Err(e) => unreadable(&e.to_string()),
                };
                match serde_json::to_vec(&response) {
                    Ok(bytes) => {
                        if let Err(e) = client.publish(reply_to, bytes.into()).await {
                            tracing::warn!(error = %e, "could not answer a forwarded request");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not encode a forwarded response"),
                }
            });
        }
        let _ = requests.unsubscribe().await;
    }))
}

/// The answer to an envelope this node cannot read: Discord's 503, so the client retries
/// (against a node of its own version, during a rolling upgrade).
fn unreadable(why: &str) -> HttpResponse {
    tracing::warn!(why, "unreadable forwarded request");
    HttpResponse {
        v: VERSION,
        status: 503,
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from_static(
            br#"{"code":0,"message":"Service unavailable","retry_after":1.0}"#,
        ),
    }
}

/// Bodies as base64 strings in the JSON envelope.
mod base64_bytes {
    use super::*;

    pub fn serialize<S: serde::Serializer>(bytes: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_with_binary_bodies() {
        let request = HttpRequest {
            v: VERSION,
            from: "n1".into(),
            method: "POST".into(),
            uri: "/api/v10/channels/1/messages?x=1".into(),
            headers: vec![("authorization".into(), "Bot abc".into())],
            peer: Some("127.0.0.1:5000".parse().unwrap()),
            body: Bytes::from_static(&[0, 159, 146, 150, b'{']),
        };
        let json = serde_json::to_vec(&request).unwrap();
        let back: HttpRequest = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.body, request.body);
        assert_eq!(back.uri, request.uri);
        assert_eq!(back.peer, request.peer);
        assert_eq!(http_subject("n2"), "accord.node.n2.http");
    }
}
