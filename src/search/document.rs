//! What the index keeps of a message: its ids, author, content, mentions and what it "has"
//! (Discord's `has` filter: link, embed, file, image, video, sound, sticker, poll, snapshot),
//! derived from the stored record alone so a rebuild from the store gives the same document.

use crate::id::{ChannelId, GuildId, MessageId, RoleId, UserId};
use crate::model::MessageRecord;

/// Discord's `author_type` values a message can have (a bot's are `bot`, from the message's
/// own `author_bot`, set when it was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorKind {
    User,
    Bot,
    Webhook,
}

impl AuthorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Bot => "bot",
            Self::Webhook => "webhook",
        }
    }
}

/// One message as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedMessage {
    pub id: MessageId,
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub author_id: UserId,
    pub author_kind: AuthorKind,
    pub content: String,
    pub mentions: Vec<UserId>,
    pub mention_roles: Vec<RoleId>,
    pub mention_everyone: bool,
    pub pinned: bool,
    /// `has` values that apply, e.g. `["link", "image", "file"]`.
    pub has: Vec<&'static str>,
}

impl IndexedMessage {
    /// The indexed form of a guild message; DMs are not searched through a guild (None).
    pub fn from_record(m: &MessageRecord) -> Option<Self> {
        let guild_id = m.guild_id?;
        Some(Self {
            id: m.id,
            guild_id,
            channel_id: m.channel_id,
            author_id: m.author_id,
            author_kind: if m.webhook_id.is_some() {
                AuthorKind::Webhook
            } else if m.author_bot {
                AuthorKind::Bot
            } else {
                AuthorKind::User
            },
            content: m.content.clone(),
            mentions: m.mentions.clone(),
            mention_roles: m.mention_roles.clone(),
            mention_everyone: m.mention_everyone,
            pinned: m.pinned,
            has: has_of(m),
        })
    }
}

/// The `has` values Discord's search accepts.
pub const HAS_VALUES: &[&str] = &[
    "link", "embed", "file", "image", "video", "sound", "sticker", "poll", "snapshot",
];

/// What a message has: a link in its content or an embed with a url (`link`), any embed, any
/// file and by its content type images, videos and sounds, stickers, a poll, a forwarded
/// message (`snapshot`, message reference type 1).
pub fn has_of(m: &MessageRecord) -> Vec<&'static str> {
    let mut has = Vec::new();
    let link_in_content = m.content.contains("http://") || m.content.contains("https://");
    let link_in_embed = m.embeds.iter().any(|e| e.get("url").is_some());
    if link_in_content || link_in_embed {
        has.push("link");
    }
    if !m.embeds.is_empty() {
        has.push("embed");
    }
    if !m.attachments.is_empty() {
        has.push("file");
    }
    for a in &m.attachments {
        let kind = match a.content_type.as_deref().and_then(|c| c.split('/').next()) {
            Some("image") => "image",
            Some("video") => "video",
            Some("audio") => "sound",
            _ => continue,
        };
        if !has.contains(&kind) {
            has.push(kind);
        }
    }
    if !m.sticker_items.is_empty() {
        has.push("sticker");
    }
    if m.poll.is_some() {
        has.push("poll");
    }
    if m.message_reference.as_ref().is_some_and(|r| r.kind == 1) {
        has.push("snapshot");
    }
    has
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::Attachment;

    fn message(content: &str) -> MessageRecord {
        serde_json::from_value(serde_json::json!({
            "id": "10", "channel_id": "2", "guild_id": "1", "author_id": "3",
            "content": content, "edited_timestamp": null, "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "reactions": [], "nonce": null,
            "pinned": false, "webhook_id": null, "type": 0, "flags": 0,
            "message_reference": null,
        }))
        .expect("a message record")
    }

    #[test]
    fn links_embeds_and_files_by_kind() {
        assert!(has_of(&message("plain words")).is_empty());
        assert_eq!(has_of(&message("see https://example.com")), vec!["link"]);
        let mut m = message("pics");
        for (name, ty) in [
            ("a.png", "image/png"),
            ("b.ogg", "audio/ogg"),
            ("c.png", "image/png"),
        ] {
            m.attachments.push(Attachment {
                id: crate::id::AttachmentId::new(1),
                filename: name.into(),
                size: 1,
                url: String::new(),
                proxy_url: String::new(),
                content_type: Some(ty.into()),
                width: None,
                height: None,
                description: None,
            });
        }
        m.embeds.push(serde_json::json!({"title": "no url"}));
        assert_eq!(has_of(&m), vec!["embed", "file", "image", "sound"]);
    }

    #[test]
    fn dms_are_not_indexed_and_webhooks_are_their_own_authors() {
        let mut m = message("hi");
        assert_eq!(
            IndexedMessage::from_record(&m).map(|d| d.author_kind),
            Some(AuthorKind::User)
        );
        m.webhook_id = Some(crate::id::WebhookId::new(5));
        assert_eq!(
            IndexedMessage::from_record(&m).map(|d| d.author_kind),
            Some(AuthorKind::Webhook)
        );
        m.guild_id = None;
        assert!(IndexedMessage::from_record(&m).is_none());
    }
}
