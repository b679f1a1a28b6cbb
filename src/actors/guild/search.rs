//! The guild actor's part in message search on a Scylla node, whose index lives in memory:
//! when the guild's actor starts here (first use, or the guild moved to this node in a
//! cluster), the guild's messages are indexed again from the store, in the background.

use super::State;

impl State {
    /// Starts a rebuild of this guild's part of an in-memory index: the first time on a single
    /// node; every time in a cluster, where the node may have missed changes while another node
    /// owned the guild. A disk index (embedded store) is kept up to date and needs none.
    pub(super) fn index_if_new_here(&self) {
        let Some(index) = self.services.search.get().cloned() else {
            return;
        };
        if !index.in_memory() {
            return;
        }
        let clustered = self.services.ownership.get().is_some();
        if !index.claim_guild(self.id()) && !clustered {
            return;
        }
        let (store, guild) = (self.services.store.clone(), self.id());
        tokio::spawn(async move {
            match crate::search::reindex::reindex_guild(&store, &index, guild).await {
                Ok(n) => tracing::debug!(%guild, messages = n, "guild indexed for search"),
                Err(e) => tracing::warn!(error = %e, %guild, "could not index the guild"),
            }
        });
    }
}
