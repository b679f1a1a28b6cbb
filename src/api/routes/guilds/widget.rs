//! `/guilds/{id}/widget` (settings, MANAGE_GUILD), `/guilds/{id}/widget.json` and
//! `/guilds/{id}/widget.png` (public).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, WidgetPatch};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::cdn::badge::{self, Badge, Style};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/widget", get(settings).patch(update))
        .route("/guilds/{guild_id}/widget.json", get(widget_json))
        .route("/guilds/{guild_id}/widget.png", get(widget_png))
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PngQuery {
    style: Option<String>,
}

/// `GET /guilds/{id}/widget.png?style=` (no authentication; 50004 when the widget is disabled):
/// a PNG badge with the guild's name and online count, in one of Discord's styles (`shield`, the
/// default, or `banner1`–`banner4`). Drawn from the same data as `widget.json`.
async fn widget_png(
    State(app): State<App>,
    Path(id): Path<GuildId>,
    Query(q): Query<PngQuery>,
) -> Result<Response, ApiError> {
    let style = match q.style.as_deref() {
        None => Style::Shield,
        Some(s) => Style::parse(s).ok_or_else(|| {
            FieldErrors::single(
                "style",
                FieldError::Choice {
                    allowed: "shield, banner1, banner2, banner3, banner4".into(),
                },
            )
        })?,
    };
    let widget = app.services.ask_guild(id, GuildMsg::WidgetJson).await?;
    let badge = Badge {
        name: widget["name"].as_str().unwrap_or_default(),
        presence_count: widget["presence_count"].as_u64().unwrap_or(0),
    };
    let png = badge::render(style, &badge).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}
