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
