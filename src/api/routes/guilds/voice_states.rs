//! `/guilds/{id}/voice-states/{@me|user}`: who is connected to which voice channel, and the
//! stage controls (suppress, request to speak). The states live in the guild actor (see
//! `actors::guild::voice`); each change is announced as VOICE_STATE_UPDATE.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, SelfVoicePatch, VoiceMsg, VoicePatch};
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{GuildId, UserId};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/guilds/{guild_id}/voice-states/@me",
            get(get_own).patch(update_own),
        )
        .route(
            "/guilds/{guild_id}/voice-states/{user_id}",
            get(get_user).patch(update_user),
        )
}

async fn voice_state(
    app: &App,
    guild: GuildId,
    user: UserId,
    target: UserId,
) -> Result<Value, ApiError> {
    app.services
        .ask_guild(guild, |reply| {
            GuildMsg::Voice(VoiceMsg::Get {
                user,
                target,
                reply,
            })
        })
        .await
}

/// `GET /guilds/{id}/voice-states/@me` (members; 10065 when not connected).
async fn get_own(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        voice_state(&app, id, caller.user_id, caller.user_id).await?,
    ))
}

/// `GET /guilds/{id}/voice-states/{user}` (members; 10065 when not connected).
async fn get_user(
    State(app): State<App>,
    caller: Caller,
    Path((id, user)): Path<(GuildId, UserId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(voice_state(&app, id, caller.user_id, user).await?))
}

/// `PATCH /guilds/{id}/voice-states/@me` `{channel_id, suppress, request_to_speak_timestamp}`
/// in a stage channel the caller is connected to: un-suppressing needs MUTE_MEMBERS, asking to
/// speak REQUEST_TO_SPEAK. 204.
async fn update_own(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Json(body): Json<SelfVoicePatch>,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Voice(VoiceMsg::UpdateSelf {
                user: caller.user_id,
                body,
                reply,
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /guilds/{id}/voice-states/{user}` `{channel_id, suppress}` (MUTE_MEMBERS in the
/// stage channel the user is connected to). 204.
async fn update_user(
    State(app): State<App>,
    caller: Caller,
    Path((id, user)): Path<(GuildId, UserId)>,
    Json(body): Json<VoicePatch>,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Voice(VoiceMsg::UpdateOther {
                by: caller.user_id,
                target: user,
                body,
                reply,
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
