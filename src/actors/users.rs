//! A read-through cache of user accounts, so rendering a message author or a member never hits
//! the store twice for the same user. Writers (PATCH /users/@me, admin) update it after the store.
//!
//! Bounded by `actors.user_cache_entries` (see [`super::bounded`]): past it, arbitrary entries
//! are dropped, so an instance's memory doesn't grow with every account it has
//! ever rendered. Dropping an entry changes no data, so it doesn't move the generation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

use crate::config::LiveConfig;
use crate::id::UserId;
use crate::model::{PublicUser, UserRecord};
use crate::store::{DynStore, StoreResult};

pub struct UserDirectory {
    store: DynStore,
    config: Arc<LiveConfig>,
    cache: DashMap<UserId, Arc<UserRecord>>,
    /// Bumped after every change to `cache`: whoever keeps something rendered from these users
    /// (a channel's cached message JSON) reads it before reading the users and renders again
    /// when it has moved.
    generation: AtomicU64,
}

impl UserDirectory {
    pub fn new(store: DynStore, config: Arc<LiveConfig>) -> Self {
        Self {
            store,
            config,
            cache: DashMap::new(),
            generation: AtomicU64::new(0),
        }
    }

    pub async fn get(&self, id: UserId) -> StoreResult<Option<Arc<UserRecord>>> {
        if let Some(u) = self.cache.get(&id) {
            return Ok(Some(u.clone()));
        }
        let Some(record) = self.store.get_user(id).await? else {
            return Ok(None);
        };
        let record = Arc::new(record);
        self.make_room(1);
        self.cache.insert(id, record.clone());
        self.bump();
        Ok(Some(record))
    }

    /// The public user object, or Discord's "Deleted User" placeholder for a vanished account.
    pub async fn public(&self, id: UserId) -> StoreResult<PublicUser> {
        Ok(match self.get(id).await? {
            Some(u) => u.public(),
            None => PublicUser {
                id,
                username: "Deleted User".into(),
                discriminator: "0".into(),
                global_name: None,
                avatar: None,
                banner: None,
                accent_color: None,
                bot: false,
                system: false,
                public_flags: 0,
                avatar_decoration_data: None,
            },
        })
    }

    pub async fn public_many(&self, ids: &[UserId]) -> StoreResult<Vec<PublicUser>> {
        let missing: Vec<UserId> = ids
            .iter()
            .copied()
            .filter(|id| !self.cache.contains_key(id))
            .collect();
        if !missing.is_empty() {
            self.make_room(missing.len());
            for u in self.store.get_users(&missing).await? {
                self.cache.insert(u.id, Arc::new(u));
            }
            self.bump();
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.public(*id).await?);
        }
        Ok(out)
    }

    /// Records a change already persisted to the store.
    pub fn updated(&self, user: UserRecord) {
        self.cache.insert(user.id, Arc::new(user));
        self.bump();
    }

    /// Drops entries until `incoming` more fit under the configured bound.
    fn make_room(&self, incoming: usize) {
        let max = self.config.get().actors.user_cache_entries;
        super::bounded::make_room(&self.cache, max, incoming);
    }

    /// Entries held (for tests and health figures).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The current generation; see the field. Read it before the users a render uses.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// After a change to the cache (never before: a reader could pair old data with the new
    /// generation).
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}
