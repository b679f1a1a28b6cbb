//! One member list as Discord's client draws it: groups in display order (hoisted roles by
//! rank, then "online", then "offline"), each a header item followed by its members sorted by
//! display name. Empty groups have no header. Pure data: the guild actor decides who goes where,
//! this keeps the order and turns every move into Discord's list ops with exact indexes.
//!
//! A layout may leave a group out of its display order (a large guild's "offline"): members
//! placed there are counted (`member_count`, and not in `online_count` when it is "offline")
//! but have no index, so moving there is a DELETE and moving back an INSERT.
//!
//! Cost of one member's move: a binary search in its old and new group, a `Vec` insert/remove
//! (a memmove of at most the group's size in user ids) and a walk over the groups before it
//! (bounded by the guild's hoisted roles, at most `limits.guild.max_roles` + 2). No member scan.

use std::collections::HashMap;

use crate::id::{RoleId, UserId};

/// A group of the list: a hoisted role, or the online/offline remainder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupId {
    Role(RoleId),
    Online,
    Offline,
}

impl GroupId {
    /// The `id` Discord's client expects: the role id, `"online"` or `"offline"`.
    pub fn wire(self) -> String {
        match self {
            GroupId::Role(r) => r.to_string(),
            GroupId::Online => "online".into(),
            GroupId::Offline => "offline".into(),
        }
    }
}

/// What sits at an index of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Group(GroupId, usize),
    Member(UserId),
}

/// One change of the list, with the index it applies at (Discord's INSERT/UPDATE/DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert(usize, Item),
    Update(usize, UserId),
    Delete(usize),
}

/// A member's place: its group and its sort key (lowercased display name, then id).
type Key = (String, UserId);

#[derive(Debug, Default)]
pub struct Layout {
    /// Every listed group in display order (empty ones included; they just have no header).
    order: Vec<GroupId>,
    groups: HashMap<GroupId, Vec<Key>>,
    /// Every counted member, listed or not.
    placed: HashMap<UserId, (GroupId, String)>,
    /// Members placed in "offline", listed or not.
    offline: usize,
}

impl Layout {
    /// An empty list with these groups, in display order. A member placed in a group not in
    /// `order` is counted but not listed (see the module docs).
    pub fn new(order: Vec<GroupId>) -> Self {
        let groups = order.iter().map(|g| (*g, Vec::new())).collect();
        Self {
            order,
            groups,
            placed: HashMap::new(),
            offline: 0,
        }
    }

    /// Whether members placed in `g` get an index.
    pub fn lists(&self, g: GroupId) -> bool {
        self.groups.contains_key(&g)
    }

    pub fn member_count(&self) -> usize {
        self.placed.len()
    }

    /// Members not in the offline group (listed or not).
    pub fn online_count(&self) -> usize {
        self.placed.len() - self.offline
    }

    fn group_len(&self, g: GroupId) -> usize {
        self.groups.get(&g).map_or(0, Vec::len)
    }

    /// Non-empty groups in display order with their counts (the event's `groups`).
    pub fn groups(&self) -> Vec<(GroupId, usize)> {
        self.order
            .iter()
            .map(|g| (*g, self.group_len(*g)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Index of `g`'s header: the items of the non-empty groups before it.
    fn header_index(&self, g: GroupId) -> usize {
        self.order
            .iter()
            .take_while(|o| **o != g)
            .map(|o| self.group_len(*o))
            .filter(|n| *n > 0)
            .map(|n| n + 1)
            .sum()
    }

    /// Where `user` is, if listed: (group, item index).
    pub fn position(&self, user: UserId) -> Option<(GroupId, usize)> {
        let (g, name) = self.placed.get(&user)?;
        let members = self.groups.get(g)?;
        let at = members.binary_search(&(name.clone(), user)).ok()?;
        Some((*g, self.header_index(*g) + 1 + at))
    }

    /// Places `user` in `group` under sort name `name` (`None`: takes it off the list), and
    /// returns the ops that bring a client's copy of the list along: an UPDATE when the member
    /// stays at its index (a new nickname that sorts the same, a presence change within the
    /// group), else DELETE then INSERT, with the group headers that empty or appear.
    pub fn place(&mut self, user: UserId, target: Option<(GroupId, String)>) -> Vec<Op> {
        let before = self.position(user);
        let mut ops = Vec::new();
        self.remove(user);
        if let Some((g, index)) = before {
            ops.push(Op::Delete(index));
            if self.group_len(g) == 0 {
                ops.push(Op::Delete(self.header_index(g)));
            }
        }
        let mut after = None;
        if let Some((g, name)) = target {
            if g == GroupId::Offline {
                self.offline += 1;
            }
            if self.lists(g) {
                if self.group_len(g) == 0 {
                    ops.push(Op::Insert(self.header_index(g), Item::Group(g, 1)));
                }
                let key = (name.clone(), user);
                if let Some(members) = self.groups.get_mut(&g) {
                    let at = members.binary_search(&key).unwrap_or_else(|at| at);
                    members.insert(at, key);
                }
            }
            self.placed.insert(user, (g, name));
            after = self.position(user);
            if let Some((_, index)) = after {
                ops.push(Op::Insert(index, Item::Member(user)));
            }
        }
        match (before, after) {
            (Some(b), Some(a)) if a == b => vec![Op::Update(a.1, user)],
            _ => ops,
        }
    }

    fn remove(&mut self, user: UserId) {
        let Some((g, name)) = self.placed.remove(&user) else {
            return;
        };
        if g == GroupId::Offline {
            self.offline -= 1;
        }
        if let Some(members) = self.groups.get_mut(&g)
            && let Ok(at) = members.binary_search(&(name, user))
        {
            members.remove(at);
        }
    }

    /// The items from `start` to `end` (inclusive), walking the groups once.
    pub fn items(&self, start: usize, end: usize) -> Vec<Item> {
        let mut out = Vec::new();
        let mut index = 0;
        for g in &self.order {
            let members = &self.groups[g];
            if members.is_empty() {
                continue;
            }
            let group_end = index + members.len();
            if group_end < start {
                index = group_end + 1;
                continue;
            }
            if index > end {
                break;
            }
            if index >= start {
                out.push(Item::Group(*g, members.len()));
            }
            let first = start.saturating_sub(index + 1);
            let last = (end - index).min(members.len());
            for (_, u) in members.iter().take(last).skip(first) {
                out.push(Item::Member(*u));
            }
            index = group_end + 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u64) -> UserId {
        UserId::new(n)
    }

    fn layout(role: RoleId) -> Layout {
        Layout::new(vec![GroupId::Role(role), GroupId::Online, GroupId::Offline])
    }

    #[test]
    fn inserts_and_deletes_carry_group_headers_and_exact_indexes() {
        let role = RoleId::new(9);
        let mut l = layout(role);
        // First online member: the "online" header and the member.
        assert_eq!(
            l.place(u(1), Some((GroupId::Online, "bob".into()))),
            vec![
                Op::Insert(0, Item::Group(GroupId::Online, 1)),
                Op::Insert(1, Item::Member(u(1)))
            ]
        );
        // "alice" sorts before "bob".
        assert_eq!(
            l.place(u(2), Some((GroupId::Online, "alice".into()))),
            vec![Op::Insert(1, Item::Member(u(2)))]
        );
        assert_eq!(
            l.place(u(3), Some((GroupId::Offline, "carol".into()))),
            vec![
                Op::Insert(3, Item::Group(GroupId::Offline, 1)),
                Op::Insert(4, Item::Member(u(3)))
            ]
        );
        // Bob gets the hoisted role: leaves "online" (index 2), a new group appears on top.
        assert_eq!(
            l.place(u(1), Some((GroupId::Role(role), "bob".into()))),
            vec![
                Op::Delete(2),
                Op::Insert(0, Item::Group(GroupId::Role(role), 1)),
                Op::Insert(1, Item::Member(u(1)))
            ]
        );
        assert_eq!(l.online_count(), 2);
        assert_eq!(l.member_count(), 3);
        // Same place: an update where it is, also under a new name that sorts the same.
        assert_eq!(
            l.place(u(3), Some((GroupId::Offline, "carol".into()))),
            vec![Op::Update(5, u(3))]
        );
        assert_eq!(
            l.place(u(3), Some((GroupId::Offline, "caroline".into()))),
            vec![Op::Update(5, u(3))]
        );
        // Carol leaves: her group goes with her.
        assert_eq!(l.place(u(3), None), vec![Op::Delete(5), Op::Delete(4)]);
        assert_eq!(
            l.groups(),
            vec![(GroupId::Role(role), 1), (GroupId::Online, 1)]
        );
        assert!(l.place(u(3), None).is_empty(), "absent stays absent");
    }

    #[test]
    fn items_cut_ranges_across_groups() {
        let mut l = layout(RoleId::new(9));
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            l.place(u(i as u64 + 1), Some((GroupId::Online, (*name).into())));
        }
        l.place(u(10), Some((GroupId::Offline, "z".into())));
        let all = l.items(0, 99);
        assert_eq!(all.len(), 6);
        assert_eq!(all[0], Item::Group(GroupId::Online, 3));
        assert_eq!(all[4], Item::Group(GroupId::Offline, 1));
        assert_eq!(all[5], Item::Member(u(10)));
        assert_eq!(
            l.items(2, 4),
            vec![
                Item::Member(u(2)),
                Item::Member(u(3)),
                Item::Group(GroupId::Offline, 1)
            ]
        );
        assert_eq!(l.items(5, 9), vec![Item::Member(u(10))]);
        assert!(l.items(6, 9).is_empty());
    }

    /// Without "offline" in the order (a large guild): offline members are counted, never
    /// listed; going offline is a DELETE, coming back an INSERT, indexes as if they were absent.
    #[test]
    fn an_unlisted_offline_group_counts_but_never_indexes() {
        let mut l = Layout::new(vec![GroupId::Online]);
        l.place(u(1), Some((GroupId::Online, "a".into())));
        assert!(
            l.place(u(2), Some((GroupId::Offline, "b".into())))
                .is_empty()
        );
        assert_eq!((l.member_count(), l.online_count()), (2, 1));
        assert_eq!(l.groups(), vec![(GroupId::Online, 1)]);
        assert_eq!(
            l.items(0, 99),
            vec![Item::Group(GroupId::Online, 1), Item::Member(u(1))]
        );
        // A renamed offline member: nothing to tell.
        assert!(
            l.place(u(2), Some((GroupId::Offline, "c".into())))
                .is_empty()
        );
        assert_eq!(
            l.place(u(2), Some((GroupId::Online, "b".into()))),
            vec![Op::Insert(2, Item::Member(u(2)))]
        );
        assert_eq!((l.member_count(), l.online_count()), (2, 2));
        assert_eq!(
            l.place(u(1), Some((GroupId::Offline, "a".into()))),
            vec![Op::Delete(1)]
        );
        assert_eq!(
            l.place(u(2), Some((GroupId::Offline, "b".into()))),
            vec![Op::Delete(1), Op::Delete(0)]
        );
        assert_eq!((l.member_count(), l.online_count()), (2, 0));
        assert!(l.groups().is_empty());
        assert!(l.place(u(1), None).is_empty());
        assert_eq!((l.member_count(), l.online_count()), (1, 0));
    }
}
