//! What the load generator reads about the server process from Linux's `/proc`: resident
//! memory, open file descriptors, and a log file's size. A run's memory story is told in three
//! figures — before the load, the peak during it (sampled every 250 ms), and a while after it
//! ended with every session closed — because the question after a large run is whether the
//! memory comes back (issue 14: back within 2× of the idle figure), not only how high it went.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How often the peak sampler reads VmRSS.
pub const PEAK_PERIOD: Duration = Duration::from_millis(250);

/// Resident memory of a process in KiB (Linux `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The summed resident memory of several processes in KiB (a cluster's nodes on one box);
/// `None` when none of them can be read.
pub fn rss_kib_all(pids: &[u32]) -> Option<u64> {
    let readings: Vec<u64> = pids.iter().filter_map(|&p| rss_kib(p)).collect();
    (!readings.is_empty()).then(|| readings.iter().sum())
}

/// Open file descriptors of a process (entries of `/proc/<pid>/fd`; sockets included).
pub fn open_fds(pid: u32) -> Option<u64> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(dir.count() as u64)
}

/// A file's size in bytes (the server's log, for its growth rate).
pub fn file_len(path: &std::path::Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Samples a process's VmRSS in the background and keeps the maximum.
pub struct PeakSampler {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakSampler {
    /// Samples the sum over `pids` (one server, or every node of a cluster on this box).
    pub fn start(pids: Vec<u32>) -> Self {
        let peak = Arc::new(AtomicU64::new(rss_kib_all(&pids).unwrap_or(0)));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(PEAK_PERIOD);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                match rss_kib_all(&pids) {
                    Some(kib) => {
                        p.fetch_max(kib, Ordering::Relaxed);
                    }
                    None => return,
                }
            }
        });
        Self { peak, task }
    }

    /// Stops sampling (after one last reading) and returns the peak in KiB.
    pub fn stop(self, pids: &[u32]) -> u64 {
        self.task.abort();
        if let Some(kib) = rss_kib_all(pids) {
            self.peak.fetch_max(kib, Ordering::Relaxed);
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// The server's memory over a run, in KiB.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Memory {
    /// Before the load started (the idle figure).
    pub before_kib: u64,
    /// The highest reading during the load.
    pub peak_kib: u64,
    /// Right after the load ended (sessions just closed).
    pub end_kib: u64,
    /// After `after_secs` more seconds with every session closed.
    pub after_kib: u64,
    pub after_secs: f64,
    /// after / before: issue 14 asks for ≤ 2 after a 10k-session run.
    pub after_over_before: f64,
}

impl Memory {
    /// Whether memory came back within 2× of the idle figure.
    pub fn back_within_2x(&self) -> bool {
        self.after_over_before <= 2.0
    }

    /// One line for the summary.
    pub fn line(&self) -> String {
        let mib = |k: u64| k as f64 / 1024.0;
        format!(
            "server RSS before {:.1} MiB, peak {:.1} MiB, at end {:.1} MiB, {:.0}s later {:.1} MiB \
             (after/before {:.2}: {})",
            mib(self.before_kib),
            mib(self.peak_kib),
            mib(self.end_kib),
            self.after_secs,
            mib(self.after_kib),
            self.after_over_before,
            if self.back_within_2x() {
                "back within 2x"
            } else {
                "NOT back within 2x"
            }
        )
    }
}

/// Tracks a run's memory: [`MemoryWatch::start`] before the load, [`MemoryWatch::finish`] once
/// the sessions are closed (it waits `after` and reads again).
pub struct MemoryWatch {
    pids: Vec<u32>,
    before: u64,
    sampler: PeakSampler,
}

impl MemoryWatch {
    /// `None` without a pid, or when no process can be read. With several pids (the nodes of
    /// a cluster on this box) every figure is their sum.
    pub fn start(pids: &[u32]) -> Option<Self> {
        let before = rss_kib_all(pids)?;
        Some(Self {
            pids: pids.to_vec(),
            before,
            sampler: PeakSampler::start(pids.to_vec()),
        })
    }

    /// The load has ended and its sessions are closed: stop the peak sampler, hold for
    /// `after` (printing nothing; the run is idle) and read the memory again.
    pub async fn finish(self, after: Duration) -> Memory {
        let peak = self.sampler.stop(&self.pids);
        let end = rss_kib_all(&self.pids).unwrap_or(0);
        let t0 = Instant::now();
        tokio::time::sleep(after).await;
        let after_kib = rss_kib_all(&self.pids).unwrap_or(0);
        Memory {
            before_kib: self.before,
            peak_kib: peak.max(end),
            end_kib: end,
            after_kib,
            after_secs: t0.elapsed().as_secs_f64(),
            after_over_before: after_kib as f64 / self.before.max(1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(rss_kib(me).is_some_and(|k| k > 0));
        assert!(open_fds(me).is_some_and(|n| n >= 3));
        assert_eq!(rss_kib(u32::MAX), None);
    }

    #[tokio::test]
    async fn memory_watch_reports_before_peak_after() {
        let w = MemoryWatch::start(&[std::process::id()]).expect("own process");
        let m = w.finish(Duration::from_millis(10)).await;
        assert!(m.before_kib > 0 && m.peak_kib >= m.before_kib.min(m.end_kib));
        assert!(m.after_over_before > 0.0);
        assert!(m.line().contains("after/before"));
        assert!(MemoryWatch::start(&[]).is_none());
        let me = std::process::id();
        let one = rss_kib(me).expect("own process");
        assert!(rss_kib_all(&[me, me]).is_some_and(|two| two >= one));
    }
}
