//! A guild's custom emojis, its setup (welcome screen, onboarding, incident actions), its
//! integrations, its join requests and its audit log on ScyllaDB, each one partition per guild (the audit log's rows expire after 45
//! days through the table's default TTL).

use super::{ScyllaStore, decode_all, enc, n};
use crate::id::{EmojiId, GuildId, IntegrationId, JoinRequestId, Snowflake};
use crate::model::{EmojiRecord, GuildSetupRecord, IntegrationRecord, JoinRequestRecord};
use crate::store::{GuildAuditEntry, StoreResult};

impl ScyllaStore {
    pub(super) async fn put_emoji_impl(&self, e: &EmojiRecord) -> StoreResult<()> {
        self.exec(
            &self.st.emoji_put,
            (n(e.guild_id.get()), n(e.id.get()), enc(e)?),
        )
        .await
    }

    pub(super) async fn delete_emoji_impl(&self, guild: GuildId, id: EmojiId) -> StoreResult<()> {
        self.exec(&self.st.emoji_del, (n(guild.get()), n(id.get())))
            .await
    }

    pub(super) async fn guild_emojis_impl(&self, guild: GuildId) -> StoreResult<Vec<EmojiRecord>> {
        let rows: Vec<(Option<String>,)> = self
            .scan(&self.st.emojis_of_guild, (n(guild.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn put_integration_impl(&self, i: &IntegrationRecord) -> StoreResult<()> {
        self.exec(
            &self.st.integration_put,
            (n(i.guild_id.get()), n(i.id.get()), enc(i)?),
        )
        .await
    }

    pub(super) async fn delete_integration_impl(
        &self,
        guild: GuildId,
        id: IntegrationId,
    ) -> StoreResult<()> {
        self.exec(&self.st.integration_del, (n(guild.get()), n(id.get())))
            .await
    }

    pub(super) async fn guild_integrations_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<IntegrationRecord>> {
        let rows: Vec<(Option<String>,)> = self
            .scan(&self.st.integrations_of_guild, (n(guild.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn put_join_request_impl(&self, r: &JoinRequestRecord) -> StoreResult<()> {
        self.exec(
            &self.st.join_request_put,
            (n(r.guild_id.get()), n(r.id.get()), enc(r)?),
        )
        .await
    }

    pub(super) async fn delete_join_request_impl(
        &self,
        guild: GuildId,
        id: JoinRequestId,
    ) -> StoreResult<()> {
        self.exec(&self.st.join_request_del, (n(guild.get()), n(id.get())))
            .await
    }

    pub(super) async fn guild_join_requests_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<JoinRequestRecord>> {
        let rows: Vec<(Option<String>,)> = self
            .scan(&self.st.join_requests_of_guild, (n(guild.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn put_guild_setup_impl(&self, s: &GuildSetupRecord) -> StoreResult<()> {
        self.exec(&self.st.guild_setup_put, (n(s.guild_id.get()), enc(s)?))
            .await
    }

    pub(super) async fn guild_setup_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Option<GuildSetupRecord>> {
        self.one(&self.st.guild_setup_get, (n(guild.get()),)).await
    }

    pub(super) async fn insert_guild_audit_entry_impl(
        &self,
        entry: &GuildAuditEntry,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.guild_audit_put,
            (n(entry.guild_id.get()), n(entry.id.get()), enc(entry)?),
        )
        .await
    }

    pub(super) async fn guild_audit_entries_impl(
        &self,
        guild: GuildId,
        limit: usize,
        before: Option<Snowflake>,
    ) -> StoreResult<Vec<GuildAuditEntry>> {
        // Snowflakes stay below 2^63, so `i64::MAX` is above every id.
        let below = before.map_or(i64::MAX, |b| n(b.get()));
        let oldest = crate::store::guild_audit_cutoff().get();
        let limit = i32::try_from(limit.clamp(1, 100)).unwrap_or(100);
        let rows: Vec<(Option<String>,)> = self
            .rows(
                &self.st.guild_audit_below,
                (n(guild.get()), below, n(oldest), limit),
            )
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }
}
