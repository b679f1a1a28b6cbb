//! Guild stickers on ScyllaDB: one partition per guild (`stickers`, loaded with the guild) and a
//! `stickers_by_id` index to the owning guild, so a sticker found by id alone (`GET
//! /stickers/{id}`, a sticker sent in a message) costs two key reads and never a filtered scan.

use super::{Batches, ScyllaStore, big, decode_all, enc, n, text, u};
use crate::id::{GuildId, StickerId};
use crate::model::StickerRecord;
use crate::store::StoreResult;

impl ScyllaStore {
    pub(super) async fn put_sticker_impl(&self, s: &StickerRecord) -> StoreResult<()> {
        let (g, id) = (s.guild_id.get(), s.id.get());
        let mut batches = Batches::new();
        batches.push(&self.st.sticker_put, vec![big(g), big(id), text(enc(s)?)]);
        batches.push(&self.st.sticker_index_put, vec![big(id), big(g)]);
        self.run_batches(batches).await
    }

    pub(super) async fn delete_sticker_impl(
        &self,
        guild: GuildId,
        id: StickerId,
    ) -> StoreResult<()> {
        let mut batches = Batches::new();
        batches.push(&self.st.sticker_del, vec![big(guild.get()), big(id.get())]);
        batches.push(&self.st.sticker_index_del, vec![big(id.get())]);
        self.run_batches(batches).await
    }

    pub(super) async fn guild_stickers_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<StickerRecord>> {
        let rows: Vec<(i64, Option<String>)> = self
            .scan(&self.st.stickers_of_guild, (n(guild.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(_, d)| d))
    }

    pub(super) async fn get_sticker_impl(
        &self,
        id: StickerId,
    ) -> StoreResult<Option<StickerRecord>> {
        let guild: Vec<(i64,)> = self.rows(&self.st.sticker_guild, (n(id.get()),)).await?;
        let Some((g,)) = guild.into_iter().next() else {
            return Ok(None);
        };
        self.one(&self.st.sticker_get, (g, n(id.get()))).await
    }

    /// Removes a deleted guild's stickers and their index rows.
    pub(super) async fn delete_guild_stickers(&self, guild: GuildId) -> StoreResult<()> {
        let g = n(guild.get());
        let rows: Vec<(i64, Option<String>)> = self.scan(&self.st.stickers_of_guild, (g,)).await?;
        Self::all(
            rows.iter()
                .map(|(id, _)| self.exec(&self.st.sticker_index_del, (n(u(*id)),)))
                .collect::<Vec<_>>(),
        )
        .await?;
        self.exec(&self.st.stickers_del_guild, (g,)).await
    }
}
