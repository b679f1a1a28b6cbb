//! Guild templates on ScyllaDB: `templates` (code → record, LWT-only like `invites`: claimed
//! `IF NOT EXISTS`, changed and used by compare-and-set on `data`, deleted `IF EXISTS`) and
//! `templates_by_guild` (one partition per guild listing its codes).

use super::{MAX_CAS_ROUNDS, ScyllaStore, dec, enc, n};
use crate::id::GuildId;
use crate::model::TemplateRecord;
use crate::store::{StoreError, StoreResult};

impl ScyllaStore {
    pub(super) async fn create_template_impl(&self, t: &TemplateRecord) -> StoreResult<()> {
        let outcome = self
            .lwt(&self.st.template_create, (t.code.as_str(), enc(t)?))
            .await?;
        if !outcome.applied {
            return Err(StoreError::Conflict("template_code"));
        }
        self.exec(
            &self.st.guild_template_put,
            (n(t.source_guild_id.get()), t.code.as_str()),
        )
        .await
    }

    pub(super) async fn get_template_impl(
        &self,
        code: &str,
    ) -> StoreResult<Option<TemplateRecord>> {
        self.one(&self.st.template_get, (code,)).await
    }

    pub(super) async fn guild_templates_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<TemplateRecord>> {
        let codes: Vec<(String,)> = self
            .scan(&self.st.guild_templates, (n(guild.get()),))
            .await?;
        let found = Self::all(
            codes
                .iter()
                .map(|(code,)| self.get_template_impl(code))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter(|t| t.source_guild_id == guild)
            .collect())
    }

    /// Compare-and-set loop: applies `change` to the stored record until no concurrent writer
    /// got in between. None when the template is gone.
    async fn modify_template(
        &self,
        code: &str,
        change: impl Fn(&mut TemplateRecord),
    ) -> StoreResult<Option<TemplateRecord>> {
        let rows: Vec<(Option<String>,)> = self.rows(&self.st.template_get, (code,)).await?;
        let mut current = rows.into_iter().next().and_then(|(json,)| json);
        for _ in 0..MAX_CAS_ROUNDS {
            let Some(old_json) = current else {
                return Ok(None);
            };
            let mut t: TemplateRecord = dec(&old_json)?;
            change(&mut t);
            let outcome = self
                .lwt(&self.st.template_cas, (enc(&t)?, code, old_json.as_str()))
                .await?;
            if outcome.applied {
                return Ok(Some(t));
            }
            current = outcome.text("data");
        }
        Err(StoreError::Backend(format!(
            "template {code}: too much contention"
        )))
    }

    pub(super) async fn update_template_impl(
        &self,
        new: &TemplateRecord,
    ) -> StoreResult<Option<TemplateRecord>> {
        self.modify_template(&new.code, |t| {
            *t = TemplateRecord {
                usage_count: t.usage_count,
                ..new.clone()
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
        let old = self.get_template_impl(code).await?;
        self.lwt(&self.st.template_del, (code,)).await?;
        if let Some(t) = old {
            self.exec(
                &self.st.guild_template_del,
                (n(t.source_guild_id.get()), code),
            )
            .await?;
        }
        Ok(())
    }

    /// Removes a guild's templates (part of deleting the guild).
    pub(super) async fn delete_guild_templates(&self, guild: GuildId) -> StoreResult<()> {
        let g = n(guild.get());
        let codes: Vec<(String,)> = self.scan(&self.st.guild_templates, (g,)).await?;
        Self::all(
            codes
                .iter()
                .map(|(code,)| self.lwt(&self.st.template_del, (code.as_str(),)))
                .collect::<Vec<_>>(),
        )
        .await?;
        self.exec(&self.st.guild_templates_del_guild, (g,)).await
    }
}
