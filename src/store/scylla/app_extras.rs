//! Application extras on ScyllaDB: an application's emojis and entitlements in one partition
//! each, its role connection metadata as one row, users' role connections by (user,
//! application), and command permissions partitioned by (guild, application) — every read is a
//! key or partition read, never a filtered scan. Two index tables serve the application's
//! deletion: `command_permission_guilds` and `role_connections_by_app`, each written before
//! what it indexes (a failure leaves an index entry too many, never a record it cannot find).

use super::{ScyllaStore, decode_all, enc, n, u};
use crate::id::{ApplicationId, EmojiId, GuildId, UserId};
use crate::model::{
    AppEmojiRecord, CommandPermissionsRecord, EntitlementRecord, RoleConnectionMetadata,
    UserRoleConnectionRecord,
};
use crate::store::StoreResult;

impl ScyllaStore {
    pub(super) async fn put_app_emoji_impl(&self, e: &AppEmojiRecord) -> StoreResult<()> {
        self.exec(
            &self.st.app_emoji_put,
            (n(e.application_id.get()), n(e.id.get()), enc(e)?),
        )
        .await
    }

    pub(super) async fn get_app_emoji_impl(
        &self,
        app: ApplicationId,
        id: EmojiId,
    ) -> StoreResult<Option<AppEmojiRecord>> {
        self.one(&self.st.app_emoji_get, (n(app.get()), n(id.get())))
            .await
    }

    pub(super) async fn delete_app_emoji_impl(
        &self,
        app: ApplicationId,
        id: EmojiId,
    ) -> StoreResult<()> {
        self.exec(&self.st.app_emoji_del, (n(app.get()), n(id.get())))
            .await
    }

    pub(super) async fn app_emojis_impl(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<AppEmojiRecord>> {
        let rows: Vec<(Option<String>,)> =
            self.scan(&self.st.app_emojis_of, (n(app.get()),)).await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn put_role_connection_metadata_impl(
        &self,
        app: ApplicationId,
        records: &[RoleConnectionMetadata],
    ) -> StoreResult<()> {
        self.exec(
            &self.st.role_connection_metadata_put,
            (n(app.get()), enc(&records)?),
        )
        .await
    }

    pub(super) async fn role_connection_metadata_impl(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<RoleConnectionMetadata>> {
        Ok(self
            .one(&self.st.role_connection_metadata_get, (n(app.get()),))
            .await?
            .unwrap_or_default())
    }

    pub(super) async fn put_user_role_connection_impl(
        &self,
        c: &UserRoleConnectionRecord,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.role_connection_by_app_put,
            (n(c.application_id.get()), n(c.user_id.get())),
        )
        .await?;
        self.exec(
            &self.st.user_role_connection_put,
            (n(c.user_id.get()), n(c.application_id.get()), enc(c)?),
        )
        .await
    }

    pub(super) async fn get_user_role_connection_impl(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Option<UserRoleConnectionRecord>> {
        self.one(
            &self.st.user_role_connection_get,
            (n(user.get()), n(app.get())),
        )
        .await
    }

    pub(super) async fn delete_user_role_connection_impl(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.user_role_connection_del,
            (n(user.get()), n(app.get())),
        )
        .await?;
        self.exec(
            &self.st.role_connection_by_app_del,
            (n(app.get()), n(user.get())),
        )
        .await
    }

    /// Users' role connections to `app` and its command permissions in every guild, with both
    /// indexes (part of deleting the application).
    pub(super) async fn delete_app_links(&self, app: ApplicationId) -> StoreResult<()> {
        let key = (n(app.get()),);
        for guild in self.command_permission_guilds_impl(app).await? {
            self.exec(
                &self.st.command_permissions_del_all,
                (n(guild.get()), key.0),
            )
            .await?;
        }
        self.exec(&self.st.command_permission_guilds_del, key)
            .await?;
        let users: Vec<(i64,)> = self.scan(&self.st.role_connections_by_app_of, key).await?;
        for (user,) in users {
            self.exec(&self.st.user_role_connection_del, (user, key.0))
                .await?;
        }
        self.exec(&self.st.role_connections_by_app_del, key).await
    }

    pub(super) async fn command_permission_guilds_impl(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<GuildId>> {
        let rows: Vec<(i64,)> = self
            .scan(&self.st.command_permission_guilds_of, (n(app.get()),))
            .await?;
        Ok(rows.into_iter().map(|(g,)| GuildId::new(u(g))).collect())
    }

    pub(super) async fn put_entitlement_impl(&self, e: &EntitlementRecord) -> StoreResult<()> {
        self.exec(
            &self.st.entitlement_put,
            (n(e.application_id.get()), n(e.id.get()), enc(e)?),
        )
        .await
    }

    pub(super) async fn entitlements_of_impl(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<EntitlementRecord>> {
        let rows: Vec<(Option<String>,)> =
            self.scan(&self.st.entitlements_of, (n(app.get()),)).await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn put_command_permissions_impl(
        &self,
        r: &CommandPermissionsRecord,
    ) -> StoreResult<()> {
        let key = (
            n(r.guild_id.get()),
            n(r.application_id.get()),
            n(r.id.get()),
        );
        if r.permissions.is_empty() {
            self.exec(&self.st.command_permissions_del, key).await?;
            // The guild leaves the index with the application's last record in it.
            let left = self
                .command_permissions_of_impl(r.guild_id, r.application_id)
                .await?;
            if left.is_empty() {
                self.exec(&self.st.command_permission_guild_del, (key.1, key.0))
                    .await?;
            }
            Ok(())
        } else {
            self.exec(&self.st.command_permission_guild_put, (key.1, key.0))
                .await?;
            self.exec(
                &self.st.command_permissions_put,
                (key.0, key.1, key.2, enc(r)?),
            )
            .await
        }
    }

    pub(super) async fn command_permissions_of_impl(
        &self,
        guild: GuildId,
        app: ApplicationId,
    ) -> StoreResult<Vec<CommandPermissionsRecord>> {
        let rows: Vec<(Option<String>,)> = self
            .scan(
                &self.st.command_permissions_of,
                (n(guild.get()), n(app.get())),
            )
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }
}
