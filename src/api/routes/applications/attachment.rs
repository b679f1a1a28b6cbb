//! `POST /applications/{id}/attachment`: a file uploaded for an application (the developer
//! portal's app-icon and activity asset upload), stored on the CDN and answered as
//! `{attachment: {id, filename, size, url, proxy_url, …}}`. Files live under
//! `attachments/{application_id}/{attachment_id}/{filename}`, so the CDN's attachment route
//! serves them like message attachments.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::routing::post;
use serde_json::{Value, json};

use crate::api::extract::{Json, Path};
use crate::api::routes::teams::access::{Access, application_or_bot};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ApplicationId, AttachmentId, ChannelId};
use crate::model::message::Attachment;

pub fn routes() -> Router<App> {
    Router::new().route("/applications/{application_id}/attachment", post(upload))
}

/// `POST /applications/{id}/attachment` (multipart, part `file`; at most
/// `limits.application.max_attachment_size` bytes): the application's bot or its developers.
async fn upload(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::Developer).await?;
    // Parsed after the access check, so a stranger learns nothing from the body's shape.
    let mut multipart = Multipart::from_request(request, &app)
        .await
        .map_err(|_| FieldErrors::single("file", FieldError::Required))?;
    let max = app.config().get().limits.application.max_attachment_size;
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| ApiError::InvalidJson)?
    {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("file").to_string();
        let content_type = field.content_type().map(str::to_string);
        let bytes = field.bytes().await.map_err(|_| ApiError::PayloadTooLarge)?;
        if bytes.len() > max {
            return Err(ApiError::PayloadTooLarge);
        }
        file = Some((filename, content_type, bytes));
    }
    let Some((filename, content_type, bytes)) = file.filter(|f| !f.2.is_empty()) else {
        return Err(FieldErrors::single("file", FieldError::Required));
    };
    let attachment: AttachmentId = app.services.ids.next()?;
    // The application's id stands in for the channel of a message attachment.
    let folder = ChannelId(a.id.snowflake());
    let stored = app
        .cdn
        .put_attachment(folder, attachment, &filename, &bytes)
        .await
        .map_err(ApiError::internal)?;
    let image = crate::cdn::inspect_image(&bytes);
    let url = format!(
        "{}/attachments/{folder}/{attachment}/{stored}",
        app.cdn_endpoint()
    );
    let out = Attachment {
        id: attachment,
        size: bytes.len() as u64,
        proxy_url: url.clone(),
        url,
        content_type: image
            .map(|i| i.content_type.to_string())
            .or(content_type)
            .or_else(|| Some(crate::cdn::content_type_for(&stored).to_string())),
        width: image.map(|i| i.width),
        height: image.map(|i| i.height),
        description: None,
        filename: stored,
    };
    tracing::info!(application = %a.id, attachment = %out.id, size = out.size, "application attachment stored");
    Ok(Json(json!({ "attachment": out })))
}
