//! `/guilds/{id}/new-member-welcome`: the welcome Discord's client shows a new member,
//! derived from the welcome screen and onboarding.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/new-member-welcome", get(welcome))
}

/// `GET /guilds/{id}/new-member-welcome` (members): `{guild_id, enabled, welcome_message?,
/// new_member_actions, resource_channels}`, or 204 while neither the welcome screen nor
/// onboarding is enabled.
async fn welcome(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Response, ApiError> {
    let v = app
        .services
        .ask_guild(id, |reply| GuildMsg::NewMemberWelcome {
            user: caller.user_id,
            reply,
        })
        .await?;
    Ok(match v {
        Some(v) => Json(v).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}
