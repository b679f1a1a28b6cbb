//! OAuth2 tokens on ScyllaDB: `oauth_tokens`, one row per token keyed by its SHA-256 hex. Rows
//! carry a TTL to the token's expiry, so abandoned codes and access tokens vanish on their own.
//! Every write is a lightweight transaction (a code is taken by `DELETE … IF EXISTS`, and LWT and
//! plain writes must not mix on one row).

use super::{ScyllaStore, enc};
use crate::model::OAuthTokenRecord;
use crate::model::timestamp::Timestamp;
use crate::store::{StoreError, StoreResult};

/// Seconds until `expires_at` for `USING TTL` (0 = no TTL); at least 1 so a token about to expire
/// is still written and then dropped by the server rather than living forever.
fn ttl_secs(t: &OAuthTokenRecord) -> i32 {
    match t.expires_at {
        None => 0,
        Some(at) => {
            let left = (at.millis() - Timestamp::now().millis()) / 1000;
            left.clamp(1, i32::MAX as i64) as i32
        }
    }
}

impl ScyllaStore {
    pub(super) async fn put_oauth_token_impl(&self, t: &OAuthTokenRecord) -> StoreResult<()> {
        let outcome = self
            .lwt(
                &self.st.oauth_token_put,
                (t.token_hash.as_str(), enc(t)?, ttl_secs(t)),
            )
            .await?;
        if !outcome.applied {
            // 256 random bits collided, or the same record was written twice: refuse either way.
            return Err(StoreError::Backend("oauth token already stored".into()));
        }
        Ok(())
    }

    pub(super) async fn get_oauth_token_impl(
        &self,
        hash: &str,
    ) -> StoreResult<Option<OAuthTokenRecord>> {
        self.one(&self.st.oauth_token_get, (hash,)).await
    }

    /// Read, then `DELETE … IF EXISTS`: only the taker whose delete applied gets the record.
    pub(super) async fn take_oauth_token_impl(
        &self,
        hash: &str,
    ) -> StoreResult<Option<OAuthTokenRecord>> {
        let Some(record) = self.get_oauth_token_impl(hash).await? else {
            return Ok(None);
        };
        let outcome = self.lwt(&self.st.oauth_token_del, (hash,)).await?;
        Ok(outcome.applied.then_some(record))
    }
}
