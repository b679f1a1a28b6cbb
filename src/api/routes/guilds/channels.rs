//! `/guilds/{id}/channels`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{ChannelCreate, ChannelPosition, GuildMsg};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route(
        "/guilds/{guild_id}/channels",
        get(list).post(create).patch(reorder),
    )
}

/// `GET /guilds/{id}/channels`: the channels the caller can see.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::ListChannels {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `POST /guilds/{id}/channels` (MANAGE_CHANNELS).
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<ChannelCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let v = app
        .services
        .ask_guild(id, |reply| {
            GuildMsg::CreateChannel {
                user: caller.user_id,
                body,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `PATCH /guilds/{id}/channels` `[{id, position, parent_id, lock_permissions}]`
/// (MANAGE_CHANNELS): 204, one CHANNEL_UPDATE per changed channel.
async fn reorder(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(moves): Json<Vec<ChannelPosition>>,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::ReorderChannels {
                user: caller.user_id,
                moves,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
