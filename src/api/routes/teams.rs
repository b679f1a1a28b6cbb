//! `/teams/*`: developer teams, groups of users that own applications together (Discord's
//! client API). Members and invitations live beside this file (`teams/members.rs`), the access
//! rules shared with the application routes in `teams/access.rs`.
//!
//! Teams are developer-portal data, written rarely and by few people: like applications they are
//! read and written through the store directly, not through an actor, and Discord sends no
//! public gateway events about them.

pub mod access;
pub mod members;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use self::access::{Access, TeamView, require, team_view};
use crate::api::extract::{Json, Path, UserAccount};
use crate::api::routes::applications::application_json;
use crate::app::App;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{TeamId, UserId};
use crate::model::{MembershipState, PublicUser, TeamMemberRecord, TeamRecord, TeamRole};
use crate::validate;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/teams", get(list).post(create))
        .route(
            "/teams/{team_id}",
            get(get_one).patch(update).delete(delete),
        )
        .route("/teams/{team_id}/delete", post(delete))
        .route("/teams/{team_id}/applications", get(applications))
        .merge(members::routes())
}

/// The team object with its members (users resolved).
pub async fn team_json(
    app: &App,
    team: &TeamRecord,
    members: &[TeamMemberRecord],
) -> Result<Value, ApiError> {
    let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
    let users: Vec<PublicUser> = app.services.users.public_many(&ids).await?;
    let pairs: Vec<(TeamMemberRecord, PublicUser)> = members.iter().cloned().zip(users).collect();
    Ok(team.to_json(&pairs))
}

async fn view_json(app: &App, view: &TeamView) -> Result<Value, ApiError> {
    team_json(app, &view.team, &view.members).await
}

/// `GET /teams`: the teams the caller is on, invitations included (their own member object says
/// `membership_state` 1), so an invited user finds the team to accept.
async fn list(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for id in app.store().teams_of_user(caller.user_id).await? {
        match team_view(&app, id, caller.user_id).await {
            Ok(view) => out.push(view_json(&app, &view).await?),
            // Deleted meanwhile.
            Err(ApiError::Unknown(Unknown::Team)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Json(Value::Array(out)))
}

#[derive(Debug, Deserialize)]
struct TeamCreate {
    name: Option<String>,
}

fn check_name(errs: &mut FieldErrors, name: &str) {
    validate::length(errs, "name", name, 1, 100);
}

/// `POST /teams {name}`: the caller becomes the owner and its first member (accepted, admin).
async fn create(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Json(body): Json<TeamCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = body.name.unwrap_or_default().trim().to_string();
    let mut errs = FieldErrors::default();
    if name.is_empty() {
        errs.add("name", FieldError::Required);
    } else {
        check_name(&mut errs, &name);
    }
    errs.into_result()?;
    let team = TeamRecord {
        id: app.services.ids.next()?,
        name,
        icon: None,
        owner_user_id: caller.user_id,
    };
    let owner = TeamMemberRecord {
        team_id: team.id,
        user_id: caller.user_id,
        membership_state: MembershipState::Accepted,
        role: TeamRole::Admin,
    };
    app.store().put_team(&team).await?;
    app.store().put_team_member(&owner).await?;
    tracing::info!(team = %team.id, owner = %caller.user_id, "team created");
    Ok((
        StatusCode::CREATED,
        Json(team_json(&app, &team, &[owner]).await?),
    ))
}

/// `GET /teams/{id}` (members and invited users).
async fn get_one(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
) -> Result<Json<Value>, ApiError> {
    let view = team_view(&app, id, caller.user_id).await?;
    Ok(Json(view_json(&app, &view).await?))
}

#[derive(Debug, Default, Deserialize)]
struct TeamPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    icon: Option<Option<String>>,
    owner_user_id: Option<UserId>,
    /// The MFA code Discord asks for; accepted and ignored (no MFA here).
    #[allow(dead_code)]
    code: Option<String>,
}

/// `PATCH /teams/{id}` (admins): name, icon (a data URI, or null), and — the owner only —
/// `owner_user_id` to hand the team to an accepted member (the old owner stays an admin).
async fn update(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
    Json(body): Json<TeamPatch>,
) -> Result<Json<Value>, ApiError> {
    let mut view = team_view(&app, id, caller.user_id).await?;
    require(view.access(), Access::Admin)?;
    let mut team = view.team.clone();
    let mut errs = FieldErrors::default();
    if let Some(n) = body.name {
        check_name(&mut errs, n.trim());
        team.name = n.trim().to_string();
    }
    let mut new_owner = None;
    if let Some(owner) = body.owner_user_id.filter(|o| *o != team.owner_user_id) {
        require(view.access(), Access::Owner)?;
        match view.member(owner) {
            Some(m) if m.membership_state == MembershipState::Accepted => new_owner = Some(owner),
            _ => errs.add("owner_user_id", FieldError::InvalidSnowflake),
        }
    }
    errs.into_result()?;
    match body.icon {
        Some(None) => team.icon = None,
        Some(Some(uri)) => {
            let limits = crate::cdn::ImageLimits::avatar(&app.config().get().cdn);
            let max = limits.max_bytes;
            team.icon = Some(
                app.cdn
                    .put_image_data_uri(crate::cdn::ImageKind::TeamIcon, id.0, &uri, limits)
                    .await
                    .map_err(|e| crate::cdn::field_error("icon", e, max))?,
            );
        }
        None => {}
    }
    if let Some(owner) = new_owner {
        // Both stay members; the new owner's record says admin, as Discord shows owners.
        for user in [owner, team.owner_user_id] {
            let m = TeamMemberRecord {
                team_id: id,
                user_id: user,
                membership_state: MembershipState::Accepted,
                role: TeamRole::Admin,
            };
            app.store().put_team_member(&m).await?;
            view.members.retain(|x| x.user_id != user);
            view.members.push(m);
        }
        view.members.sort_by_key(|m| m.user_id);
        team.owner_user_id = owner;
    }
    if team != view.team {
        app.store().put_team(&team).await?;
    }
    Ok(Json(team_json(&app, &team, &view.members).await?))
}

/// `DELETE /teams/{id}`, `POST /teams/{id}/delete` (the client's form): the owner only, and only
/// once the team owns no application (they would be left without an owner).
async fn delete(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
) -> Result<StatusCode, ApiError> {
    let view = team_view(&app, id, caller.user_id).await?;
    require(view.access(), Access::Owner)?;
    if !app
        .store()
        .applications_of_owner(view.team.pseudo_user_id())
        .await?
        .is_empty()
    {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            0,
            "team-has-applications",
        ));
    }
    app.store().delete_team(id).await?;
    tracing::info!(team = %id, "team deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /teams/{id}/applications`: the team's applications (any accepted member).
async fn applications(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<TeamId>,
) -> Result<Json<Value>, ApiError> {
    let view = team_view(&app, id, caller.user_id).await?;
    require(view.access(), Access::ReadOnly)?;
    let mut out = Vec::new();
    for a in app
        .store()
        .applications_of_owner(view.team.pseudo_user_id())
        .await?
    {
        out.push(application_json(&app, &a).await?);
    }
    Ok(Json(json!(out)))
}
