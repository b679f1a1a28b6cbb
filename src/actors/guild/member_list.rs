//! Live member lists for user clients (gateway ops 14/37 → GUILD_MEMBER_LIST_UPDATE).
//!
//! Discord's client shows a sidebar per channel: the members who can see the channel, grouped by
//! their highest hoisted role while online, then "online", then "offline". Channels whose
//! view-channel overwrites are the same share one list, named by Discord's list id (see
//! [`list_id`]). A session subscribes to ranges of a channel's list; it gets a SYNC of them and
//! from then on INSERT/UPDATE/DELETE as members join, leave, change presence, name or roles.
//!
//! Lists exist only while a session of this guild subscribes to them. What a change costs:
//! - a member's change (join, leave, presence, roles, name): for each live list, one permission
//!   check and one [`Layout::place`] (binary search, memmove of one group, a walk over the
//!   groups); the event is encoded once per list and sent to that list's subscribers;
//! - a role or channel change (hoist, position, overwrites): the live lists are rebuilt (one pass
//!   over the members per list) and every subscriber gets a fresh SYNC of its ranges.
//!
//! A session follows the lists of several channels at once (op 14/37 name each with its
//! ranges, at most `gateway.member_list_max_channels` per guild): one SYNC per list id, its
//! channels' ranges merged; each update of a list reaches a session once, however many of its
//! channels share it. A later op's channels replace the earlier ones.
//!
//! Guilds over `gateway.member_list_offline_max_members` have no "offline" group: offline
//! members are counted in `member_count` but not listed (going offline is a DELETE).
//!
//! The number of live lists is at most the number of channels; subscribed ranges per channel at
//! most [`MAX_RANGES`] of [`MAX_RANGE_ITEMS`] items (Discord's client asks for 100 at a time).

mod layout;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use self::layout::{GroupId, Item, Layout, Op};
use super::State;
use crate::actors::sessions::{SessionHandle, SessionKey};
use crate::error::ApiError;
use crate::events::Dispatch;
use crate::id::{ChannelId, UserId};
use crate::model::{ChannelRecord, PublicUser};
use crate::permissions::{PermissionOverwrite, Permissions};

/// Ranges a session may hold in one list (Discord's client keeps about three).
pub const MAX_RANGES: usize = 5;
/// Items in one range (Discord's client asks for `[0, 99]`, `[100, 199]`, …).
pub const MAX_RANGE_ITEMS: usize = 200;

/// MurmurHash3 (x86, 32-bit), the hash Discord's client names member lists with.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, b) in tail.iter().enumerate() {
            k |= u32::from(*b) << (8 * i);
        }
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    // Lengths over 4 GiB wrap, as in every 32-bit implementation.
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// Discord's member list id for a channel: `"everyone"` when every member sees the channel
/// (@everyone may view it and no overwrite denies VIEW_CHANNEL), otherwise the MurmurHash3 (seed
/// 0) of its view-channel overwrites as `allow:<id>` / `deny:<id>`, sorted, joined with `,` —
/// the algorithm Spacebar's server and the community references of Discord's client use. Two
/// channels with the same id show the same members, so they share one list.
pub fn list_id(overwrites: &[PermissionOverwrite], everyone_views: bool) -> String {
    let mut parts: Vec<String> = overwrites
        .iter()
        .filter_map(|o| {
            if o.allow.contains(Permissions::VIEW_CHANNEL) {
                Some(format!("allow:{}", o.id))
            } else if o.deny.contains(Permissions::VIEW_CHANNEL) {
                Some(format!("deny:{}", o.id))
            } else {
                None
            }
        })
        .collect();
    if everyone_views && !parts.iter().any(|p| p.starts_with("deny:")) {
        return "everyone".into();
    }
    parts.sort();
    murmur3_32(parts.join(",").as_bytes(), 0).to_string()
}

/// One live list: its layout and a channel it is the list of (they all show the same members).
struct List {
    channel: ChannelId,
    layout: Layout,
    /// Built with an "offline" group (the guild was small enough then).
    offline_listed: bool,
}

/// A session's subscription to one channel: the channel's list and the ranges asked of it.
struct Sub {
    list: String,
    ranges: Vec<[usize; 2]>,
}

/// A session's subscriptions, by channel.
type SessionSubs = BTreeMap<ChannelId, Sub>;

/// The ranges of each list a session follows: its channels' ranges merged (channels sharing a
/// list id share the SYNC), in order, without repeats.
fn ranges_by_list(subs: &SessionSubs) -> BTreeMap<&str, Vec<[usize; 2]>> {
    let mut out: BTreeMap<&str, Vec<[usize; 2]>> = BTreeMap::new();
    for sub in subs.values() {
        let ranges = out.entry(sub.list.as_str()).or_default();
        for r in &sub.ranges {
            if !ranges.contains(r) {
                ranges.push(*r);
            }
        }
    }
    out
}

/// The guild actor's member lists (see the module docs).
#[derive(Default)]
pub struct MemberLists {
    lists: HashMap<String, List>,
    subs: HashMap<SessionKey, SessionSubs>,
    /// Sort names (lowercased display names) of the members, while any list is live.
    names: HashMap<UserId, String>,
    /// Members whose place may have changed since the last flush.
    dirty: HashSet<UserId>,
    /// Roles or channels changed: rebuild every list.
    restructure: bool,
}

impl MemberLists {
    /// `user`'s place may have changed (presence, roles, name, joined, left).
    pub fn touch(&mut self, user: UserId) {
        if !self.subs.is_empty() {
            self.dirty.insert(user);
        }
    }

    /// Roles or overwrites changed: groups and visibility may differ everywhere.
    pub fn restructure(&mut self) {
        if !self.subs.is_empty() {
            self.restructure = true;
        }
    }
}

/// The sort name Discord's list orders by: nickname, else global name, else username.
fn sort_name(nick: Option<&str>, user: &PublicUser) -> String {
    nick.or(user.global_name.as_deref())
        .unwrap_or(&user.username)
        .to_lowercase()
}

fn group_json(g: GroupId, count: usize) -> Value {
    json!({"id": g.wire(), "count": count})
}

/// Clamps requested ranges to Discord's shape: at most [`MAX_RANGES`], each at most
/// [`MAX_RANGE_ITEMS`] long, start not after end.
fn clamp_ranges(ranges: Vec<[usize; 2]>) -> Vec<[usize; 2]> {
    ranges
        .into_iter()
        .filter(|[s, e]| s <= e)
        .take(MAX_RANGES)
        .map(|[s, e]| [s, e.min(s + MAX_RANGE_ITEMS - 1)])
        .collect()
}

impl State {
    /// Whether the lists have an "offline" group: only in guilds of at most
    /// `gateway.member_list_offline_max_members` members.
    fn offline_listed(&self) -> bool {
        let max = self
            .services
            .config
            .get()
            .gateway
            .member_list_offline_max_members as usize;
        self.members.len() <= max
    }

    /// Hoisted roles by rank (highest first), then "online", then "offline" (unless the guild
    /// is too large for one, see [`Self::offline_listed`]).
    fn list_order(&self, offline: bool) -> Vec<GroupId> {
        let mut hoisted: Vec<_> = self
            .roles
            .iter()
            .filter(|r| r.hoist && r.id != self.id().everyone_role())
            .collect();
        hoisted.sort_by_key(|r| std::cmp::Reverse(super::role_rank(r)));
        hoisted
            .into_iter()
            .map(|r| GroupId::Role(r.id))
            .chain([GroupId::Online])
            .chain(offline.then_some(GroupId::Offline))
            .collect()
    }

    fn is_online(&self, user: UserId) -> bool {
        self.presences
            .get(&user)
            .is_some_and(|p| p["status"].as_str().is_some_and(|s| s != "offline"))
    }

    /// Where `user` belongs in the list of `channel`: `None` when not a member or unable to see
    /// the channel. Online members go under their highest hoisted role; offline ones under
    /// "offline" whatever their roles, as on Discord.
    fn list_place(&self, user: UserId, channel: &ChannelRecord) -> Option<(GroupId, String)> {
        let member = self.members.get(&user)?;
        if !self
            .channel_permissions(user, channel)
            .contains(Permissions::VIEW_CHANNEL)
        {
            return None;
        }
        let name = self
            .member_lists
            .names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| user.to_string());
        if !self.is_online(user) {
            return Some((GroupId::Offline, name));
        }
        let group = self
            .roles
            .iter()
            .filter(|r| r.hoist && member.roles.contains(&r.id))
            .max_by_key(|r| super::role_rank(r))
            .map_or(GroupId::Online, |r| GroupId::Role(r.id));
        Some((group, name))
    }

    fn channel_list_id(&self, channel: &ChannelRecord) -> String {
        let everyone = self.id().everyone_role().0;
        let mut base = self.everyone();
        if let Some(o) = channel
            .permission_overwrites
            .iter()
            .find(|o| o.id == everyone)
        {
            base = (base & !o.deny) | o.allow;
        }
        let everyone_views =
            base.contains(Permissions::VIEW_CHANNEL) || base.contains(Permissions::ADMINISTRATOR);
        list_id(&channel.permission_overwrites, everyone_views)
    }

    /// Sort names of every member, read once when the first list goes live (the user cache
    /// answers most of it); kept current from then on by the members' own updates.
    async fn load_list_names(&mut self) -> Result<(), ApiError> {
        if !self.member_lists.names.is_empty() {
            return Ok(());
        }
        let ids: Vec<UserId> = self.members.keys().copied().collect();
        let users = self.services.users.public_many(&ids).await?;
        for u in &users {
            if let Some(m) = self.members.get(&u.id) {
                let name = sort_name(m.nick.as_deref(), u);
                self.member_lists.names.insert(u.id, name);
            }
        }
        Ok(())
    }

    /// One pass over the members: the list of `channel`.
    fn build_list(&self, channel: &ChannelRecord) -> List {
        let offline_listed = self.offline_listed();
        let mut layout = Layout::new(self.list_order(offline_listed));
        for user in self.members.keys() {
            if let Some(place) = self.list_place(*user, channel) {
                layout.place(*user, Some(place));
            }
        }
        List {
            channel: channel.id,
            layout,
            offline_listed,
        }
    }

    /// The `member` item of a list (the member with its presence) and its sort name.
    async fn list_entry(&self, user: UserId) -> Result<Option<(Value, String)>, ApiError> {
        let Some(m) = self.members.get(&user) else {
            return Ok(None);
        };
        let u = self.services.users.public(user).await?;
        let mut v = m.to_json(&u);
        v["presence"] = self.presences.get(&user).cloned().unwrap_or_else(|| {
            json!({"user": {"id": user}, "status": "offline", "activities": [], "client_status": {}})
        });
        Ok(Some((v, sort_name(m.nick.as_deref(), &u))))
    }

    async fn items_json(&self, items: Vec<Item>) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Group(g, n) => out.push(json!({"group": group_json(g, n)})),
                Item::Member(u) => {
                    if let Some((v, _)) = self.list_entry(u).await? {
                        out.push(json!({"member": v}));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The GUILD_MEMBER_LIST_UPDATE of list `id` carrying `ops`.
    fn list_event(&self, id: &str, layout: &Layout, ops: Vec<Value>) -> Arc<Dispatch> {
        let groups: Vec<Value> = layout
            .groups()
            .into_iter()
            .map(|(g, n)| group_json(g, n))
            .collect();
        let data = json!({
            "guild_id": self.id(),
            "id": id,
            "member_count": layout.member_count(),
            "online_count": layout.online_count(),
            "groups": groups,
            "ops": ops,
        });
        Dispatch::new("GUILD_MEMBER_LIST_UPDATE", &data, true)
    }

    /// SYNC of `ranges` (after INVALIDATE of `dropped`) to one session.
    async fn sync_session(
        &self,
        handle: &SessionHandle,
        list: &str,
        ranges: &[[usize; 2]],
        dropped: &[[usize; 2]],
    ) -> Result<(), ApiError> {
        let Some(l) = self.member_lists.lists.get(list) else {
            return Ok(());
        };
        let mut ops: Vec<Value> = dropped
            .iter()
            .map(|r| json!({"op": "INVALIDATE", "range": r}))
            .collect();
        for [start, end] in ranges {
            let items = self.items_json(l.layout.items(*start, *end)).await?;
            ops.push(json!({"op": "SYNC", "range": [start, end], "items": items}));
        }
        handle.deliver(&self.list_event(list, &l.layout, ops));
        Ok(())
    }

    /// One SYNC per list `subs` follow (ranges merged), each after INVALIDATE of the ranges of
    /// that list in `previous` it no longer asks for.
    async fn sync_subs(
        &self,
        handle: &SessionHandle,
        subs: &SessionSubs,
        previous: Option<&SessionSubs>,
    ) -> Result<(), ApiError> {
        let before = previous.map(ranges_by_list).unwrap_or_default();
        for (list, ranges) in ranges_by_list(subs) {
            let dropped: Vec<[usize; 2]> = before
                .get(list)
                .map(|old| {
                    old.iter()
                        .filter(|r| !ranges.contains(r))
                        .copied()
                        .collect()
                })
                .unwrap_or_default();
            self.sync_session(handle, list, &ranges, &dropped).await?;
        }
        Ok(())
    }

    /// The list id of `channel` for `user`'s subscription: `None` when it is no channel of
    /// this guild (or a thread) or `user` cannot see it. Builds the list if it is not live.
    async fn open_list(
        &mut self,
        user: UserId,
        channel: ChannelId,
    ) -> Result<Option<String>, ApiError> {
        let Some(c) = self
            .channels
            .get(&channel)
            .filter(|c| !c.kind.is_thread())
            .cloned()
        else {
            return Ok(None);
        };
        if !self
            .channel_permissions(user, &c)
            .contains(Permissions::VIEW_CHANNEL)
        {
            return Ok(None);
        }
        let id = self.channel_list_id(&c);
        if !self.member_lists.lists.contains_key(&id) {
            self.load_list_names().await?;
            let list = self.build_list(&c);
            self.member_lists.lists.insert(id.clone(), list);
        }
        Ok(Some(id))
    }

    /// Op 14/37 from `user`'s session `session` (its key on its own node): subscribe it to the
    /// ranges of each of `channels` (at most `gateway.member_list_max_channels`; channels it
    /// cannot see are left out silently, as on Discord), replacing its earlier channels, and
    /// send one SYNC per list. `None`: the channels stay as they are. `threads`: each named
    /// channel's THREAD_LIST_SYNC first.
    pub(super) async fn subscribe_member_lists(
        &mut self,
        user: UserId,
        session: SessionKey,
        channels: Option<Vec<(ChannelId, Vec<[usize; 2]>)>>,
        threads: bool,
    ) -> Result<(), ApiError> {
        self.member_guard(user)?;
        // The guild's hold on the session (a remote session is held under a key of this node).
        let Some(handle) = self
            .online
            .values()
            .find(|h| h.user_id == user && h.origin_key() == session)
            .cloned()
        else {
            return Ok(());
        };
        let Some(mut channels) = channels else {
            return Ok(());
        };
        let max = self.services.config.get().gateway.member_list_max_channels as usize;
        channels.truncate(max);
        if threads {
            for (channel, _) in &channels {
                if self.channels.get(channel).is_some_and(|c| {
                    !c.kind.is_thread()
                        && self
                            .channel_permissions(user, c)
                            .contains(Permissions::VIEW_CHANNEL)
                }) {
                    self.send_thread_list(&handle, *channel);
                }
            }
        }
        let previous = self.member_lists.subs.remove(&handle.key);
        let mut subs = SessionSubs::new();
        for (channel, ranges) in channels {
            let ranges = clamp_ranges(ranges);
            if ranges.is_empty() {
                continue;
            }
            if let Some(list) = self.open_list(user, channel).await? {
                subs.insert(channel, Sub { list, ranges });
            }
        }
        if !subs.is_empty() {
            self.sync_subs(&handle, &subs, previous.as_ref()).await?;
            self.member_lists.subs.insert(handle.key, subs);
        }
        self.drop_idle_lists();
        Ok(())
    }

    /// Lists nobody subscribes to any more go (and the names with the last one).
    fn drop_idle_lists(&mut self) {
        let ml = &mut self.member_lists;
        ml.subs
            .retain(|key, subs| !subs.is_empty() && self.online.contains_key(key));
        let live: HashSet<&String> = ml
            .subs
            .values()
            .flat_map(|s| s.values())
            .map(|s| &s.list)
            .collect();
        ml.lists.retain(|id, _| live.contains(id));
        if ml.lists.is_empty() {
            ml.names.clear();
            ml.dirty.clear();
            ml.restructure = false;
        }
    }

    /// Sends what changed since the last message: called after every message the actor handles.
    /// Costs nothing when no member or role changed (most messages: fan-outs, reads).
    pub(super) async fn flush_member_lists(&mut self) {
        if self.member_lists.dirty.is_empty() && !self.member_lists.restructure {
            return;
        }
        self.drop_idle_lists();
        if self.member_lists.subs.is_empty() {
            return;
        }
        // A join or leave across `gateway.member_list_offline_max_members` adds or removes the
        // "offline" group: every list is redrawn.
        let offline = self.offline_listed();
        if self
            .member_lists
            .lists
            .values()
            .any(|l| l.offline_listed != offline)
        {
            self.member_lists.restructure = true;
        }
        let result = if std::mem::take(&mut self.member_lists.restructure) {
            self.member_lists.dirty.clear();
            self.rebuild_lists().await
        } else {
            self.apply_member_changes().await
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "member list update not sent");
        }
    }

    /// Roles or channels changed: every subscription is re-resolved (its channel's list id may
    /// have changed, the channel may be gone or hidden now), the lists are rebuilt and every
    /// subscriber gets a SYNC of its ranges.
    async fn rebuild_lists(&mut self) -> Result<(), ApiError> {
        let all = std::mem::take(&mut self.member_lists.subs);
        self.member_lists.lists.clear();
        for (key, old) in all {
            let Some(handle) = self.online.get(&key).cloned() else {
                continue;
            };
            let mut subs = SessionSubs::new();
            for (channel, sub) in old {
                if let Some(list) = self.open_list(handle.user_id, channel).await? {
                    subs.insert(
                        channel,
                        Sub {
                            list,
                            ranges: sub.ranges,
                        },
                    );
                }
            }
            if subs.is_empty() {
                continue;
            }
            self.sync_subs(&handle, &subs, None).await?;
            self.member_lists.subs.insert(key, subs);
        }
        self.drop_idle_lists();
        Ok(())
    }

    /// Members whose presence, roles, name or membership changed: each live list moves them
    /// and tells its subscribers with INSERT/UPDATE/DELETE.
    async fn apply_member_changes(&mut self) -> Result<(), ApiError> {
        let dirty = std::mem::take(&mut self.member_lists.dirty);
        // A subscriber who no longer sees a channel (a role taken away) hears no more of it.
        let lost: Vec<(SessionKey, ChannelId)> = self
            .member_lists
            .subs
            .iter()
            .filter_map(|(key, subs)| Some((key, subs, self.online.get(key)?)))
            .filter(|(_, _, h)| dirty.contains(&h.user_id))
            .flat_map(|(key, subs, h)| {
                subs.keys()
                    .filter(|channel| {
                        !self.channels.get(channel).is_some_and(|c| {
                            self.channel_permissions(h.user_id, c)
                                .contains(Permissions::VIEW_CHANNEL)
                        })
                    })
                    .map(|channel| (*key, *channel))
            })
            .collect();
        for (key, channel) in lost {
            if let Some(subs) = self.member_lists.subs.get_mut(&key) {
                subs.remove(&channel);
            }
        }
        self.drop_idle_lists();
        for user in dirty {
            let item = match self.list_entry(user).await? {
                Some((v, name)) => {
                    self.member_lists.names.insert(user, name);
                    Some(v)
                }
                None => {
                    self.member_lists.names.remove(&user);
                    None
                }
            };
            let ids: Vec<String> = self.member_lists.lists.keys().cloned().collect();
            for id in ids {
                let Some(channel) = self
                    .member_lists
                    .lists
                    .get(&id)
                    .and_then(|l| self.channels.get(&l.channel))
                else {
                    continue;
                };
                let place = self.list_place(user, channel);
                let Some(list) = self.member_lists.lists.get_mut(&id) else {
                    continue;
                };
                let ops = list.layout.place(user, place);
                if ops.is_empty() {
                    continue;
                }
                let ops = ops
                    .into_iter()
                    .map(|op| match op {
                        Op::Insert(i, Item::Group(g, n)) => {
                            json!({"op": "INSERT", "index": i, "item": {"group": group_json(g, n)}})
                        }
                        Op::Insert(i, Item::Member(_)) => {
                            json!({"op": "INSERT", "index": i, "item": {"member": item}})
                        }
                        Op::Update(i, _) => {
                            json!({"op": "UPDATE", "index": i, "item": {"member": item}})
                        }
                        Op::Delete(i) => json!({"op": "DELETE", "index": i}),
                    })
                    .collect();
                let Some(list) = self.member_lists.lists.get(&id) else {
                    continue;
                };
                let event = self.list_event(&id, &list.layout, ops);
                // Once per session, however many of its channels share the list.
                for (key, subs) in &self.member_lists.subs {
                    if subs.values().any(|s| s.list == id)
                        && let Some(h) = self.online.get(key)
                    {
                        h.deliver(&event);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Snowflake;
    use crate::permissions::OverwriteKind;

    #[test]
    fn murmur3_matches_reference_vectors() {
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    fn ow(id: u64, allow: Permissions, deny: Permissions) -> PermissionOverwrite {
        PermissionOverwrite {
            id: Snowflake(id),
            kind: OverwriteKind::Role,
            allow,
            deny,
        }
    }

    #[test]
    fn list_ids_follow_view_channel_overwrites() {
        let v = Permissions::VIEW_CHANNEL;
        let none = Permissions::empty();
        assert_eq!(list_id(&[], true), "everyone");
        assert_eq!(list_id(&[ow(5, v, none)], true), "everyone");
        // Order of the overwrites does not matter; overwrites not about VIEW_CHANNEL neither.
        let a = list_id(&[ow(1, none, v), ow(2, v, none)], true);
        let b = list_id(
            &[
                ow(2, v, none),
                ow(3, Permissions::SEND_MESSAGES, none),
                ow(1, none, v),
            ],
            true,
        );
        assert_eq!(a, b);
        assert_eq!(a, murmur3_32(b"allow:2,deny:1", 0).to_string());
        assert_eq!(
            list_id(&[ow(1, none, v)], false),
            murmur3_32(b"deny:1", 0).to_string()
        );
    }
}
