use serde::{Deserialize, Serialize};

use super::{PublicUser, Timestamp};
use crate::id::{GuildId, RoleId, UserId};

/// Guild member flag: AutoMod blocks the member's username, display name or nickname
/// (Discord's AUTOMOD_QUARANTINED_USERNAME_OR_GUILD_NICKNAME).
pub const AUTOMOD_QUARANTINED_USERNAME: u64 = 1 << 7;
/// Guild member flag: AutoMod blocks the member's guild tag (Discord's
/// AUTOMOD_QUARANTINED_GUILD_TAG). Nobody has a guild tag here, so it is never set; it counts as
/// a quarantine all the same should a stored member carry it.
pub const AUTOMOD_QUARANTINED_GUILD_TAG: u64 = 1 << 10;
/// Every flag that quarantines a member.
pub const QUARANTINE_FLAGS: u64 = AUTOMOD_QUARANTINED_USERNAME | AUTOMOD_QUARANTINED_GUILD_TAG;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub guild_id: GuildId,
    pub user_id: UserId,
    pub nick: Option<String>,
    pub avatar: Option<String>,
    pub roles: Vec<RoleId>,
    pub joined_at: Timestamp,
    pub premium_since: Option<Timestamp>,
    pub deaf: bool,
    pub mute: bool,
    pub pending: bool,
    pub flags: u64,
    pub communication_disabled_until: Option<Timestamp>,
}

impl MemberRecord {
    pub fn new(guild_id: GuildId, user_id: UserId) -> Self {
        Self {
            guild_id,
            user_id,
            nick: None,
            avatar: None,
            roles: Vec::new(),
            joined_at: Timestamp::now(),
            premium_since: None,
            deaf: false,
            mute: false,
            pending: false,
            flags: 0,
            communication_disabled_until: None,
        }
    }

    pub fn timed_out(&self, now: Timestamp) -> bool {
        self.communication_disabled_until
            .is_some_and(|until| until > now)
    }

    /// Whether auto-moderation quarantined the member for their profile (a MEMBER_PROFILE
    /// rule's BLOCK_MEMBER_INTERACTION): held in `flags`, so it survives restarts with the
    /// member and lifts when the profile no longer matches.
    pub fn quarantined(&self) -> bool {
        self.flags & QUARANTINE_FLAGS != 0
    }

    /// Discord's guild member object (with `user`). `banner` is the per-guild profile banner,
    /// which no member can set here, so it is `null` as on Discord for a member without one.
    pub fn to_json(&self, user: &PublicUser) -> serde_json::Value {
        serde_json::json!({
            "user": user,
            "nick": self.nick,
            "avatar": self.avatar,
            "banner": null,
            "roles": self.roles,
            "joined_at": self.joined_at,
            "premium_since": self.premium_since,
            "deaf": self.deaf,
            "mute": self.mute,
            "pending": self.pending,
            "flags": self.flags,
            "communication_disabled_until": self.communication_disabled_until,
        })
    }
}
