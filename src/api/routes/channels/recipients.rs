//! `/channels/{id}/recipients/{user}`: group DM members (the channel actor owns the list).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use serde::Deserialize;

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::api::extract::{Json, Path, UserAccount};
use crate::app::App;
use crate::error::ApiError;
use crate::id::{ChannelId, UserId};

pub fn routes() -> Router<App> {
    Router::new().route(
        "/channels/{channel_id}/recipients/{user_id}",
        put(add).delete(remove),
    )
}

/// Discord's body (OAuth2 `access_token` for bots adding users, `nick`); accepted, not used.
#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
struct AddBody {
    access_token: Option<String>,
    nick: Option<String>,
}

/// `PUT /channels/{id}/recipients/{user}` (user accounts only: Discord refuses bots, which
/// add users to a group DM through OAuth2 instead): any recipient adds a user (at most 10 recipients,
/// 30004): 204; CHANNEL_RECIPIENT_ADD to the others, CHANNEL_CREATE to the new one.
async fn add(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((id, target)): Path<(ChannelId, UserId)>,
    Json(_body): Json<AddBody>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::AddRecipient {
        user: caller.user_id,
        target,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /channels/{id}/recipients/{user}` (user accounts only): the owner removes anyone, anyone removes
/// themselves: 204; CHANNEL_RECIPIENT_REMOVE, CHANNEL_DELETE to the removed user.
async fn remove(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((id, target)): Path<(ChannelId, UserId)>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::RemoveRecipient {
        user: caller.user_id,
        target,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
