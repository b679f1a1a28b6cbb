//! `/guilds/{id}/incident-actions`: pausing joins through invites, and DMs, during a raid.

use axum::Router;
use axum::extract::State;
use axum::routing::put;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, IncidentActionsBody};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/incident-actions", put(update))
}

/// `PUT /guilds/{id}/incident-actions` (MANAGE_GUILD): `{invites_disabled_until,
/// dms_disabled_until}`, ISO-8601 times at most `limits.onboarding.max_incident_hours` ahead
/// (null lifts a pause). Answers the resulting pair; the guild shows it as `incidents_data`.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<IncidentActionsBody>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::SetIncidentActions {
                    user: caller.user_id,
                    body,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}
