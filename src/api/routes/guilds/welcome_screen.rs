//! `/guilds/{id}/welcome-screen`: what a guild shows a newcomer before they join in.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, WelcomeScreenPatch};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route(
        "/guilds/{guild_id}/welcome-screen",
        get(get_screen).patch(update),
    )
}

/// `GET /guilds/{id}/welcome-screen`: `{description, welcome_channels}`; members while it is
/// enabled, MANAGE_GUILD otherwise.
async fn get_screen(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::WelcomeScreen {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `PATCH /guilds/{id}/welcome-screen` (MANAGE_GUILD): `enabled`, `description`,
/// `welcome_channels` (the guild's channels, at most `limits.onboarding.max_welcome_channels`).
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<WelcomeScreenPatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::SetWelcomeScreen {
                    user: caller.user_id,
                    patch,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}
