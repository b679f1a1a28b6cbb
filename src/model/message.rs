use serde::{Deserialize, Serialize};

use super::{PublicUser, Timestamp};
use crate::id::{ChannelId, GuildId, MessageId, RoleId, UserId, WebhookId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageReference {
    #[serde(default, rename = "type")]
    pub kind: u8,
    pub message_id: Option<MessageId>,
    pub channel_id: Option<ChannelId>,
    pub guild_id: Option<GuildId>,
    #[serde(default = "yes")]
    pub fail_if_not_exists: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: crate::id::AttachmentId,
    pub filename: String,
    pub size: u64,
    pub url: String,
    pub proxy_url: String,
    pub content_type: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionRecord {
    /// Unicode emoji name or custom emoji `name:id`.
    pub emoji: String,
    pub user_ids: Vec<UserId>,
}

/// A stored message. The timestamp is derived from the id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub guild_id: Option<GuildId>,
    pub author_id: UserId,
    pub content: String,
    pub edited_timestamp: Option<Timestamp>,
    pub tts: bool,
    pub mention_everyone: bool,
    pub mentions: Vec<UserId>,
    pub mention_roles: Vec<RoleId>,
    pub attachments: Vec<Attachment>,
    pub embeds: Vec<serde_json::Value>,
    pub reactions: Vec<ReactionRecord>,
    pub nonce: Option<serde_json::Value>,
    pub pinned: bool,
    pub webhook_id: Option<WebhookId>,
    /// For webhook messages: the name and avatar shown as the author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_author: Option<super::WebhookAuthor>,
    #[serde(rename = "type")]
    pub kind: u8,
    pub flags: u64,
    pub message_reference: Option<MessageReference>,
    /// The stickers sent with the message, as they were then (`sticker_items` on the wire).
    #[serde(default)]
    pub sticker_items: Vec<super::StickerItem>,
    /// The application whose interaction this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<crate::id::ApplicationId>,
    /// The interaction this message answers (`interaction_metadata` on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<super::MessageInteraction>,
}

impl MessageRecord {
    pub fn timestamp(&self) -> Timestamp {
        Timestamp(self.id.snowflake().timestamp_ms() as i64)
    }

    /// Discord's message object. `users` resolves author and mentions; `me` marks own reactions.
    pub fn to_json(
        &self,
        author: &PublicUser,
        mentions: &[PublicUser],
        me: Option<UserId>,
    ) -> serde_json::Value {
        let reactions: Vec<serde_json::Value> = self
            .reactions
            .iter()
            .filter(|r| !r.user_ids.is_empty())
            .map(|r| {
                serde_json::json!({
                    "emoji": emoji_json(&r.emoji),
                    "count": r.user_ids.len(),
                    "count_details": {"burst": 0, "normal": r.user_ids.len()},
                    "me": me.is_some_and(|me| r.user_ids.contains(&me)),
                    "me_burst": false,
                    "burst_colors": [],
                })
            })
            .collect();
        let mut v = serde_json::json!({
            "id": self.id,
            "channel_id": self.channel_id,
            "author": author,
            "content": self.content,
            "timestamp": self.timestamp(),
            "edited_timestamp": self.edited_timestamp,
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": mentions,
            "mention_roles": self.mention_roles,
            "attachments": self.attachments,
            "embeds": self.embeds.iter().map(embed_json).collect::<Vec<_>>(),
            "pinned": self.pinned,
            "type": self.kind,
            "flags": self.flags,
            "components": [],
        });
        if let Some(obj) = v.as_object_mut() {
            if !reactions.is_empty() {
                obj.insert("reactions".into(), reactions.into());
            }
            if let Some(nonce) = &self.nonce {
                obj.insert("nonce".into(), nonce.clone());
            }
            if let Some(w) = self.webhook_id {
                obj.insert(
                    "webhook_id".into(),
                    serde_json::to_value(w).unwrap_or_default(),
                );
            }
            if let Some(r) = &self.message_reference {
                obj.insert(
                    "message_reference".into(),
                    serde_json::to_value(r).unwrap_or_default(),
                );
            }
            if !self.sticker_items.is_empty() {
                obj.insert(
                    "sticker_items".into(),
                    serde_json::to_value(&self.sticker_items).unwrap_or_default(),
                );
            }
            if let Some(g) = self.guild_id {
                obj.insert(
                    "guild_id".into(),
                    serde_json::to_value(g).unwrap_or_default(),
                );
            }
            if let Some(a) = self.application_id {
                obj.insert(
                    "application_id".into(),
                    serde_json::to_value(a).unwrap_or_default(),
                );
            }
        }
        v
    }
}

/// An embed as Discord returns it: `type` defaults to `rich` (clients send embeds without it;
/// strict client models, twilight's among them, require it).
fn embed_json(embed: &serde_json::Value) -> serde_json::Value {
    let mut e = embed.clone();
    if let Some(o) = e.as_object_mut() {
        o.entry("type").or_insert_with(|| "rich".into());
    }
    e
}

/// `{"id": null, "name": "👍"}` for unicode, `{"id": "…", "name": "x"}` for custom `x:id`.
pub fn emoji_json(emoji: &str) -> serde_json::Value {
    match emoji.rsplit_once(':') {
        Some((name, id)) if id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty() => {
            serde_json::json!({"id": id, "name": name, "animated": false})
        }
        _ => serde_json::json!({"id": null, "name": emoji}),
    }
}
