//! Announcement channels: `POST /channels/{id}/messages/{message}/crosspost` publishes a message
//! to every channel following this one.
//!
//! The source actor marks the message CROSSPOSTED, reads its followers from the store and sends
//! each target channel actor one fire-and-forget message before it answers: the targets' writes
//! never hold up the source's mailbox, and a crosspost that returned has been handed to every
//! follower. Each target actor writes its copy — flagged IS_CROSSPOST, referencing the source,
//! authored by the follower webhook — and announces it like any message of its own.
//!
//! A poll travels as a read-only copy (question, answers, expiry, settings; no voters, no
//! `results`, votes refused with 520000): Discord documents nothing about polls on crossposts,
//! and a copy whose tally could drift from the original's would mislead; its poll object
//! already defines absent `results` as "unknown".

use axum::http::StatusCode;
use serde_json::Value;

use super::{ChannelMsg, State};
use crate::actors::guild::GuildMsg;
use crate::error::{ApiError, Unknown};
use crate::events::Dispatch;
use crate::id::{MessageId, UserId};
use crate::model::message::MessageReference;
use crate::model::{ChannelKind, MessageRecord, WebhookAuthor, WebhookRecord};
use crate::permissions::{Permissions, require};

/// Message flag: this message has been published to the channels following its channel.
pub const CROSSPOSTED: u64 = 1 << 0;
/// Message flag: this message is the copy of a crosspost, in a following channel.
pub const IS_CROSSPOST: u64 = 1 << 1;
/// Message flag kept on the copies (the rest describe the original's own state).
const SUPPRESS_EMBEDS: u64 = 1 << 2;

/// What a following channel receives: the source message and where it came from.
pub struct Crosspost {
    pub webhook: WebhookRecord,
    pub message: MessageRecord,
    pub author: WebhookAuthor,
}

impl State {
    /// Publishes a message of this announcement channel: the author needs SEND_MESSAGES,
    /// anyone else MANAGE_MESSAGES. Replies with the source message, now CROSSPOSTED.
    pub(super) async fn crosspost(
        &mut self,
        user: UserId,
        id: MessageId,
    ) -> Result<Value, ApiError> {
        let perms = self.view(user).await?;
        if self.channel.kind != ChannelKind::GuildAnnouncement {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                50024,
                "invalid-channel-type",
            ));
        }
        let mut m = self.find(id).await?;
        if m.author_id == user {
            require(perms, Permissions::SEND_MESSAGES)?;
        } else {
            require(perms, Permissions::MANAGE_MESSAGES)?;
        }
        if m.flags & CROSSPOSTED != 0 {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                40033,
                "already-crossposted",
            ));
        }
        if m.flags & IS_CROSSPOST != 0 || m.kind != 0 && m.kind != 19 {
            // A received crosspost or a system message is not this channel's to publish.
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                50021,
                "cannot-execute-on-system-message",
            ));
        }
        m.flags |= CROSSPOSTED;
        // Rendered before the write starts, so a failed render leaves store and window alike.
        let v = self.render(&m, None).await?;
        let theirs = self.render(&m, Some(user)).await?;
        self.persist_changed(&m)?;
        self.replace_cached(&m);
        self.fanout(Dispatch::message(
            "MESSAGE_UPDATE",
            &v,
            self.in_guild(),
            Vec::new(),
        ));
        if let Err(e) = self.deliver(&m).await {
            tracing::warn!(error = %e, message = %m.id, "crosspost delivery failed");
        }
        Ok(theirs)
    }

    /// Hands the message to each follower webhook's channel actor (a `tell`: each target writes
    /// its copy on its own time). A follower whose channel is gone (the channel or its guild was
    /// deleted) is removed instead, so it is not looked at again. Done before the reply, so a
    /// crosspost that returned has reached every follower's mailbox.
    async fn deliver(&self, message: &MessageRecord) -> Result<(), ApiError> {
        let followers = self
            .services
            .store
            .webhooks_following(self.channel.id)
            .await?;
        if followers.is_empty() {
            return Ok(());
        }
        let guild_name = match &self.guild {
            Some(g) => source_guild_name(g).await?,
            None => String::new(),
        };
        let author = WebhookAuthor {
            username: crosspost_author(&guild_name, self.channel.name.as_deref().unwrap_or("")),
            avatar: None,
        };
        for webhook in followers {
            match self.services.channel(webhook.channel_id).await {
                Ok(target) => {
                    let post = Box::new(Crosspost {
                        webhook,
                        message: message.clone(),
                        author: author.clone(),
                    });
                    // Delivered once the source's own write is durable (not at all if it
                    // failed), in order with this channel's other events.
                    self.pipeline.then(move |ok| {
                        if ok {
                            let _ =
                                crate::actors::tell(&target, ChannelMsg::ReceiveCrosspost(post));
                        }
                    });
                }
                Err(ApiError::Unknown(Unknown::Channel | Unknown::Guild)) => {
                    tracing::debug!(webhook = %webhook.id, "follower channel gone; removing");
                    self.services.store.delete_webhook(webhook.id).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// In a following channel: writes the copy of a crosspost and announces it. Mentions are
    /// not carried over (a crosspost pings nobody in the following guild, as on Discord).
    pub(super) async fn receive_crosspost(&mut self, post: Crosspost) -> Result<(), ApiError> {
        if !self.channel.kind.is_text() || self.channel.id != post.webhook.channel_id {
            return Ok(());
        }
        let source = post.message;
        let message = MessageRecord {
            id: self.services.ids.next()?,
            channel_id: self.channel.id,
            guild_id: self.channel.guild_id,
            author_id: UserId(post.webhook.id.0),
            content: source.content,
            edited_timestamp: None,
            tts: false,
            mention_everyone: false,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            attachments: source.attachments,
            embeds: source.embeds,
            reactions: Vec::new(),
            nonce: None,
            pinned: false,
            webhook_id: Some(post.webhook.id),
            webhook_author: Some(post.author),
            author_bot: false,
            kind: 0,
            flags: IS_CROSSPOST | (source.flags & SUPPRESS_EMBEDS),
            message_reference: Some(MessageReference {
                kind: 0,
                message_id: Some(source.id),
                channel_id: Some(source.channel_id),
                guild_id: source.guild_id,
                fail_if_not_exists: false,
            }),
            sticker_items: source.sticker_items,
            application_id: None,
            interaction: None,
            // A read-only copy: the original keeps the votes (see `PollRecord::crosspost_copy`).
            poll: source
                .poll
                .map(crate::model::poll::PollRecord::crosspost_copy),
            thread: None,
        };
        let v = self.render(&message, None).await?;
        self.persist_new(&message)?;
        crate::metrics::message_created();
        self.fanout(Dispatch::message(
            "MESSAGE_CREATE",
            &v,
            self.in_guild(),
            Vec::new(),
        ));
        self.remember(message, None);
        Ok(())
    }
}

async fn source_guild_name(guild: &ractor::ActorRef<GuildMsg>) -> Result<String, ApiError> {
    match crate::actors::mailbox::call(guild, GuildMsg::Preview, None).await {
        Ok(ractor::rpc::CallResult::Success(v)) => {
            Ok(v["name"].as_str().unwrap_or_default().to_string())
        }
        _ => Err(ApiError::internal("guild actor unavailable")),
    }
}

/// Discord shows a crosspost's author as "Guild Name #channel-name" (at most 80 characters, a
/// webhook name's limit).
pub fn crosspost_author(guild: &str, channel: &str) -> String {
    format!("{guild} #{channel}").chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_name_is_guild_and_channel() {
        assert_eq!(crosspost_author("News", "updates"), "News #updates");
        let long = "x".repeat(100);
        assert_eq!(crosspost_author(&long, "c").chars().count(), 80);
    }
}
