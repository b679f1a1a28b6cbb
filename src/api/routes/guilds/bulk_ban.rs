//! `/guilds/{id}/bulk-ban`: ban up to `limits.guild.max_bulk_ban` users in one request.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;

use crate::actors::guild::{BulkBanResult, GuildMsg, MAX_BAN_DELETE_SECONDS};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{GuildId, UserId};

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/bulk-ban", post(bulk_ban))
}

/// Discord's `BulkBanUsersRequest`.
#[derive(Debug, Deserialize)]
struct BulkBanBody {
    user_ids: Option<Vec<UserId>>,
    delete_message_seconds: Option<u64>,
}

/// `POST /guilds/{id}/bulk-ban` (BAN_MEMBERS and MANAGE_GUILD): `{banned_users,
/// failed_users}`, or 500000 when nobody could be banned. A repeated id counts once.
async fn bulk_ban(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<BulkBanBody>,
) -> Result<Json<BulkBanResult>, ApiError> {
    let max = app.config().get().limits.guild.max_bulk_ban as usize;
    let mut errs = FieldErrors::default();
    let mut user_ids = Vec::new();
    match body.user_ids {
        None => errs.add("user_ids", FieldError::Required),
        Some(ids) if ids.len() > max => errs.add("user_ids", FieldError::TooMany { max }),
        Some(ids) => {
            for u in ids {
                if !user_ids.contains(&u) {
                    user_ids.push(u);
                }
            }
        }
    }
    let delete_message_seconds = body.delete_message_seconds.unwrap_or(0);
    if delete_message_seconds > MAX_BAN_DELETE_SECONDS {
        errs.add(
            "delete_message_seconds",
            FieldError::NumberMax {
                max: MAX_BAN_DELETE_SECONDS as i64,
            },
        );
    }
    errs.into_result()?;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::BulkBan {
                    by: caller.user_id,
                    user_ids,
                    delete_message_seconds,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}
