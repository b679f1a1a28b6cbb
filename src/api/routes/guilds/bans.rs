//! `/guilds/{id}/bans`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{GuildId, UserId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/bans", get(list))
        .route(
            "/guilds/{guild_id}/bans/{user_id}",
            get(get_ban).put(ban).delete(unban),
        )
}

#[derive(Debug, Default, Deserialize)]
struct BanBody {
    reason: Option<String>,
    delete_message_seconds: Option<u64>,
    delete_message_days: Option<u64>,
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::ListBans {
                user: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/bans/{user}` (BAN_MEMBERS): `{reason, user}`, or 10026 Unknown Ban.
async fn get_ban(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::GetBan {
                user: caller.user_id,
                target,
                reply,
            })
            .await?,
    ))
}

/// `PUT /guilds/{id}/bans/{user}` (BAN_MEMBERS, hierarchy enforced). The reason is the
/// `X-Audit-Log-Reason` header (or the deprecated body `reason`); `delete_message_seconds`
/// (0–604800, or the deprecated `delete_message_days`, 0–7) deletes the user's messages of that
/// window in the guild's channels before the reply.
async fn ban(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
    AuditReason(header_reason): AuditReason,
    Json(body): Json<BanBody>,
) -> Result<StatusCode, ApiError> {
    let max = crate::actors::guild::MAX_BAN_DELETE_SECONDS;
    let delete_message_seconds = match (body.delete_message_seconds, body.delete_message_days) {
        (Some(s), _) if s > max => {
            return Err(FieldErrors::single(
                "delete_message_seconds",
                FieldError::NumberMax { max: max as i64 },
            ));
        }
        (Some(s), _) => s,
        (None, Some(d)) if d > 7 => {
            return Err(FieldErrors::single(
                "delete_message_days",
                FieldError::NumberMax { max: 7 },
            ));
        }
        (None, Some(d)) => d * 86_400,
        (None, None) => 0,
    };
    let reason = header_reason.clone().or(body.reason);
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Ban {
                by: caller.user_id,
                target,
                reason,
                delete_message_seconds,
                reply,
            }
            .with_reason(header_reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unban(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Unban {
                by: caller.user_id,
                target,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
