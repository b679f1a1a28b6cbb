//! `/guilds/{id}/widget` (settings, MANAGE_GUILD) and `/guilds/{id}/widget.json` (public).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, WidgetPatch};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/widget", get(settings).patch(update))
        .route("/guilds/{guild_id}/widget.json", get(widget_json))
}

/// `GET /guilds/{id}/widget`: `{enabled, channel_id}`.
async fn settings(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::GetWidget {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `PATCH /guilds/{id}/widget` `{enabled, channel_id}`: the new settings, GUILD_UPDATE.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<WidgetPatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::SetWidget {
                    user: caller.user_id,
                    patch,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/widget.json` (no authentication; 50004 when the widget is disabled).
async fn widget_json(
    State(app): State<App>,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services.ask_guild(id, GuildMsg::WidgetJson).await?,
    ))
}
