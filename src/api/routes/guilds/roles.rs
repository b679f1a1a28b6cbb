//! `/guilds/{id}/roles`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, RolePatch, RolePosition};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{GuildId, RoleId};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/guilds/{guild_id}/roles",
            get(list).post(create).patch(reorder),
        )
        .route("/guilds/{guild_id}/roles/member-counts", get(member_counts))
        .route(
            "/guilds/{guild_id}/roles/{role_id}",
            get(get_role).patch(update).delete(delete),
        )
}

/// `GET /guilds/{id}/roles/member-counts`: `{role_id: members holding it}`, to any member.
async fn member_counts(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::RoleMemberCounts {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/roles/{role_id}`: one role, to any member.
async fn get_role(
    State(app): State<App>,
    caller: Caller,
    Path((id, role)): Path<(GuildId, RoleId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::GetRole {
                user: caller.user_id,
                role,
                reply,
            })
            .await?,
    ))
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::ListRoles {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<RolePatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::CreateRole {
                    user: caller.user_id,
                    body,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `PATCH /guilds/{id}/roles` `[{id, position}]` (MANAGE_ROLES; only roles below your highest
/// role, only to places below it): every role, one GUILD_ROLE_UPDATE per moved role.
async fn reorder(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(moves): Json<Vec<RolePosition>>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::ReorderRoles {
                    user: caller.user_id,
                    moves,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, role)): Path<(GuildId, RoleId)>,
    AuditReason(reason): AuditReason,
    Json(body): Json<RolePatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::UpdateRole {
                    user: caller.user_id,
                    role,
                    body,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/roles/{role}` (MANAGE_ROLES, below the caller's highest role): 204.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, role)): Path<(GuildId, RoleId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::DeleteRole {
                user: caller.user_id,
                role,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
