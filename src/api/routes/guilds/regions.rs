//! `/guilds/{id}/regions`: voice regions. There is no voice server, so there is one region,
//! the instance itself, marked optimal (Discord clients need a non-empty list).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, Unknown};
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/regions", get(regions))
}

/// The regions every guild offers (Discord's voice region objects).
pub fn voice_regions() -> Value {
    json!([{
        "id": "local",
        "name": "Local",
        "custom": true,
        "deprecated": false,
        "optimal": true,
    }])
}

/// `GET /guilds/{id}/regions` (members).
async fn regions(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    let member = crate::actors::mailbox::call(
        &actor,
        |reply| GuildMsg::Permissions {
            user: caller.user_id,
            reply,
        },
        None,
    )
    .await
    .map_err(ApiError::internal)?;
    match member {
        ractor::rpc::CallResult::Success(Some(_)) => Ok(Json(voice_regions())),
        ractor::rpc::CallResult::Success(None) => Err(ApiError::Unknown(Unknown::Guild)),
        _ => Err(ApiError::internal("guild actor unavailable")),
    }
}
