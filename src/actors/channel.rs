//! `ChannelActor`: owns one channel's message ordering, its newest messages in memory, pins,
//! reactions and typing, with its own cache of who may do what here (filled from the guild
//! actor, dropped when the guild actor says roles or overwrites changed).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

mod automod;
mod cleanup;
pub mod crosspost;
mod interaction;
mod pipeline;
pub mod poll;
mod recipients;
mod thread;

pub use automod::SystemMessage;
pub use interaction::{InteractionOp, InteractionStamp, Target as InteractionTarget};

use super::guild::{Access, GuildMsg};
use super::{Reply, Services, reply};
use crate::cluster::Owned;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{MessageId, RoleId, UserId};
use crate::model::message::{MessageReference, ReactionRecord};
use crate::model::{ChannelKind, ChannelRecord, MessageRecord, PublicUser, Timestamp};
use crate::permissions::{Permissions, require};
use crate::search::{IndexOp, IndexedMessage};
use crate::store::{MessagePage, stamp};

pub enum ChannelMsg {
    Get {
        user: UserId,
        reply: Reply<Value>,
    },
    /// Replies with the message object, serialized (the same bytes as its MESSAGE_CREATE).
    CreateMessage {
        author: UserId,
        body: Box<MessageCreate>,
        reply: Reply<Bytes>,
    },
    /// Replies with the JSON array of messages, serialized.
    ListMessages {
        user: UserId,
        page: MessagePage,
        limit: usize,
        reply: Reply<Bytes>,
    },
    GetMessage {
        user: UserId,
        id: MessageId,
        reply: Reply<Value>,
    },
    EditMessage {
        user: UserId,
        id: MessageId,
        body: Box<MessageEdit>,
        reply: Reply<Value>,
    },
    DeleteMessage {
        user: UserId,
        id: MessageId,
        reply: Reply<()>,
    },
    BulkDelete {
        user: UserId,
        ids: Vec<MessageId>,
        reply: Reply<()>,
    },
    Typing {
        user: UserId,
        reply: Reply<()>,
    },
    React {
        user: UserId,
        id: MessageId,
        emoji: String,
        add: bool,
        target: Option<UserId>,
        reply: Reply<()>,
    },
    ListReactions {
        user: UserId,
        id: MessageId,
        emoji: String,
        reply: Reply<Value>,
    },
    Pin {
        user: UserId,
        id: MessageId,
        pinned: bool,
        reply: Reply<()>,
    },
    ListPins {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `DELETE …/messages/{id}/reactions` (`emoji: None`) or `…/reactions/{emoji}`
    /// (MANAGE_MESSAGES).
    ClearReactions {
        user: UserId,
        id: MessageId,
        emoji: Option<String>,
        reply: Reply<()>,
    },
    /// After a ban with `delete_message_seconds`: deletes `author`'s messages from `since` on
    /// (a bounded walk back). No permission check here: the guild actor checked BAN_MEMBERS.
    /// Replies with how many were deleted.
    PurgeAuthor {
        author: UserId,
        since: MessageId,
        reply: Reply<usize>,
    },
    /// `PUT /channels/{id}/recipients/{user}` (group DMs).
    AddRecipient {
        user: UserId,
        target: UserId,
        reply: Reply<()>,
    },
    /// `DELETE /channels/{id}/recipients/{user}` (group DMs; the owner, or yourself to leave).
    RemoveRecipient {
        user: UserId,
        target: UserId,
        reply: Reply<()>,
    },
    /// From the thread creation routes, once the guild actor created `thread` from this
    /// channel: marks the starter message, or posts the THREAD_CREATED system message.
    ThreadStarted {
        author: UserId,
        thread: Box<ChannelRecord>,
        starter: Option<MessageId>,
        reply: Reply<()>,
    },
    /// From the guild actor: cached permissions of this user (or everyone) are stale.
    InvalidatePermissions(Option<UserId>),
    Updated(Box<ChannelRecord>),
    Deleted,
    /// Periodic: passivate when idle for `actors.idle_passivate_secs`.
    Tick,
    /// From the write pipeline: a write failed, so the in-memory state holds something the
    /// store doesn't. The actor drains the pipeline and stops; the next request reloads it.
    WriteFailed,
    /// `POST /channels/{id}/messages/{message}/crosspost` (announcement channels).
    Crosspost {
        user: UserId,
        id: MessageId,
        reply: Reply<Value>,
    },
    /// `PUT /channels/{id}/polls/{message}/answers/@me` and the per-answer forms.
    PollVote {
        user: UserId,
        id: MessageId,
        change: poll::VoteChange,
        reply: Reply<()>,
    },
    /// `GET /channels/{id}/polls/{message}/answers/{answer}`: `{users}`.
    PollVoters {
        user: UserId,
        id: MessageId,
        answer: i64,
        after: Option<UserId>,
        limit: usize,
        reply: Reply<Value>,
    },
    /// `POST /channels/{id}/polls/{message}/expire` (the poll's author only).
    EndPoll {
        user: UserId,
        id: MessageId,
        reply: Reply<Value>,
    },
    /// From the poll clock (`actors::polls`): this message's poll may be due.
    PollDue {
        id: MessageId,
    },
    /// From an announcement channel's actor: a crosspost arriving through one of this channel's
    /// follower webhooks.
    ReceiveCrosspost(Box<crosspost::Crosspost>),
    /// From the guild actor: an auto-moderation alert (a system message) to post here.
    PostSystem(Box<SystemMessage>),
    /// A webhook acting in this channel (its token was checked by the route).
    AsWebhook {
        webhook: Box<crate::model::WebhookRecord>,
        op: WebhookOp,
        reply: Reply<Value>,
    },
    /// An application answering one of its interactions here (the route checked the
    /// interaction token): the response, follow-ups, and edits/deletes of those.
    AsApplication {
        target: Box<interaction::Target>,
        op: InteractionOp,
        reply: Reply<Value>,
    },
}

impl super::mailbox::Counted for ChannelMsg {
    const KIND: super::mailbox::Kind = super::mailbox::Kind::Channel;
}

/// Embeds are kept as the client sent them, so each must at least be an object: schemathesis
/// had `"embeds": [[null, null]]` stored and served back as an embed.
fn check_embeds(embeds: &[Value], errs: &mut FieldErrors) {
    for (i, embed) in embeds.iter().enumerate() {
        if !embed.is_object() {
            errs.add(
                &format!("embeds.{i}"),
                FieldError::BadType {
                    expected: "an object".into(),
                },
            );
        }
    }
}

/// Body of `POST /channels/{id}/messages` (JSON part). Every field Discord documents is
/// accepted; those we do not act on yet are ignored rather than refused.
#[derive(Debug, Default, Deserialize)]
pub struct MessageCreate {
    pub content: Option<String>,
    pub nonce: Option<Value>,
    pub tts: Option<bool>,
    pub embeds: Option<Vec<Value>>,
    /// Pre-v8 single embed.
    pub embed: Option<Value>,
    pub allowed_mentions: Option<AllowedMentions>,
    pub message_reference: Option<MessageReference>,
    pub components: Option<Vec<Value>>,
    pub sticker_ids: Option<Vec<crate::id::StickerId>>,
    pub flags: Option<u64>,
    pub enforce_nonce: Option<bool>,
    pub attachments: Option<Vec<Value>>,
    pub poll: Option<poll::PollCreate>,
    /// Webhook execution only: the author name and avatar shown for this message.
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    /// Files already stored on the CDN by the route (multipart uploads).
    #[serde(skip)]
    pub uploaded: Vec<crate::model::message::Attachment>,
    /// Set when a webhook posts: its id and the author shown.
    #[serde(skip)]
    pub webhook: Option<(crate::id::WebhookId, crate::model::WebhookAuthor)>,
    /// Set when an application answers an interaction (see [`InteractionStamp`]).
    #[serde(skip)]
    pub interaction: Option<InteractionStamp>,
    /// Set by the forum post route: this is the post's starter message, which takes the
    /// thread's id and needs only the SEND_MESSAGES the guild actor checked in the forum.
    #[serde(skip)]
    pub forum_starter: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct AllowedMentions {
    pub parse: Option<Vec<String>>,
    pub users: Option<Vec<UserId>>,
    pub roles: Option<Vec<RoleId>>,
    pub replied_user: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MessageEdit {
    #[serde(default, deserialize_with = "super::guild::double_option")]
    pub content: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::guild::double_option")]
    pub embeds: Option<Option<Vec<Value>>>,
    pub flags: Option<u64>,
    pub allowed_mentions: Option<AllowedMentions>,
    pub components: Option<Vec<Value>>,
    pub attachments: Option<Vec<Value>>,
    /// Never applied: a poll cannot be changed once sent (520003); read only to refuse it
    /// rather than drop it silently.
    #[serde(default)]
    pub poll: Option<Value>,
}

/// What a webhook may do with its own messages.
pub enum WebhookOp {
    Create(Box<MessageCreate>),
    Get(MessageId),
    Edit(MessageId, Box<MessageEdit>),
    Delete(MessageId),
}

/// The index document of a message (None for DMs).
fn upsert(m: &MessageRecord) -> Option<IndexOp> {
    IndexedMessage::from_record(m).map(|d| IndexOp::Upsert(Box::new(d)))
}

pub struct ChannelActor;

pub struct State {
    services: Arc<Services>,
    channel: ChannelRecord,
    guild: Option<ActorRef<GuildMsg>>,
    access: HashMap<UserId, Access>,
    /// Newest messages, newest first, with their rendered JSON once known.
    recent: VecDeque<Cached>,
    /// True when `recent` holds the channel's whole history (a small channel).
    recent_is_all: bool,
    last_activity: std::time::Instant,
    /// Slowmode: when each member last sent a message here (entries older than the channel's
    /// `rate_limit_per_user` are dropped as the map grows).
    last_sent: HashMap<UserId, tokio::time::Instant>,
    /// Ephemeral interaction messages: shown to one user, never stored (see `interaction`).
    ephemeral: HashMap<MessageId, interaction::Ephemeral>,
    /// Writes in flight, and the replies and events waiting for them (see `pipeline`).
    pipeline: pipeline::Pipeline,
    /// The guild's compiled auto-moderation rules (None in DMs), loaded per message.
    automod: Option<Arc<arc_swap::ArcSwap<crate::automod::CompiledRules>>>,
    /// What each member last sent here and how often in a row, for SPAM rules (see `automod`).
    repeats: HashMap<UserId, automod::Repeat>,
}

/// A message of the in-memory window, and its JSON once rendered: a history read of the newest
/// page then copies bytes instead of serializing 50 messages again. The JSON is only kept for a
/// message without reactions (their `me` differs per reader) and is only used while the user
/// directory's generation is the one it was rendered under (author and mentions are baked in).
/// Replacing the record (edit, reaction, pin) drops it.
struct Cached {
    record: MessageRecord,
    json: Option<(u64, Bytes)>,
}

impl Cached {
    fn new(record: MessageRecord) -> Self {
        Self { record, json: None }
    }

    /// The rendered JSON, if still valid under directory generation `generation`.
    fn json(&self, generation: u64) -> Option<&Bytes> {
        self.json
            .as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, b)| b)
    }
}

/// What a DM recipient may do.
const DM_PERMISSIONS: Permissions = Permissions::from_bits_truncate(
    Permissions::VIEW_CHANNEL.bits()
        | Permissions::SEND_MESSAGES.bits()
        | Permissions::READ_MESSAGE_HISTORY.bits()
        | Permissions::ADD_REACTIONS.bits()
        | Permissions::ATTACH_FILES.bits()
        | Permissions::EMBED_LINKS.bits()
        | Permissions::USE_EXTERNAL_EMOJIS.bits()
        | Permissions::PIN_MESSAGES.bits(),
);

impl Actor for ChannelActor {
    type Msg = ChannelMsg;
    type State = State;
    type Arguments = (Arc<Services>, ChannelRecord, Option<ActorRef<GuildMsg>>);

    async fn pre_start(
        &self,
        me: ActorRef<ChannelMsg>,
        (services, channel, guild): Self::Arguments,
    ) -> Result<State, ActorProcessingErr> {
        let keep = services.config.get().actors.channel_cache_messages;
        let recent: VecDeque<Cached> = if channel.kind.is_text() && keep > 0 {
            services
                .store
                .messages_page(channel.id, MessagePage::Latest, keep.min(100))
                .await?
                .into_iter()
                .map(Cached::new)
                .collect()
        } else {
            VecDeque::new()
        };
        let recent_is_all = recent.len() < keep.min(100);
        let automod = channel.guild_id.map(|g| services.automod.slot(g));
        tracing::debug!(channel = %channel.id, cached = recent.len(), "channel actor started");
        let pipeline = pipeline::Pipeline::start(
            services.fence_of(owned_by(&channel)),
            move || {
                let _ = crate::actors::tell(&me, ChannelMsg::WriteFailed);
            },
            tracing::debug_span!("channel.pipeline", id = %channel.id),
        );
        Ok(State {
            services,
            channel,
            guild,
            access: HashMap::new(),
            recent,
            recent_is_all,
            last_activity: std::time::Instant::now(),
            last_sent: HashMap::new(),
            ephemeral: HashMap::new(),
            pipeline,
            automod,
            repeats: HashMap::new(),
        })
    }

    /// Every reply and event the actor queued goes out (or fails) before it is gone: shutdown
    /// flushes the store right after the actors stop.
    async fn post_stop(
        &self,
        _me: ActorRef<ChannelMsg>,
        st: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        st.pipeline.close().await;
        Ok(())
    }

    async fn post_start(
        &self,
        me: ActorRef<ChannelMsg>,
        st: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        super::start_idle_ticker(&me, st.services.clone(), || ChannelMsg::Tick);
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<ChannelMsg>,
        msg: ChannelMsg,
        st: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        super::mailbox::received::<ChannelMsg>();
        if matches!(msg, ChannelMsg::Tick) {
            st.prune_ephemeral();
            // Ephemeral messages live only here: keep the actor while it holds any.
            if super::idle_for(st.last_activity, &st.services)
                && st.ephemeral.is_empty()
                && st.pipeline.is_idle()
            {
                tracing::debug!("idle; passivating (reloads from the store on next use)");
                st.pipeline.close().await;
                me.stop(Some("idle".into()));
            }
            return Ok(());
        }
        let Ok(stamp) = st.services.write_stamp(owned_by(&st.channel)) else {
            tracing::warn!(channel = %st.channel.id, "ownership lease lapsed: refusing and stopping");
            me.stop(Some("ownership lapsed".into()));
            return Ok(());
        };
        if matches!(msg, ChannelMsg::WriteFailed) {
            // Drained while still running, so the registry spawns the successor (which loads
            // from the store) only after every write this actor started has landed or failed.
            tracing::warn!(channel = %st.channel.id, "a write failed; reloading from the store");
            st.pipeline.close().await;
            me.stop(Some("write failed".into()));
            return Ok(());
        }
        st.last_activity = std::time::Instant::now();
        st.follow_guild_actor().await;
        let span = tracing::debug_span!("channel", id = %st.channel.id);
        let handled = async move {
            match msg {
                ChannelMsg::Get { user, reply: r } => {
                    let v = match st.view(user).await {
                        Ok(_) => st.channel_json().await,
                        Err(e) => Err(e),
                    };
                    st.reply(r, v);
                }
                ChannelMsg::CreateMessage {
                    author,
                    body,
                    reply: r,
                } => {
                    let v = st.create_message(author, *body).await;
                    st.reply(r, v)
                }
                ChannelMsg::ListMessages {
                    user,
                    page,
                    limit,
                    reply: r,
                } => {
                    let v = st.list(user, page, limit).await;
                    st.reply(r, v)
                }
                ChannelMsg::GetMessage { user, id, reply: r } => {
                    let v = async {
                        let perms = st.view(user).await?;
                        require(perms, Permissions::READ_MESSAGE_HISTORY)?;
                        let m = st.find(id).await?;
                        st.render(&m, Some(user)).await
                    }
                    .await;
                    st.reply(r, v);
                }
                ChannelMsg::EditMessage {
                    user,
                    id,
                    body,
                    reply: r,
                } => {
                    let v = st.edit(user, id, *body).await;
                    st.reply(r, v)
                }
                ChannelMsg::DeleteMessage { user, id, reply: r } => {
                    let v = st.delete(user, id).await;
                    st.reply(r, v)
                }
                ChannelMsg::BulkDelete {
                    user,
                    ids,
                    reply: r,
                } => {
                    let v = st.bulk_delete(user, ids).await;
                    st.reply(r, v)
                }
                ChannelMsg::Typing { user, reply: r } => {
                    let v = st.typing(user).await;
                    st.reply(r, v)
                }
                ChannelMsg::React {
                    user,
                    id,
                    emoji,
                    add,
                    target,
                    reply: r,
                } => {
                    let v = st.react(user, id, emoji, add, target).await;
                    st.reply(r, v)
                }
                ChannelMsg::ListReactions {
                    user,
                    id,
                    emoji,
                    reply: r,
                } => {
                    let v = async {
                        st.view(user).await?;
                        let m = st.find(id).await?;
                        let ids = m
                            .reactions
                            .iter()
                            .find(|x| x.emoji == emoji)
                            .map(|x| x.user_ids.clone())
                            .unwrap_or_default();
                        Ok(json!(st.services.users.public_many(&ids).await?))
                    }
                    .await;
                    st.reply(r, v);
                }
                ChannelMsg::Pin {
                    user,
                    id,
                    pinned,
                    reply: r,
                } => {
                    let v = st.pin(user, id, pinned).await;
                    st.reply(r, v)
                }
                ChannelMsg::ListPins { user, reply: r } => {
                    let v = st.list_pins(user).await;
                    st.reply(r, v)
                }
                ChannelMsg::InvalidatePermissions(None) => st.access.clear(),
                ChannelMsg::InvalidatePermissions(Some(user)) => {
                    st.access.remove(&user);
                }
                ChannelMsg::ClearReactions {
                    user,
                    id,
                    emoji,
                    reply: r,
                } => {
                    let v = st.clear_reactions(user, id, emoji).await;
                    st.reply(r, v)
                }
                ChannelMsg::PurgeAuthor {
                    author,
                    since,
                    reply: r,
                } => {
                    let v = st.purge_author(author, since).await;
                    st.reply(r, v)
                }
                ChannelMsg::AddRecipient {
                    user,
                    target,
                    reply: r,
                } => {
                    let v = st.add_recipient(user, target).await;
                    st.reply(r, v)
                }
                ChannelMsg::RemoveRecipient {
                    user,
                    target,
                    reply: r,
                } => {
                    let v = st.remove_recipient(user, target).await;
                    st.reply(r, v)
                }
                ChannelMsg::Updated(record) => st.channel = *record,
                ChannelMsg::ThreadStarted {
                    author,
                    thread,
                    starter,
                    reply: r,
                } => {
                    let v = st.thread_started(author, *thread, starter).await;
                    st.reply(r, v)
                }
                ChannelMsg::Tick | ChannelMsg::WriteFailed => {}
                ChannelMsg::PostSystem(m) => {
                    if let Err(e) = st.post_system(*m).await {
                        tracing::warn!(error = %e, "auto-moderation alert not posted");
                    }
                }
                ChannelMsg::AsWebhook {
                    webhook,
                    op,
                    reply: r,
                } => {
                    let v = st.as_webhook(*webhook, op).await;
                    st.reply(r, v)
                }
                ChannelMsg::PollVote {
                    user,
                    id,
                    change,
                    reply: r,
                } => {
                    let v = st.vote(user, id, change).await;
                    st.reply(r, v)
                }
                ChannelMsg::PollVoters {
                    user,
                    id,
                    answer,
                    after,
                    limit,
                    reply: r,
                } => {
                    let v = st.voters(user, id, answer, after, limit).await;
                    st.reply(r, v)
                }
                ChannelMsg::EndPoll { user, id, reply: r } => {
                    let v = st.end_poll(user, id).await;
                    st.reply(r, v)
                }
                ChannelMsg::PollDue { id } => {
                    if let Err(e) = st.poll_due(id).await {
                        tracing::warn!(error = %e, message = %id, "could not end a poll");
                    }
                }
                ChannelMsg::Crosspost { user, id, reply: r } => {
                    let v = st.crosspost(user, id).await;
                    st.reply(r, v)
                }
                ChannelMsg::ReceiveCrosspost(post) => {
                    if let Err(e) = st.receive_crosspost(*post).await {
                        tracing::warn!(error = %e, "could not deliver a crosspost");
                    }
                }
                ChannelMsg::AsApplication {
                    target,
                    op,
                    reply: r,
                } => {
                    let v = st.as_application(*target, op).await;
                    st.reply(r, v)
                }
                ChannelMsg::Deleted => {
                    st.pipeline.close().await;
                    me.stop(Some("channel deleted".into()));
                }
            }
        }
        .instrument(span);
        // Writes the actor makes itself; those it hands to its pipeline are stamped there.
        stamp::under(stamp, handled).await;
        Ok(())
    }
}

/// Webhook messages show the webhook (or the per-message override) as a bot author.
fn webhook_author(m: &MessageRecord) -> Option<PublicUser> {
    let (Some(w), Some(a)) = (&m.webhook_id, &m.webhook_author) else {
        return None;
    };
    Some(PublicUser {
        id: UserId(w.0),
        username: a.username.clone(),
        discriminator: "0000".into(),
        global_name: None,
        avatar: a.avatar.clone(),
        banner: None,
        accent_color: None,
        bot: true,
        system: false,
        public_flags: 0,
        avatar_decoration_data: None,
    })
}

/// The lease a channel lives under: its guild's, or its own for a DM or group DM.
fn owned_by(channel: &ChannelRecord) -> Owned {
    match channel.guild_id {
        Some(g) => Owned::Guild(g.get()),
        None => Owned::Channel(channel.id.get()),
    }
}

impl State {
    /// A guild actor that failed is replaced by a fresh one (which reloads from the store); this
    /// channel then talks to the new one — else its events would go to the dead actor and be
    /// lost, and permission lookups would fail — and forgets what the old one told it.
    async fn follow_guild_actor(&mut self) {
        let (Some(guild), Some(id)) = (&self.guild, self.channel.guild_id) else {
            return;
        };
        if super::registry::alive(guild.get_status()) {
            return;
        }
        match self.services.guild(id).await {
            Ok(fresh) => {
                tracing::info!(channel = %self.channel.id, "guild actor replaced; following the new one");
                self.guild = Some(fresh);
                self.access.clear();
            }
            Err(e) => {
                tracing::warn!(channel = %self.channel.id, error = %e, "guild actor gone and not restartable")
            }
        }
    }

    fn in_guild(&self) -> bool {
        self.channel.guild_id.is_some()
    }

    /// The user's permissions here, from the cache or the guild actor.
    async fn permissions(&mut self, user: UserId) -> Result<Access, ApiError> {
        if let Some(a) = self.access.get(&user) {
            return Ok(a.clone());
        }
        let access = match &self.guild {
            Some(g) => {
                let channel = self.channel.id;
                match crate::actors::mailbox::call(
                    g,
                    |port| GuildMsg::Access {
                        channel,
                        user,
                        reply: port,
                    },
                    None,
                )
                .await
                {
                    Ok(ractor::rpc::CallResult::Success(a)) => a,
                    _ => return Err(ApiError::internal("guild actor unavailable")),
                }
            }
            None if self.channel.recipient_ids.contains(&user) => Access {
                permissions: DM_PERMISSIONS,
                member: true,
                roles: Arc::from([]),
                pending: false,
            },
            None => Access {
                permissions: Permissions::empty(),
                member: false,
                roles: Arc::from([]),
                pending: false,
            },
        };
        self.access.insert(user, access.clone());
        Ok(access)
    }

    /// Fails like Discord: not a member → Unknown Channel; member without VIEW → Missing Access.
    /// Raises the unread-mention count of everyone the message pings: mentioned users who can
    /// see this channel, or in a DM every other recipient (Discord counts every DM as a mention).
    /// The user actors do the counting; this only tells them, off the actor's path.
    async fn count_mentions(&mut self, m: &MessageRecord) {
        let mut users = Vec::new();
        if self.in_guild() {
            for u in m.mentions.iter().copied().filter(|u| *u != m.author_id) {
                if self.view(u).await.is_ok() {
                    users.push(u);
                }
            }
        } else {
            users.extend(
                self.channel
                    .recipient_ids
                    .iter()
                    .copied()
                    .filter(|u| *u != m.author_id),
            );
        }
        if users.is_empty() {
            return;
        }
        let services = self.services.clone();
        let (channel, message) = (m.channel_id, m.id);
        // Counted once the message is durable (never for one a failed write lost).
        self.pipeline.then(move |ok| {
            if !ok {
                return;
            }
            tokio::spawn(async move {
                let cast = super::remote::UserCast::Mentioned {
                    channel: channel.get(),
                    message: message.get(),
                };
                for u in users {
                    services.cast_user(u, cast.clone()).await;
                }
            });
        });
    }

    async fn view(&mut self, user: UserId) -> Result<Permissions, ApiError> {
        let a = self.permissions(user).await?;
        if !a.member {
            return Err(ApiError::Unknown(Unknown::Channel));
        }
        if !a.permissions.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        Ok(a.permissions)
    }

    async fn channel_json(&self) -> Result<Value, ApiError> {
        let recipients = if self.in_guild() {
            None
        } else {
            Some(
                self.services
                    .users
                    .public_many(&self.channel.recipient_ids)
                    .await?,
            )
        };
        let mut c = self.channel.clone();
        c.last_message_id = self
            .recent
            .front()
            .map(|m| m.record.id)
            .or(c.last_message_id);
        Ok(c.to_json(recipients.as_deref()))
    }

    /// The message as Discord shows it; a reply (type 19) carries the message it answers as
    /// `referenced_message` (`null` once that one is deleted), one level deep like Discord.
    async fn render(&self, m: &MessageRecord, me: Option<UserId>) -> Result<Value, ApiError> {
        let mut v = self.render_one(m, me).await?;
        if m.kind == 19
            && let Some(r) = &m.message_reference
            && let Some(target) = r.message_id
            && r.channel_id.is_none_or(|c| c == self.channel.id)
        {
            let referenced = match self.find(target).await {
                Ok(t) => self.render_one(&t, me).await?,
                Err(ApiError::Unknown(_)) => Value::Null,
                Err(e) => return Err(e),
            };
            if let Some(obj) = v.as_object_mut() {
                obj.insert("referenced_message".into(), referenced);
            }
        }
        Ok(v)
    }

    async fn render_one(&self, m: &MessageRecord, me: Option<UserId>) -> Result<Value, ApiError> {
        let author = match webhook_author(m) {
            Some(a) => a,
            None => self.services.users.public(m.author_id).await?,
        };
        let mentions = self.services.users.public_many(&m.mentions).await?;
        let mut v = m.to_json(&author, &mentions, me);
        if let Some(i) = &m.interaction {
            interaction::stamp_json(&self.services, i, &mut v).await?;
        }
        Ok(v)
    }

    /// [`State::render`] straight to bytes, for the REST reply and the gateway event.
    async fn render_bytes(&self, m: &MessageRecord, me: Option<UserId>) -> Result<Bytes, ApiError> {
        if m.shows_other_records() {
            return serde_json::to_vec(&self.render(m, me).await?)
                .map(Bytes::from)
                .map_err(ApiError::internal);
        }
        let author = match webhook_author(m) {
            Some(a) => a,
            None => self.services.users.public(m.author_id).await?,
        };
        let mentions = self.services.users.public_many(&m.mentions).await?;
        serde_json::to_vec(&m.view(&author, &mentions, me))
            .map(Bytes::from)
            .map_err(ApiError::internal)
    }

    async fn find(&self, id: MessageId) -> Result<MessageRecord, ApiError> {
        if let Some(m) = self.recent.iter().find(|m| m.record.id == id) {
            return Ok(m.record.clone());
        }
        if self.recent_is_all {
            return Err(ApiError::Unknown(Unknown::Message));
        }
        self.services
            .store
            .get_message(self.channel.id, id)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Message))
    }

    /// MESSAGE_UPDATE of `m` (rendered as `v`) to everyone who may see it; its author and the
    /// users it mentions get the content even without MESSAGE_CONTENT (Discord's rule).
    fn fanout_update(&self, m: &MessageRecord, v: &serde_json::Value) {
        let mut exempt = m.mentions.clone();
        exempt.push(m.author_id);
        self.fanout(Dispatch::message(
            "MESSAGE_UPDATE",
            v,
            self.in_guild(),
            exempt,
        ));
    }

    /// Sends an event to everyone who may see this channel, once every write queued before it
    /// is durable (dropped if one of them failed).
    fn fanout(&self, event: Arc<Dispatch>) {
        match &self.guild {
            Some(g) => {
                let (g, channel) = (g.clone(), self.channel.id);
                self.pipeline.then(move |ok| {
                    if ok {
                        let _ = crate::actors::tell(
                            &g,
                            GuildMsg::Fanout {
                                event,
                                channel: Some(channel),
                            },
                        );
                    }
                });
            }
            None => self.send_to_users(self.channel.recipient_ids.clone(), event),
        }
    }

    /// Sends an event to these users' sessions, in order with every other event and reply of
    /// this channel (after the writes queued before it are durable).
    fn send_to_users(&self, users: Vec<UserId>, event: Arc<Dispatch>) {
        let services = self.services.clone();
        self.pipeline.then(move |ok| {
            if ok {
                for u in users {
                    services.sessions.send_to_user(u, &event);
                }
            }
        });
    }

    /// [`State::send_to_users`] for one user.
    fn send_to_user(&self, user: UserId, event: &Arc<Dispatch>) {
        self.send_to_users(vec![user], event.clone());
    }

    /// Answers a request once everything queued before the answer is durable: a reply is an
    /// acknowledgement (of a write, or of what a read saw), so it never overtakes a write.
    fn reply<T: Send + 'static>(&self, port: super::Reply<T>, value: Result<T, ApiError>) {
        let failure = self.pipeline.failure();
        self.pipeline
            .then(move |ok| reply(port, if ok { value } else { Err(failure()) }));
    }

    /// Stores a new message alongside the writes already running (see `pipeline`).
    fn persist_new(&self, m: &MessageRecord) -> Result<(), ApiError> {
        let (store, record) = (self.services.store.clone(), m.clone());
        self.pipeline
            .start_write(async move { store.insert_message(&record).await })?;
        self.index_when_durable(|| upsert(m));
        Ok(())
    }

    /// Stores a changed message after every earlier write of this channel is done.
    fn persist_changed(&self, m: &MessageRecord) -> Result<(), ApiError> {
        let (store, record) = (self.services.store.clone(), m.clone());
        self.pipeline
            .deferred_write(async move { store.update_message(&record).await })?;
        self.index_when_durable(|| upsert(m));
        Ok(())
    }

    /// Stores a change the message index doesn't see (reactions, poll votes): like
    /// `persist_changed` without handing the index a copy of the message, so a busy reaction
    /// storm costs the indexer nothing — only content-bearing changes re-index a message.
    fn persist_unindexed(&self, m: &MessageRecord) -> Result<(), ApiError> {
        let (store, record) = (self.services.store.clone(), m.clone());
        self.pipeline
            .deferred_write(async move { store.update_message(&record).await })?;
        Ok(())
    }

    /// Deletes stored messages after every earlier write of this channel is done.
    fn persist_deleted(&self, ids: &[MessageId]) -> Result<(), ApiError> {
        let (store, channel, list) = (self.services.store.clone(), self.channel.id, ids.to_vec());
        self.pipeline
            .deferred_write(async move { store.delete_messages(channel, &list).await })?;
        self.index_when_durable(|| Some(IndexOp::Delete(ids.to_vec())));
        Ok(())
    }

    /// Hands a change to the message index once the writes queued so far are durable (guild
    /// channels, when search is on): the indexer never runs on the write path, and a write
    /// that fails is never indexed.
    fn index_when_durable(&self, op: impl FnOnce() -> Option<IndexOp>) {
        let Some(index) = self.services.search.get() else {
            return;
        };
        if self.channel.guild_id.is_none() {
            return;
        }
        let Some(op) = op() else {
            return;
        };
        let index = index.clone();
        self.pipeline.then(move |ok| {
            if ok {
                index.submit(op);
            }
        });
    }

    /// Of the roles a message mentions, those that ping: roles of this guild that are
    /// mentionable, or any of its roles when the author has MENTION_EVERYONE (the guild actor
    /// knows the roles). None in DMs.
    async fn pinging_roles(
        &self,
        author: UserId,
        roles: Vec<RoleId>,
    ) -> Result<Vec<RoleId>, ApiError> {
        if roles.is_empty() {
            return Ok(roles);
        }
        let Some(g) = &self.guild else {
            return Ok(Vec::new());
        };
        match crate::actors::mailbox::call(
            g,
            |port| GuildMsg::MentionableRoles {
                user: author,
                roles,
                reply: port,
            },
            None,
        )
        .await
        {
            Ok(ractor::rpc::CallResult::Success(r)) => Ok(r),
            _ => Err(ApiError::internal("guild actor unavailable")),
        }
    }

    /// 520004 unless every custom emoji in the poll's answers is one the author may use here:
    /// one of this guild's emojis, or in a DM one of a guild the author is in. Read from the
    /// store, and only for polls that name custom emojis.
    async fn check_poll_emojis(
        &self,
        author: UserId,
        poll: &crate::model::PollRecord,
    ) -> Result<(), ApiError> {
        let wanted: Vec<crate::id::EmojiId> = poll
            .answers
            .iter()
            .filter_map(|a| a.poll_media.emoji.as_ref()?.id)
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let store = &self.services.store;
        let guilds = match self.channel.guild_id {
            Some(g) => vec![g],
            None => store.guilds_of_user(author).await?,
        };
        let mut usable = std::collections::HashSet::new();
        for guild in guilds {
            usable.extend(store.guild_emojis(guild).await?.into_iter().map(|e| e.id));
            if wanted.iter().all(|id| usable.contains(id)) {
                return Ok(());
            }
        }
        Err(poll::unusable_emoji())
    }

    /// A message's `sticker_ids` as `sticker_items`: the guild actor owns the stickers; in a DM
    /// no guild sticker may be sent.
    async fn sticker_items(
        &self,
        ids: Vec<crate::id::StickerId>,
    ) -> Result<Vec<crate::model::StickerItem>, ApiError> {
        let Some(first) = ids.first() else {
            return Ok(Vec::new());
        };
        match &self.guild {
            Some(g) => {
                super::ask(&self.services, g, |reply| {
                    GuildMsg::Stickers(super::guild::StickerMsg::ForMessage { ids, reply })
                })
                .await
            }
            None => Err(super::guild::foreign_sticker(&self.services, *first).await),
        }
    }

    /// Slowmode (`rate_limit_per_user`): one message per interval per member; MANAGE_MESSAGES
    /// and MANAGE_CHANNELS are exempt. Fails with 20016 and the seconds left.
    fn check_slowmode(&mut self, author: UserId, perms: Permissions) -> Result<(), ApiError> {
        let rate = self.channel.rate_limit_per_user;
        // In a thread, its moderators (MANAGE_THREADS) are exempt too (Discord's rule).
        let mut exempt = Permissions::MANAGE_MESSAGES | Permissions::MANAGE_CHANNELS;
        if self.channel.kind.is_thread() {
            exempt |= Permissions::MANAGE_THREADS;
        }
        if rate == 0 || perms.intersects(exempt) {
            return Ok(());
        }
        let interval = std::time::Duration::from_secs(u64::from(rate));
        let now = tokio::time::Instant::now();
        if self.last_sent.len() > 10_000 {
            self.last_sent
                .retain(|_, at| now.duration_since(*at) < interval);
        }
        match self.last_sent.get(&author) {
            Some(at) if now.duration_since(*at) < interval => {
                let left = interval - now.duration_since(*at);
                Err(ApiError::Slowmode {
                    retry_after: (left.as_secs_f64() * 1000.0).ceil() / 1000.0,
                })
            }
            _ => Ok(()),
        }
    }

    /// Adds a new message to the window, with its JSON when it renders alike for every reader.
    fn remember(&mut self, m: MessageRecord, json: Option<(u64, Bytes)>) {
        let keep = self.services.config.get().actors.channel_cache_messages;
        let json = json.filter(|_| m.renders_alike_for_everyone());
        self.recent.push_front(Cached { record: m, json });
        if self.recent.len() > keep {
            self.recent.pop_back();
            self.recent_is_all = false;
        }
    }

    fn replace_cached(&mut self, m: &MessageRecord) {
        if let Some(slot) = self.recent.iter_mut().find(|x| x.record.id == m.id) {
            *slot = Cached::new(m.clone());
        }
    }

    /// Runs a webhook operation as the webhook's pseudo-user, which may send, embed, attach
    /// and manage only its own messages here.
    async fn as_webhook(
        &mut self,
        webhook: crate::model::WebhookRecord,
        op: WebhookOp,
    ) -> Result<Value, ApiError> {
        let me = UserId(webhook.id.0);
        let perms = Permissions::VIEW_CHANNEL
            | Permissions::SEND_MESSAGES
            | Permissions::READ_MESSAGE_HISTORY
            | Permissions::EMBED_LINKS
            | Permissions::ATTACH_FILES
            | Permissions::MENTION_EVERYONE
            | Permissions::SEND_TTS_MESSAGES;
        self.access.insert(
            me,
            Access {
                permissions: perms,
                member: true,
                roles: Arc::from([]),
                pending: false,
            },
        );
        let own = |m: &MessageRecord| m.webhook_id == Some(webhook.id);
        match op {
            WebhookOp::Create(mut body) => {
                let author = crate::model::WebhookAuthor {
                    username: webhook.name.clone(),
                    avatar: webhook.avatar.clone(),
                };
                let author = body.webhook.take().map_or(author, |(_, a)| a);
                body.webhook = Some((webhook.id, author));
                let bytes = self.create_message(me, *body).await?;
                serde_json::from_slice(&bytes).map_err(ApiError::internal)
            }
            WebhookOp::Get(id) => {
                let m = self.find(id).await?;
                if !own(&m) {
                    return Err(ApiError::Unknown(Unknown::Message));
                }
                self.render(&m, None).await
            }
            WebhookOp::Edit(id, body) => {
                if !own(&self.find(id).await?) {
                    return Err(ApiError::Unknown(Unknown::Message));
                }
                self.edit(me, id, *body).await
            }
            WebhookOp::Delete(id) => {
                if !own(&self.find(id).await?) {
                    return Err(ApiError::Unknown(Unknown::Message));
                }
                self.delete(me, id).await.map(|()| Value::Null)
            }
        }
    }

    async fn create_message(
        &mut self,
        author: UserId,
        body: MessageCreate,
    ) -> Result<Bytes, ApiError> {
        let mut perms = self.view(author).await?;
        if self.permissions(author).await?.pending {
            // Discord's answer to a member who has not passed member verification.
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                50009,
                "member-verification-pending",
            ));
        }
        if body.forum_starter {
            perms.insert(Permissions::SEND_MESSAGES);
        }
        self.post_message(author, perms, body).await
    }

    /// Creates a message of `author`, who has `perms` here (checked by the caller: their own
    /// permissions, or what a webhook or an interaction response may do).
    async fn post_message(
        &mut self,
        author: UserId,
        perms: Permissions,
        body: MessageCreate,
    ) -> Result<Bytes, ApiError> {
        if !self.channel.kind.is_text() {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                50008,
                "cannot-send-in-non-text",
            ));
        }
        require(perms, Permissions::SEND_MESSAGES)?;
        // A block either way closes a DM (the user actors own relationships).
        if self.channel.kind == ChannelKind::Dm
            && let Some(other) = self
                .channel
                .recipient_ids
                .iter()
                .copied()
                .find(|r| *r != author)
            && super::user::blocked_between(&self.services, author, other).await?
        {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                50007,
                "cannot-message-user",
            ));
        }
        let config = self.services.config.get();
        let limits = &config.limits.message;
        let content = body.content.unwrap_or_default();
        let mut embeds = body.embeds.unwrap_or_default();
        if let Some(e) = body.embed {
            embeds.push(e);
        }
        let mut errs = FieldErrors::default();
        if content.chars().count() > limits.max_characters as usize {
            errs.add(
                "content",
                FieldError::MaxLength {
                    max: limits.max_characters as usize,
                },
            );
        }
        if embeds.len() > limits.max_embeds as usize {
            errs.add(
                "embeds",
                FieldError::TooMany {
                    max: limits.max_embeds as usize,
                },
            );
        }
        check_embeds(&embeds, &mut errs);
        let poll = body
            .poll
            .and_then(|p| poll::build(p, &config.limits.poll, Timestamp::now(), &mut errs));
        let stickers = body.sticker_ids.unwrap_or_default();
        if stickers.len() > super::guild::MAX_MESSAGE_STICKERS {
            errs.add(
                "sticker_ids",
                FieldError::TooMany {
                    max: super::guild::MAX_MESSAGE_STICKERS,
                },
            );
        }
        errs.into_result()?;
        if let Some(p) = &poll {
            self.check_poll_emojis(author, p).await?;
        }
        let sticker_items = self.sticker_items(stickers).await?;
        if !body.uploaded.is_empty() {
            require(perms, Permissions::ATTACH_FILES)?;
        }
        let stamp = body.interaction;
        // A deferred response starts as an empty "thinking…" message.
        let loading = stamp.as_ref().is_some_and(|s| s.loading);
        if content.trim().is_empty()
            && embeds.is_empty()
            && sticker_items.is_empty()
            && poll.is_none()
            && body.uploaded.is_empty()
            && !loading
        {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                50006,
                "empty-message",
            ));
        }
        if !perms.contains(Permissions::EMBED_LINKS) {
            embeds.clear();
        }
        let (mut mentions, mut mention_roles) = crate::model::mention::parse(&content);
        let mention_count = mentions.len() + mention_roles.len();
        let mention_everyone = perms.contains(Permissions::MENTION_EVERYONE)
            && (content.contains("@everyone") || content.contains("@here"))
            && body.allowed_mentions.as_ref().is_none_or(|a| {
                a.parse
                    .as_ref()
                    .is_none_or(|p| p.iter().any(|x| x == "everyone"))
            });
        if let Some(a) = &body.allowed_mentions {
            let parse = a.parse.clone().unwrap_or_default();
            if !parse.iter().any(|p| p == "users") {
                let allowed = a.users.clone().unwrap_or_default();
                mentions.retain(|u| allowed.contains(u));
            }
            if !parse.iter().any(|p| p == "roles") {
                let allowed = a.roles.clone().unwrap_or_default();
                mention_roles.retain(|r| allowed.contains(r));
            }
        }
        let mention_roles = self.pinging_roles(author, mention_roles).await?;
        let mut kind = 0;
        let mut reference = None;
        if let Some(mut r) = body.message_reference.filter(|_| stamp.is_none())
            && let Some(target) = r.message_id
        {
            let target_channel = r.channel_id.unwrap_or(self.channel.id);
            if target_channel == self.channel.id {
                match self.find(target).await {
                    Ok(m) => {
                        kind = 19;
                        if body
                            .allowed_mentions
                            .as_ref()
                            .is_none_or(|a| a.replied_user.unwrap_or(true))
                            && m.author_id != author
                            && !mentions.contains(&m.author_id)
                        {
                            mentions.push(m.author_id);
                        }
                    }
                    Err(_) if r.fail_if_not_exists => {
                        return Err(FieldErrors::single(
                            "message_reference",
                            FieldError::InvalidSnowflake,
                        ));
                    }
                    Err(_) => {}
                }
            }
            r.channel_id = Some(target_channel);
            r.guild_id = self.channel.guild_id;
            reference = Some(r);
        }
        if let Some(nonce) = &body.nonce
            && body.enforce_nonce == Some(true)
            && let Some(existing) = self
                .recent
                .iter()
                .map(|c| &c.record)
                .find(|m| m.author_id == author && m.nonce.as_ref() == Some(nonce))
        {
            // Discord's enforce_nonce: a retried send returns the message already created.
            let existing = existing.clone();
            return self.render_bytes(&existing, Some(author)).await;
        }
        // Interaction responses are not subject to slowmode.
        if stamp.is_none() {
            self.check_slowmode(author, perms)?;
        }
        if self.channel.kind.is_thread() {
            self.refuse_if_locked(perms)?;
        }
        let id: MessageId = if body.forum_starter {
            self.starter_id()?
        } else {
            self.services.ids.next()?
        };
        // Auto-moderation judges what people send; an application's interaction response is
        // its own (Discord runs AutoMod on member content only).
        if stamp.is_none() {
            let hits = self.automod_hits(author, perms, &content, mention_count, true);
            self.enforce(author, id, &content, hits)?;
        }
        if self.channel.kind.is_thread() {
            self.reopen_if_archived(author).await?;
        }
        let webhook = body.webhook.clone();
        // Webhook messages are `webhook` to search whoever created the webhook.
        let author_bot = webhook.is_none()
            && self
                .services
                .users
                .get(author)
                .await?
                .is_some_and(|u| u.bot);
        let message = MessageRecord {
            id,
            channel_id: self.channel.id,
            guild_id: self.channel.guild_id,
            author_id: author,
            content,
            edited_timestamp: None,
            tts: body.tts.unwrap_or(false) && perms.contains(Permissions::SEND_TTS_MESSAGES),
            mention_everyone,
            mentions,
            mention_roles,
            attachments: body.uploaded,
            embeds,
            reactions: Vec::new(),
            nonce: body.nonce,
            pinned: false,
            webhook_id: webhook.as_ref().map(|w| w.0),
            webhook_author: webhook.map(|w| w.1),
            author_bot,
            kind,
            flags: body.flags.unwrap_or(0) & (1 << 2 | 1 << 12),
            message_reference: reference,
            sticker_items,
            application_id: None,
            interaction: None,
            poll,
            thread: None,
        };
        let message = match stamp {
            Some(stamp) => {
                let v = self.post_interaction_message(message, stamp).await?;
                return serde_json::to_vec(&v)
                    .map(Bytes::from)
                    .map_err(ApiError::internal);
            }
            None => message,
        };
        // Rendered before the write starts: past this point nothing fails, so the window never
        // lacks a message the store gets. Read before the users are: a directory change in
        // between makes this render stale.
        let generation = self.services.users.generation();
        let v = self.render_bytes(&message, None).await?;
        self.persist_new(&message)?;
        self.schedule_poll_end(&message)?;
        crate::metrics::message_created();
        self.count_mentions(&message).await;
        if self.channel.rate_limit_per_user > 0 {
            self.last_sent.insert(author, tokio::time::Instant::now());
        }
        let mut exempt = message.mentions.clone();
        exempt.push(author);
        self.fanout(Dispatch::message_encoded(
            "MESSAGE_CREATE",
            v.clone(),
            self.in_guild(),
            exempt,
        ));
        self.report_thread_message(message.id);
        let json = (!message.shows_other_records()).then(|| (generation, v.clone()));
        self.remember(message, json);
        Ok(v)
    }

    async fn list(
        &mut self,
        user: UserId,
        page: MessagePage,
        limit: usize,
    ) -> Result<Bytes, ApiError> {
        let perms = self.view(user).await?;
        if !perms.contains(Permissions::READ_MESSAGE_HISTORY) {
            return Ok(Bytes::from_static(b"[]"));
        }
        let limit = limit.clamp(1, 100);
        // A page from the window is a list of positions in it (their JSON may be cached there);
        // only a store read owns its records.
        let page_of = |positions: Vec<usize>| (positions, Vec::new());
        let (positions, fetched): (Vec<usize>, Vec<MessageRecord>) = match page {
            MessagePage::Latest if limit <= self.recent.len() || self.recent_is_all => {
                page_of((0..self.recent.len().min(limit)).collect())
            }
            MessagePage::Before(before)
                if self.recent_is_all
                    || self.recent.back().is_some_and(|m| m.record.id < before) =>
            {
                let cached: Vec<usize> = (0..self.recent.len())
                    .filter(|i| self.recent[*i].record.id < before)
                    .take(limit)
                    .collect();
                if cached.len() == limit || self.recent_is_all {
                    page_of(cached)
                } else {
                    let page = self
                        .services
                        .store
                        .messages_page(self.channel.id, page, limit)
                        .await?;
                    (Vec::new(), page)
                }
            }
            _ => {
                let page = self
                    .services
                    .store
                    .messages_page(self.channel.id, page, limit)
                    .await?;
                (Vec::new(), page)
            }
        };
        // Read before the users are: a directory change in between makes these renders stale.
        let generation = self.services.users.generation();
        let to_render: Vec<&MessageRecord> = positions
            .iter()
            .map(|i| &self.recent[*i])
            .filter(|c| c.json(generation).is_none())
            .map(|c| &c.record)
            .chain(fetched.iter())
            .collect();
        let mut ids: Vec<UserId> = to_render.iter().map(|m| m.author_id).collect();
        ids.extend(to_render.iter().flat_map(|m| m.mentions.iter().copied()));
        ids.sort();
        ids.dedup();
        // One batched directory read resolves every author and mention of the page.
        let users: HashMap<UserId, PublicUser> = if ids.is_empty() {
            HashMap::new()
        } else {
            ids.iter()
                .copied()
                .zip(self.services.users.public_many(&ids).await?)
                .collect()
        };
        let render = |m: &MessageRecord, out: &mut Vec<u8>| -> Result<(), ApiError> {
            let webhook = webhook_author(m);
            let author = match (&webhook, users.get(&m.author_id)) {
                (Some(a), _) | (None, Some(a)) => a,
                (None, None) => return Err(ApiError::internal("message author not resolved")),
            };
            let mentions: Vec<PublicUser> = m
                .mentions
                .iter()
                .filter_map(|u| users.get(u).cloned())
                .collect();
            serde_json::to_writer(out, &m.view(author, &mentions, Some(user)))
                .map_err(ApiError::internal)
        };
        // Replies and interaction responses show other records: rendered one by one.
        let mut special: HashMap<MessageId, Vec<u8>> = HashMap::new();
        for m in positions
            .iter()
            .map(|i| &self.recent[*i].record)
            .chain(fetched.iter())
            .filter(|m| m.shows_other_records())
        {
            let v = self.render(m, Some(user)).await?;
            special.insert(m.id, serde_json::to_vec(&v).map_err(ApiError::internal)?);
        }
        let mut out = Vec::with_capacity((positions.len() + fetched.len()) * 768 + 2);
        out.push(b'[');
        for (n, i) in positions.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let slot = &mut self.recent[*i];
            if let Some(json) = special.get(&slot.record.id) {
                out.extend_from_slice(json);
                continue;
            }
            if let Some(json) = slot.json(generation) {
                out.extend_from_slice(json);
                continue;
            }
            let start = out.len();
            render(&slot.record, &mut out)?;
            if slot.record.renders_alike_for_everyone() && !slot.record.shows_other_records() {
                slot.json = Some((generation, Bytes::copy_from_slice(&out[start..])));
            }
        }
        for (n, m) in fetched.iter().enumerate() {
            if n > 0 || !positions.is_empty() {
                out.push(b',');
            }
            match special.get(&m.id) {
                Some(json) => out.extend_from_slice(json),
                None => render(m, &mut out)?,
            }
        }
        out.push(b']');
        Ok(Bytes::from(out))
    }

    async fn edit(
        &mut self,
        user: UserId,
        id: MessageId,
        body: MessageEdit,
    ) -> Result<Value, ApiError> {
        let perms = self.view(user).await?;
        self.refuse_if_archived()?;
        let m = self.find(id).await?;
        if m.poll.is_some() && body.poll.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(poll::not_editable());
        }
        let own = m.author_id == user;
        if !own && (body.content.is_some() || body.embeds.is_some()) {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                50005,
                "cannot-edit-other-user-message",
            ));
        }
        if let Some(Some(embeds)) = &body.embeds {
            let mut errs = FieldErrors::default();
            check_embeds(embeds, &mut errs);
            errs.into_result()?;
        }
        if !own {
            require(perms, Permissions::MANAGE_MESSAGES)?;
        }
        let content_changed = body.content.is_some();
        let m = self.apply_edit(m, body).await?;
        if content_changed {
            let (u, r) = crate::model::mention::parse(&m.content);
            let hits = self.automod_hits(user, perms, &m.content, u.len() + r.len(), false);
            self.enforce(user, m.id, &m.content, hits)?;
        }
        // Rendered before the write starts, so a failed render leaves store and window alike.
        let v = self.render(&m, None).await?;
        let theirs = self.render(&m, Some(user)).await?;
        self.persist_changed(&m)?;
        self.replace_cached(&m);
        self.fanout_update(&m, &v);
        Ok(theirs)
    }

    /// A message with an edit applied (validated, mentions re-parsed, marked edited); not
    /// stored yet.
    async fn apply_edit(
        &self,
        mut m: MessageRecord,
        body: MessageEdit,
    ) -> Result<MessageRecord, ApiError> {
        let max = self.services.config.get().limits.message.max_characters as usize;
        if let Some(content) = body.content {
            let content = content.unwrap_or_default();
            if content.chars().count() > max {
                return Err(FieldErrors::single(
                    "content",
                    FieldError::MaxLength { max },
                ));
            }
            let (mentions, roles) = crate::model::mention::parse(&content);
            m.content = content;
            m.mentions = mentions;
            m.mention_roles = self.pinging_roles(m.author_id, roles).await?;
        }
        if let Some(embeds) = body.embeds {
            m.embeds = embeds.unwrap_or_default();
        }
        if let Some(flags) = body.flags {
            // Only SUPPRESS_EMBEDS is user-settable.
            m.flags = (m.flags & !(1 << 2)) | (flags & (1 << 2));
        }
        m.edited_timestamp = Some(Timestamp::now());
        Ok(m)
    }

    async fn delete(&mut self, user: UserId, id: MessageId) -> Result<(), ApiError> {
        let perms = self.view(user).await?;
        let m = self.find(id).await?;
        if m.author_id != user {
            if !self.in_guild() {
                return Err(ApiError::coded(
                    axum::http::StatusCode::FORBIDDEN,
                    50003,
                    "cannot-execute-on-dm",
                ));
            }
            require(perms, Permissions::MANAGE_MESSAGES)?;
        }
        self.remove_message(id).await
    }

    /// Deletes a stored message and tells everyone who sees the channel.
    async fn remove_message(&mut self, id: MessageId) -> Result<(), ApiError> {
        self.persist_deleted(&[id])?;
        self.recent.retain(|x| x.record.id != id);
        let mut data = json!({"id": id, "channel_id": self.channel.id});
        if let Some(g) = self.channel.guild_id {
            data["guild_id"] = json!(g);
        }
        self.fanout(Dispatch::new("MESSAGE_DELETE", &data, self.in_guild()));
        self.report_thread_deletions(&[id]);
        Ok(())
    }

    async fn bulk_delete(&mut self, user: UserId, mut ids: Vec<MessageId>) -> Result<(), ApiError> {
        let perms = self.view(user).await?;
        if !self.in_guild() {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                50003,
                "cannot-execute-on-dm",
            ));
        }
        require(perms, Permissions::MANAGE_MESSAGES)?;
        let config = self.services.config.get();
        ids.sort();
        ids.dedup();
        if ids.len() < 2 {
            return Err(FieldErrors::single(
                "messages",
                FieldError::MinLength { min: 2 },
            ));
        }
        if ids.len() > config.limits.message.max_bulk_delete as usize {
            let max = config.limits.message.max_bulk_delete as usize;
            return Err(FieldErrors::single(
                "messages",
                FieldError::MaxLength { max },
            ));
        }
        let oldest = Timestamp::now().millis()
            - i64::from(config.limits.message.bulk_delete_max_age_days) * 86_400_000;
        if ids
            .iter()
            .any(|id| (id.snowflake().timestamp_ms() as i64) < oldest)
        {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                50034,
                "too-many-messages-to-delete",
            ));
        }
        // A thread counts its messages: only those that existed lower the count.
        let mut existing = Vec::new();
        if self.channel.kind.is_thread() {
            for id in &ids {
                if self.find(*id).await.is_ok() {
                    existing.push(*id);
                }
            }
        }
        self.persist_deleted(&ids)?;
        self.recent.retain(|m| !ids.contains(&m.record.id));
        self.report_thread_deletions(&existing);
        let data =
            json!({"ids": ids, "channel_id": self.channel.id, "guild_id": self.channel.guild_id});
        self.fanout(Dispatch::new("MESSAGE_DELETE_BULK", &data, true));
        Ok(())
    }

    async fn typing(&mut self, user: UserId) -> Result<(), ApiError> {
        let perms = self.view(user).await?;
        require(perms, Permissions::SEND_MESSAGES)?;
        let mut data = json!({
            "channel_id": self.channel.id,
            "user_id": user,
            "timestamp": Timestamp::now().millis() / 1000,
        });
        if let Some(g) = self.channel.guild_id {
            data["guild_id"] = json!(g);
        }
        self.fanout(Dispatch::new("TYPING_START", &data, self.in_guild()));
        Ok(())
    }

    async fn react(
        &mut self,
        user: UserId,
        id: MessageId,
        emoji: String,
        add: bool,
        target: Option<UserId>,
    ) -> Result<(), ApiError> {
        let perms = self.view(user).await?;
        require(perms, Permissions::READ_MESSAGE_HISTORY)?;
        self.refuse_if_archived()?;
        let mut m = self.find(id).await?;
        let who = target.unwrap_or(user);
        if who != user {
            require(perms, Permissions::MANAGE_MESSAGES)?;
        }
        let existing = m.reactions.iter().position(|r| r.emoji == emoji);
        let changed = match (add, existing) {
            (true, Some(i)) => {
                let r = &mut m.reactions[i];
                if r.user_ids.contains(&who) {
                    false
                } else {
                    r.user_ids.push(who);
                    true
                }
            }
            (true, None) => {
                require(perms, Permissions::ADD_REACTIONS)?;
                let max = self.services.config.get().limits.message.max_reactions as usize;
                if m.reactions.len() >= max {
                    return Err(ApiError::coded(
                        axum::http::StatusCode::BAD_REQUEST,
                        30010,
                        "missing-permissions",
                    ));
                }
                m.reactions.push(ReactionRecord {
                    emoji: emoji.clone(),
                    user_ids: vec![who],
                });
                true
            }
            (false, Some(i)) => {
                let before = m.reactions[i].user_ids.len();
                m.reactions[i].user_ids.retain(|u| *u != who);
                let changed = m.reactions[i].user_ids.len() != before;
                if m.reactions[i].user_ids.is_empty() {
                    m.reactions.remove(i);
                }
                changed
            }
            (false, None) => false,
        };
        if !changed {
            return Ok(());
        }
        self.persist_unindexed(&m)?;
        self.replace_cached(&m);
        let mut data = json!({
            "user_id": who,
            "channel_id": self.channel.id,
            "message_id": id,
            "emoji": crate::model::message::emoji_json(&emoji),
            "burst": false,
            "type": 0,
        });
        if let Some(g) = self.channel.guild_id {
            data["guild_id"] = json!(g);
        }
        let name = if add {
            "MESSAGE_REACTION_ADD"
        } else {
            "MESSAGE_REACTION_REMOVE"
        };
        self.fanout(Dispatch::new(name, &data, self.in_guild()));
        Ok(())
    }

    async fn pin(&mut self, user: UserId, id: MessageId, pinned: bool) -> Result<(), ApiError> {
        let perms = self.view(user).await?;
        self.refuse_if_archived()?;
        if !perms.intersects(Permissions::PIN_MESSAGES | Permissions::MANAGE_MESSAGES) {
            return Err(ApiError::MissingPermissions);
        }
        let mut m = self.find(id).await?;
        if m.pinned == pinned {
            return Ok(());
        }
        if pinned {
            let max = self.services.config.get().limits.channel.max_pins as usize;
            let pins = self
                .services
                .store
                .messages_page(self.channel.id, MessagePage::Latest, 100)
                .await?;
            if pins.iter().filter(|p| p.pinned).count() >= max {
                return Err(ApiError::coded(
                    axum::http::StatusCode::BAD_REQUEST,
                    30003,
                    "max-pins-reached",
                ));
            }
        }
        m.pinned = pinned;
        self.persist_changed(&m)?;
        self.replace_cached(&m);
        let now = Timestamp::now();
        if pinned {
            self.channel.last_pin_timestamp = Some(now);
        }
        let mut data = json!({"channel_id": self.channel.id, "last_pin_timestamp": self.channel.last_pin_timestamp});
        if let Some(g) = self.channel.guild_id {
            data["guild_id"] = json!(g);
        }
        self.fanout(Dispatch::new("CHANNEL_PINS_UPDATE", &data, self.in_guild()));
        Ok(())
    }

    async fn list_pins(&mut self, user: UserId) -> Result<Value, ApiError> {
        let perms = self.view(user).await?;
        require(perms, Permissions::READ_MESSAGE_HISTORY)?;
        // Pins are found by walking history (bounded); a pin index in the store is future work.
        let mut out = Vec::new();
        let mut page = MessagePage::Latest;
        for _ in 0..50 {
            let batch = self
                .services
                .store
                .messages_page(self.channel.id, page, 100)
                .await?;
            for m in batch.iter().filter(|m| m.pinned) {
                out.push(self.render(m, Some(user)).await?);
            }
            match batch.last() {
                Some(last) if batch.len() == 100 => page = MessagePage::Before(last.id),
                _ => break,
            }
        }
        Ok(Value::Array(out))
    }
}

/// For DMs: whether a channel kind takes messages at all.
pub fn is_dm(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::Dm | ChannelKind::GroupDm)
}
