//! The single writer thread: group commit for redb.
//!
//! Jobs queue on a channel. The thread blocks for the first job, then drains whatever else is
//! already queued (up to a bound), runs them all in one write transaction, commits once (one fsync
//! under `Durability::Immediate`), and only then answers every job. A job that fails with a domain
//! error (`Conflict`) must not have written anything (jobs check before they write); a backend
//! error aborts the whole batch and every job in it gets the error.
//!
//! Under `Durability::Eventual` batches commit with redb's `Durability::None` (no fsync; redb's
//! own `Eventual` still fdatasyncs every commit on Linux), and the thread makes them durable
//! with one fsynced commit at the latest [`EventualFlush::interval`] after the first such commit,
//! or after [`EventualFlush::commits`] of them, whichever comes first — also when no new job
//! arrives (the thread waits with a timeout), on `flush()` and when the store is dropped.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::be;
use crate::store::{Durability, EventualFlush, StoreError, StoreResult};

/// Jobs committed together at most.
const MAX_BATCH: usize = 512;

type Completion = Box<dyn FnOnce(StoreResult<()>) + Send>;
/// A job runs inside the batch transaction and says whether it failed fatally, whether it needs
/// the batch fsynced whatever the configured durability (`flush`), and how to answer its caller.
type Job = Box<dyn FnOnce(&WriteTransaction) -> (bool, bool, Completion) + Send>;

pub struct Writer {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    /// Closes the queue and waits for the thread, so the database file is released when the
    /// store is dropped (a restart in the same process can open it again at once).
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Writer {
    pub fn start(db: Arc<Database>, durability: Durability, flush: EventualFlush) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("accord-store-writer".into())
            .spawn(move || run(db, durability, flush, rx));
        let thread = match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                // Without the thread every write would fail with "writer stopped"; say why once.
                tracing::error!(error = %e, "could not start the store writer thread");
                None
            }
        };
        Self {
            tx: Some(tx),
            thread,
        }
    }

    /// Runs `f` inside the next group-committed write transaction and returns its result once the
    /// commit is durable (per the configured durability).
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        self.submit(f, false).await
    }

    async fn submit<T, F>(&self, f: F, force_durable: bool) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |txn| {
            let result = f(txn);
            let fatal = matches!(result, Err(StoreError::Backend(_)));
            let completion: Completion = Box::new(move |commit: StoreResult<()>| {
                let _ = reply.send(commit.and(result));
            });
            (fatal, force_durable, completion)
        });
        self.tx
            .as_ref()
            .ok_or_else(|| StoreError::Backend("store writer stopped".into()))?
            .send(job)
            .map_err(|_| StoreError::Backend("store writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("store writer dropped a job".into()))?
    }

    /// Commits an empty transaction with immediate durability: everything acknowledged before is
    /// on disk afterwards, whatever the configured mode.
    pub async fn flush(&self) -> StoreResult<()> {
        // In `Eventual` mode this commit is forced to fsync, taking every earlier one with it.
        self.submit(|_| Ok(()), true).await
    }
}

/// Commits made without fsync (`Eventual` mode) since the last durable one.
#[derive(Default)]
struct Undurable {
    commits: u32,
    since: Option<Instant>,
}

impl Undurable {
    /// When the pending commits must be made durable, if there are any.
    fn deadline(&self, flush: &EventualFlush) -> Option<Instant> {
        self.since.map(|t| t + flush.interval)
    }

    /// Whether the next commit should be the durable one.
    fn due(&self, flush: &EventualFlush) -> bool {
        self.commits + 1 >= flush.commits
            || self.deadline(flush).is_some_and(|d| Instant::now() >= d)
    }
}

fn run(db: Arc<Database>, durability: Durability, flush: EventualFlush, rx: mpsc::Receiver<Job>) {
    let eventual = durability == Durability::Eventual;
    let mut undurable = Undurable::default();
    loop {
        let first = match undurable.deadline(&flush) {
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
            Some(deadline) => {
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(job) => job,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if make_durable(&db) {
                            undurable = Undurable::default();
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let span = tracing::trace_span!("store.commit", batch = jobs.len());
        let _enter = span.enter();
        let mut txn = match db.begin_write() {
            Ok(txn) => txn,
            Err(e) => {
                let msg = e.to_string();
                for job in jobs {
                    fail_unrun(job, &msg);
                }
                continue;
            }
        };
        let mut completions = Vec::with_capacity(jobs.len());
        let mut fatal = false;
        let mut force = false;
        for job in jobs {
            let (job_fatal, job_force, completion) = job(&txn);
            fatal |= job_fatal;
            force |= job_force;
            completions.push(completion);
        }
        // A durable commit also makes every earlier `None` commit durable.
        let durable = !eventual || force || undurable.due(&flush);
        txn.set_durability(if durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        });
        let outcome = if fatal {
            let _ = txn.abort();
            Err(StoreError::Backend("write batch aborted".into()))
        } else {
            txn.commit().map_err(be)
        };
        match &outcome {
            Err(e) => tracing::error!(error = %e, "store commit failed"),
            Ok(()) if durable => undurable = Undurable::default(),
            Ok(()) => {
                undurable.commits += 1;
                undurable.since.get_or_insert_with(Instant::now);
            }
        }
        for completion in completions {
            let result = match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Backend(e.to_string())),
            };
            completion(result);
        }
    }
    // The queue closed (the store is being dropped): nothing acknowledged stays undurable.
    if undurable.since.is_some() {
        make_durable(&db);
    }
}

/// An empty fsynced commit: every earlier commit is durable afterwards. Says whether it worked
/// (on failure the next commit or timeout tries again).
fn make_durable(db: &Database) -> bool {
    let result = db.begin_write().map_err(be).and_then(|mut txn| {
        txn.set_durability(redb::Durability::Immediate);
        txn.commit().map_err(be)
    });
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "background durable commit failed");
            false
        }
    }
}

/// Answers a job that never ran because no transaction could be opened.
fn fail_unrun(job: Job, msg: &str) {
    // The job must be run to obtain its completion; run it against nothing is impossible, so we
    // drop it: its caller sees "store writer dropped a job" and maps it to a backend error.
    let _ = (job, msg);
    tracing::error!(error = %msg, "store write transaction could not begin");
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use crate::store::embedded::EmbeddedStore;
    use crate::store::{Durability, EventualFlush, Store};

    /// What a killed process leaves behind: the file as the kernel has it now. redb reopens a
    /// copy at its last durable commit, exactly as after a crash.
    async fn after_crash(dir: &Path) -> Option<String> {
        let copy = tempfile::tempdir().expect("tempdir");
        std::fs::copy(dir.join("accord.redb"), copy.path().join("accord.redb")).expect("copy");
        let store = EmbeddedStore::open(copy.path(), Durability::Immediate).expect("reopen");
        store.get_config().await.expect("read")
    }

    fn eventual(dir: &Path, interval: Duration) -> EmbeddedStore {
        let flush = EventualFlush {
            interval,
            commits: 1_000,
        };
        EmbeddedStore::open_with(dir, Durability::Eventual, flush).expect("open")
    }

    #[tokio::test]
    async fn eventual_commits_skip_the_fsync_until_a_flush() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = eventual(dir.path(), Duration::from_secs(3600));
        store.put_config("one").await.expect("write");
        assert_eq!(
            store.get_config().await.expect("read").as_deref(),
            Some("one")
        );
        assert_eq!(after_crash(dir.path()).await, None, "not durable yet");
        store.flush().await.expect("flush");
        assert_eq!(after_crash(dir.path()).await.as_deref(), Some("one"));
    }

    #[tokio::test]
    async fn eventual_commits_become_durable_in_the_background() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = eventual(dir.path(), Duration::from_millis(50));
        store.put_config("two").await.expect("write");
        let start = Instant::now();
        while after_crash(dir.path()).await.as_deref() != Some("two") {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no background flush"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn dropping_the_store_makes_eventual_writes_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = eventual(dir.path(), Duration::from_secs(3600));
        store.put_config("three").await.expect("write");
        drop(store);
        assert_eq!(after_crash(dir.path()).await.as_deref(), Some("three"));
    }
}
