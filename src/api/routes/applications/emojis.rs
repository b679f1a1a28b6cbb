//! `/applications/{id}/emojis`: application emojis, which its bot may use in every guild. The
//! application's bot (with its token) or its owner / team developers manage them, as on Discord;
//! there is no gateway event for them. Images go through the CDN like guild emojis
//! (`emojis/{id}`), names follow the guild emoji rules.
//!
//! Like commands, they are developer data kept in the store: no actor owns them and each write
//! is one store call.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::actors::guild::validate_emoji_name;
use crate::api::extract::{Json, Path};
use crate::api::routes::teams::access::{Access, application_or_bot};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ApplicationId, EmojiId};
use crate::model::{AppEmojiRecord, ApplicationRecord};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/applications/{application_id}/emojis",
            get(list).post(create),
        )
        .route(
            "/applications/{application_id}/emojis/{emoji_id}",
            get(get_one).patch(update).delete(delete),
        )
}

/// The `user` of an application's emojis: its owner (a team's pseudo-user for a team's
/// application), as Discord shows them.
async fn owner_json(app: &App, a: &ApplicationRecord) -> Result<Value, ApiError> {
    if let Some(team) = a.team_id
        && let Some(team) = app.store().get_team(team).await?
    {
        return Ok(team.pseudo_user());
    }
    Ok(json!(app.services.users.public(a.owner_id).await?))
}

async fn emoji_of(
    app: &App,
    a: &ApplicationRecord,
    id: EmojiId,
) -> Result<AppEmojiRecord, ApiError> {
    app.store()
        .get_app_emoji(a.id, id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Emoji))
}

/// `GET /applications/{id}/emojis`: `{items: [...]}`, Discord's list shape for these.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::ReadOnly).await?;
    let owner = owner_json(&app, &a).await?;
    let items: Vec<Value> = app
        .store()
        .app_emojis(a.id)
        .await?
        .iter()
        .map(|e| e.to_json(&owner))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /applications/{id}/emojis/{emoji}` (10014 Unknown Emoji).
async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path((id, emoji)): Path<(ApplicationId, EmojiId)>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::ReadOnly).await?;
    let e = emoji_of(&app, &a, emoji).await?;
    Ok(Json(e.to_json(&owner_json(&app, &a).await?)))
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    name: Option<String>,
    /// A data URI (`data:image/png;base64,...`).
    image: Option<String>,
}

/// `POST /applications/{id}/emojis {name, image}`: name 2–32 of `[A-Za-z0-9_]`, image a
/// PNG/JPEG/GIF/WebP data URI up to `limits.application.max_emoji_size`; 30008 once the
/// application has `limits.application.max_emojis`. 201 with the emoji.
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let span = tracing::info_span!("app_emoji_create", application = %id);
    async move {
        let a = application_or_bot(&app, caller, id, Access::Developer).await?;
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
        let limits = app.config().get().limits.application.clone();
        // Room first, so a refused request stores no image.
        if app.store().app_emojis(a.id).await?.len() >= limits.max_emojis as usize {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                30008,
                "max-emojis-reached",
            ));
        }
        let emoji: EmojiId = app.services.ids.next()?;
        let max = limits.max_emoji_size;
        let hash = app
            .cdn
            .put_image_data_uri(
                crate::cdn::ImageKind::Emoji,
                emoji.snowflake(),
                &image,
                crate::cdn::ImageLimits {
                    max_bytes: max,
                    max_pixels: app.config().get().cdn.max_image_pixels,
                },
            )
            .await
            .map_err(|e| crate::cdn::field_error("image", e, max))?;
        let e = AppEmojiRecord {
            id: emoji,
            application_id: a.id,
            name,
            animated: hash.starts_with("a_"),
            image: hash,
        };
        app.store().put_app_emoji(&e).await?;
        tracing::info!(emoji = %e.id, "application emoji created");
        Ok((
            StatusCode::CREATED,
            Json(e.to_json(&owner_json(&app, &a).await?)),
        ))
    }
    .instrument(span)
    .await
}

#[derive(Debug, Deserialize)]
struct PatchBody {
    name: Option<String>,
}

/// `PATCH /applications/{id}/emojis/{emoji} {name}`: renames it (the only field Discord lets
/// change).
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, emoji)): Path<(ApplicationId, EmojiId)>,
    Json(body): Json<PatchBody>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::Developer).await?;
    let mut e = emoji_of(&app, &a, emoji).await?;
    if let Some(name) = body.name {
        let mut errs = FieldErrors::default();
        validate_emoji_name(&mut errs, &name);
        errs.into_result()?;
        e.name = name;
        app.store().put_app_emoji(&e).await?;
    }
    Ok(Json(e.to_json(&owner_json(&app, &a).await?)))
}

/// `DELETE /applications/{id}/emojis/{emoji}`: 204.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, emoji)): Path<(ApplicationId, EmojiId)>,
) -> Result<StatusCode, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::Developer).await?;
    let e = emoji_of(&app, &a, emoji).await?;
    app.store().delete_app_emoji(a.id, e.id).await?;
    app.cdn
        .delete_images_of(crate::cdn::ImageKind::Emoji, e.id.snowflake())
        .await;
    tracing::info!(application = %a.id, emoji = %e.id, "application emoji deleted");
    Ok(StatusCode::NO_CONTENT)
}
