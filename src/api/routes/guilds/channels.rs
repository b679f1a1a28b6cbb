//! `/guilds/{id}/channels`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{ChannelCreate, GuildMsg};
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/channels", get(list).post(create))
}

/// `GET /guilds/{id}/channels`: the channels the caller can see.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| GuildMsg::ListChannels {
            user: caller.user_id,
            reply,
        })
        .await?,
    ))
}

/// `POST /guilds/{id}/channels` (MANAGE_CHANNELS).
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Json(body): Json<ChannelCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let actor = app.services.guild(id).await?;
    let v = ask(&app.services, &actor, |reply| GuildMsg::CreateChannel {
        user: caller.user_id,
        body,
        reply,
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}
