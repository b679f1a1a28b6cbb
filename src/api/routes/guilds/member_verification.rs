//! `/guilds/{id}/member-verification`: the form new members answer before they may speak
//! (Discord's membership screening).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, VerificationMsg, VerificationPatch};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route(
        "/guilds/{guild_id}/member-verification",
        get(get_form).patch(update),
    )
}

/// Query of the GET. Discord's client also sends `invite_code`, which is not needed here (the
/// form is shown to anyone while the gate is on) and, like any unknown parameter, ignored.
#[derive(Debug, Default, Deserialize)]
struct FormQuery {
    with_guild: Option<bool>,
}

/// `GET /guilds/{id}/member-verification?with_guild`: `{version, form_fields, description}`
/// (and `guild` for a non-member with `with_guild=true`). To anyone while the gate is on,
/// otherwise MANAGE_GUILD.
async fn get_form(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<FormQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Verification(VerificationMsg::Get {
                    user: caller.user_id,
                    with_guild: q.with_guild.unwrap_or(false),
                    reply,
                })
            })
            .await?,
    ))
}

/// `PATCH /guilds/{id}/member-verification` (MANAGE_GUILD): `enabled`, `form_fields`,
/// `description`, `bulk_action`; the gate shows as the MEMBER_VERIFICATION_GATE_ENABLED feature.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<VerificationPatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Verification(VerificationMsg::Update {
                    user: caller.user_id,
                    body,
                    reply,
                })
                .with_reason(reason)
            })
            .await?,
    ))
}
