//! `/guilds/{id}/integrations`: the bots added to the guild through OAuth2.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde_json::Value;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{GuildId, IntegrationId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/integrations", get(list))
        .route(
            "/guilds/{guild_id}/integrations/{integration_id}",
            delete(remove),
        )
}

/// `GET /guilds/{id}/integrations` (MANAGE_GUILD): Discord's integration objects of type
/// "discord": account, application, scopes and the user who added the bot.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::ListIntegrations {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/integrations/{integration}` (MANAGE_GUILD): removes the bot from the
/// guild with its managed role; 10005 for an unknown integration.
async fn remove(
    State(app): State<App>,
    caller: Caller,
    Path((id, integration)): Path<(GuildId, IntegrationId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::DeleteIntegration {
                user: caller.user_id,
                id: integration,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
