//! `/guilds/{id}/audit-logs` (VIEW_AUDIT_LOG): the guild's moderation history, newest first.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{AuditLogQuery, GuildMsg};
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/audit-logs", get(list))
}

/// `GET /guilds/{id}/audit-logs?user_id&target_id&action_type&before&after&limit` (limit
/// 1–100, default 50): `{audit_log_entries, users, …}`.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(query): Query<AuditLogQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(l) = query.limit
        && !(1..=100).contains(&l)
    {
        return Err(FieldErrors::single(
            "limit",
            if l == 0 {
                FieldError::NumberMin { min: 1 }
            } else {
                FieldError::NumberMax { max: 100 }
            },
        ));
    }
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::AuditLog {
                user: caller.user_id,
                query,
                reply,
            })
            .await?,
    ))
}
