//! `GET /admin/audit-log`: what instance administrators did, newest first; [`record`] writes it.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::require_admin;
use crate::api::extract::{Json, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{Snowflake, UserId};
use crate::model::Timestamp;
use crate::store::{AuditChange, AuditEntry};

pub fn routes() -> Router<App> {
    Router::new().route("/admin/audit-log", get(audit_log))
}

/// Appends an entry to the audit log. The action has already happened, so a failed write does
/// not undo it: it is logged (with everything the entry would have said) and `None` returned.
pub async fn record(
    app: &App,
    actor: UserId,
    action: &str,
    target_id: Option<Snowflake>,
    changes: Vec<AuditChange>,
    reason: Option<String>,
) -> Option<AuditEntry> {
    let entry = AuditEntry {
        id: app.services.ids.next().ok()?,
        actor_id: actor,
        action: action.to_string(),
        target_id,
        changes,
        reason: reason.filter(|r| !r.trim().is_empty()),
    };
    match app.store().insert_audit_entry(&entry).await {
        Ok(()) => {
            tracing::info!(
                admin = %actor,
                action,
                target = ?target_id.map(|t| t.to_string()),
                changes = entry.changes.len(),
                "audit log entry written"
            );
            Some(entry)
        }
        Err(e) => {
            tracing::error!(
                error = %e,
                entry = %serde_json::to_string(&entry).unwrap_or_default(),
                "could not write the audit log entry"
            );
            None
        }
    }
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    limit: Option<usize>,
    before: Option<Snowflake>,
}

/// `GET /admin/audit-log?limit=50&before=<entry id>`: entries newest first, each with the
/// acting administrator's public user, `created_at`, and the `changes` (key, old, new).
async fn audit_log(
    State(app): State<App>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 100);
    let entries = app.store().audit_entries(limit, q.before).await?;
    let mut actors: Vec<UserId> = entries.iter().map(|e| e.actor_id).collect();
    actors.sort();
    actors.dedup();
    let users = app.services.users.public_many(&actors).await?;
    let list: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let actor = users.iter().find(|u| u.id == e.actor_id);
            json!({
                "id": e.id,
                "created_at": Timestamp::from_millis(e.id.timestamp_ms() as i64),
                "actor": actor,
                "action": e.action,
                "target_id": e.target_id,
                "changes": e.changes,
                "reason": e.reason,
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}
