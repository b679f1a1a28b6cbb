//! Guild moderation: `GET /admin/guilds/{id}` (owner, member count, channels) and
//! `DELETE /admin/guilds/{id}?reason=…` (whoever owns it), both without membership.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::record;
use super::require_admin;
use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{GuildId, UserId};
use crate::store::AuditChange;

pub fn routes() -> Router<App> {
    Router::new().route(
        "/admin/guilds/{guild_id}",
        get(get_guild).delete(delete_guild),
    )
}

async fn info(app: &App, id: GuildId) -> Result<Value, ApiError> {
    let mut v = app.services.ask_guild(id, GuildMsg::AdminInfo).await?;
    let owner: Option<UserId> = serde_json::from_value(v["owner_id"].clone()).ok();
    if let Some(owner) = owner {
        v["owner"] = json!(app.services.users.public(owner).await?);
    }
    Ok(v)
}

/// `GET /admin/guilds/{id}`: name, owner (user object), member/role/ban counts, online sessions
/// and every channel (admins see all, whatever the permission overwrites say).
async fn get_guild(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(info(&app, id).await?))
}

#[derive(Debug, Deserialize)]
struct DeleteQuery {
    reason: Option<String>,
}

/// `DELETE /admin/guilds/{id}?reason=…`: deletes the guild as its owner would (members get
/// GUILD_DELETE), recorded in the audit log as `guild.delete`.
#[tracing::instrument(name = "admin.guilds.delete", skip_all, fields(admin = %caller.user_id, guild = %id))]
async fn delete_guild(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    require_admin(&caller)?;
    let before = info(&app, id).await?;
    app.services.ask_guild(id, GuildMsg::AdminDelete).await?;
    tracing::info!(name = %before["name"], "guild deleted by an instance administrator");
    let summary = json!({
        "name": before["name"],
        "owner_id": before["owner_id"],
        "member_count": before["member_count"],
    });
    record(
        &app,
        caller.user_id,
        "guild.delete",
        Some(id.snowflake()),
        vec![AuditChange {
            key: "guild".into(),
            old: summary,
            new: Value::Null,
        }],
        q.reason,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
