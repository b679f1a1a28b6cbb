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

/// An attachment, stored and sent in Discord's shape: the optional members are left out when
/// absent (Discord's schema has no `null` for them: a text file has no `width`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: crate::id::AttachmentId,
    pub filename: String,
    pub size: u64,
    pub url: String,
    pub proxy_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Alt text, from the `attachments` metadata of the message body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Attachment {
    /// Discord's limit on an attachment's `description` (alt text), in characters.
    pub const MAX_DESCRIPTION: usize = 1024;
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
    /// The author is a bot user: search's `author_type=bot`. Kept on the message so the index,
    /// and a rebuild of it from the store, need no user lookup per message.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub author_bot: bool,
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
    /// The poll sent with the message, with its votes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<super::poll::PollRecord>,
    /// A thread started from this message: the thread as it was when it was started (Discord's
    /// `thread` field on a starter message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Box<super::ChannelRecord>>,
}

impl MessageRecord {
    pub fn timestamp(&self) -> Timestamp {
        Timestamp(self.id.snowflake().timestamp_ms() as i64)
    }

    /// Discord's message object. `author` and `mentions` are the resolved users; `me` marks own
    /// reactions. Prefer [`MessageRecord::view`] + `serde_json::to_writer` on hot paths: this
    /// builds a `Value` tree first.
    pub fn to_json(
        &self,
        author: &PublicUser,
        mentions: &[PublicUser],
        me: Option<UserId>,
    ) -> serde_json::Value {
        serde_json::to_value(self.view(author, mentions, me)).unwrap_or_default()
    }

    /// Whether every reader sees the same JSON: nothing depends on `me` (no reactions, no poll
    /// votes).
    pub fn renders_alike_for_everyone(&self) -> bool {
        self.reactions.iter().all(|r| r.user_ids.is_empty())
            && self.poll.as_ref().is_none_or(|p| !p.has_votes())
    }

    /// Whether the message shows more than its own record: a reply embeds the message it
    /// answers (`referenced_message`), an interaction response its invoker (`interaction`,
    /// `interaction_metadata`). Those are rendered by the channel actor, never from a cache.
    pub fn shows_other_records(&self) -> bool {
        self.kind == 19 || self.interaction.is_some()
    }

    /// The message object borrowed from this record, to serialize straight to bytes (a history
    /// page of 50 messages then allocates no intermediate tree).
    pub fn view<'a>(
        &'a self,
        author: &'a PublicUser,
        mentions: &'a [PublicUser],
        me: Option<UserId>,
    ) -> MessageView<'a> {
        MessageView {
            id: self.id,
            channel_id: self.channel_id,
            author,
            content: &self.content,
            timestamp: self.timestamp(),
            edited_timestamp: self.edited_timestamp,
            tts: self.tts,
            mention_everyone: self.mention_everyone,
            mentions,
            mention_roles: &self.mention_roles,
            attachments: &self.attachments,
            embeds: Embeds(&self.embeds),
            pinned: self.pinned,
            kind: self.kind,
            flags: self.flags,
            components: &[],
            reactions: Reactions {
                reactions: &self.reactions,
                me,
            },
            nonce: self.nonce.as_ref(),
            webhook_id: self.webhook_id,
            message_reference: self.message_reference.as_ref(),
            sticker_items: &self.sticker_items,
            guild_id: self.guild_id,
            application_id: self.application_id,
            poll: self.poll.as_ref().map(|p| p.view(me)),
            thread: self.thread.as_ref().map(|t| t.to_json(None)),
        }
    }
}

/// Discord's message object as it goes on the wire; see [`MessageRecord::view`]. Optional
/// members are left out when absent, as Discord does.
#[derive(Serialize)]
pub struct MessageView<'a> {
    id: MessageId,
    channel_id: ChannelId,
    author: &'a PublicUser,
    content: &'a str,
    timestamp: Timestamp,
    edited_timestamp: Option<Timestamp>,
    tts: bool,
    mention_everyone: bool,
    mentions: &'a [PublicUser],
    mention_roles: &'a [RoleId],
    attachments: &'a [Attachment],
    embeds: Embeds<'a>,
    pinned: bool,
    #[serde(rename = "type")]
    kind: u8,
    flags: u64,
    components: &'a [serde_json::Value],
    #[serde(skip_serializing_if = "Reactions::is_empty")]
    reactions: Reactions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_id: Option<WebhookId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_reference: Option<&'a MessageReference>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    sticker_items: &'a [super::StickerItem],
    #[serde(skip_serializing_if = "Option::is_none")]
    guild_id: Option<GuildId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    application_id: Option<crate::id::ApplicationId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    poll: Option<super::poll::PollView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread: Option<serde_json::Value>,
}

/// `embeds`, each with `type` defaulting to `rich` (see [`embed_json`]).
struct Embeds<'a>(&'a [serde_json::Value]);

impl Serialize for Embeds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0 {
            if e.get("type").is_some() || !e.is_object() {
                seq.serialize_element(e)?;
            } else {
                seq.serialize_element(&embed_json(e))?;
            }
        }
        seq.end()
    }
}

/// `reactions` of a message: those with at least one user, `me` set for the viewer's own.
struct Reactions<'a> {
    reactions: &'a [ReactionRecord],
    me: Option<UserId>,
}

impl Reactions<'_> {
    fn is_empty(&self) -> bool {
        self.reactions.iter().all(|r| r.user_ids.is_empty())
    }
}

impl Serialize for Reactions<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.reactions
                .iter()
                .filter(|r| !r.user_ids.is_empty())
                .map(|r| {
                    serde_json::json!({
                        "emoji": emoji_json(&r.emoji),
                        "count": r.user_ids.len(),
                        "count_details": {"burst": 0, "normal": r.user_ids.len()},
                        "me": self.me.is_some_and(|me| r.user_ids.contains(&me)),
                        "me_burst": false,
                        "burst_colors": [],
                    })
                }),
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StickerItem;
    use serde_json::json;

    fn user(id: u64, name: &str) -> PublicUser {
        PublicUser {
            id: UserId::new(id),
            username: name.into(),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            banner: None,
            accent_color: None,
            bot: false,
            system: false,
            public_flags: 0,
            avatar_decoration_data: None,
        }
    }

    #[test]
    fn the_view_renders_every_member_and_leaves_out_absent_ones() {
        let (author, mentioned) = (user(7, "author"), user(8, "mentioned"));
        let bare = MessageRecord {
            id: MessageId::new(1334466442357440512),
            channel_id: ChannelId::new(11),
            guild_id: None,
            author_id: author.id,
            content: "hi \"there\" <@8>".into(),
            edited_timestamp: None,
            tts: false,
            mention_everyone: false,
            mentions: vec![mentioned.id],
            mention_roles: vec![],
            attachments: vec![],
            embeds: vec![],
            reactions: vec![],
            nonce: None,
            pinned: false,
            webhook_id: None,
            webhook_author: None,
            author_bot: false,
            kind: 0,
            flags: 0,
            message_reference: None,
            sticker_items: vec![],
            application_id: None,
            interaction: None,
            poll: None,
            thread: None,
        };
        let v = bare.to_json(&author, std::slice::from_ref(&mentioned), None);
        assert_eq!(
            v,
            json!({
                "id": "1334466442357440512", "channel_id": "11", "author": author,
                "content": "hi \"there\" <@8>", "timestamp": bare.timestamp(),
                "edited_timestamp": null, "tts": false, "mention_everyone": false,
                "mentions": [mentioned], "mention_roles": [], "attachments": [], "embeds": [],
                "pinned": false, "type": 0, "flags": 0, "components": [],
            })
        );
        let full = MessageRecord {
            guild_id: Some(GuildId::new(3)),
            edited_timestamp: Some(Timestamp(1_700_000_000_000)),
            mention_roles: vec![RoleId::new(5)],
            embeds: vec![json!({"title": "t"})],
            reactions: vec![
                ReactionRecord {
                    emoji: "👍".into(),
                    user_ids: vec![UserId::new(7), UserId::new(9)],
                },
                ReactionRecord {
                    emoji: "party:123".into(),
                    user_ids: vec![UserId::new(9)],
                },
                ReactionRecord {
                    emoji: "gone".into(),
                    user_ids: vec![],
                },
            ],
            nonce: Some(json!("n1")),
            webhook_id: Some(WebhookId::new(4)),
            message_reference: Some(MessageReference {
                kind: 0,
                message_id: Some(MessageId::new(2)),
                channel_id: Some(ChannelId::new(11)),
                guild_id: Some(GuildId::new(3)),
                fail_if_not_exists: true,
            }),
            sticker_items: vec![StickerItem {
                id: crate::id::StickerId::new(6),
                name: "s".into(),
                format_type: crate::model::StickerFormat::Png,
            }],
            ..bare.clone()
        };
        let v = full.to_json(&author, &[], Some(UserId::new(7)));
        let mut expected = json!({
            "id": "1334466442357440512", "channel_id": "11", "author": author,
            "content": "hi \"there\" <@8>", "timestamp": full.timestamp(),
            "edited_timestamp": Timestamp(1_700_000_000_000), "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": ["5"],
            "attachments": [], "embeds": [{"title": "t", "type": "rich"}], "pinned": false, "type": 0,
            "flags": 0, "components": [],
            "reactions": [
                {"emoji": {"id": null, "name": "👍"}, "count": 2,
                 "count_details": {"burst": 0, "normal": 2}, "me": true, "me_burst": false,
                 "burst_colors": []},
                {"emoji": {"id": "123", "name": "party", "animated": false}, "count": 1,
                 "count_details": {"burst": 0, "normal": 1}, "me": false, "me_burst": false,
                 "burst_colors": []},
            ],
            "nonce": "n1", "webhook_id": "4", "guild_id": "3",
        });
        expected["message_reference"] = serde_json::to_value(&full.message_reference).unwrap();
        expected["sticker_items"] = serde_json::to_value(&full.sticker_items).unwrap();
        assert_eq!(v, expected);
        // Bytes and tree agree.
        let bytes = serde_json::to_vec(&full.view(&author, &[], Some(UserId::new(7)))).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            v
        );
    }
}
