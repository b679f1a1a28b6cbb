use serde::{Deserialize, Serialize};

use crate::id::{ChannelId, EmojiId, GuildId, MessageId, TagId, UserId};
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
    /// Thread types (10, 11, 12): channels with a parent, a creator and thread metadata.
    pub fn is_thread(self) -> bool {
        matches!(
            self,
            Self::AnnouncementThread | Self::PublicThread | Self::PrivateThread
        )
    }

    pub fn is_guild(self) -> bool {
        !matches!(self, Self::Dm | Self::GroupDm)
    }

    /// Forum (15) and media (16) channels: posts only, as threads.
    pub fn is_forum(self) -> bool {
        matches!(self, Self::GuildForum | Self::GuildMedia)
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
    /// Threads only: archive state and settings (Discord's `thread_metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_metadata: Option<ThreadMetadata>,
    /// Threads only: members who joined (Discord stops counting at 50; we count them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u32>,
    /// Threads only: messages currently in the thread (not counting the starter message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u32>,
    /// Threads only: messages ever sent (deletions do not lower it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_message_sent: Option<u32>,
    /// Threads: the tags of their forum/media parent applied to them (empty elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_tags: Option<Vec<TagId>>,
    /// Forum and media channels: the tags posts may carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_tags: Option<Vec<ForumTag>>,
    /// Forum and media channels: the reaction clients show on each post (serialized `null`
    /// when unset, as Discord does for these channels).
    #[serde(default, skip_serializing_if = "ForumOnly::is_absent")]
    pub default_reaction_emoji: ForumOnly<DefaultReaction>,
    /// Forum and media channels: how clients order posts (0 latest activity, 1 creation date;
    /// `null` when unset).
    #[serde(default, skip_serializing_if = "ForumOnly::is_absent")]
    pub default_sort_order: ForumOnly<u8>,
    /// Forum channels: how clients lay posts out (0 not set, 1 list, 2 gallery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_forum_layout: Option<u8>,
    /// Slowmode copied onto each new thread (text, announcement, forum and media channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_thread_rate_limit_per_user: Option<u32>,
}

/// Channel flags Discord documents for forum and media channels and their posts.
pub mod channel_flags {
    /// A post pinned to the top of its forum (threads only).
    pub const PINNED: u64 = 1 << 1;
    /// Posts of this forum/media channel need at least one tag.
    pub const REQUIRE_TAG: u64 = 1 << 4;
    /// Media channels: clients hide the download options of attachments.
    pub const HIDE_MEDIA_DOWNLOAD_OPTIONS: u64 = 1 << 15;
}

/// A field only forum and media channels carry, `null` there when unset: absent on every other
/// channel (`Absent`), present but null (`Null`) or set.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ForumOnly<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<T> ForumOnly<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    pub fn as_set(&self) -> Option<&T> {
        match self {
            Self::Set(v) => Some(v),
            _ => None,
        }
    }
}

impl<T: Serialize> Serialize for ForumOnly<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Set(v) => v.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ForumOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Self::Set(v),
            None => Self::Null,
        })
    }
}

/// A tag of a forum or media channel (Discord's forum tag object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForumTag {
    pub id: TagId,
    pub name: String,
    /// Only MANAGE_THREADS holders may apply it to a post.
    pub moderated: bool,
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
}

/// The default reaction of a forum or media channel: a guild emoji or a unicode one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefaultReaction {
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
}

/// Discord's thread metadata object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMetadata {
    pub archived: bool,
    /// Minutes without a message before the thread archives itself: 60, 1440, 4320 or 10080.
    pub auto_archive_duration: u32,
    /// When `archived` last changed (creation time until then), as Discord defines it.
    pub archive_timestamp: Timestamp,
    /// Only MANAGE_THREADS holders may unarchive a locked thread.
    pub locked: bool,
    /// Private threads: whether non-moderators may add members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitable: Option<bool>,
    pub create_timestamp: Timestamp,
}

/// A user's membership of a thread (Discord's thread member object, less the optional guild
/// member). Stored per guild, so the guild actor loads every membership with the guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMemberRecord {
    pub guild_id: GuildId,
    /// The thread (`id` on the wire).
    pub thread_id: ChannelId,
    pub user_id: UserId,
    pub join_timestamp: Timestamp,
    /// Notification settings (client-side only).
    pub flags: u64,
}

impl ThreadMemberRecord {
    /// The wire form: `{id, user_id, join_timestamp, flags}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.thread_id,
            "user_id": self.user_id,
            "join_timestamp": self.join_timestamp,
            "flags": self.flags,
        })
    }
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
            thread_metadata: None,
            member_count: None,
            message_count: None,
            total_message_sent: None,
            applied_tags: None,
            available_tags: None,
            default_reaction_emoji: ForumOnly::Absent,
            default_sort_order: ForumOnly::Absent,
            default_forum_layout: None,
            default_thread_rate_limit_per_user: None,
        }
    }

    /// Forum and media channels: their posts are threads with a starter message and tags.
    pub fn is_forum(&self) -> bool {
        self.kind.is_forum()
    }

    /// The tag `id` of this forum, if it has one.
    pub fn tag(&self, id: TagId) -> Option<&ForumTag> {
        self.available_tags.as_ref()?.iter().find(|t| t.id == id)
    }

    /// Discord's channel object. `recipients` are user objects for DMs, omitted for guild channels.
    pub fn to_json(&self, recipients: Option<&[super::PublicUser]>) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("recipient_ids");
            if self.kind.is_thread() {
                // Threads carry their creator and no overwrites or position of their own.
                for k in [
                    "recipients",
                    "icon",
                    "bitrate",
                    "user_limit",
                    "position",
                    "permission_overwrites",
                    "topic",
                    "nsfw",
                ] {
                    obj.remove(k);
                }
            } else if self.kind.is_guild() {
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
