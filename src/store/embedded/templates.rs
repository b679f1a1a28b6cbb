//! Guild templates in the embedded store: `templates` (code → record) and `templates_by_guild`
//! (`(guild, code)` keys, so one range scan lists a guild's templates).

use redb::{ReadableTable, WriteTransaction};

use super::tables::{TEMPLATES, TEMPLATES_BY_GUILD, remove_invite_codes};
use super::{EmbeddedStore, be, dec, enc};
use crate::id::GuildId;
use crate::model::TemplateRecord;
use crate::store::{StoreError, StoreResult};

impl EmbeddedStore {
    pub(super) async fn create_template_impl(&self, t: &TemplateRecord) -> StoreResult<()> {
        let (code, guild, bytes) = (t.code.clone(), t.source_guild_id.get(), enc(t)?);
        self.writer
            .write(move |txn| {
                let mut templates = txn.open_table(TEMPLATES).map_err(be)?;
                if templates.get(code.as_str()).map_err(be)?.is_some() {
                    return Err(StoreError::Conflict("template_code"));
                }
                templates
                    .insert(code.as_str(), bytes.as_slice())
                    .map_err(be)?;
                txn.open_table(TEMPLATES_BY_GUILD)
                    .map_err(be)?
                    .insert((guild, code.clone()), ())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn get_template_impl(&self, code: &str) -> StoreResult<Option<TemplateRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(TEMPLATES).map_err(be)?;
        match table.get(code).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    pub(super) fn guild_templates_impl(&self, guild: GuildId) -> StoreResult<Vec<TemplateRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        let templates = txn.open_table(TEMPLATES).map_err(be)?;
        let index = txn.open_table(TEMPLATES_BY_GUILD).map_err(be)?;
        let mut out = Vec::new();
        for entry in index.range((g, String::new())..).map_err(be)? {
            let (owner, code) = entry.map_err(be)?.0.value();
            if owner != g {
                break;
            }
            if let Some(v) = templates.get(code.as_str()).map_err(be)? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }

    /// Reads, changes and writes the template in one write transaction (so a concurrent use or
    /// update is never lost).
    async fn modify_template(
        &self,
        code: &str,
        change: impl FnOnce(&mut TemplateRecord) + Send + 'static,
    ) -> StoreResult<Option<TemplateRecord>> {
        let code = code.to_string();
        self.writer
            .write(move |txn| {
                let mut templates = txn.open_table(TEMPLATES).map_err(be)?;
                let mut t: TemplateRecord = match templates.get(code.as_str()).map_err(be)? {
                    Some(v) => dec(v.value())?,
                    None => return Ok(None),
                };
                change(&mut t);
                templates
                    .insert(code.as_str(), enc(&t)?.as_slice())
                    .map_err(be)?;
                Ok(Some(t))
            })
            .await
    }

    pub(super) async fn update_template_impl(
        &self,
        new: &TemplateRecord,
    ) -> StoreResult<Option<TemplateRecord>> {
        let new = new.clone();
        self.modify_template(&new.code.clone(), move |t| {
            *t = TemplateRecord {
                usage_count: t.usage_count,
                ..new
            };
        })
        .await
    }

    pub(super) async fn use_template_impl(
        &self,
        code: &str,
    ) -> StoreResult<Option<TemplateRecord>> {
        self.modify_template(code, |t| t.usage_count = t.usage_count.saturating_add(1))
            .await
    }

    pub(super) async fn delete_template_impl(&self, code: &str) -> StoreResult<()> {
        let code = code.to_string();
        self.writer
            .write(move |txn| {
                let mut templates = txn.open_table(TEMPLATES).map_err(be)?;
                let old: Option<TemplateRecord> =
                    match templates.remove(code.as_str()).map_err(be)? {
                        Some(v) => Some(dec(v.value())?),
                        None => None,
                    };
                if let Some(t) = old {
                    txn.open_table(TEMPLATES_BY_GUILD)
                        .map_err(be)?
                        .remove((t.source_guild_id.get(), code.clone()))
                        .map_err(be)?;
                }
                Ok(())
            })
            .await
    }
}

/// Removes a guild's templates (part of deleting the guild, in its transaction).
pub(super) fn delete_guild_templates(txn: &WriteTransaction, guild: u64) -> StoreResult<()> {
    let codes = remove_invite_codes(&mut txn.open_table(TEMPLATES_BY_GUILD).map_err(be)?, guild)?;
    let mut templates = txn.open_table(TEMPLATES).map_err(be)?;
    for code in codes {
        templates.remove(code.as_str()).map_err(be)?;
    }
    Ok(())
}
