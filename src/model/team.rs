//! Developer teams: a group of users that owns applications together (Discord's team and team
//! member objects). The owner is also a member (accepted, role `admin`), as on Discord.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::PublicUser;
use crate::id::{TeamId, UserId};

/// Discord's `TEAM_PSEUDO_USER` user flag: the `owner` of a team-owned application is a
/// pseudo-user standing for the team.
pub const TEAM_PSEUDO_USER_FLAG: u64 = 1 << 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    /// Icon hash (CDN `team-icons/{team_id}/{hash}`).
    pub icon: Option<String>,
    pub owner_user_id: UserId,
}

impl TeamRecord {
    /// The team's pseudo-user id (the team id, as on Discord). A team-owned application's
    /// `owner_id` is this id, so the applications-by-owner index lists the team's applications.
    pub fn pseudo_user_id(&self) -> UserId {
        UserId(self.id.0)
    }

    /// Discord's team pseudo-user, the `owner` of the team's applications.
    pub fn pseudo_user(&self) -> Value {
        json!({
            "id": self.id,
            "username": format!("team{}", self.id),
            "global_name": null,
            "discriminator": "0000",
            "avatar": self.icon,
            "avatar_decoration_data": null,
            "bot": false,
            "system": false,
            "flags": TEAM_PSEUDO_USER_FLAG,
            "public_flags": TEAM_PSEUDO_USER_FLAG,
        })
    }

    /// Discord's team object with its members (users resolved by the caller, same order).
    pub fn to_json(&self, members: &[(TeamMemberRecord, PublicUser)]) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "icon": self.icon,
            "owner_user_id": self.owner_user_id,
            "members": members.iter().map(|(m, u)| m.to_json(u)).collect::<Vec<_>>(),
        })
    }
}

/// A member's role. Each role includes what the ones below it may do; the owner (not a role on
/// the wire) may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    /// See the team and its applications.
    ReadOnly,
    /// Also edit the applications and manage their bots (Discord: "configuring interaction
    /// endpoints or resetting the bot token").
    Developer,
    /// Also manage the team and its members; nothing destructive.
    Admin,
}

impl TeamRole {
    pub const NAMES: &'static str = "admin, developer, read_only";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "developer" => Some(Self::Developer),
            "read_only" => Some(Self::ReadOnly),
            _ => None,
        }
    }
}

/// Discord's membership states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum MembershipState {
    Invited = 1,
    Accepted = 2,
}

impl TryFrom<u8> for MembershipState {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(Self::Invited),
            2 => Ok(Self::Accepted),
            other => Err(format!("unknown membership state {other}")),
        }
    }
}

impl From<MembershipState> for u8 {
    fn from(s: MembershipState) -> u8 {
        s as u8
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMemberRecord {
    pub team_id: TeamId,
    pub user_id: UserId,
    pub membership_state: MembershipState,
    pub role: TeamRole,
}

impl TeamMemberRecord {
    /// Discord's team member object (`permissions` is always `["*"]`).
    pub fn to_json(&self, user: &PublicUser) -> Value {
        json!({
            "user": user,
            "team_id": self.team_id,
            "membership_state": self.membership_state,
            "role": self.role,
            "permissions": ["*"],
        })
    }
}
