//! The live members: every node holds the lease `node.<name>` (value: [`NodeInfo`]) and every
//! node watches those keys. The bucket drops a key its holder stopped renewing only after the
//! TTL and without telling watchers, so each entry also expires here, TTL after it was written
//! (by the NATS server's clock, so a late-delivered entry is not trusted for a whole TTL). A
//! node that leaves cleanly deletes its key and drops out at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use futures::StreamExt;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// What a node publishes about itself under `node.<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    /// The snowflake worker id it holds (see `identity`).
    pub worker_id: u16,
    /// Its REST base URL and gateway URL.
    pub api: String,
    pub gateway: String,
    /// Unix milliseconds at which it started.
    pub started_at_ms: u64,
}

#[derive(Debug)]
struct Member {
    info: NodeInfo,
    expires: Instant,
}

/// Most member lists kept between two [`Members::take_changes`]; past it the oldest go, and
/// the taker learns it missed some ([`Changes::overflowed`]).
const MAX_CHANGES: usize = 64;

/// The member lists the watch went through since the last [`Members::take_changes`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Each list of live names (sorted) the watch produced, oldest first.
    pub lists: Vec<Vec<String>>,
    /// Some lists were dropped: a reader comparing lists cannot trust it saw every change.
    pub overflowed: bool,
}

/// This node's view of the live members.
#[derive(Debug)]
pub struct Members {
    ttl: Duration,
    by_name: RwLock<HashMap<String, Member>>,
    /// Why it exists: a reader polling [`Members::live`] misses a node that joined and left
    /// between two reads, and what that node owned meanwhile (see `actors::remote::moves`).
    changes: parking_lot::Mutex<Changes>,
}

impl Members {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            by_name: RwLock::new(HashMap::new()),
            changes: parking_lot::Mutex::new(Changes::default()),
        }
    }

    /// The member lists seen since the last call (joins and departures the watch delivered;
    /// a member that expires without a departure shows in [`Members::live`] only).
    pub fn take_changes(&self) -> Changes {
        std::mem::take(&mut *self.changes.lock())
    }

    /// The live members, by name.
    pub fn live(&self) -> Vec<NodeInfo> {
        let now = Instant::now();
        let mut live: Vec<NodeInfo> = self
            .by_name
            .read()
            .values()
            .filter(|m| m.expires > now)
            .map(|m| m.info.clone())
            .collect();
        live.sort_by(|a, b| a.name.cmp(&b.name));
        live
    }

    /// Records a put (a join or a renewal) written `age` ago, or a departure.
    fn apply(&self, key: &str, op: kv::Operation, value: &[u8], age: Duration) {
        let Some(name) = key.strip_prefix("node.") else {
            return;
        };
        let mut by_name = self.by_name.write();
        let now = Instant::now();
        let before = live_names(&by_name, now);
        match op {
            kv::Operation::Put => match serde_json::from_slice::<NodeInfo>(value) {
                Ok(info) => {
                    let left = self.ttl.saturating_sub(age);
                    by_name.insert(
                        name.to_string(),
                        Member {
                            info,
                            expires: Instant::now() + left,
                        },
                    );
                }
                Err(e) => tracing::warn!(key, error = %e, "unreadable member entry ignored"),
            },
            kv::Operation::Delete | kv::Operation::Purge => {
                by_name.remove(name);
            }
        }
        // Members that expired are forgotten here too, so the map does not grow with every
        // node that ever ran.
        by_name.retain(|_, m| m.expires > now);
        let after = live_names(&by_name, now);
        drop(by_name);
        if after != before {
            let mut changes = self.changes.lock();
            if changes.lists.len() == MAX_CHANGES {
                changes.lists.remove(0);
                changes.overflowed = true;
            }
            changes.lists.push(after);
        }
    }
}

/// The names of the members live at `now`, sorted.
fn live_names(by_name: &HashMap<String, Member>, now: Instant) -> Vec<String> {
    let mut names: Vec<String> = by_name
        .iter()
        .filter(|(_, m)| m.expires > now)
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names
}

/// How old an entry is by the NATS server's clock (zero when the clocks disagree backwards).
fn age_of(entry: &kv::Entry) -> Duration {
    let age = time::OffsetDateTime::now_utc() - entry.created;
    Duration::try_from(age).unwrap_or(Duration::ZERO)
}

/// Watches `node.*` until `stop`, keeping `members` current; re-watches when the watch ends
/// (a NATS reconnect ends it).
pub fn spawn_watch(
    store: kv::Store,
    members: Arc<Members>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store.watch_with_history("node.*").await {
                Ok(mut entries) => loop {
                    tokio::select! {
                        _ = stop.changed() => return,
                        next = entries.next() => match next {
                            Some(Ok(entry)) => members.apply(
                                &entry.key,
                                entry.operation,
                                &entry.value,
                                age_of(&entry),
                            ),
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "membership watch error");
                                break;
                            }
                            None => break,
                        },
                    }
                },
                Err(e) => tracing::warn!(error = %e, "membership watch failed to start"),
            }
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> Vec<u8> {
        serde_json::to_vec(&NodeInfo {
            name: name.into(),
            worker_id: 1,
            api: String::new(),
            gateway: String::new(),
            started_at_ms: 0,
        })
        .unwrap()
    }

    #[test]
    fn puts_join_deletes_leave_and_old_entries_expire() {
        let m = Members::new(Duration::from_secs(10));
        m.apply("node.a", kv::Operation::Put, &info("a"), Duration::ZERO);
        m.apply("node.b", kv::Operation::Put, &info("b"), Duration::ZERO);
        let names = |m: &Members| m.live().into_iter().map(|i| i.name).collect::<Vec<_>>();
        assert_eq!(names(&m), ["a", "b"]);
        m.apply("node.a", kv::Operation::Delete, &[], Duration::ZERO);
        assert_eq!(names(&m), ["b"]);
        // Written a whole TTL ago: already gone.
        m.apply(
            "node.c",
            kv::Operation::Put,
            &info("c"),
            Duration::from_secs(10),
        );
        assert_eq!(names(&m), ["b"]);
        // Not a node key, or unreadable: ignored.
        m.apply("worker.3", kv::Operation::Put, b"x", Duration::ZERO);
        m.apply("node.d", kv::Operation::Put, b"not json", Duration::ZERO);
        assert_eq!(names(&m), ["b"]);
    }

    #[test]
    fn a_member_that_joins_and_leaves_between_two_looks_is_in_the_changes() {
        let m = Members::new(Duration::from_secs(10));
        m.apply("node.a", kv::Operation::Put, &info("a"), Duration::ZERO);
        m.take_changes();
        m.apply("node.b", kv::Operation::Put, &info("b"), Duration::ZERO);
        // A renewal changes nothing.
        m.apply("node.b", kv::Operation::Put, &info("b"), Duration::ZERO);
        m.apply("node.b", kv::Operation::Delete, &[], Duration::ZERO);
        let changes = m.take_changes();
        assert_eq!(changes.lists, [vec!["a", "b"], vec!["a"]]);
        assert!(!changes.overflowed);
        assert_eq!(m.take_changes(), Changes::default());
        for _ in 0..MAX_CHANGES {
            m.apply("node.c", kv::Operation::Put, &info("c"), Duration::ZERO);
            m.apply("node.c", kv::Operation::Delete, &[], Duration::ZERO);
        }
        let changes = m.take_changes();
        assert_eq!(changes.lists.len(), MAX_CHANGES);
        assert!(changes.overflowed);
    }

    #[test]
    fn a_member_that_stops_renewing_drops_out_after_the_ttl() {
        let m = Members::new(Duration::from_millis(50));
        m.apply("node.a", kv::Operation::Put, &info("a"), Duration::ZERO);
        assert_eq!(m.live().len(), 1);
        std::thread::sleep(Duration::from_millis(80));
        assert!(m.live().is_empty());
    }
}
