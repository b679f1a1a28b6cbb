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
use crate::error::{ApiError, Unknown};
use crate::id::{ChannelId, GuildId, UserId};

type Slot<M> = Arc<OnceCell<ActorRef<M>>>;

#[derive(Default)]
pub struct Registry {
    guilds: DashMap<GuildId, Slot<GuildMsg>>,
    channels: DashMap<ChannelId, Slot<ChannelMsg>>,
    users: DashMap<UserId, Slot<UserMsg>>,
    supervisor: OnceLock<ActorCell>,
}

impl Registry {
    pub fn set_supervisor(&self, cell: ActorCell) {
        let _ = self.supervisor.set(cell);
    }

    /// Forgets a stopped or failed actor so the next request spawns a fresh one from the store.
    pub fn forget(&self, id: ActorId) {
        self.guilds
            .retain(|_, slot| slot.get().is_none_or(|a| a.get_id() != id));
        self.channels
            .retain(|_, slot| slot.get().is_none_or(|a| a.get_id() != id));
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

    pub fn remove_channel(&self, id: ChannelId) {
        self.channels.remove(&id);
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

impl Services {
    /// The guild's actor, spawned from the store on first use. `Unknown Guild` if it doesn't exist.
    pub async fn guild(self: &Arc<Self>, id: GuildId) -> Result<ActorRef<GuildMsg>, ApiError> {
        if let Some(existing) = self.registry.running_guild(id) {
            if alive(existing.get_status()) {
                return Ok(existing);
            }
            // Passivated or failed and not yet forgotten by the supervisor: replace it.
            let dead = existing.get_id();
            self.registry
                .guilds
                .remove_if(&id, |_, s| s.get().is_some_and(|a| a.get_id() == dead));
        }
        let slot = self.registry.guilds.entry(id).or_default().clone();
        let result = slot
            .get_or_try_init(|| async {
                let state = self
                    .store
                    .load_guild(id)
                    .await?
                    .ok_or(ApiError::Unknown(Unknown::Guild))?;
                let args = (self.clone(), state);
                let (actor, _) = match self.registry.supervisor.get() {
                    Some(sup) => Actor::spawn_linked(None, GuildActor, args, sup.clone()).await,
                    None => Actor::spawn(None, GuildActor, args).await,
                }
                .map_err(ApiError::internal)?;
                Ok::<_, ApiError>(actor)
            })
            .await
            .cloned();
        if result.is_err() {
            self.registry
                .guilds
                .remove_if(&id, |_, s| Arc::ptr_eq(s, &slot));
        }
        result
    }

    /// The channel's actor (guild channels and DMs alike). `Unknown Channel` if it doesn't exist.
    pub async fn channel(
        self: &Arc<Self>,
        id: ChannelId,
    ) -> Result<ActorRef<ChannelMsg>, ApiError> {
        if let Some(existing) = self.registry.running_channel(id) {
            if alive(existing.get_status()) {
                return Ok(existing);
            }
            let dead = existing.get_id();
            self.registry
                .channels
                .remove_if(&id, |_, s| s.get().is_some_and(|a| a.get_id() == dead));
        }
        let slot = self.registry.channels.entry(id).or_default().clone();
        let result = slot
            .get_or_try_init(|| async {
                let record = self
                    .store
                    .get_channel(id)
                    .await?
                    .ok_or(ApiError::Unknown(Unknown::Channel))?;
                let guild = match record.guild_id {
                    Some(g) => Some(self.guild(g).await?),
                    None => None,
                };
                let args = (self.clone(), record, guild);
                let (actor, _) = match self.registry.supervisor.get() {
                    Some(sup) => Actor::spawn_linked(None, ChannelActor, args, sup.clone()).await,
                    None => Actor::spawn(None, ChannelActor, args).await,
                }
                .map_err(ApiError::internal)?;
                Ok::<_, ApiError>(actor)
            })
            .await
            .cloned();
        if result.is_err() {
            self.registry
                .channels
                .remove_if(&id, |_, s| Arc::ptr_eq(s, &slot));
        }
        result
    }

    /// The user's actor (relationships, settings, read states), spawned from the store on first
    /// use. `Unknown User` if the account doesn't exist.
    pub async fn user(self: &Arc<Self>, id: UserId) -> Result<ActorRef<UserMsg>, ApiError> {
        if let Some(existing) = self.registry.running_user(id) {
            if alive(existing.get_status()) {
                return Ok(existing);
            }
            let dead = existing.get_id();
            self.registry.remove_user(id, dead);
        }
        let slot = self.registry.users.entry(id).or_default().clone();
        let result = slot
            .get_or_try_init(|| async {
                let state = super::user::load(self, id).await?;
                let args = (self.clone(), state);
                let (actor, _) = match self.registry.supervisor.get() {
                    Some(sup) => Actor::spawn_linked(None, UserActor, args, sup.clone()).await,
                    None => Actor::spawn(None, UserActor, args).await,
                }
                .map_err(ApiError::internal)?;
                Ok::<_, ApiError>(actor)
            })
            .await
            .cloned();
        if result.is_err() {
            self.registry
                .users
                .remove_if(&id, |_, s| Arc::ptr_eq(s, &slot));
        }
        result
    }
}

/// Whether an actor can still take messages.
fn alive(status: ractor::ActorStatus) -> bool {
    matches!(
        status,
        ractor::ActorStatus::Unstarted
            | ractor::ActorStatus::Starting
            | ractor::ActorStatus::Running
            | ractor::ActorStatus::Upgrading
    )
}
