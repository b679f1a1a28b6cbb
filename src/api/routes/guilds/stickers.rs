//! `/guilds/{id}/stickers`: a guild's stickers (GUILD_STICKERS_UPDATE on every change). Created
//! from a `multipart/form-data` upload (`name`, `description`, `tags`, `file`) whose format —
//! PNG, APNG, GIF or Lottie JSON — is read from the file's bytes.

use axum::Router;
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{
    GuildMsg, StickerCreate, StickerMsg, StickerPatch, validate_sticker_fields,
};
use crate::api::extract::{AuditReason, Json, Path, parse_json};
use crate::app::App;
use crate::auth::Caller;
use crate::cdn::sticker::{StickerFileError, detect};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{GuildId, StickerId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/stickers", get(list).post(create))
        .route(
            "/guilds/{guild_id}/stickers/{sticker_id}",
            get(get_sticker).patch(update).delete(delete),
        )
}

/// `GET /guilds/{id}/stickers` (members; `user` for those who may manage expressions).
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Stickers(StickerMsg::List {
                    user: caller.user_id,
                    reply,
                })
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/stickers/{sticker}` (members; 10060 Unknown Sticker).
async fn get_sticker(
    State(app): State<App>,
    caller: Caller,
    Path((id, sticker)): Path<(GuildId, StickerId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Stickers(StickerMsg::Get {
                    user: caller.user_id,
                    id: sticker,
                    reply,
                })
            })
            .await?,
    ))
}

/// The text fields of the form (also accepted as one `payload_json` part).
#[derive(Debug, Default, Deserialize)]
struct StickerForm {
    name: Option<String>,
    description: Option<String>,
    tags: Option<String>,
}

/// The form as sent, the file read up to `max` bytes (`Err(())`: it was larger).
struct Upload {
    form: StickerForm,
    file: Option<Result<Vec<u8>, ()>>,
}

async fn read_capped(mut field: Field<'_>, max: usize) -> Result<Result<Vec<u8>, ()>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| ApiError::InvalidJson)? {
        if bytes.len() + chunk.len() > max {
            return Ok(Err(()));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Ok(bytes))
}

async fn read_upload(app: &App, request: Request) -> Result<Upload, ApiError> {
    let mut upload = Upload {
        form: StickerForm::default(),
        file: None,
    };
    let is_multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        // Nothing usable: the field errors below say what is missing.
        return Ok(upload);
    }
    let max = app.config().get().limits.guild.max_sticker_size;
    let mut multipart = Multipart::from_request(request, app)
        .await
        .map_err(|_| ApiError::InvalidJson)?;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| ApiError::InvalidJson)?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            upload.file = Some(read_capped(field, max).await?);
            continue;
        }
        let text = field.text().await.map_err(|_| ApiError::InvalidJson)?;
        match name.as_str() {
            "name" => upload.form.name = Some(text),
            "description" => upload.form.description = Some(text),
            "tags" => upload.form.tags = Some(text),
            "payload_json" => {
                let p: StickerForm = parse_json(text.as_bytes())?;
                upload.form.name = p.name.or(upload.form.name);
                upload.form.description = p.description.or(upload.form.description);
                upload.form.tags = p.tags.or(upload.form.tags);
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /guilds/{id}/stickers` (CREATE_GUILD_EXPRESSIONS or MANAGE_GUILD_EXPRESSIONS):
/// `multipart/form-data` with `name` (2–30), `tags` (1–200), `description` (empty or 2–100) and
/// `file`, a PNG, APNG, GIF or Lottie JSON file of at most `limits.guild.max_sticker_size` bytes
/// (50138 when larger; 50046 for a file that claims a format it doesn't decode as). At most
/// `limits.guild.max_stickers` per guild (30039). 201 with the sticker.
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let actor = app.services.guild(id).await?;
    // Permission and room first, so a refused request stores nothing.
    ask(&app.services, &actor, |reply| {
        GuildMsg::Stickers(StickerMsg::MayCreate {
            user: caller.user_id,
            reply,
        })
    })
    .await?;
    let Upload { form, file } = read_upload(&app, request).await?;
    let mut errs = FieldErrors::default();
    let name = form.name.unwrap_or_default();
    let tags = form.tags.unwrap_or_default();
    let description = form.description.unwrap_or_default();
    if name.is_empty() {
        errs.add("name", FieldError::Required);
    }
    if tags.is_empty() {
        errs.add("tags", FieldError::Required);
    }
    validate_sticker_fields(
        &mut errs,
        (!name.is_empty()).then_some(name.as_str()),
        Some(&description),
        (!tags.is_empty()).then_some(tags.as_str()),
    );
    let bytes = match file {
        Some(Ok(bytes)) if !bytes.is_empty() => bytes,
        Some(Err(())) => {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                50138,
                "asset-too-large",
            ));
        }
        _ => {
            errs.add("file", FieldError::Required);
            Vec::new()
        }
    };
    errs.into_result()?;
    let format_type = detect(&bytes).map_err(|e| match e {
        StickerFileError::Unrecognized => FieldErrors::single(
            "file",
            FieldError::BadType {
                expected: "a PNG, APNG, GIF or Lottie JSON file".into(),
            },
        ),
        StickerFileError::InvalidAsset => {
            ApiError::coded(StatusCode::BAD_REQUEST, 50046, "invalid-asset")
        }
    })?;
    let sticker: StickerId = app.services.ids.next()?;
    app.cdn
        .put_sticker(sticker, format_type, &bytes)
        .await
        .map_err(ApiError::internal)?;
    let body = StickerCreate {
        id: sticker,
        name,
        description,
        tags,
        format_type,
    };
    let result = ask(&app.services, &actor, |reply| {
        GuildMsg::Stickers(StickerMsg::Create {
            user: caller.user_id,
            body,
            reply,
        })
        .with_reason(reason)
    })
    .await;
    if result.is_err() {
        app.cdn.delete_sticker(sticker).await;
    }
    Ok((StatusCode::CREATED, Json(result?)))
}

/// `PATCH /guilds/{id}/stickers/{sticker}`: `name`, `description` (null or empty clears it),
/// `tags`. MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for one's own sticker.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, sticker)): Path<(GuildId, StickerId)>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<StickerPatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Stickers(StickerMsg::Update {
                    user: caller.user_id,
                    id: sticker,
                    patch,
                    reply,
                })
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/stickers/{sticker}`: 204. The file stays on the CDN, as emoji images
/// do, so messages that carried the sticker still show it.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, sticker)): Path<(GuildId, StickerId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Stickers(StickerMsg::Delete {
                user: caller.user_id,
                id: sticker,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    app.cdn.delete_sticker(sticker).await;
    Ok(StatusCode::NO_CONTENT)
}
