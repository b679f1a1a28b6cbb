//! Auto-moderation where a message is accepted: the guild's compiled rules (one atomic load; a
//! guild without rules stops there) run over the content of every create and edit, members
//! with ADMINISTRATOR or MANAGE_GUILD exempt as on Discord. A BLOCK_MESSAGE action refuses the
//! message (200000); whatever fired is told to the guild actor, which runs the other actions.
//! SPAM rules use a repetition heuristic: the `limits.automod.spam_repeats`th identical message
//! in a row from one member in this channel within `spam_window_secs`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;

use super::State;
use crate::actors::guild::{AutoModExecution, AutoModMsg, GuildMsg};
use crate::automod::{Hit, Subject};
use crate::error::ApiError;
use crate::events::Dispatch;
use crate::id::{MessageId, UserId};
use crate::model::MessageRecord;
use crate::permissions::Permissions;

/// A system message the guild actor asks this channel to post (the alert of SEND_ALERT_MESSAGE,
/// type 24). Its id is minted by the guild actor, which reports it in the execution event.
#[derive(Debug)]
pub struct SystemMessage {
    pub id: MessageId,
    pub author: UserId,
    pub kind: u8,
    pub content: String,
    pub embeds: Vec<serde_json::Value>,
}

/// A member's last message here, for SPAM rules: its content's hash, how many times in a row it
/// was sent, and when last.
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    hash: u64,
    count: u32,
    at: tokio::time::Instant,
}

/// Most members a channel remembers for SPAM rules before it forgets the stale ones.
const MAX_REPEAT_ENTRIES: usize = 4096;

/// Discord's answer to a blocked message.
pub fn blocked() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        200000,
        "automod-message-blocked",
    )
}

impl State {
    /// The rules that fire for `author`'s `content` here (empty: none, or exempt). Only new
    /// messages count toward SPAM repeats (`count_spam`), not edits.
    pub(super) fn automod_hits(
        &mut self,
        author: UserId,
        perms: Permissions,
        content: &str,
        mentions: usize,
        count_spam: bool,
    ) -> Vec<Hit> {
        let Some(slot) = &self.automod else {
            return Vec::new();
        };
        // The common case, a guild without rules, costs one atomic load and no reference count.
        if slot.load().is_empty()
            || perms.intersects(Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD)
        {
            return Vec::new();
        }
        let rules = slot.load_full();
        let repeats = if count_spam && rules.has_spam_rule() {
            self.count_repeat(author, content)
        } else {
            1
        };
        let roles = self
            .access
            .get(&author)
            .map_or_else(|| Arc::from([]), |a| a.roles.clone());
        rules.check(&Subject {
            channel: Some(self.channel.id),
            roles: &roles,
            content,
            mentions,
            repeats,
        })
    }

    /// How many times in a row (within the spam window) `author` has now sent `content` here.
    fn count_repeat(&mut self, author: UserId, content: &str) -> u32 {
        let window = std::time::Duration::from_secs(u64::from(
            self.services.config.get().limits.automod.spam_window_secs,
        ));
        let now = tokio::time::Instant::now();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        content.trim().to_lowercase().hash(&mut h);
        let hash = h.finish();
        if self.repeats.len() >= MAX_REPEAT_ENTRIES {
            self.repeats
                .retain(|_, r| now.duration_since(r.at) < window);
        }
        let entry = self.repeats.entry(author).or_insert(Repeat {
            hash,
            count: 0,
            at: now,
        });
        if entry.hash == hash && now.duration_since(entry.at) < window {
            entry.count += 1;
        } else {
            entry.hash = hash;
            entry.count = 1;
        }
        entry.at = now;
        entry.count
    }

    /// Tells the guild actor what fired, and refuses the message if a rule blocks it.
    pub(super) fn enforce(
        &self,
        user: UserId,
        message: MessageId,
        content: &str,
        hits: Vec<Hit>,
    ) -> Result<(), ApiError> {
        if hits.is_empty() {
            return Ok(());
        }
        let block = hits.iter().any(Hit::blocks);
        tracing::debug!(%user, rules = hits.len(), block, "auto-moderation fired");
        if let Some(g) = &self.guild {
            let execution = AutoModExecution {
                user,
                channel: Some(self.channel.id),
                message_id: (!block).then_some(message),
                content: content.to_string(),
                hits,
            };
            let _ = crate::actors::tell(
                g,
                GuildMsg::AutoMod(AutoModMsg::Executed(Box::new(execution))),
            );
        }
        if block { Err(blocked()) } else { Ok(()) }
    }

    /// Posts a system message from the guild actor (no permission check: the guild decided).
    pub(super) async fn post_system(&mut self, s: SystemMessage) -> Result<(), ApiError> {
        let message = MessageRecord {
            id: s.id,
            channel_id: self.channel.id,
            guild_id: self.channel.guild_id,
            author_id: s.author,
            content: s.content,
            edited_timestamp: None,
            tts: false,
            mention_everyone: false,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            attachments: Vec::new(),
            embeds: s.embeds,
            reactions: Vec::new(),
            nonce: None,
            pinned: false,
            webhook_id: None,
            webhook_author: None,
            author_bot: false,
            kind: s.kind,
            flags: 0,
            message_reference: None,
            sticker_items: Vec::new(),
            application_id: None,
            interaction: None,
            poll: None,
            thread: None,
        };
        let generation = self.services.users.generation();
        let v: Bytes = self.render_bytes(&message, None).await?;
        self.persist_new(&message)?;
        crate::metrics::message_created();
        self.fanout(Dispatch::message_encoded(
            "MESSAGE_CREATE",
            v.clone(),
            self.in_guild(),
            vec![message.author_id],
        ));
        let json = (!message.shows_other_records()).then_some((generation, v));
        self.remember(message, json);
        Ok(())
    }
}
