//! `/guilds/{id}/emojis`: custom emojis (GUILD_EMOJIS_UPDATE on every change).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{EmojiCreate, EmojiPatch, GuildMsg, validate_emoji_name};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{EmojiId, GuildId, RoleId};

/// Discord's emoji image limit.
const MAX_EMOJI_BYTES: usize = 256 * 1024;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/emojis", get(list).post(create))
        .route(
            "/guilds/{guild_id}/emojis/{emoji_id}",
            get(get_emoji).patch(update).delete(delete),
        )
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    name: Option<String>,
    /// A data URI (`data:image/png;base64,...`).
    image: Option<String>,
    roles: Option<Vec<RoleId>>,
}

/// `GET /guilds/{id}/emojis` (members).
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::ListEmojis {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/emojis/{emoji}` (members; 10014 Unknown Emoji).
async fn get_emoji(
    State(app): State<App>,
    caller: Caller,
    Path((id, emoji)): Path<(GuildId, EmojiId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::GetEmoji {
                user: caller.user_id,
                id: emoji,
                reply,
            })
            .await?,
    ))
}

/// `POST /guilds/{id}/emojis` (CREATE_GUILD_EXPRESSIONS or MANAGE_GUILD_EXPRESSIONS): name
/// 2–32 of `[A-Za-z0-9_]`, image a PNG/JPEG/GIF/WebP data URI up to 256 KiB. 201 with the emoji.
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let actor = app.services.guild(id).await?;
    // Permission first, so a refused request stores nothing.
    ask(&app.services, &actor, |reply| GuildMsg::MayCreateEmoji {
        user: caller.user_id,
        reply,
    })
    .await?;
    let mut errs = FieldErrors::default();
    let name = body.name.unwrap_or_default();
    if name.is_empty() {
        errs.add("name", FieldError::Required);
    } else {
        validate_emoji_name(&mut errs, &name);
    }
    let image = body.image.unwrap_or_default();
    if image.is_empty() {
        errs.add("image", FieldError::Required);
    }
    errs.into_result()?;
    let emoji: EmojiId = app.services.ids.next()?;
    let hash = app
        .cdn
        .put_image_data_uri(
            crate::cdn::ImageKind::Emoji,
            emoji.snowflake(),
            &image,
            crate::cdn::ImageLimits {
                max_bytes: MAX_EMOJI_BYTES,
                max_pixels: app.config().get().cdn.max_image_pixels,
            },
        )
        .await
        .map_err(|e| crate::cdn::field_error("image", e, MAX_EMOJI_BYTES))?;
    let body = EmojiCreate {
        id: emoji,
        name,
        image: hash,
        roles: body.roles.unwrap_or_default(),
    };
    let v = ask(&app.services, &actor, |reply| {
        GuildMsg::CreateEmoji {
            user: caller.user_id,
            body,
            reply,
        }
        .with_reason(reason)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `PATCH /guilds/{id}/emojis/{emoji}`: `name`, `roles`.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, emoji)): Path<(GuildId, EmojiId)>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<EmojiPatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::UpdateEmoji {
                    user: caller.user_id,
                    id: emoji,
                    patch,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/emojis/{emoji}`: 204.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, emoji)): Path<(GuildId, EmojiId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::DeleteEmoji {
                user: caller.user_id,
                id: emoji,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    // The image goes with the emoji, as it does for application emojis.
    app.cdn
        .delete_images_of(crate::cdn::ImageKind::Emoji, emoji.snowflake())
        .await;
    Ok(StatusCode::NO_CONTENT)
}
