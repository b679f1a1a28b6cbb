//! `/channels/{id}/pins` and its successor `/channels/{id}/messages/pins` (what discord.js
//! 14.20+ and discord.py 2.6+ call).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, MessageId};
use crate::model::Timestamp;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/channels/{channel_id}/pins", get(list))
        .route(
            "/channels/{channel_id}/pins/{message_id}",
            put(pin).delete(unpin),
        )
        .route("/channels/{channel_id}/messages/pins", get(list_paged))
        .route(
            "/channels/{channel_id}/messages/pins/{message_id}",
            put(pin).delete(unpin),
        )
}

#[derive(Debug, Deserialize)]
struct PinsQuery {
    /// ISO-8601: only pins older than this.
    before: Option<String>,
    limit: Option<usize>,
}

/// `GET /channels/{id}/messages/pins?before&limit` — `{items: [{pinned_at, message}], has_more}`,
/// newest first, limit 1..=50. The pin time is not stored yet, so `pinned_at` is the message's
/// own timestamp (consistent with `before`, so paging works).
async fn list_paged(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Query(q): Query<PinsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=50).contains(&limit) {
        return Err(FieldErrors::single(
            "limit",
            FieldError::NumberMax { max: 50 },
        ));
    }
    let before = match q.before.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            Timestamp::parse(s)
                .ok_or_else(|| FieldErrors::single("before", FieldError::InvalidDate))?,
        ),
    };
    let Value::Array(pins) = list(State(app), caller, Path(id)).await?.0 else {
        return Ok(Json(json!({"items": [], "has_more": false})));
    };
    let mut items: Vec<Value> = pins
        .into_iter()
        .filter_map(|m| {
            let at = Timestamp::parse(m["timestamp"].as_str()?)?;
            before
                .is_none_or(|b| at < b)
                .then(|| json!({"pinned_at": at, "message": m}))
        })
        .collect();
    let has_more = items.len() > limit;
    items.truncate(limit);
    Ok(Json(json!({"items": items, "has_more": has_more})))
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
