//! `UserActor`: owns one user's relationships, client settings, read states and connected
//! accounts, and sends the user-scoped events about them (RELATIONSHIP_ADD/REMOVE,
//! USER_SETTINGS_UPDATE, MESSAGE_ACK, USER_CONNECTIONS_UPDATE) to that user's sessions.
//!
//! A relationship has two sides, each owned by its user's actor: a friend request is `Outgoing`
//! on the sender's side and `Incoming` on the receiver's. The actor that acts changes its own side
//! (persisted, then announced), then *casts* a [`PeerChange`] to the other user's actor, which
//! applies the mirrored change to its side. User actors never await another user actor (two users
//! befriending each other at the same moment would deadlock) nor a guild or channel actor; channel
//! actors may ask them (`Relationship`, for the DM block check). What the acting side must know of
//! the other side before acting ("has the target blocked me?") it reads from the store, where the
//! other actor persisted it before acknowledging.
//!
//! Idle user actors (no request for `actors.idle_passivate_secs` and no live session) stop; the
//! next request spawns a fresh one from the store.

mod connections;

pub use connections::ConnectionPatch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::{Map, Value, json};
use tracing::Instrument;

use super::{Reply, Services, ask, reply};
use crate::cluster::Owned;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{ChannelId, MessageId, UserId};
use crate::model::{
    ConnectedAccountRecord, ReadStateRecord, RelationshipKind, RelationshipRecord, UserConsent,
    UserRecord, UserSettings,
};
use crate::store::stamp;

pub enum UserMsg {
    /// READY's `relationships`, `user_settings` and `read_state`.
    Ready(RpcReplyPort<ReadyParts>),
    /// `GET /users/@me/relationships`.
    Relationships(Reply<Value>),
    /// `PUT /users/@me/relationships/{id}` (and POST by username): `Friend` sends a friend
    /// request or accepts the one received; `Blocked` blocks.
    Relate {
        target: UserId,
        kind: RelationshipKind,
        reply: Reply<()>,
    },
    /// `DELETE /users/@me/relationships/{id}`: unfriend, cancel, decline or unblock.
    Unrelate { target: UserId, reply: Reply<()> },
    /// From the other user's actor: it changed its side of the relationship with this user.
    Peer { from: UserId, change: PeerChange },
    /// This user's relationship to `other` (the DM block check, profile visibility).
    Relationship {
        other: UserId,
        reply: Reply<Option<RelationshipKind>>,
    },
    /// `GET /users/@me/settings`.
    Settings(Reply<Value>),
    /// `PATCH /users/@me/settings`: top-level keys of the settings object; unknown keys are
    /// ignored, `null` leaves a field alone (except `custom_status`, which it clears).
    UpdateSettings {
        patch: Map<String, Value>,
        reply: Reply<Value>,
    },
    /// `GET /users/@me/consent`.
    Consent(Reply<UserConsent>),
    /// `POST /users/@me/consent`: consent types to grant and to revoke (revoke wins when a
    /// type is in both, as it is applied last).
    UpdateConsent {
        grant: Vec<String>,
        revoke: Vec<String>,
        reply: Reply<UserConsent>,
    },
    /// `POST /channels/{id}/messages/{id}/ack` (the route checked that the user sees the channel).
    Ack {
        channel: ChannelId,
        message: MessageId,
        mention_count: Option<u32>,
        reply: Reply<Value>,
    },
    /// A message in `channel` mentioned this user (or was a DM to them): the channel's unread
    /// mention count goes up, unless the user already read past it.
    Mentioned {
        channel: ChannelId,
        message: MessageId,
    },
    /// `GET /users/@me/connections`: every connected account (the owner's view).
    Connections(Reply<Value>),
    /// The connected accounts others may see (profile `connected_accounts`).
    PublicConnections(Reply<Value>),
    /// `POST /connections/{type}/callback`, after the provider's OAuth2 exchange succeeded.
    LinkConnection {
        account: Box<ConnectedAccountRecord>,
        reply: Reply<Value>,
    },
    /// `PATCH /users/@me/connections/{type}/{id}`.
    UpdateConnection {
        kind: String,
        id: String,
        patch: ConnectionPatch,
        reply: Reply<Value>,
    },
    /// `DELETE /users/@me/connections/{type}/{id}`.
    RemoveConnection {
        kind: String,
        id: String,
        reply: Reply<()>,
    },
    /// Timer: stop when idle.
    Tick,
}

impl super::mailbox::Counted for UserMsg {
    const KIND: super::mailbox::Kind = super::mailbox::Kind::User;
}

/// What the other side of a relationship did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerChange {
    /// Sent this user a friend request.
    Requested,
    /// Accepted this user's friend request (or both requested at once).
    Accepted,
    /// Removed the friendship or the pending request.
    Removed,
    /// Blocked this user.
    Blocked,
}

/// The user parts of READY.
#[derive(Debug, Clone)]
pub struct ReadyParts {
    pub relationships: Value,
    pub user_settings: Value,
    pub read_state: Value,
}

/// Everything a user actor loads from the store before it starts.
pub struct UserState {
    pub user: Arc<UserRecord>,
    pub relationships: Vec<RelationshipRecord>,
    pub settings: Option<UserSettings>,
    pub read_states: Vec<ReadStateRecord>,
    pub connections: Vec<ConnectedAccountRecord>,
}

/// Loads a user's state; `Unknown User` when the account doesn't exist.
pub async fn load(services: &Services, id: UserId) -> Result<UserState, ApiError> {
    let user = services
        .users
        .get(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    let store = &services.store;
    let (relationships, settings, read_states, connections) = tokio::try_join!(
        store.relationships_of(id),
        store.get_user_settings(id),
        store.read_states_of(id),
        store.connections_of(id),
    )?;
    Ok(UserState {
        user,
        relationships,
        settings,
        read_states,
        connections,
    })
}

/// READY's user parts from the user's actor; None (logged) when it is unavailable, so READY
/// still goes out with empty lists.
///
/// From the user's actor when it is running (it may hold changes in flight); otherwise built
/// from the store with the same loader, without starting an actor: an actor per online user
/// would cost every idle session a task, a ticker and four channels for as long as it is
/// online. A change that lands after this read reaches the session as its event, because the
/// session is registered before READY is built.
pub async fn ready_parts(services: &Arc<Services>, id: UserId) -> Option<ReadyParts> {
    let Some(actor) = services.registry.running_user(id) else {
        return match load(services, id).await {
            Ok(loaded) => Some(State::new(services.clone(), loaded).ready().await),
            Err(e) => {
                tracing::warn!(user = %id, error = ?e, "READY without relationships/settings");
                None
            }
        };
    };
    match crate::actors::mailbox::call(&actor, UserMsg::Ready, Some(services.call_timeout())).await
    {
        Ok(ractor::rpc::CallResult::Success(parts)) => Some(parts),
        _ => {
            tracing::warn!(user = %id, "user actor did not answer READY");
            None
        }
    }
}

/// Whether either user of a DM has blocked the other (Discord refuses DMs both ways).
pub async fn blocked_between(
    services: &Arc<Services>,
    a: UserId,
    b: UserId,
) -> Result<bool, ApiError> {
    for (me, other) in [(a, b), (b, a)] {
        let actor = match services.user(me).await {
            Ok(actor) => actor,
            // A deleted account blocks no one.
            Err(ApiError::Unknown(_)) => continue,
            Err(e) => return Err(e),
        };
        let kind = ask(services, &actor, |reply| UserMsg::Relationship {
            other,
            reply,
        })
        .await?;
        if kind == Some(RelationshipKind::Blocked) {
            return Ok(true);
        }
    }
    Ok(false)
}

pub struct UserActor;

pub struct State {
    services: Arc<Services>,
    user: Arc<UserRecord>,
    relationships: HashMap<UserId, RelationshipRecord>,
    /// None until the user first changes a setting: the configured defaults apply.
    settings: Option<UserSettings>,
    read_states: HashMap<ChannelId, ReadStateRecord>,
    /// Connected accounts, ordered by (type, id).
    connections: Vec<ConnectedAccountRecord>,
    /// Counts acknowledgements in this actor's life (MESSAGE_ACK's `version`).
    ack_version: u64,
    last_used: Instant,
}

impl Actor for UserActor {
    type Msg = UserMsg;
    type State = State;
    type Arguments = (Arc<Services>, UserState);

    async fn pre_start(
        &self,
        me: ActorRef<UserMsg>,
        (services, s): Self::Arguments,
    ) -> Result<State, ActorProcessingErr> {
        tracing::debug!(user = %s.user.id, relationships = s.relationships.len(), "user actor started");
        super::start_idle_ticker(&me, services.clone(), || UserMsg::Tick);
        Ok(State::new(services, s))
    }

    async fn handle(
        &self,
        me: ActorRef<UserMsg>,
        msg: UserMsg,
        st: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        super::mailbox::received::<UserMsg>();
        // At the user's home the lease is checked as a guild's is; a snapshot on another node
        // (never registered, reads only) has no lease to check.
        let owned = Owned::User(st.user.id.get());
        let stamp = if st.services.remote_owner(owned).is_some() {
            None
        } else if let Ok(stamp) = st.services.write_stamp(owned) {
            stamp
        } else {
            tracing::warn!(user = %st.user.id, "ownership lease lapsed: refusing and stopping");
            me.stop(Some("ownership lapsed".into()));
            return Ok(());
        };
        let span = tracing::debug_span!("user", id = %st.user.id);
        let handled = async move {
            if !matches!(msg, UserMsg::Tick) {
                st.last_used = Instant::now();
            }
            match msg {
                UserMsg::Ready(port) => {
                    let parts = st.ready().await;
                    let _ = port.send(parts);
                }
                UserMsg::Relationships(r) => reply(r, st.relationships_json().await),
                UserMsg::Relate {
                    target,
                    kind,
                    reply: r,
                } => reply(r, st.relate(target, kind).await),
                UserMsg::Unrelate { target, reply: r } => reply(r, st.unrelate(target).await),
                UserMsg::Peer { from, change } => {
                    if let Err(e) = st.peer(from, change).await {
                        tracing::warn!(peer = %from, ?change, error = ?e, "applying a peer's relationship change failed");
                    }
                }
                UserMsg::Relationship { other, reply: r } => {
                    reply(r, Ok(st.relationships.get(&other).map(|r| r.kind)));
                }
                UserMsg::Settings(r) => reply(r, Ok(st.settings_json())),
                UserMsg::UpdateSettings { patch, reply: r } => {
                    reply(r, st.update_settings(patch).await)
                }
                UserMsg::Consent(r) => reply(r, st.consent().await),
                UserMsg::UpdateConsent {
                    grant,
                    revoke,
                    reply: r,
                } => reply(r, st.update_consent(grant, revoke).await),
                UserMsg::Ack {
                    channel,
                    message,
                    mention_count,
                    reply: r,
                } => reply(r, st.ack(channel, message, mention_count).await),
                UserMsg::Mentioned { channel, message } => {
                    if let Err(e) = st.mentioned(channel, message).await {
                        tracing::warn!(error = %e, %channel, "could not count a mention");
                    }
                }
                UserMsg::Connections(r) => reply(r, Ok(st.connections_json())),
                UserMsg::PublicConnections(r) => reply(r, Ok(st.public_connections_json())),
                UserMsg::LinkConnection { account, reply: r } => {
                    reply(r, st.link_connection(*account).await)
                }
                UserMsg::UpdateConnection {
                    kind,
                    id,
                    patch,
                    reply: r,
                } => reply(r, st.update_connection(&kind, &id, patch).await),
                UserMsg::RemoveConnection { kind, id, reply: r } => {
                    reply(r, st.remove_connection(&kind, &id).await)
                }
                UserMsg::Tick => {
                    // Idle is idle, online or not: READY and user events don't need a live
                    // actor (see `ready_parts`), and the next request respawns it from the store.
                    if super::idle_for(st.last_used, &st.services) {
                        // Leave the registry first, so new requests spawn a fresh actor instead of
                        // reaching this stopping one.
                        st.services.registry.remove_user(st.user.id, me.get_id());
                        me.stop(Some("idle".into()));
                    }
                }
            }
        }
        .instrument(span);
        stamp::under(stamp, handled).await;
        Ok(())
    }
}

fn coded(code: u32, key: &'static str) -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, code, key)
}

impl State {
    fn new(services: Arc<Services>, s: UserState) -> Self {
        Self {
            services,
            user: s.user,
            relationships: s
                .relationships
                .into_iter()
                .map(|r| (r.peer_id, r))
                .collect(),
            settings: s.settings,
            read_states: s
                .read_states
                .into_iter()
                .map(|r| (r.channel_id, r))
                .collect(),
            connections: s.connections,
            ack_version: 0,
            last_used: Instant::now(),
        }
    }

    fn me(&self) -> UserId {
        self.user.id
    }

    fn send(&self, name: &'static str, data: &Value) {
        self.services
            .sessions
            .send_to_user(self.me(), &Dispatch::new(name, data, false));
    }

    fn settings(&self) -> UserSettings {
        self.settings.clone().unwrap_or_else(|| {
            let config = self.services.config.get();
            let defaults = &config.defaults.user;
            // The locale chosen at registration wins over the instance default.
            let locale = if self.user.locale.is_empty() {
                defaults.locale.as_str()
            } else {
                self.user.locale.as_str()
            };
            UserSettings::with_defaults(locale, &defaults.theme)
        })
    }

    fn settings_json(&self) -> Value {
        serde_json::to_value(self.settings()).unwrap_or_else(|_| json!({}))
    }

    async fn relationships_json(&self) -> Result<Value, ApiError> {
        let mut list: Vec<&RelationshipRecord> = self.relationships.values().collect();
        list.sort_by_key(|r| r.peer_id);
        let ids: Vec<UserId> = list.iter().map(|r| r.peer_id).collect();
        let users = self.services.users.public_many(&ids).await?;
        Ok(Value::Array(
            list.iter()
                .zip(users.iter())
                .map(|(r, u)| r.to_json(u))
                .collect(),
        ))
    }

    async fn ready(&self) -> ReadyParts {
        let relationships = match self.relationships_json().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = ?e, "READY: relationships unavailable");
                json!([])
            }
        };
        let mut entries: Vec<&ReadStateRecord> = self.read_states.values().collect();
        entries.sort_by_key(|r| r.channel_id);
        ReadyParts {
            relationships,
            user_settings: self.settings_json(),
            read_state: json!({
                "entries": entries.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
                "partial": false,
                "version": self.ack_version,
            }),
        }
    }

    fn friend_count(&self) -> usize {
        self.relationships
            .values()
            .filter(|r| r.kind == RelationshipKind::Friend)
            .count()
    }

    /// Persists this user's side as `kind` and announces it (RELATIONSHIP_ADD).
    async fn set(&mut self, peer: UserId, kind: RelationshipKind) -> Result<(), ApiError> {
        let mut record = RelationshipRecord::new(self.me(), peer, kind);
        if let Some(old) = self.relationships.get(&peer) {
            record.nickname = old.nickname.clone();
        }
        self.services.store.put_relationship(&record).await?;
        let user = self.services.users.public(peer).await?;
        self.send("RELATIONSHIP_ADD", &record.to_json(&user));
        self.relationships.insert(peer, record);
        Ok(())
    }

    /// Removes this user's side and announces it (RELATIONSHIP_REMOVE).
    async fn clear(&mut self, peer: UserId) -> Result<(), ApiError> {
        let Some(old) = self.relationships.get(&peer).cloned() else {
            return Ok(());
        };
        self.services
            .store
            .delete_relationship(self.me(), peer)
            .await?;
        self.relationships.remove(&peer);
        self.send(
            "RELATIONSHIP_REMOVE",
            &json!({"id": peer, "type": old.kind, "since": old.since.to_string(), "nickname": old.nickname}),
        );
        Ok(())
    }

    /// Tells the other user's actor what changed, here or on its home node. Awaits only the
    /// registry (a spawn from the store) or a NATS publish, never the other actor.
    async fn tell(&self, peer: UserId, change: PeerChange) {
        let from = self.me().get();
        self.services
            .cast_user(peer, super::remote::UserCast::Peer { from, change })
            .await;
    }

    async fn relate(&mut self, target: UserId, kind: RelationshipKind) -> Result<(), ApiError> {
        if target == self.me() {
            return Err(match kind {
                RelationshipKind::Blocked => coded(50038, "cannot-act-on-self"),
                _ => coded(80003, "cannot-friend-self"),
            });
        }
        let peer = self
            .services
            .users
            .get(target)
            .await?
            .ok_or(ApiError::Unknown(Unknown::User))?;
        match kind {
            RelationshipKind::Blocked => self.block(target).await,
            RelationshipKind::Friend => self.befriend(&peer).await,
            RelationshipKind::Incoming | RelationshipKind::Outgoing => Err(FieldErrors::single(
                "type",
                FieldError::Choice {
                    allowed: "1, 2".into(),
                },
            )),
        }
    }

    async fn block(&mut self, target: UserId) -> Result<(), ApiError> {
        let current = self.relationships.get(&target).map(|r| r.kind);
        if current == Some(RelationshipKind::Blocked) {
            return Ok(());
        }
        self.set(target, RelationshipKind::Blocked).await?;
        self.tell(target, PeerChange::Blocked).await;
        Ok(())
    }

    async fn befriend(&mut self, peer: &UserRecord) -> Result<(), ApiError> {
        if self.user.bot || peer.bot {
            return Err(coded(80002, "bots-cannot-have-friends"));
        }
        let max = self.services.config.get().limits.user.max_friends as usize;
        match self.relationships.get(&peer.id).map(|r| r.kind) {
            Some(RelationshipKind::Friend | RelationshipKind::Outgoing) => Ok(()),
            Some(RelationshipKind::Incoming) => {
                if self.friend_count() >= max {
                    return Err(coded(30014, "max-friends-reached"));
                }
                self.set(peer.id, RelationshipKind::Friend).await?;
                self.tell(peer.id, PeerChange::Accepted).await;
                Ok(())
            }
            None | Some(RelationshipKind::Blocked) => {
                let store = &self.services.store;
                let theirs = store.get_relationship(peer.id, self.me()).await?;
                if theirs.is_some_and(|r| r.kind == RelationshipKind::Blocked) {
                    return Err(coded(80001, "friend-request-blocked"));
                }
                if !self.may_request(peer.id).await? {
                    return Err(coded(80000, "incoming-friend-requests-disabled"));
                }
                if self.friend_count() >= max {
                    return Err(coded(30014, "max-friends-reached"));
                }
                self.set(peer.id, RelationshipKind::Outgoing).await?;
                self.tell(peer.id, PeerChange::Requested).await;
                Ok(())
            }
        }
    }

    /// Whether the peer's `friend_source_flags` let this user send them a request.
    async fn may_request(&self, peer: UserId) -> Result<bool, ApiError> {
        let store = &self.services.store;
        let flags = match store.get_user_settings(peer).await? {
            Some(s) => s.friend_source_flags,
            None => return Ok(true),
        };
        if flags.all {
            return Ok(true);
        }
        if flags.mutual_guilds {
            let (mine, theirs) =
                tokio::try_join!(store.guilds_of_user(self.me()), store.guilds_of_user(peer))?;
            if mine.iter().any(|g| theirs.contains(g)) {
                return Ok(true);
            }
        }
        if flags.mutual_friends {
            let theirs = store.relationships_of(peer).await?;
            let mutual = theirs.iter().any(|r| {
                r.kind == RelationshipKind::Friend
                    && self
                        .relationships
                        .get(&r.peer_id)
                        .is_some_and(|m| m.kind == RelationshipKind::Friend)
            });
            if mutual {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn unrelate(&mut self, target: UserId) -> Result<(), ApiError> {
        let Some(kind) = self.relationships.get(&target).map(|r| r.kind) else {
            return Ok(());
        };
        self.clear(target).await?;
        if kind != RelationshipKind::Blocked {
            self.tell(target, PeerChange::Removed).await;
        }
        Ok(())
    }

    /// Mirrors the other side's change. Every answer back is `Accepted`, `Removed` or `Blocked`,
    /// and those never provoke an `Accepted` in turn, so the exchange always ends.
    async fn peer(&mut self, from: UserId, change: PeerChange) -> Result<(), ApiError> {
        use RelationshipKind::*;
        let current = self.relationships.get(&from).map(|r| r.kind);
        match (change, current) {
            (PeerChange::Requested, None) => self.set(from, Incoming).await?,
            // Both asked at once, or they think we are not friends yet: we are now.
            (PeerChange::Requested, Some(Outgoing)) => {
                self.set(from, Friend).await?;
                self.tell(from, PeerChange::Accepted).await;
            }
            (PeerChange::Requested, Some(Friend)) => self.tell(from, PeerChange::Accepted).await,
            (PeerChange::Requested, Some(Incoming)) => {}
            (PeerChange::Accepted, Some(Outgoing | Incoming)) => self.set(from, Friend).await?,
            (PeerChange::Accepted, Some(Friend)) => {}
            // We withdrew meanwhile: tell them, so their side follows.
            (PeerChange::Accepted, None) => self.tell(from, PeerChange::Removed).await,
            (PeerChange::Requested | PeerChange::Accepted, Some(Blocked)) => {
                self.tell(from, PeerChange::Blocked).await
            }
            (PeerChange::Removed | PeerChange::Blocked, Some(Friend | Incoming | Outgoing)) => {
                self.clear(from).await?
            }
            (PeerChange::Removed | PeerChange::Blocked, None | Some(Blocked)) => {}
        }
        Ok(())
    }

    async fn update_settings(&mut self, patch: Map<String, Value>) -> Result<Value, ApiError> {
        let current = self.settings();
        let mut doc = serde_json::to_value(&current).map_err(ApiError::internal)?;
        if let Some(obj) = doc.as_object_mut() {
            for (key, value) in patch {
                if !obj.contains_key(&key) || (value.is_null() && key != "custom_status") {
                    continue;
                }
                obj.insert(key, value);
            }
        }
        let new: UserSettings = serde_path_to_error::deserialize(doc).map_err(|e| {
            let message = e.inner().to_string();
            let expected = message
                .rsplit_once("expected ")
                .map(|(_, x)| x.to_string())
                .unwrap_or_else(|| "valid".into());
            FieldErrors::single(&e.path().to_string(), FieldError::BadType { expected })
        })?;
        validate_settings(&new)?;
        if self.settings.as_ref() != Some(&new) {
            self.services
                .store
                .put_user_settings(self.me(), &new)
                .await?;
            self.settings = Some(new);
            let v = self.settings_json();
            self.send("USER_SETTINGS_UPDATE", &v);
            return Ok(v);
        }
        Ok(self.settings_json())
    }

    async fn consent(&self) -> Result<UserConsent, ApiError> {
        Ok(self
            .services
            .store
            .get_user_consent(self.me())
            .await?
            .unwrap_or_default())
    }

    /// Applies grants then revocations; an unknown consent type is a 50035 naming its index.
    async fn update_consent(
        &mut self,
        grant: Vec<String>,
        revoke: Vec<String>,
    ) -> Result<UserConsent, ApiError> {
        let mut consent = self.consent().await?;
        let mut errs = FieldErrors::default();
        for (field, kinds, on) in [("grant", &grant, true), ("revoke", &revoke, false)] {
            for (i, kind) in kinds.iter().enumerate() {
                if !consent.set(kind, on) {
                    errs.add(
                        &format!("{field}.{i}"),
                        FieldError::Choice {
                            allowed: UserConsent::TYPES.join(", "),
                        },
                    );
                }
            }
        }
        errs.into_result()?;
        self.services
            .store
            .put_user_consent(self.me(), &consent)
            .await?;
        Ok(consent)
    }

    /// Counts an unread mention (what READY's `read_state` reports as `mention_count`, the red
    /// badge clients show). A message the user already acknowledged (ack raced ahead) is not
    /// counted.
    async fn mentioned(&mut self, channel: ChannelId, message: MessageId) -> Result<(), ApiError> {
        let mut record = self
            .read_states
            .get(&channel)
            .cloned()
            .unwrap_or(ReadStateRecord {
                user_id: self.me(),
                channel_id: channel,
                last_message_id: MessageId::new(0),
                mention_count: 0,
            });
        if message <= record.last_message_id {
            return Ok(());
        }
        record.mention_count = record.mention_count.saturating_add(1);
        self.services.store.put_read_state(&record).await?;
        self.read_states.insert(channel, record);
        Ok(())
    }

    async fn ack(
        &mut self,
        channel: ChannelId,
        message: MessageId,
        mention_count: Option<u32>,
    ) -> Result<Value, ApiError> {
        let record = ReadStateRecord {
            user_id: self.me(),
            channel_id: channel,
            last_message_id: message,
            mention_count: mention_count.unwrap_or(0),
        };
        if self.read_states.get(&channel) != Some(&record) {
            self.services.store.put_read_state(&record).await?;
            self.read_states.insert(channel, record.clone());
        }
        self.ack_version += 1;
        self.send(
            "MESSAGE_ACK",
            &json!({
                "channel_id": channel,
                "message_id": message,
                "mention_count": record.mention_count,
                "version": self.ack_version,
                "ack_type": 0,
            }),
        );
        Ok(json!({"token": null}))
    }
}

fn validate_settings(s: &UserSettings) -> Result<(), ApiError> {
    let mut errs = FieldErrors::default();
    if !UserSettings::THEMES.contains(&s.theme.as_str()) {
        errs.add(
            "theme",
            FieldError::Choice {
                allowed: UserSettings::THEMES.join(", "),
            },
        );
    }
    if !UserSettings::STATUSES.contains(&s.status.as_str()) {
        errs.add(
            "status",
            FieldError::Choice {
                allowed: UserSettings::STATUSES.join(", "),
            },
        );
    }
    if s.locale.is_empty() || s.locale.len() > 16 {
        errs.add("locale", FieldError::BadLength { min: 1, max: 16 });
    }
    if let Some(text) = s.custom_status.as_ref().and_then(|c| c.text.as_ref())
        && text.chars().count() > 128
    {
        errs.add("custom_status.text", FieldError::MaxLength { max: 128 });
    }
    if s.timezone_offset < -840 {
        errs.add("timezone_offset", FieldError::NumberMin { min: -840 });
    } else if s.timezone_offset > 840 {
        errs.add("timezone_offset", FieldError::NumberMax { max: 840 });
    }
    if s.explicit_content_filter > 2 {
        errs.add("explicit_content_filter", FieldError::NumberMax { max: 2 });
    }
    let afk = &UserSettings::AFK_TIMEOUT;
    if s.afk_timeout < *afk.start() {
        errs.add(
            "afk_timeout",
            FieldError::NumberMin {
                min: i64::from(*afk.start()),
            },
        );
    } else if s.afk_timeout > *afk.end() {
        errs.add(
            "afk_timeout",
            FieldError::NumberMax {
                max: i64::from(*afk.end()),
            },
        );
    }
    if s.animate_stickers > UserSettings::ANIMATE_STICKERS_MAX {
        errs.add(
            "animate_stickers",
            FieldError::NumberMax {
                max: i64::from(UserSettings::ANIMATE_STICKERS_MAX),
            },
        );
    }
    if s.slayer_sdk_receive_dms_in_game > UserSettings::SLAYER_SDK_DMS_MAX {
        errs.add(
            "slayer_sdk_receive_dms_in_game",
            FieldError::NumberMax {
                max: i64::from(UserSettings::SLAYER_SDK_DMS_MAX),
            },
        );
    }
    // NaN fails both comparisons, so it is checked on its own.
    if s.soundboard_volume.is_nan() || s.soundboard_volume < 0.0 {
        errs.add("soundboard_volume", FieldError::NumberMin { min: 0 });
    } else if s.soundboard_volume > UserSettings::SOUNDBOARD_VOLUME_MAX {
        errs.add("soundboard_volume", FieldError::NumberMax { max: 100 });
    }
    if s.friend_discovery_flags & !UserSettings::FRIEND_DISCOVERY_FLAGS != 0 {
        errs.add(
            "friend_discovery_flags",
            FieldError::Choice {
                allowed: "0, 2, 4, 6".into(),
            },
        );
    }
    for (path, len) in [
        ("guild_folders", s.guild_folders.len()),
        ("guild_positions", s.guild_positions.len()),
        ("restricted_guilds", s.restricted_guilds.len()),
    ] {
        if len > 500 {
            errs.add(path, FieldError::TooMany { max: 500 });
        }
    }
    errs.into_result()
}
