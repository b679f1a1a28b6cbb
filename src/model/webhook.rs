use serde::{Deserialize, Serialize};

use crate::id::{ApplicationId, ChannelId, GuildId, UserId, WebhookId};

/// A webhook: posts into its channel with no user account involved — an incoming webhook with
/// its token, a channel follower webhook with the crossposts of the channel it follows.
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
    /// Channel follower webhooks (type 2): the announcement channel they relay, and its guild.
    /// Absent on records stored before channel following existed, hence the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_guild_id: Option<GuildId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_channel_id: Option<ChannelId>,
}

impl WebhookRecord {
    /// Incoming webhooks (1) are executed with their token; channel follower webhooks (2) have
    /// none and only receive crossposts.
    pub const INCOMING: u8 = 1;
    pub const CHANNEL_FOLLOWER: u8 = 2;
}

/// How a webhook message shows its author (the per-message `username`/`avatar_url` overrides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookAuthor {
    pub username: String,
    pub avatar: Option<String>,
}
