//! `GET /guilds/{id}/threads/active`: the guild's active threads the caller may see, with the
//! caller's own thread memberships.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, ThreadMsg};
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/threads/active", get(active))
}

/// `GET /guilds/{id}/threads/active` → `{threads, members}`.
async fn active(
    State(app): State<App>,
    caller: Caller,
    Path(guild): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(guild, |reply| {
                GuildMsg::Threads(ThreadMsg::Active { user, reply })
            })
            .await?,
    ))
}
