//! Application extras in the embedded store: emojis and entitlements keyed (application, id) so
//! one range scan lists an application's; role connection metadata as one record per
//! application; users' role connections keyed (user, application); command permissions keyed
//! (guild, command or application id), filtered by application when read (a guild has few).
//! Two indexes serve the application's deletion: the guilds it has command permissions in
//! (application, guild) and the users connected to it (application, user), each written in the
//! transaction that writes what it indexes.

use super::tables::{
    APP_EMOJIS, COMMAND_PERMISSION_GUILDS, COMMAND_PERMISSIONS, ENTITLEMENTS,
    ROLE_CONNECTION_METADATA, ROLE_CONNECTIONS_BY_APP, USER_ROLE_CONNECTIONS,
};
use super::{EmbeddedStore, be, dec, enc, values_in};
use crate::id::{ApplicationId, EmojiId, GuildId, UserId};
use crate::model::{
    AppEmojiRecord, CommandPermissionsRecord, EntitlementRecord, RoleConnectionMetadata,
    UserRoleConnectionRecord,
};
use crate::store::StoreResult;

type PairTable = redb::TableDefinition<'static, (u64, u64), &'static [u8]>;

impl EmbeddedStore {
    /// Writes one `(a, b) → bytes` entry, or removes it when `bytes` is None.
    async fn put_pair(
        &self,
        table: PairTable,
        key: (u64, u64),
        bytes: Option<Vec<u8>>,
    ) -> StoreResult<()> {
        self.writer
            .write(move |txn| {
                let mut t = txn.open_table(table).map_err(be)?;
                match bytes {
                    Some(b) => {
                        t.insert(key, b.as_slice()).map_err(be)?;
                    }
                    None => {
                        t.remove(key).map_err(be)?;
                    }
                }
                Ok(())
            })
            .await
    }

    fn get_pair<T: serde::de::DeserializeOwned>(
        &self,
        table: PairTable,
        key: (u64, u64),
    ) -> StoreResult<Option<T>> {
        let txn = self.read()?;
        let t = txn.open_table(table).map_err(be)?;
        match t.get(key).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    fn pairs_of<T: serde::de::DeserializeOwned>(
        &self,
        table: PairTable,
        parent: u64,
    ) -> StoreResult<Vec<T>> {
        let txn = self.read()?;
        values_in(
            &txn.open_table(table).map_err(be)?,
            (parent, 0)..=(parent, u64::MAX),
        )
    }

    pub(super) async fn put_app_emoji_impl(&self, e: &AppEmojiRecord) -> StoreResult<()> {
        let key = (e.application_id.get(), e.id.get());
        self.put_pair(APP_EMOJIS, key, Some(enc(e)?)).await
    }

    pub(super) fn get_app_emoji_impl(
        &self,
        app: ApplicationId,
        id: EmojiId,
    ) -> StoreResult<Option<AppEmojiRecord>> {
        self.get_pair(APP_EMOJIS, (app.get(), id.get()))
    }

    pub(super) async fn delete_app_emoji_impl(
        &self,
        app: ApplicationId,
        id: EmojiId,
    ) -> StoreResult<()> {
        self.put_pair(APP_EMOJIS, (app.get(), id.get()), None).await
    }

    pub(super) fn app_emojis_impl(&self, app: ApplicationId) -> StoreResult<Vec<AppEmojiRecord>> {
        self.pairs_of(APP_EMOJIS, app.get())
    }

    pub(super) async fn put_role_connection_metadata_impl(
        &self,
        app: ApplicationId,
        records: &[RoleConnectionMetadata],
    ) -> StoreResult<()> {
        let (key, bytes) = (app.get(), enc(&records)?);
        self.writer
            .write(move |txn| {
                txn.open_table(ROLE_CONNECTION_METADATA)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn role_connection_metadata_impl(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<RoleConnectionMetadata>> {
        let txn = self.read()?;
        let t = txn.open_table(ROLE_CONNECTION_METADATA).map_err(be)?;
        match t.get(app.get()).map_err(be)? {
            Some(v) => dec(v.value()),
            None => Ok(Vec::new()),
        }
    }

    pub(super) async fn put_user_role_connection_impl(
        &self,
        c: &UserRoleConnectionRecord,
    ) -> StoreResult<()> {
        let (user, app, bytes) = (c.user_id.get(), c.application_id.get(), enc(c)?);
        self.writer
            .write(move |txn| {
                txn.open_table(USER_ROLE_CONNECTIONS)
                    .map_err(be)?
                    .insert((user, app), bytes.as_slice())
                    .map_err(be)?;
                txn.open_table(ROLE_CONNECTIONS_BY_APP)
                    .map_err(be)?
                    .insert((app, user), ())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn get_user_role_connection_impl(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Option<UserRoleConnectionRecord>> {
        self.get_pair(USER_ROLE_CONNECTIONS, (user.get(), app.get()))
    }

    pub(super) async fn delete_user_role_connection_impl(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<()> {
        let (user, app) = (user.get(), app.get());
        self.writer
            .write(move |txn| {
                txn.open_table(USER_ROLE_CONNECTIONS)
                    .map_err(be)?
                    .remove((user, app))
                    .map_err(be)?;
                txn.open_table(ROLE_CONNECTIONS_BY_APP)
                    .map_err(be)?
                    .remove((app, user))
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn put_entitlement_impl(&self, e: &EntitlementRecord) -> StoreResult<()> {
        let key = (e.application_id.get(), e.id.get());
        self.put_pair(ENTITLEMENTS, key, Some(enc(e)?)).await
    }

    pub(super) fn entitlements_of_impl(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<EntitlementRecord>> {
        self.pairs_of(ENTITLEMENTS, app.get())
    }

    pub(super) async fn put_command_permissions_impl(
        &self,
        r: &CommandPermissionsRecord,
    ) -> StoreResult<()> {
        let (guild, target, app) = (r.guild_id.get(), r.id.get(), r.application_id);
        let bytes = if r.permissions.is_empty() {
            None
        } else {
            Some(enc(r)?)
        };
        self.writer
            .write(move |txn| {
                let mut t = txn.open_table(COMMAND_PERMISSIONS).map_err(be)?;
                match bytes {
                    Some(b) => {
                        t.insert((guild, target), b.as_slice()).map_err(be)?;
                    }
                    None => {
                        t.remove((guild, target)).map_err(be)?;
                    }
                }
                // The guild stays indexed while any record of the application is left in it.
                let left: Vec<CommandPermissionsRecord> =
                    values_in(&t, (guild, 0)..=(guild, u64::MAX))?;
                let mut index = txn.open_table(COMMAND_PERMISSION_GUILDS).map_err(be)?;
                if left.iter().any(|r| r.application_id == app) {
                    index.insert((app.get(), guild), ()).map_err(be)?;
                } else {
                    index.remove((app.get(), guild)).map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    pub(super) fn command_permission_guilds_impl(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<GuildId>> {
        let txn = self.read()?;
        let t = txn.open_table(COMMAND_PERMISSION_GUILDS).map_err(be)?;
        let mut out = Vec::new();
        for entry in t
            .range((app.get(), 0)..=(app.get(), u64::MAX))
            .map_err(be)?
        {
            out.push(GuildId::new(entry.map_err(be)?.0.value().1));
        }
        Ok(out)
    }

    pub(super) fn command_permissions_of_impl(
        &self,
        guild: GuildId,
        app: ApplicationId,
    ) -> StoreResult<Vec<CommandPermissionsRecord>> {
        let all: Vec<CommandPermissionsRecord> = self.pairs_of(COMMAND_PERMISSIONS, guild.get())?;
        Ok(all
            .into_iter()
            .filter(|r| r.application_id == app)
            .collect())
    }
}
