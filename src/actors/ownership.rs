//! The actors' side of cluster ownership (DESIGN §7, the "Directory"): before a guild or
//! channel actor is used, this node must hold that id's ownership lease; when it loses one, the
//! actors under it stop, so a node that was paused or cut off refuses instead of writing
//! beside the new owner. On a single node none of this runs (`Services::ownership` is unset).
//!
//! Obtaining an actor is not the only fence: guild and channel actors check that the lease is
//! still held before each message, and a channel's write pipeline before each write it starts
//! and again when it is done (see [`Services::write_stamp`]), so messages already in a mailbox,
//! or writes queued behind others, when the lease lapses are refused rather than written beside
//! the next owner's, and a write that outlived the lease is not acknowledged. The writes carry
//! the time of that check (see [`crate::store::stamp`]), so one that a paused node sends late
//! loses to the next owner's in the store itself.
//!
//! A user's actor runs on the user's home node under a `user.<id>` lease; other nodes read
//! through short-lived snapshots (see `registry`).

use std::sync::{Arc, Weak};

use futures::future::BoxFuture;

use super::Services;
use crate::cluster::{Owned, Ownership, OwnershipError};
use crate::error::{ApiError, Unknown};
use crate::id::{ChannelId, GuildId, IdsUnavailable, UserId};
use crate::store::stamp::WriteStamp;

/// How many ids a node mints at most looking for a guild id it owns itself.
const GUILD_ID_TRIES: usize = 64;

impl Services {
    /// Turns cluster mode on: from now on actors run only under a held lease, and a lost lease
    /// stops the actors it covered.
    pub fn set_ownership(self: &Arc<Self>, ownership: Arc<Ownership>) {
        let services: Weak<Services> = Arc::downgrade(self);
        ownership.on_lost(move |what| match services.upgrade() {
            Some(services) => services.stop_owned(what),
            None => Box::pin(async {}),
        });
        let _ = self.ownership.set(ownership);
    }

    /// Waits for (or confirms) this node's lease on `what`; a 503 with `retry_after` when it
    /// is another node's or moving. Free on a single node.
    pub(crate) async fn fence(&self, what: Owned) -> Result<(), ApiError> {
        match self.ownership.get() {
            None => Ok(()),
            Some(o) => o.acquire(what).await.map(drop).map_err(|e| refused(o, &e)),
        }
    }

    /// The check an actor makes before each message: `Err` (the 503 a client retries) once
    /// this node no longer holds the lease of `what` (see [`Ownership::holds`]); else the stamp
    /// the writes it makes for that message carry (see [`crate::store::stamp`]) — `None` on a
    /// single node, where nothing is stamped.
    pub(crate) fn write_stamp(&self, what: Owned) -> Result<Option<WriteStamp>, ApiError> {
        stamp_if_held(self.ownership.get(), what)
    }

    /// [`Services::write_stamp`] as a closure that outlives the services' borrow, for the tasks
    /// that write on an actor's behalf.
    pub(crate) fn fence_of(
        &self,
        what: Owned,
    ) -> impl Fn() -> Result<Option<WriteStamp>, ApiError> + Send + Sync + 'static {
        let ownership = self.ownership.get().cloned();
        move || stamp_if_held(ownership.as_ref(), what)
    }

    /// The refusal for a request that reached an actor after its lease lapsed.
    pub(crate) fn lapsed(&self) -> ApiError {
        match self.ownership.get() {
            Some(o) => lapsed(o),
            None => ApiError::internal("actor stopped"),
        }
    }

    /// Which lease covers channel `id`: its guild's, or its own for a DM/group DM. Read from
    /// the store, then remembered (a channel never changes guild) — while its actor runs here,
    /// else among at most `actors.channel_route_entries` lookups, so a node routing requests
    /// for millions of channels does not keep one entry per channel it ever saw.
    pub async fn channel_owner(&self, id: ChannelId) -> Result<Owned, ApiError> {
        if let Some(known) = self.registry.channel_owner(id) {
            return Ok(known);
        }
        let record = self
            .store
            .get_channel(id)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let owned = match record.guild_id {
            Some(g) => Owned::Guild(g.get()),
            None => Owned::Channel(id.get()),
        };
        let max = self.config.get().actors.channel_route_entries;
        self.registry.remember_channel_route(id, owned, max);
        Ok(owned)
    }

    /// A new guild's id. In cluster mode, one this node owns by placement (a few ids minted
    /// and dropped — snowflakes are cheap), so the guild it just created runs here without a
    /// hop; ids stay unique either way.
    pub fn new_guild_id(&self) -> Result<GuildId, IdsUnavailable> {
        let Some(o) = self.ownership.get() else {
            return self.ids.next();
        };
        for _ in 1..GUILD_ID_TRIES {
            let id: GuildId = self.ids.next()?;
            if o.is_mine(Owned::Guild(id.get())) {
                return Ok(id);
            }
        }
        self.ids.next()
    }

    /// Stops the actors a lost lease covered; the next owner reloads them from the store. The
    /// stops are sent at once; the future it returns is done when those actors have stopped —
    /// their `post_stop` awaits every write they started — so a lease released after it hands
    /// the next owner a store that holds all of them.
    fn stop_owned(&self, what: Owned) -> BoxFuture<'static, ()> {
        tracing::info!(?what, "ownership lost: stopping its actors");
        let mut stopping: Vec<ractor::ActorCell> = Vec::new();
        let mut stop = |cell: ractor::ActorCell| {
            cell.stop(Some("ownership moved".into()));
            stopping.push(cell);
        };
        match what {
            Owned::Guild(g) => {
                let guild = GuildId::new(g);
                for channel in self.registry.channels_owned_by(what) {
                    if let Some(actor) = self.registry.running_channel(channel) {
                        stop(actor.get_cell());
                    }
                    self.registry.remove_channel(channel);
                }
                if let Some(actor) = self.registry.running_guild(guild) {
                    stop(actor.get_cell());
                }
                self.registry.remove_guild(guild);
            }
            Owned::Channel(c) => {
                let channel = ChannelId::new(c);
                if let Some(actor) = self.registry.running_channel(channel) {
                    stop(actor.get_cell());
                }
                self.registry.remove_channel(channel);
            }
            Owned::User(u) => {
                let user = UserId::new(u);
                if let Some(actor) = self.registry.running_user(user) {
                    stop(actor.get_cell());
                    self.registry.remove_user(user, actor.get_id());
                }
            }
        }
        Box::pin(async move {
            for cell in stopping {
                let _ = cell.wait(None).await;
            }
        })
    }
}

/// The stamp is taken *before* the lease is checked, so it is never later than a moment at
/// which the lease held: a stale write stamped with it loses to the next owner's.
fn stamp_if_held(
    ownership: Option<&Arc<Ownership>>,
    what: Owned,
) -> Result<Option<WriteStamp>, ApiError> {
    let Some(o) = ownership else {
        return Ok(None);
    };
    let stamp = WriteStamp::now();
    if o.holds(what) {
        Ok(Some(stamp))
    } else {
        Err(lapsed(o))
    }
}

/// A lapsed lease's 503: retry after a renewal period, when the next owner may hold it.
fn lapsed(ownership: &Ownership) -> ApiError {
    ApiError::Unavailable {
        retry_after: ownership.config().renew_every().as_secs_f64(),
    }
}

/// The refusal a client sees: Discord's 503 with `retry_after` (seconds).
pub(crate) fn refused(ownership: &Ownership, e: &OwnershipError) -> ApiError {
    tracing::debug!(error = %e, "refused: not this node's to serve");
    ApiError::Unavailable {
        retry_after: e.retry_after(ownership.config()).as_secs_f64(),
    }
}
