//! `/teams/{id}/members`: inviting users, accepting, changing roles, leaving and removing.
//!
//! **Accepting.** Discord mails the invited user a link whose token goes to
//! `POST /teams/invite/accept`. This server sends no mail, so the invitation shows up in the
//! invited user's `GET /teams` (their member object has `membership_state` 1) and they accept it
//! with `PUT /teams/{id}/members/@me` (or decline with `DELETE …/@me`). Until then they have no
//! access to the team's applications.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::Value;

use super::access::{Access, require, team_view};
use super::view_json;
use crate::api::extract::{Json, Path, UserAccount};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{TeamId, UserId};
use crate::model::{MembershipState, TeamMemberRecord, TeamRole};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/teams/{team_id}/members", get(list).post(invite))
        .route("/teams/{team_id}/members/@me", put(accept).delete(leave))
        .route(
            "/teams/{team_id}/members/{user_id}",
            axum::routing::patch(update).delete(remove),
        )
}

/// `GET /teams/{id}/members`
async fn list(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
) -> Result<Json<Value>, ApiError> {
    let view = team_view(&app, id, caller.user_id).await?;
    let team = view_json(&app, &view).await?;
    Ok(Json(team["members"].clone()))
}

/// Body of `POST /teams/{id}/members`: Discord's `username` (+ legacy `discriminator`), or a
/// `user_id`; and the role.
#[derive(Debug, Deserialize)]
struct Invite {
    username: Option<String>,
    #[serde(default)]
    discriminator: Option<Value>,
    user_id: Option<UserId>,
    role: Option<String>,
    #[allow(dead_code)]
    code: Option<String>,
}

fn parse_role(role: Option<&str>) -> Result<TeamRole, ApiError> {
    let Some(role) = role else {
        return Err(FieldErrors::single("role", FieldError::Required));
    };
    TeamRole::parse(role).ok_or_else(|| {
        FieldErrors::single(
            "role",
            FieldError::Choice {
                allowed: TeamRole::NAMES.into(),
            },
        )
    })
}

/// The invited user: by id, or by username like a friend request.
async fn invitee(app: &App, body: &Invite) -> Result<UserId, ApiError> {
    if let Some(id) = body.user_id {
        return app
            .services
            .users
            .get(id)
            .await?
            .map(|u| u.id)
            .ok_or(ApiError::Unknown(Unknown::User));
    }
    let Some(username) = body.username.as_deref().map(str::trim) else {
        return Err(FieldErrors::single("username", FieldError::Required));
    };
    let discriminator = match &body.discriminator {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(d) if d > 0 => format!("{d:04}"),
            _ => "0".to_string(),
        },
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => "0".to_string(),
    };
    app.store()
        .user_by_username(username, &discriminator)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| ApiError::coded(StatusCode::BAD_REQUEST, 80004, "unknown-discord-tag"))
}

/// `POST /teams/{id}/members` (admins): invites a user with a role. Inviting someone already on
/// the team changes nothing and returns their member object.
async fn invite(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
    Json(body): Json<Invite>,
) -> Result<Json<Value>, ApiError> {
    let view = team_view(&app, id, caller.user_id).await?;
    require(view.access(), Access::Admin)?;
    let role = parse_role(body.role.as_deref())?;
    let target = invitee(&app, &body).await?;
    let user = app.services.users.public(target).await?;
    if user.bot {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            50002,
            "invalid-account-type",
        ));
    }
    if let Some(existing) = view.member(target) {
        return Ok(Json(existing.to_json(&user)));
    }
    let member = TeamMemberRecord {
        team_id: id,
        user_id: target,
        membership_state: MembershipState::Invited,
        role,
    };
    app.store().put_team_member(&member).await?;
    tracing::info!(team = %id, user = %target, ?role, "team member invited");
    Ok(Json(member.to_json(&user)))
}

/// `PUT /teams/{id}/members/@me`: accepts the caller's invitation; returns the team.
async fn accept(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
) -> Result<Json<Value>, ApiError> {
    let mut view = team_view(&app, id, caller.user_id).await?;
    let me = view.me().cloned().ok_or(ApiError::Unknown(Unknown::Team))?;
    if me.membership_state == MembershipState::Invited {
        let accepted = TeamMemberRecord {
            membership_state: MembershipState::Accepted,
            ..me
        };
        app.store().put_team_member(&accepted).await?;
        for m in &mut view.members {
            if m.user_id == caller.user_id {
                *m = accepted.clone();
            }
        }
    }
    Ok(Json(view_json(&app, &view).await?))
}

/// `DELETE /teams/{id}/members/@me`: leave the team, or decline an invitation.
async fn leave(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
) -> Result<StatusCode, ApiError> {
    drop_member(&app, caller, id, caller.user_id).await
}

#[derive(Debug, Deserialize)]
struct MemberPatch {
    role: Option<String>,
}

/// `PATCH /teams/{id}/members/{user_id}` (admins): changes a member's role; the owner's can't be.
async fn update(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((id, user)): Path<(TeamId, UserId)>,
    Json(body): Json<MemberPatch>,
) -> Result<Json<Value>, ApiError> {
    let view = team_view(&app, id, caller.user_id).await?;
    require(view.access(), Access::Admin)?;
    let member = view
        .member(user)
        .cloned()
        .ok_or(ApiError::Unknown(Unknown::Member))?;
    if user == view.team.owner_user_id {
        return Err(ApiError::MissingPermissions);
    }
    let updated = match body.role {
        Some(role) => TeamMemberRecord {
            role: parse_role(Some(&role))?,
            ..member.clone()
        },
        None => member.clone(),
    };
    if updated != member {
        app.store().put_team_member(&updated).await?;
    }
    let public = app.services.users.public(user).await?;
    Ok(Json(updated.to_json(&public)))
}

/// `DELETE /teams/{id}/members/{user_id}`: admins remove members; anyone may remove themself.
async fn remove(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((id, user)): Path<(TeamId, UserId)>,
) -> Result<StatusCode, ApiError> {
    drop_member(&app, caller, id, user).await
}

/// Removes `user` from the team: the owner never (the team must be handed over first); others
/// by an admin, or by themself. Their access to the team's applications ends with it.
async fn drop_member(
    app: &App,
    caller: Caller,
    id: TeamId,
    user: UserId,
) -> Result<StatusCode, ApiError> {
    let view = team_view(app, id, caller.user_id).await?;
    if user != caller.user_id {
        require(view.access(), Access::Admin)?;
    }
    if user == view.team.owner_user_id {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            0,
            "team-owner-cannot-leave",
        ));
    }
    if view.member(user).is_none() {
        return Err(ApiError::Unknown(Unknown::Member));
    }
    app.store().delete_team_member(id, user).await?;
    tracing::info!(team = %id, %user, by = %caller.user_id, "team member removed");
    Ok(StatusCode::NO_CONTENT)
}
