//! Application emojis: custom emojis an application owns (up to 2000 by default), usable by its
//! bot in every guild. Discord serves their images from the same `emojis/{id}` CDN path as guild
//! emojis, and gives them the application's owner as `user`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::PublicUser;
use crate::id::{ApplicationId, EmojiId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppEmojiRecord {
    pub id: EmojiId,
    pub application_id: ApplicationId,
    pub name: String,
    /// The CDN hash of the image (`a_`-prefixed when animated).
    pub image: String,
    pub animated: bool,
}

impl AppEmojiRecord {
    /// Discord's emoji object as the application emoji routes answer it: no roles, never
    /// managed, always available, and the application's owner as `user`.
    pub fn to_json(&self, owner: &Value) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "roles": [],
            "user": owner,
            "require_colons": true,
            "managed": false,
            "animated": self.animated,
            "available": true,
        })
    }

    /// [`Self::to_json`] with a resolved user as the owner.
    pub fn to_json_by(&self, owner: &PublicUser) -> Value {
        self.to_json(&json!(owner))
    }
}
