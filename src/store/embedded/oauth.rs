//! OAuth2 tokens in the embedded store: `SHA-256 hex → record`. An expired record is deleted when
//! it is next looked up (an abandoned code or access token costs one small row until then).

use super::tables::OAUTH_TOKENS;
use super::{EmbeddedStore, be, dec, enc};
use crate::model::OAuthTokenRecord;
use crate::store::StoreResult;

impl EmbeddedStore {
    pub(super) async fn put_oauth_token_impl(&self, t: &OAuthTokenRecord) -> StoreResult<()> {
        let (key, bytes) = (t.token_hash.clone(), enc(t)?);
        self.writer
            .write(move |txn| {
                txn.open_table(OAUTH_TOKENS)
                    .map_err(be)?
                    .insert(key.as_str(), bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn get_oauth_token_impl(&self, hash: &str) -> StoreResult<Option<OAuthTokenRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(OAUTH_TOKENS).map_err(be)?;
        match table.get(hash).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    /// The remove happens in one write transaction, which redb serializes: one taker wins.
    pub(super) async fn take_oauth_token_impl(
        &self,
        hash: &str,
    ) -> StoreResult<Option<OAuthTokenRecord>> {
        let key = hash.to_string();
        let bytes: Option<Vec<u8>> = self
            .writer
            .write(move |txn| {
                let mut table = txn.open_table(OAUTH_TOKENS).map_err(be)?;
                let old = table.remove(key.as_str()).map_err(be)?;
                Ok(old.map(|v| v.value().to_vec()))
            })
            .await?;
        bytes.map(|b| dec(&b)).transpose()
    }
}
