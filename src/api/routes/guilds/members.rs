//! `/guilds/{id}/members`

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::{GuildMsg, MemberPatch, NewMemberFields};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{GuildId, RoleId, UserId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/members", get(list))
        .route("/guilds/{guild_id}/members/search", get(search))
        .route(
            "/guilds/{guild_id}/members/@me",
            axum::routing::patch(update_me),
        )
        .route(
            "/guilds/{guild_id}/members/{user_id}",
            get(get_member).put(add_member).patch(update).delete(kick),
        )
        .route(
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            put(add_role).delete(remove_role),
        )
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
    after: Option<UserId>,
}

/// `GET /guilds/{id}/members?limit&after`
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let (limit, after) = (q.limit.unwrap_or(1), q.after.unwrap_or_default());
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::ListMembers {
                user: caller.user_id,
                limit,
                after,
                reply,
            })
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    query: Option<String>,
    limit: Option<usize>,
}

/// `GET /guilds/{id}/members/search?query&limit` (limit 1–1000, default 1): members whose
/// username, global name or nickname starts with `query`.
async fn search(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let query = q.query.unwrap_or_default();
    if query.is_empty() {
        return Err(FieldErrors::single("query", FieldError::Required));
    }
    if query.chars().count() > 100 {
        return Err(FieldErrors::single(
            "query",
            FieldError::MaxLength { max: 100 },
        ));
    }
    let limit = q.limit.unwrap_or(1);
    if !(1..=1000).contains(&limit) {
        return Err(FieldErrors::single(
            "limit",
            FieldError::NumberMax { max: 1000 },
        ));
    }
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::SearchMembers {
                user: caller.user_id,
                query,
                limit,
                reply,
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/members/{user}`
async fn get_member(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::GetMember {
                user: caller.user_id,
                target,
                reply,
            })
            .await?,
    ))
}

async fn update_member(
    app: &App,
    by: UserId,
    id: GuildId,
    target: UserId,
    patch: MemberPatch,
    reason: Option<String>,
) -> Result<Value, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::UpdateMember {
                by,
                target,
                patch,
                reply,
            }
            .with_reason(reason)
        })
        .await
}

#[derive(Debug, Deserialize)]
struct AddMemberBody {
    access_token: String,
    nick: Option<String>,
    roles: Option<Vec<RoleId>>,
    mute: Option<bool>,
    deaf: Option<bool>,
}

/// `PUT /guilds/{id}/members/{user}`: a bot adds a user who granted its application
/// `guilds.join` (the access token proves it). 201 with the member, 204 if already one.
async fn add_member(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
    Json(body): Json<AddMemberBody>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    // A bot's application has the bot's id.
    let application = crate::id::ApplicationId(caller.user_id.0);
    let grant = app
        .store()
        .get_oauth_token(&crate::auth::oauth::token_hash(&body.access_token))
        .await?
        .filter(|t| {
            t.kind == crate::model::OAuthTokenKind::Access
                && caller.bot
                && t.application_id == application
                && t.user_id == target
                && t.scopes().contains(crate::model::OAuthScopes::GUILDS_JOIN)
                && !t.expired(crate::model::timestamp::Timestamp::now())
        });
    let fields = NewMemberFields {
        nick: body.nick,
        roles: body.roles,
        mute: body.mute,
        deaf: body.deaf,
    };
    let added = app
        .services
        .ask_guild(id, |reply| GuildMsg::AddMember {
            by: caller.user_id,
            user: target,
            granted: grant.is_some(),
            fields,
            reply,
        })
        .await?;
    Ok(match added {
        Some(member) => (StatusCode::CREATED, Json(member)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `PATCH /guilds/{id}/members/{user}`
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
    AuditReason(reason): AuditReason,
    Json(patch): Json<MemberPatch>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        update_member(&app, caller.user_id, id, target, patch, reason).await?,
    ))
}

/// `PATCH /guilds/{id}/members/@me` (nick only, as on Discord).
async fn update_me(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Json(patch): Json<MemberPatch>,
) -> Result<Json<Value>, ApiError> {
    let patch = MemberPatch {
        nick: patch.nick,
        ..MemberPatch::default()
    };
    Ok(Json(
        update_member(&app, caller.user_id, id, caller.user_id, patch, None).await?,
    ))
}

/// `DELETE /guilds/{id}/members/{user}`: kick.
async fn kick(
    State(app): State<App>,
    caller: Caller,
    Path((id, target)): Path<(GuildId, UserId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::RemoveMember {
                by: caller.user_id,
                target,
                kick: true,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_role(
    app: &App,
    caller: Caller,
    id: GuildId,
    target: UserId,
    role: RoleId,
    add: bool,
    reason: Option<String>,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::ChangeMemberRole {
                by: caller.user_id,
                target,
                role,
                add,
                reply,
            }
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /guilds/{id}/members/{user}/roles/{role}`
async fn add_role(
    State(app): State<App>,
    caller: Caller,
    Path((id, target, role)): Path<(GuildId, UserId, RoleId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    change_role(&app, caller, id, target, role, true, reason).await
}

/// `DELETE /guilds/{id}/members/{user}/roles/{role}`
async fn remove_role(
    State(app): State<App>,
    caller: Caller,
    Path((id, target, role)): Path<(GuildId, UserId, RoleId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    change_role(&app, caller, id, target, role, false, reason).await
}
