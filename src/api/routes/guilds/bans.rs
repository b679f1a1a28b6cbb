//! `/guilds/{id}/bans`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{GuildId, UserId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/bans", get(list))
        .route("/guilds/{guild_id}/bans/{user_id}", put(ban).delete(unban))
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
    let actor = app.services.guild(id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| GuildMsg::ListBans {
            user: caller.user_id,
            reply,
        })
        .await?,
    ))
}

/// `PUT /guilds/{id}/bans/{user}` (the audit-log reason header is also honoured).
async fn ban(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
    headers: axum::http::HeaderMap,
    Json(body): Json<BanBody>,
) -> Result<StatusCode, ApiError> {
    let _ = (body.delete_message_seconds, body.delete_message_days);
    let reason = body.reason.or_else(|| {
        headers
            .get("x-audit-log-reason")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let actor = app.services.guild(id).await?;
    ask(&app.services, &actor, |reply| GuildMsg::Ban {
        by: caller.user_id,
        target,
        reason,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unban(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.guild(id).await?;
    ask(&app.services, &actor, |reply| GuildMsg::Unban {
        by: caller.user_id,
        target,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
