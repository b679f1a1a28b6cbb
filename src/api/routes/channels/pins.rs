//! `/channels/{id}/pins`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde_json::Value;

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{ChannelId, MessageId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/channels/{channel_id}/pins", get(list))
        .route(
            "/channels/{channel_id}/pins/{message_id}",
            put(pin).delete(unpin),
        )
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.channel(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::ListPins {
            user: caller.user_id,
            reply,
        })
        .await?,
    ))
}

async fn set(
    app: &App,
    caller: Caller,
    id: ChannelId,
    message: MessageId,
    pinned: bool,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::Pin {
        user: caller.user_id,
        id: message,
        pinned,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn pin(
    State(app): State<App>,
    caller: Caller,
    Path((id, message)): Path<(ChannelId, MessageId)>,
) -> Result<StatusCode, ApiError> {
    set(&app, caller, id, message, true).await
}

async fn unpin(
    State(app): State<App>,
    caller: Caller,
    Path((id, message)): Path<(ChannelId, MessageId)>,
) -> Result<StatusCode, ApiError> {
    set(&app, caller, id, message, false).await
}
