//! Which live node owns an id (a guild with its channels, a DM channel, a user): rendezvous
//! (highest-random-weight) hashing. Every node computes the same owner from the same member
//! list with no coordination, and when a member joins or leaves only the ids it wins or held
//! move (about 1/n of them), not a reshuffle of everything.
//!
//! The weight is a fixed hash of (id, node name) — FNV-1a over the name, mixed with the id by
//! splitmix64 — rather than std's `DefaultHasher`, whose output may change between Rust
//! releases: nodes built by different compilers must still agree.

/// The owner of `id` among `members` (node names), or `None` when there are none.
pub fn owner_of<S: AsRef<str>>(id: u64, members: &[S]) -> Option<&str> {
    members
        .iter()
        .map(AsRef::as_ref)
        .max_by_key(|name| (weight(id, name), *name))
}

/// The rendezvous weight of `node` for `id`.
pub fn weight(id: u64, node: &str) -> u64 {
    splitmix64(id ^ fnv1a(node.as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_members_no_owner_and_one_member_owns_everything() {
        assert_eq!(owner_of::<&str>(1, &[]), None);
        for id in 0..100 {
            assert_eq!(owner_of(id, &["n1"]), Some("n1"));
        }
    }

    #[test]
    fn the_owner_does_not_depend_on_the_order_of_the_list() {
        let a = ["n1", "n2", "n3"];
        let b = ["n3", "n1", "n2"];
        for id in 0..1000u64 {
            let id = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(owner_of(id, &a), owner_of(id, &b));
        }
    }

    #[test]
    fn ids_spread_evenly() {
        let nodes = ["n1", "n2", "n3"];
        let mut counts = [0usize; 3];
        // Snowflake-like ids: increasing, low bits mostly zero.
        for i in 0..30_000u64 {
            let id = (1_000_000 + i * 7) << 22;
            let owner = owner_of(id, &nodes).unwrap();
            counts[nodes.iter().position(|n| *n == owner).unwrap()] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "uneven: {counts:?}");
        }
    }

    #[test]
    fn a_join_moves_only_what_the_new_node_wins_and_a_leave_only_what_it_held() {
        let three = ["n1", "n2", "n3"];
        let four = ["n1", "n2", "n3", "n4"];
        let ids: Vec<u64> = (0..10_000u64).map(|i| (5_000_000 + i) << 22).collect();
        let mut moved = 0;
        for &id in &ids {
            let before = owner_of(id, &three).unwrap();
            let after = owner_of(id, &four).unwrap();
            if before != after {
                assert_eq!(after, "n4", "an id moved between old nodes");
                moved += 1;
            }
        }
        // About a quarter goes to the new node.
        assert!((2_000..3_000).contains(&moved), "{moved} moved");
        let two = ["n1", "n3"];
        for &id in &ids {
            let before = owner_of(id, &three).unwrap();
            if before != "n2" {
                assert_eq!(owner_of(id, &two), Some(before), "a survivor's id moved");
            }
        }
    }

    #[test]
    fn weights_are_stable_across_builds() {
        // Pinned values: a change here would make nodes of different versions disagree.
        assert_eq!(weight(0, ""), splitmix64(0xcbf2_9ce4_8422_2325));
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
