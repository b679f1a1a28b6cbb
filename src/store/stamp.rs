//! Write timestamps taken at the ownership-lease check: the store's half of cluster fencing.
//!
//! Why: Scylla (and Cassandra) settle two writes of the same cell by their timestamps — the
//! later timestamp wins, whichever write lands last. The driver stamps a write when it *sends*
//! it, so a node paused between its lease check and the send (a stopped VM, a stalled
//! process) would stamp its stale write later than the next owner's writes, and the stale
//! write would win. Stamped at the check instead, every write a node makes under a lease
//! carries a time from inside the lease's trusted window, which closes a margin before the TTL
//! lets another node claim the lease; the next owner's writes are stamped after its claim. So a
//! stale write loses to every write of the next owner, whenever it lands — as long as the
//! nodes' clocks agree within that margin (`cluster.lease_ttl_ms` / 10, at least 200 ms), which
//! NTP gives.
//!
//! An actor takes a [`WriteStamp`] *before* it checks its lease (so the stamp cannot be later
//! than the check) and runs its writes [`under`] it. The backends that order writes by
//! timestamp read it with [`next`]; the embedded store, which is never shared between nodes,
//! has no use for it. On a single node nothing is stamped and this costs nothing.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

tokio::task_local! {
    /// The stamp of the next write made by the task running under [`under`].
    static NEXT: Cell<i64>;
}

/// The highest stamp this process handed out, so stamps only grow (two writes of one cell
/// from one node never tie, and never reorder when the wall clock steps back).
static LAST: AtomicI64 = AtomicI64::new(0);

/// A write timestamp in microseconds since the Unix epoch (the unit Scylla orders writes by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WriteStamp(i64);

impl WriteStamp {
    /// Now, or just after the last stamp of this process when the clock has not moved on.
    pub fn now() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let prev = LAST
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(wall.max(last.saturating_add(1)))
            })
            .unwrap_or_else(|last| last);
        Self(wall.max(prev.saturating_add(1)))
    }

    /// Makes every later stamp of this process come after `floor`. A lease handed over by
    /// another node carries that node's last stamp (see `cluster::ownership`), so the new
    /// owner's writes come after the old owner's even when its clock is behind.
    pub fn follow(floor: WriteStamp) {
        LAST.fetch_max(floor.0, Ordering::AcqRel);
    }

    /// A given time (tests, and a backend's own use).
    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }
}

/// Runs `write` with every store write it makes stamped from `stamp` on (each write one
/// microsecond after the one before, so writes of one cell keep their order). `None` runs it
/// as is: the driver stamps at send time, as on a single node.
pub async fn under<F: Future>(stamp: Option<WriteStamp>, write: F) -> F::Output {
    match stamp {
        Some(s) => NEXT.scope(Cell::new(s.0), write).await,
        None => write.await,
    }
}

/// The stamp for the write about to be sent, when the current task runs [`under`] one.
pub fn next() -> Option<i64> {
    NEXT.try_with(|next| {
        let stamp = next.get();
        next.set(stamp.saturating_add(1));
        LAST.fetch_max(stamp, Ordering::AcqRel);
        stamp
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_only_grow() {
        let mut prev = WriteStamp::now();
        for _ in 0..10_000 {
            let s = WriteStamp::now();
            assert!(s > prev);
            prev = s;
        }
    }

    #[tokio::test]
    async fn writes_under_a_stamp_count_up_from_it_and_others_are_unstamped() {
        assert_eq!(next(), None);
        let base = WriteStamp::from_micros(1_000);
        let got = under(Some(base), async { (next(), next(), next()) }).await;
        assert_eq!(got, (Some(1_000), Some(1_001), Some(1_002)));
        assert_eq!(under(None, async { next() }).await, None);
        // A stamp taken after writes under a later stamp still comes after them.
        let ahead = WriteStamp::now().micros() + 5_000_000;
        under(Some(WriteStamp::from_micros(ahead)), async { next() }).await;
        assert!(WriteStamp::now().micros() > ahead);
        // So does one taken after following another node's later stamp (a hand-over).
        let theirs = WriteStamp::now().micros() + 60_000_000;
        WriteStamp::follow(WriteStamp::from_micros(theirs));
        assert!(WriteStamp::now().micros() > theirs);
    }
}
