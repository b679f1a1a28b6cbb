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

/// How often a node looks at the member lists its watch went through. Every list is looked
/// at, not only the latest, so a node that joined and left again between two looks still
/// counts: the guilds it owned meanwhile may have been started there (and stopped here), and
/// are started again at their owner now.
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
        // Lists taken while this node saw no member at all (cut from NATS): kept for the look
        // that sees members again.
        let mut path: Vec<Vec<String>> = Vec::new();
        let mut missed = false;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => {}
            }
            let changes = ownership.take_member_changes();
            path.extend(changes.lists);
            missed |= changes.overflowed;
            let now = ownership.member_names();
            if now.is_empty() || (path.is_empty() && now == known) {
                continue;
            }
            let mut lists = Vec::with_capacity(path.len() + 2);
            lists.push(std::mem::replace(&mut known, now.clone()));
            lists.append(&mut path);
            lists.push(now.clone());
            let Some(services) = services.upgrade() else {
                break;
            };
            let held = services.sessions.subscriptions.guilds();
            let moved = if std::mem::take(&mut missed) {
                owners(&held, &now)
            } else {
                moved_guilds(&held, &lists)
            };
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

/// The guilds of `held` whose owner changed anywhere along the member lists `lists` (oldest
/// first), with their owner under the last list.
fn moved_guilds(held: &[GuildId], lists: &[Vec<String>]) -> Vec<(GuildId, String)> {
    let Some(now) = lists.last() else {
        return Vec::new();
    };
    held.iter()
        .filter(|g| {
            lists
                .windows(2)
                .any(|w| placement::owner_of(g.get(), &w[0]) != placement::owner_of(g.get(), &w[1]))
        })
        .filter_map(|g| Some((*g, placement::owner_of(g.get(), now)?.to_string())))
        .collect()
}

/// Every guild of `held` with its owner under `now`: for when some member lists were missed.
fn owners(held: &[GuildId], now: &[String]) -> Vec<(GuildId, String)> {
    held.iter()
        .filter_map(|g| Some((*g, placement::owner_of(g.get(), now)?.to_string())))
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
        let moved = moved_guilds(&held, &[two.clone(), three.clone()]);
        // A joining node takes about a third, and only from the others.
        assert!((60..140).contains(&moved.len()), "{}", moved.len());
        assert!(moved.iter().all(|(_, owner)| owner == "n3"));
        // Leaving again moves exactly those back.
        let back = moved_guilds(&held, &[three.clone(), two.clone()]);
        let ids = |v: &[(GuildId, String)]| v.iter().map(|(g, _)| *g).collect::<Vec<_>>();
        assert_eq!(ids(&back), ids(&moved));
        assert!(moved_guilds(&held, &[three.clone(), three.clone()]).is_empty());
        // Joining and leaving between two looks: the same guilds, back at their first owner.
        let blink = moved_guilds(&held, &[two.clone(), three, two.clone()]);
        assert_eq!(ids(&blink), ids(&moved));
        assert!(blink.iter().all(|(_, owner)| owner != "n3"));
        assert_eq!(owners(&held, &two).len(), held.len());
    }
}
