//! Handles to live gateway sessions and the per-user index of them.
//!
//! A session's inbound queue is a bounded channel: fan-out uses `try_send`, so a slow client
//! can never make a guild actor wait or grow memory. When the queue is full the session is
//! marked overflowed and its connection closes with a resumable code; the client resumes and
//! replays from its buffer (or re-identifies).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dashmap::DashMap;
use tokio::sync::{Notify, mpsc};

use super::subscriptions::Subscriptions;
use crate::events::Dispatch;
use crate::gateway::intents::Intents;
use crate::id::{GuildId, UserId};

/// Process-unique session number (the wire `session_id` is a random string mapped to it).
pub type SessionKey = u64;

#[derive(Debug, Default)]
pub struct Overflow {
    tripped: AtomicBool,
    notify: Notify,
}

impl Overflow {
    pub fn trip(&self) {
        if !self.tripped.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    pub fn is_tripped(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }

    /// Resolves once the queue has overflowed.
    pub async fn wait(&self) {
        while !self.is_tripped() {
            self.notify.notified().await;
        }
    }
}

/// Tripped by an administrator (account disabled): the session closes its connection with
/// `4004 Authentication failed` and ends, whether connected or parked for RESUME.
#[derive(Debug, Default)]
pub struct KillSwitch {
    tripped: AtomicBool,
    notify: Notify,
}

impl KillSwitch {
    pub fn trip(&self) {
        if !self.tripped.swap(true, Ordering::AcqRel) {
            self.notify.notify_waiters();
        }
    }

    pub fn is_tripped(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }

    /// Resolves once tripped (also when tripped before the call).
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_tripped() {
                return;
            }
            notified.await;
        }
    }
}

/// What actors hold to reach a session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub key: SessionKey,
    pub user_id: UserId,
    pub bot: bool,
    pub intents: Intents,
    sink: Sink,
    overflow: Arc<Overflow>,
    kill: Arc<KillSwitch>,
}

/// Where a session's events go: its own queue (a session on this node), or the relay to the
/// node whose socket it is (cluster mode; see `actors::remote`).
#[derive(Debug, Clone)]
enum Sink {
    Local(mpsc::Sender<Arc<Dispatch>>),
    Remote {
        relay: Arc<super::remote::NodeRelay>,
        /// The session's key on its own node.
        key: SessionKey,
        /// The guild it subscribed to (one remote handle per guild subscription).
        guild: GuildId,
    },
}

impl SessionHandle {
    pub fn new(
        key: SessionKey,
        user_id: UserId,
        bot: bool,
        intents: Intents,
        capacity: usize,
    ) -> (Self, mpsc::Receiver<Arc<Dispatch>>, Arc<Overflow>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let overflow = Arc::new(Overflow::default());
        (
            Self {
                key,
                user_id,
                bot,
                intents,
                sink: Sink::Local(tx),
                overflow: overflow.clone(),
                kill: Arc::default(),
            },
            rx,
            overflow,
        )
    }

    /// A session whose socket is on another node, as its guilds' owner holds it: events for it
    /// go to `relay`, addressed to `remote_key` (its key there); `key` is unique on this node.
    pub(crate) fn remote(
        key: SessionKey,
        remote_key: SessionKey,
        guild: GuildId,
        user_id: UserId,
        bot: bool,
        intents: Intents,
        relay: Arc<super::remote::NodeRelay>,
    ) -> Self {
        Self {
            key,
            user_id,
            bot,
            intents,
            sink: Sink::Remote {
                relay,
                key: remote_key,
                guild,
            },
            overflow: Arc::default(),
            kill: Arc::default(),
        }
    }

    /// The session's key on the node its socket is on (for a local session, `key`): how a
    /// session names itself to a guild owner on another node.
    pub fn origin_key(&self) -> SessionKey {
        match &self.sink {
            Sink::Local(_) => self.key,
            Sink::Remote { key, .. } => *key,
        }
    }

    /// Whether the session's socket is on this node (not a remote session held by an owner).
    pub fn is_local(&self) -> bool {
        matches!(self.sink, Sink::Local(_))
    }

    /// Whether this session's intents let it see the event.
    pub fn wants(&self, event: &Dispatch) -> bool {
        event
            .intent
            .is_none_or(|needed| self.intents.intersects(needed))
    }

    /// Whether this session gets a GUILD_MEMBER_ADD/UPDATE/REMOVE about `subject`.
    ///
    /// Bots follow Discord's intent rule (GUILD_MEMBERS, privileged). User sessions (Discord's
    /// web client, Spacebar's clients) send no intents and keep their member lists and role
    /// colours from these events, so they get them anyway — in guilds of at most
    /// `small_guild_limit` members (`small_guild` says whether this one is), and always when
    /// the member is themselves (their own roles and nickname).
    pub fn wants_member_event(&self, event: &Dispatch, subject: UserId, small_guild: bool) -> bool {
        self.wants(event) || (!self.bot && (small_guild || subject == self.user_id))
    }

    /// The switch that ends this session (see [`SessionRegistry::disconnect_user`]).
    pub fn kill_switch(&self) -> Arc<KillSwitch> {
        self.kill.clone()
    }

    /// Queues an event without waiting. Returns false when the session is gone.
    pub fn deliver(&self, event: &Arc<Dispatch>) -> bool {
        let tx = match &self.sink {
            Sink::Local(tx) => tx,
            Sink::Remote { relay, key, guild } => {
                // MESSAGE_CONTENT redaction is decided here, on the owner, like every filter.
                let data = event
                    .payload_for(self.user_id, self.bot, self.intents)
                    .clone();
                return relay.push(event, *guild, data, self.user_id, *key);
            }
        };
        match tx.try_send(event.clone()) {
            Ok(()) => {
                crate::metrics::event_fanned_out();
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.trip();
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn is_closed(&self) -> bool {
        match &self.sink {
            Sink::Local(tx) => tx.is_closed(),
            Sink::Remote { relay, .. } => relay.is_closed(),
        }
    }

    /// Events queued and not yet written to the socket (here; a remote session's queue is
    /// on its own node).
    pub fn queued(&self) -> usize {
        match &self.sink {
            Sink::Local(tx) => tx.max_capacity() - tx.capacity(),
            Sink::Remote { .. } => 0,
        }
    }
}

/// All live sessions by user: used for user-scoped events (DMs, USER_UPDATE, GUILD_CREATE after a
/// join, GUILD_DELETE after a leave).
#[derive(Debug, Default)]
pub struct SessionRegistry {
    by_user: DashMap<UserId, Vec<SessionHandle>>,
    /// The guilds each session holds, and which run of each guild's actor subscribed it (so a
    /// guild actor that starts again can subscribe them again; see [`Subscriptions`]).
    pub subscriptions: Subscriptions,
    /// Cluster mode: carries user-scoped events to the user's sessions on other nodes.
    beyond: std::sync::OnceLock<UserRelay>,
    /// Cluster mode: told when a user's first session arrives here and when their last one
    /// leaves (this node then subscribes to, or drops, the user's events subject).
    here: std::sync::OnceLock<UsersHere>,
}

/// See [`SessionRegistry::track_users_here`].
struct UsersHere {
    arrived: Box<dyn Fn(UserId) + Send + Sync>,
    left: Box<dyn Fn(UserId) + Send + Sync>,
}

impl std::fmt::Debug for UsersHere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UsersHere")
    }
}

/// Hands a user-scoped event to the other nodes of a cluster (see `actors::remote`).
pub struct UserRelay(Box<RelayFn>);

type RelayFn = dyn Fn(UserId, &Arc<Dispatch>) + Send + Sync;

impl std::fmt::Debug for UserRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserRelay")
    }
}

impl SessionRegistry {
    pub fn add(&self, handle: SessionHandle) {
        let user = handle.user_id;
        let mut list = self.by_user.entry(user).or_default();
        list.push(handle);
        if list.len() == 1 {
            self.arrived(user);
        }
    }

    /// Adds the session unless its user already has `max` (checked and added under the
    /// user's entry lock, so concurrent IDENTIFYs cannot together pass the limit).
    pub fn try_add(&self, handle: SessionHandle, max: usize) -> bool {
        let mut list = self.by_user.entry(handle.user_id).or_default();
        if list.len() >= max {
            return false;
        }
        let user = handle.user_id;
        list.push(handle);
        if list.len() == 1 {
            self.arrived(user);
        }
        true
    }

    /// Cluster mode: `arrived` runs when a user's first session registers here, `left` when
    /// their last one is removed (set once, at start). Both run under the registry's lock of
    /// that user, so one user's calls come in order; they must not block.
    pub fn track_users_here(
        &self,
        arrived: impl Fn(UserId) + Send + Sync + 'static,
        left: impl Fn(UserId) + Send + Sync + 'static,
    ) {
        let _ = self.here.set(UsersHere {
            arrived: Box::new(arrived),
            left: Box::new(left),
        });
    }

    fn arrived(&self, user: UserId) {
        if let Some(here) = self.here.get() {
            (here.arrived)(user);
        }
    }

    pub fn remove(&self, user: UserId, key: SessionKey) {
        self.subscriptions.forget_session(key);
        if let dashmap::Entry::Occupied(mut e) = self.by_user.entry(user) {
            e.get_mut().retain(|h| h.key != key);
            if e.get().is_empty() {
                // Told before the entry goes, under its lock: a session of the same user
                // registering meanwhile is told as arrived after this, not before.
                if let Some(here) = self.here.get() {
                    (here.left)(user);
                }
                e.remove();
            }
        }
    }

    pub fn sessions_of(&self, user: UserId) -> Vec<SessionHandle> {
        self.by_user
            .get(&user)
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Session `key` of `user`, if it is still here.
    pub fn get(&self, user: UserId, key: SessionKey) -> Option<SessionHandle> {
        self.by_user
            .get(&user)
            .and_then(|list| list.iter().find(|h| h.key == key).cloned())
    }

    pub fn count_of(&self, user: UserId) -> usize {
        self.by_user.get(&user).map_or(0, |v| v.len())
    }

    /// Delivers to the session `key` of `user`, if it is still here (events relayed from
    /// another node, already filtered there). False when it is gone.
    pub fn deliver_to(&self, user: UserId, key: SessionKey, event: &Arc<Dispatch>) -> bool {
        self.by_user
            .get(&user)
            .and_then(|list| list.iter().find(|h| h.key == key).map(|h| h.deliver(event)))
            .unwrap_or(false)
    }

    /// Cluster mode: from now on user-scoped events also go to `relay` (set once, at start).
    pub fn relay_users_beyond(
        &self,
        relay: impl Fn(UserId, &Arc<Dispatch>) + Send + Sync + 'static,
    ) {
        let _ = self.beyond.set(UserRelay(Box::new(relay)));
    }

    /// Delivers to every session of `user` that wants the event, on every node.
    pub fn send_to_user(&self, user: UserId, event: &Arc<Dispatch>) {
        self.send_to_user_here(user, event);
        if let Some(relay) = self.beyond.get() {
            (relay.0)(user, event);
        }
    }

    /// [`SessionRegistry::send_to_user`] for this node's sessions only.
    pub fn send_to_user_here(&self, user: UserId, event: &Arc<Dispatch>) {
        if let Some(list) = self.by_user.get(&user) {
            for h in list.iter().filter(|h| h.wants(event)) {
                h.deliver(event);
            }
        }
    }

    pub fn total(&self) -> usize {
        self.by_user.iter().map(|e| e.len()).sum()
    }

    /// Events queued across all sessions, and the deepest single queue (for `/metrics`; walks
    /// every session, so it is for scrapes, not hot paths).
    pub fn queue_depths(&self) -> (usize, usize) {
        self.by_user
            .iter()
            .flat_map(|e| {
                e.value()
                    .iter()
                    .map(SessionHandle::queued)
                    .collect::<Vec<_>>()
            })
            .fold((0, 0), |(sum, max), q| (sum + q, max.max(q)))
    }

    /// Ends every session of `user` (connected or parked): used whenever the account's tokens
    /// are revoked (disabled by an administrator, password change, logout, bot token reset),
    /// since a session outlives the token it identified with. Returns how many were told to close. A session that registers after this
    /// call re-checks the account (see `gateway::session::identify`), so none slips through.
    pub fn disconnect_user(&self, user: UserId) -> usize {
        let handles = self.sessions_of(user);
        for h in &handles {
            h.kill.trip();
        }
        handles.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_queue_trips_overflow_instead_of_blocking() {
        let (h, mut rx, overflow) = SessionHandle::new(1, UserId::new(1), false, Intents::all(), 2);
        let ev = Dispatch::new("TYPING_START", &serde_json::json!({}), true);
        assert!(h.deliver(&ev));
        assert!(h.deliver(&ev));
        assert!(!overflow.is_tripped());
        assert!(h.deliver(&ev));
        assert!(overflow.is_tripped());
        overflow.wait().await;
        assert!(rx.recv().await.is_some());
        drop(rx);
        assert!(!h.deliver(&ev));
    }

    #[tokio::test]
    async fn disconnect_user_trips_every_session_of_the_user() {
        let reg = SessionRegistry::default();
        let (u, other) = (UserId::new(7), UserId::new(8));
        let (h1, _r1, _) = SessionHandle::new(1, u, false, Intents::GUILDS, 4);
        let (h2, _r2, _) = SessionHandle::new(2, u, false, Intents::GUILDS, 4);
        let (h3, _r3, _) = SessionHandle::new(3, other, false, Intents::GUILDS, 4);
        let (k1, k3) = (h1.kill_switch(), h3.kill_switch());
        reg.add(h1);
        reg.add(h2);
        reg.add(h3);
        let waiter = tokio::spawn(async move { k1.wait().await });
        assert_eq!(reg.disconnect_user(u), 2);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert!(!k3.is_tripped());
    }

    #[test]
    fn user_sessions_get_member_events_in_small_guilds_and_their_own_always() {
        let ev = Dispatch::new("GUILD_MEMBER_UPDATE", &serde_json::json!({}), true);
        let (me, other) = (UserId::new(1), UserId::new(2));
        let (user, _r1, _) = SessionHandle::new(1, me, false, Intents::IMPLICIT_DEFAULT, 4);
        let (bot, _r2, _) = SessionHandle::new(2, me, true, Intents::GUILDS, 4);
        let (bot_members, _r3, _) =
            SessionHandle::new(3, me, true, Intents::GUILDS | Intents::GUILD_MEMBERS, 4);
        assert!(user.wants_member_event(&ev, other, true));
        assert!(!user.wants_member_event(&ev, other, false));
        assert!(user.wants_member_event(&ev, me, false));
        assert!(!bot.wants_member_event(&ev, other, true));
        assert!(!bot.wants_member_event(&ev, me, true));
        assert!(bot_members.wants_member_event(&ev, other, false));
    }

    #[test]
    fn registry_indexes_by_user() {
        let reg = SessionRegistry::default();
        let u = UserId::new(5);
        let (h1, _r1, _) = SessionHandle::new(1, u, false, Intents::GUILDS, 4);
        let (h2, _r2, _) = SessionHandle::new(2, u, false, Intents::GUILDS, 4);
        reg.add(h1);
        reg.add(h2);
        assert_eq!(reg.count_of(u), 2);
        reg.remove(u, 1);
        assert_eq!(reg.sessions_of(u)[0].key, 2);
        reg.remove(u, 2);
        assert_eq!(reg.total(), 0);
    }

    #[test]
    fn a_users_first_arrival_and_last_departure_are_told_once() {
        let reg = SessionRegistry::default();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (a, l) = (log.clone(), log.clone());
        reg.track_users_here(
            move |u| a.lock().unwrap().push(format!("+{u}")),
            move |u| l.lock().unwrap().push(format!("-{u}")),
        );
        let (u, v) = (UserId::new(5), UserId::new(6));
        let (h1, _r1, _) = SessionHandle::new(1, u, false, Intents::GUILDS, 4);
        let (h2, _r2, _) = SessionHandle::new(2, u, false, Intents::GUILDS, 4);
        let (h3, _r3, _) = SessionHandle::new(3, v, false, Intents::GUILDS, 4);
        assert!(reg.try_add(h1, 5));
        reg.add(h2);
        reg.add(h3);
        reg.remove(u, 1);
        reg.remove(u, 2);
        reg.remove(u, 2);
        reg.remove(v, 3);
        assert_eq!(*log.lock().unwrap(), vec!["+5", "+6", "-5", "-6"]);
    }
}
