//! `/channels/{id}/messages/{id}/ack`: marks a channel read up to a message (a read state, owned
//! by the user actor, announced to the user's sessions as MESSAGE_ACK and listed in READY).

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::user::UserMsg;
use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Path};
use crate::api::routes::channels::visible_channel;
use crate::app::App;
use crate::error::ApiError;
use crate::id::{ChannelId, MessageId};

pub fn routes() -> Router<App> {
    Router::new().route(
        "/channels/{channel_id}/messages/{message_id}/ack",
        post(ack),
    )
}

/// Body of the ack: clients send `{"token": null}`, manual "mark unread" adds `manual` and
/// `mention_count`; the rest is accepted and ignored.
#[derive(Debug, Default, Deserialize)]
struct AckBody {
    #[allow(dead_code)]
    token: Option<Value>,
    manual: Option<bool>,
    mention_count: Option<u32>,
    #[allow(dead_code)]
    last_viewed: Option<u64>,
    #[allow(dead_code)]
    flags: Option<u64>,
}

/// `POST /channels/{id}/messages/{message}/ack` → `{"token": null}`.
async fn ack(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((channel, message)): Path<(ChannelId, MessageId)>,
    Json(body): Json<AckBody>,
) -> Result<Json<Value>, ApiError> {
    // Only a channel the caller can see has a read state (fails with 10003 / 50001 like Discord).
    visible_channel(&app, caller.user_id, channel).await?;
    let mention_count = body
        .manual
        .unwrap_or(false)
        .then_some(body.mention_count)
        .flatten();
    let actor = app.services.user(caller.user_id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| UserMsg::Ack {
            channel,
            message,
            mention_count,
            reply,
        })
        .await?,
    ))
}
