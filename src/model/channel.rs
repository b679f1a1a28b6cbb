use serde::{Deserialize, Serialize};

use crate::id::{ChannelId, GuildId, MessageId, UserId};
use crate::permissions::PermissionOverwrite;

use super::Timestamp;

/// Discord's channel types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum ChannelKind {
    GuildText = 0,
    Dm = 1,
    GuildVoice = 2,
    GroupDm = 3,
    GuildCategory = 4,
    GuildAnnouncement = 5,
    AnnouncementThread = 10,
    PublicThread = 11,
    PrivateThread = 12,
    GuildStageVoice = 13,
    GuildDirectory = 14,
    GuildForum = 15,
    GuildMedia = 16,
}

impl TryFrom<u8> for ChannelKind {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        Ok(match v {
            0 => Self::GuildText,
            1 => Self::Dm,
            2 => Self::GuildVoice,
            3 => Self::GroupDm,
            4 => Self::GuildCategory,
            5 => Self::GuildAnnouncement,
            10 => Self::AnnouncementThread,
            11 => Self::PublicThread,
            12 => Self::PrivateThread,
            13 => Self::GuildStageVoice,
            14 => Self::GuildDirectory,
            15 => Self::GuildForum,
            16 => Self::GuildMedia,
            other => return Err(format!("unknown channel type {other}")),
        })
    }
}

impl From<ChannelKind> for u8 {
    fn from(k: ChannelKind) -> u8 {
        k as u8
    }
}

impl ChannelKind {
    pub fn is_guild(self) -> bool {
        !matches!(self, Self::Dm | Self::GroupDm)
    }

    /// Channels that hold messages.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Self::GuildText
                | Self::Dm
                | Self::GroupDm
                | Self::GuildAnnouncement
                | Self::GuildVoice
                | Self::AnnouncementThread
                | Self::PublicThread
                | Self::PrivateThread
                | Self::GuildStageVoice
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub id: ChannelId,
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    pub guild_id: Option<GuildId>,
    pub position: i32,
    pub permission_overwrites: Vec<PermissionOverwrite>,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub last_message_id: Option<MessageId>,
    pub bitrate: Option<u32>,
    pub user_limit: Option<u32>,
    pub rate_limit_per_user: u32,
    /// DM / group DM members (the wire form carries user objects instead).
    pub recipient_ids: Vec<UserId>,
    pub icon: Option<String>,
    pub owner_id: Option<UserId>,
    pub parent_id: Option<ChannelId>,
    pub last_pin_timestamp: Option<Timestamp>,
    pub flags: u64,
}

impl ChannelRecord {
    pub fn new(id: ChannelId, kind: ChannelKind, guild_id: Option<GuildId>) -> Self {
        Self {
            id,
            kind,
            guild_id,
            position: 0,
            permission_overwrites: Vec::new(),
            name: None,
            topic: None,
            nsfw: false,
            last_message_id: None,
            bitrate: None,
            user_limit: None,
            rate_limit_per_user: 0,
            recipient_ids: Vec::new(),
            icon: None,
            owner_id: None,
            parent_id: None,
            last_pin_timestamp: None,
            flags: 0,
        }
    }

    /// Discord's channel object. `recipients` are user objects for DMs, omitted for guild channels.
    pub fn to_json(&self, recipients: Option<&[super::PublicUser]>) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("recipient_ids");
            if self.kind.is_guild() {
                obj.remove("recipients");
                obj.remove("owner_id");
                obj.remove("icon");
                if !matches!(
                    self.kind,
                    ChannelKind::GuildVoice | ChannelKind::GuildStageVoice
                ) {
                    obj.remove("bitrate");
                    obj.remove("user_limit");
                }
            } else {
                obj.remove("guild_id");
                obj.remove("position");
                obj.remove("permission_overwrites");
                obj.remove("bitrate");
                obj.remove("user_limit");
                obj.remove("parent_id");
                obj.remove("nsfw");
                obj.remove("topic");
                obj.remove("rate_limit_per_user");
                obj.insert(
                    "recipients".into(),
                    serde_json::to_value(recipients.unwrap_or(&[])).unwrap_or_default(),
                );
                if self.kind == ChannelKind::Dm {
                    obj.remove("name");
                    obj.remove("owner_id");
                    obj.remove("icon");
                }
            }
        }
        v
    }
}
