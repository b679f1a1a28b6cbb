use serde::{Deserialize, Serialize};

use crate::id::{ApplicationId, ChannelId, GuildId, UserId, WebhookId};

/// An incoming webhook: posts into its channel with its token, no user account involved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookRecord {
    pub id: WebhookId,
    /// 1 incoming, 2 channel follower, 3 application.
    #[serde(rename = "type")]
    pub kind: u8,
    pub guild_id: Option<GuildId>,
    pub channel_id: ChannelId,
    pub name: String,
    pub avatar: Option<String>,
    /// Secret part of the execute URL.
    pub token: String,
    /// Who created it.
    pub creator_id: UserId,
    pub application_id: Option<ApplicationId>,
}

/// How a webhook message shows its author (the per-message `username`/`avatar_url` overrides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookAuthor {
    pub username: String,
    pub avatar: Option<String>,
}
