//! `/channels/{id}/voice-status`: the status text of a voice channel ("what's on"), shown to
//! those outside it. Live state of the guild actor, cleared when the channel empties
//! (VOICE_CHANNEL_STATUS_UPDATE).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use serde::Deserialize;

use crate::actors::guild::{GuildMsg, VoiceMsg};
use crate::api::extract::{Json, Path};
use crate::api::routes::channels::{guild_of, visible_channel};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::ChannelId;

pub fn routes() -> Router<App> {
    Router::new().route("/channels/{channel_id}/voice-status", put(set))
}

/// Body of `PUT /channels/{id}/voice-status`.
#[derive(Debug, Default, Deserialize)]
struct StatusBody {
    /// `null` or empty clears it.
    status: Option<String>,
}

/// `PUT /channels/{id}/voice-status` `{status}` (at most `limits.channel.max_voice_status`
/// characters): SET_VOICE_CHANNEL_STATUS for members connected to the channel, plus
/// MANAGE_CHANNELS for others. 204; 50024 outside voice channels.
async fn set(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Json(body): Json<StatusBody>,
) -> Result<StatusCode, ApiError> {
    let channel = visible_channel(&app, caller.user_id, id).await?;
    let guild = guild_of(&channel).ok_or(ApiError::coded(
        StatusCode::BAD_REQUEST,
        50024,
        "invalid-channel-type",
    ))?;
    app.services
        .ask_guild(guild, |reply| {
            GuildMsg::Voice(VoiceMsg::SetStatus {
                user: caller.user_id,
                channel: id,
                status: body.status,
                reply,
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
