//! `/guilds/{id}/roles`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch};
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{GuildMsg, RolePatch};
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{GuildId, RoleId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/roles", get(list).post(create))
        .route(
            "/guilds/{guild_id}/roles/{role_id}",
            patch(update).delete(delete),
        )
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| GuildMsg::ListRoles {
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
    Json(body): Json<RolePatch>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| GuildMsg::CreateRole {
            user: caller.user_id,
            body,
            reply,
        })
        .await?,
    ))
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, role)): Path<(GuildId, RoleId)>,
    Json(body): Json<RolePatch>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| GuildMsg::UpdateRole {
            user: caller.user_id,
            role,
            body,
            reply,
        })
        .await?,
    ))
}

async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, role)): Path<(GuildId, RoleId)>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.guild(id).await?;
    ask(&app.services, &actor, |reply| GuildMsg::DeleteRole {
        user: caller.user_id,
        role,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
