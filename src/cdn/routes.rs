//! Serving CDN files: `GET /attachments/...`, `GET /emojis/{id}.{ext}`, `GET /stickers/{id}.{ext}`
//! `GET /soundboard-sounds/{id}` and `GET /{avatars,icons,...}/{id}/{hash}.{ext}`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{ImageKind, content_type_for, inspect_image, resize};
use crate::api::extract::{Path, Query};
use crate::app::App;
use crate::error::ApiError;
use crate::id::{AttachmentId, ChannelId, Snowflake, SoundId, StickerId};
use crate::model::{SoundFormat, StickerFormat};

pub fn routes() -> Router<App> {
    let mut router = Router::new()
        .route(
            "/attachments/{channel_id}/{attachment_id}/{filename}",
            get(attachment),
        )
        .route("/emojis/{file}", get(emoji))
        .route("/stickers/{file}", get(sticker))
        .route("/soundboard-sounds/{sound_id}", get(sound));
    for kind in [
        "avatars",
        "banners",
        "icons",
        "splashes",
        "discovery-splashes",
        "emojis",
        "stickers",
        "app-icons",
        "team-icons",
    ] {
        router = router.route(
            &format!("/{kind}/{{owner_id}}/{{file}}"),
            get(
                move |s: State<App>, p: Path<(Snowflake, String)>, q: Query<SizeQuery>| {
                    image(s, kind, p, q)
                },
            ),
        );
    }
    router
}

fn file_response(bytes: Vec<u8>, content_type: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // Names are content-addressed (hashes) or id-scoped: they never change.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /soundboard-sounds/{id}`: a soundboard sound's file (MP3 or Ogg), by id as on Discord.
/// A default sound is served from the CDN directory when the operator put a file there, else
/// from the audio built into the binary (see `model::soundboard::default_sound_audio`).
async fn sound(State(app): State<App>, Path(id): Path<SoundId>) -> Result<Response, ApiError> {
    let bytes = match app.cdn.get_sound(id).await {
        Some(bytes) => bytes,
        None => crate::model::soundboard::default_sound_audio(id)
            .ok_or(ApiError::NotFound)?
            .to_vec(),
    };
    let ct = SoundFormat::detect(&bytes).map_or("application/octet-stream", |f| f.content_type());
    Ok(file_response(bytes, ct))
}

async fn attachment(
    State(app): State<App>,
    Path((channel, id, filename)): Path<(ChannelId, AttachmentId, String)>,
) -> Result<Response, ApiError> {
    let bytes = app
        .cdn
        .get_attachment(channel, id, &filename)
        .await
        .ok_or(ApiError::NotFound)?;
    let ct = inspect_image(&bytes).map_or_else(|| content_type_for(&filename), |i| i.content_type);
    Ok(file_response(bytes, ct))
}

/// `GET /emojis/{id}.{ext}`: a custom emoji by id, the URL Discord clients build.
async fn emoji(State(app): State<App>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let id: Snowflake = file
        .split_once('.')
        .map_or(file.as_str(), |(id, _)| id)
        .parse()
        .map_err(|_| ApiError::NotFound)?;
    let bytes = app
        .cdn
        .get_image_by_owner(ImageKind::Emoji, id)
        .await
        .ok_or(ApiError::NotFound)?;
    let ct = inspect_image(&bytes).map_or("application/octet-stream", |i| i.content_type);
    Ok(file_response(bytes, ct))
}

/// `GET /stickers/{id}.{png,gif,json}`: a sticker by id, the URL Discord clients build from
/// `format_type`, served with the stored file's content type. `?size=` scales a static PNG down
/// (APNG, GIF and Lottie are served as stored: resizing would drop the animation).
async fn sticker(
    State(app): State<App>,
    Path(file): Path<String>,
    Query(q): Query<SizeQuery>,
) -> Result<Response, ApiError> {
    let id: StickerId = file
        .split_once('.')
        .map_or(file.as_str(), |(id, _)| id)
        .parse()
        .map_err(|_| ApiError::NotFound)?;
    let (bytes, ct) = app.cdn.get_sticker(id).await.ok_or(ApiError::NotFound)?;
    if let Some(size) = q.size {
        check_size(size)?;
        if super::sticker::detect(&bytes) == Ok(StickerFormat::Png) {
            let original = bytes.clone();
            let max_pixels = app.config().get().cdn.max_image_pixels;
            if let Some(small) =
                tokio::task::spawn_blocking(move || resize(&original, size, max_pixels))
                    .await
                    .map_err(ApiError::internal)?
            {
                return Ok(file_response(small, "image/png"));
            }
        }
    }
    Ok(file_response(bytes, ct))
}

#[derive(Debug, Deserialize)]
struct SizeQuery {
    size: Option<u32>,
}

/// Discord's `?size=`: a power of two from 16 to 4096.
fn check_size(size: u32) -> Result<(), ApiError> {
    if (16..=4096).contains(&size) && size.is_power_of_two() {
        Ok(())
    } else {
        Err(ApiError::coded(
            axum::http::StatusCode::BAD_REQUEST,
            50035,
            "invalid-form-body",
        ))
    }
}

async fn image(
    State(app): State<App>,
    kind: &'static str,
    Path((owner, file)): Path<(Snowflake, String)>,
    Query(q): Query<SizeQuery>,
) -> Result<Response, ApiError> {
    let kind = ImageKind::from_dir(kind).ok_or(ApiError::NotFound)?;
    let hash = file.rsplit_once('.').map_or(file.as_str(), |(h, _)| h);
    let bytes = app
        .cdn
        .get_image(kind, owner, hash)
        .await
        .ok_or(ApiError::NotFound)?;
    if let Some(size) = q.size {
        check_size(size)?;
        let original = bytes.clone();
        let max_pixels = app.config().get().cdn.max_image_pixels;
        if let Some(small) =
            tokio::task::spawn_blocking(move || resize(&original, size, max_pixels))
                .await
                .map_err(ApiError::internal)?
        {
            return Ok(file_response(small, "image/png"));
        }
    }
    let ct = inspect_image(&bytes).map_or("application/octet-stream", |i| i.content_type);
    Ok(file_response(bytes, ct))
}
