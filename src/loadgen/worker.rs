//! Sessions in worker processes: one process may hold at most about 20,000 descriptors on the
//! boxes we measure on, so a run with more sessions (a cluster's 45,000) spreads them over
//! several `accord loadgen session-worker` processes, each holding its share.
//!
//! The run that spawns them ([`Workers::spawn`]) writes each worker's [`Spec`] as the first
//! line of its stdin, reads a [`Line::Status`] from each worker's stdout four times a second (mirrored into the
//! run's [`Tally`], so waiting and the audience of a post work as for local sessions), and
//! when the run ends writes `stop` to each worker's stdin and merges the delivery histograms
//! of their [`Line::Final`] lines into its own recorder. Every process measures on the run's
//! clock ([`Recorder::with_origin`]), so a marker written by the poster is read correctly by the
//! worker whose session receives it. A worker whose stdin closes (the run died) stops too.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::watch;

use super::Recorder;
use super::gateway::{self, Ctx, Tally, TallySnapshot};
use super::retry::RetryPolicy;

/// The histograms and counters a worker sends back, by name.
const HISTOGRAMS: [&str; 3] = ["delivered_create", "delivered_update", "identify"];
const COUNTERS: [&str; 1] = ["session_dropped"];

/// What one worker opens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// The run's clock ([`Recorder::origin_unix_us`]).
    pub origin_unix_us: u64,
    /// Sessions by gateway URL.
    pub groups: Vec<Group>,
    pub intents: u64,
    /// Sessions opened per second by this worker (over all its groups).
    pub connect_rate: f64,
    pub identify_attempts: u32,
    pub zlib_stream: bool,
}

/// The sessions one worker opens on one node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub gateway_url: String,
    pub tokens: Vec<String>,
}

/// One line of a worker's stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "line", rename_all = "snake_case")]
pub enum Line {
    /// Counts so far.
    Status(Status),
    /// The last line, once every session closed.
    Final {
        status: Status,
        /// Histograms as (value µs, count) pairs, by name.
        histograms: Vec<(String, Vec<(u64, u64)>)>,
        counters: Vec<(String, u64)>,
    },
}

/// A worker's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub tally: TallySnapshot,
    /// MESSAGE_CREATEs with a marker received so far.
    pub delivered: u64,
}

/// `accord loadgen session-worker`: reads its [`Spec`] from the first line of stdin and runs
/// until a `stop` line (or the end of stdin).
pub async fn run() -> anyhow::Result<()> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let first = stdin
        .next_line()
        .await
        .context("reading the worker spec")?
        .context("no worker spec on stdin")?;
    let spec: Spec = serde_json::from_str(&first).context("parsing the worker spec")?;
    let recorder = Recorder::with_origin(spec.origin_unix_us);
    let tally = Arc::new(Tally::default());
    let (stop_tx, stop) = watch::channel(false);
    let status = {
        let (recorder, tally) = (recorder.clone(), tally.clone());
        move || Status {
            tally: tally.snapshot(),
            delivered: recorder.get("delivered_create"),
        }
    };
    let reporter = {
        let status = status.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                emit(&Line::Status(status()));
            }
        })
    };
    let groups = spec.groups.len().max(1) as f64;
    let opens = spec.groups.iter().map(|g| {
        let ctx = Ctx {
            url: g.gateway_url.clone(),
            intents: spec.intents,
            recorder: recorder.clone(),
            tally: tally.clone(),
            stop: stop.clone(),
            retry: RetryPolicy {
                max_attempts: spec.identify_attempts.max(1),
                ..RetryPolicy::default()
            },
            zlib_stream: spec.zlib_stream,
        };
        let tokens = g.tokens.clone();
        let rate = spec.connect_rate / groups;
        async move { gateway::open_sessions(&ctx, tokens, rate).await }
    });
    // Opening and waiting for `stop` run together: a run may end before every session opened.
    let opening = tokio::spawn(futures::future::join_all(opens));
    loop {
        match stdin.next_line().await {
            Ok(Some(l)) if l.trim() == "stop" => break,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let _ = stop_tx.send(true);
    let handles: Vec<_> = opening
        .await
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    gateway::stop_sessions(&stop_tx, handles).await;
    reporter.abort();
    emit(&Line::Final {
        status: status(),
        histograms: HISTOGRAMS
            .iter()
            .map(|n| (n.to_string(), recorder.histogram_pairs(n)))
            .collect(),
        counters: COUNTERS
            .iter()
            .map(|n| (n.to_string(), recorder.get(n)))
            .collect(),
    });
    Ok(())
}

/// One JSON line on stdout (`println!` writes a whole line under stdout's lock).
fn emit(line: &Line) {
    if let Ok(s) = serde_json::to_string(line) {
        println!("{s}");
    }
}

/// The worker processes of a run, seen from the run.
pub struct Workers {
    children: Vec<Child>,
    stdins: Vec<ChildStdin>,
    slots: Arc<Mutex<Vec<Slot>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    mirror: tokio::task::JoinHandle<()>,
}

#[derive(Default, Clone)]
struct Slot {
    status: Status,
    last: Option<Line>,
}

impl Workers {
    /// Starts one `exe loadgen session-worker` per spec; their counts are mirrored into
    /// `tally` until [`Workers::finish`].
    pub async fn spawn(exe: &Path, specs: Vec<Spec>, tally: Arc<Tally>) -> anyhow::Result<Self> {
        let slots = Arc::new(Mutex::new(vec![Slot::default(); specs.len()]));
        let (mut children, mut stdins, mut readers) = (Vec::new(), Vec::new(), Vec::new());
        for (i, spec) in specs.iter().enumerate() {
            let mut child = tokio::process::Command::new(exe)
                .args(["loadgen", "--quiet", "session-worker"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {} loadgen session-worker", exe.display()))?;
            let stdout = child.stdout.take().context("worker stdout")?;
            let mut stdin = child.stdin.take().context("worker stdin")?;
            let mut first = serde_json::to_vec(spec)?;
            first.push(b'\n');
            stdin
                .write_all(&first)
                .await
                .context("sending a worker its spec")?;
            stdins.push(stdin);
            let slots = slots.clone();
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    let Ok(line) = serde_json::from_str::<Line>(&l) else {
                        continue;
                    };
                    let mut g = slots.lock();
                    match &line {
                        Line::Status(s) => g[i].status = *s,
                        Line::Final { status, .. } => g[i].status = *status,
                    }
                    g[i].last = Some(line);
                }
            }));
            children.push(child);
        }
        let mirror = {
            let slots = slots.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tick.tick().await;
                    tally.store(&sum(&slots.lock()).tally);
                }
            })
        };
        Ok(Self {
            children,
            stdins,
            slots,
            readers,
            mirror,
        })
    }

    /// MESSAGE_CREATEs delivered so far, over every worker (as of their last status).
    pub fn delivered(&self) -> u64 {
        sum(&self.slots.lock()).delivered
    }

    /// Tells every worker to stop, waits for their last lines and merges their histograms and
    /// counters into `recorder`; returns the summed final counts.
    pub async fn finish(mut self, recorder: &Recorder) -> anyhow::Result<Status> {
        self.mirror.abort();
        for stdin in &mut self.stdins {
            let _ = stdin.write_all(b"stop\n").await;
            let _ = stdin.flush().await;
        }
        drop(std::mem::take(&mut self.stdins));
        let readers = futures::future::join_all(std::mem::take(&mut self.readers));
        if tokio::time::timeout(Duration::from_secs(60), readers)
            .await
            .is_err()
        {
            anyhow::bail!("workers did not finish within 60 s");
        }
        for child in &mut self.children {
            let _ = child.wait().await;
        }
        let slots = self.slots.lock().clone();
        for (i, slot) in slots.iter().enumerate() {
            let Some(Line::Final {
                histograms,
                counters,
                ..
            }) = &slot.last
            else {
                anyhow::bail!("worker {i} ended without its final line");
            };
            for (name, pairs) in histograms {
                if let Some(n) = HISTOGRAMS.iter().find(|n| **n == name.as_str()) {
                    recorder.merge_pairs(n, pairs);
                }
            }
            for (name, v) in counters {
                if let Some(n) = COUNTERS.iter().find(|n| **n == name.as_str()) {
                    recorder.add_count(n, *v);
                }
            }
        }
        Ok(sum(&slots))
    }
}

fn sum(slots: &[Slot]) -> Status {
    let mut total = Status::default();
    for s in slots {
        total.tally.add(&s.status.tally);
        total.delivered += s.status.delivered;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_sum() {
        let mut a = TallySnapshot {
            ready: 2,
            first_ready_us: 50,
            last_ready_us: 90,
            ..Default::default()
        };
        let b = TallySnapshot {
            ready: 3,
            failed: 1,
            first_ready_us: 20,
            last_ready_us: 70,
            ..Default::default()
        };
        a.add(&b);
        assert_eq!((a.ready, a.failed), (5, 1));
        assert_eq!((a.first_ready_us, a.last_ready_us), (20, 90));
        let mut none = TallySnapshot::default();
        none.add(&b);
        assert_eq!(
            none.first_ready_us, 20,
            "an empty worker does not win the minimum"
        );

        let line = Line::Final {
            status: Status {
                tally: a,
                delivered: 7,
            },
            histograms: vec![("identify".into(), vec![(10, 2)])],
            counters: vec![("session_dropped".into(), 0)],
        };
        let s = serde_json::to_string(&line).expect("serialize");
        assert!(s.starts_with(r#"{"line":"final""#), "{s}");
        let back: Line = serde_json::from_str(&s).expect("parse");
        assert!(matches!(back, Line::Final { status, .. } if status.delivered == 7));
    }
}
