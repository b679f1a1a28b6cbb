//! Application extras on ScyllaDB: an application's emojis and entitlements in one partition
//! each, its role connection metadata as one row, users' role connections by (user,
//! application), and command permissions partitioned by (guild, application) — every read is a
//! key or partition read, never a filtered scan.

use super::{ScyllaStore, decode_all, enc, n};
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
        .await
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
            self.exec(&self.st.command_permissions_del, key).await
        } else {
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
