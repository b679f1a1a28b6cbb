//! `GET/PATCH /admin/config`: read and change the live configuration without a restart.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use super::require_admin;
use crate::api::extract::Json;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;

pub fn routes() -> Router<App> {
    Router::new().route("/admin/config", get(get_config).patch(patch_config))
}

async fn get_config(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(
        serde_json::to_value(&*app.config().get()).map_err(ApiError::internal)?,
    ))
}

/// A JSON merge patch (RFC 7396) over the current configuration. Validated as a whole; on
/// success it is stored and swapped in atomically, and the new configuration is returned.
async fn patch_config(
    State(app): State<App>,
    caller: Caller,
    Json(patch): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let (_old, new) = app
        .config()
        .apply_patch(app.store().as_ref(), &patch)
        .await?;
    tracing::info!(admin = %caller.user_id, "configuration changed");
    Ok(Json(
        serde_json::to_value(&*new).map_err(ApiError::internal)?,
    ))
}
