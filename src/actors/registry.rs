//! Lazy actor lookup: the first request for a guild, channel or user spawns its actor from the store;
//! concurrent first requests share one spawn (a `OnceCell` per id).

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorId, ActorRef};
use tokio::sync::OnceCell;

use super::Services;
use super::channel::{ChannelActor, ChannelMsg};
use super::guild::{GuildActor, GuildMsg};
use super::user::{UserActor, UserMsg};
use crate::cluster::Owned;
use crate::error::{ApiError, Unknown};
use crate::id::{ChannelId, GuildId, UserId};

type Slot<M> = Arc<OnceCell<ActorRef<M>>>;

/// How long a snapshot of a user homed on another node lives: long enough for the request
/// that asked for it, short enough that no one reads it after a change.
const SNAPSHOT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Default)]
pub struct Registry {
    guilds: DashMap<GuildId, Slot<GuildMsg>>,
    channels: DashMap<ChannelId, Slot<ChannelMsg>>,
    users: DashMap<UserId, Slot<UserMsg>>,
    supervisor: OnceLock<ActorCell>,
    /// Cluster mode only: the lease each *running* channel actor runs under, so a lost guild
    /// lease finds its channel actors. An entry lives as long as its actor's slot.
    running_channel_owners: DashMap<ChannelId, Owned>,
    /// Cluster mode only: which lease covers a channel, remembered for routing requests (a
    /// channel never changes guild), bounded by `actors.channel_route_entries`.
    channel_routes: DashMap<ChannelId, Owned>,
}

impl Registry {
    pub fn set_supervisor(&self, cell: ActorCell) {
        let _ = self.supervisor.set(cell);
    }

    /// The lease covering channel `id`, if this node has looked it up lately.
    pub fn channel_owner(&self, id: ChannelId) -> Option<Owned> {
        self.running_channel_owners
            .get(&id)
            .or_else(|| self.channel_routes.get(&id))
            .map(|o| *o)
    }

    /// Remembers a lookup of the lease covering `id`, keeping at most `max` such entries.
    pub(crate) fn remember_channel_route(&self, id: ChannelId, owned: Owned, max: usize) {
        super::bounded::make_room(&self.channel_routes, max, 1);
        self.channel_routes.insert(id, owned);
    }

    /// Records the lease a channel actor just spawned runs under.
    pub(crate) fn set_running_channel_owner(&self, id: ChannelId, owned: Owned) {
        self.running_channel_owners.insert(id, owned);
    }

    /// The running channel actors covered by the lease `owned`.
    pub(crate) fn channels_owned_by(&self, owned: Owned) -> Vec<ChannelId> {
        self.running_channel_owners
            .iter()
            .filter(|e| *e.value() == owned)
            .map(|e| *e.key())
            .collect()
    }

    /// Forgets a stopped or failed actor so the next request spawns a fresh one from the store.
    pub fn forget(&self, id: ActorId) {
        self.guilds
            .retain(|_, slot| slot.get().is_none_or(|a| a.get_id() != id));
        self.channels.retain(|channel, slot| {
            let keep = slot.get().is_none_or(|a| a.get_id() != id);
            if !keep {
                self.running_channel_owners.remove(channel);
            }
            keep
        });
        self.users
            .retain(|_, slot| slot.get().is_none_or(|a| a.get_id() != id));
    }

    /// The running user actor, if any (never spawns).
    pub fn running_user(&self, id: UserId) -> Option<ActorRef<UserMsg>> {
        self.users.get(&id).and_then(|s| s.get().cloned())
    }

    /// Forgets the user's actor if it is still `actor` (a passivating actor leaves this way).
    pub fn remove_user(&self, id: UserId, actor: ActorId) {
        self.users
            .remove_if(&id, |_, s| s.get().is_some_and(|a| a.get_id() == actor));
    }

    /// Running (spawned) user actors, for health figures.
    pub fn live_users(&self) -> usize {
        self.users.iter().filter(|s| s.get().is_some()).count()
    }

    /// The running guild actor, if any (never spawns).
    pub fn running_guild(&self, id: GuildId) -> Option<ActorRef<GuildMsg>> {
        self.guilds.get(&id).and_then(|s| s.get().cloned())
    }

    pub fn running_channel(&self, id: ChannelId) -> Option<ActorRef<ChannelMsg>> {
        self.channels.get(&id).and_then(|s| s.get().cloned())
    }

    pub fn remove_guild(&self, id: GuildId) {
        self.guilds.remove(&id);
    }

    /// Forgets channel `id` entirely: its actor's slot and what this node remembered of its
    /// lease (it was deleted, or its lease moved away).
    pub fn remove_channel(&self, id: ChannelId) {
        self.channels.remove(&id);
        self.running_channel_owners.remove(&id);
        self.channel_routes.remove(&id);
    }

    /// Channel → lease entries held: (running channel actors, routing lookups). For tests and
    /// health figures.
    pub fn channel_owner_entries(&self) -> (usize, usize) {
        (self.running_channel_owners.len(), self.channel_routes.len())
    }

    /// Running (spawned) guild and channel actors, for health figures.
    pub fn live_counts(&self) -> (usize, usize) {
        let running = |n: usize, has: bool| n + usize::from(has);
        let guilds = self
            .guilds
            .iter()
            .fold(0, |n, s| running(n, s.get().is_some()));
        let channels = self
            .channels
            .iter()
            .fold(0, |n, s| running(n, s.get().is_some()));
        (guilds, channels)
    }

    /// Every running actor (for shutdown).
    pub fn all_cells(&self) -> Vec<ActorCell> {
        let mut cells: Vec<ActorCell> = self
            .channels
            .iter()
            .filter_map(|s| s.get().map(|a| a.get_cell()))
            .collect();
        cells.extend(
            self.guilds
                .iter()
                .filter_map(|s| s.get().map(|a| a.get_cell())),
        );
        cells.extend(
            self.users
                .iter()
                .filter_map(|s| s.get().map(|a| a.get_cell())),
        );
        cells
    }
}

/// Spawns `actor` linked to the supervisor when there is one (tests may run without).
macro_rules! spawn_supervised {
    ($services:expr, $actor:expr, $args:expr) => {
        match $services.registry.supervisor.get() {
            Some(sup) => Actor::spawn_linked(None, $actor, $args, sup.clone()).await,
            None => Actor::spawn(None, $actor, $args).await,
        }
        .map(|(actor, _)| actor)
        .map_err(ApiError::internal)
    };
}

/// The live actor in `map` for `id`, or a new one from `spawn` — exactly one spawn however many
/// callers race (they share a `OnceCell`). A passivated or failed actor the supervisor has not
/// forgotten yet is replaced; a failed spawn leaves no slot behind.
async fn get_or_spawn<K, M, F, Fut>(
    map: &DashMap<K, Slot<M>>,
    id: K,
    spawn: F,
) -> Result<ActorRef<M>, ApiError>
where
    K: Eq + std::hash::Hash + Copy,
    M: ractor::Message,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<ActorRef<M>, ApiError>>,
{
    if let Some(existing) = map.get(&id).and_then(|s| s.get().cloned()) {
        if alive(existing.get_status()) {
            return Ok(existing);
        }
        let dead = existing.get_id();
        map.remove_if(&id, |_, s| s.get().is_some_and(|a| a.get_id() == dead));
    }
    let slot = map.entry(id).or_default().clone();
    let result = slot.get_or_try_init(spawn).await.cloned();
    if result.is_err() {
        map.remove_if(&id, |_, s| Arc::ptr_eq(s, &slot));
    }
    result
}

impl Services {
    /// The guild's actor, spawned from the store on first use. `Unknown Guild` if it doesn't exist.
    /// In cluster mode only while this node holds the guild's ownership lease (else 503).
    pub async fn guild(self: &Arc<Self>, id: GuildId) -> Result<ActorRef<GuildMsg>, ApiError> {
        self.fence(Owned::Guild(id.get())).await?;
        get_or_spawn(&self.registry.guilds, id, || async {
            let state = self
                .store
                .load_guild(id)
                .await?
                .ok_or(ApiError::Unknown(Unknown::Guild))?;
            spawn_supervised!(self, GuildActor, (self.clone(), state))
        })
        .await
    }

    /// The channel's actor (guild channels and DMs alike). `Unknown Channel` if it doesn't exist.
    pub async fn channel(
        self: &Arc<Self>,
        id: ChannelId,
    ) -> Result<ActorRef<ChannelMsg>, ApiError> {
        let owned = match self.ownership.get() {
            Some(_) => {
                let owned = self.channel_owner(id).await?;
                self.fence(owned).await?;
                Some(owned)
            }
            None => None,
        };
        let actor = get_or_spawn(&self.registry.channels, id, || async {
            let record = self
                .store
                .get_channel(id)
                .await?
                .ok_or(ApiError::Unknown(Unknown::Channel))?;
            let guild = match record.guild_id {
                Some(g) => Some(self.guild(g).await?),
                None => None,
            };
            spawn_supervised!(self, ChannelActor, (self.clone(), record, guild))
        })
        .await?;
        if let Some(owned) = owned {
            self.registry.set_running_channel_owner(id, owned);
        }
        Ok(actor)
    }

    /// The user's actor (relationships, settings, read states), spawned from the store on first
    /// use. `Unknown User` if the account doesn't exist.
    ///
    /// In cluster mode the actor runs on the user's home node only, under its ownership lease
    /// (fenced as a guild is). Another node gets a *snapshot*: an actor loaded from the store
    /// for the request at hand, never registered, which stops by itself after
    /// [`SNAPSHOT_LIFETIME`]. It is for reads (READY's user parts, profiles, the DM block
    /// check): every change goes to the home — REST by forwarding (`api::forward`), actor
    /// casts by [`Services::cast_user`] — so no node keeps a copy that a change elsewhere
    /// would leave stale.
    pub async fn user(self: &Arc<Self>, id: UserId) -> Result<ActorRef<UserMsg>, ApiError> {
        if self.remote_owner(Owned::User(id.get())).is_some() {
            return self.user_snapshot(id).await;
        }
        self.fence(Owned::User(id.get())).await?;
        get_or_spawn(&self.registry.users, id, || async {
            let state = super::user::load(self, id).await?;
            spawn_supervised!(self, UserActor, (self.clone(), state))
        })
        .await
    }

    /// A read-only user actor for a user whose home is another node (see [`Services::user`]).
    async fn user_snapshot(self: &Arc<Self>, id: UserId) -> Result<ActorRef<UserMsg>, ApiError> {
        let state = super::user::load(self, id).await?;
        let actor = spawn_supervised!(self, UserActor, (self.clone(), state))?;
        let cell = actor.get_cell();
        tokio::spawn(async move {
            tokio::time::sleep(SNAPSHOT_LIFETIME).await;
            cell.stop(Some("snapshot".into()));
        });
        Ok(actor)
    }
}

/// Whether an actor can still take messages.
pub(crate) fn alive(status: ractor::ActorStatus) -> bool {
    matches!(
        status,
        ractor::ActorStatus::Unstarted
            | ractor::ActorStatus::Starting
            | ractor::ActorStatus::Running
            | ractor::ActorStatus::Upgrading
    )
}
