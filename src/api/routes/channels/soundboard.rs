//! `/channels/{id}/send-soundboard-sound`: plays a soundboard sound in a voice channel the
//! caller is connected to — announced to the channel as VOICE_CHANNEL_EFFECT_SEND (there is no
//! audio to mix: Accord carries no media).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

use crate::actors::guild::{GuildMsg, SoundMsg};
use crate::api::extract::{Json, Path};
use crate::api::routes::channels::{guild_of, visible_channel};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, GuildId, SoundId};

pub fn routes() -> Router<App> {
    Router::new().route("/channels/{channel_id}/send-soundboard-sound", post(send))
}

/// Body of `POST /channels/{id}/send-soundboard-sound`.
#[derive(Debug, Default, Deserialize)]
struct SendBody {
    sound_id: Option<SoundId>,
    /// The guild the sound is from (absent: this guild's, or a default sound).
    source_guild_id: Option<GuildId>,
}

/// `POST /channels/{id}/send-soundboard-sound` `{sound_id, source_guild_id}`: the caller must
/// be connected to the voice channel, not deafened, muted or suppressed, with SPEAK and
/// USE_SOUNDBOARD (USE_EXTERNAL_SOUNDS too for another guild's sound, which they must be a
/// member of). 204.
async fn send(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Json(body): Json<SendBody>,
) -> Result<StatusCode, ApiError> {
    let sound = body
        .sound_id
        .ok_or_else(|| FieldErrors::single("sound_id", FieldError::Required))?;
    let channel = visible_channel(&app, caller.user_id, id).await?;
    let guild = guild_of(&channel).ok_or(ApiError::coded(
        StatusCode::BAD_REQUEST,
        50024,
        "invalid-channel-type",
    ))?;
    let external = match body.source_guild_id {
        Some(source) if source != guild => Some(
            app.services
                .ask_guild(source, |reply| {
                    GuildMsg::Sounds(SoundMsg::Get {
                        user: caller.user_id,
                        id: sound,
                        reply,
                    })
                })
                .await?,
        ),
        _ => None,
    };
    app.services
        .ask_guild(guild, |reply| {
            GuildMsg::Sounds(SoundMsg::Play {
                user: caller.user_id,
                channel: id,
                sound,
                external,
                reply,
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
