//! Moderation on a channel's messages: clearing reactions (all, or one emoji) and deleting a
//! banned user's recent messages.

use serde_json::json;

use super::State;
use crate::error::ApiError;
use crate::events::Dispatch;
use crate::id::{MessageId, UserId};
use crate::model::MessageRecord;
use crate::permissions::{Permissions, require};
use crate::store::MessagePage;

/// How far back a ban's message purge walks one channel: this many pages of 100 messages
/// (newest first). Discord's limit is 7 days of messages; a channel busier than this in that
/// window keeps its older messages.
pub const PURGE_MAX_PAGES: usize = 20;

impl State {
    /// `DELETE …/reactions` (every emoji, `emoji == None`) or `…/reactions/{emoji}`: needs
    /// MANAGE_MESSAGES; guild channels only, like Discord.
    pub(super) async fn clear_reactions(
        &mut self,
        user: UserId,
        id: MessageId,
        emoji: Option<String>,
    ) -> Result<(), ApiError> {
        let perms = self.view(user).await?;
        if !self.in_guild() {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                50003,
                "cannot-execute-on-dm",
            ));
        }
        require(perms, Permissions::MANAGE_MESSAGES)?;
        let mut m = self.find(id).await?;
        let before = m.reactions.len();
        match &emoji {
            None => m.reactions.clear(),
            Some(e) => m.reactions.retain(|r| r.emoji != *e),
        }
        if m.reactions.len() == before {
            return Ok(());
        }
        self.persist_unindexed(&m)?;
        self.replace_cached(&m);
        let mut data = json!({
            "channel_id": self.channel.id,
            "message_id": id,
            "guild_id": self.channel.guild_id,
        });
        let name = match &emoji {
            None => "MESSAGE_REACTION_REMOVE_ALL",
            Some(e) => {
                data["emoji"] = crate::model::message::emoji_json(e);
                "MESSAGE_REACTION_REMOVE_EMOJI"
            }
        };
        self.fanout(Dispatch::new(name, &data, true));
        Ok(())
    }

    /// Deletes `author`'s messages with ids from `since` on (a ban's `delete_message_seconds`),
    /// walking at most [`PURGE_MAX_PAGES`] pages back. The guild actor has checked BAN_MEMBERS.
    /// Returns how many were deleted.
    pub(super) async fn purge_author(
        &mut self,
        author: UserId,
        since: MessageId,
    ) -> Result<usize, ApiError> {
        if !self.channel.kind.is_text() {
            return Ok(0);
        }
        let mut doomed: Vec<MessageId> = Vec::new();
        let mut page = MessagePage::Latest;
        'walk: for _ in 0..PURGE_MAX_PAGES {
            let batch: Vec<MessageRecord> = self
                .services
                .store
                .messages_page(self.channel.id, page, 100)
                .await?;
            for m in &batch {
                if m.id < since {
                    break 'walk;
                }
                if m.author_id == author {
                    doomed.push(m.id);
                }
            }
            match batch.last() {
                Some(last) if batch.len() == 100 => page = MessagePage::Before(last.id),
                _ => break,
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        for chunk in doomed.chunks(100) {
            self.persist_deleted(chunk)?;
            let data = json!({
                "ids": chunk,
                "channel_id": self.channel.id,
                "guild_id": self.channel.guild_id,
            });
            self.fanout(Dispatch::new("MESSAGE_DELETE_BULK", &data, true));
        }
        self.recent.retain(|m| !doomed.contains(&m.record.id));
        Ok(doomed.len())
    }
}
