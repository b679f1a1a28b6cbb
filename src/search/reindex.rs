//! Rebuilding the index from the store: one guild (a Scylla node's in-memory index, when it
//! comes to own the guild) or every guild (`accord search reindex`). The store is the source of
//! truth; the guild's documents are dropped first, then every message of every channel and
//! thread is read back, newest first, a page at a time.

use std::sync::Arc;

use super::{IndexOp, IndexedMessage, MessageIndex, SearchError};
use crate::id::GuildId;
use crate::store::{DynStore, MessagePage, StoreError};

/// Messages read from the store per page.
const PAGE: usize = 100;

/// What a rebuild can fail on.
#[derive(Debug, thiserror::Error)]
pub enum ReindexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] SearchError),
    #[error("search index task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Hands `ops` to the indexer, waiting for room in its queue (off the async threads).
async fn submit_all(index: &Arc<MessageIndex>, ops: Vec<IndexOp>) -> Result<(), ReindexError> {
    let index = index.clone();
    tokio::task::spawn_blocking(move || {
        ops.into_iter().try_for_each(|op| index.submit_waiting(op))
    })
    .await??;
    Ok(())
}

/// Indexes `guild` again from the store; returns how many messages it indexed. Changes the
/// channel actors submit meanwhile are applied in order with these, so a message sent during
/// the rebuild is not lost (an edit racing with its own re-read may keep the older text until
/// the next edit or rebuild).
#[tracing::instrument(skip(store, index))]
pub async fn reindex_guild(
    store: &DynStore,
    index: &Arc<MessageIndex>,
    guild: GuildId,
) -> Result<u64, ReindexError> {
    submit_all(index, vec![IndexOp::DeleteGuild(guild)]).await?;
    let Some(state) = store.load_guild(guild).await? else {
        return Ok(0);
    };
    let mut count = 0;
    for channel in state.channels.iter().filter(|c| c.kind.is_text()) {
        let mut page = MessagePage::Latest;
        loop {
            let messages = store.messages_page(channel.id, page, PAGE).await?;
            let Some(oldest) = messages.last().map(|m| m.id) else {
                break;
            };
            let ops: Vec<IndexOp> = messages
                .iter()
                .filter_map(IndexedMessage::from_record)
                .map(|m| IndexOp::Upsert(Box::new(m)))
                .collect();
            count += ops.len() as u64;
            submit_all(index, ops).await?;
            if messages.len() < PAGE {
                break;
            }
            page = MessagePage::Before(oldest);
        }
    }
    Ok(count)
}

/// Rebuilds the whole index from the store and commits it; returns (guilds, messages).
pub async fn reindex_all(
    store: &DynStore,
    index: &Arc<MessageIndex>,
) -> Result<(u64, u64), ReindexError> {
    submit_all(index, vec![IndexOp::DeleteAll]).await?;
    let guilds = store.guild_ids().await?;
    let mut messages = 0;
    for g in &guilds {
        messages += reindex_guild(store, index, *g).await?;
    }
    let i = index.clone();
    tokio::task::spawn_blocking(move || i.flush()).await??;
    Ok((guilds.len() as u64, messages))
}
