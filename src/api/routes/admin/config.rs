//! `GET/PATCH /admin/config`: read and change the live configuration without a restart.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use super::audit::record;
use super::require_admin;
use crate::api::extract::Json;
use crate::app::App;
use crate::auth::Caller;
use crate::config::changed_leaves;
use crate::error::ApiError;
use crate::store::AuditChange;

pub fn routes() -> Router<App> {
    Router::new().route("/admin/config", get(get_config).patch(patch_config))
}

async fn get_config(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(
        serde_json::to_value(&*app.config().get()).map_err(ApiError::internal)?,
    ))
}

/// Secrets (a connection provider's `client_secret`) are recorded as changed, not by value: the
/// audit log outlives the secret and is read by every admin.
fn redact(mut change: AuditChange) -> AuditChange {
    if change.key.ends_with(".client_secret") {
        for v in [&mut change.old, &mut change.new] {
            if v.as_str().is_some_and(|s| !s.is_empty()) {
                *v = Value::String("[redacted]".into());
            }
        }
    }
    change
}

/// A JSON merge patch (RFC 7396) over the current configuration. Validated as a whole; on
/// success it is stored and swapped in atomically, an audit log entry records every changed key
/// (old → new), and the new configuration is returned.
#[tracing::instrument(name = "admin.config.patch", skip_all, fields(admin = %caller.user_id))]
async fn patch_config(
    State(app): State<App>,
    caller: Caller,
    Json(patch): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let (old, new) = app
        .config()
        .apply_patch(app.store().as_ref(), &patch)
        .await?;
    if let Some(cluster) = &app.cluster {
        crate::cluster::config_sync::announce(cluster.client(), cluster.node_name()).await;
    }
    let old = serde_json::to_value(&*old).map_err(ApiError::internal)?;
    let new = serde_json::to_value(&*new).map_err(ApiError::internal)?;
    let changes: Vec<AuditChange> = changed_leaves(&old, &new)
        .into_iter()
        .map(|(key, old, new)| redact(AuditChange { key, old, new }))
        .collect();
    tracing::info!(
        keys = ?changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        "configuration changed"
    );
    if !changes.is_empty() {
        record(&app, caller.user_id, "config.update", None, changes, None).await;
    }
    Ok(Json(new))
}
