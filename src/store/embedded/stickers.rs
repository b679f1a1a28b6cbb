//! Guild stickers in the embedded store: `(guild, sticker) → record`, so one range scan lists a
//! guild's stickers, plus a `sticker → guild` index for lookups by id alone.

use redb::{ReadableTable, Table};

use super::tables::{STICKERS, STICKERS_BY_ID};
use super::{EmbeddedStore, be, dec, enc, values_in};
use crate::id::{GuildId, StickerId};
use crate::model::StickerRecord;
use crate::store::StoreResult;

impl EmbeddedStore {
    pub(super) async fn put_sticker_impl(&self, s: &StickerRecord) -> StoreResult<()> {
        let (g, id, bytes) = (s.guild_id.get(), s.id.get(), enc(s)?);
        self.writer
            .write(move |txn| {
                txn.open_table(STICKERS)
                    .map_err(be)?
                    .insert((g, id), bytes.as_slice())
                    .map_err(be)?;
                txn.open_table(STICKERS_BY_ID)
                    .map_err(be)?
                    .insert(id, g)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_sticker_impl(
        &self,
        guild: GuildId,
        id: StickerId,
    ) -> StoreResult<()> {
        let (g, id) = (guild.get(), id.get());
        self.writer
            .write(move |txn| {
                txn.open_table(STICKERS)
                    .map_err(be)?
                    .remove((g, id))
                    .map_err(be)?;
                let mut by_id = txn.open_table(STICKERS_BY_ID).map_err(be)?;
                // Only this guild's index entry: a stale delete never unlinks another's sticker.
                let ours = by_id.get(id).map_err(be)?.is_some_and(|v| v.value() == g);
                if ours {
                    by_id.remove(id).map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    pub(super) fn guild_stickers_impl(&self, guild: GuildId) -> StoreResult<Vec<StickerRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        values_in(
            &txn.open_table(STICKERS).map_err(be)?,
            (g, 0)..=(g, u64::MAX),
        )
    }

    pub(super) fn get_sticker_impl(&self, id: StickerId) -> StoreResult<Option<StickerRecord>> {
        let txn = self.read()?;
        let Some(g) = txn
            .open_table(STICKERS_BY_ID)
            .map_err(be)?
            .get(id.get())
            .map_err(be)?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        match txn
            .open_table(STICKERS)
            .map_err(be)?
            .get((g, id.get()))
            .map_err(be)?
        {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }
}

/// Removes the index entries of the stickers removed with their guild (inside `delete_guild`'s
/// transaction).
pub(super) fn unindex_stickers(
    by_id: &mut Table<'_, u64, u64>,
    removed: &[(u64, u64)],
) -> StoreResult<()> {
    for (_, id) in removed {
        by_id.remove(*id).map_err(be)?;
    }
    Ok(())
}
