//! Message search (`GET /guilds/{id}/messages/search`): one full-text index per node
//! (tantivy), under `<data_dir>/search` with the embedded store and in memory with Scylla
//! (rebuilt from the store for each guild this node comes to own).
//!
//! Why this shape: channel actors must not wait for an index on the message hot path, so they
//! hand each change to the [`indexer`] — a thread of its own behind a bounded queue, told only
//! once the write is durable — which batches changes into one commit every
//! `search.commit_interval_ms`. Searches read the last commit; a message shows up in search
//! within about that interval. The store stays the source of truth: the index keeps ids and
//! the searchable fields only, results are fetched (and permission-checked) through the
//! channel actors, and `accord search reindex` rebuilds the index from the store.

pub mod document;
pub mod indexer;
pub mod query;
pub mod reindex;

use std::path::Path;
use std::sync::Arc;

use tantivy::schema::{FAST, Field, INDEXED, STORED, STRING, Schema, TEXT};
use tantivy::{Index, IndexReader, ReloadPolicy};

pub use document::{AuthorKind, HAS_VALUES, IndexedMessage};
pub use indexer::{IndexOp, Indexer};
pub use query::{Hits, SearchQuery, SortBy};

/// What can go wrong in the index (its files, a commit, a query).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index writer is gone")]
    WriterGone,
}

/// The index's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub message_id: Field,
    pub guild_id: Field,
    pub channel_id: Field,
    pub author_id: Field,
    pub author_type: Field,
    pub content: Field,
    pub mentions: Field,
    pub mention_roles: Field,
    pub mention_everyone: Field,
    pub pinned: Field,
    pub has: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        message_id: b.add_u64_field("message_id", INDEXED | STORED | FAST),
        guild_id: b.add_u64_field("guild_id", INDEXED),
        channel_id: b.add_u64_field("channel_id", INDEXED | STORED),
        author_id: b.add_u64_field("author_id", INDEXED),
        author_type: b.add_text_field("author_type", STRING),
        content: b.add_text_field("content", TEXT),
        mentions: b.add_u64_field("mentions", INDEXED),
        mention_roles: b.add_u64_field("mention_roles", INDEXED),
        mention_everyone: b.add_bool_field("mention_everyone", INDEXED),
        pinned: b.add_bool_field("pinned", INDEXED),
        has: b.add_text_field("has", STRING),
    };
    (b.build(), fields)
}

/// The node's message index: the reader searches use and the [`Indexer`] feeding the writer.
pub struct MessageIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    indexer: Indexer,
    in_memory: bool,
    /// Guilds indexed from the store since this node started (in-memory indexes only).
    indexed_guilds: parking_lot::Mutex<std::collections::HashSet<crate::id::GuildId>>,
}

/// How the indexer batches (from `[search]` in the live configuration, read at start).
#[derive(Debug, Clone, Copy)]
pub struct IndexerSettings {
    pub queue_capacity: usize,
    pub commit_interval_ms: u64,
    pub writer_memory_bytes: usize,
}

impl MessageIndex {
    /// Opens (or creates) the index in `dir`, or in memory without one.
    pub fn open(dir: Option<&Path>, settings: IndexerSettings) -> Result<Arc<Self>, SearchError> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let directory = tantivy::directory::MmapDirectory::open(dir)?;
                Index::open_or_create(directory, schema)?
            }
            None => Index::create_in_ram(schema),
        };
        // Reloaded by the indexer right after each commit, so a search after the commit
        // interval sees every change queued before it (no file watcher in between).
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        // One indexing thread: chat messages are small and arrive spread out; the queue, not
        // parallel segment building, absorbs bursts.
        let writer =
            index.writer_with_num_threads(1, settings.writer_memory_bytes.max(15_000_000))?;
        let indexer = Indexer::start(writer, reader.clone(), fields, settings)?;
        Ok(Arc::new(Self {
            index,
            reader,
            fields,
            indexer,
            in_memory: dir.is_none(),
            indexed_guilds: Default::default(),
        }))
    }

    /// Queues a change; never waits (a full queue drops it and counts it, see [`Indexer`]).
    pub fn submit(&self, op: IndexOp) {
        self.indexer.submit(op);
    }

    /// Queues a change, waiting for room (rebuilds; blocking: call it off the async threads).
    pub fn submit_waiting(&self, op: IndexOp) -> Result<(), SearchError> {
        self.indexer.submit_waiting(op)
    }

    /// Whether the index lives in memory (Scylla nodes: rebuilt per guild from the store).
    pub fn in_memory(&self) -> bool {
        self.in_memory
    }

    /// Marks `guild` as indexed on this node; true the first time.
    pub fn claim_guild(&self, guild: crate::id::GuildId) -> bool {
        self.indexed_guilds.lock().insert(guild)
    }

    /// Commits everything queued so far and waits for it (reindexing, tests, shutdown).
    pub fn flush(&self) -> Result<(), SearchError> {
        self.indexer.flush()
    }

    /// Changes dropped because the queue was full since the start (a reindex repairs them).
    pub fn dropped(&self) -> u64 {
        self.indexer.dropped()
    }

    /// Changes the write path has queued for the index since start (live writes, not rebuilds).
    pub fn submitted(&self) -> u64 {
        self.indexer.submitted()
    }

    /// Messages in the last commit.
    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs `q` on the last commit (blocking: call it from a blocking task).
    pub fn search(&self, q: &SearchQuery) -> Result<Hits, SearchError> {
        query::run(&self.index, &self.reader, &self.fields, q)
    }
}
