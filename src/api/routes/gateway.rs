//! `GET /gateway`, `GET /gateway/bot`: where clients connect.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::extract::Json;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/gateway", get(gateway))
        .route("/gateway/bot", get(gateway_bot))
}

/// The URL has no query string: clients append `?v=10&encoding=json…` themselves.
async fn gateway(State(app): State<App>) -> Json<Value> {
    Json(json!({"url": app.gateway_endpoint()}))
}

async fn gateway_bot(State(app): State<App>, _caller: Caller) -> Result<Json<Value>, ApiError> {
    let c = app.config().get();
    Ok(Json(json!({
        "url": app.gateway_endpoint(),
        "shards": c.gateway.recommended_shards.max(1),
        "session_start_limit": {
            "total": c.gateway.session_start_limit_total,
            "remaining": c.gateway.session_start_limit_total,
            "reset_after": 86_400_000,
            "max_concurrency": c.gateway.identify_max_concurrency,
        },
    })))
}
