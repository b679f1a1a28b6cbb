//! The single writer thread: group commit for redb.
//!
//! Jobs queue on a channel. The thread blocks for the first job, then drains whatever else is
//! already queued (up to a bound), runs them all in one write transaction, commits once (one fsync
//! under `Durability::Immediate`), and only then answers every job. A job that fails with a domain
//! error (`Conflict`) must not have written anything (jobs check before they write); a backend
//! error aborts the whole batch and every job in it gets the error.

use std::sync::Arc;
use std::sync::mpsc;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::be;
use crate::store::{Durability, StoreError, StoreResult};

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
    pub fn start(db: Arc<Database>, durability: Durability) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("accord-store-writer".into())
            .spawn(move || run(db, durability, rx));
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

fn run(db: Arc<Database>, durability: Durability, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
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
        txn.set_durability(match durability {
            Durability::Immediate => redb::Durability::Immediate,
            Durability::Eventual => redb::Durability::Eventual,
        });
        let mut completions = Vec::with_capacity(jobs.len());
        let mut fatal = false;
        let mut force = false;
        for job in jobs {
            let (job_fatal, job_force, completion) = job(&txn);
            fatal |= job_fatal;
            force |= job_force;
            completions.push(completion);
        }
        if force {
            txn.set_durability(redb::Durability::Immediate);
        }
        let outcome = if fatal {
            let _ = txn.abort();
            Err(StoreError::Backend("write batch aborted".into()))
        } else {
            txn.commit().map_err(be)
        };
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "store commit failed");
        }
        for completion in completions {
            let result = match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Backend(e.to_string())),
            };
            completion(result);
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
