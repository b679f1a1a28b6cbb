//! `/channels/{id}`: read, update, delete a channel. Messages, reactions, pins, typing,
//! invites and followers live beside this file.

pub mod ack;
pub mod followers;
pub mod forum;
pub mod invites;
pub mod messages;
pub mod permissions;
pub mod pins;
pub mod polls;
pub mod reactions;
pub mod recipients;
pub mod soundboard;
pub mod threads;
pub mod typing;
pub mod upload;
pub mod voice_status;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::actors::guild::{ChannelPatch, GuildMsg};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{ChannelId, GuildId, UserId};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/channels/{channel_id}",
            get(get_channel).patch(update).delete(delete),
        )
        .merge(messages::routes())
        .merge(ack::routes())
        .merge(reactions::routes())
        .merge(permissions::routes())
        .merge(recipients::routes())
        .merge(pins::routes())
        .merge(polls::routes())
        .merge(typing::routes())
        .merge(invites::routes())
        .merge(followers::routes())
        .merge(threads::routes())
        .merge(voice_status::routes())
        .merge(soundboard::routes())
}

/// The channel as the caller sees it (fails like Discord when they can't).
pub async fn visible_channel(app: &App, user: UserId, id: ChannelId) -> Result<Value, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::Get {
        user,
        reply,
    })
    .await
}

pub fn guild_of(channel: &Value) -> Option<GuildId> {
    channel
        .get("guild_id")
        .and_then(|g| serde_json::from_value(g.clone()).ok())
}

/// `GET /channels/{id}`
async fn get_channel(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(visible_channel(&app, caller.user_id, id).await?))
}

/// `PATCH /channels/{id}` (guild channels; the guild actor owns them).
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<ChannelPatch>,
) -> Result<Json<Value>, ApiError> {
    let channel = visible_channel(&app, caller.user_id, id).await?;
    let Some(guild) = guild_of(&channel) else {
        return Err(ApiError::coded(
            axum::http::StatusCode::BAD_REQUEST,
            50003,
            "cannot-execute-on-dm",
        ));
    };
    Ok(Json(
        app.services
            .ask_guild(guild, |reply| {
                GuildMsg::UpdateChannel {
                    user: caller.user_id,
                    channel: id,
                    patch,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `DELETE /channels/{id}`: deletes a guild channel; for a DM, closes it (the DM itself stays);
/// for a group DM, leaves it.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    AuditReason(reason): AuditReason,
) -> Result<Json<Value>, ApiError> {
    let channel = visible_channel(&app, caller.user_id, id).await?;
    let Some(guild) = guild_of(&channel) else {
        if channel["type"] == 3 {
            let actor = app.services.channel(id).await?;
            ask(&app.services, &actor, |reply| ChannelMsg::RemoveRecipient {
                user: caller.user_id,
                target: caller.user_id,
                reply,
            })
            .await?;
        }
        return Ok(Json(channel));
    };
    let actor = app.services.guild(guild).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| {
            GuildMsg::DeleteChannel {
                user: caller.user_id,
                channel: id,
                reply,
            }
            .with_reason(reason)
        })
        .await?,
    ))
}
