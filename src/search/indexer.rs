//! The indexer: one thread owning tantivy's writer, fed through a bounded queue. Channel actors
//! submit changes after they are durable and never wait: a full queue drops the change (it is
//! counted and logged; `accord search reindex` repairs the index). Changes are applied as they
//! come and committed together every `commit_interval_ms`, then the reader is reloaded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tantivy::schema::Term;
use tantivy::{IndexReader, IndexWriter, TantivyDocument};

use super::{Fields, IndexedMessage, IndexerSettings, SearchError};
use crate::id::{ChannelId, GuildId, MessageId};

/// A change to the index.
#[derive(Debug, Clone)]
pub enum IndexOp {
    /// A new or edited message (replaces what the index had under its id).
    Upsert(Box<IndexedMessage>),
    /// Deleted messages.
    Delete(Vec<MessageId>),
    /// A deleted channel (or thread): all of its messages.
    DeleteChannel(ChannelId),
    /// A guild about to be indexed again from the store, or deleted: all of its messages.
    DeleteGuild(GuildId),
    /// Everything (a full rebuild).
    DeleteAll,
}

enum Msg {
    Op(IndexOp),
    /// Commit now and answer when the reader sees it.
    Flush(mpsc::Sender<Result<(), String>>),
}

/// The submitting end; dropping it ends the thread after a last commit.
pub struct Indexer {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    /// Changes accepted by `submit` (queued, not dropped): what the write path costs the index.
    submitted: AtomicU64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Indexer {
    /// Ends the thread after its last commit and waits for it, so the writer's lock on the
    /// index directory is released when the node's services are (a restart reopens it at once).
    fn drop(&mut self) {
        let (closed, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.tx, closed));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Indexer {
    pub(super) fn start(
        writer: IndexWriter<TantivyDocument>,
        reader: IndexReader,
        fields: Fields,
        settings: IndexerSettings,
    ) -> Result<Self, SearchError> {
        let (tx, rx) = mpsc::sync_channel(settings.queue_capacity.max(1));
        let interval = Duration::from_millis(settings.commit_interval_ms.max(1));
        let thread = std::thread::Builder::new()
            .name("search-indexer".into())
            .spawn(move || run(writer, reader, fields, rx, interval))?;
        Ok(Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            submitted: AtomicU64::new(0),
            thread: Some(thread),
        })
    }

    pub fn submit(&self, op: IndexOp) {
        match self.tx.try_send(Msg::Op(op)) {
            Ok(()) => {
                self.submitted.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "search index queue full: changes dropped");
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queues a change, blocking while the queue is full (rebuilds, which must not drop any).
    pub fn submit_waiting(&self, op: IndexOp) -> Result<(), SearchError> {
        self.tx
            .send(Msg::Op(op))
            .map_err(|_| SearchError::WriterGone)
    }

    /// Blocks until everything submitted before is committed and searchable.
    pub fn flush(&self) -> Result<(), SearchError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Msg::Flush(tx))
            .map_err(|_| SearchError::WriterGone)?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SearchError::Index(tantivy::TantivyError::InternalError(e))),
            Err(_) => Err(SearchError::WriterGone),
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn submitted(&self) -> u64 {
        self.submitted.load(Ordering::Relaxed)
    }
}

fn document(f: &Fields, m: &IndexedMessage) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_u64(f.message_id, m.id.get());
    d.add_u64(f.guild_id, m.guild_id.get());
    d.add_u64(f.channel_id, m.channel_id.get());
    d.add_u64(f.author_id, m.author_id.get());
    d.add_text(f.author_type, m.author_kind.as_str());
    d.add_text(f.content, &m.content);
    for u in &m.mentions {
        d.add_u64(f.mentions, u.get());
    }
    for r in &m.mention_roles {
        d.add_u64(f.mention_roles, r.get());
    }
    d.add_bool(f.mention_everyone, m.mention_everyone);
    d.add_bool(f.pinned, m.pinned);
    for h in &m.has {
        d.add_text(f.has, h);
    }
    d
}

fn apply(writer: &IndexWriter<TantivyDocument>, f: &Fields, op: IndexOp) -> tantivy::Result<()> {
    match op {
        IndexOp::Upsert(m) => {
            writer.delete_term(Term::from_field_u64(f.message_id, m.id.get()));
            writer.add_document(document(f, &m))?;
        }
        IndexOp::Delete(ids) => {
            for id in ids {
                writer.delete_term(Term::from_field_u64(f.message_id, id.get()));
            }
        }
        IndexOp::DeleteChannel(c) => {
            writer.delete_term(Term::from_field_u64(f.channel_id, c.get()));
        }
        IndexOp::DeleteGuild(g) => {
            writer.delete_term(Term::from_field_u64(f.guild_id, g.get()));
        }
        IndexOp::DeleteAll => {
            writer.delete_all_documents()?;
        }
    }
    Ok(())
}

fn commit(writer: &mut IndexWriter<TantivyDocument>, reader: &IndexReader) -> tantivy::Result<()> {
    writer.commit()?;
    reader.reload()
}

/// The thread: apply what arrives, commit at most once per `interval` when something changed,
/// and at once when asked to flush.
fn run(
    mut writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    fields: Fields,
    rx: mpsc::Receiver<Msg>,
    interval: Duration,
) {
    let mut dirty_since: Option<Instant> = None;
    loop {
        let wait = dirty_since.map_or(Duration::from_secs(3600), |t| {
            interval.saturating_sub(t.elapsed())
        });
        match rx.recv_timeout(wait) {
            Ok(Msg::Op(op)) => {
                if let Err(e) = apply(&writer, &fields, op) {
                    tracing::warn!(error = %e, "search index change failed");
                }
                dirty_since.get_or_insert_with(Instant::now);
            }
            Ok(Msg::Flush(done)) => {
                let r = commit(&mut writer, &reader).map_err(|e| e.to_string());
                dirty_since = None;
                let _ = done.send(r);
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if dirty_since.is_some()
                    && let Err(e) = commit(&mut writer, &reader)
                {
                    tracing::warn!(error = %e, "search index: last commit failed");
                }
                return;
            }
        }
        if dirty_since.is_some_and(|t| t.elapsed() >= interval) {
            let _span = tracing::debug_span!("search_commit").entered();
            if let Err(e) = commit(&mut writer, &reader) {
                tracing::warn!(error = %e, "search index commit failed");
            }
            dirty_since = None;
        }
    }
}
