//! `/stage-instances`: the live stage of a stage channel (topic, privacy). The guild actor
//! owns them (see `actors::guild::stage`); routes find the guild through the channel.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::Value;

use crate::actors::guild::{GuildMsg, StageCreate, StageMsg, StagePatch};
use crate::api::extract::{AuditReason, Json, Path};
use crate::api::routes::channels::{guild_of, visible_channel};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, GuildId, UserId};

pub fn routes() -> Router<App> {
    Router::new().route("/stage-instances", post(create)).route(
        "/stage-instances/{channel_id}",
        get(get_stage).patch(update).delete(delete),
    )
}

/// The guild of a channel the caller sees (a DM has no stage: 50024).
async fn guild_of_channel(app: &App, user: UserId, id: ChannelId) -> Result<GuildId, ApiError> {
    let channel = visible_channel(app, user, id).await?;
    guild_of(&channel).ok_or(ApiError::coded(
        StatusCode::BAD_REQUEST,
        50024,
        "invalid-channel-type",
    ))
}

/// `POST /stage-instances` `{channel_id, topic (1–120), privacy_level (2),
/// send_start_notification, guild_scheduled_event_id}`: MANAGE_CHANNELS, MUTE_MEMBERS and
/// MOVE_MEMBERS in the stage channel; one per channel (150006). 200 with the stage instance.
async fn create(
    State(app): State<App>,
    caller: Caller,
    AuditReason(reason): AuditReason,
    Json(body): Json<StageCreate>,
) -> Result<Json<Value>, ApiError> {
    let Some(channel) = body.channel_id else {
        let mut errs = FieldErrors::default();
        errs.add("channel_id", FieldError::Required);
        if body.topic.is_none() {
            errs.add("topic", FieldError::Required);
        }
        return Err(ApiError::InvalidFormBody(errs));
    };
    let guild = guild_of_channel(&app, caller.user_id, channel).await?;
    let v = app
        .services
        .ask_guild(guild, |reply| {
            GuildMsg::Stage(StageMsg::Create {
                user: caller.user_id,
                body,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    Ok(Json(v))
}

/// `GET /stage-instances/{channel}` (who sees the channel; 10067 when no stage is live).
async fn get_stage(
    State(app): State<App>,
    caller: Caller,
    Path(channel): Path<ChannelId>,
) -> Result<Json<Value>, ApiError> {
    let guild = guild_of_channel(&app, caller.user_id, channel).await?;
    let v = app
        .services
        .ask_guild(guild, |reply| {
            GuildMsg::Stage(StageMsg::Get {
                user: caller.user_id,
                channel,
                reply,
            })
        })
        .await?;
    Ok(Json(v))
}

/// `PATCH /stage-instances/{channel}` `{topic, privacy_level}` (stage moderators).
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(channel): Path<ChannelId>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<StagePatch>,
) -> Result<Json<Value>, ApiError> {
    let guild = guild_of_channel(&app, caller.user_id, channel).await?;
    let v = app
        .services
        .ask_guild(guild, |reply| {
            GuildMsg::Stage(StageMsg::Update {
                user: caller.user_id,
                channel,
                patch,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    Ok(Json(v))
}

/// `DELETE /stage-instances/{channel}` (stage moderators): 204.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(channel): Path<ChannelId>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    let guild = guild_of_channel(&app, caller.user_id, channel).await?;
    app.services
        .ask_guild(guild, |reply| {
            GuildMsg::Stage(StageMsg::Delete {
                user: caller.user_id,
                channel,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
