//! Bounds for the read-through maps that must not grow with everything a node has ever seen
//! (user accounts rendered, channel → lease lookups for routing). Past the bound, arbitrary
//! entries go — the map's hash order, in effect random — an eighth of the bound at a time, so
//! eviction is rare rather than on every insert. Good enough for caches whose miss costs one
//! store read, and free of a second bookkeeping structure per entry.

use std::hash::Hash;

use dashmap::DashMap;

/// Drops entries of `map` until `incoming` more fit under `max` (at least 1).
pub fn make_room<K: Eq + Hash + Clone, V>(map: &DashMap<K, V>, max: usize, incoming: usize) {
    let max = max.max(1);
    if map.len() + incoming <= max {
        return;
    }
    let drop_n = (map.len() + incoming - max).max(max / 8);
    let victims: Vec<K> = map.iter().take(drop_n).map(|e| e.key().clone()).collect();
    for key in victims {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_map_never_passes_its_bound() {
        let map = DashMap::new();
        for i in 0..10_000u64 {
            make_room(&map, 800, 1);
            map.insert(i, ());
            assert!(map.len() <= 800, "{} entries after {i}", map.len());
        }
        // Eviction takes an eighth at a time, not one entry per insert.
        assert!(map.len() > 800 - 800 / 8 - 1);
    }

    #[test]
    fn room_for_a_batch_and_a_zero_bound() {
        let map: DashMap<u64, ()> = (0..100).map(|i| (i, ())).collect();
        make_room(&map, 100, 30);
        assert!(map.len() <= 70);
        make_room(&map, 0, 1);
        assert!(map.is_empty());
    }
}
