//! Threads (channel types 10, 11, 12): the guild actor owns them like every channel of the
//! guild — creation, settings, archiving, deletion and their members — and derives who may see
//! and post in a thread from its parent's permissions (threads have no overwrites of their own).
//! Message writes in a thread stay with the thread's own channel actor, which reports each new
//! message here (counts, inactivity clock) and asks here to unarchive.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, audit};
use crate::actors::Reply;
use crate::actors::channel::{ChannelMsg, MessageCreate};
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::gateway::intents::Intents;
use crate::id::{ChannelId, MessageId, TagId, UserId};
use crate::model::{ChannelKind, ChannelRecord, ThreadMemberRecord, ThreadMetadata, Timestamp};
use crate::permissions::{Permissions, require};
use crate::validate;

// Discord's audit log event numbers for threads.
pub const THREAD_CREATE: u16 = 110;
pub const THREAD_UPDATE: u16 = 111;
pub const THREAD_DELETE: u16 = 112;

/// Discord's upper bound on `rate_limit_per_user` (six hours), shared with channels.
const MAX_RATE_LIMIT: u32 = 21_600;

/// Members of each thread of the guild, by thread then user (loaded with the guild).
pub type ThreadMembers = HashMap<ChannelId, BTreeMap<UserId, ThreadMemberRecord>>;

/// Requests about threads (one `GuildMsg` variant, so the thread feature stays in this file).
pub enum ThreadMsg {
    /// `POST /channels/{parent}/threads` (`starter: None`) and
    /// `POST /channels/{parent}/messages/{starter}/threads`. The route has checked that the
    /// starter message exists; the thread takes its id, so a second thread from the same
    /// message is refused here (160004).
    Create {
        user: UserId,
        parent: ChannelId,
        starter: Option<MessageId>,
        body: ThreadCreate,
        reply: Reply<ChannelRecord>,
    },
    /// From a thread's channel actor: `message` was just posted in it.
    MessagePosted {
        thread: ChannelId,
        message: MessageId,
    },
    /// From a thread's channel actor: `count` messages of it were deleted (a forum post's
    /// starter message not counted, as it never was).
    MessageDeleted { thread: ChannelId, count: u32 },
    /// From the forum post route: the starter message was refused, so the post goes again.
    Abandon { thread: ChannelId },
    /// `GET /channels/{parent}/threads/search`.
    Search {
        user: UserId,
        parent: ChannelId,
        query: super::forum::ThreadSearch,
        reply: Reply<Value>,
    },
    /// From a thread's channel actor: `user` posts in the archived thread, which reopens it if
    /// it is not locked (or the user has MANAGE_THREADS). Replies with the reopened thread.
    Unarchive {
        user: UserId,
        thread: ChannelId,
        reply: Reply<ChannelRecord>,
    },
    /// `PUT /channels/{thread}/thread-members/@me` or `…/{user}`.
    AddMember {
        user: UserId,
        thread: ChannelId,
        target: UserId,
        reply: Reply<()>,
    },
    /// `DELETE /channels/{thread}/thread-members/@me` or `…/{user}`.
    RemoveMember {
        user: UserId,
        thread: ChannelId,
        target: UserId,
        reply: Reply<()>,
    },
    /// `GET /channels/{thread}/thread-members` (`target: None`) or `…/{user}`.
    Members {
        user: UserId,
        thread: ChannelId,
        query: MembersQuery,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/threads/active`.
    Active { user: UserId, reply: Reply<Value> },
    /// `GET /channels/{parent}/threads/archived/public|private` and
    /// `GET /channels/{parent}/users/@me/threads/archived/private`.
    Archived {
        user: UserId,
        parent: ChannelId,
        scope: ArchivedScope,
        before: Option<Timestamp>,
        limit: usize,
        reply: Reply<Value>,
    },
}

/// Which archived threads of a channel to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchivedScope {
    /// Public and announcement threads (READ_MESSAGE_HISTORY).
    Public,
    /// Private threads (READ_MESSAGE_HISTORY and MANAGE_THREADS).
    Private,
    /// Private threads the caller has joined (READ_MESSAGE_HISTORY).
    JoinedPrivate,
}

/// What `GET …/thread-members[/{user}]` asks for.
#[derive(Debug, Clone)]
pub struct MembersQuery {
    pub target: Option<UserId>,
    pub with_member: bool,
    pub after: Option<UserId>,
    pub limit: usize,
}

/// Body of both thread creation routes. In a forum or media channel `message` (the post's
/// starter message, which the route posts in the new thread) and `applied_tags` apply.
#[derive(Debug, Default, Deserialize)]
pub struct ThreadCreate {
    pub name: Option<String>,
    pub auto_archive_duration: Option<u32>,
    pub rate_limit_per_user: Option<u32>,
    #[serde(rename = "type")]
    pub kind: Option<u8>,
    pub invitable: Option<bool>,
    pub applied_tags: Option<Vec<TagId>>,
    pub message: Option<Box<MessageCreate>>,
    /// Forum posts: the id the route minted for the thread (its uploads are stored under it
    /// before the thread exists).
    #[serde(skip)]
    pub id: Option<ChannelId>,
}

/// Thread fields of `PATCH /channels/{thread}` (beside `name` and `rate_limit_per_user`, which
/// channels share).
#[derive(Debug, Default, Deserialize)]
pub struct ThreadPatch {
    pub archived: Option<bool>,
    pub auto_archive_duration: Option<u32>,
    pub locked: Option<bool>,
    pub invitable: Option<bool>,
    pub applied_tags: Option<Vec<TagId>>,
    pub flags: Option<u64>,
}

/// A member's permissions in a thread, from theirs in its parent: a private thread is hidden
/// from those who neither joined it nor hold MANAGE_THREADS, and posting needs
/// SEND_MESSAGES_IN_THREADS instead of SEND_MESSAGES (so the channel actor's SEND_MESSAGES
/// check reads the right bit).
pub fn thread_permissions(parent: Permissions, kind: ChannelKind, joined: bool) -> Permissions {
    let mut p = parent;
    if kind == ChannelKind::PrivateThread && !joined && !p.contains(Permissions::MANAGE_THREADS) {
        p.remove(Permissions::VIEW_CHANNEL);
    }
    p.set(
        Permissions::SEND_MESSAGES,
        p.contains(Permissions::SEND_MESSAGES_IN_THREADS),
    );
    p
}

fn coded(code: u32, key: &'static str) -> ApiError {
    ApiError::coded(axum::http::StatusCode::BAD_REQUEST, code, key)
}

/// 50083: the thread is archived.
pub fn archived_error() -> ApiError {
    coded(50083, "thread-archived")
}

pub(super) fn is_archived(c: &ChannelRecord) -> bool {
    c.thread_metadata.as_ref().is_some_and(|m| m.archived)
}

/// When an active thread archives itself: `auto_archive_duration` minutes (of
/// `limits.thread.minute_secs` seconds) after its last message, or after it was created or
/// last unarchived when that is later. Derived from the stored record alone, so the clock
/// survives a restart: the guild actor recomputes it when it starts.
pub fn archive_due(c: &ChannelRecord, minute_secs: u32) -> Option<i64> {
    let m = c.thread_metadata.as_ref().filter(|m| !m.archived)?;
    let last_message = c
        .last_message_id
        .map_or(0, |id| id.snowflake().timestamp_ms() as i64);
    let since = last_message.max(m.archive_timestamp.millis());
    Some(since + i64::from(m.auto_archive_duration) * i64::from(minute_secs) * 1000)
}

impl State {
    pub(super) async fn handle_thread(&mut self, msg: ThreadMsg) {
        match msg {
            ThreadMsg::Create {
                user,
                parent,
                starter,
                body,
                reply: r,
            } => {
                let v = self.create_thread(user, parent, starter, body).await;
                let created = v.as_ref().ok().map(|c| c.to_json(None));
                crate::actors::reply(r, v);
                if let Some(c) = created {
                    let target = audit::id_of(&c);
                    self.audit_change(user, THREAD_CREATE, target, None, Some(c))
                        .await;
                }
            }
            ThreadMsg::MessagePosted { thread, message } => {
                if let Err(e) = self.thread_message_posted(thread, message).await {
                    tracing::warn!(error = %e, %thread, "could not count a thread message");
                }
            }
            ThreadMsg::MessageDeleted { thread, count } => {
                if let Some(c) = self.channels.get_mut(&thread)
                    && let Some(n) = c.message_count.as_mut()
                {
                    *n = n.saturating_sub(count);
                    let c = c.clone();
                    if let Err(e) = self.services.store.put_channel(&c).await {
                        tracing::warn!(error = %e, %thread, "could not count a deleted message");
                    }
                    self.tell_thread_actor(&c);
                }
            }
            ThreadMsg::Abandon { thread } => {
                if let Err(e) = self.remove_thread(thread).await {
                    tracing::warn!(error = %e, %thread, "could not remove an abandoned forum post");
                }
            }
            ThreadMsg::Search {
                user,
                parent,
                query,
                reply: r,
            } => {
                let v = self.search_threads(user, parent, &query);
                crate::actors::reply(r, v);
            }
            ThreadMsg::Unarchive {
                user,
                thread,
                reply: r,
            } => {
                let v = self.unarchive_for_message(user, thread).await;
                crate::actors::reply(r, v);
            }
            ThreadMsg::AddMember {
                user,
                thread,
                target,
                reply: r,
            } => {
                let v = self.add_thread_member(user, thread, target).await;
                crate::actors::reply(r, v);
            }
            ThreadMsg::RemoveMember {
                user,
                thread,
                target,
                reply: r,
            } => {
                let v = self.remove_thread_member(user, thread, target).await;
                crate::actors::reply(r, v);
            }
            ThreadMsg::Members {
                user,
                thread,
                query,
                reply: r,
            } => {
                let v = self.thread_members_json(user, thread, query).await;
                crate::actors::reply(r, v);
            }
            ThreadMsg::Active { user, reply: r } => {
                let v = self.active_threads(user);
                crate::actors::reply(r, v);
            }
            ThreadMsg::Archived {
                user,
                parent,
                scope,
                before,
                limit,
                reply: r,
            } => {
                let v = self.archived_threads(user, parent, scope, before, limit);
                crate::actors::reply(r, v);
            }
        }
    }

    /// Whether `user` has joined `thread`.
    pub(super) fn joined(&self, thread: ChannelId, user: UserId) -> bool {
        self.thread_members
            .get(&thread)
            .is_some_and(|m| m.contains_key(&user))
    }

    /// `user`'s permissions in a thread (see [`thread_permissions`]); none when its parent is
    /// gone.
    pub(super) fn thread_permissions_of(
        &self,
        user: UserId,
        thread: &ChannelRecord,
    ) -> Permissions {
        let Some(parent) = thread.parent_id.and_then(|p| self.channels.get(&p)) else {
            return Permissions::empty();
        };
        let base = self
            .with_context(user, |c| {
                c.channel_permissions(&parent.permission_overwrites)
            })
            .unwrap_or_default();
        thread_permissions(base, thread.kind, self.joined(thread.id, user))
    }

    /// The thread `id` as `user` may see it: Unknown Channel when it isn't a thread of this
    /// guild, Missing Access without VIEW_CHANNEL.
    fn visible_thread(
        &self,
        user: UserId,
        id: ChannelId,
    ) -> Result<(&ChannelRecord, Permissions), ApiError> {
        self.member_guard(user)?;
        let thread = self
            .channels
            .get(&id)
            .filter(|c| c.kind.is_thread())
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let perms = self.channel_permissions(user, thread);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        Ok((thread, perms))
    }

    fn active_thread_count(&self) -> usize {
        self.channels
            .values()
            .filter(|c| c.kind.is_thread() && !is_archived(c))
            .count()
    }

    async fn create_thread(
        &mut self,
        user: UserId,
        parent_id: ChannelId,
        starter: Option<MessageId>,
        body: ThreadCreate,
    ) -> Result<ChannelRecord, ApiError> {
        self.member_guard(user)?;
        let parent = self
            .channels
            .get(&parent_id)
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let perms = self.channel_permissions(user, parent);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        let forum = parent.kind.is_forum();
        let announcement = match parent.kind {
            ChannelKind::GuildText | ChannelKind::GuildForum | ChannelKind::GuildMedia => false,
            ChannelKind::GuildAnnouncement => true,
            _ => return Err(coded(50024, "invalid-channel-type")),
        };
        let config = self.services.config.get();
        let limits = &config.limits.thread;
        let mut errs = FieldErrors::default();
        let name = body.name.unwrap_or_default();
        if name.trim().is_empty() {
            errs.add("name", FieldError::Required);
        } else {
            validate::length(
                &mut errs,
                "name",
                name.trim(),
                1,
                config.limits.channel.max_name,
            );
        }
        // From a message the type follows the parent; standalone, it defaults to public.
        let default_kind = if announcement {
            ChannelKind::AnnouncementThread
        } else {
            ChannelKind::PublicThread
        };
        let kind = match (starter, body.kind) {
            // A forum post is always public (Discord ignores `type` there).
            _ if forum => default_kind,
            (Some(_), _) | (None, None) => default_kind,
            (None, Some(k)) => match ChannelKind::try_from(k) {
                Ok(ChannelKind::AnnouncementThread) if announcement => {
                    ChannelKind::AnnouncementThread
                }
                Ok(k @ (ChannelKind::PublicThread | ChannelKind::PrivateThread))
                    if !announcement =>
                {
                    k
                }
                _ => {
                    let allowed = if announcement { "10" } else { "11, 12" };
                    errs.add(
                        "type",
                        FieldError::Choice {
                            allowed: allowed.into(),
                        },
                    );
                    default_kind
                }
            },
        };
        let duration = body
            .auto_archive_duration
            .unwrap_or(limits.default_auto_archive_duration);
        check_duration(&mut errs, duration, &limits.auto_archive_durations);
        let rate = body
            .rate_limit_per_user
            .or(parent.default_thread_rate_limit_per_user)
            .unwrap_or(0);
        if rate > MAX_RATE_LIMIT {
            errs.add(
                "rate_limit_per_user",
                FieldError::NumberMax {
                    max: MAX_RATE_LIMIT.into(),
                },
            );
        }
        errs.into_result()?;
        // A forum post is a message in the forum: SEND_MESSAGES there, as on Discord.
        let need = if forum {
            Permissions::SEND_MESSAGES
        } else if kind == ChannelKind::PrivateThread {
            Permissions::CREATE_PRIVATE_THREADS
        } else {
            Permissions::CREATE_PUBLIC_THREADS
        };
        require(perms, need)?;
        let applied_tags = if forum {
            self.check_applied_tags(
                parent,
                &[],
                body.applied_tags.as_deref().unwrap_or(&[]),
                perms,
            )?
        } else {
            Vec::new()
        };
        if starter.is_some() {
            require(perms, Permissions::READ_MESSAGE_HISTORY)?;
        }
        if self.active_thread_count() >= limits.max_active_per_guild as usize {
            return Err(if announcement {
                coded(160007, "max-active-announcement-threads-reached")
            } else {
                coded(160006, "max-active-threads-reached")
            });
        }
        // A thread started from a message has the message's id, as on Discord.
        let id = match starter {
            Some(m) => {
                let id = ChannelId::new(m.get());
                if self.channels.contains_key(&id) {
                    return Err(coded(160004, "thread-already-created"));
                }
                id
            }
            None => match body.id {
                Some(id) if forum && !self.channels.contains_key(&id) => id,
                _ => self.services.ids.next()?,
            },
        };
        let now = Timestamp::now();
        let mut c = ChannelRecord::new(id, kind, Some(self.id()));
        c.name = Some(name.trim().to_string());
        c.parent_id = Some(parent_id);
        c.owner_id = Some(user);
        c.rate_limit_per_user = rate;
        c.thread_metadata = Some(ThreadMetadata {
            archived: false,
            auto_archive_duration: duration,
            archive_timestamp: now,
            locked: false,
            invitable: (kind == ChannelKind::PrivateThread).then(|| body.invitable.unwrap_or(true)),
            create_timestamp: now,
        });
        c.member_count = Some(0);
        c.message_count = Some(0);
        c.total_message_sent = Some(0);
        c.applied_tags = Some(applied_tags);
        self.services.store.put_channel(&c).await?;
        self.channels.insert(c.id, c.clone());
        // The creator is a member before THREAD_CREATE goes out, so a private thread reaches
        // them; they are told of joining after it, like any member who joins.
        let record = self.add_membership(c.id, user).await?;
        let created = self.channels.get(&c.id).cloned().unwrap_or(c);
        let mut event = created.to_json(None);
        event["newly_created"] = json!(true);
        self.dispatch("THREAD_CREATE", &event, Some(created.id));
        self.announce_join(&record).await?;
        Ok(created)
    }

    /// Tells the thread's running channel actor its record changed.
    fn tell_thread_actor(&self, c: &ChannelRecord) {
        if let Some(actor) = self.services.registry.running_channel(c.id) {
            let _ = crate::actors::tell(&actor, ChannelMsg::Updated(Box::new(c.clone())));
        }
    }

    /// Stores a changed thread, tells its channel actor and announces THREAD_UPDATE to those
    /// who may see it.
    pub(super) async fn save_thread(&mut self, c: ChannelRecord) -> Result<Value, ApiError> {
        self.services.store.put_channel(&c).await?;
        let v = c.to_json(None);
        self.tell_thread_actor(&c);
        let id = c.id;
        self.channels.insert(id, c);
        self.dispatch("THREAD_UPDATE", &v, Some(id));
        Ok(v)
    }

    async fn thread_message_posted(
        &mut self,
        thread: ChannelId,
        message: MessageId,
    ) -> Result<(), ApiError> {
        let Some(c) = self.channels.get_mut(&thread) else {
            return Ok(());
        };
        c.last_message_id = Some(message);
        // A forum post's starter message (the thread's id) is not counted, as on Discord.
        if message.get() == thread.get() {
            let c = c.clone();
            self.services.store.put_channel(&c).await?;
            self.tell_thread_actor(&c);
            return Ok(());
        }
        c.message_count = Some(c.message_count.unwrap_or(0).saturating_add(1));
        c.total_message_sent = Some(c.total_message_sent.unwrap_or(0).saturating_add(1));
        let c = c.clone();
        self.services.store.put_channel(&c).await?;
        self.tell_thread_actor(&c);
        Ok(())
    }

    async fn unarchive_for_message(
        &mut self,
        user: UserId,
        thread: ChannelId,
    ) -> Result<ChannelRecord, ApiError> {
        let (c, perms) = self.visible_thread(user, thread)?;
        let mut c = c.clone();
        let Some(meta) = c.thread_metadata.as_mut().filter(|m| m.archived) else {
            return Ok(c);
        };
        if meta.locked && !perms.contains(Permissions::MANAGE_THREADS) {
            return Err(archived_error());
        }
        require(perms, Permissions::SEND_MESSAGES)?;
        meta.archived = false;
        meta.archive_timestamp = Timestamp::now();
        self.save_thread(c.clone()).await?;
        Ok(c)
    }

    /// Adds `user` to the thread (again: no change) and announces it: THREAD_MEMBER_UPDATE to
    /// their sessions, THREAD_MEMBERS_UPDATE to the guild.
    async fn join_thread(&mut self, thread: ChannelId, user: UserId) -> Result<(), ApiError> {
        if self.joined(thread, user) {
            return Ok(());
        }
        let record = self.add_membership(thread, user).await?;
        self.announce_join(&record).await
    }

    /// Stores a new membership and updates the thread's `member_count`.
    async fn add_membership(
        &mut self,
        thread: ChannelId,
        user: UserId,
    ) -> Result<ThreadMemberRecord, ApiError> {
        let record = ThreadMemberRecord {
            guild_id: self.id(),
            thread_id: thread,
            user_id: user,
            join_timestamp: Timestamp::now(),
            flags: 0,
        };
        self.services.store.put_thread_member(&record).await?;
        self.thread_members
            .entry(thread)
            .or_default()
            .insert(user, record.clone());
        self.set_member_count(thread).await?;
        // Their view of the thread changed (a private thread becomes visible).
        self.invalidate_thread_access(thread, user);
        Ok(record)
    }

    async fn announce_join(&mut self, record: &ThreadMemberRecord) -> Result<(), ApiError> {
        let (thread, user) = (record.thread_id, record.user_id);
        let count = self.thread_members.get(&thread).map_or(0, BTreeMap::len);
        let mut member = record.to_json();
        member["guild_id"] = json!(self.id());
        let event = Dispatch::new("THREAD_MEMBER_UPDATE", &member, true);
        self.deliver_to_user(user, &event);
        let mut added = record.to_json();
        if let Some(m) = self.members.get(&user).cloned() {
            added["member"] = self.member_json(&m).await?;
        }
        let data = json!({
            "id": thread,
            "guild_id": self.id(),
            "member_count": count,
            "added_members": [added],
        });
        self.dispatch_thread_members(thread, user, &data);
        Ok(())
    }

    async fn leave_thread(&mut self, thread: ChannelId, user: UserId) -> Result<(), ApiError> {
        if !self.joined(thread, user) {
            return Ok(());
        }
        self.services
            .store
            .delete_thread_member(self.id(), thread, user)
            .await?;
        let data_before_removal = json!({
            "id": thread,
            "guild_id": self.id(),
            "removed_member_ids": [user],
        });
        // Announced while the leaver may still see a private thread, so they hear of it too.
        if let Some(m) = self.thread_members.get_mut(&thread) {
            m.remove(&user);
        }
        let count = self.set_member_count(thread).await?;
        let mut data = data_before_removal;
        data["member_count"] = json!(count);
        self.dispatch_thread_members(thread, user, &data);
        self.invalidate_thread_access(thread, user);
        Ok(())
    }

    /// Takes a user who left the guild out of every thread they joined.
    pub(super) async fn leave_all_threads(&mut self, user: UserId) -> Result<(), ApiError> {
        let joined: Vec<ChannelId> = self
            .thread_members
            .iter()
            .filter(|(_, m)| m.contains_key(&user))
            .map(|(t, _)| *t)
            .collect();
        for thread in joined {
            self.leave_thread(thread, user).await?;
        }
        Ok(())
    }

    async fn set_member_count(&mut self, thread: ChannelId) -> Result<u32, ApiError> {
        let count = self.thread_members.get(&thread).map_or(0, BTreeMap::len) as u32;
        if let Some(c) = self.channels.get_mut(&thread) {
            c.member_count = Some(count);
            let c = c.clone();
            self.services.store.put_channel(&c).await?;
            self.tell_thread_actor(&c);
        }
        Ok(count)
    }

    fn invalidate_thread_access(&self, thread: ChannelId, user: UserId) {
        if let Some(actor) = self.services.registry.running_channel(thread) {
            let _ = crate::actors::tell(&actor, ChannelMsg::InvalidatePermissions(Some(user)));
        }
    }

    /// Queues an event for every session of `user` that wants it.
    fn deliver_to_user(&self, user: UserId, event: &std::sync::Arc<Dispatch>) {
        for s in self.online.values().filter(|s| s.user_id == user) {
            if s.wants(event) {
                s.deliver(event);
            }
        }
    }

    /// THREAD_MEMBERS_UPDATE: to sessions that may see the thread, others' changes only with
    /// GUILD_MEMBERS (Discord's rule); the affected user always (the leaver of a private thread
    /// included, though they no longer see it).
    fn dispatch_thread_members(&self, thread: ChannelId, subject: UserId, data: &Value) {
        let event = Dispatch::new("THREAD_MEMBERS_UPDATE", data, true);
        let Some(c) = self.channels.get(&thread) else {
            return;
        };
        crate::actors::remote::fan_out(|| {
            for s in self.online.values() {
                if !s.wants(&event) {
                    continue;
                }
                let own = s.user_id == subject;
                if !own && !s.intents.contains(Intents::GUILD_MEMBERS) {
                    continue;
                }
                if own
                    || self
                        .channel_permissions(s.user_id, c)
                        .contains(Permissions::VIEW_CHANNEL)
                {
                    s.deliver(&event);
                }
            }
        });
    }

    async fn add_thread_member(
        &mut self,
        user: UserId,
        thread: ChannelId,
        target: UserId,
    ) -> Result<(), ApiError> {
        let (c, perms) = self.visible_thread(user, thread)?;
        if is_archived(c) {
            return Err(archived_error());
        }
        if target != user {
            require(perms, Permissions::SEND_MESSAGES)?;
            let invitable = c
                .thread_metadata
                .as_ref()
                .and_then(|m| m.invitable)
                .unwrap_or(true);
            if c.kind == ChannelKind::PrivateThread
                && !invitable
                && !perms.contains(Permissions::MANAGE_THREADS)
            {
                return Err(ApiError::MissingPermissions);
            }
            if !self.members.contains_key(&target) {
                return Err(ApiError::Unknown(Unknown::Member));
            }
        }
        self.join_thread(thread, target).await
    }

    async fn remove_thread_member(
        &mut self,
        user: UserId,
        thread: ChannelId,
        target: UserId,
    ) -> Result<(), ApiError> {
        let (c, perms) = self.visible_thread(user, thread)?;
        if is_archived(c) {
            return Err(archived_error());
        }
        if target != user {
            // Others are removed by moderators, or by the creator of a private thread.
            let creator = c.kind == ChannelKind::PrivateThread && c.owner_id == Some(user);
            if !creator {
                require(perms, Permissions::MANAGE_THREADS)?;
            }
            if !self.joined(thread, target) {
                return Err(ApiError::Unknown(Unknown::Member));
            }
        }
        self.leave_thread(thread, target).await
    }

    async fn thread_member_json(
        &self,
        m: &ThreadMemberRecord,
        with_member: bool,
    ) -> Result<Value, ApiError> {
        let mut v = m.to_json();
        if with_member && let Some(member) = self.members.get(&m.user_id) {
            v["member"] = self.member_json(member).await?;
        }
        Ok(v)
    }

    async fn thread_members_json(
        &self,
        user: UserId,
        thread: ChannelId,
        q: MembersQuery,
    ) -> Result<Value, ApiError> {
        self.visible_thread(user, thread)?;
        let members = self.thread_members.get(&thread);
        if let Some(target) = q.target {
            let m = members
                .and_then(|m| m.get(&target))
                .ok_or(ApiError::Unknown(Unknown::Member))?;
            return self.thread_member_json(m, q.with_member).await;
        }
        let after = q.after.unwrap_or(UserId::new(0));
        let mut out = Vec::new();
        for m in members
            .into_iter()
            .flat_map(|m| m.range(after..))
            .filter(|(id, _)| **id > after)
            .take(q.limit)
            .map(|(_, m)| m)
        {
            out.push(self.thread_member_json(m, q.with_member).await?);
        }
        Ok(Value::Array(out))
    }

    /// The caller's own thread member objects for these threads (`members` of the list routes).
    pub(super) fn own_memberships<'a>(
        &self,
        user: UserId,
        threads: impl Iterator<Item = &'a ChannelRecord>,
    ) -> Vec<Value> {
        threads
            .filter_map(|c| self.thread_members.get(&c.id)?.get(&user))
            .map(ThreadMemberRecord::to_json)
            .collect()
    }

    /// Active threads the caller may see, in every channel, with their own memberships.
    fn active_threads(&self, user: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let mut threads: Vec<&ChannelRecord> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && !is_archived(c))
            .filter(|c| {
                self.channel_permissions(user, c)
                    .contains(Permissions::VIEW_CHANNEL)
            })
            .collect();
        threads.sort_by_key(|c| std::cmp::Reverse(c.id));
        let members = self.own_memberships(user, threads.iter().copied());
        // Discord's schema has `has_more` here too (always false: every active thread is listed).
        Ok(json!({
            "threads": threads.iter().map(|c| c.to_json(None)).collect::<Vec<_>>(),
            "members": members,
            "has_more": false,
        }))
    }

    /// Archived threads of a channel, newest archive first, `before` an archive timestamp.
    fn archived_threads(
        &self,
        user: UserId,
        parent_id: ChannelId,
        scope: ArchivedScope,
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let parent = self
            .channels
            .get(&parent_id)
            .filter(|c| !c.kind.is_thread())
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let perms = self.channel_permissions(user, parent);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        require(perms, Permissions::READ_MESSAGE_HISTORY)?;
        if scope == ArchivedScope::Private {
            require(perms, Permissions::MANAGE_THREADS)?;
        }
        let archived_at = |c: &ChannelRecord| {
            c.thread_metadata
                .as_ref()
                .map_or(Timestamp::from_millis(0), |m| m.archive_timestamp)
        };
        let mut threads: Vec<&ChannelRecord> = self
            .channels
            .values()
            .filter(|c| c.parent_id == Some(parent_id) && is_archived(c))
            .filter(|c| match scope {
                ArchivedScope::Public => c.kind != ChannelKind::PrivateThread,
                ArchivedScope::Private => c.kind == ChannelKind::PrivateThread,
                ArchivedScope::JoinedPrivate => {
                    c.kind == ChannelKind::PrivateThread && self.joined(c.id, user)
                }
            })
            .filter(|c| before.is_none_or(|b| archived_at(c) < b))
            .collect();
        threads.sort_by_key(|c| std::cmp::Reverse((archived_at(c), c.id)));
        let has_more = threads.len() > limit;
        threads.truncate(limit);
        let members = self.own_memberships(user, threads.iter().copied());
        Ok(json!({
            "threads": threads.iter().map(|c| c.to_json(None)).collect::<Vec<_>>(),
            "members": members,
            "has_more": has_more,
        }))
    }

    /// `PATCH /channels/{thread}`: name and slowmode (MANAGE_THREADS, or the creator for the
    /// name), archive state (the creator or MANAGE_THREADS; a locked thread only the latter),
    /// locked, invitable and auto_archive_duration (MANAGE_THREADS; auto_archive_duration also
    /// the creator). An archived thread only takes changes that unarchive it.
    pub(super) async fn update_thread(
        &mut self,
        user: UserId,
        id: ChannelId,
        name: Option<String>,
        rate_limit_per_user: Option<u32>,
        patch: ThreadPatch,
    ) -> Result<Value, ApiError> {
        let (current, perms) = self.visible_thread(user, id)?;
        let mut c = current.clone();
        let moderator = perms.contains(Permissions::MANAGE_THREADS);
        let creator = c.owner_id == Some(user);
        let config = self.services.config.get();
        let mut errs = FieldErrors::default();
        if let Some(n) = &name {
            validate::length(
                &mut errs,
                "name",
                n.trim(),
                1,
                config.limits.channel.max_name,
            );
        }
        if let Some(d) = patch.auto_archive_duration {
            check_duration(&mut errs, d, &config.limits.thread.auto_archive_durations);
        }
        if rate_limit_per_user.is_some_and(|r| r > MAX_RATE_LIMIT) {
            errs.add(
                "rate_limit_per_user",
                FieldError::NumberMax {
                    max: MAX_RATE_LIMIT.into(),
                },
            );
        }
        errs.into_result()?;
        let Some(meta) = c.thread_metadata.as_mut() else {
            return Err(ApiError::Unknown(Unknown::Channel));
        };
        let was_archived = meta.archived;
        let unarchiving = patch.archived == Some(false) && was_archived;
        if was_archived && !unarchiving {
            return Err(archived_error());
        }
        if (meta.locked || patch.locked == Some(true)) && unarchiving && !moderator {
            return Err(ApiError::MissingPermissions);
        }
        if (patch.locked.is_some() || patch.invitable.is_some() || rate_limit_per_user.is_some())
            && !moderator
        {
            return Err(ApiError::MissingPermissions);
        }
        if (name.is_some() || patch.archived.is_some() || patch.auto_archive_duration.is_some())
            && !moderator
            && !creator
        {
            return Err(ApiError::MissingPermissions);
        }
        if let Some(n) = name {
            c_name(&mut c.name, n);
        }
        if let Some(r) = rate_limit_per_user {
            c.rate_limit_per_user = r;
        }
        let Some(meta) = c.thread_metadata.as_mut() else {
            return Err(ApiError::Unknown(Unknown::Channel));
        };
        if let Some(a) = patch.archived
            && a != meta.archived
        {
            meta.archived = a;
            meta.archive_timestamp = Timestamp::now();
        }
        if let Some(l) = patch.locked {
            meta.locked = l;
        }
        if let Some(d) = patch.auto_archive_duration {
            meta.auto_archive_duration = d;
        }
        if let Some(i) = patch.invitable
            && c.kind == ChannelKind::PrivateThread
        {
            meta.invitable = Some(i);
        }
        if let Some(f) = patch.flags {
            c.flags = f;
        }
        if let Some(tags) = patch.applied_tags {
            if !moderator && !creator {
                return Err(ApiError::MissingPermissions);
            }
            let forum = c
                .parent_id
                .and_then(|p| self.channels.get(&p))
                .filter(|p| p.is_forum());
            // Tags belong to forum posts; elsewhere they are ignored, as on Discord.
            if let Some(forum) = forum {
                let current = c.applied_tags.clone().unwrap_or_default();
                c.applied_tags = Some(self.check_applied_tags(forum, &current, &tags, perms)?);
            }
        }
        self.save_thread(c).await
    }

    /// `DELETE /channels/{thread}` (MANAGE_THREADS): the thread, its messages and members go;
    /// THREAD_DELETE carries only its ids and type, as on Discord.
    pub(super) async fn delete_thread(
        &mut self,
        user: UserId,
        id: ChannelId,
    ) -> Result<Value, ApiError> {
        let (c, perms) = self.visible_thread(user, id)?;
        require(perms, Permissions::MANAGE_THREADS)?;
        let v = c.to_json(None);
        self.remove_thread(id).await?;
        Ok(v)
    }

    /// Removes a thread from storage and memory, announcing THREAD_DELETE to those who could
    /// see it (also used when its parent channel is deleted).
    pub(super) async fn remove_thread(&mut self, id: ChannelId) -> Result<(), ApiError> {
        let Some(c) = self.channels.get(&id) else {
            return Ok(());
        };
        let data = json!({
            "id": c.id,
            "guild_id": self.id(),
            "parent_id": c.parent_id,
            "type": c.kind,
        });
        self.services.store.delete_channel(id).await?;
        self.services
            .store
            .delete_thread_members(self.id(), id)
            .await?;
        self.services
            .index(crate::search::IndexOp::DeleteChannel(id));
        self.dispatch("THREAD_DELETE", &data, Some(id));
        self.channels.remove(&id);
        self.thread_members.remove(&id);
        if let Some(actor) = self.services.registry.running_channel(id) {
            let _ = crate::actors::tell(&actor, ChannelMsg::Deleted);
        }
        self.services.registry.remove_channel(id);
        Ok(())
    }

    /// Archives every active thread whose inactivity clock ran out (on the guild's tick, and
    /// right after the actor starts, which catches up on what happened while it was down).
    pub(super) async fn archive_due_threads(&mut self) {
        let minute_secs = self.services.config.get().limits.thread.minute_secs;
        let now = Timestamp::now().millis();
        let due: Vec<ChannelId> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && archive_due(c, minute_secs).is_some_and(|t| t <= now))
            .map(|c| c.id)
            .collect();
        for id in due {
            let Some(mut c) = self.channels.get(&id).cloned() else {
                continue;
            };
            if let Some(meta) = c.thread_metadata.as_mut() {
                meta.archived = true;
                meta.archive_timestamp = Timestamp::now();
            }
            if let Err(e) = self.save_thread(c).await {
                tracing::warn!(error = %e, thread = %id, "could not archive an idle thread");
            }
        }
    }

    /// The earliest auto-archive deadline among active threads (unix ms), for the timer.
    pub(super) fn next_archive_due(&self) -> Option<i64> {
        let minute_secs = self.services.config.get().limits.thread.minute_secs;
        self.channels
            .values()
            .filter(|c| c.kind.is_thread())
            .filter_map(|c| archive_due(c, minute_secs))
            .min()
    }

    /// Threads for GUILD_CREATE: the active ones `user` may see, each with `member` when they
    /// joined it.
    pub(super) fn threads_for(&self, user: UserId) -> Vec<Value> {
        let mut threads: Vec<&ChannelRecord> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && !is_archived(c))
            .filter(|c| {
                self.channel_permissions(user, c)
                    .contains(Permissions::VIEW_CHANNEL)
            })
            .collect();
        threads.sort_by_key(|c| c.id);
        threads
            .into_iter()
            .map(|c| {
                let mut v = c.to_json(None);
                if let Some(m) = self.thread_members.get(&c.id).and_then(|m| m.get(&user)) {
                    v["member"] = m.to_json();
                }
                v
            })
            .collect()
    }
}

fn c_name(slot: &mut Option<String>, name: String) {
    *slot = Some(name.trim().to_string());
}

fn check_duration(errs: &mut FieldErrors, minutes: u32, allowed: &[u32]) {
    if !allowed.contains(&minutes) {
        errs.add(
            "auto_archive_duration",
            FieldError::Choice {
                allowed: allowed
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_threads_hide_from_outsiders_without_manage_threads() {
        let base = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
        let outsider = thread_permissions(base, ChannelKind::PrivateThread, false);
        assert!(!outsider.contains(Permissions::VIEW_CHANNEL));
        let joined = thread_permissions(base, ChannelKind::PrivateThread, true);
        assert!(joined.contains(Permissions::VIEW_CHANNEL));
        let moderator = thread_permissions(
            base | Permissions::MANAGE_THREADS,
            ChannelKind::PrivateThread,
            false,
        );
        assert!(moderator.contains(Permissions::VIEW_CHANNEL));
        let public = thread_permissions(base, ChannelKind::PublicThread, false);
        assert!(public.contains(Permissions::VIEW_CHANNEL));
    }

    #[test]
    fn posting_in_a_thread_needs_send_messages_in_threads() {
        let plain = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
        assert!(
            !thread_permissions(plain, ChannelKind::PublicThread, true)
                .contains(Permissions::SEND_MESSAGES)
        );
        let threads_only = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES_IN_THREADS;
        assert!(
            thread_permissions(threads_only, ChannelKind::PublicThread, true)
                .contains(Permissions::SEND_MESSAGES)
        );
    }

    #[test]
    fn the_archive_clock_runs_from_the_latest_activity() {
        let mut c = ChannelRecord::new(ChannelId::new(1), ChannelKind::PublicThread, None);
        assert_eq!(archive_due(&c, 60), None);
        c.thread_metadata = Some(ThreadMetadata {
            archived: false,
            auto_archive_duration: 60,
            archive_timestamp: Timestamp::from_millis(1_000),
            locked: false,
            invitable: None,
            create_timestamp: Timestamp::from_millis(1_000),
        });
        assert_eq!(archive_due(&c, 60), Some(1_000 + 3_600_000));
        assert_eq!(archive_due(&c, 1), Some(1_000 + 60_000));
        let later = crate::id::Snowflake::from_timestamp_ms(1_420_070_400_000 + 5_000);
        c.last_message_id = Some(MessageId::new(later.get()));
        let at = later.timestamp_ms() as i64;
        assert_eq!(archive_due(&c, 1), Some(at + 60_000));
        if let Some(m) = c.thread_metadata.as_mut() {
            m.archived = true;
        }
        assert_eq!(archive_due(&c, 1), None);
    }
}
