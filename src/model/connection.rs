//! Connected accounts: a third-party account (GitHub, GitLab…) a user linked through the
//! provider's OAuth2 flow. Discord's connection object; the provider's access token is kept for
//! the server and never leaves it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::id::UserId;

/// Discord's connection visibility: 0 only the user, 1 everyone (shown on the profile).
pub const VISIBILITY_NONE: u8 = 0;
pub const VISIBILITY_EVERYONE: u8 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectedAccountRecord {
    pub user_id: UserId,
    /// The provider key (`github`), Discord's connection `type`.
    pub kind: String,
    /// The account's id at the provider.
    pub id: String,
    /// The account's name at the provider.
    pub name: String,
    pub verified: bool,
    pub visibility: u8,
    pub show_activity: bool,
    pub friend_sync: bool,
    /// The provider no longer honours the token.
    pub revoked: bool,
    /// Guild integrations attached to the account (none are created yet; kept for the shape).
    #[serde(default)]
    pub integrations: Vec<Value>,
    /// The provider's OAuth2 access token: server-side only, never serialized to a client.
    #[serde(default)]
    pub access_token: Option<String>,
}

impl ConnectedAccountRecord {
    /// The owner's view: Discord's connection object, without the access token.
    pub fn to_json(&self) -> Value {
        json!({
            "type": self.kind,
            "id": self.id,
            "name": self.name,
            "verified": self.verified,
            "visibility": self.visibility,
            "show_activity": self.show_activity,
            "friend_sync": self.friend_sync,
            "revoked": self.revoked,
            "two_way_link": false,
            "metadata_visibility": self.visibility,
            "integrations": self.integrations,
        })
    }

    /// What others see on the profile (`connected_accounts`): Discord's partial connection.
    pub fn to_public_json(&self) -> Value {
        json!({
            "type": self.kind,
            "id": self.id,
            "name": self.name,
            "verified": self.verified,
        })
    }

    /// Shown on the user's profile.
    pub fn is_public(&self) -> bool {
        self.visibility == VISIBILITY_EVERYONE && !self.revoked
    }
}
