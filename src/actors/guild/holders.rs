//! The sessions that hold the guild, across runs of its actor: a new run subscribes again the
//! sessions a previous run had (see `actors::subscriptions`), here and — through the notice it
//! publishes — on the other nodes of a cluster.

use serde_json::json;

use super::{State, Subscribed};
use crate::actors::sessions::SessionHandle;
use crate::events::Dispatch;

impl State {
    /// Registers `session` with this run (and, for a session of this node, in the node's
    /// record of who holds what).
    pub(super) fn hold(&mut self, session: SessionHandle) {
        if session.is_local() {
            self.services.sessions.subscriptions.record(
                self.id(),
                session.user_id,
                session.key,
                self.incarnation,
            );
        }
        self.online.insert(session.key, session);
    }

    /// Subscribes `session`: its GUILD_CREATE payload, or `None` when its user is no member.
    pub(super) async fn subscribe(&mut self, session: SessionHandle) -> Option<Subscribed> {
        let user = session.user_id;
        if !self.members.contains_key(&user) {
            return None;
        }
        let guild_create = self.guild_create_json(user).await.ok()?;
        self.hold(session);
        if !self.presences.contains_key(&user) {
            self.set_presence(user, json!({"status": "online", "activities": []}));
        }
        Some(Subscribed {
            guild_create,
            incarnation: self.incarnation,
        })
    }

    /// At start: this node's sessions that a previous run of this guild's actor (here or on
    /// another node) had subscribed get the guild again, as after a Discord outage —
    /// GUILD_DELETE `unavailable: true`, then a fresh GUILD_CREATE (discord.js only takes a
    /// GUILD_CREATE for a guild it marked unavailable). In a cluster, the other nodes are told
    /// to do the same for theirs.
    pub(super) async fn resubscribe_previous_sessions(&mut self) {
        let guild = self.id();
        let subscriptions = &self.services.sessions.subscriptions;
        let stale = subscriptions.stale(guild, self.incarnation);
        let mut again = 0usize;
        for (user, key) in stale {
            let Some(session) = self.services.sessions.get(user, key) else {
                self.services.sessions.subscriptions.forget(guild, key);
                continue;
            };
            let gone = unavailable(guild);
            if session.wants(&gone) && !session.deliver(&gone) {
                continue;
            }
            match self.subscribe(session.clone()).await {
                Some(s) => {
                    let created = Dispatch::new("GUILD_CREATE", &s.guild_create, true);
                    if session.wants(&created) {
                        session.deliver(&created);
                    }
                    again += 1;
                }
                None => {
                    self.services.sessions.subscriptions.forget(guild, key);
                    let removed = Dispatch::new("GUILD_DELETE", &json!({"id": guild}), true);
                    if session.wants(&removed) {
                        session.deliver(&removed);
                    }
                }
            }
        }
        if again > 0 {
            tracing::info!(%guild, sessions = again, "guild back: its sessions here subscribed again");
        }
        if let Some(remote) = self.services.remote.get() {
            remote.announce_start(guild, self.incarnation);
        }
    }
}

/// What a session gets when its guild's actor went away under it.
pub(crate) fn unavailable(guild: crate::id::GuildId) -> std::sync::Arc<Dispatch> {
    Dispatch::new(
        "GUILD_DELETE",
        &json!({"id": guild, "unavailable": true}),
        true,
    )
}
