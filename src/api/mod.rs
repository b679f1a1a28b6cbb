//! The HTTP surface: the REST API under `/api`, `/api/v{6..10}`, Spacebar's well-known
//! discovery, and the gateway WebSocket on `/` (same port).

pub mod extract;
pub mod forward;
pub mod openapi;
pub mod routes;
pub mod trace;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::Limited;
use serde_json::json;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::error::ApiError;

/// API versions served; clients pick one in the path, unversioned `/api` is the newest.
const VERSIONS: [&str; 5] = ["v6", "v7", "v8", "v9", "v10"];

pub fn router(app: App) -> Router {
    let api = routes::routes()
        .route_layer(middleware::from_fn_with_state(
            app.clone(),
            crate::ratelimit::middleware,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    let mut router = Router::new().nest("/api", api.clone());
    for v in VERSIONS {
        router = router.nest(&format!("/api/{v}"), api.clone());
    }
    let router = router
        .route("/.well-known/spacebar", get(well_known))
        .route("/metrics", get(routes::admin::health::prometheus))
        .merge(crate::admin::routes());
    // The CDN is served here unless it has a listener of its own (see `cdn_router`).
    let router = if app.cdn_bound.is_none() {
        router.merge(crate::cdn::routes::routes())
    } else {
        router
    };
    let router = router
        .route("/", get(crate::gateway::server::root))
        .fallback(not_found);
    // Cluster mode: inside the body and time limits, outside rate limits and routing (the
    // owner applies those).
    let router = if app.cluster.is_some() {
        router.layer(middleware::from_fn_with_state(
            app.clone(),
            forward::route_to_owner,
        ))
    } else {
        router
    };
    let router = router
        .layer(middleware::from_fn_with_state(app.clone(), limits))
        .layer(middleware::from_fn(crate::i18n::locale_middleware))
        .layer(DefaultBodyLimit::disable())
        .layer(TraceLayer::new_for_http().make_span_with(trace::RequestSpan))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(
            trace::CountingRequestId::default(),
        ))
        .with_state(app);
    // Routing sees the path after `decode_at_sign`: a rewrite must wrap the whole router.
    Router::new().fallback_service(tower::Layer::layer(
        &tower::util::MapRequestLayer::new(decode_at_sign),
        router,
    ))
}

/// The CDN alone, for its own listener (`server.cdn_listen`): files, avatars, icons, emojis,
/// stickers — what Discord serves from `cdn.discordapp.com`.
pub fn cdn_router(app: App) -> Router {
    crate::cdn::routes::routes()
        .fallback(not_found)
        .layer(middleware::from_fn(crate::i18n::locale_middleware))
        .layer(TraceLayer::new_for_http().make_span_with(trace::RequestSpan))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(
            trace::CountingRequestId::default(),
        ))
        .with_state(app)
}

/// `%40me` → `@me` in the path, before routing. discord.js percent-encodes an explicit `@me`
/// argument (`PATCH /guilds/{id}/members/%40me` for `setNickname`); Discord routes both forms.
/// Ids and route names never contain `%`, so nothing else changes meaning.
fn decode_at_sign(mut request: Request) -> Request {
    let path = request.uri().path();
    if !path.contains("%40") {
        return request;
    }
    let mut pq = path.replace("%40", "@");
    if let Some(q) = request.uri().query() {
        pq.push('?');
        pq.push_str(q);
    }
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = pq.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `GET /.well-known/spacebar`: where this instance's API lives.
async fn well_known(State(app): State<App>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({"api": format!("{}/v9", app.api_endpoint())}))
}

/// Body size and request time limits, read from the live config on every request so an admin
/// change applies at once.
async fn limits(State(app): State<App>, request: Request, next: Next) -> Response {
    let config = app.config().get();
    let server = config.server.clone();
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Uploads may carry `max_attachments` files of `cdn.max_upload_bytes` each (checked per file
    // when parsed); everything else gets the general body limit.
    let max_body = if multipart {
        config
            .cdn
            .max_upload_bytes
            .saturating_mul(config.limits.message.max_attachments as usize)
            .saturating_add(server.max_body_bytes)
    } else {
        server.max_body_bytes
    };
    let too_big = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > max_body);
    if too_big {
        return ApiError::PayloadTooLarge.into_response();
    }
    let is_upgrade = request.headers().contains_key(axum::http::header::UPGRADE);
    // A body sent a byte at a time must still end in time; uploads may take the whole request.
    let body_within = Duration::from_millis(if multipart {
        server.request_timeout_ms
    } else {
        server.body_read_timeout_ms
    });
    let request = request.map(|body| {
        axum::body::Body::new(Limited::new(
            crate::net::DeadlineBody::new(body, body_within),
            max_body,
        ))
    });
    if is_upgrade {
        // WebSocket upgrades live on; their limits are the gateway's own.
        return next.run(request).await;
    }
    match tokio::time::timeout(
        Duration::from_millis(server.request_timeout_ms),
        next.run(request),
    )
    .await
    {
        Ok(response) => {
            if response.status() == axum::http::StatusCode::REQUEST_TIMEOUT {
                app.connections.count_body_timeout();
                // The rest of the body is not worth waiting for: no keep-alive after this.
                let mut response = response;
                response.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
                return response;
            }
            response
        }
        Err(_) => {
            // The server was too slow, not the client: 503 with a retry hint is what the
            // libraries retry on (a 500 reads as a bug, and a 408 blames the client).
            tracing::warn!(timeout_ms = server.request_timeout_ms, "request timed out");
            ApiError::Unavailable { retry_after: 1.0 }.into_response()
        }
    }
}
