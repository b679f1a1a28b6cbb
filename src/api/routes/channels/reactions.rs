//! `/channels/{id}/messages/{message}/reactions/*`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde_json::Value;

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{ChannelId, MessageId, UserId};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions",
            delete(clear_all),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
            get(list).delete(clear_emoji),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
            delete(remove_own).put(add),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
            delete(remove_user),
        )
}

/// Emoji arrive URL-encoded as `name` (unicode) or `name:id` (custom); axum decodes the path.
fn normalize(emoji: String) -> String {
    emoji.trim().to_string()
}

async fn react(
    app: &App,
    user: UserId,
    id: ChannelId,
    message: MessageId,
    emoji: String,
    add: bool,
    target: Option<UserId>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    let emoji = normalize(emoji);
    ask(&app.services, &actor, |reply| ChannelMsg::React {
        user,
        id: message,
        emoji,
        add,
        target,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT …/reactions/{emoji}/@me`
async fn add(
    State(app): State<App>,
    caller: Caller,
    Path((id, message, emoji)): Path<(ChannelId, MessageId, String)>,
) -> Result<StatusCode, ApiError> {
    react(&app, caller.user_id, id, message, emoji, true, None).await
}

/// `DELETE …/reactions/{emoji}/@me`
async fn remove_own(
    State(app): State<App>,
    caller: Caller,
    Path((id, message, emoji)): Path<(ChannelId, MessageId, String)>,
) -> Result<StatusCode, ApiError> {
    react(&app, caller.user_id, id, message, emoji, false, None).await
}

/// `DELETE …/reactions/{emoji}/{user}` (MANAGE_MESSAGES)
async fn remove_user(
    State(app): State<App>,
    caller: Caller,
    Path((id, message, emoji, target)): Path<(ChannelId, MessageId, String, UserId)>,
) -> Result<StatusCode, ApiError> {
    react(
        &app,
        caller.user_id,
        id,
        message,
        emoji,
        false,
        Some(target),
    )
    .await
}

/// `GET …/reactions/{emoji}`: users who reacted.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path((id, message, emoji)): Path<(ChannelId, MessageId, String)>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.channel(id).await?;
    let emoji = normalize(emoji);
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::ListReactions {
            user: caller.user_id,
            id: message,
            emoji,
            reply,
        })
        .await?,
    ))
}

async fn clear(
    app: &App,
    user: UserId,
    id: ChannelId,
    message: MessageId,
    emoji: Option<String>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::ClearReactions {
        user,
        id: message,
        emoji,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/reactions` (MANAGE_MESSAGES): every reaction; MESSAGE_REACTION_REMOVE_ALL.
async fn clear_all(
    State(app): State<App>,
    caller: Caller,
    Path((id, message)): Path<(ChannelId, MessageId)>,
) -> Result<StatusCode, ApiError> {
    clear(&app, caller.user_id, id, message, None).await
}

/// `DELETE …/reactions/{emoji}` (MANAGE_MESSAGES): every reaction with that emoji;
/// MESSAGE_REACTION_REMOVE_EMOJI.
async fn clear_emoji(
    State(app): State<App>,
    caller: Caller,
    Path((id, message, emoji)): Path<(ChannelId, MessageId, String)>,
) -> Result<StatusCode, ApiError> {
    clear(&app, caller.user_id, id, message, Some(normalize(emoji))).await
}
