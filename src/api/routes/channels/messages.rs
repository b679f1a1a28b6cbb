//! `/channels/{id}/messages`: send, read, edit, delete messages.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::channel::{ChannelMsg, MessageCreate, MessageEdit};
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, MessageId};
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
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::ListMessages {
            user: caller.user_id,
            page,
            limit,
            reply,
        })
        .await?,
    ))
}

/// `POST /channels/{id}/messages`
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Json(body): Json<MessageCreate>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.channel(id).await?;
    let body = Box::new(body);
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::CreateMessage {
            author: caller.user_id,
            body,
            reply,
        })
        .await?,
    ))
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
