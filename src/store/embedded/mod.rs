//! The embedded default store: one redb file under the data directory.
//!
//! redb is a pure-Rust, crash-safe (copy-on-write B-tree, checksummed commits) embedded database.
//! It allows one write transaction at a time, so all writes go through one writer thread that takes
//! every job queued while the previous commit was being fsynced and commits them together: a group
//! commit. Concurrent writers share one fsync, so durability does not cost throughput. Reads use
//! MVCC read transactions directly from the caller and never wait for the writer.

mod app_extras;
mod automod;
mod commands;
mod oauth;
mod polls;
mod scheduled_events;
mod stickers;
mod tables;
mod teams;
mod templates;
mod threads;
mod user_data;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use redb::{Database, ReadableTable};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::tables::*;
use self::writer::Writer;
use super::{
    AuditEntry, BanRecord, Durability, EventualFlush, GuildAuditEntry, GuildState, MessagePage,
    Store, StoreError, StoreResult, username_key,
};
use crate::id::{
    ApplicationId, AutoModRuleId, ChannelId, CommandId, EmojiId, GuildId, IntegrationId,
    JoinRequestId, MessageId, RoleId, ScheduledEventId, Snowflake, StickerId, TeamId, UserId,
    WebhookId,
};
use crate::model::{
    AppEmojiRecord, ApplicationRecord, AutoModRuleRecord, ChannelRecord, CommandPermissionsRecord,
    CommandRecord, ConnectedAccountRecord, EmojiRecord, EntitlementRecord, EventExceptionUser,
    GuildRecord, GuildSetupRecord, IntegrationRecord, InviteRecord, InviteTargetUsersRecord,
    JoinRequestRecord, MemberRecord, MessageRecord, OAuthTokenRecord, PollExpiry, ReadStateRecord,
    RelationshipRecord, Role, RoleConnectionMetadata, ScheduledEventRecord, StickerRecord,
    TeamMemberRecord, TeamRecord, TemplateRecord, ThreadMemberRecord, UserConsent, UserRecord,
    UserRoleConnectionRecord, UserSettings, WebhookRecord,
};

pub struct EmbeddedStore {
    db: std::sync::Arc<Database>,
    writer: Writer,
}

fn enc<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn dec<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn be<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::backend(e)
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/accord.redb`; eventual durability flushes on the default bounds.
    pub fn open(dir: &Path, durability: Durability) -> StoreResult<Self> {
        Self::open_with(dir, durability, EventualFlush::default())
    }

    /// Opens (or creates) `dir/accord.redb`; `flush` bounds how long `Eventual` writes wait for
    /// their fsync.
    pub fn open_with(
        dir: &Path,
        durability: Durability,
        flush: EventualFlush,
    ) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(be)?;
        let db = Database::create(dir.join("accord.redb")).map_err(be)?;
        let txn = db.begin_write().map_err(be)?;
        tables::create_all(&txn)?;
        txn.commit().map_err(be)?;
        let db = std::sync::Arc::new(db);
        let writer = Writer::start(db.clone(), durability, flush);
        Ok(Self { db, writer })
    }

    fn read(&self) -> StoreResult<redb::ReadTransaction> {
        self.db.begin_read().map_err(be)
    }

    /// The webhooks listed under `parent` in an index table.
    fn webhooks_in(
        &self,
        index: redb::TableDefinition<(u64, u64), ()>,
        parent: u64,
    ) -> StoreResult<Vec<WebhookRecord>> {
        let txn = self.read()?;
        let index = txn.open_table(index).map_err(be)?;
        let hooks = txn.open_table(WEBHOOKS).map_err(be)?;
        let mut out = Vec::new();
        for entry in index.range((parent, 0)..=(parent, u64::MAX)).map_err(be)? {
            let id = entry.map_err(be)?.0.value().1;
            if let Some(v) = hooks.get(id).map_err(be)? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }
}

/// Reads one JSON value by key from a table of a read transaction.
macro_rules! get_json {
    ($txn:expr, $table:expr, $key:expr) => {{
        let table = $txn.open_table($table).map_err(be)?;
        match table.get($key).map_err(be)? {
            Some(v) => Some(dec(v.value())?),
            None => None,
        }
    }};
}

#[async_trait]
impl Store for EmbeddedStore {
    fn backend_name(&self) -> &'static str {
        "embedded"
    }

    async fn get_config(&self) -> StoreResult<Option<String>> {
        let txn = self.read()?;
        let table = txn.open_table(CONFIG).map_err(be)?;
        Ok(table
            .get("config")
            .map_err(be)?
            .map(|v| v.value().to_string()))
    }

    async fn put_config(&self, json: &str) -> StoreResult<()> {
        let json = json.to_string();
        self.writer
            .write(move |txn| {
                txn.open_table(CONFIG)
                    .map_err(be)?
                    .insert("config", json.as_str())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
        let user = user.clone();
        let bytes = enc(&user)?;
        self.writer
            .write(move |txn| {
                let name_key = username_key(&user.username, &user.discriminator);
                let mut by_name = txn.open_table(USERS_BY_NAME).map_err(be)?;
                if by_name.get(name_key.as_str()).map_err(be)?.is_some() {
                    return Err(StoreError::Conflict("username"));
                }
                let mut by_email = txn.open_table(USERS_BY_EMAIL).map_err(be)?;
                if let Some(email) = &user.email {
                    if by_email
                        .get(email.to_lowercase().as_str())
                        .map_err(be)?
                        .is_some()
                    {
                        return Err(StoreError::Conflict("email"));
                    }
                    by_email
                        .insert(email.to_lowercase().as_str(), user.id.get())
                        .map_err(be)?;
                }
                by_name
                    .insert(name_key.as_str(), user.id.get())
                    .map_err(be)?;
                txn.open_table(USERS)
                    .map_err(be)?
                    .insert(user.id.get(), bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn update_user(&self, user: &UserRecord) -> StoreResult<()> {
        let user = user.clone();
        let bytes = enc(&user)?;
        self.writer
            .write(move |txn| {
                let mut users = txn.open_table(USERS).map_err(be)?;
                let old: UserRecord = match users.get(user.id.get()).map_err(be)? {
                    Some(v) => dec(v.value())?,
                    None => {
                        return Err(StoreError::Corrupt(format!(
                            "update of unknown user {}",
                            user.id
                        )));
                    }
                };
                let mut by_name = txn.open_table(USERS_BY_NAME).map_err(be)?;
                let (old_key, new_key) = (
                    username_key(&old.username, &old.discriminator),
                    username_key(&user.username, &user.discriminator),
                );
                if old_key != new_key && by_name.get(new_key.as_str()).map_err(be)?.is_some() {
                    return Err(StoreError::Conflict("username"));
                }
                let mut by_email = txn.open_table(USERS_BY_EMAIL).map_err(be)?;
                let (old_email, new_email) = (
                    old.email.as_deref().map(str::to_lowercase),
                    user.email.as_deref().map(str::to_lowercase),
                );
                if old_email != new_email
                    && let Some(e) = &new_email
                    && by_email.get(e.as_str()).map_err(be)?.is_some()
                {
                    return Err(StoreError::Conflict("email"));
                }
                // All checks passed: from here on only writes, so a conflict never leaves half a change.
                if old_key != new_key {
                    by_name.remove(old_key.as_str()).map_err(be)?;
                    by_name
                        .insert(new_key.as_str(), user.id.get())
                        .map_err(be)?;
                }
                if old_email != new_email {
                    if let Some(e) = &old_email {
                        by_email.remove(e.as_str()).map_err(be)?;
                    }
                    if let Some(e) = &new_email {
                        by_email.insert(e.as_str(), user.id.get()).map_err(be)?;
                    }
                }
                users.insert(user.id.get(), bytes.as_slice()).map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, USERS, id.get()))
    }

    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<UserRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(USERS).map_err(be)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = table.get(id.get()).map_err(be)? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let txn = self.read()?;
        let id = txn
            .open_table(USERS_BY_EMAIL)
            .map_err(be)?
            .get(email.to_lowercase().as_str())
            .map_err(be)?
            .map(|v| v.value());
        match id {
            Some(id) => Ok(get_json!(txn, USERS, id)),
            None => Ok(None),
        }
    }

    async fn user_by_username(
        &self,
        username: &str,
        discriminator: &str,
    ) -> StoreResult<Option<UserRecord>> {
        let txn = self.read()?;
        let key = username_key(username, discriminator);
        let id = txn
            .open_table(USERS_BY_NAME)
            .map_err(be)?
            .get(key.as_str())
            .map_err(be)?
            .map(|v| v.value());
        match id {
            Some(id) => Ok(get_json!(txn, USERS, id)),
            None => Ok(None),
        }
    }

    async fn create_guild(&self, state: &GuildState) -> StoreResult<()> {
        let state = state.clone();
        self.writer
            .write(move |txn| {
                let g = state.guild.id.get();
                txn.open_table(GUILDS)
                    .map_err(be)?
                    .insert(g, enc(&state.guild)?.as_slice())
                    .map_err(be)?;
                let mut roles = txn.open_table(ROLES).map_err(be)?;
                for r in &state.roles {
                    roles
                        .insert((g, r.id.get()), enc(r)?.as_slice())
                        .map_err(be)?;
                }
                let mut channels = txn.open_table(CHANNELS).map_err(be)?;
                let mut by_guild = txn.open_table(CHANNELS_BY_GUILD).map_err(be)?;
                for c in &state.channels {
                    channels
                        .insert(c.id.get(), enc(c)?.as_slice())
                        .map_err(be)?;
                    by_guild.insert((g, c.id.get()), ()).map_err(be)?;
                }
                let mut members = txn.open_table(MEMBERS).map_err(be)?;
                let mut guilds_by_user = txn.open_table(GUILDS_BY_USER).map_err(be)?;
                for m in &state.members {
                    members
                        .insert((g, m.user_id.get()), enc(m)?.as_slice())
                        .map_err(be)?;
                    guilds_by_user
                        .insert((m.user_id.get(), g), ())
                        .map_err(be)?;
                }
                let mut bans = txn.open_table(BANS).map_err(be)?;
                for b in &state.bans {
                    bans.insert((g, b.user_id.get()), enc(b)?.as_slice())
                        .map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn update_guild(&self, guild: &GuildRecord) -> StoreResult<()> {
        let (id, bytes) = (guild.id.get(), enc(guild)?);
        self.writer
            .write(move |txn| {
                txn.open_table(GUILDS)
                    .map_err(be)?
                    .insert(id, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn guild_ids(&self) -> StoreResult<Vec<GuildId>> {
        let txn = self.read()?;
        let table = txn.open_table(GUILDS).map_err(be)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(be)? {
            out.push(GuildId::new(entry.map_err(be)?.0.value()));
        }
        Ok(out)
    }

    async fn load_guild(&self, id: GuildId) -> StoreResult<Option<GuildState>> {
        let txn = self.read()?;
        let Some(guild) = get_json!(txn, GUILDS, id.get()) else {
            return Ok(None);
        };
        let g = id.get();
        let roles = values_in(&txn.open_table(ROLES).map_err(be)?, (g, 0)..=(g, u64::MAX))?;
        let members = values_in(
            &txn.open_table(MEMBERS).map_err(be)?,
            (g, 0)..=(g, u64::MAX),
        )?;
        let bans = values_in(&txn.open_table(BANS).map_err(be)?, (g, 0)..=(g, u64::MAX))?;
        let channel_table = txn.open_table(CHANNELS).map_err(be)?;
        let mut channels = Vec::new();
        for entry in txn
            .open_table(CHANNELS_BY_GUILD)
            .map_err(be)?
            .range((g, 0)..=(g, u64::MAX))
            .map_err(be)?
        {
            let (key, _) = entry.map_err(be)?;
            if let Some(v) = channel_table.get(key.value().1).map_err(be)? {
                channels.push(dec(v.value())?);
            }
        }
        Ok(Some(GuildState {
            guild,
            roles,
            channels,
            members,
            bans,
        }))
    }

    async fn delete_guild(&self, id: GuildId) -> StoreResult<()> {
        let g = id.get();
        self.writer
            .write(move |txn| {
                txn.open_table(GUILDS).map_err(be)?.remove(g).map_err(be)?;
                remove_range(
                    &mut txn.open_table(ROLES).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                remove_range(
                    &mut txn.open_table(BANS).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                remove_range(
                    &mut txn.open_table(EMOJIS).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                txn.open_table(GUILD_SETUP)
                    .map_err(be)?
                    .remove(g)
                    .map_err(be)?;
                remove_range(
                    &mut txn.open_table(INTEGRATIONS).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                remove_range(
                    &mut txn.open_table(JOIN_REQUESTS).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                let stickers = remove_range(
                    &mut txn.open_table(STICKERS).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                stickers::unindex_stickers(
                    &mut txn.open_table(STICKERS_BY_ID).map_err(be)?,
                    &stickers,
                )?;
                let events = remove_range(
                    &mut txn.open_table(SCHEDULED_EVENTS).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                scheduled_events::remove_event_users(
                    &mut txn.open_table(EVENT_USERS).map_err(be)?,
                    &mut txn.open_table(EVENT_EXCEPTION_USERS).map_err(be)?,
                    &events,
                )?;
                remove_range(
                    &mut txn.open_table(GUILD_AUDIT_LOG).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                threads::remove_members(
                    &mut txn.open_table(THREAD_MEMBERS).map_err(be)?,
                    (g, 0, 0)..=(g, u64::MAX, u64::MAX),
                )?;
                remove_range(
                    &mut txn.open_table(AUTOMOD_RULES).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                let member_ids = remove_range(
                    &mut txn.open_table(MEMBERS).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                let mut guilds_by_user = txn.open_table(GUILDS_BY_USER).map_err(be)?;
                for (_, user) in member_ids {
                    guilds_by_user.remove((user, g)).map_err(be)?;
                }
                let channel_ids = remove_range(
                    &mut txn.open_table(CHANNELS_BY_GUILD).map_err(be)?,
                    (g, 0)..=(g, u64::MAX),
                )?;
                let mut channels = txn.open_table(CHANNELS).map_err(be)?;
                let mut messages = txn.open_table(MESSAGES).map_err(be)?;
                for (_, c) in channel_ids {
                    channels.remove(c).map_err(be)?;
                    remove_range(&mut messages, (c, 0)..=(c, u64::MAX))?;
                }
                let codes =
                    remove_invite_codes(&mut txn.open_table(INVITES_BY_GUILD).map_err(be)?, g)?;
                let mut invites = txn.open_table(INVITES).map_err(be)?;
                let mut targets = txn.open_table(INVITE_TARGET_USERS).map_err(be)?;
                for code in codes {
                    invites.remove(code.as_str()).map_err(be)?;
                    targets.remove(code.as_str()).map_err(be)?;
                }
                templates::delete_guild_templates(txn, g)?;
                Ok(())
            })
            .await
    }

    async fn put_role(&self, guild: GuildId, role: &Role) -> StoreResult<()> {
        let (key, bytes) = ((guild.get(), role.id.get()), enc(role)?);
        self.writer
            .write(move |txn| {
                txn.open_table(ROLES)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn delete_role(&self, guild: GuildId, role: RoleId) -> StoreResult<()> {
        let key = (guild.get(), role.get());
        self.writer
            .write(move |txn| {
                txn.open_table(ROLES).map_err(be)?.remove(key).map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn put_member(&self, member: &MemberRecord) -> StoreResult<()> {
        let (g, u, bytes) = (member.guild_id.get(), member.user_id.get(), enc(member)?);
        self.writer
            .write(move |txn| {
                txn.open_table(MEMBERS)
                    .map_err(be)?
                    .insert((g, u), bytes.as_slice())
                    .map_err(be)?;
                txn.open_table(GUILDS_BY_USER)
                    .map_err(be)?
                    .insert((u, g), ())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn delete_member(&self, guild: GuildId, user: UserId) -> StoreResult<()> {
        let (g, u) = (guild.get(), user.get());
        self.writer
            .write(move |txn| {
                txn.open_table(MEMBERS)
                    .map_err(be)?
                    .remove((g, u))
                    .map_err(be)?;
                txn.open_table(GUILDS_BY_USER)
                    .map_err(be)?
                    .remove((u, g))
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn get_member(&self, guild: GuildId, user: UserId) -> StoreResult<Option<MemberRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, MEMBERS, (guild.get(), user.get())))
    }

    async fn guilds_of_user(&self, user: UserId) -> StoreResult<Vec<GuildId>> {
        let txn = self.read()?;
        let u = user.get();
        let table = txn.open_table(GUILDS_BY_USER).map_err(be)?;
        let mut out = Vec::new();
        for entry in table.range((u, 0)..=(u, u64::MAX)).map_err(be)? {
            out.push(GuildId::new(entry.map_err(be)?.0.value().1));
        }
        Ok(out)
    }

    async fn put_command(&self, command: &CommandRecord) -> StoreResult<CommandRecord> {
        self.put_command_impl(command).await
    }

    async fn get_command(
        &self,
        app: ApplicationId,
        id: CommandId,
    ) -> StoreResult<Option<CommandRecord>> {
        self.get_command_impl(app, id)
    }

    async fn commands_of(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
    ) -> StoreResult<Vec<CommandRecord>> {
        self.commands_of_impl(app, guild)
    }

    async fn replace_commands(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        commands: &[CommandRecord],
    ) -> StoreResult<()> {
        self.replace_commands_impl(app, guild, commands).await
    }

    async fn delete_command(&self, app: ApplicationId, id: CommandId) -> StoreResult<()> {
        self.delete_command_impl(app, id).await
    }

    async fn put_application(&self, app: &ApplicationRecord) -> StoreResult<()> {
        let (id, owner, bytes) = (app.id.get(), app.owner_id.get(), enc(app)?);
        self.writer
            .write(move |txn| {
                let mut apps = txn.open_table(APPLICATIONS).map_err(be)?;
                let old: Option<ApplicationRecord> = match apps.get(id).map_err(be)? {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                apps.insert(id, bytes.as_slice()).map_err(be)?;
                let mut by_owner = txn.open_table(APPLICATIONS_BY_OWNER).map_err(be)?;
                if let Some(old) = old.filter(|o| o.owner_id.get() != owner) {
                    by_owner.remove((old.owner_id.get(), id)).map_err(be)?;
                }
                by_owner.insert((owner, id), ()).map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn get_application(&self, id: ApplicationId) -> StoreResult<Option<ApplicationRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, APPLICATIONS, id.get()))
    }

    async fn applications_of_owner(&self, owner: UserId) -> StoreResult<Vec<ApplicationRecord>> {
        let txn = self.read()?;
        let o = owner.get();
        let index = txn.open_table(APPLICATIONS_BY_OWNER).map_err(be)?;
        let apps = txn.open_table(APPLICATIONS).map_err(be)?;
        let mut out = Vec::new();
        for entry in index.range((o, 0)..=(o, u64::MAX)).map_err(be)? {
            let id = entry.map_err(be)?.0.value().1;
            if let Some(v) = apps.get(id).map_err(be)? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }

    async fn put_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()> {
        let w = webhook.clone();
        let bytes = enc(&w)?;
        self.writer
            .write(move |txn| {
                let id = w.id.get();
                let mut hooks = txn.open_table(WEBHOOKS).map_err(be)?;
                let old: Option<WebhookRecord> = match hooks.get(id).map_err(be)? {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                hooks.insert(id, bytes.as_slice()).map_err(be)?;
                let mut by_channel = txn.open_table(WEBHOOKS_BY_CHANNEL).map_err(be)?;
                let mut by_guild = txn.open_table(WEBHOOKS_BY_GUILD).map_err(be)?;
                let mut by_source = txn.open_table(WEBHOOKS_BY_SOURCE).map_err(be)?;
                if let Some(old) = old {
                    by_channel.remove((old.channel_id.get(), id)).map_err(be)?;
                    if let Some(g) = old.guild_id {
                        by_guild.remove((g.get(), id)).map_err(be)?;
                    }
                    if let Some(c) = old.source_channel_id {
                        by_source.remove((c.get(), id)).map_err(be)?;
                    }
                }
                by_channel
                    .insert((w.channel_id.get(), id), ())
                    .map_err(be)?;
                if let Some(g) = w.guild_id {
                    by_guild.insert((g.get(), id), ()).map_err(be)?;
                }
                if let Some(c) = w.source_channel_id {
                    by_source.insert((c.get(), id), ()).map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, WEBHOOKS, id.get()))
    }

    async fn webhooks_of_channel(&self, channel: ChannelId) -> StoreResult<Vec<WebhookRecord>> {
        self.webhooks_in(WEBHOOKS_BY_CHANNEL, channel.get())
    }

    async fn webhooks_of_guild(&self, guild: GuildId) -> StoreResult<Vec<WebhookRecord>> {
        self.webhooks_in(WEBHOOKS_BY_GUILD, guild.get())
    }

    async fn webhooks_following(&self, source: ChannelId) -> StoreResult<Vec<WebhookRecord>> {
        self.webhooks_in(WEBHOOKS_BY_SOURCE, source.get())
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        let id = id.get();
        self.writer
            .write(move |txn| {
                let old: Option<WebhookRecord> = match txn
                    .open_table(WEBHOOKS)
                    .map_err(be)?
                    .remove(id)
                    .map_err(be)?
                {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                if let Some(old) = old {
                    txn.open_table(WEBHOOKS_BY_CHANNEL)
                        .map_err(be)?
                        .remove((old.channel_id.get(), id))
                        .map_err(be)?;
                    if let Some(g) = old.guild_id {
                        txn.open_table(WEBHOOKS_BY_GUILD)
                            .map_err(be)?
                            .remove((g.get(), id))
                            .map_err(be)?;
                    }
                    if let Some(c) = old.source_channel_id {
                        txn.open_table(WEBHOOKS_BY_SOURCE)
                            .map_err(be)?
                            .remove((c.get(), id))
                            .map_err(be)?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn delete_application(&self, id: ApplicationId) -> StoreResult<()> {
        let id = id.get();
        self.writer
            .write(move |txn| {
                let mut apps = txn.open_table(APPLICATIONS).map_err(be)?;
                let old: Option<ApplicationRecord> = match apps.remove(id).map_err(be)? {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                if let Some(old) = old {
                    txn.open_table(APPLICATIONS_BY_OWNER)
                        .map_err(be)?
                        .remove((old.owner_id.get(), id))
                        .map_err(be)?;
                }
                // What hangs on the application goes with it, in the same transaction.
                for table in [APP_EMOJIS, ENTITLEMENTS] {
                    let mut t = txn.open_table(table).map_err(be)?;
                    let keys = t
                        .range((id, 0)..=(id, u64::MAX))
                        .map_err(be)?
                        .map(|r| r.map(|(k, _)| k.value()))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(be)?;
                    for k in keys {
                        t.remove(k).map_err(be)?;
                    }
                }
                txn.open_table(ROLE_CONNECTION_METADATA)
                    .map_err(be)?
                    .remove(id)
                    .map_err(be)?;
                // Its command permissions in every guild it has them in (its bot's or not).
                let guilds = remove_range(
                    &mut txn.open_table(COMMAND_PERMISSION_GUILDS).map_err(be)?,
                    (id, 0)..=(id, u64::MAX),
                )?;
                let mut perms = txn.open_table(COMMAND_PERMISSIONS).map_err(be)?;
                for (_, guild) in guilds {
                    let records: Vec<CommandPermissionsRecord> =
                        values_in(&perms, (guild, 0)..=(guild, u64::MAX))?;
                    for r in records.iter().filter(|r| r.application_id.get() == id) {
                        perms.remove((guild, r.id.get())).map_err(be)?;
                    }
                }
                // Users' role connections to it.
                let users = remove_range(
                    &mut txn.open_table(ROLE_CONNECTIONS_BY_APP).map_err(be)?,
                    (id, 0)..=(id, u64::MAX),
                )?;
                let mut connections = txn.open_table(USER_ROLE_CONNECTIONS).map_err(be)?;
                for (_, user) in users {
                    connections.remove((user, id)).map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn put_ban(&self, ban: &BanRecord) -> StoreResult<()> {
        let (key, bytes) = ((ban.guild_id.get(), ban.user_id.get()), enc(ban)?);
        self.writer
            .write(move |txn| {
                txn.open_table(BANS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn delete_ban(&self, guild: GuildId, user: UserId) -> StoreResult<()> {
        let key = (guild.get(), user.get());
        self.writer
            .write(move |txn| {
                txn.open_table(BANS).map_err(be)?.remove(key).map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn put_channel(&self, channel: &ChannelRecord) -> StoreResult<()> {
        let channel = channel.clone();
        let bytes = enc(&channel)?;
        self.writer
            .write(move |txn| {
                let c = channel.id.get();
                let mut channels = txn.open_table(CHANNELS).map_err(be)?;
                let old: Option<ChannelRecord> = match channels.get(c).map_err(be)? {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                channels.insert(c, bytes.as_slice()).map_err(be)?;
                drop(channels);
                if let Some(old) = old.filter(|o| o.guild_id.is_none()) {
                    // Recipients who left lose the channel from their DM list.
                    let mut by_user = txn.open_table(PRIVATE_CHANNELS_BY_USER).map_err(be)?;
                    for r in old
                        .recipient_ids
                        .iter()
                        .filter(|r| !channel.recipient_ids.contains(r))
                    {
                        by_user.remove((r.get(), c)).map_err(be)?;
                    }
                }
                if let Some(g) = channel.guild_id {
                    txn.open_table(CHANNELS_BY_GUILD)
                        .map_err(be)?
                        .insert((g.get(), c), ())
                        .map_err(be)?;
                } else {
                    let mut by_user = txn.open_table(PRIVATE_CHANNELS_BY_USER).map_err(be)?;
                    for r in &channel.recipient_ids {
                        by_user.insert((r.get(), c), ()).map_err(be)?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn get_channel(&self, id: ChannelId) -> StoreResult<Option<ChannelRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, CHANNELS, id.get()))
    }

    async fn delete_channel(&self, id: ChannelId) -> StoreResult<()> {
        let c = id.get();
        self.writer
            .write(move |txn| {
                let mut channels = txn.open_table(CHANNELS).map_err(be)?;
                let old: Option<ChannelRecord> = match channels.remove(c).map_err(be)? {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                if let Some(old) = old {
                    if let Some(g) = old.guild_id {
                        txn.open_table(CHANNELS_BY_GUILD)
                            .map_err(be)?
                            .remove((g.get(), c))
                            .map_err(be)?;
                    }
                    let mut by_user = txn.open_table(PRIVATE_CHANNELS_BY_USER).map_err(be)?;
                    for r in &old.recipient_ids {
                        by_user.remove((r.get(), c)).map_err(be)?;
                    }
                }
                remove_range(
                    &mut txn.open_table(MESSAGES).map_err(be)?,
                    (c, 0)..=(c, u64::MAX),
                )?;
                Ok(())
            })
            .await
    }

    async fn private_channels_of_user(&self, user: UserId) -> StoreResult<Vec<ChannelRecord>> {
        let txn = self.read()?;
        let u = user.get();
        let channels = txn.open_table(CHANNELS).map_err(be)?;
        let mut out = Vec::new();
        for entry in txn
            .open_table(PRIVATE_CHANNELS_BY_USER)
            .map_err(be)?
            .range((u, 0)..=(u, u64::MAX))
            .map_err(be)?
        {
            let (key, _) = entry.map_err(be)?;
            if let Some(v) = channels.get(key.value().1).map_err(be)? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }

    async fn insert_message(&self, message: &MessageRecord) -> StoreResult<()> {
        let (key, bytes) = ((message.channel_id.get(), message.id.get()), enc(message)?);
        self.writer
            .write(move |txn| {
                txn.open_table(MESSAGES)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn update_message(&self, message: &MessageRecord) -> StoreResult<()> {
        self.insert_message(message).await
    }

    async fn get_message(
        &self,
        channel: ChannelId,
        id: MessageId,
    ) -> StoreResult<Option<MessageRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, MESSAGES, (channel.get(), id.get())))
    }

    async fn delete_messages(&self, channel: ChannelId, ids: &[MessageId]) -> StoreResult<()> {
        let c = channel.get();
        let ids: Vec<u64> = ids.iter().map(|m| m.get()).collect();
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(MESSAGES).map_err(be)?;
                for m in ids {
                    table.remove((c, m)).map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn messages_page(
        &self,
        channel: ChannelId,
        page: MessagePage,
        limit: usize,
    ) -> StoreResult<Vec<MessageRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(MESSAGES).map_err(be)?;
        let c = channel.get();
        let limit = limit.clamp(1, 100);
        let newest_first = |range: std::ops::RangeInclusive<(u64, u64)>,
                            n: usize|
         -> StoreResult<Vec<MessageRecord>> {
            let mut out = Vec::with_capacity(n);
            for entry in table.range(range).map_err(be)?.rev().take(n) {
                out.push(dec(entry.map_err(be)?.1.value())?);
            }
            Ok(out)
        };
        let oldest_first = |range: std::ops::RangeInclusive<(u64, u64)>,
                            n: usize|
         -> StoreResult<Vec<MessageRecord>> {
            let mut out = Vec::with_capacity(n);
            for entry in table.range(range).map_err(be)?.take(n) {
                out.push(dec(entry.map_err(be)?.1.value())?);
            }
            Ok(out)
        };
        Ok(match page {
            MessagePage::Latest => newest_first((c, 0)..=(c, u64::MAX), limit)?,
            MessagePage::Before(id) => match id.get().checked_sub(1) {
                Some(below) => newest_first((c, 0)..=(c, below), limit)?,
                None => Vec::new(),
            },
            MessagePage::After(id) => {
                let mut v = oldest_first((c, id.get().saturating_add(1))..=(c, u64::MAX), limit)?;
                v.reverse();
                v
            }
            MessagePage::Around(id) => {
                let mut newer =
                    oldest_first((c, id.get().saturating_add(1))..=(c, u64::MAX), limit / 2)?;
                newer.reverse();
                let older = newest_first((c, 0)..=(c, id.get()), limit - newer.len())?;
                newer.extend(older);
                newer
            }
        })
    }

    async fn create_invite(&self, invite: &InviteRecord) -> StoreResult<()> {
        let invite = invite.clone();
        let bytes = enc(&invite)?;
        self.writer
            .write(move |txn| {
                let mut invites = txn.open_table(INVITES).map_err(be)?;
                if invites.get(invite.code.as_str()).map_err(be)?.is_some() {
                    return Err(StoreError::Conflict("invite_code"));
                }
                invites
                    .insert(invite.code.as_str(), bytes.as_slice())
                    .map_err(be)?;
                if let Some(g) = invite.guild_id {
                    txn.open_table(INVITES_BY_GUILD)
                        .map_err(be)?
                        .insert((g.get(), invite.code.clone()), ())
                        .map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn get_invite(&self, code: &str) -> StoreResult<Option<InviteRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, INVITES, code))
    }

    async fn guild_invites(&self, guild: GuildId) -> StoreResult<Vec<InviteRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        let invites = txn.open_table(INVITES).map_err(be)?;
        let mut out = Vec::new();
        for entry in txn
            .open_table(INVITES_BY_GUILD)
            .map_err(be)?
            .range((g, String::new())..)
            .map_err(be)?
        {
            let (key, _) = entry.map_err(be)?;
            let (owner, code) = key.value();
            if owner != g {
                break;
            }
            if let Some(v) = invites.get(code.as_str()).map_err(be)? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }

    async fn use_invite(&self, code: &str) -> StoreResult<Option<InviteRecord>> {
        let code = code.to_string();
        self.writer
            .write(move |txn| {
                let mut invites = txn.open_table(INVITES).map_err(be)?;
                let mut invite: InviteRecord = match invites.get(code.as_str()).map_err(be)? {
                    Some(v) => dec(v.value())?,
                    None => return Ok(None),
                };
                if !invite.is_usable(crate::model::Timestamp::now()) {
                    return Ok(None);
                }
                invite.uses += 1;
                invites
                    .insert(code.as_str(), enc(&invite)?.as_slice())
                    .map_err(be)?;
                Ok(Some(invite))
            })
            .await
    }

    async fn delete_invite(&self, code: &str) -> StoreResult<()> {
        let code = code.to_string();
        self.writer
            .write(move |txn| {
                let mut invites = txn.open_table(INVITES).map_err(be)?;
                let old: Option<InviteRecord> = match invites.remove(code.as_str()).map_err(be)? {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                txn.open_table(INVITE_TARGET_USERS)
                    .map_err(be)?
                    .remove(code.as_str())
                    .map_err(be)?;
                if let Some(g) = old.and_then(|i| i.guild_id) {
                    txn.open_table(INVITES_BY_GUILD)
                        .map_err(be)?
                        .remove((g.get(), code.clone()))
                        .map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn put_invite_target_users(&self, targets: &InviteTargetUsersRecord) -> StoreResult<()> {
        let code = targets.code.clone();
        let bytes = enc(targets)?;
        self.writer
            .write(move |txn| {
                txn.open_table(INVITE_TARGET_USERS)
                    .map_err(be)?
                    .insert(code.as_str(), bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn invite_target_users(
        &self,
        code: &str,
    ) -> StoreResult<Option<InviteTargetUsersRecord>> {
        let txn = self.read()?;
        Ok(get_json!(txn, INVITE_TARGET_USERS, code))
    }

    async fn create_template(&self, template: &TemplateRecord) -> StoreResult<()> {
        self.create_template_impl(template).await
    }

    async fn get_template(&self, code: &str) -> StoreResult<Option<TemplateRecord>> {
        self.get_template_impl(code)
    }

    async fn guild_templates(&self, guild: GuildId) -> StoreResult<Vec<TemplateRecord>> {
        self.guild_templates_impl(guild)
    }

    async fn update_template(
        &self,
        template: &TemplateRecord,
    ) -> StoreResult<Option<TemplateRecord>> {
        self.update_template_impl(template).await
    }

    async fn use_template(&self, code: &str) -> StoreResult<Option<TemplateRecord>> {
        self.use_template_impl(code).await
    }

    async fn delete_template(&self, code: &str) -> StoreResult<()> {
        self.delete_template_impl(code).await
    }

    async fn insert_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        let (key, bytes) = (entry.id.get(), enc(entry)?);
        self.writer
            .write(move |txn| {
                txn.open_table(AUDIT_LOG)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn audit_entries(
        &self,
        limit: usize,
        before: Option<Snowflake>,
    ) -> StoreResult<Vec<AuditEntry>> {
        let txn = self.read()?;
        let table = txn.open_table(AUDIT_LOG).map_err(be)?;
        let below = before.map_or(u64::MAX, |b| b.get());
        let mut out = Vec::new();
        for entry in table
            .range(..below)
            .map_err(be)?
            .rev()
            .take(limit.clamp(1, 100))
        {
            out.push(dec(entry.map_err(be)?.1.value())?);
        }
        Ok(out)
    }

    async fn put_relationship(&self, relationship: &RelationshipRecord) -> StoreResult<()> {
        self.put_relationship_impl(relationship).await
    }

    async fn delete_relationship(&self, user: UserId, peer: UserId) -> StoreResult<()> {
        self.delete_relationship_impl(user, peer).await
    }

    async fn get_relationship(
        &self,
        user: UserId,
        peer: UserId,
    ) -> StoreResult<Option<RelationshipRecord>> {
        self.get_relationship_impl(user, peer)
    }

    async fn relationships_of(&self, user: UserId) -> StoreResult<Vec<RelationshipRecord>> {
        self.relationships_of_impl(user)
    }

    async fn get_user_settings(&self, user: UserId) -> StoreResult<Option<UserSettings>> {
        self.get_user_settings_impl(user)
    }

    async fn put_user_settings(&self, user: UserId, settings: &UserSettings) -> StoreResult<()> {
        self.put_user_settings_impl(user, settings).await
    }

    async fn get_user_consent(&self, user: UserId) -> StoreResult<Option<UserConsent>> {
        self.get_user_consent_impl(user)
    }

    async fn put_user_consent(&self, user: UserId, consent: &UserConsent) -> StoreResult<()> {
        self.put_user_consent_impl(user, consent).await
    }

    async fn put_read_state(&self, state: &ReadStateRecord) -> StoreResult<()> {
        self.put_read_state_impl(state).await
    }

    async fn read_states_of(&self, user: UserId) -> StoreResult<Vec<ReadStateRecord>> {
        self.read_states_of_impl(user)
    }

    async fn put_connection(&self, account: &ConnectedAccountRecord) -> StoreResult<()> {
        self.put_connection_impl(account).await
    }

    async fn delete_connection(&self, user: UserId, kind: &str, id: &str) -> StoreResult<()> {
        self.delete_connection_impl(user, kind, id).await
    }

    async fn connections_of(&self, user: UserId) -> StoreResult<Vec<ConnectedAccountRecord>> {
        self.connections_of_impl(user)
    }

    async fn put_app_emoji(&self, emoji: &AppEmojiRecord) -> StoreResult<()> {
        self.put_app_emoji_impl(emoji).await
    }

    async fn get_app_emoji(
        &self,
        app: ApplicationId,
        id: EmojiId,
    ) -> StoreResult<Option<AppEmojiRecord>> {
        self.get_app_emoji_impl(app, id)
    }

    async fn delete_app_emoji(&self, app: ApplicationId, id: EmojiId) -> StoreResult<()> {
        self.delete_app_emoji_impl(app, id).await
    }

    async fn app_emojis(&self, app: ApplicationId) -> StoreResult<Vec<AppEmojiRecord>> {
        self.app_emojis_impl(app)
    }

    async fn put_role_connection_metadata(
        &self,
        app: ApplicationId,
        records: &[RoleConnectionMetadata],
    ) -> StoreResult<()> {
        self.put_role_connection_metadata_impl(app, records).await
    }

    async fn role_connection_metadata(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<RoleConnectionMetadata>> {
        self.role_connection_metadata_impl(app)
    }

    async fn put_user_role_connection(&self, c: &UserRoleConnectionRecord) -> StoreResult<()> {
        self.put_user_role_connection_impl(c).await
    }

    async fn get_user_role_connection(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Option<UserRoleConnectionRecord>> {
        self.get_user_role_connection_impl(user, app)
    }

    async fn delete_user_role_connection(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<()> {
        self.delete_user_role_connection_impl(user, app).await
    }

    async fn put_entitlement(&self, e: &EntitlementRecord) -> StoreResult<()> {
        self.put_entitlement_impl(e).await
    }

    async fn entitlements_of(&self, app: ApplicationId) -> StoreResult<Vec<EntitlementRecord>> {
        self.entitlements_of_impl(app)
    }

    async fn put_command_permissions(&self, record: &CommandPermissionsRecord) -> StoreResult<()> {
        self.put_command_permissions_impl(record).await
    }

    async fn command_permissions_of(
        &self,
        guild: GuildId,
        app: ApplicationId,
    ) -> StoreResult<Vec<CommandPermissionsRecord>> {
        self.command_permissions_of_impl(guild, app)
    }

    async fn command_permission_guilds(&self, app: ApplicationId) -> StoreResult<Vec<GuildId>> {
        self.command_permission_guilds_impl(app)
    }

    async fn put_team(&self, team: &TeamRecord) -> StoreResult<()> {
        self.put_team_impl(team).await
    }

    async fn get_team(&self, id: TeamId) -> StoreResult<Option<TeamRecord>> {
        self.get_team_impl(id)
    }

    async fn delete_team(&self, id: TeamId) -> StoreResult<()> {
        self.delete_team_impl(id).await
    }

    async fn put_team_member(&self, member: &TeamMemberRecord) -> StoreResult<()> {
        self.put_team_member_impl(member).await
    }

    async fn delete_team_member(&self, team: TeamId, user: UserId) -> StoreResult<()> {
        self.delete_team_member_impl(team, user).await
    }

    async fn team_members(&self, team: TeamId) -> StoreResult<Vec<TeamMemberRecord>> {
        self.team_members_impl(team)
    }

    async fn teams_of_user(&self, user: UserId) -> StoreResult<Vec<TeamId>> {
        self.teams_of_user_impl(user)
    }

    async fn put_emoji(&self, emoji: &EmojiRecord) -> StoreResult<()> {
        let (key, bytes) = ((emoji.guild_id.get(), emoji.id.get()), enc(emoji)?);
        self.writer
            .write(move |txn| {
                txn.open_table(EMOJIS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn delete_emoji(&self, guild: GuildId, id: EmojiId) -> StoreResult<()> {
        let key = (guild.get(), id.get());
        self.writer
            .write(move |txn| {
                txn.open_table(EMOJIS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn guild_emojis(&self, guild: GuildId) -> StoreResult<Vec<EmojiRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        values_in(&txn.open_table(EMOJIS).map_err(be)?, (g, 0)..=(g, u64::MAX))
    }

    async fn put_integration(&self, integration: &IntegrationRecord) -> StoreResult<()> {
        let key = (integration.guild_id.get(), integration.id.get());
        let bytes = enc(integration)?;
        self.writer
            .write(move |txn| {
                txn.open_table(INTEGRATIONS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn delete_integration(&self, guild: GuildId, id: IntegrationId) -> StoreResult<()> {
        let key = (guild.get(), id.get());
        self.writer
            .write(move |txn| {
                txn.open_table(INTEGRATIONS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn guild_integrations(&self, guild: GuildId) -> StoreResult<Vec<IntegrationRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        values_in(
            &txn.open_table(INTEGRATIONS).map_err(be)?,
            (g, 0)..=(g, u64::MAX),
        )
    }

    async fn put_join_request(&self, request: &JoinRequestRecord) -> StoreResult<()> {
        let key = (request.guild_id.get(), request.id.get());
        let bytes = enc(request)?;
        self.writer
            .write(move |txn| {
                txn.open_table(JOIN_REQUESTS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn delete_join_request(&self, guild: GuildId, id: JoinRequestId) -> StoreResult<()> {
        let key = (guild.get(), id.get());
        self.writer
            .write(move |txn| {
                txn.open_table(JOIN_REQUESTS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn guild_join_requests(&self, guild: GuildId) -> StoreResult<Vec<JoinRequestRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        values_in(
            &txn.open_table(JOIN_REQUESTS).map_err(be)?,
            (g, 0)..=(g, u64::MAX),
        )
    }

    async fn put_guild_setup(&self, setup: &GuildSetupRecord) -> StoreResult<()> {
        let (g, bytes) = (setup.guild_id.get(), enc(setup)?);
        self.writer
            .write(move |txn| {
                txn.open_table(GUILD_SETUP)
                    .map_err(be)?
                    .insert(g, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn guild_setup(&self, guild: GuildId) -> StoreResult<Option<GuildSetupRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(GUILD_SETUP).map_err(be)?;
        match table.get(guild.get()).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    async fn put_sticker(&self, sticker: &StickerRecord) -> StoreResult<()> {
        self.put_sticker_impl(sticker).await
    }

    async fn delete_sticker(&self, guild: GuildId, id: StickerId) -> StoreResult<()> {
        self.delete_sticker_impl(guild, id).await
    }

    async fn guild_stickers(&self, guild: GuildId) -> StoreResult<Vec<StickerRecord>> {
        self.guild_stickers_impl(guild)
    }

    async fn get_sticker(&self, id: StickerId) -> StoreResult<Option<StickerRecord>> {
        self.get_sticker_impl(id)
    }

    async fn put_scheduled_event(&self, event: &ScheduledEventRecord) -> StoreResult<()> {
        self.put_scheduled_event_impl(event).await
    }

    async fn put_automod_rule(&self, rule: &AutoModRuleRecord) -> StoreResult<()> {
        self.put_automod_rule_impl(rule).await
    }

    async fn delete_automod_rule(&self, guild: GuildId, id: AutoModRuleId) -> StoreResult<()> {
        self.delete_automod_rule_impl(guild, id).await
    }

    async fn guild_automod_rules(&self, guild: GuildId) -> StoreResult<Vec<AutoModRuleRecord>> {
        self.guild_automod_rules_impl(guild)
    }

    async fn delete_scheduled_event(
        &self,
        guild: GuildId,
        id: ScheduledEventId,
    ) -> StoreResult<()> {
        self.delete_scheduled_event_impl(guild, id).await
    }

    async fn guild_scheduled_events(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<ScheduledEventRecord>> {
        self.guild_scheduled_events_impl(guild)
    }

    async fn put_event_user(
        &self,
        _guild: GuildId,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()> {
        self.put_event_user_impl(event, user).await
    }

    async fn delete_event_user(
        &self,
        _guild: GuildId,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()> {
        self.delete_event_user_impl(event, user).await
    }

    async fn put_event_exception_user(
        &self,
        _guild: GuildId,
        event: ScheduledEventId,
        answer: EventExceptionUser,
    ) -> StoreResult<()> {
        self.put_event_exception_user_impl(event, answer).await
    }

    async fn delete_event_exception_user(
        &self,
        _guild: GuildId,
        event: ScheduledEventId,
        exception: Snowflake,
        user: UserId,
    ) -> StoreResult<()> {
        self.delete_event_exception_user_impl(event, exception, user)
            .await
    }

    async fn event_exception_users(
        &self,
        _guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<EventExceptionUser>> {
        self.event_exception_users_impl(event)
    }

    async fn event_users(
        &self,
        _guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<UserId>> {
        self.event_users_impl(event)
    }

    async fn put_thread_member(&self, member: &ThreadMemberRecord) -> StoreResult<()> {
        self.put_thread_member_impl(member).await
    }

    async fn delete_thread_member(
        &self,
        guild: GuildId,
        thread: ChannelId,
        user: UserId,
    ) -> StoreResult<()> {
        self.delete_thread_member_impl(guild, thread, user).await
    }

    async fn delete_thread_members(&self, guild: GuildId, thread: ChannelId) -> StoreResult<()> {
        self.delete_thread_members_impl(guild, thread).await
    }

    async fn guild_thread_members(&self, guild: GuildId) -> StoreResult<Vec<ThreadMemberRecord>> {
        self.guild_thread_members_impl(guild)
    }

    async fn put_poll_expiry(&self, expiry: &PollExpiry) -> StoreResult<()> {
        self.put_poll_expiry_impl(expiry).await
    }

    async fn delete_poll_expiry(&self, message: MessageId) -> StoreResult<()> {
        self.delete_poll_expiry_impl(message).await
    }

    async fn poll_expiries(&self) -> StoreResult<Vec<PollExpiry>> {
        self.poll_expiries_impl()
    }

    async fn put_oauth_token(&self, token: &OAuthTokenRecord) -> StoreResult<()> {
        self.put_oauth_token_impl(token).await
    }

    async fn get_oauth_token(&self, hash: &str) -> StoreResult<Option<OAuthTokenRecord>> {
        self.get_oauth_token_impl(hash)
    }

    async fn take_oauth_token(&self, hash: &str) -> StoreResult<Option<OAuthTokenRecord>> {
        self.take_oauth_token_impl(hash).await
    }

    async fn insert_guild_audit_entry(&self, entry: &GuildAuditEntry) -> StoreResult<()> {
        let (key, bytes) = ((entry.guild_id.get(), entry.id.get()), enc(entry)?);
        self.writer
            .write(move |txn| {
                txn.open_table(GUILD_AUDIT_LOG)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn guild_audit_entries(
        &self,
        guild: GuildId,
        limit: usize,
        before: Option<Snowflake>,
    ) -> StoreResult<Vec<GuildAuditEntry>> {
        let txn = self.read()?;
        let table = txn.open_table(GUILD_AUDIT_LOG).map_err(be)?;
        let g = guild.get();
        let below = before.map_or(u64::MAX, |b| b.get());
        let oldest = super::guild_audit_cutoff().get();
        let mut out = Vec::new();
        for entry in table
            .range((g, oldest)..(g, below.max(oldest)))
            .map_err(be)?
            .rev()
            .take(limit.clamp(1, 100))
        {
            out.push(dec(entry.map_err(be)?.1.value())?);
        }
        Ok(out)
    }

    async fn flush(&self) -> StoreResult<()> {
        self.writer.flush().await
    }
}

/// Decodes every value stored under one `(parent, child)` key range.
fn values_in<T: DeserializeOwned>(
    table: &impl ReadableTable<(u64, u64), &'static [u8]>,
    range: std::ops::RangeInclusive<(u64, u64)>,
) -> StoreResult<Vec<T>> {
    let mut out = Vec::new();
    for entry in table.range(range).map_err(be)? {
        out.push(dec(entry.map_err(be)?.1.value())?);
    }
    Ok(out)
}
