//! `/channels/{id}/permissions/{overwrite}`: a channel's permission overwrites (MANAGE_ROLES in
//! the channel; the guild actor owns them and announces CHANNEL_UPDATE).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;

use crate::actors::guild::{GuildMsg, OverwriteBody};
use crate::api::extract::{AuditReason, Json, Path};
use crate::api::routes::channels::{guild_of, visible_channel};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{ChannelId, GuildId, Snowflake, UserId};

pub fn routes() -> Router<App> {
    Router::new().route(
        "/channels/{channel_id}/permissions/{overwrite_id}",
        put(set).delete(remove),
    )
}

/// The guild owning a channel the caller can see (DMs have no overwrites: 50003).
async fn owning_guild(app: &App, user: UserId, id: ChannelId) -> Result<GuildId, ApiError> {
    let channel = visible_channel(app, user, id).await?;
    guild_of(&channel).ok_or(ApiError::coded(
        StatusCode::BAD_REQUEST,
        50003,
        "cannot-execute-on-dm",
    ))
}

/// `PUT /channels/{id}/permissions/{overwrite}` `{type, allow, deny}`: 204. Only bits the caller
/// has in the channel may be allowed or denied.
async fn set(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(ChannelId, Snowflake)>,
    AuditReason(reason): AuditReason,
    Json(body): Json<OverwriteBody>,
) -> Result<StatusCode, ApiError> {
    let guild = owning_guild(&app, caller.user_id, id).await?;
    app.services
        .ask_guild(guild, |reply| {
            GuildMsg::PutOverwrite {
                user: caller.user_id,
                channel: id,
                target,
                body,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /channels/{id}/permissions/{overwrite}`: 204 (10009 when there is none).
async fn remove(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(ChannelId, Snowflake)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    let guild = owning_guild(&app, caller.user_id, id).await?;
    app.services
        .ask_guild(guild, |reply| {
            GuildMsg::DeleteOverwrite {
                user: caller.user_id,
                channel: id,
                target,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
