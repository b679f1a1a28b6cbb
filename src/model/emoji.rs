use serde::{Deserialize, Serialize};

use super::PublicUser;
use crate::id::{EmojiId, GuildId, RoleId, UserId};

/// A guild's custom emoji. The image lives on the CDN under `emojis/{id}/{image}.{ext}` (served
/// as `/emojis/{id}.{ext}` too, the URL Discord clients build).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmojiRecord {
    pub id: EmojiId,
    pub guild_id: GuildId,
    pub name: String,
    /// Roles allowed to use it (empty: everyone).
    #[serde(default)]
    pub roles: Vec<RoleId>,
    /// Who uploaded it.
    pub user_id: Option<UserId>,
    /// The CDN hash of the image (`a_`-prefixed when animated).
    pub image: String,
    pub animated: bool,
    pub available: bool,
    pub managed: bool,
    pub require_colons: bool,
}

impl EmojiRecord {
    /// Discord's emoji object; `user` only where Discord sends it (to members with
    /// MANAGE_GUILD_EXPRESSIONS on the emoji routes).
    pub fn to_json(&self, user: Option<&PublicUser>) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": self.id,
            "name": self.name,
            "roles": self.roles,
            "require_colons": self.require_colons,
            "managed": self.managed,
            "animated": self.animated,
            "available": self.available,
        });
        if let Some(u) = user {
            v["user"] = serde_json::json!(u);
        }
        v
    }
}
