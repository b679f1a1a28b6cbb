//! The user actor's records on ScyllaDB: relationships, settings, read states and connected
//! accounts, each partitioned by user, so a user's records are one partition read.

use super::{ScyllaStore, decode_all, enc, n};
use crate::id::UserId;
use crate::model::{
    ConnectedAccountRecord, ReadStateRecord, RelationshipRecord, UserConsent, UserSettings,
};
use crate::store::StoreResult;

impl ScyllaStore {
    pub(super) async fn put_relationship_impl(&self, r: &RelationshipRecord) -> StoreResult<()> {
        self.exec(
            &self.st.relationship_put,
            (n(r.user_id.get()), n(r.peer_id.get()), enc(r)?),
        )
        .await
    }

    pub(super) async fn delete_relationship_impl(
        &self,
        user: UserId,
        peer: UserId,
    ) -> StoreResult<()> {
        self.exec(&self.st.relationship_del, (n(user.get()), n(peer.get())))
            .await
    }

    pub(super) async fn get_relationship_impl(
        &self,
        user: UserId,
        peer: UserId,
    ) -> StoreResult<Option<RelationshipRecord>> {
        self.one(&self.st.relationship_get, (n(user.get()), n(peer.get())))
            .await
    }

    pub(super) async fn relationships_of_impl(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<RelationshipRecord>> {
        let rows: Vec<(Option<String>,)> = self
            .scan(&self.st.relationships_of, (n(user.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn get_user_settings_impl(
        &self,
        user: UserId,
    ) -> StoreResult<Option<UserSettings>> {
        self.one(&self.st.settings_get, (n(user.get()),)).await
    }

    pub(super) async fn put_user_settings_impl(
        &self,
        user: UserId,
        settings: &UserSettings,
    ) -> StoreResult<()> {
        self.exec(&self.st.settings_put, (n(user.get()), enc(settings)?))
            .await
    }

    pub(super) async fn get_user_consent_impl(
        &self,
        user: UserId,
    ) -> StoreResult<Option<UserConsent>> {
        self.one(&self.st.consent_get, (n(user.get()),)).await
    }

    pub(super) async fn put_user_consent_impl(
        &self,
        user: UserId,
        consent: &UserConsent,
    ) -> StoreResult<()> {
        self.exec(&self.st.consent_put, (n(user.get()), enc(consent)?))
            .await
    }

    pub(super) async fn put_read_state_impl(&self, state: &ReadStateRecord) -> StoreResult<()> {
        self.exec(
            &self.st.read_state_put,
            (
                n(state.user_id.get()),
                n(state.channel_id.get()),
                enc(state)?,
            ),
        )
        .await
    }

    pub(super) async fn read_states_of_impl(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<ReadStateRecord>> {
        let rows: Vec<(Option<String>,)> =
            self.scan(&self.st.read_states_of, (n(user.get()),)).await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn put_connection_impl(&self, a: &ConnectedAccountRecord) -> StoreResult<()> {
        self.exec(
            &self.st.connection_put,
            (n(a.user_id.get()), a.kind.as_str(), a.id.as_str(), enc(a)?),
        )
        .await
    }

    pub(super) async fn delete_connection_impl(
        &self,
        user: UserId,
        kind: &str,
        id: &str,
    ) -> StoreResult<()> {
        self.exec(&self.st.connection_del, (n(user.get()), kind, id))
            .await
    }

    pub(super) async fn connections_of_impl(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<ConnectedAccountRecord>> {
        let rows: Vec<(Option<String>,)> =
            self.scan(&self.st.connections_of, (n(user.get()),)).await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }
}
