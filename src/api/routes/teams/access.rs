//! Who may do what to a team and to an application: the one place that knows application
//! ownership and team roles.
//!
//! Discord's role ladder (each includes the ones below): read-only members see the team and its
//! applications (and may add a private bot to a guild); developers also edit applications and
//! manage their bots, token reset included; admins also manage the team and its members; only
//! the owner takes destructive actions (deleting the team or an application). An application
//! outside any team has one owner, its creator.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, Unknown};
use crate::id::{ApplicationId, TeamId, UserId};
use crate::model::{ApplicationRecord, MembershipState, TeamMemberRecord, TeamRecord, TeamRole};

/// What a user may do to a team or an application, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    ReadOnly,
    Developer,
    Admin,
    Owner,
}

impl From<TeamRole> for Access {
    fn from(role: TeamRole) -> Self {
        match role {
            TeamRole::ReadOnly => Self::ReadOnly,
            TeamRole::Developer => Self::Developer,
            TeamRole::Admin => Self::Admin,
        }
    }
}

/// Fails with Missing Permissions unless `have` reaches `need`.
pub fn require(have: Option<Access>, need: Access) -> Result<(), ApiError> {
    if have.is_some_and(|a| a >= need) {
        Ok(())
    } else {
        Err(ApiError::MissingPermissions)
    }
}

/// A team with its members, as one user sees it.
pub struct TeamView {
    pub team: TeamRecord,
    pub members: Vec<TeamMemberRecord>,
    pub viewer: UserId,
}

impl TeamView {
    /// The viewer's member record (invited or accepted).
    pub fn me(&self) -> Option<&TeamMemberRecord> {
        self.member(self.viewer)
    }

    pub fn member(&self, user: UserId) -> Option<&TeamMemberRecord> {
        self.members.iter().find(|m| m.user_id == user)
    }

    /// The viewer's access: the owner's, or their role once they accepted; None while invited.
    pub fn access(&self) -> Option<Access> {
        access_of(&self.team, &self.members, self.viewer)
    }
}

fn access_of(team: &TeamRecord, members: &[TeamMemberRecord], user: UserId) -> Option<Access> {
    if team.owner_user_id == user {
        return Some(Access::Owner);
    }
    members
        .iter()
        .find(|m| m.user_id == user && m.membership_state == MembershipState::Accepted)
        .map(|m| m.role.into())
}

/// The team as `viewer` sees it; 404 Unknown Team (10039, Discord's code) when it doesn't
/// exist or they are not on it (invited counts: they may look at what they were invited to),
/// the same answer for both so strangers can't probe team ids.
pub async fn team_view(app: &App, id: TeamId, viewer: UserId) -> Result<TeamView, ApiError> {
    let team = app
        .store()
        .get_team(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Team))?;
    let members = app.store().team_members(id).await?;
    let view = TeamView {
        team,
        members,
        viewer,
    };
    if view.me().is_none() && view.team.owner_user_id != viewer {
        return Err(ApiError::Unknown(Unknown::Team));
    }
    Ok(view)
}

/// The caller's access to an application: its owner, or through the team that owns it.
pub async fn application_access(
    app: &App,
    caller: Caller,
    a: &ApplicationRecord,
) -> Result<Option<Access>, ApiError> {
    if caller.bot {
        return Ok(None);
    }
    let Some(team_id) = a.team_id else {
        return Ok((a.owner_id == caller.user_id).then_some(Access::Owner));
    };
    let Some(team) = app.store().get_team(team_id).await? else {
        return Ok(None);
    };
    let members = app.store().team_members(team_id).await?;
    Ok(access_of(&team, &members, caller.user_id))
}

/// The application if the caller has at least `need` access to it: Unknown Application when
/// they have none (as for a stranger), Missing Permissions when their team role is too low.
pub async fn application_for(
    app: &App,
    caller: Caller,
    id: ApplicationId,
    need: Access,
) -> Result<ApplicationRecord, ApiError> {
    let a = app
        .store()
        .get_application(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    match application_access(app, caller, &a).await? {
        None => Err(ApiError::Unknown(Unknown::Application)),
        have => require(have, need).map(|()| a),
    }
}

/// The application if the caller is its own bot, or a user with at least `need` access to it
/// (the routes Discord opens to both a bot token and the developer portal: application emojis,
/// entitlements). Another bot gets Unknown Application, as a stranger does.
pub async fn application_or_bot(
    app: &App,
    caller: Caller,
    id: ApplicationId,
    need: Access,
) -> Result<ApplicationRecord, ApiError> {
    if caller.bot {
        return app
            .store()
            .get_application(id)
            .await?
            .filter(|a| a.bot_user_id == Some(caller.user_id))
            .ok_or(ApiError::Unknown(Unknown::Application));
    }
    application_for(app, caller, id, need).await
}
