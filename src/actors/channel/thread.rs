//! The channel actor's part in threads: as a parent, it marks a starter message with its thread
//! (MESSAGE_UPDATE) or posts the THREAD_CREATED system message (type 18); as a thread, it
//! reopens an archived thread before a message lands (through the guild actor, which owns the
//! thread record) and reports each new or deleted message there (counts, inactivity clock).

use super::State;
use crate::actors::guild::{GuildMsg, ThreadMsg};
use crate::error::ApiError;
use crate::events::Dispatch;
use crate::id::{ChannelId, MessageId, UserId};
use crate::model::message::MessageReference;
use crate::model::{ChannelKind, ChannelRecord, MessageRecord};
use crate::permissions::Permissions;

/// Discord's THREAD_CREATED system message type.
pub const THREAD_CREATED: u8 = 18;

impl State {
    /// A thread was just created from this channel (checked by the guild actor): a thread
    /// from `starter` marks that message; a standalone public one gets a system message by
    /// its creator naming it.
    pub(super) async fn thread_started(
        &mut self,
        author: UserId,
        thread: ChannelRecord,
        starter: Option<MessageId>,
    ) -> Result<(), ApiError> {
        match starter {
            Some(id) => {
                let mut m = self.find(id).await?;
                m.thread = Some(Box::new(thread));
                self.persist_changed(&m)?;
                self.replace_cached(&m);
                let v = self.render(&m, None).await?;
                self.fanout_update(&m, &v);
                Ok(())
            }
            None if thread.kind == ChannelKind::PrivateThread => Ok(()),
            None => self.post_thread_created(author, &thread).await,
        }
    }

    async fn post_thread_created(
        &mut self,
        author: UserId,
        thread: &ChannelRecord,
    ) -> Result<(), ApiError> {
        let message = MessageRecord {
            id: self.services.ids.next()?,
            channel_id: self.channel.id,
            guild_id: self.channel.guild_id,
            author_id: author,
            content: thread.name.clone().unwrap_or_default(),
            edited_timestamp: None,
            tts: false,
            mention_everyone: false,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            attachments: Vec::new(),
            embeds: Vec::new(),
            reactions: Vec::new(),
            nonce: None,
            pinned: false,
            webhook_id: None,
            webhook_author: None,
            author_bot: false,
            kind: THREAD_CREATED,
            flags: 0,
            message_reference: Some(MessageReference {
                kind: 0,
                message_id: None,
                channel_id: Some(thread.id),
                guild_id: thread.guild_id,
                fail_if_not_exists: false,
            }),
            sticker_items: Vec::new(),
            application_id: None,
            interaction: None,
            poll: None,
            thread: None,
        };
        let generation = self.services.users.generation();
        let v = self.render_bytes(&message, None).await?;
        self.persist_new(&message)?;
        crate::metrics::message_created();
        self.fanout(Dispatch::message_encoded(
            "MESSAGE_CREATE",
            v.clone(),
            true,
            vec![author],
        ));
        self.remember(message, Some((generation, v)));
        Ok(())
    }

    /// Before a message lands in an archived thread: the guild actor reopens it (or refuses
    /// with 50083 when it is locked and the author may not unlock it).
    pub(super) async fn reopen_if_archived(&mut self, author: UserId) -> Result<(), ApiError> {
        let archived = self
            .channel
            .thread_metadata
            .as_ref()
            .is_some_and(|m| m.archived);
        if !archived {
            return Ok(());
        }
        let Some(g) = &self.guild else {
            return Err(crate::actors::guild::archived_error());
        };
        let thread = self.channel.id;
        let record = crate::actors::ask(&self.services, g, |reply| {
            GuildMsg::Threads(ThreadMsg::Unarchive {
                user: author,
                thread,
                reply,
            })
        })
        .await?;
        self.channel = record;
        Ok(())
    }

    /// 160005 for a message in an open but locked thread from someone without MANAGE_THREADS
    /// (a locked and archived one answers 50083 when it is asked to reopen).
    pub(super) fn refuse_if_locked(&self, perms: Permissions) -> Result<(), ApiError> {
        match &self.channel.thread_metadata {
            Some(m) if m.locked && !m.archived && !perms.contains(Permissions::MANAGE_THREADS) => {
                Err(ApiError::coded(
                    axum::http::StatusCode::BAD_REQUEST,
                    160005,
                    "thread-locked",
                ))
            }
            _ => Ok(()),
        }
    }

    /// 50083 for changes to an archived thread's messages (edits, pins): only a new message
    /// reopens a thread.
    pub(super) fn refuse_if_archived(&self) -> Result<(), ApiError> {
        match &self.channel.thread_metadata {
            Some(m) if m.archived => Err(crate::actors::guild::archived_error()),
            _ => Ok(()),
        }
    }

    /// Tells the guild actor a message was posted in this thread.
    pub(super) fn report_thread_message(&self, posted: MessageId) {
        self.tell_thread_owner(|thread| ThreadMsg::MessagePosted {
            thread,
            message: posted,
        });
    }

    /// Tells the guild actor these messages of this thread were deleted; a forum post's
    /// starter message (the thread's id) was never counted, so it is left out.
    pub(super) fn report_thread_deletions(&self, deleted: &[MessageId]) {
        let thread = self.channel.id;
        let count = deleted.iter().filter(|m| m.get() != thread.get()).count();
        if count == 0 {
            return;
        }
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        self.tell_thread_owner(|thread| ThreadMsg::MessageDeleted { thread, count });
    }

    fn tell_thread_owner(&self, make: impl FnOnce(ChannelId) -> ThreadMsg) {
        if !self.channel.kind.is_thread() {
            return;
        }
        let Some(g) = &self.guild else {
            return;
        };
        let _ = crate::actors::tell(g, GuildMsg::Threads(make(self.channel.id)));
    }

    /// The id of a forum post's starter message: the thread's own, once (a second starter is
    /// refused as a message in a forum is).
    pub(super) fn starter_id(&self) -> Result<MessageId, ApiError> {
        let id = MessageId::new(self.channel.id.get());
        let fresh = self.channel.kind.is_thread()
            && self.channel.last_message_id.is_none()
            && !self.recent.iter().any(|m| m.record.id == id);
        if !fresh {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                50008,
                "cannot-send-in-non-text",
            ));
        }
        Ok(id)
    }
}
