//! `/guilds/{id}/soundboard-sounds`: a guild's soundboard. A sound is uploaded as a data URI
//! of an MP3 or Ogg file (at most `limits.guild.max_soundboard_sound_size` bytes), stored on
//! the CDN (`/soundboard-sounds/{id}`) before the guild actor records it.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{GuildMsg, SoundCreate, SoundMsg, SoundPatch, validate_sound_fields};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{EmojiId, GuildId, SoundId};
use crate::model::SoundFormat;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/guilds/{guild_id}/soundboard-sounds",
            get(list).post(create),
        )
        .route(
            "/guilds/{guild_id}/soundboard-sounds/{sound_id}",
            get(get_sound).patch(update).delete(delete),
        )
}

/// `GET /guilds/{id}/soundboard-sounds` (members): `{"items": [...]}`.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Sounds(SoundMsg::List {
                    user: caller.user_id,
                    reply,
                })
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/soundboard-sounds/{sound}` (members; 10097 Unknown Sound).
async fn get_sound(
    State(app): State<App>,
    caller: Caller,
    Path((id, sound)): Path<(GuildId, SoundId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Sounds(SoundMsg::Get {
                    user: caller.user_id,
                    id: sound,
                    reply,
                })
            })
            .await?,
    ))
}

/// Body of `POST /guilds/{id}/soundboard-sounds`.
#[derive(Debug, Default, Deserialize)]
struct CreateBody {
    name: Option<String>,
    sound: Option<String>,
    volume: Option<f64>,
    emoji_id: Option<EmojiId>,
    emoji_name: Option<String>,
}

fn bad_sound() -> ApiError {
    FieldErrors::single(
        "sound",
        FieldError::BadType {
            expected: "an MP3 or Ogg file as a data URI".into(),
        },
    )
}

/// The bytes of a `data:audio/…;base64,` URI holding an MP3 or Ogg file of at most `max`
/// bytes.
fn decode_sound(uri: &str, max: usize) -> Result<Vec<u8>, ApiError> {
    let b64 = uri
        .strip_prefix("data:")
        .and_then(|r| r.split_once(";base64,"))
        .map(|(_, b)| b.trim())
        .ok_or_else(bad_sound)?;
    let too_large = || FieldErrors::single("sound", FieldError::MaxLength { max });
    if b64.len() / 4 * 3 > max + 3 {
        return Err(too_large());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad_sound())?;
    if bytes.len() > max {
        return Err(too_large());
    }
    SoundFormat::detect(&bytes).ok_or_else(bad_sound)?;
    Ok(bytes)
}

/// `POST /guilds/{id}/soundboard-sounds` (CREATE_GUILD_EXPRESSIONS or
/// MANAGE_GUILD_EXPRESSIONS): `name` (2–32), `sound` (MP3/Ogg data URI), `volume` (0–1),
/// `emoji_id`/`emoji_name`. At most `limits.guild.max_soundboard_sounds` (30045). 201.
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let actor = app.services.guild(id).await?;
    // Permission and room first, so a refused request stores nothing.
    ask(&app.services, &actor, |reply| {
        GuildMsg::Sounds(SoundMsg::MayCreate {
            user: caller.user_id,
            reply,
        })
    })
    .await?;
    let mut errs = FieldErrors::default();
    if body.name.is_none() {
        errs.add("name", FieldError::Required);
    }
    if body.sound.is_none() {
        errs.add("sound", FieldError::Required);
    }
    validate_sound_fields(
        &mut errs,
        body.name.as_deref(),
        body.volume,
        body.emoji_name.as_deref(),
    );
    errs.into_result()?;
    let (Some(name), Some(sound)) = (body.name, body.sound) else {
        return Err(ApiError::Internal);
    };
    let max = app.config().get().limits.guild.max_soundboard_sound_size;
    let bytes = decode_sound(&sound, max)?;
    let sound_id: SoundId = app.services.ids.next()?;
    app.cdn
        .put_sound(sound_id, &bytes)
        .await
        .map_err(ApiError::internal)?;
    let create = SoundCreate {
        id: sound_id,
        name,
        volume: body.volume,
        emoji_id: body.emoji_id,
        emoji_name: body.emoji_name,
    };
    let result = ask(&app.services, &actor, |reply| {
        GuildMsg::Sounds(SoundMsg::Create {
            user: caller.user_id,
            body: create,
            reply,
        })
        .with_reason(reason)
    })
    .await;
    if result.is_err() {
        app.cdn.delete_sound(sound_id).await;
    }
    Ok((StatusCode::CREATED, Json(result?)))
}

/// `PATCH /guilds/{id}/soundboard-sounds/{sound}`: `name`, `volume`, `emoji_id`,
/// `emoji_name`. MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for one's own sound.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, sound)): Path<(GuildId, SoundId)>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<SoundPatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Sounds(SoundMsg::Update {
                    user: caller.user_id,
                    id: sound,
                    patch,
                    reply,
                })
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/soundboard-sounds/{sound}`: 204, and the file leaves the CDN.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, sound)): Path<(GuildId, SoundId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Sounds(SoundMsg::Delete {
                user: caller.user_id,
                id: sound,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    app.cdn.delete_sound(sound).await;
    Ok(StatusCode::NO_CONTENT)
}
