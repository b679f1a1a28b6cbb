//! THREAD_LIST_SYNC: a session that gains sight of a channel with active threads (a role given,
//! an overwrite or a role's permissions changed) gets that channel's active threads, as Discord
//! sends them; so does a user client that subscribes to a channel with op 14 `threads: true`.
//!
//! Cost: nothing while the guild has no active thread; else, around a message that may change
//! access, one permission check per (online user, parent channel with active threads).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::State;
use super::threads::is_archived;
use crate::actors::sessions::SessionHandle;
use crate::events::Dispatch;
use crate::id::{ChannelId, UserId};
use crate::model::ChannelRecord;
use crate::permissions::Permissions;

/// For each online user, the channels with active threads they can see.
pub type ThreadAccess = HashMap<UserId, BTreeSet<ChannelId>>;

impl State {
    /// Which parents of active threads each online user sees; `None` when there are no
    /// active threads (nothing to sync, nothing to compute).
    pub(super) fn thread_access(&self) -> Option<ThreadAccess> {
        let parents: BTreeSet<ChannelId> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && !is_archived(c))
            .filter_map(|c| c.parent_id)
            .collect();
        if parents.is_empty() {
            return None;
        }
        let mut access = ThreadAccess::new();
        for s in self.online.values() {
            if access.contains_key(&s.user_id) {
                continue;
            }
            let seen = parents
                .iter()
                .filter(|p| {
                    self.channels.get(p).is_some_and(|c| {
                        self.channel_permissions(s.user_id, c)
                            .contains(Permissions::VIEW_CHANNEL)
                    })
                })
                .copied()
                .collect();
            access.insert(s.user_id, seen);
        }
        Some(access)
    }

    /// After a change: each online user who now sees a channel with active threads they did
    /// not see `before` gets THREAD_LIST_SYNC for those channels.
    pub(super) fn sync_gained_threads(&mut self, before: ThreadAccess) {
        let Some(after) = self.thread_access() else {
            return;
        };
        for (user, seen) in after {
            let had = before.get(&user);
            let gained: Vec<ChannelId> = seen
                .into_iter()
                .filter(|c| !had.is_some_and(|h| h.contains(c)))
                .collect();
            if gained.is_empty() {
                continue;
            }
            let event = Dispatch::new(
                "THREAD_LIST_SYNC",
                &self.thread_list_sync(user, &gained),
                true,
            );
            for s in self.online.values().filter(|s| s.user_id == user) {
                if s.wants(&event) {
                    s.deliver(&event);
                }
            }
        }
    }

    /// Op 14 with `threads: true`: the active threads of `channel` to this session.
    pub(super) fn send_thread_list(&self, handle: &SessionHandle, channel: ChannelId) {
        let event = Dispatch::new(
            "THREAD_LIST_SYNC",
            &self.thread_list_sync(handle.user_id, &[channel]),
            true,
        );
        if handle.wants(&event) {
            handle.deliver(&event);
        }
    }

    /// Discord's THREAD_LIST_SYNC: `channel_ids` synced, their active threads `user` may see,
    /// and `user`'s thread member objects for them.
    fn thread_list_sync(&self, user: UserId, channels: &[ChannelId]) -> Value {
        let mut threads: Vec<&ChannelRecord> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && !is_archived(c))
            .filter(|c| c.parent_id.is_some_and(|p| channels.contains(&p)))
            .filter(|c| {
                self.channel_permissions(user, c)
                    .contains(Permissions::VIEW_CHANNEL)
            })
            .collect();
        threads.sort_by_key(|c| c.id);
        let members = self.own_memberships(user, threads.iter().copied());
        json!({
            "guild_id": self.id(),
            "channel_ids": channels,
            "threads": threads.iter().map(|c| c.to_json(None)).collect::<Vec<_>>(),
            "members": members,
        })
    }
}
