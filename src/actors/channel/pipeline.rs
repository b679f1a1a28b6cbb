//! The channel's write pipeline: the actor hands each write to the store and goes on with its
//! next message; replies and events leave here, in the order the actor produced them, only once
//! every write before them is durable.
//!
//! Why: a busy channel used to await each insert before taking its next message, so it was
//! bounded by one commit (one fsync) after another. Now the actor assigns ids and order, updates
//! its in-memory state at once (later messages in its mailbox see it) and queues three kinds of
//! items on one ordered queue, drained by a task of its own:
//!
//! - a **started** write (a new message): already running, concurrently with the writes before
//!   and after it, so the embedded store's group commit puts many of them into one commit (on
//!   Scylla they are concurrent inserts);
//! - a **deferred** write (edit, delete, reaction, pin, …): it changes a record that an earlier,
//!   still running write may create, so it starts only when every item before it is done — the
//!   store sees such writes in the actor's order on every backend;
//! - an **action** (a reply, an event): runs when every item before it is done.
//!
//! The task awaits items strictly in queue order, so nothing — reply, MESSAGE_CREATE, any other
//! event — is acknowledged before the writes queued before it are durable, and acknowledgements
//! leave in the actor's order. Reads are replies too: a history read that sees a message still
//! being written is answered after that message is durable, so no client sees a message that a
//! crash could still take away.
//!
//! In a cluster each write also passes the channel's ownership fence twice: before it starts
//! (it then runs under the write stamp the check gave, see [`crate::store::stamp`]) and when
//! it is done. A write still running when the lease lapsed may have landed after the next owner
//! loaded the channel, so it counts as failed: it is not acknowledged and nothing after it is.
//!
//! On a failed write the queue is **poisoned**: every later action is told `false` (a reply
//! becomes a 500 in Discord's error format, an event is dropped), deferred writes are never
//! started, and writes already running are still awaited (so the actor's successor, loading
//! from the store, cannot miss one that lands late). The actor is told, drains the queue and
//! stops; the next request spawns it again from the store, so its in-memory state never keeps
//! a message the store does not have. A 500 is not a promise that nothing was written (a write
//! already running when an earlier one failed may still land), as with any timeout.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::error::ApiError;
use crate::store::stamp::{self, WriteStamp};
use crate::store::{StoreError, StoreResult};

/// Runs when everything queued before it is done; `true` when all of it succeeded.
pub(super) type Action = Box<dyn FnOnce(bool) + Send>;

/// See [`Pipeline::may_write`].
type Fence = Arc<dyn Fn() -> Result<Option<WriteStamp>, ApiError> + Send + Sync>;

enum Item {
    Started(JoinHandle<StoreResult<()>>),
    Deferred(BoxFuture<'static, StoreResult<()>>),
    Action(Action),
}

/// The actor's end of the queue. Items are counted until done, so an action queued while the
/// queue is empty runs at once, without a round trip through the task.
pub(super) struct Pipeline {
    /// Whether this node may still write for the channel (its ownership lease holds; always
    /// on a single node), and the stamp the write carries. Checked before each write starts
    /// and when it is done: a write refused by it poisons the queue like a failed one, so
    /// nothing after it is acknowledged and the actor stops.
    may_write: Fence,
    tx: Option<mpsc::UnboundedSender<Item>>,
    queued: Arc<AtomicUsize>,
    poisoned: Arc<AtomicBool>,
    task: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts the draining task. `on_failure` is called once, from the task, at the first failed
    /// write (the actor sends itself a message there).
    pub(super) fn start(
        may_write: impl Fn() -> Result<Option<WriteStamp>, ApiError> + Send + Sync + 'static,
        on_failure: impl FnOnce() + Send + 'static,
        span: tracing::Span,
    ) -> Self {
        let may_write: Fence = Arc::new(may_write);
        // Unbounded, yet bounded in practice: every item belongs to a request the actor took
        // from its (bounded) mailbox and whose caller is still waiting for the reply.
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let poisoned = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(
            drain(
                rx,
                queued.clone(),
                poisoned.clone(),
                may_write.clone(),
                Box::new(on_failure),
            )
            .instrument(span),
        );
        Self {
            may_write,
            tx: Some(tx),
            queued,
            poisoned,
            task: Some(task),
        }
    }

    /// Whether a write has failed: the actor's state is no longer the store's.
    pub(super) fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Nothing queued and nothing running.
    pub(super) fn is_idle(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }

    /// A write that may run alongside the ones before it (it creates a record no earlier write
    /// touches). Fails at once, writing nothing, once the queue is poisoned.
    pub(super) fn start_write(
        &self,
        write: impl Future<Output = StoreResult<()>> + Send + 'static,
    ) -> Result<(), ApiError> {
        let stamp = self.check()?;
        let handle =
            tokio::spawn(within_lease(self.may_write.clone(), stamp, write).in_current_span());
        self.push(Item::Started(handle))
            .map_err(|_| ApiError::internal("channel pipeline closed"))
    }

    /// A write that must see every earlier write of this channel done first (it changes a record
    /// one of them may create or change). Started at once when the queue is empty.
    pub(super) fn deferred_write(
        &self,
        write: impl Future<Output = StoreResult<()>> + Send + 'static,
    ) -> Result<(), ApiError> {
        self.check()?;
        if self.is_idle() {
            return self.start_write(write);
        }
        self.push(Item::Deferred(Box::pin(write.in_current_span())))
            .map_err(|_| ApiError::internal("channel pipeline closed"))
    }

    /// Runs `action` once everything queued before it is durable (at once when nothing is).
    pub(super) fn then(&self, action: impl FnOnce(bool) + Send + 'static) {
        if self.is_idle() && !self.poisoned() {
            action(true);
            return;
        }
        if let Err(Item::Action(a)) = self.push(Item::Action(Box::new(action))) {
            tracing::error!("channel pipeline closed; a reply or event is dropped as failed");
            a(false);
        }
    }

    /// Waits until every queued item is done; the pipeline takes nothing more afterwards. Called
    /// before the actor stops, so its successor loads a store that holds every write it queued.
    pub(super) async fn close(&mut self) {
        self.tx.take();
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "channel pipeline task failed");
        }
    }

    /// The error to answer with when an action is told `false`: the fence's 503 (the client
    /// retries at the next owner) when the lease lapsed under a write, else a 500.
    pub(super) fn failure(&self) -> impl FnOnce() -> ApiError + Send + 'static {
        let may_write = self.may_write.clone();
        move || may_write().err().unwrap_or_else(earlier_write_failed)
    }

    fn check(&self) -> Result<Option<WriteStamp>, ApiError> {
        if self.poisoned() || self.tx.is_none() {
            return Err(earlier_write_failed());
        }
        (self.may_write)()
    }

    /// Queues `item`, or gives it back when the queue is closed.
    fn push(&self, item: Item) -> Result<(), Item> {
        let Some(tx) = &self.tx else {
            return Err(item);
        };
        self.queued.fetch_add(1, Ordering::AcqRel);
        tx.send(item).map_err(|e| {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            e.0
        })
    }
}

fn earlier_write_failed() -> ApiError {
    ApiError::internal("an earlier write of this channel failed")
}

/// Runs `write` under `stamp`, then checks the fence again: a write that outlived the lease may
/// have landed after the next owner loaded the channel, so it is reported failed, never
/// acknowledged. (Checked as soon as the write is done, not when the queue reaches it, so a
/// write that landed in time is not refused because an earlier one was slow.)
async fn within_lease(
    may_write: Fence,
    stamp: Option<WriteStamp>,
    write: impl Future<Output = StoreResult<()>>,
) -> StoreResult<()> {
    stamp::under(stamp, write).await?;
    may_write()
        .map(drop)
        .map_err(|_| StoreError::Backend("the ownership lease lapsed while this write ran".into()))
}

/// The task: each item in queue order, one after the other.
async fn drain(
    mut rx: mpsc::UnboundedReceiver<Item>,
    queued: Arc<AtomicUsize>,
    poisoned: Arc<AtomicBool>,
    may_write: Fence,
    on_failure: Box<dyn FnOnce() + Send>,
) {
    let mut on_failure = Some(on_failure);
    while let Some(item) = rx.recv().await {
        let failed = poisoned.load(Ordering::Acquire);
        let result: Option<StoreResult<()>> =
            match item {
                Item::Started(handle) => Some(handle.await.unwrap_or_else(|e| {
                    Err(StoreError::Backend(format!("write task failed: {e}")))
                })),
                Item::Deferred(write) if !failed => Some(match may_write() {
                    Ok(stamp) => within_lease(may_write.clone(), stamp, write).await,
                    Err(_) => Err(StoreError::Backend(
                        "the ownership lease lapsed before this write started".into(),
                    )),
                }),
                Item::Deferred(_) => None,
                Item::Action(action) => {
                    action(!failed);
                    None
                }
            };
        if let Some(Err(e)) = result
            && !failed
        {
            tracing::error!(error = %e, "channel write failed; nothing after it is acknowledged");
            poisoned.store(true, Ordering::Release);
            if let Some(f) = on_failure.take() {
                f();
            }
        }
        queued.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn log() -> Arc<Mutex<Vec<String>>> {
        Arc::new(Mutex::new(Vec::new()))
    }

    #[tokio::test]
    async fn actions_wait_for_earlier_writes_and_keep_their_order() {
        let out = log();
        let mut p = Pipeline::start(|| Ok(None), || {}, tracing::Span::none());
        let (slow_tx, slow_rx) = tokio::sync::oneshot::channel::<()>();
        p.start_write(async move {
            let _ = slow_rx.await;
            Ok(())
        })
        .unwrap();
        for i in 0..3 {
            let out = out.clone();
            p.then(move |ok| out.lock().unwrap().push(format!("{i}:{ok}")));
        }
        tokio::task::yield_now().await;
        assert!(out.lock().unwrap().is_empty(), "nothing before the write");
        slow_tx.send(()).unwrap();
        p.close().await;
        assert_eq!(*out.lock().unwrap(), vec!["0:true", "1:true", "2:true"]);
    }

    #[tokio::test]
    async fn a_failed_write_poisons_everything_after_it() {
        let out = log();
        let failed = Arc::new(AtomicBool::new(false));
        let f = failed.clone();
        let mut p = Pipeline::start(
            || Ok(None),
            move || f.store(true, Ordering::SeqCst),
            tracing::Span::none(),
        );
        let o = out.clone();
        p.then(move |ok| o.lock().unwrap().push(format!("before:{ok}")));
        p.start_write(async { Err(StoreError::Backend("disk on fire".into())) })
            .unwrap();
        let o = out.clone();
        p.then(move |ok| o.lock().unwrap().push(format!("after:{ok}")));
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        // Deferred behind the failing write: never started.
        p.deferred_write(async move {
            r.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        p.close().await;
        assert_eq!(*out.lock().unwrap(), vec!["before:true", "after:false"]);
        assert!(failed.load(Ordering::SeqCst));
        assert!(!ran.load(Ordering::SeqCst));
        assert!(p.start_write(async { Ok(()) }).is_err());
    }

    #[tokio::test]
    async fn deferred_writes_start_after_earlier_ones_finish() {
        let out = log();
        let mut p = Pipeline::start(|| Ok(None), || {}, tracing::Span::none());
        let (slow_tx, slow_rx) = tokio::sync::oneshot::channel::<()>();
        let o = out.clone();
        p.start_write(async move {
            let _ = slow_rx.await;
            o.lock().unwrap().push("create".into());
            Ok(())
        })
        .unwrap();
        let o = out.clone();
        p.deferred_write(async move {
            o.lock().unwrap().push("edit".into());
            Ok(())
        })
        .unwrap();
        tokio::task::yield_now().await;
        assert!(out.lock().unwrap().is_empty());
        slow_tx.send(()).unwrap();
        p.close().await;
        assert_eq!(*out.lock().unwrap(), vec!["create", "edit"]);
    }

    /// A pipeline fenced by a lease the test lapses (`lease` set false), whose checks hand out
    /// `stamp`; `failed` is set when the actor is told of a failure.
    fn leased(stamp: Option<WriteStamp>) -> (Pipeline, Arc<AtomicBool>, Arc<AtomicBool>) {
        let lease = Arc::new(AtomicBool::new(true));
        let failed = Arc::new(AtomicBool::new(false));
        let (l, f) = (lease.clone(), failed.clone());
        let p = Pipeline::start(
            move || {
                if l.load(Ordering::SeqCst) {
                    Ok(stamp)
                } else {
                    Err(ApiError::Unavailable { retry_after: 1.0 })
                }
            },
            move || f.store(true, Ordering::SeqCst),
            tracing::Span::none(),
        );
        (p, lease, failed)
    }

    #[tokio::test]
    async fn a_lapsed_lease_refuses_new_writes_and_those_still_queued() {
        let out = log();
        let (mut p, lease, failed) = leased(None);
        let (slow_tx, slow_rx) = tokio::sync::oneshot::channel::<()>();
        p.start_write(async move {
            let _ = slow_rx.await;
            Ok(())
        })
        .unwrap();
        let o = out.clone();
        // Queued while the lease held, due to start after it lapsed.
        p.deferred_write(async move {
            o.lock().unwrap().push("edit".into());
            Ok(())
        })
        .unwrap();
        let o = out.clone();
        p.then(move |ok| o.lock().unwrap().push(format!("reply:{ok}")));
        lease.store(false, Ordering::SeqCst);
        assert!(matches!(
            p.start_write(async { Ok(()) }),
            Err(ApiError::Unavailable { .. })
        ));
        slow_tx.send(()).unwrap();
        p.close().await;
        assert_eq!(*out.lock().unwrap(), vec!["reply:false"]);
        assert!(failed.load(Ordering::SeqCst), "the actor is told and stops");
    }

    #[tokio::test]
    async fn a_write_carries_its_checks_stamp_and_is_refused_if_it_outlives_the_lease() {
        let out = log();
        let (mut p, lease, failed) = leased(Some(WriteStamp::from_micros(42)));
        let (slow_tx, slow_rx) = tokio::sync::oneshot::channel::<()>();
        let stamped = Arc::new(Mutex::new(None));
        let s = stamped.clone();
        // Started while the lease held, done after it lapsed: it may have landed after the
        // next owner loaded the channel.
        p.start_write(async move {
            let _ = slow_rx.await;
            *s.lock().unwrap() = stamp::next();
            Ok(())
        })
        .unwrap();
        let o = out.clone();
        p.then(move |ok| o.lock().unwrap().push(format!("reply:{ok}")));
        tokio::task::yield_now().await;
        lease.store(false, Ordering::SeqCst);
        slow_tx.send(()).unwrap();
        p.close().await;
        assert_eq!(*stamped.lock().unwrap(), Some(42), "stamped at the check");
        assert_eq!(*out.lock().unwrap(), vec!["reply:false"]);
        assert!(failed.load(Ordering::SeqCst), "the actor is told and stops");
    }
}
