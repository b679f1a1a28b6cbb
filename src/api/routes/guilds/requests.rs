//! `/guilds/{id}/requests`: join requests. Applicants submit the member verification form
//! (`PUT …/requests/@me`) or withdraw it (`DELETE …/requests/@me`); moderators (KICK_MEMBERS)
//! list them and approve or reject them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::{
    GuildMsg, JoinRequestAction, JoinRequestQuery, JoinRequestSubmit, MAX_JOIN_REQUESTS_LIMIT,
    VerificationMsg,
};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{GuildId, JoinRequestId};
use crate::model::JoinRequestStatus;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds/{guild_id}/requests", get(list))
        .route(
            "/guilds/{guild_id}/requests/@me",
            put(submit).delete(withdraw),
        )
        .route("/guilds/{guild_id}/requests/{request_id}", patch(action))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<usize>,
    before: Option<JoinRequestId>,
    after: Option<JoinRequestId>,
}

/// `GET /guilds/{id}/requests?status&limit&before&after` (KICK_MEMBERS): `{guild_join_requests,
/// total}`. `status` is SUBMITTED, APPROVED or REJECTED (started requests are the applicant's
/// own business); `limit` 1–100, default 100.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut errs = FieldErrors::default();
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => match JoinRequestStatus::parse(s) {
            Some(st) if st != JoinRequestStatus::Started => Some(st),
            _ => {
                errs.add(
                    "status",
                    FieldError::Choice {
                        allowed: "SUBMITTED, APPROVED, REJECTED".into(),
                    },
                );
                None
            }
        },
    };
    let limit = q.limit.unwrap_or(MAX_JOIN_REQUESTS_LIMIT);
    if limit == 0 {
        errs.add("limit", FieldError::NumberMin { min: 1 });
    } else if limit > MAX_JOIN_REQUESTS_LIMIT {
        errs.add(
            "limit",
            FieldError::NumberMax {
                max: MAX_JOIN_REQUESTS_LIMIT as i64,
            },
        );
    }
    errs.into_result()?;
    let query = JoinRequestQuery {
        status,
        limit,
        before: q.before,
        after: q.after,
    };
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Verification(VerificationMsg::List {
                    user: caller.user_id,
                    query,
                    reply,
                })
            })
            .await?,
    ))
}

/// `PUT /guilds/{id}/requests/@me` (a pending member): `{version, form_fields}` with a
/// `response` per question. Answers only `TERMS`: accepted at once (`application_status`
/// APPROVED, the member is no longer pending); otherwise SUBMITTED, awaiting a moderator.
async fn submit(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Json(body): Json<JoinRequestSubmit>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Verification(VerificationMsg::Submit {
                    user: caller.user_id,
                    body,
                    reply,
                })
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/requests/@me`: withdraws the caller's request awaiting review (204).
async fn withdraw(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Verification(VerificationMsg::Withdraw {
                user: caller.user_id,
                reply,
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /guilds/{id}/requests/{request_id}` (KICK_MEMBERS): `{action: APPROVED|REJECTED,
/// rejection_reason}`. Approved: the member is no longer pending; rejected: removed.
async fn action(
    State(app): State<App>,
    caller: Caller,
    Path((id, request)): Path<(GuildId, JoinRequestId)>,
    AuditReason(reason): AuditReason,
    Json(body): Json<JoinRequestAction>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Verification(VerificationMsg::Action {
                    user: caller.user_id,
                    request,
                    body,
                    reply,
                })
                .with_reason(reason)
            })
            .await?,
    ))
}
