use serde::{Deserialize, Serialize};

use crate::id::{ApplicationId, TeamId, UserId};

/// Application flags that matter to the gateway: which privileged intents a bot may use.
/// The `_LIMITED` variants are what Discord grants unverified bots (under 100 guilds).
pub mod flags {
    pub const GATEWAY_PRESENCE: u64 = 1 << 12;
    pub const GATEWAY_PRESENCE_LIMITED: u64 = 1 << 13;
    pub const GATEWAY_GUILD_MEMBERS: u64 = 1 << 14;
    pub const GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;
    pub const GATEWAY_MESSAGE_CONTENT: u64 = 1 << 18;
    pub const GATEWAY_MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;
    /// Every intent flag; the only flags an owner may set.
    pub const INTENT_FLAGS: u64 = GATEWAY_PRESENCE
        | GATEWAY_PRESENCE_LIMITED
        | GATEWAY_GUILD_MEMBERS
        | GATEWAY_GUILD_MEMBERS_LIMITED
        | GATEWAY_MESSAGE_CONTENT
        | GATEWAY_MESSAGE_CONTENT_LIMITED;
}

/// A developer application. Its bot user, when created, has the same id (as on Discord today).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    pub id: ApplicationId,
    pub name: String,
    pub description: String,
    pub icon: Option<String>,
    pub owner_id: UserId,
    pub team_id: Option<TeamId>,
    pub bot_user_id: Option<UserId>,
    pub bot_public: bool,
    pub bot_require_code_grant: bool,
    pub flags: u64,
    /// Hex public key (interactions); random per application.
    pub verify_key: String,
    pub redirect_uris: Vec<String>,
    pub interactions_endpoint_url: Option<String>,
    pub tags: Vec<String>,
    pub terms_of_service_url: Option<String>,
    pub privacy_policy_url: Option<String>,
    /// SHA-256 hex of the OAuth2 client secret (`POST /applications/{id}/reset` mints one and
    /// shows it once); `None` until the first reset, so no application has a guessable secret.
    #[serde(default)]
    pub client_secret_hash: Option<String>,
}

impl ApplicationRecord {
    /// Whether the bot may identify with these privileged intent bits.
    pub fn allows(&self, presence: bool, members: bool, content: bool) -> bool {
        let has = |full: u64, limited: u64| self.flags & (full | limited) != 0;
        (!presence || has(flags::GATEWAY_PRESENCE, flags::GATEWAY_PRESENCE_LIMITED))
            && (!members
                || has(
                    flags::GATEWAY_GUILD_MEMBERS,
                    flags::GATEWAY_GUILD_MEMBERS_LIMITED,
                ))
            && (!content
                || has(
                    flags::GATEWAY_MESSAGE_CONTENT,
                    flags::GATEWAY_MESSAGE_CONTENT_LIMITED,
                ))
    }
}
