//! `/guilds/{id}/onboarding`: the questions and default channels new members go through.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, OnboardingBody};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route(
        "/guilds/{guild_id}/onboarding",
        get(get_onboarding).put(update),
    )
}

/// `GET /guilds/{id}/onboarding` (members): `{guild_id, prompts, default_channel_ids,
/// enabled, mode}`.
async fn get_onboarding(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::Onboarding {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `PUT /guilds/{id}/onboarding` (MANAGE_GUILD and MANAGE_ROLES): replaces the fields given.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<OnboardingBody>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::SetOnboarding {
                    user: caller.user_id,
                    body,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}
