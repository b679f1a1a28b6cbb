//! `POST /channels/{id}/typing`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::api::extract::Path;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::ChannelId;

pub fn routes() -> Router<App> {
    Router::new().route("/channels/{channel_id}/typing", post(typing))
}

async fn typing(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(id).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::Typing {
        user: caller.user_id,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
