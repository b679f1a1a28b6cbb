//! Entitlements: a user's or a guild's access to one of an application's SKUs. Only test
//! entitlements exist here (there is no store to buy from), as Discord lets developers create
//! them to try their premium features; they never expire unless given an end.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Timestamp;
use crate::id::{ApplicationId, EntitlementId, GuildId, SkuId, UserId};

/// Discord's entitlement type of a subscription (`APPLICATION_SUBSCRIPTION`): what a test
/// entitlement for a guild or user subscription is answered as (Discord's public schema lists
/// only this type and quest rewards).
pub const TYPE_APPLICATION_SUBSCRIPTION: u8 = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitlementRecord {
    pub id: EntitlementId,
    pub application_id: ApplicationId,
    pub sku_id: SkuId,
    pub user_id: Option<UserId>,
    pub guild_id: Option<GuildId>,
    #[serde(rename = "type")]
    pub kind: u8,
    pub deleted: bool,
    pub consumed: bool,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
}

impl EntitlementRecord {
    /// Discord's entitlement object.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "sku_id": self.sku_id,
            "application_id": self.application_id,
            "type": self.kind,
            "deleted": self.deleted,
            "starts_at": self.starts_at.map(|t| t.to_string()),
            "ends_at": self.ends_at.map(|t| t.to_string()),
            "consumed": self.consumed,
        });
        // Absent rather than null for a guild's entitlement: the schema types it as a snowflake.
        if let Some(u) = self.user_id {
            v["user_id"] = json!(u);
        }
        if let Some(g) = self.guild_id {
            v["guild_id"] = json!(g);
        }
        v
    }

    /// Whether it has ended by `now` (test entitlements have no end unless given one).
    pub fn ended(&self, now: Timestamp) -> bool {
        self.ends_at.is_some_and(|e| e <= now)
    }
}
