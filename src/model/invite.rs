use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::id::{ChannelId, GuildId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteRecord {
    pub code: String,
    pub guild_id: Option<GuildId>,
    pub channel_id: ChannelId,
    pub inviter_id: Option<UserId>,
    pub created_at: Timestamp,
    /// Seconds; 0 = never expires.
    pub max_age: u32,
    /// 0 = unlimited.
    pub max_uses: u32,
    pub uses: u32,
    pub temporary: bool,
}

impl InviteRecord {
    pub fn expires_at(&self) -> Option<Timestamp> {
        (self.max_age > 0).then(|| Timestamp(self.created_at.0 + i64::from(self.max_age) * 1000))
    }

    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.expires_at().is_none_or(|at| at > now)
            && (self.max_uses == 0 || self.uses < self.max_uses)
    }
}

discord_number!(
    /// Where the job that processes an invite's target users file is (Discord's
    /// `TargetUsersJobStatusTypes`).
    TargetUsersJobStatus {
        /// No file was ever uploaded for this invite.
        Unspecified = 0,
        Processing = 1,
        Completed = 2,
        Failed = 3,
    }
);

/// The processing state of the last target users upload, answered as is by
/// `GET /invites/{code}/target-users/job-status` (Discord's `TargetUsersJobStatusResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetUsersJob {
    pub status: TargetUsersJobStatus,
    pub total_users: u32,
    pub processed_users: u32,
    pub created_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub error_message: Option<String>,
}

impl TargetUsersJob {
    /// What an invite without any upload answers: Discord's default (`UNSPECIFIED`, nothing
    /// counted, no times).
    pub fn none() -> Self {
        Self {
            status: TargetUsersJobStatus::Unspecified,
            total_users: 0,
            processed_users: 0,
            created_at: None,
            completed_at: None,
            error_message: None,
        }
    }
}

/// The users an invite is restricted to (`PUT /invites/{code}/target-users`): only they may
/// see and accept it. Kept apart from [`InviteRecord`] because the list can be long and only
/// the accept path and the target-users routes read it, while every invite listing reads the
/// invite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteTargetUsersRecord {
    pub code: String,
    /// Ascending, without duplicates.
    pub user_ids: Vec<UserId>,
    pub job: TargetUsersJob,
}

impl InviteTargetUsersRecord {
    /// Whether `user` may accept the invite: an empty list restricts nobody.
    pub fn admits(&self, user: UserId) -> bool {
        self.user_ids.is_empty() || self.user_ids.binary_search(&user).is_ok()
    }
}
