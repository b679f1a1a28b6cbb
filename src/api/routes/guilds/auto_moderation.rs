//! `/guilds/{id}/auto-moderation/rules`: a guild's auto-moderation rules (MANAGE_GUILD;
//! AUTO_MODERATION_RULE_* on every change). The handlers parse and hand over; the guild actor
//! checks permissions and Discord's limits, and compiles the rules for enforcement.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::actors::guild::{AutoModMsg, AutoModRuleBody, GuildMsg};
use crate::api::extract::{AuditReason, Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::id::{AutoModRuleId, GuildId};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/guilds/{guild_id}/auto-moderation/rules",
            get(list).post(create),
        )
        .route(
            "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
            get(get_rule).patch(update).delete(delete),
        )
}

/// `GET /guilds/{id}/auto-moderation/rules` (MANAGE_GUILD): every rule, in id order.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::AutoMod(AutoModMsg::List { user, reply })
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/auto-moderation/rules/{rule}` (MANAGE_GUILD; 10066 for an unknown rule).
async fn get_rule(
    State(app): State<App>,
    caller: Caller,
    Path((id, rule)): Path<(GuildId, AutoModRuleId)>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::AutoMod(AutoModMsg::Get {
                    user,
                    id: rule,
                    reply,
                })
            })
            .await?,
    ))
}

/// `POST /guilds/{id}/auto-moderation/rules` (MANAGE_GUILD): `name`, `event_type`,
/// `trigger_type` and `actions` are required; at most `limits.automod.max_*_rules` rules of a
/// trigger type per guild.
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<AutoModRuleBody>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    let rule: AutoModRuleId = app.services.ids.next()?;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::AutoMod(AutoModMsg::Create {
                    user,
                    id: rule,
                    body,
                    reply,
                })
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `PATCH /guilds/{id}/auto-moderation/rules/{rule}` (MANAGE_GUILD). The trigger type cannot
/// change.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, rule)): Path<(GuildId, AutoModRuleId)>,
    AuditReason(reason): AuditReason,
    Json(body): Json<AutoModRuleBody>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::AutoMod(AutoModMsg::Update {
                    user,
                    id: rule,
                    body,
                    reply,
                })
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/auto-moderation/rules/{rule}` (MANAGE_GUILD). 204.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, rule)): Path<(GuildId, AutoModRuleId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_id;
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::AutoMod(AutoModMsg::Delete {
                user,
                id: rule,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
