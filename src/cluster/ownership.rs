//! Ownership of actors across nodes: a guild (with its channels), a DM/group-DM channel and a
//! user are each owned by the rendezvous winner ([`placement::owner_of`]) among the live
//! members, and that node runs the actor only while it holds the lease `guild.<id>` /
//! `channel.<id>` / `user.<id>` in the cluster's key-value bucket.
//!
//! Why both HRW and a lease: HRW tells every node, without asking anyone, where an id lives;
//! the lease makes sure two nodes never *both* run it while their member lists disagree (a
//! node paused or cut from NATS still thinks it is the owner). The lease's KV revision is the
//! fencing token: every use of a held lease goes through [`Ownership::check`], which refuses
//! once the last renewal is older than the trusted window — before the TTL lets anyone else
//! claim it.
//!
//! One renewal loop per node renews every lease it holds (a CAS update per key, every third of
//! the TTL). A lease that can no longer be renewed, or whose id another member now wins after a
//! membership change, is reported to the `on_lost` hook, which stops the actor; the new owner
//! reloads the state from the store, as after a supervised restart. A lease handed to a new
//! owner is handed over only once its actors have stopped and their last writes landed (within
//! a renewal period), so the new owner's load sees them; the hand-over leaves this node's last
//! write stamp in the lease, and the new owner stamps its writes after it (`store::stamp`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use bytes::Bytes;
use dashmap::DashMap;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::watch;

use super::config::ClusterConfig;
use super::lease::{self, LeaseError};
use super::membership::Members;
use super::placement;
use crate::store::stamp::WriteStamp;

/// What an ownership lease is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owned {
    /// A guild and every channel in it.
    Guild(u64),
    /// A DM or group-DM channel (no guild).
    Channel(u64),
    /// A user's own actor (relationships, settings, read states).
    User(u64),
}

impl Owned {
    /// The id whose rendezvous weight decides the owner.
    pub fn id(self) -> u64 {
        match self {
            Self::Guild(id) | Self::Channel(id) | Self::User(id) => id,
        }
    }

    /// The lease's key in the bucket.
    pub fn key(self) -> String {
        match self {
            Self::Guild(id) => format!("guild.{id}"),
            Self::Channel(id) => format!("channel.{id}"),
            Self::User(id) => format!("user.{id}"),
        }
    }
}

/// Why this node may not run (or keep running) an actor right now.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OwnershipError {
    /// Another live member wins the id: the request belongs there.
    #[error("{what:?} is owned by node {owner}")]
    NotOwner { what: Owned, owner: String },
    /// This node wins the id, but the previous owner still holds the lease (it releases it
    /// within a renewal period, or it expires within the TTL).
    #[error("{0:?} is moving to this node")]
    Moving(Owned),
    /// The lease could not be claimed or renewed in time (NATS unreachable).
    #[error("the lease of {0:?} is not held")]
    NotHeld(Owned),
    /// This node sees no live member at all (not even itself): it is cut from NATS.
    #[error("no live cluster members")]
    NoMembers,
}

impl OwnershipError {
    /// How long a refused client should wait before retrying.
    pub fn retry_after(&self, config: &ClusterConfig) -> Duration {
        match self {
            Self::NotOwner { .. } => Duration::from_millis(100),
            _ => config.renew_every(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Held {
    /// The current revision: the fencing token.
    revision: u64,
    /// Until when this node may act on it (last renewal + the trusted window).
    valid_until: Instant,
    /// Being handed to the next owner: no longer renewed; held only until the writes its
    /// actors started have landed (see [`Ownership::hand_over`]).
    leaving: bool,
}

/// Stops what a lost lease covered; done when it has stopped (see [`Ownership::on_lost`]).
type LostHook = Box<dyn Fn(Owned) -> BoxFuture<'static, ()> + Send + Sync>;

/// The ownership leases this node holds.
pub struct Ownership {
    node: String,
    config: ClusterConfig,
    store: kv::Store,
    members: Arc<Members>,
    held: DashMap<Owned, Held>,
    /// Serializes claims of one id (concurrent first requests claim once).
    claiming: DashMap<Owned, Arc<tokio::sync::Mutex<()>>>,
    on_lost: OnceLock<LostHook>,
}

impl Ownership {
    pub(super) fn new(
        node: String,
        config: ClusterConfig,
        store: kv::Store,
        members: Arc<Members>,
    ) -> Self {
        Self {
            node,
            config,
            store,
            members,
            held: DashMap::new(),
            claiming: DashMap::new(),
            on_lost: OnceLock::new(),
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Sets what runs when a lease is lost or released: it stops the actors at once, and the
    /// future it returns is done when they have stopped (their writes landed). A lease given
    /// up to a new owner is released only after that, within a renewal period. Set once, at
    /// start.
    pub fn on_lost(&self, hook: impl Fn(Owned) -> BoxFuture<'static, ()> + Send + Sync + 'static) {
        let _ = self.on_lost.set(Box::new(hook));
    }

    /// The live member that owns `what` (this node's view).
    pub fn owner_of(&self, what: Owned) -> Result<String, OwnershipError> {
        let live = self.members.live();
        let names: Vec<&str> = live.iter().map(|m| m.name.as_str()).collect();
        placement::owner_of(what.id(), &names)
            .map(str::to_string)
            .ok_or(OwnershipError::NoMembers)
    }

    /// The member lists the watch went through since the last call (see
    /// [`Members::take_changes`]); one reader per node (the moves watcher) should call it.
    pub fn take_member_changes(&self) -> super::membership::Changes {
        self.members.take_changes()
    }

    /// The names of the live members, sorted.
    pub fn member_names(&self) -> Vec<String> {
        self.members.live().into_iter().map(|m| m.name).collect()
    }

    /// The live node that `id` is placed on (no lease involved): for what is counted or kept
    /// at one node without an actor, such as an account's rate-limit buckets.
    pub fn placed(&self, id: u64) -> Result<String, OwnershipError> {
        self.owner_of(Owned::User(id))
    }

    /// Whether this node is the owner of `what` by placement (lease or not).
    pub fn is_mine(&self, what: Owned) -> bool {
        self.owner_of(what).is_ok_and(|o| o == self.node)
    }

    /// The fencing token of a lease this node holds and may act on now.
    pub fn check(&self, what: Owned) -> Result<u64, OwnershipError> {
        let owner = self.owner_of(what)?;
        if owner != self.node {
            return Err(OwnershipError::NotOwner { what, owner });
        }
        match self.held.get(&what) {
            Some(h) if h.valid_until > Instant::now() && !h.leaving => Ok(h.revision),
            _ => Err(OwnershipError::NotHeld(what)),
        }
    }

    /// Whether this node holds the lease of `what` and may still trust it: the fence an actor
    /// checks before each message and each write, so one whose lease lapsed under it (paused,
    /// cut from NATS) stops writing before the TTL lets another node claim it. No member
    /// lookup: while the lease is held here, nobody else can hold it.
    pub fn holds(&self, what: Owned) -> bool {
        self.held
            .get(&what)
            .is_some_and(|h| h.valid_until > Instant::now())
    }

    /// Holds the lease of `what`, claiming it when this node is its owner and nobody holds it;
    /// returns the fencing token.
    pub async fn acquire(&self, what: Owned) -> Result<u64, OwnershipError> {
        match self.check(what) {
            Err(OwnershipError::NotHeld(_)) => {}
            done => return done,
        }
        let lock = self.claiming.entry(what).or_default().clone();
        let _claiming = lock.lock().await;
        match self.check(what) {
            Err(OwnershipError::NotHeld(_)) => {}
            done => return done,
        }
        let started = Instant::now();
        let claimed = tokio::time::timeout(
            self.config.renew_every(),
            lease::claim_or_take(&self.store, &what.key(), Bytes::from(self.node.clone())),
        )
        .await;
        self.claiming.remove_if(&what, |_, l| Arc::ptr_eq(l, &lock));
        match claimed {
            Ok(Ok(Some(lease::Claimed { revision, note }))) => {
                // Handed over: this node's writes must come after the old owner's last one.
                if let Some(floor) = note.as_deref().and_then(parse_stamp) {
                    WriteStamp::follow(floor);
                }
                self.held.insert(
                    what,
                    Held {
                        revision,
                        valid_until: started + self.config.trust_for(),
                        leaving: false,
                    },
                );
                tracing::debug!(?what, revision, "ownership lease claimed");
                Ok(revision)
            }
            Ok(Ok(None)) => Err(OwnershipError::Moving(what)),
            Ok(Err(e)) => {
                tracing::warn!(?what, error = %e, "ownership lease claim failed");
                Err(OwnershipError::NotHeld(what))
            }
            Err(_) => Err(OwnershipError::NotHeld(what)),
        }
    }

    /// How many leases this node holds (for health figures).
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// Drops `what` from the held set and tells the hook; the future is done when what the
    /// lease covered has stopped (at once when nothing ran).
    fn lose(&self, what: Owned) -> BoxFuture<'static, ()> {
        match self.held.remove(&what).and(self.on_lost.get()) {
            Some(hook) => hook(what),
            None => Box::pin(async {}),
        }
    }

    /// Gives `what` up to the next owner: stops its actors at once, waits (within a renewal
    /// period) until the writes they started have landed, then hands the lease over with this
    /// node's last write stamp in it, so the next owner's load sees every one of those writes
    /// and its own writes are stamped after them, whatever its clock says. Meanwhile the lease stays held, not renewed: those
    /// writes are still this node's to acknowledge (see `Services::write_stamp`), while every
    /// new request goes to the next owner, which retries its claim until the release. The lease
    /// is marked leaving before the future is first polled.
    fn hand_over(self: &Arc<Self>, what: Owned, revision: u64) -> impl Future<Output = ()> + use<> {
        let stopped = match self.held.get_mut(&what) {
            Some(mut h) if !h.leaving => {
                h.leaving = true;
                drop(h);
                self.on_lost.get().map(|hook| hook(what))
            }
            _ => None,
        };
        let me = Arc::clone(self);
        async move {
            let started = Instant::now();
            if let Some(stopped) = stopped
                && tokio::time::timeout(me.config.renew_every(), stopped)
                    .await
                    .is_err()
            {
                tracing::warn!(
                    ?what,
                    "actors still stopping; releasing the lease regardless"
                );
            }
            me.held.remove_if(&what, |_, h| h.revision == revision);
            // The last stamp this node's writes used, for the next owner to follow.
            let last = WriteStamp::now().micros().to_string();
            let _ = lease::hand_over(&me.store, &what.key(), last.as_bytes(), revision).await;
            tracing::debug!(
                ?what,
                waited_ms = started.elapsed().as_millis(),
                "ownership lease released to the new owner"
            );
        }
    }

    /// The leases held and not being handed over.
    fn staying(&self) -> Vec<(Owned, Held)> {
        self.held
            .iter()
            .filter(|e| !e.leaving)
            .map(|e| (*e.key(), *e.value()))
            .collect()
    }

    /// One pass over the held leases: give up what another member now wins, renew the rest.
    /// A hand-over runs beside the pass, so waiting for its actors never delays the renewal
    /// of the leases kept.
    async fn renew_all(self: &Arc<Self>) {
        let held = self.staying();
        let (moving, kept): (Vec<_>, Vec<_>) =
            held.into_iter().partition(|(what, _)| !self.is_mine(*what));
        for (what, h) in moving {
            // Membership changed: the new owner waits for this release (or the TTL).
            tokio::spawn(self.hand_over(what, h.revision));
        }
        futures::stream::iter(kept)
            .for_each_concurrent(RENEW_CONCURRENCY, |(what, h)| self.renew_one(what, h))
            .await;
    }

    async fn renew_one(&self, what: Owned, h: Held) {
        let started = Instant::now();
        match lease::renew(
            &self.store,
            &what.key(),
            Bytes::from(self.node.clone()),
            h.revision,
        )
        .await
        {
            Ok(revision) => {
                if let Some(mut entry) = self.held.get_mut(&what) {
                    *entry = Held {
                        revision,
                        valid_until: started + self.config.trust_for(),
                        leaving: false,
                    };
                }
            }
            // Someone else may hold it already: stop at once, with nothing to wait for.
            Err(LeaseError::Lost(key)) => {
                tracing::warn!(%key, "ownership lease lost");
                drop(self.lose(what));
            }
            Err(e) => {
                tracing::warn!(?what, error = %e, "ownership lease renewal failed");
                if h.valid_until <= Instant::now() {
                    drop(self.lose(what));
                }
            }
        }
    }

    /// Gives every lease up (a clean stop): the next owners need not wait for the TTL.
    async fn release_all(self: &Arc<Self>) {
        let held = self.staying();
        futures::stream::iter(held)
            .for_each_concurrent(RENEW_CONCURRENCY, |(what, h)| {
                self.hand_over(what, h.revision)
            })
            .await;
    }
}

/// A hand-over note: the old owner's last write stamp, in decimal microseconds.
fn parse_stamp(note: &[u8]) -> Option<WriteStamp> {
    std::str::from_utf8(note)
        .ok()?
        .parse()
        .ok()
        .map(WriteStamp::from_micros)
}

/// How many leases one renewal pass renews at once.
const RENEW_CONCURRENCY: usize = 64;

/// Renews this node's ownership leases every renewal period until `stop`, then releases them;
/// and, beside it, drops leases whose trusted window ran out (a renewal pass stalls while NATS
/// is away, so the lapse must not wait for it). A lapsed lease already fails
/// [`Ownership::check`]; dropping it also stops its actors.
pub(super) fn spawn_renewal(
    ownership: Arc<Ownership>,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut stop_renewing = stop.clone();
    let renewing = ownership.clone();
    let renewal = tokio::spawn(async move {
        let every = renewing.config.renew_every();
        loop {
            tokio::select! {
                _ = stop_renewing.changed() => break,
                _ = tokio::time::sleep(every) => {}
            }
            if tokio::time::timeout(renewing.config.trust_for(), renewing.renew_all())
                .await
                .is_err()
            {
                tracing::warn!("ownership renewal pass timed out");
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), renewing.release_all()).await;
    });
    let mut stop_sweeping = stop;
    let sweep = tokio::spawn(async move {
        let every = ownership.config.renew_every() / 4;
        loop {
            tokio::select! {
                _ = stop_sweeping.changed() => break,
                _ = tokio::time::sleep(every) => {}
            }
            let now = Instant::now();
            let lapsed: Vec<Owned> = ownership
                .held
                .iter()
                .filter(|e| e.valid_until <= now)
                .map(|e| *e.key())
                .collect();
            for what in lapsed {
                tracing::warn!(?what, "ownership lease lapsed (not renewed in time)");
                drop(ownership.lose(what));
            }
        }
    });
    vec![renewal, sweep]
}
