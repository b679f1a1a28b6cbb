//! Guild templates: a code that creates new guilds from a snapshot of an existing guild's
//! settings, roles and channels (no members, messages, emojis or bans), Discord's shape.
//!
//! In the snapshot, roles and channels are numbered instead of carrying snowflakes, as on
//! Discord: role `0` is @everyone, the others `1..`, channels `1..`; `parent_id`, the permission
//! overwrites' `id`, `afk_channel_id` and `system_channel_id` refer to those numbers. That keeps
//! the source guild's ids out of a public object and is exactly the placeholder form a
//! create-guild body takes, so a template is instantiated through the same code as
//! `POST /guilds`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PublicUser, Timestamp};
use crate::id::{GuildId, UserId};
use crate::permissions::{OverwriteKind, Permissions};

/// A stored template. Whether it is dirty (the source guild changed since the snapshot) is not
/// stored: the guild actor compares the snapshot with a fresh one when the template is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRecord {
    /// Unique across the instance (12 letters and digits).
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub usage_count: u32,
    pub creator_id: UserId,
    pub created_at: Timestamp,
    /// When the snapshot was last taken (create or sync).
    pub updated_at: Timestamp,
    pub source_guild_id: GuildId,
    pub serialized_source_guild: TemplateSnapshot,
}

/// The guild as it was when the template was created or last synced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSnapshot {
    pub name: String,
    pub description: Option<String>,
    pub region: Option<String>,
    pub verification_level: u8,
    pub default_message_notifications: u8,
    pub explicit_content_filter: u8,
    pub preferred_locale: String,
    pub afk_timeout: u32,
    /// A channel number of [`TemplateSnapshot::channels`].
    pub afk_channel_id: Option<u32>,
    /// A channel number of [`TemplateSnapshot::channels`].
    pub system_channel_id: Option<u32>,
    pub system_channel_flags: u64,
    pub icon_hash: Option<String>,
    /// @everyone first (number 0), then the other roles from the bottom of the hierarchy up.
    pub roles: Vec<TemplateRole>,
    pub channels: Vec<TemplateChannel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRole {
    pub id: u32,
    pub name: String,
    pub permissions: Permissions,
    pub color: u32,
    pub hoist: bool,
    pub mentionable: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateChannel {
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: u8,
    pub name: Option<String>,
    pub position: i32,
    pub topic: Option<String>,
    pub bitrate: u32,
    pub user_limit: u32,
    pub nsfw: bool,
    pub rate_limit_per_user: u32,
    /// A channel number (a category of the snapshot).
    pub parent_id: Option<u32>,
    /// Role overwrites only (members don't carry over), `id` being a role number.
    pub permission_overwrites: Vec<TemplateOverwrite>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemplateOverwrite {
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: OverwriteKind,
    pub allow: Permissions,
    pub deny: Permissions,
}

impl TemplateRecord {
    /// Discord's guild template object. `is_dirty` is None when the source guild could not be
    /// compared (Discord sends `null` then too).
    pub fn to_json(&self, creator: &PublicUser, is_dirty: Option<bool>) -> Value {
        json!({
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "usage_count": self.usage_count,
            "creator_id": self.creator_id,
            "creator": creator,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "source_guild_id": self.source_guild_id,
            "serialized_source_guild": self.serialized_source_guild.to_json(),
            "is_dirty": is_dirty,
        })
    }
}

impl TemplateSnapshot {
    /// The snapshot with the fields Discord's object has and this server doesn't keep (role
    /// `colors`, the forum settings of channels) filled in, so strict clients parse it.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(roles) = v["roles"].as_array_mut() {
            for r in roles {
                r["colors"] = json!({
                    "primary_color": r["color"],
                    "secondary_color": null,
                    "tertiary_color": null,
                });
            }
        }
        if let Some(channels) = v["channels"].as_array_mut() {
            for c in channels {
                for key in [
                    "default_auto_archive_duration",
                    "available_tags",
                    "default_reaction_emoji",
                    "default_thread_rate_limit_per_user",
                    "default_sort_order",
                    "default_forum_layout",
                    "default_tag_setting",
                    "theme_color",
                ] {
                    c[key] = Value::Null;
                }
                c["template"] = json!("");
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_json_has_discords_fields() {
        let s = TemplateSnapshot {
            name: "g".into(),
            description: None,
            region: None,
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            preferred_locale: "en-US".into(),
            afk_timeout: 300,
            afk_channel_id: None,
            system_channel_id: Some(1),
            system_channel_flags: 0,
            icon_hash: None,
            roles: vec![TemplateRole {
                id: 0,
                name: "@everyone".into(),
                permissions: Permissions::VIEW_CHANNEL,
                color: 5,
                hoist: false,
                mentionable: false,
                icon: None,
                unicode_emoji: None,
            }],
            channels: vec![TemplateChannel {
                id: 1,
                kind: 0,
                name: Some("general".into()),
                position: 0,
                topic: None,
                bitrate: 64_000,
                user_limit: 0,
                nsfw: false,
                rate_limit_per_user: 0,
                parent_id: None,
                permission_overwrites: vec![TemplateOverwrite {
                    id: 0,
                    kind: OverwriteKind::Role,
                    allow: Permissions::empty(),
                    deny: Permissions::SEND_MESSAGES,
                }],
            }],
        };
        let v = s.to_json();
        assert_eq!(v["roles"][0]["id"], 0);
        assert_eq!(v["roles"][0]["permissions"], "1024");
        assert_eq!(v["roles"][0]["colors"]["primary_color"], 5);
        assert_eq!(v["channels"][0]["permission_overwrites"][0]["type"], 0);
        assert_eq!(v["channels"][0]["permission_overwrites"][0]["deny"], "2048");
        assert_eq!(v["channels"][0]["template"], "");
        assert!(v["channels"][0]["available_tags"].is_null());
        assert_eq!(v["system_channel_id"], 1);
        let back: TemplateSnapshot =
            serde_json::from_value(serde_json::to_value(&s).unwrap()).expect("round trip");
        assert_eq!(back, s);
    }
}
