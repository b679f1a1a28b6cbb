//! What a run measures: HdrHistograms of latencies (µs), counters, and per-second counts for
//! the throughput-over-time plot. One lock; every recording is a few map operations.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

/// Latencies up to 10 minutes, 3 significant digits.
const MAX_US: u64 = 600_000_000;

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

#[derive(Default)]
struct Inner {
    hists: BTreeMap<&'static str, Histogram<u64>>,
    counters: BTreeMap<&'static str, u64>,
    /// One map per second since `phase_start`; empty until the measured phase starts.
    timeline: Vec<BTreeMap<&'static str, u64>>,
    phase_start: Option<Instant>,
    /// Histograms of the current sampling interval (the soak's per-interval p99s); `None`
    /// unless [`Recorder::enable_windows`] was called, so other scenarios pay nothing.
    window: Option<BTreeMap<&'static str, Histogram<u64>>>,
}

/// Shared by every task of a run.
#[derive(Clone)]
pub struct Recorder {
    /// The clock of the run: message markers carry µs since this instant.
    pub start: Instant,
    /// `start` as µs since the Unix epoch: worker processes of the same run
    /// ([`Recorder::with_origin`]) measure on the same clock, so a marker written by the
    /// process that posts is read correctly by the one whose session receives it.
    pub origin_unix_us: u64,
    inner: Arc<Mutex<Inner>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            origin_unix_us: unix_now_us(),
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    /// A recorder on another process's clock: `now_us` counts from `origin_unix_us`.
    pub fn with_origin(origin_unix_us: u64) -> Self {
        let ago = Duration::from_micros(unix_now_us().saturating_sub(origin_unix_us));
        Self {
            start: Instant::now().checked_sub(ago).unwrap_or_else(Instant::now),
            origin_unix_us,
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    /// One histogram as (value, count) pairs, to carry it to another process.
    pub fn histogram_pairs(&self, name: &str) -> Vec<(u64, u64)> {
        self.inner
            .lock()
            .hists
            .get(name)
            .map_or_else(Vec::new, |h| {
                h.iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value()))
                    .collect()
            })
    }

    /// Adds (value, count) pairs from another process to a histogram and its counter (not to
    /// the timeline: the samples' seconds are not known).
    pub fn merge_pairs(&self, name: &'static str, pairs: &[(u64, u64)]) {
        let mut g = self.inner.lock();
        if !g.hists.contains_key(name)
            && let Ok(h) = Histogram::new_with_bounds(1, MAX_US, 3)
        {
            g.hists.insert(name, h);
        }
        let mut total = 0;
        if let Some(h) = g.hists.get_mut(name) {
            for &(v, n) in pairs {
                let _ = h.record_n(v.clamp(1, MAX_US), n);
                total += n;
            }
        }
        *g.counters.entry(name).or_default() += total;
    }

    /// Adds to a counter without touching the timeline.
    pub fn add_count(&self, name: &'static str, n: u64) {
        *self.inner.lock().counters.entry(name).or_default() += n;
    }

    /// Microseconds since the run started.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Starts the per-second timeline (the measured phase).
    pub fn start_phase(&self) {
        let mut g = self.inner.lock();
        g.phase_start = Some(Instant::now());
        g.timeline.clear();
    }

    /// Seconds since the measured phase started (0 before).
    pub fn phase_elapsed(&self) -> Duration {
        self.inner
            .lock()
            .phase_start
            .map(|s| s.elapsed())
            .unwrap_or_default()
    }

    /// Counts `n` occurrences of `name` (and in this second of the timeline).
    pub fn count(&self, name: &'static str, n: u64) {
        let mut g = self.inner.lock();
        *g.counters.entry(name).or_default() += n;
        tick(&mut g, name, n);
    }

    /// Records one latency sample and counts it under the same name.
    pub fn latency(&self, name: &'static str, us: u64) {
        let mut g = self.inner.lock();
        if !g.hists.contains_key(name) {
            // Constant, valid bounds (low ≥ 1, high ≥ 2·low, 3 digits): creation cannot fail.
            if let Ok(h) = Histogram::new_with_bounds(1, MAX_US, 3) {
                g.hists.insert(name, h);
            }
        }
        if let Some(h) = g.hists.get_mut(name) {
            h.saturating_record(us.clamp(1, MAX_US));
        }
        if let Some(w) = &mut g.window {
            if !w.contains_key(name)
                && let Ok(h) = Histogram::new_with_bounds(1, MAX_US, 3)
            {
                w.insert(name, h);
            }
            if let Some(h) = w.get_mut(name) {
                h.saturating_record(us.clamp(1, MAX_US));
            }
        }
        *g.counters.entry(name).or_default() += 1;
        tick(&mut g, name, 1);
    }

    /// Starts keeping per-interval histograms besides the run's (see [`Recorder::take_window`]).
    pub fn enable_windows(&self) {
        let mut g = self.inner.lock();
        if g.window.is_none() {
            g.window = Some(BTreeMap::new());
        }
    }

    /// The percentiles of the latencies recorded since the last call, and a fresh interval.
    pub fn take_window(&self) -> BTreeMap<String, Percentiles> {
        let mut g = self.inner.lock();
        let Some(w) = &mut g.window else {
            return BTreeMap::new();
        };
        let out = w
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(k, h)| (k.to_string(), Percentiles::of(h)))
            .collect();
        for h in w.values_mut() {
            h.reset();
        }
        out
    }

    pub fn get(&self, name: &str) -> u64 {
        self.inner.lock().counters.get(name).copied().unwrap_or(0)
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.inner
            .lock()
            .counters
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    pub fn percentiles(&self) -> BTreeMap<String, Percentiles> {
        self.inner
            .lock()
            .hists
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(k, h)| (k.to_string(), Percentiles::of(h)))
            .collect()
    }

    pub fn histograms(&self) -> Vec<(String, Histogram<u64>)> {
        self.inner
            .lock()
            .hists
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(k, h)| (k.to_string(), h.clone()))
            .collect()
    }

    pub fn timeline(&self) -> Vec<BTreeMap<String, u64>> {
        self.inner
            .lock()
            .timeline
            .iter()
            .map(|m| m.iter().map(|(k, v)| (k.to_string(), *v)).collect())
            .collect()
    }

    /// Prints the counters to stderr once a second until aborted.
    pub fn progress(&self, scenario: &'static str) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let line = me
                    .counters()
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                eprintln!(
                    "[{scenario} {:>5.1}s] {line}",
                    me.start.elapsed().as_secs_f64()
                );
            }
        })
    }
}

fn unix_now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn tick(g: &mut Inner, name: &'static str, n: u64) {
    let Some(start) = g.phase_start else { return };
    let sec = usize::try_from(start.elapsed().as_secs()).unwrap_or(usize::MAX);
    if sec > 86_400 {
        return;
    }
    if g.timeline.len() <= sec {
        g.timeline.resize_with(sec + 1, BTreeMap::new);
    }
    *g.timeline[sec].entry(name).or_default() += n;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_percentiles_and_timeline() {
        let r = Recorder::new();
        r.start_phase();
        for us in 1..=1000 {
            r.latency("x", us);
        }
        r.count("errors", 2);
        let p = r.percentiles()["x"];
        assert_eq!(p.count, 1000);
        assert!((495..=505).contains(&p.p50), "{p:?}");
        assert!(p.p99 >= 985, "{p:?}");
        assert_eq!(r.get("errors"), 2);
        assert_eq!(r.timeline()[0]["x"], 1000);
    }

    #[test]
    fn histograms_travel_between_processes_on_one_clock() {
        let a = Recorder::new();
        for us in [10, 20, 20, 5000] {
            a.latency("d", us);
        }
        let b = Recorder::with_origin(a.origin_unix_us);
        assert!(b.now_us().abs_diff(a.now_us()) < 50_000, "same clock");
        b.merge_pairs("d", &a.histogram_pairs("d"));
        b.merge_pairs("d", &[(30, 2)]);
        let p = b.percentiles()["d"];
        assert_eq!(p.count, 6);
        assert_eq!(b.get("d"), 6);
        assert!((4990..5010).contains(&p.max), "{p:?}");
        assert!(a.histogram_pairs("none").is_empty());
    }

    #[test]
    fn windows_reset_per_interval() {
        let r = Recorder::new();
        r.latency("x", 5);
        assert!(r.take_window().is_empty(), "windows are off by default");
        r.enable_windows();
        for us in 1..=100 {
            r.latency("x", us);
        }
        let w = r.take_window();
        assert_eq!(w["x"].count, 100);
        assert!(r.take_window().is_empty());
        r.latency("x", 7000);
        let max = r.take_window()["x"].max;
        assert!((7000..7010).contains(&max), "{max}");
        assert_eq!(r.percentiles()["x"].count, 102);
    }
}
