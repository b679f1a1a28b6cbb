//! Process-wide counters for `/metrics` and the admin dashboard's health page.
//!
//! Counting must cost next to nothing on the hot paths, so the counters are plain relaxed
//! atomics bumped where the work happens (a message persisted by its channel actor, an event
//! queued for a session). Everything else the health page shows (sessions, live actors, store
//! latency) is read from its owner when asked. Rates come from [`sample`]: each call adds a
//! point (at most one per second) to a short history, and a rate is the counter difference
//! between consecutive points — no background task, nothing to start or stop.
//!
//! The counters are statics: they count for the whole process (several servers started by one
//! test process share them).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

/// Messages created (persisted) since the process started.
pub static MESSAGES_CREATED: AtomicU64 = AtomicU64::new(0);
/// Dispatches queued for a gateway session since the process started (one per recipient).
pub static EVENTS_FANNED_OUT: AtomicU64 = AtomicU64::new(0);

#[inline]
pub fn message_created() {
    MESSAGES_CREATED.fetch_add(1, Ordering::Relaxed);
}

/// Gateway sessions closed because their bounded queue overflowed (a client that stopped
/// reading, or one too slow for its event rate).
pub static SESSIONS_DROPPED_BACKPRESSURE: AtomicU64 = AtomicU64::new(0);

#[inline]
pub fn session_dropped_for_backpressure() {
    SESSIONS_DROPPED_BACKPRESSURE.fetch_add(1, Ordering::Relaxed);
}

#[inline]
pub fn event_fanned_out() {
    EVENTS_FANNED_OUT.fetch_add(1, Ordering::Relaxed);
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub messages_created: u64,
    pub events_fanned_out: u64,
    pub sessions_dropped_backpressure: u64,
}

impl Counters {
    pub fn now() -> Self {
        Self {
            messages_created: MESSAGES_CREATED.load(Ordering::Relaxed),
            events_fanned_out: EVENTS_FANNED_OUT.load(Ordering::Relaxed),
            sessions_dropped_backpressure: SESSIONS_DROPPED_BACKPRESSURE.load(Ordering::Relaxed),
        }
    }
}

/// One point of the health time series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Unix milliseconds.
    pub t: u64,
    pub messages_per_sec: f64,
    pub events_per_sec: f64,
    pub sessions: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: u64,
    counters: Counters,
    sessions: u64,
}

/// Points kept: five minutes at the dashboard's 3-second refresh.
const HISTORY: usize = 100;
/// Samples closer together than this are merged (many dashboards polling at once).
const MIN_INTERVAL_MS: u64 = 1000;

static SAMPLES: Mutex<VecDeque<Sample>> = Mutex::new(VecDeque::new());

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Records the current counters (unless the last sample is under a second old) and returns the
/// rate history, oldest first. The last point is the current rate.
pub fn sample(sessions: u64) -> Vec<Point> {
    sample_at(unix_ms(), Counters::now(), sessions, &mut SAMPLES.lock())
}

fn sample_at(
    at_ms: u64,
    counters: Counters,
    sessions: u64,
    samples: &mut VecDeque<Sample>,
) -> Vec<Point> {
    let fresh = samples
        .back()
        .is_none_or(|last| at_ms.saturating_sub(last.at_ms) >= MIN_INTERVAL_MS);
    if fresh {
        samples.push_back(Sample {
            at_ms,
            counters,
            sessions,
        });
        // One more sample than points: the oldest only serves as the base of the first rate.
        while samples.len() > HISTORY + 1 {
            samples.pop_front();
        }
    }
    let rate = |a: u64, b: u64, ms: u64| {
        if ms == 0 {
            0.0
        } else {
            b.saturating_sub(a) as f64 * 1000.0 / ms as f64
        }
    };
    samples
        .iter()
        .zip(samples.iter().skip(1))
        .map(|(a, b)| {
            let ms = b.at_ms.saturating_sub(a.at_ms);
            Point {
                t: b.at_ms,
                messages_per_sec: rate(
                    a.counters.messages_created,
                    b.counters.messages_created,
                    ms,
                ),
                events_per_sec: rate(
                    a.counters.events_fanned_out,
                    b.counters.events_fanned_out,
                    ms,
                ),
                sessions: b.sessions,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(m: u64, e: u64) -> Counters {
        Counters {
            messages_created: m,
            events_fanned_out: e,
            sessions_dropped_backpressure: 0,
        }
    }

    #[test]
    fn rates_come_from_consecutive_samples() {
        let mut s = VecDeque::new();
        assert!(sample_at(10_000, c(0, 0), 1, &mut s).is_empty());
        let points = sample_at(12_000, c(10, 40), 2, &mut s);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].messages_per_sec, 5.0);
        assert_eq!(points[0].events_per_sec, 20.0);
        assert_eq!(points[0].sessions, 2);
        // Too soon: no new point, same history.
        assert_eq!(sample_at(12_500, c(99, 99), 2, &mut s), points);
    }

    #[test]
    fn history_is_bounded() {
        let mut s = VecDeque::new();
        for i in 0..(HISTORY as u64 + 50) {
            sample_at(i * 1000, c(i, i), 0, &mut s);
        }
        let points = sample_at(1_000_000, c(0, 0), 0, &mut s);
        assert_eq!(points.len(), HISTORY);
        assert_eq!(points.last().map(|p| p.messages_per_sec), Some(0.0));
    }

    #[test]
    fn counters_count() {
        let before = Counters::now();
        message_created();
        event_fanned_out();
        let after = Counters::now();
        assert!(after.messages_created > before.messages_created);
        assert!(after.events_fanned_out > before.events_fanned_out);
    }
}
