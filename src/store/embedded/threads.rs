//! Thread members in the embedded store: `(guild, thread, user) → record`, so one range scan
//! reads a guild's memberships (the guild actor loads them when it starts) and a narrower one a
//! thread's.

use redb::{ReadableTable, Table};

use super::tables::THREAD_MEMBERS;
use super::{EmbeddedStore, be, dec, enc};
use crate::id::{ChannelId, GuildId, UserId};
use crate::model::ThreadMemberRecord;
use crate::store::StoreResult;

type Key = (u64, u64, u64);

impl EmbeddedStore {
    pub(super) async fn put_thread_member_impl(&self, m: &ThreadMemberRecord) -> StoreResult<()> {
        let key = (m.guild_id.get(), m.thread_id.get(), m.user_id.get());
        let bytes = enc(m)?;
        self.writer
            .write(move |txn| {
                txn.open_table(THREAD_MEMBERS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_thread_member_impl(
        &self,
        guild: GuildId,
        thread: ChannelId,
        user: UserId,
    ) -> StoreResult<()> {
        let key = (guild.get(), thread.get(), user.get());
        self.writer
            .write(move |txn| {
                txn.open_table(THREAD_MEMBERS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_thread_members_impl(
        &self,
        guild: GuildId,
        thread: ChannelId,
    ) -> StoreResult<()> {
        let (g, t) = (guild.get(), thread.get());
        self.writer
            .write(move |txn| {
                remove_members(
                    &mut txn.open_table(THREAD_MEMBERS).map_err(be)?,
                    (g, t, 0)..=(g, t, u64::MAX),
                )
            })
            .await
    }

    pub(super) fn guild_thread_members_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<ThreadMemberRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        let table = txn.open_table(THREAD_MEMBERS).map_err(be)?;
        let mut out = Vec::new();
        for entry in table
            .range((g, 0, 0)..=(g, u64::MAX, u64::MAX))
            .map_err(be)?
        {
            out.push(dec(entry.map_err(be)?.1.value())?);
        }
        Ok(out)
    }
}

/// Removes every membership in a key range (one thread's, or a whole guild's inside
/// `delete_guild`'s transaction).
pub(super) fn remove_members(
    table: &mut Table<'_, Key, &'static [u8]>,
    range: std::ops::RangeInclusive<Key>,
) -> StoreResult<()> {
    let mut keys = Vec::new();
    for entry in table.range(range).map_err(be)? {
        keys.push(entry.map_err(be)?.0.value());
    }
    for k in keys {
        table.remove(k).map_err(be)?;
    }
    Ok(())
}
