//! A guild integration: an application's bot added to a guild through OAuth2, with who added it
//! and the scopes granted (what `GET /guilds/{id}/integrations` lists).

use serde::{Deserialize, Serialize};

use crate::id::{ApplicationId, GuildId, IntegrationId, UserId};
use crate::model::Timestamp;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRecord {
    pub id: IntegrationId,
    pub guild_id: GuildId,
    pub application_id: ApplicationId,
    /// The application's bot user (the member the integration brought).
    pub bot_id: UserId,
    /// Who authorized it.
    pub user_id: UserId,
    /// The OAuth2 scopes granted (`bot`, `applications.commands`, …).
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
}
