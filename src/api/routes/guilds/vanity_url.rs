//! `/guilds/{id}/vanity-url` (MANAGE_GUILD): the guild's custom invite code.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::GuildId;

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/vanity-url", get(get_vanity).patch(set))
}

#[derive(Debug, Deserialize)]
struct VanityBody {
    code: Option<String>,
}

/// `GET /guilds/{id}/vanity-url`: `{code, uses}`.
async fn get_vanity(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::GetVanity {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `PATCH /guilds/{id}/vanity-url` `{code}` (2–32 of `[a-z0-9-]`, unique among invite codes;
/// `null` removes it; 50020 when invalid or taken): `{code, uses}`, GUILD_UPDATE.
async fn set(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<VanityBody>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::SetVanity {
                    user: caller.user_id,
                    code: body.code,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}
