//! `/channels/{id}/messages`: send, read, edit, delete and crosspost messages.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::channel::{ChannelMsg, MessageCreate, MessageEdit};
use crate::api::extract::{Json, Path, Query, RawJson};
use crate::api::routes::channels::upload;
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{AttachmentId, ChannelId, MessageId};
use crate::store::MessagePage;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/channels/{channel_id}/messages", get(list).post(create))
        .route(
            "/channels/{channel_id}/messages/bulk-delete",
            post(bulk_delete),
        )
        .route(
            "/channels/{channel_id}/messages/bulk_delete",
            post(bulk_delete),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}",
            get(get_message).patch(edit).delete(delete),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/crosspost",
            post(crosspost),
        )
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    before: Option<MessageId>,
    after: Option<MessageId>,
    around: Option<MessageId>,
    limit: Option<usize>,
}

/// `GET /channels/{id}/messages?before|after|around&limit` — newest first, limit 1..=100.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Query(q): Query<ListQuery>,
) -> Result<RawJson, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(FieldErrors::single(
            "limit",
            FieldError::NumberMax { max: 100 },
        ));
    }
    let page = match (q.around, q.before, q.after) {
        (Some(m), _, _) => MessagePage::Around(m),
        (_, Some(m), _) => MessagePage::Before(m),
        (_, _, Some(m)) => MessagePage::After(m),
        _ => MessagePage::Latest,
    };
    let actor = app.services.channel(id).await?;
    Ok(RawJson(
        ask(&app.services, &actor, |reply| ChannelMsg::ListMessages {
            user: caller.user_id,
            page,
            limit,
            reply,
        })
        .await?,
    ))
}

/// `POST /channels/{id}/messages`: JSON, or `multipart/form-data` with `payload_json` and
/// `files[n]` (stored on the CDN before the message is created; removed again if it isn't).
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    request: Request,
) -> Result<RawJson, ApiError> {
    let actor = app.services.channel(id).await?;
    let is_multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let body = if is_multipart {
        let multipart = Multipart::from_request(request, &app)
            .await
            .map_err(|_| ApiError::InvalidJson)?;
        upload::message_from_multipart(&app, id, multipart).await?
    } else {
        let Json(body) = Json::<MessageCreate>::from_request(request, &app).await?;
        body
    };
    let uploaded: Vec<AttachmentId> = body.uploaded.iter().map(|a| a.id).collect();
    let body = Box::new(body);
    let result = ask(&app.services, &actor, |reply| ChannelMsg::CreateMessage {
        author: caller.user_id,
        body,
        reply,
    })
    .await;
    if result.is_err() {
        for a in uploaded {
            app.cdn.delete_attachment(id, a).await;
        }
    }
    Ok(RawJson(result?))
}

/// `GET /channels/{id}/messages/{message}`
async fn get_message(
    State(app): State<App>,
    caller: Caller,
    Path((id, message)): Path<(ChannelId, MessageId)>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.channel(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::GetMessage {
            user: caller.user_id,
            id: message,
            reply,
        })
        .await?,
    ))
}

/// `PATCH /channels/{id}/messages/{message}`
async fn edit(
    State(app): State<App>,
    caller: Caller,
    Path((id, message)): Path<(ChannelId, MessageId)>,
    Json(body): Json<MessageEdit>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.channel(id).await?;
    let body = Box::new(body);
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::EditMessage {
            user: caller.user_id,
            id: message,
            body,
            reply,
        })
        .await?,
    ))
}

/// `DELETE /channels/{id}/messages/{message}`
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, message)): Path<(ChannelId, MessageId)>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::DeleteMessage {
        user: caller.user_id,
        id: message,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct BulkDelete {
    messages: Vec<MessageId>,
}

/// `POST /channels/{id}/messages/bulk-delete` (2..=100 messages, none older than 14 days).
async fn bulk_delete(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Json(body): Json<BulkDelete>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::BulkDelete {
        user: caller.user_id,
        ids: body.messages,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /channels/{id}/messages/{message}/crosspost`: publishes a message of an announcement
/// channel to the channels following it (your own with SEND_MESSAGES, others' with
/// MANAGE_MESSAGES). Answers the message, now flagged CROSSPOSTED; 40033 when it already was.
async fn crosspost(
    State(app): State<App>,
    caller: Caller,
    Path((id, message)): Path<(ChannelId, MessageId)>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.channel(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::Crosspost {
            user: caller.user_id,
            id: message,
            reply,
        })
        .await?,
    ))
}
