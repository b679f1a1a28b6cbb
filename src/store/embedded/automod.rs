//! Auto-moderation rules in the embedded store: `(guild, rule) → record`, so one range scan
//! lists a guild's rules in id order.

use super::tables::AUTOMOD_RULES;
use super::{EmbeddedStore, be, enc, values_in};
use crate::id::{AutoModRuleId, GuildId};
use crate::model::AutoModRuleRecord;
use crate::store::StoreResult;

impl EmbeddedStore {
    pub(super) async fn put_automod_rule_impl(&self, r: &AutoModRuleRecord) -> StoreResult<()> {
        let (g, id, bytes) = (r.guild_id.get(), r.id.get(), enc(r)?);
        self.writer
            .write(move |txn| {
                txn.open_table(AUTOMOD_RULES)
                    .map_err(be)?
                    .insert((g, id), bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_automod_rule_impl(
        &self,
        guild: GuildId,
        id: AutoModRuleId,
    ) -> StoreResult<()> {
        let key = (guild.get(), id.get());
        self.writer
            .write(move |txn| {
                txn.open_table(AUTOMOD_RULES)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn guild_automod_rules_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<AutoModRuleRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        values_in(
            &txn.open_table(AUTOMOD_RULES).map_err(be)?,
            (g, 0)..=(g, u64::MAX),
        )
    }
}
