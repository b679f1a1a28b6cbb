//! Guilds that move start on their new owner at once.
//!
//! When the members change (a node joins, leaves or dies), some guilds get a new owner by
//! placement. Their actor used to start there only when something reached it — usually the
//! next message posted — and the notice of that start is what subscribes the other nodes'
//! sessions again (`resubscribe`). That first event went out before they were back, so every
//! remote session missed it. Now each node, when it sees the members change, starts at their
//! new owner the guilds its own sessions hold, so the sessions are back (GUILD_DELETE
//! `unavailable`, then GUILD_CREATE, as after an outage) before the guild's next event.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;

use super::{CommandReply, GuildCommand, Remote};
use crate::actors::Services;
use crate::cluster::{Ownership, placement};
use crate::id::GuildId;

/// How often a node compares the members with those it last saw. A node that joins and
/// leaves again between two looks is never seen, and the guilds it owned meanwhile are not
/// started elsewhere until their next event: the period bounds that window (a look is one read
/// of the member table, so a short one costs little). Comparing each held guild with the owner
/// its sessions were subscribed to would close the window; that is not done yet.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// How often a guild is asked to start before this node gives up on it. The new owner refuses
/// while the previous owner's lease has not lapsed (a killed node's lasts its TTL); the backoff
/// (0.2, 0.4 … 3.2 s) covers about 22 s in all.
const WAKE_TRIES: u32 = 10;

/// Most guilds one node starts at once after a change.
const WAKE_CONCURRENCY: usize = 32;

/// Watches the members until the node stops, starting the moved guilds this node holds.
pub(super) fn spawn(services: Weak<Services>, remote: Arc<Remote>, ownership: Arc<Ownership>) {
    tokio::spawn(async move {
        let mut stop = remote.stop.clone();
        let mut known = ownership.member_names();
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => {}
            }
            let now = ownership.member_names();
            if now == known || now.is_empty() {
                continue;
            }
            let before = std::mem::replace(&mut known, now.clone());
            let Some(services) = services.upgrade() else {
                break;
            };
            let moved = moved_guilds(&services.sessions.subscriptions.guilds(), &before, &now);
            if moved.is_empty() {
                continue;
            }
            tracing::info!(
                guilds = moved.len(),
                members = ?now,
                "guilds held here moved; starting them on their new owners"
            );
            let remote = remote.clone();
            tokio::spawn(async move {
                futures::stream::iter(moved)
                    .for_each_concurrent(WAKE_CONCURRENCY, |(guild, owner)| {
                        wake(&services, &remote, guild, owner)
                    })
                    .await;
            });
        }
    });
}

/// The guilds of `held` whose owner differs between the member lists `before` and `now`, with
/// their new owner.
fn moved_guilds(held: &[GuildId], before: &[String], now: &[String]) -> Vec<(GuildId, String)> {
    held.iter()
        .filter_map(|g| {
            let owner = placement::owner_of(g.get(), now)?;
            (placement::owner_of(g.get(), before) != Some(owner)).then(|| (*g, owner.to_string()))
        })
        .collect()
}

/// Starts `guild` on `owner` (this node or another), retrying while it refuses.
async fn wake(services: &Arc<Services>, remote: &Remote, guild: GuildId, owner: String) {
    for attempt in 0..WAKE_TRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
        }
        let awake = if owner == remote.node {
            services.guild(guild).await.is_ok()
        } else {
            let command = GuildCommand::Wake { guild: guild.get() };
            matches!(
                remote
                    .request(&owner, command, services.call_timeout())
                    .await,
                Ok(CommandReply::Awake)
            )
        };
        if awake {
            tracing::debug!(%guild, %owner, attempt, "moved guild started");
            return;
        }
    }
    tracing::warn!(%guild, %owner, "moved guild did not start; its sessions here wait for its next start");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_guilds_whose_owner_changed_move() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (two, three) = (names(&["n1", "n2"]), names(&["n1", "n2", "n3"]));
        let held: Vec<GuildId> = (1..=300).map(GuildId::new).collect();
        let moved = moved_guilds(&held, &two, &three);
        // A joining node takes about a third, and only from the others.
        assert!((60..140).contains(&moved.len()), "{}", moved.len());
        assert!(moved.iter().all(|(_, owner)| owner == "n3"));
        // Leaving again moves exactly those back.
        let back = moved_guilds(&held, &three, &two);
        assert_eq!(
            back.iter().map(|(g, _)| *g).collect::<Vec<_>>(),
            moved.iter().map(|(g, _)| *g).collect::<Vec<_>>()
        );
        assert!(moved_guilds(&held, &three, &three).is_empty());
    }
}
