//! `/guilds/{id}/prune`: count and remove inactive members (KICK_MEMBERS and MANAGE_GUILD).
//! "Inactive" is approximated by the join date: the server does not track member activity.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{GuildId, RoleId};

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/prune", get(count).post(begin))
}

#[derive(Debug, Deserialize)]
struct CountQuery {
    days: Option<u32>,
    /// Comma-separated role ids (Discord's query form).
    include_roles: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BeginBody {
    days: Option<u32>,
    compute_prune_count: Option<bool>,
    include_roles: Option<Vec<RoleId>>,
    /// Deprecated by Discord; accepted and ignored.
    #[allow(dead_code)]
    reason: Option<String>,
}

fn roles_of_query(raw: Option<&str>) -> Result<Vec<RoleId>, ApiError> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| FieldErrors::single("include_roles", FieldError::InvalidSnowflake))
        })
        .collect()
}

/// `GET /guilds/{id}/prune?days=7&include_roles=a,b`: `{"pruned": n}`.
async fn count(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<CountQuery>,
) -> Result<Json<Value>, ApiError> {
    let include_roles = roles_of_query(q.include_roles.as_deref())?;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::Prune {
                user: caller.user_id,
                days: q.days.unwrap_or(7),
                include_roles,
                begin: false,
                compute_prune_count: true,
                reply,
            })
            .await?,
    ))
}

/// `POST /guilds/{id}/prune` `{days, compute_prune_count, include_roles}`: removes the members;
/// `{"pruned": n}` (`null` with `compute_prune_count: false`).
async fn begin(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<BeginBody>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Prune {
                    user: caller.user_id,
                    days: body.days.unwrap_or(7),
                    include_roles: body.include_roles.unwrap_or_default(),
                    begin: true,
                    compute_prune_count: body.compute_prune_count.unwrap_or(true),
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}
