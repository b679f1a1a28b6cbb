//! Cluster mode: REST on any node. A layer in front of the routes finds the owner of the
//! request's resource (a guild in the path; a channel, webhook or invite through the guild it
//! belongs to, and the channel named in the body of `POST /stage-instances`; the caller's own user actor for relationships, settings, consent, connections
//! and read states) and, when that is another node, hands the request to it over NATS
//! ([`crate::cluster::forward`]) and returns its answer. Requests without such a resource
//! (login, `/users/@me`, the instance routes) are served where they arrive.
//!
//! The owner serves a forwarded request with its own router, marked so it is never forwarded
//! again: if ownership moved meanwhile, the fence of the actor registry answers 503 there and
//! the client retries. A timeout, no responder or an unknown owner is a 503 with
//! `retry_after`, never a hang. Installed only in cluster mode.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::app::App;
use crate::cluster::forward::{self, ForwardError, HttpRequest, HttpResponse};
use crate::cluster::{Cluster, Owned};
use crate::error::ApiError;
use crate::id::{ChannelId, WebhookId};

/// Marks a request another node forwarded here (its value: that node's name).
pub const FORWARDED_BY: &str = "x-accord-forwarded-by";

/// How much longer than an actor call a forwarded request may take (the extra NATS hops).
const FORWARD_MARGIN: Duration = Duration::from_secs(2);

/// The layer: forwards to the owner, or serves here.
pub async fn route_to_owner(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let Some(cluster) = app.cluster.clone() else {
        return next.run(request).await;
    };
    if request.headers().contains_key(FORWARDED_BY) {
        return next.run(request).await;
    }
    // `POST /stage-instances` names its channel in the body only.
    if request.method() == Method::POST && api_tail(request.uri().path()) == Some("stage-instances")
    {
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
            return ApiError::PayloadTooLarge.into_response();
        };
        let owned = channel_in_body(&app, &body).await;
        request = Request::from_parts(parts, Body::from(body));
        if let Some(owned) = owned {
            return serve_or_forward(&app, &cluster, owned, request, next).await;
        }
        return next.run(request).await;
    }
    let owned = match resource_of(&app, request.method(), request.uri().path()).await {
        Some(owned) => Some(owned),
        None if of_the_caller(request.uri().path()) => {
            let header = request
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned);
            caller_of(&app, header).await
        }
        None => None,
    };
    let Some(owned) = owned else {
        return next.run(request).await;
    };
    serve_or_forward(&app, &cluster, owned, request, next).await
}

/// Serves `request` here when this node owns `owned`, else forwards it to the owner.
async fn serve_or_forward(
    app: &App,
    cluster: &Cluster,
    owned: Owned,
    request: Request,
    next: Next,
) -> Response {
    let ownership = cluster.ownership();
    let owner = match ownership.owner_of(owned) {
        Ok(owner) => owner,
        Err(e) => return crate::actors::ownership::refused(&ownership, &e).into_response(),
    };
    if owner == cluster.node_name() {
        return next.run(request).await;
    }
    match forward_to(app, cluster, &owner, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// The lease covering the channel a JSON body names as `channel_id`.
async fn channel_in_body(app: &App, body: &[u8]) -> Option<Owned> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id = match &value["channel_id"] {
        serde_json::Value::String(s) => s.parse::<u64>().ok()?,
        v => v.as_u64()?,
    };
    app.services.channel_owner(ChannelId::new(id)).await.ok()
}

/// The path after `/api` and its optional `/v{n}`.
fn api_tail(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api")?;
    Some(match rest.strip_prefix("/v") {
        Some(v) => v.split_once('/').map_or("", |(_, r)| r),
        None => rest.strip_prefix('/').unwrap_or(rest),
    })
}

/// What in this path decides its owner, if anything.
async fn resource_of(app: &App, method: &Method, path: &str) -> Option<Owned> {
    let rest = api_tail(path)?;
    let mut segments = rest.split('/');
    let id = |s: Option<&str>| s.and_then(|s| s.parse::<u64>().ok());
    match (segments.next(), segments.next(), segments.next()) {
        (Some("guilds"), g, _) => id(g).map(Owned::Guild),
        (Some("channels") | Some("stage-instances"), c, _) => {
            let channel = ChannelId::new(id(c)?);
            app.services.channel_owner(channel).await.ok()
        }
        (Some("users"), Some("@me"), Some("guilds")) => id(segments.next()).map(Owned::Guild),
        (Some("webhooks"), w, _) => {
            let hook = app
                .store()
                .get_webhook(WebhookId::new(id(w)?))
                .await
                .ok()??;
            app.services.channel_owner(hook.channel_id).await.ok()
        }
        // Accepting an invite joins its guild; reading one is a store read, served here.
        (Some("invites"), Some(code), None) if method == Method::POST => {
            let invite = app.store().get_invite(code).await.ok()??;
            match invite.guild_id {
                Some(g) => Some(Owned::Guild(g.get())),
                None => app.services.channel_owner(invite.channel_id).await.ok(),
            }
        }
        _ => None,
    }
}

/// Whether the path is served by the caller's own user actor (relationships, settings,
/// consent, connected accounts, read states): such requests go to the caller's home node,
/// where that actor runs (see `Services::user`).
fn of_the_caller(path: &str) -> bool {
    let Some(rest) = api_tail(path) else {
        return false;
    };
    const MINE: [&str; 4] = ["relationships", "settings", "consent", "connections"];
    match rest.split_once('/') {
        Some(("users", tail)) => tail
            .strip_prefix("@me/")
            .and_then(|t| t.split('/').next())
            .is_some_and(|first| MINE.contains(&first)),
        Some(("connections", tail)) => tail.ends_with("/callback"),
        Some(("read-states", tail)) => tail == "ack-bulk",
        _ => false,
    }
}

/// The caller's own user lease, from the request's token (none without a valid one: the route
/// answers 401 where it arrived).
async fn caller_of(app: &App, authorization: Option<String>) -> Option<Owned> {
    let caller = app.auth.authenticate_request(&authorization?).await.ok()?;
    Some(Owned::User(caller.user_id.get()))
}

/// Sends `request` (one of this API's routes) to the node `owner` and returns its answer: for
/// a route that acts on several resources at once whose owners differ (read-states ack-bulk).
pub async fn forward_request(
    app: &App,
    owner: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(cluster) = app.cluster.clone() else {
        return Err(ApiError::internal("forwarding without a cluster"));
    };
    forward_to(app, &cluster, owner, request).await
}

/// Sends `request` to `owner` and turns its answer back into a response.
async fn forward_to(
    app: &App,
    cluster: &Cluster,
    owner: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    // The `limits` layer in front of this one has already bounded the body.
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let headers = forward::FORWARDED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_string(), value.to_string()))
        })
        .collect();
    let envelope = HttpRequest {
        v: forward::VERSION,
        from: cluster.node_name().to_string(),
        method: parts.method.to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |pq| pq.to_string()),
        headers,
        peer: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
        body,
    };
    let timeout = app.services.call_timeout() + FORWARD_MARGIN;
    let response = forward::send(cluster.client(), owner, &envelope, timeout)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, owner, "forwarding failed");
            match e {
                ForwardError::TooLarge(_) => ApiError::PayloadTooLarge,
                _ => ApiError::Unavailable {
                    retry_after: cluster.config().renew_every().as_secs_f64(),
                },
            }
        })?;
    tracing::debug!(owner, status = response.status, "forwarded");
    Ok(into_response(response))
}

fn into_response(r: HttpResponse) -> Response {
    let mut response = Response::new(Body::from(r.body));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in r.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// Serves a request another node forwarded here with this node's own `router`.
pub async fn serve_forwarded(router: axum::Router, envelope: HttpRequest) -> HttpResponse {
    match answer(router, envelope).await {
        Ok(r) => r,
        Err(e) => {
            let response = e.into_response();
            collect(response).await
        }
    }
}

async fn answer(router: axum::Router, envelope: HttpRequest) -> Result<HttpResponse, ApiError> {
    let method = Method::from_bytes(envelope.method.as_bytes()).map_err(ApiError::internal)?;
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(envelope.uri.as_str())
        .header(FORWARDED_BY, envelope.from.as_str());
    for (name, value) in &envelope.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut request = builder
        .body(Body::from(envelope.body))
        .map_err(ApiError::internal)?;
    if let Some(peer) = envelope.peer {
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    let response = tower::ServiceExt::oneshot(router, request)
        .await
        .map_err(ApiError::internal)?;
    Ok(collect(response).await)
}

/// A response as an envelope (bodies of REST responses are small and complete).
async fn collect(response: Response) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_else(|_| Bytes::new());
    HttpResponse {
        v: forward::VERSION,
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| *name != axum::http::header::CONTENT_LENGTH)
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::of_the_caller;

    #[test]
    fn the_callers_own_routes_go_home() {
        for p in [
            "/api/v10/users/@me/relationships",
            "/api/users/@me/relationships/123",
            "/api/v9/users/@me/settings",
            "/api/v10/users/@me/consent",
            "/api/v10/users/@me/connections/github/1",
            "/api/v10/connections/github/callback",
            "/api/v10/read-states/ack-bulk",
        ] {
            assert!(of_the_caller(p), "{p}");
        }
        for p in [
            "/api/v10/users/@me",
            "/api/v10/users/@me/guilds",
            "/api/v10/users/123/profile",
            "/api/v10/connections/github/authorize",
            "/api/v10/gateway",
        ] {
            assert!(!of_the_caller(p), "{p}");
        }
    }
}
