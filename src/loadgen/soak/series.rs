//! The soak's time series and the flatness verdict.
//!
//! A leak or a queue that never drains shows as a series that keeps rising under a steady load;
//! a warm-up (caches filling, the allocator growing its arenas) rises too, and then levels off.
//! So the verdict skips the warm-up (the first 20 % of the run by default), splits the rest
//! into thirds and compares the mean of the last third with the mean of the middle one: growth
//! above a relative threshold *and* above an absolute slack (so 3 → 4 actors, or a millisecond
//! of latency, is not "growth") flags the series.

use std::collections::BTreeMap;

use serde::Serialize;

/// One reading of every series, `t_secs` into the measured phase.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sample {
    pub t_secs: f64,
    /// Series name → value; a series missing from a sample had no reading then (e.g. no
    /// message delivered in that interval, so no latency).
    pub values: BTreeMap<String, f64>,
}

/// Whether a series stayed flat.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub series: String,
    /// Samples after the warm-up that had a value.
    pub samples: usize,
    pub middle_mean: f64,
    pub last_mean: f64,
    /// (last − middle) / middle.
    pub growth: f64,
    /// Growth smaller than this (in the series' unit) is never flagged.
    pub slack: f64,
    /// "flat", "GROWING", or "too few samples".
    pub status: &'static str,
}

impl Verdict {
    pub fn line(&self) -> String {
        format!(
            "flatness {:<24} {:<15} middle {:>12.1} last {:>12.1} ({:+.1} %, n={})",
            self.series,
            self.status,
            self.middle_mean,
            self.last_mean,
            self.growth * 100.0,
            self.samples
        )
    }

    pub fn growing(&self) -> bool {
        self.status == "GROWING"
    }
}

/// Everything the soak recorded over time; goes into the JSON as `soak`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Series {
    pub sample_secs: f64,
    /// Fraction of the run skipped by the verdict.
    pub warmup: f64,
    /// Relative growth (last third over middle third) that flags a series.
    pub threshold: f64,
    /// Every series name that has at least one value.
    pub names: Vec<String>,
    pub samples: Vec<Sample>,
    pub verdicts: Vec<Verdict>,
}

/// The absolute growth below which a series counts as flat, in its own unit; `None` for
/// series that describe the offered load rather than the server's health (no verdict).
pub fn slack(name: &str) -> Option<f64> {
    Some(match name {
        "rss_kib" | "loadgen_rss_kib" => 4096.0,
        "fds" => 16.0,
        "log_bytes_per_sec" => 2048.0,
        "create_p99_ms" | "fanout_p99_ms" => 5.0,
        n if n.starts_with("actors_") => 8.0,
        n if n.starts_with("mailbox_") || n == "session_queue_max" => 64.0,
        "sessions_online" | "sessions_resumable" => 8.0,
        _ => return None,
    })
}

impl Series {
    /// Builds the series from the samples and judges every series that has a slack.
    pub fn new(sample_secs: f64, warmup: f64, threshold: f64, samples: Vec<Sample>) -> Self {
        let mut names: Vec<String> = samples
            .iter()
            .flat_map(|s| s.values.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        let verdicts = names
            .iter()
            .filter_map(|n| Some(judge(n, &samples, warmup, threshold, slack(n)?)))
            .collect();
        Self {
            sample_secs,
            warmup,
            threshold,
            names,
            samples,
            verdicts,
        }
    }

    /// (name, points (minutes, value)) per series, for the panel plot.
    pub fn panels(&self) -> Vec<(String, Vec<(f64, f64)>)> {
        self.names
            .iter()
            .map(|n| {
                let pts = self
                    .samples
                    .iter()
                    .filter_map(|s| s.values.get(n).map(|v| (s.t_secs / 60.0, *v)))
                    .collect();
                (n.clone(), pts)
            })
            .collect()
    }
}

/// The verdict of one series (see the module doc).
pub fn judge(name: &str, samples: &[Sample], warmup: f64, threshold: f64, slack: f64) -> Verdict {
    let end = samples.last().map_or(0.0, |s| s.t_secs);
    let after: Vec<f64> = samples
        .iter()
        .filter(|s| s.t_secs >= warmup.clamp(0.0, 0.9) * end)
        .filter_map(|s| s.values.get(name).copied())
        .collect();
    let n = after.len();
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let (middle, last) = if n >= 3 {
        (mean(&after[n / 3..2 * n / 3]), mean(&after[2 * n / 3..]))
    } else {
        (0.0, 0.0)
    };
    let delta = last - middle;
    let growth = if middle.abs() > f64::EPSILON {
        delta / middle.abs()
    } else if delta > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    let status = if n < 3 {
        "too few samples"
    } else if delta > slack && growth > threshold {
        "GROWING"
    } else {
        "flat"
    };
    Verdict {
        series: name.to_string(),
        samples: n,
        middle_mean: middle,
        last_mean: last,
        growth: if growth.is_finite() { growth } else { 0.0 },
        slack,
        status,
    }
}

/// Reads the gauges of Accord's `/metrics` that the soak follows: `accord_actors{kind}` →
/// `actors_<kind>`, `accord_mailbox_depth{kind}` → `mailbox_<kind>`, and
/// `accord_sessions_online`, `accord_sessions_resumable`, `accord_session_queue_max` under
/// their names without the prefix.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let (metric, kind) = match key.split_once('{') {
            Some((m, labels)) => (
                m,
                labels
                    .split(',')
                    .find_map(|l| l.strip_prefix("kind=\""))
                    .map(|k| k.trim_end_matches('}').trim_end_matches('"')),
            ),
            None => (key, None),
        };
        let name = match (metric, kind) {
            ("accord_actors", Some(k)) => format!("actors_{k}"),
            ("accord_mailbox_depth", Some(k)) => format!("mailbox_{k}"),
            ("accord_sessions_online", None) => "sessions_online".into(),
            ("accord_sessions_resumable", None) => "sessions_resumable".into(),
            ("accord_session_queue_max", None) => "session_queue_max".into(),
            _ => continue,
        };
        out.insert(name, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                t_secs: i as f64 * 5.0,
                values: BTreeMap::from([("rss_kib".to_string(), *v)]),
            })
            .collect()
    }

    #[test]
    fn warmup_then_level_is_flat() {
        // Rises during the first 20 %, then level with noise.
        let mut v = vec![10_000.0, 50_000.0, 90_000.0];
        v.extend((0..12).map(|i| 100_000.0 + f64::from(i % 3) * 500.0));
        let verdict = judge("rss_kib", &run(&v), 0.2, 0.1, 4096.0);
        assert_eq!(verdict.status, "flat", "{verdict:?}");
    }

    #[test]
    fn steady_growth_is_flagged() {
        let v: Vec<f64> = (0..15)
            .map(|i| 100_000.0 + f64::from(i) * 10_000.0)
            .collect();
        let verdict = judge("rss_kib", &run(&v), 0.2, 0.1, 4096.0);
        assert_eq!(verdict.status, "GROWING", "{verdict:?}");
        assert!(verdict.growing() && verdict.growth > 0.1);
    }

    #[test]
    fn small_absolute_growth_is_slack() {
        // 2 → 5 actors is +150 % but within the slack of 8.
        let v: Vec<f64> = (0..15).map(|i| if i < 10 { 2.0 } else { 5.0 }).collect();
        let verdict = judge("rss_kib", &run(&v), 0.2, 0.1, 8.0);
        assert_eq!(verdict.status, "flat", "{verdict:?}");
        assert_eq!(
            judge("rss_kib", &run(&[1.0, 2.0]), 0.2, 0.1, 1.0).status,
            "too few samples"
        );
    }

    #[test]
    fn series_judges_only_health_series() {
        let samples = vec![
            Sample {
                t_secs: 0.0,
                values: BTreeMap::from([("fds".into(), 10.0), ("posts_per_sec".into(), 3.0)]),
            };
            6
        ];
        let s = Series::new(5.0, 0.2, 0.1, samples);
        assert_eq!(s.names, vec!["fds", "posts_per_sec"]);
        assert_eq!(s.verdicts.len(), 1);
        assert_eq!(s.panels()[0].1.len(), 6);
    }

    #[test]
    fn reads_accord_metrics() {
        let text = "# HELP accord_actors Live actors by kind.\n\
            # TYPE accord_actors gauge\n\
            accord_actors{kind=\"guild\"} 3\n\
            accord_actors{kind=\"session\"} 40\n\
            accord_mailbox_depth{kind=\"channel\"} 2\n\
            accord_sessions_online 40\n\
            accord_session_queue_max 9\n\
            accord_build_info{version=\"1\",backend=\"embedded\"} 1\n\
            accord_messages_created_total 100\n";
        let m = parse_metrics(text);
        assert_eq!(m["actors_guild"], 3.0);
        assert_eq!(m["actors_session"], 40.0);
        assert_eq!(m["mailbox_channel"], 2.0);
        assert_eq!(m["sessions_online"], 40.0);
        assert_eq!(m["session_queue_max"], 9.0);
        assert_eq!(m.len(), 5);
    }
}
