//! Cluster mode: gateway sessions on one node, guild actors on another (DESIGN §7).
//!
//! A session subscribes to a guild it cannot find here by sending a [`GuildCommand`] to the
//! guild's owner (`accord.node.<owner>.guild`, request/reply). The owner registers a
//! [`SessionHandle`] whose events go into a [`NodeRelay`] for the session's node instead of a
//! socket queue; the guild actor treats it like any local session — intents, VIEW_CHANNEL and
//! MESSAGE_CONTENT redaction are decided on the owner, where they are decided today, so a
//! permission revoked on the owner holds for every node's sessions by construction.
//!
//! The relay publishes each event **once per node** on `accord.node.<node>.events`: the
//! encoded payload and the (user, session key) pairs it is for. The receiving node hands the
//! same bytes to each of its sessions by key; keys whose session is gone are unsubscribed on
//! the owner.
//!
//! Wire format, versioned ([`VERSION`]): commands and replies are JSON; an event is one line
//! of JSON ([`EventMeta`]) then the payload bytes as the owner encoded them.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::guild::GuildMsg;
use super::sessions::{SessionHandle, SessionKey};
use super::subscriptions::Incarnation;
use super::{Services, mailbox};
use crate::cluster::Owned;
use crate::error::ApiError;
use crate::events::Dispatch;
use crate::gateway::intents::Intents;
use crate::id::{ChannelId, GuildId, UserId};

mod moves;
mod user_events;
mod users;

pub use user_events::UserInterest;
pub use users::UserCast;

/// The version of the commands and event frames this build speaks.
pub const VERSION: u16 = 1;

/// Events queued for one node before the relay drops (and counts) them: the relay publishes
/// without waiting for anyone, so this only fills if NATS itself stalls.
const RELAY_QUEUE: usize = 16_384;

/// Most events one relay publish pass groups.
const RELAY_BATCH: usize = 512;

pub fn commands_subject(node: &str) -> String {
    format!("accord.node.{node}.guild")
}

pub fn events_subject(node: &str) -> String {
    format!("accord.node.{node}.events")
}

/// Where every node hears of the polls armed on the others ([`PollArm`]).
pub const POLL_ARMS_SUBJECT: &str = "accord.cluster.poll_arms";

/// A poll armed on `from` (see `actors::polls`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PollArm {
    v: u16,
    from: String,
    expiry: crate::model::PollExpiry,
}

/// Where every node hears what a guild's owner asks of all nodes ([`GuildNotice`]).
pub const GUILD_NOTICES_SUBJECT: &str = "accord.cluster.guild_notices";

/// Most re-subscriptions one node sends at once after a guild started elsewhere.
const RESUBSCRIBE_CONCURRENCY: usize = 32;

/// How often a node tries to subscribe a session again to a guild that just started elsewhere
/// (the owner may refuse while its lease settles).
const RESUBSCRIBE_TRIES: u32 = 5;

/// What a guild's owner `from` tells every node.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GuildNotice {
    v: u16,
    from: String,
    guild: u64,
    /// The run of the guild's actor on `from`.
    incarnation: Incarnation,
    #[serde(flatten)]
    what: Notice,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
enum Notice {
    /// The guild's actor started: nodes whose sessions a previous run held subscribe them
    /// again there (see `actors::subscriptions`).
    Started,
    /// `user` joined the guild: nodes with sessions of that user subscribe them (the owner
    /// subscribes its own, as on a single node) and they get the GUILD_CREATE.
    Joined { user: u64 },
}

/// What a node asks of a guild's owner for its sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GuildCommand {
    /// Register session `key` (of `user`, on the sending node) with the guild; the reply is
    /// its GUILD_CREATE.
    Subscribe {
        guild: u64,
        user: u64,
        bot: bool,
        intents: u64,
        key: SessionKey,
    },
    /// The session ended (or is gone): stop sending it the guild's events.
    Unsubscribe { guild: u64, key: SessionKey },
    /// Op 3 from a member's session: its new presence (`GuildMsg::Presence`).
    Presence {
        guild: u64,
        user: u64,
        presence: Value,
    },
    /// Op 4 from a member's session: its voice state (`GuildMsg::VoiceState`).
    VoiceState {
        guild: u64,
        user: u64,
        session_id: String,
        state: Value,
    },
    /// A poll of `channel` (on this node's guild, or a DM channel it owns) is due: the poll
    /// clock of a node that does not own the channel hands it here (`ChannelMsg::PollDue`).
    PollDue { channel: u64, message: u64 },
    /// A member's user object changed (`GuildMsg::UserUpdated`).
    UserUpdated { guild: u64, user: u64 },
    /// A read a member's session makes of the guild (op 8 member pages, op 14/37 lists); the
    /// reply is [`CommandReply::Answer`].
    Query { guild: u64, query: GuildQuery },
    /// Start the guild's actor if it is not running: the guild moved here with a membership
    /// change and the sending node has sessions holding it (see `moves`). The reply is
    /// [`CommandReply::Awake`] once it runs.
    Wake { guild: u64 },
    /// For the actor of `user`, whose home is the receiving node (see `users`); an `Ack` is
    /// answered with [`CommandReply::Answer`].
    User { user: u64, cast: UserCast },
}

/// What a session on another node may read from a guild's actor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub enum GuildQuery {
    /// `GuildMsg::ListMembers`: a page of members in user-id order.
    ListMembers { user: u64, limit: usize, after: u64 },
    /// `GuildMsg::MemberList`: subscribes session `session` (its key on the asking node) to
    /// these ranges of these channels' member lists (`None`: keeps its channels); the owner
    /// sends the events through its hold.
    MemberList {
        user: u64,
        session: u64,
        #[serde(default)]
        channels: Option<Vec<(u64, Vec<[usize; 2]>)>>,
        /// The first channel and its ranges again, in the shape nodes before `channels` read
        /// (one channel per query): during a rolling upgrade an old owner still answers the
        /// first channel's list, and an old asker's query is still understood here. Built by
        /// [`GuildQuery::member_list`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ranges: Option<Vec<[usize; 2]>>,
        #[serde(default)]
        threads: bool,
    },
    /// `SoundMsg::List`: the guild's soundboard sounds (op 31).
    SoundboardSounds { user: u64 },
}

impl GuildQuery {
    /// [`GuildQuery::MemberList`] with the fields older nodes read filled in.
    pub fn member_list(
        user: u64,
        session: u64,
        channels: Option<Vec<(u64, Vec<[usize; 2]>)>>,
        threads: bool,
    ) -> Self {
        let first = channels.as_ref().and_then(|cs| cs.first().cloned());
        Self::MemberList {
            user,
            session,
            channel: first.as_ref().map(|(c, _)| *c),
            ranges: first.map(|(_, r)| r),
            channels,
            threads,
        }
    }

    /// Asks the guild's actor on this node.
    pub async fn ask(self, services: &Arc<Services>, guild: GuildId) -> Result<Value, ApiError> {
        let actor = services.guild(guild).await?;
        match self {
            GuildQuery::ListMembers { user, limit, after } => {
                super::ask(services, &actor, |reply| GuildMsg::ListMembers {
                    user: UserId::new(user),
                    limit,
                    after: UserId::new(after),
                    reply,
                })
                .await
            }
            GuildQuery::MemberList {
                user,
                session,
                channels,
                channel,
                ranges,
                threads,
            } => {
                // From an older node: one channel, in the old fields.
                let channels =
                    channels.or_else(|| channel.map(|c| vec![(c, ranges.unwrap_or_default())]));
                super::ask(services, &actor, |reply| GuildMsg::MemberList {
                    user: UserId::new(user),
                    session,
                    channels: channels.map(|cs| {
                        cs.into_iter()
                            .map(|(c, r)| (ChannelId::new(c), r))
                            .collect()
                    }),
                    threads,
                    reply,
                })
                .await
            }
            GuildQuery::SoundboardSounds { user } => {
                super::ask(services, &actor, |reply| {
                    GuildMsg::Sounds(super::guild::SoundMsg::List {
                        user: UserId::new(user),
                        reply,
                    })
                })
                .await
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CommandEnvelope {
    v: u16,
    from: String,
    command: GuildCommand,
}

/// The owner's answer to [`GuildCommand::Subscribe`] and [`GuildCommand::Query`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CommandReply {
    Subscribed {
        guild_create: Value,
        /// The run of the guild's actor that holds the session (a build without it is always
        /// treated as a previous run: its sessions are subscribed again at the next start).
        #[serde(default)]
        incarnation: Incarnation,
    },
    /// The user is not a member (or the guild is gone).
    NotMember,
    /// The owner does not run the guild right now (moving, fenced), or refused the query.
    Refused,
    /// A query's answer.
    Answer { value: Value },
    /// The guild's actor runs on the owner now ([`GuildCommand::Wake`]).
    Awake,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReplyEnvelope {
    v: u16,
    reply: CommandReply,
}

/// The first line of an event frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventMeta {
    v: u16,
    /// The owner that sent it (where a gone session is unsubscribed).
    from: String,
    guild: u64,
    name: String,
    /// (user id, session key) of every recipient on the receiving node.
    to: Vec<(u64, SessionKey)>,
}

/// Why a command got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("node {node}: {message}")]
    Nats { node: String, message: String },
    #[error("node {0} did not answer in time")]
    Timeout(String),
    #[error("unreadable reply: {0}")]
    Envelope(String),
}

/// One event (as one payload variant) for some sessions of one other node.
struct RelayItem {
    event: Arc<Dispatch>,
    guild: GuildId,
    data: Bytes,
    /// (user id, session key) of each recipient there.
    to: Vec<(u64, SessionKey)>,
}

impl RelayItem {
    /// Whether `other` carries the same event in the same payload variant (then one frame
    /// serves both).
    fn same_payload(&self, other: &RelayItem) -> bool {
        Arc::ptr_eq(&self.event, &other.event) && self.data.as_ptr() == other.data.as_ptr()
    }
}

/// Remote deliveries waiting for the end of a fan-out: per relay, one item per payload variant.
type Staged = Vec<(Arc<NodeRelay>, RelayItem)>;

thread_local! {
    /// Inside [`fan_out`]: the remote deliveries of the event being fanned out, gathered per
    /// node (relay) and payload variant until the fan-out ends.
    static STAGED: RefCell<Option<Staged>> = const { RefCell::new(None) };
}

/// Runs one fan-out (`deliver` to many sessions). The remote sessions it reaches are sent to
/// their node as one item with all their keys, so each node gets the event once — not once per
/// session, and not split by when its relay task happens to wake between two sessions (the
/// grouping in `run_relay` alone depended on that). A fan-out is synchronous, so the staging
/// lives in a thread-local; a nested call joins the outer one.
pub fn fan_out<R>(deliver: impl FnOnce() -> R) -> R {
    if STAGED.with(|s| s.borrow().is_some()) {
        return deliver();
    }
    STAGED.with(|s| *s.borrow_mut() = Some(Vec::new()));
    // Flushed on drop, so a panicking fan-out does not leave this thread staging for ever.
    struct Flush;
    impl Drop for Flush {
        fn drop(&mut self) {
            let staged = STAGED.with(|s| s.borrow_mut().take()).unwrap_or_default();
            for (relay, item) in staged {
                relay.send(item);
            }
        }
    }
    let _flush = Flush;
    deliver()
}

/// The queue of events a guild owner sends to one other node.
#[derive(Debug)]
pub struct NodeRelay {
    tx: mpsc::Sender<RelayItem>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for RelayItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayItem")
            .field("event", &self.event.name)
            .field("to", &self.to)
            .finish()
    }
}

impl NodeRelay {
    /// Queues `data` (the event's bytes as this session may see them) of `guild`'s event for
    /// session `key` of `user` — staged with the other sessions of its node inside
    /// [`fan_out`], else sent at once. False once the relay is gone.
    pub fn push(
        self: &Arc<Self>,
        event: &Arc<Dispatch>,
        guild: GuildId,
        data: Bytes,
        user: UserId,
        key: SessionKey,
    ) -> bool {
        if self.is_closed() {
            return false;
        }
        let item = RelayItem {
            event: event.clone(),
            guild,
            data,
            to: vec![(user.get(), key)],
        };
        let item = STAGED.with(|s| {
            let mut staged = s.borrow_mut();
            let Some(staged) = staged.as_mut() else {
                return Some(item);
            };
            match staged
                .iter_mut()
                .find(|(r, i)| Arc::ptr_eq(r, self) && i.same_payload(&item))
            {
                Some((_, i)) => i.to.extend(item.to),
                None => staged.push((self.clone(), item)),
            }
            None
        });
        if let Some(item) = item {
            self.send(item);
        }
        true
    }

    /// Hands `item` to the relay task; a full queue drops it (counted, warned about).
    fn send(&self, item: RelayItem) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(item)
            && self
                .dropped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1024)
        {
            tracing::warn!("relay queue full: events dropped");
        }
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// This node's side of remote sessions: the relays to other nodes (as an owner) and the
/// NATS client (as a session's node).
pub struct Remote {
    client: async_nats::Client,
    node: String,
    relays: DashMap<String, Arc<NodeRelay>>,
    /// User-scoped events for the other nodes, published in order by one task.
    user_events: mpsc::Sender<(UserId, Bytes)>,
    /// This node's subscriptions to the subjects of the users it holds sessions of.
    user_interest: UserInterest,
    stop: watch::Receiver<bool>,
}

impl Remote {
    /// Starts answering commands and receiving events for this node until `stop`. Returns
    /// once both subscriptions are in place, so no command sent after this node joined finds
    /// nobody listening.
    pub async fn start(
        services: &Arc<Services>,
        client: async_nats::Client,
        node: String,
        stop: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, RemoteError> {
        let subscribe = |subject: String| {
            let client = client.clone();
            let node = node.clone();
            async move {
                client
                    .subscribe(subject)
                    .await
                    .map_err(|e| RemoteError::Nats {
                        node,
                        message: e.to_string(),
                    })
            }
        };
        let commands = subscribe(commands_subject(&node)).await?;
        let events = subscribe(events_subject(&node)).await?;
        let notices = subscribe(GUILD_NOTICES_SUBJECT.to_string()).await?;
        let poll_arms = subscribe(POLL_ARMS_SUBJECT.to_string()).await?;
        let (user_events, outgoing) = mpsc::channel(RELAY_QUEUE);
        tokio::spawn(user_events::publish(client.clone(), outgoing, stop.clone()));
        let remote = Arc::new(Self {
            client,
            node,
            relays: DashMap::new(),
            user_events,
            user_interest: UserInterest::default(),
            stop,
        });
        let relay = Arc::downgrade(&remote);
        services.sessions.relay_users_beyond(move |user, event| {
            if let Some(remote) = relay.upgrade() {
                remote.send_user_event(user, event);
            }
        });
        let (on_arrival, on_departure) = (Arc::downgrade(&remote), Arc::downgrade(&remote));
        let weak_services = Arc::downgrade(services);
        services.sessions.track_users_here(
            move |user| {
                if let Some(remote) = on_arrival.upgrade() {
                    remote
                        .user_interest
                        .arrive(weak_services.clone(), on_arrival.clone(), user);
                }
            },
            move |user| {
                if let Some(remote) = on_departure.upgrade() {
                    remote.user_interest.leave(user);
                }
            },
        );
        spawn_user_interest_cleanup(Arc::downgrade(&remote), remote.stop.clone());
        let (client, from) = (remote.client.clone(), remote.node.clone());
        services.polls.announce_arms(move |expiry| {
            let arm = PollArm {
                v: VERSION,
                from: from.clone(),
                expiry: expiry.clone(),
            };
            let Ok(payload) = serde_json::to_vec(&arm) else {
                return;
            };
            let client = client.clone();
            tokio::spawn(async move {
                if let Err(e) = client.publish(POLL_ARMS_SUBJECT, payload.into()).await {
                    tracing::warn!(error = %e, "poll arm not announced");
                }
            });
        });
        spawn_poll_arms(Arc::downgrade(services), remote.clone(), poll_arms);
        spawn_commands(Arc::downgrade(services), remote.clone(), commands);
        spawn_events(Arc::downgrade(services), remote.clone(), events);
        spawn_guild_notices(Arc::downgrade(services), remote.clone(), notices);
        if let Some(ownership) = services.ownership.get() {
            moves::spawn(Arc::downgrade(services), remote.clone(), ownership.clone());
        }
        Ok(remote)
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The users whose events this node hears (see `user_events`).
    pub fn user_interest(&self) -> &UserInterest {
        &self.user_interest
    }

    /// The relay to `node`, started on first use.
    fn relay(&self, node: &str) -> Arc<NodeRelay> {
        if let Some(r) = self.relays.get(node) {
            return r.clone();
        }
        self.relays
            .entry(node.to_string())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::channel(RELAY_QUEUE);
                tokio::spawn(run_relay(
                    self.client.clone(),
                    self.node.clone(),
                    node.to_string(),
                    rx,
                    self.stop.clone(),
                ));
                Arc::new(NodeRelay {
                    tx,
                    dropped: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// Subscribes this node's session `handle` to `guild` on its owner `owner`.
    pub async fn subscribe(
        &self,
        owner: &str,
        guild: GuildId,
        handle: &SessionHandle,
        timeout: Duration,
    ) -> Result<CommandReply, RemoteError> {
        let command = GuildCommand::Subscribe {
            guild: guild.get(),
            user: handle.user_id.get(),
            bot: handle.bot,
            intents: handle.intents.bits(),
            key: handle.key,
        };
        self.request(owner, command, timeout).await
    }

    /// Asks `owner` for `query` of `guild`: its answer, or `None` when refused.
    pub async fn query(
        &self,
        owner: &str,
        guild: GuildId,
        query: GuildQuery,
        timeout: Duration,
    ) -> Result<Option<Value>, RemoteError> {
        let command = GuildCommand::Query {
            guild: guild.get(),
            query,
        };
        Ok(match self.request(owner, command, timeout).await? {
            CommandReply::Answer { value } => Some(value),
            _ => None,
        })
    }

    /// Sends `command` to `owner` and waits (at most `timeout`) for its reply.
    pub(crate) async fn request(
        &self,
        owner: &str,
        command: GuildCommand,
        timeout: Duration,
    ) -> Result<CommandReply, RemoteError> {
        let envelope = CommandEnvelope {
            v: VERSION,
            from: self.node.clone(),
            command,
        };
        let payload =
            serde_json::to_vec(&envelope).map_err(|e| RemoteError::Envelope(e.to_string()))?;
        let reply = tokio::time::timeout(
            timeout,
            self.client.request(commands_subject(owner), payload.into()),
        )
        .await
        .map_err(|_| RemoteError::Timeout(owner.into()))?
        .map_err(|e| RemoteError::Nats {
            node: owner.into(),
            message: e.to_string(),
        })?;
        let reply: ReplyEnvelope = serde_json::from_slice(&reply.payload)
            .map_err(|e| RemoteError::Envelope(e.to_string()))?;
        if reply.v != VERSION {
            return Err(RemoteError::Envelope(format!("version {}", reply.v)));
        }
        Ok(reply.reply)
    }

    /// Tells every node that `guild`'s actor started here as run `incarnation` (fire and
    /// forget: a node that misses it keeps its sessions on the previous run until the next).
    pub fn announce_start(&self, guild: GuildId, incarnation: Incarnation) {
        self.notify(guild, incarnation, Notice::Started);
    }

    /// Tells every node that `user` joined `guild` (run `incarnation` here), so that the
    /// user's sessions there subscribe to it.
    pub fn announce_join(&self, guild: GuildId, incarnation: Incarnation, user: UserId) {
        self.notify(guild, incarnation, Notice::Joined { user: user.get() });
    }

    fn notify(&self, guild: GuildId, incarnation: Incarnation, what: Notice) {
        let notice = GuildNotice {
            v: VERSION,
            from: self.node.clone(),
            guild: guild.get(),
            incarnation,
            what,
        };
        let Ok(payload) = serde_json::to_vec(&notice) else {
            return;
        };
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.publish(GUILD_NOTICES_SUBJECT, payload.into()).await {
                tracing::warn!(error = %e, "guild notice not sent");
            }
        });
    }

    /// Tells `owner` that session `key` no longer wants `guild`'s events (fire and forget: a
    /// lost message leaves a handle the next event cleans up).
    pub fn unsubscribe(&self, owner: &str, guild: GuildId, key: SessionKey) {
        self.tell(
            owner,
            GuildCommand::Unsubscribe {
                guild: guild.get(),
                key,
            },
        );
    }

    /// Sends `command` to `owner` without waiting for an answer (what a local session does
    /// with `tell`: presence and voice-state updates, unsubscribes).
    pub fn tell(&self, owner: &str, command: GuildCommand) {
        let envelope = CommandEnvelope {
            v: VERSION,
            from: self.node.clone(),
            command,
        };
        let Ok(payload) = serde_json::to_vec(&envelope) else {
            return;
        };
        let (client, subject) = (self.client.clone(), commands_subject(owner));
        tokio::spawn(async move {
            if let Err(e) = client.publish(subject, payload.into()).await {
                tracing::debug!(error = %e, "unsubscribe not sent");
            }
        });
    }
}

/// The key under which the owner holds a remote session: unique on the owner however many
/// nodes number their sessions from 1 (their keys would collide with local ones).
fn owner_side_key(node: &str, key: SessionKey) -> SessionKey {
    let node_bits = crate::cluster::placement::weight(0, node);
    (1 << 63) | ((node_bits ^ key.wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 1)
}

impl Services {
    /// Tells every guild of `user` whose actor runs (here or on its owner) that the user
    /// object changed; a guild whose actor is not running has no session to tell.
    pub async fn user_updated_in_guilds(&self, user: UserId) -> Result<(), ApiError> {
        for guild in self.store.guilds_of_user(user).await? {
            if let Some(actor) = self.registry.running_guild(guild) {
                let _ = super::tell(&actor, GuildMsg::UserUpdated(user));
            } else if let (Some(owner), Some(remote)) = (
                self.remote_owner(Owned::Guild(guild.get())),
                self.remote.get(),
            ) {
                let command = GuildCommand::UserUpdated {
                    guild: guild.get(),
                    user: user.get(),
                };
                remote.tell(&owner, command);
            }
        }
        Ok(())
    }

    /// The node that owns `what` when it is not this one (cluster mode), else `None`.
    pub fn remote_owner(&self, what: Owned) -> Option<String> {
        let ownership = self.ownership.get()?;
        let owner = ownership.owner_of(what).ok()?;
        (owner != ownership.node()).then_some(owner)
    }
}

/// Answers [`GuildCommand`]s sent to this node.
fn spawn_commands(
    services: std::sync::Weak<Services>,
    remote: Arc<Remote>,
    mut commands: async_nats::Subscriber,
) {
    tokio::spawn(async move {
        let mut stop = remote.stop.clone();
        loop {
            let message = tokio::select! {
                _ = stop.changed() => break,
                m = commands.next() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            let Some(services) = services.upgrade() else {
                break;
            };
            let remote = remote.clone();
            tokio::spawn(async move {
                let envelope: CommandEnvelope = match serde_json::from_slice(&message.payload) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable guild command");
                        return;
                    }
                };
                let reply = if envelope.v == VERSION {
                    handle_command(&services, &remote, envelope.from, envelope.command).await
                } else {
                    Some(CommandReply::Refused)
                };
                if let (Some(reply), Some(to)) = (reply, message.reply) {
                    let envelope = ReplyEnvelope { v: VERSION, reply };
                    if let Ok(bytes) = serde_json::to_vec(&envelope) {
                        let _ = remote.client.publish(to, bytes.into()).await;
                    }
                }
            });
        }
    });
}

async fn handle_command(
    services: &Arc<Services>,
    remote: &Remote,
    from: String,
    command: GuildCommand,
) -> Option<CommandReply> {
    match command {
        GuildCommand::User { user, cast } => {
            let answer = services.cast_user_here(UserId::new(user), cast).await;
            Some(match answer {
                Ok(Some(value)) => CommandReply::Answer { value },
                Ok(None) => CommandReply::Awake,
                Err(e) => {
                    tracing::debug!(user, error = ?e, "user cast refused");
                    CommandReply::Refused
                }
            })
        }
        GuildCommand::Wake { guild } => Some(match services.guild(GuildId::new(guild)).await {
            Ok(_) => CommandReply::Awake,
            Err(_) => CommandReply::Refused,
        }),
        GuildCommand::Subscribe {
            guild,
            user,
            bot,
            intents,
            key,
        } => {
            let Ok(actor) = services.guild(GuildId::new(guild)).await else {
                return Some(CommandReply::Refused);
            };
            let handle = SessionHandle::remote(
                owner_side_key(&from, key),
                key,
                GuildId::new(guild),
                UserId::new(user),
                bot,
                Intents::from_bits_truncate(intents),
                remote.relay(&from),
            );
            let subscribed = mailbox::call(
                &actor,
                |port| GuildMsg::Subscribe(handle, port),
                Some(services.call_timeout()),
            )
            .await;
            Some(match subscribed {
                Ok(ractor::rpc::CallResult::Success(Some(s))) => CommandReply::Subscribed {
                    guild_create: s.guild_create,
                    incarnation: s.incarnation,
                },
                Ok(ractor::rpc::CallResult::Success(None)) => CommandReply::NotMember,
                _ => CommandReply::Refused,
            })
        }
        GuildCommand::Presence {
            guild,
            user,
            presence,
        } => {
            if let Some(actor) = services.registry.running_guild(GuildId::new(guild)) {
                let user = UserId::new(user);
                let _ = super::tell(&actor, GuildMsg::Presence { user, presence });
            }
            None
        }
        GuildCommand::VoiceState {
            guild,
            user,
            session_id,
            state,
        } => {
            if let Some(actor) = services.registry.running_guild(GuildId::new(guild)) {
                let user = UserId::new(user);
                let _ = super::tell(
                    &actor,
                    GuildMsg::VoiceState {
                        user,
                        session_id,
                        state,
                    },
                );
            }
            None
        }
        GuildCommand::PollDue { channel, message } => {
            let channel = crate::id::ChannelId::new(channel);
            match services.channel(channel).await {
                Ok(actor) => {
                    let id = crate::id::MessageId::new(message);
                    let _ = super::tell(&actor, super::channel::ChannelMsg::PollDue { id });
                }
                Err(e) => tracing::warn!(error = %e, %channel, "poll end handed over but not ours"),
            }
            None
        }
        GuildCommand::UserUpdated { guild, user } => {
            if let Some(actor) = services.registry.running_guild(GuildId::new(guild)) {
                let _ = super::tell(&actor, GuildMsg::UserUpdated(UserId::new(user)));
            }
            None
        }
        GuildCommand::Query { guild, query } => {
            Some(match query.ask(services, GuildId::new(guild)).await {
                Ok(value) => CommandReply::Answer { value },
                Err(e) => {
                    tracing::debug!(error = %e, guild, "remote guild query refused");
                    CommandReply::Refused
                }
            })
        }
        GuildCommand::Unsubscribe { guild, key } => {
            if let Some(actor) = services.registry.running_guild(GuildId::new(guild)) {
                let _ = super::tell(&actor, GuildMsg::Unsubscribe(owner_side_key(&from, key)));
            }
            None
        }
    }
}

/// Publishes queued events to `target`, one message per event and payload variant, with all
/// the keys it is for — in queue order, so each session sees its events in order.
async fn run_relay(
    client: async_nats::Client,
    from: String,
    target: String,
    mut rx: mpsc::Receiver<RelayItem>,
    mut stop: watch::Receiver<bool>,
) {
    let subject = events_subject(&target);
    let mut batch = Vec::with_capacity(RELAY_BATCH);
    loop {
        let n = tokio::select! {
            _ = stop.changed() => break,
            n = rx.recv_many(&mut batch, RELAY_BATCH) => n,
        };
        if n == 0 {
            break;
        }
        // Adjacent items of the same event and payload (fan-outs outside `fan_out`) still
        // share a frame.
        let mut groups: Vec<RelayItem> = Vec::new();
        for item in batch.drain(..) {
            match groups.last_mut() {
                Some(last) if last.same_payload(&item) => last.to.extend(item.to),
                _ => groups.push(item),
            }
        }
        for RelayItem {
            event,
            guild,
            data,
            to,
        } in groups
        {
            let meta = EventMeta {
                v: VERSION,
                from: from.clone(),
                guild: guild.get(),
                name: event.name.to_string(),
                to,
            };
            let Ok(mut frame) = serde_json::to_vec(&meta) else {
                continue;
            };
            frame.push(b'\n');
            frame.extend_from_slice(&data);
            if let Err(e) = client.publish(subject.clone(), frame.into()).await {
                tracing::warn!(error = %e, node = %target, "relay publish failed");
            }
        }
    }
}

/// Delivers the events other nodes relay to this node's sessions.
fn spawn_events(
    services: std::sync::Weak<Services>,
    remote: Arc<Remote>,
    mut events: async_nats::Subscriber,
) {
    tokio::spawn(async move {
        let mut stop = remote.stop.clone();
        loop {
            let message = tokio::select! {
                _ = stop.changed() => break,
                m = events.next() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            let Some(services) = services.upgrade() else {
                break;
            };
            deliver_frame(&services, &remote, message.payload);
        }
    });
}

/// Acts on other nodes' [`GuildNotice`]s: subscribes this node's sessions to their guilds.
fn spawn_guild_notices(
    services: std::sync::Weak<Services>,
    remote: Arc<Remote>,
    mut notices: async_nats::Subscriber,
) {
    tokio::spawn(async move {
        let mut stop = remote.stop.clone();
        loop {
            let message = tokio::select! {
                _ = stop.changed() => break,
                m = notices.next() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            let notice: GuildNotice = match serde_json::from_slice(&message.payload) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable guild notice");
                    continue;
                }
            };
            // The owner subscribed its own sessions itself.
            if notice.v != VERSION || notice.from == remote.node {
                continue;
            }
            let Some(services) = services.upgrade() else {
                break;
            };
            let remote = remote.clone();
            tokio::spawn(
                async move { resubscribe(&services, &remote, notice).await }
                    .instrument(tracing::debug_span!("guild_notice")),
            );
        }
    });
}

/// Subscribes this node's sessions the notice is about to the guild's run on its owner: after
/// a start, those a previous run held (GUILD_DELETE `unavailable` first, as after an outage);
/// after a join, the joining user's. Each gets the GUILD_CREATE.
async fn resubscribe(services: &Services, remote: &Remote, notice: GuildNotice) {
    let guild = GuildId::new(notice.guild);
    let subscriptions = &services.sessions.subscriptions;
    let (sessions, outage) = match notice.what {
        Notice::Started => (subscriptions.stale(guild, notice.incarnation), true),
        Notice::Joined { user } => {
            let user = UserId::new(user);
            let sessions = services.sessions.sessions_of(user);
            (sessions.iter().map(|s| (user, s.key)).collect(), false)
        }
    };
    if sessions.is_empty() {
        return;
    }
    let again = AtomicU64::new(0);
    futures::stream::iter(sessions)
        .for_each_concurrent(RESUBSCRIBE_CONCURRENCY, |(user, key)| {
            let (again, owner) = (&again, notice.from.as_str());
            async move {
                let Some(session) = services.sessions.get(user, key) else {
                    subscriptions.forget(guild, key);
                    return;
                };
                if outage && !deliver_if_wanted(&session, &super::guild::unavailable(guild)) {
                    return;
                }
                for attempt in 0..RESUBSCRIBE_TRIES {
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    }
                    match remote
                        .subscribe(owner, guild, &session, services.call_timeout())
                        .await
                    {
                        Ok(CommandReply::Subscribed {
                            guild_create,
                            incarnation,
                        }) => {
                            subscriptions.record(guild, user, key, incarnation);
                            let created = Dispatch::new("GUILD_CREATE", &guild_create, true);
                            deliver_if_wanted(&session, &created);
                            again.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        Ok(CommandReply::NotMember) => {
                            subscriptions.forget(guild, key);
                            let gone = serde_json::json!({"id": guild});
                            deliver_if_wanted(
                                &session,
                                &Dispatch::new("GUILD_DELETE", &gone, true),
                            );
                            return;
                        }
                        Ok(CommandReply::Refused | CommandReply::Answer { .. } | CommandReply::Awake) => {}
                        Err(e) => tracing::debug!(error = %e, "re-subscription failed"),
                    }
                }
                tracing::warn!(%guild, owner, "session could not be subscribed again; the guild stays unavailable to it");
            }
        })
        .await;
    tracing::info!(%guild, owner = %notice.from, sessions = again.load(Ordering::Relaxed), outage, "sessions here subscribed to a guild owned elsewhere");
}

/// Arms here the polls other nodes armed.
fn spawn_poll_arms(
    services: std::sync::Weak<Services>,
    remote: Arc<Remote>,
    mut arms: async_nats::Subscriber,
) {
    tokio::spawn(async move {
        let mut stop = remote.stop.clone();
        loop {
            let message = tokio::select! {
                _ = stop.changed() => break,
                m = arms.next() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            let Some(services) = services.upgrade() else {
                break;
            };
            match serde_json::from_slice::<PollArm>(&message.payload) {
                Ok(arm) if arm.v == VERSION && arm.from != remote.node => {
                    services.polls.arm_here(arm.expiry);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "unreadable poll arm"),
            }
        }
    });
}

/// Unsubscribes from every user's subject when the node stops.
fn spawn_user_interest_cleanup(remote: std::sync::Weak<Remote>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
        if let Some(remote) = remote.upgrade() {
            remote.user_interest.clear();
        }
    });
}

/// Delivers `event` when the session's intents want it; false only when the session is gone.
fn deliver_if_wanted(session: &SessionHandle, event: &Arc<Dispatch>) -> bool {
    !session.wants(event) || session.deliver(event)
}

/// A frame's first line as its `M`, and the payload bytes after it (`None`, logged, when the
/// line is not one: `what` names the frame's kind).
fn read_frame<M: serde::de::DeserializeOwned>(frame: &Bytes, what: &str) -> Option<(M, Bytes)> {
    let split = frame.iter().position(|b| *b == b'\n')?;
    match serde_json::from_slice(&frame[..split]) {
        Ok(meta) => Some((meta, frame.slice(split + 1..))),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable {what}");
            None
        }
    }
}

fn deliver_frame(services: &Services, remote: &Remote, frame: Bytes) {
    let Some((meta, payload)) = read_frame::<EventMeta>(&frame, "relayed event") else {
        return;
    };
    if meta.v != VERSION {
        tracing::warn!(v = meta.v, "relayed event of another version dropped");
        return;
    }
    let Some(name) = event_name(&meta.name) else {
        return;
    };
    // Already filtered on the owner: delivered as is.
    let event = Arc::new(Dispatch {
        name,
        data: payload,
        intent: None,
        redacted: None,
    });
    for (user, key) in meta.to {
        if !services.sessions.deliver_to(UserId::new(user), key, &event) {
            remote.unsubscribe(&meta.from, GuildId::new(meta.guild), key);
        }
    }
}

/// The static name of a relayed event. Gateway event names are a small fixed set, so each
/// distinct name is interned once; anything that does not look like one is refused.
fn event_name(name: &str) -> Option<&'static str> {
    static NAMES: std::sync::OnceLock<DashMap<String, &'static str>> = std::sync::OnceLock::new();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    if !valid {
        return None;
    }
    let names = NAMES.get_or_init(DashMap::new);
    if let Some(n) = names.get(name) {
        return Some(*n);
    }
    Some(
        *names
            .entry(name.to_string())
            .or_insert_with(|| Box::leak(name.to_string().into_boxed_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay() -> (Arc<NodeRelay>, mpsc::Receiver<RelayItem>) {
        let (tx, rx) = mpsc::channel(16);
        let relay = Arc::new(NodeRelay {
            tx,
            dropped: AtomicU64::new(0),
        });
        (relay, rx)
    }

    #[test]
    fn a_fan_out_sends_each_node_one_item_per_payload() {
        let (to_n2, mut n2) = relay();
        let (to_n3, mut n3) = relay();
        let event = Dispatch::new(
            "MESSAGE_CREATE",
            &serde_json::json!({"content": "hi"}),
            true,
        );
        let redacted = Bytes::from_static(b"{\"content\":\"\"}");
        let (guild, data) = (GuildId::new(1), event.data.clone());
        fan_out(|| {
            for key in 1..=3 {
                assert!(to_n2.push(&event, guild, data.clone(), UserId::new(key), key));
            }
            assert!(to_n3.push(&event, guild, data.clone(), UserId::new(9), 9));
            // Another payload variant of the same event (MESSAGE_CONTENT redacted) is its own
            // frame; a nested fan-out joins this one.
            fan_out(|| assert!(to_n3.push(&event, guild, redacted.clone(), UserId::new(8), 8)));
            assert!(
                n2.try_recv().is_err(),
                "nothing leaves before the fan-out ends"
            );
        });
        let item = n2.try_recv().expect("one item for n2");
        assert_eq!(item.to, vec![(1, 1), (2, 2), (3, 3)]);
        assert!(n2.try_recv().is_err());
        assert_eq!(n3.try_recv().expect("full payload").to, vec![(9, 9)]);
        assert_eq!(n3.try_recv().expect("redacted payload").to, vec![(8, 8)]);

        // Outside a fan-out every push is sent at once.
        assert!(to_n2.push(&event, guild, data.clone(), UserId::new(1), 1));
        assert_eq!(n2.try_recv().expect("sent at once").to, vec![(1, 1)]);
        // A gone relay says so.
        drop(n2);
        assert!(!to_n2.push(&event, guild, data, UserId::new(1), 1));
    }

    #[test]
    fn member_list_queries_read_across_versions() {
        // What this version sends carries the old single-channel fields too.
        let q = GuildQuery::member_list(7, 9, Some(vec![(5, vec![[0, 99]]), (6, vec![])]), true);
        let wire = serde_json::to_value(&q).unwrap();
        assert_eq!(wire["channel"], 5);
        assert_eq!(wire["ranges"], serde_json::json!([[0, 99]]));
        assert_eq!(wire["channels"][1][0], 6);
        // What an older node sends (no `channels`) is read as its one channel.
        let old = serde_json::json!({
            "query": "member_list", "user": 7, "session": 9, "channel": 5, "ranges": [[0, 99]]
        });
        match serde_json::from_value::<GuildQuery>(old).unwrap() {
            GuildQuery::MemberList {
                channels: None,
                channel: Some(5),
                ranges: Some(r),
                ..
            } => assert_eq!(r, vec![[0, 99]]),
            other => panic!("{other:?}"),
        }
        // Flags only: no channel either way.
        let flags = GuildQuery::member_list(7, 9, None, true);
        let wire = serde_json::to_value(&flags).unwrap();
        assert!(wire.get("channel").is_none());
    }
}
