//! Which of this node's sessions hold which guild, and from which run of the guild's actor.
//!
//! Why it exists: a guild actor keeps its subscribed sessions in memory only. When the actor
//! is started again — after a supervised crash, a lease that lapsed, or a move to another node
//! in a cluster — the new run starts with nobody subscribed, and the sessions that held the
//! guild would silently stop getting its events. Each node therefore records, for its own
//! sessions, the guilds they hold and the [`Incarnation`] (one run of one guild actor) that
//! subscribed them. A guild actor that starts subscribes again every session recorded under
//! another incarnation: on its own node directly, on other nodes through the notice it
//! publishes (see `actors::remote`). The session sees what Discord sends when a guild comes
//! back from an outage: GUILD_DELETE with `unavailable: true`, then a fresh GUILD_CREATE.

use std::collections::HashMap;

use dashmap::DashMap;

use super::sessions::SessionKey;
use crate::id::{GuildId, UserId};

/// One run of one guild actor: random, so two runs (on one node or two) never share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Incarnation(pub u64);

impl Incarnation {
    pub fn new() -> Self {
        Self(rand::random::<u64>() | 1)
    }
}

impl Default for Incarnation {
    fn default() -> Self {
        Self::new()
    }
}

/// A session's hold on a guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hold {
    user: UserId,
    incarnation: Incarnation,
}

/// This node's sessions by the guilds they hold (see the module docs).
#[derive(Debug, Default)]
pub struct Subscriptions {
    by_guild: DashMap<GuildId, HashMap<SessionKey, Hold>>,
    /// The reverse, so a session that ends leaves nothing behind.
    by_session: DashMap<SessionKey, Vec<GuildId>>,
}

impl Subscriptions {
    /// Session `key` of `user` holds `guild`, subscribed by its run `incarnation`.
    pub fn record(&self, guild: GuildId, user: UserId, key: SessionKey, incarnation: Incarnation) {
        let fresh = self
            .by_guild
            .entry(guild)
            .or_default()
            .insert(key, Hold { user, incarnation })
            .is_none();
        if fresh {
            self.by_session.entry(key).or_default().push(guild);
        }
    }

    /// Session `key` no longer holds `guild` (it left, or was removed).
    pub fn forget(&self, guild: GuildId, key: SessionKey) {
        self.drop_hold(guild, key);
        if let dashmap::Entry::Occupied(mut e) = self.by_session.entry(key) {
            e.get_mut().retain(|g| *g != guild);
            if e.get().is_empty() {
                e.remove();
            }
        }
    }

    /// Session `key` ended: it holds nothing any more.
    pub fn forget_session(&self, key: SessionKey) {
        if let Some((_, guilds)) = self.by_session.remove(&key) {
            for guild in guilds {
                self.drop_hold(guild, key);
            }
        }
    }

    fn drop_hold(&self, guild: GuildId, key: SessionKey) {
        if let dashmap::Entry::Occupied(mut e) = self.by_guild.entry(guild) {
            e.get_mut().remove(&key);
            if e.get().is_empty() {
                e.remove();
            }
        }
    }

    /// The sessions holding `guild` that `incarnation` did not subscribe: a previous run's,
    /// which the run `incarnation` must subscribe again.
    pub fn stale(&self, guild: GuildId, incarnation: Incarnation) -> Vec<(UserId, SessionKey)> {
        self.by_guild
            .get(&guild)
            .map(|holds| {
                holds
                    .iter()
                    .filter(|(_, h)| h.incarnation != incarnation)
                    .map(|(k, h)| (h.user, *k))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The guilds this node's sessions hold.
    pub fn guilds(&self) -> Vec<GuildId> {
        self.by_guild.iter().map(|e| *e.key()).collect()
    }

    /// How many (session, guild) holds this node records (for `/metrics`).
    pub fn len(&self) -> usize {
        self.by_guild.iter().map(|e| e.value().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_guild.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_run_finds_the_previous_runs_sessions_and_ended_sessions_leave_nothing() {
        let subs = Subscriptions::default();
        let (g, h) = (GuildId::new(10), GuildId::new(11));
        let (first, second) = (Incarnation(3), Incarnation(5));
        subs.record(g, UserId::new(1), 100, first);
        subs.record(g, UserId::new(2), 200, first);
        subs.record(h, UserId::new(1), 100, first);
        assert_eq!(subs.len(), 3);
        // Run `second` of g subscribed session 200 again already; 100 is still `first`'s.
        subs.record(g, UserId::new(2), 200, second);
        assert_eq!(subs.len(), 3, "a re-subscription replaces the hold");
        assert_eq!(subs.stale(g, second), vec![(UserId::new(1), 100)]);
        assert!(subs.stale(h, first).is_empty());
        subs.forget(g, 100);
        assert!(subs.stale(g, second).is_empty());
        subs.forget_session(100);
        subs.forget_session(200);
        assert!(subs.is_empty());
        assert!(subs.by_session.is_empty());
    }
}
