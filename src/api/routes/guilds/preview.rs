//! `/guilds/{id}/preview`: a guild's public summary (members, or anyone if DISCOVERABLE).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/preview", get(preview))
}

/// `GET /guilds/{id}/preview`: id, name, icons, features, emojis, approximate counts.
async fn preview(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::PreviewFor {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}
