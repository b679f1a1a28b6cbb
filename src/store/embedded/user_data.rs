//! The user actor's records in the embedded store: relationships, settings, read states and
//! connected accounts, each keyed by user first so one range scan lists a user's records.

use super::tables::{CONNECTIONS, READ_STATES, RELATIONSHIPS, USER_CONSENT, USER_SETTINGS};
use super::{EmbeddedStore, be, dec, enc, values_in};
use crate::id::UserId;
use crate::model::{
    ConnectedAccountRecord, ReadStateRecord, RelationshipRecord, UserConsent, UserSettings,
};
use crate::store::StoreResult;

impl EmbeddedStore {
    pub(super) async fn put_relationship_impl(&self, r: &RelationshipRecord) -> StoreResult<()> {
        let (key, bytes) = ((r.user_id.get(), r.peer_id.get()), enc(r)?);
        self.writer
            .write(move |txn| {
                txn.open_table(RELATIONSHIPS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_relationship_impl(
        &self,
        user: UserId,
        peer: UserId,
    ) -> StoreResult<()> {
        let key = (user.get(), peer.get());
        self.writer
            .write(move |txn| {
                txn.open_table(RELATIONSHIPS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn get_relationship_impl(
        &self,
        user: UserId,
        peer: UserId,
    ) -> StoreResult<Option<RelationshipRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(RELATIONSHIPS).map_err(be)?;
        match table.get((user.get(), peer.get())).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    pub(super) fn relationships_of_impl(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<RelationshipRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(RELATIONSHIPS).map_err(be)?;
        let u = user.get();
        values_in(&table, (u, 0)..=(u, u64::MAX))
    }

    pub(super) fn get_user_settings_impl(&self, user: UserId) -> StoreResult<Option<UserSettings>> {
        let txn = self.read()?;
        let table = txn.open_table(USER_SETTINGS).map_err(be)?;
        match table.get(user.get()).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    pub(super) async fn put_user_settings_impl(
        &self,
        user: UserId,
        settings: &UserSettings,
    ) -> StoreResult<()> {
        let (key, bytes) = (user.get(), enc(settings)?);
        self.writer
            .write(move |txn| {
                txn.open_table(USER_SETTINGS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn get_user_consent_impl(&self, user: UserId) -> StoreResult<Option<UserConsent>> {
        let txn = self.read()?;
        let table = txn.open_table(USER_CONSENT).map_err(be)?;
        match table.get(user.get()).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    pub(super) async fn put_user_consent_impl(
        &self,
        user: UserId,
        consent: &UserConsent,
    ) -> StoreResult<()> {
        let (key, bytes) = (user.get(), enc(consent)?);
        self.writer
            .write(move |txn| {
                txn.open_table(USER_CONSENT)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn put_read_state_impl(&self, state: &ReadStateRecord) -> StoreResult<()> {
        let (key, bytes) = ((state.user_id.get(), state.channel_id.get()), enc(state)?);
        self.writer
            .write(move |txn| {
                txn.open_table(READ_STATES)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn read_states_of_impl(&self, user: UserId) -> StoreResult<Vec<ReadStateRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(READ_STATES).map_err(be)?;
        let u = user.get();
        values_in(&table, (u, 0)..=(u, u64::MAX))
    }

    pub(super) async fn put_connection_impl(&self, a: &ConnectedAccountRecord) -> StoreResult<()> {
        let (key, bytes) = ((a.user_id.get(), a.kind.clone(), a.id.clone()), enc(a)?);
        self.writer
            .write(move |txn| {
                txn.open_table(CONNECTIONS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_connection_impl(
        &self,
        user: UserId,
        kind: &str,
        id: &str,
    ) -> StoreResult<()> {
        let key = (user.get(), kind.to_string(), id.to_string());
        self.writer
            .write(move |txn| {
                txn.open_table(CONNECTIONS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn connections_of_impl(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<ConnectedAccountRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(CONNECTIONS).map_err(be)?;
        let u = user.get();
        let mut out = Vec::new();
        for entry in table
            .range((u, String::new(), String::new())..)
            .map_err(be)?
        {
            let (key, value) = entry.map_err(be)?;
            if key.value().0 != u {
                break;
            }
            out.push(dec(value.value())?);
        }
        Ok(out)
    }
}
