//! Authentication: Discord-shaped tokens, argon2id passwords, and the in-memory account cache
//! that lets every request be authenticated without a database read.

pub mod oauth;
mod password;
mod token;

pub use oauth::OAuthGrant;
pub use password::{hash_password, verify_password};
pub use token::{TokenClaims, TokenSigner};

use std::sync::Arc;

use dashmap::DashMap;

use crate::config::LiveConfig;
use crate::error::ApiError;
use crate::id::UserId;
use crate::model::UserRecord;
use crate::store::DynStore;

/// What authentication needs to know about an account, cached per user. Kept in step by
/// [`Auth::refresh`] whenever an account changes (logout, password change, disable, admin flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountStatus {
    pub token_generation: u32,
    pub disabled: bool,
    pub bot: bool,
    pub admin: bool,
}

impl From<&UserRecord> for AccountStatus {
    fn from(u: &UserRecord) -> Self {
        Self {
            token_generation: u.token_generation,
            disabled: u.disabled,
            bot: u.bot,
            admin: u.admin,
        }
    }
}

/// The authenticated caller of a request or gateway session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub bot: bool,
    pub admin: bool,
    /// Set when the request came with an OAuth2 bearer token: what the token grants. Such a
    /// caller reaches only the routes its scopes open (see [`oauth::scope_for`]).
    pub oauth: Option<OAuthGrant>,
}

pub struct Auth {
    signer: TokenSigner,
    accounts: DashMap<UserId, AccountStatus>,
    store: DynStore,
    config: Arc<LiveConfig>,
}

impl Auth {
    pub fn new(secret: Vec<u8>, store: DynStore, config: Arc<LiveConfig>) -> Self {
        Self {
            signer: TokenSigner::new(secret),
            accounts: DashMap::new(),
            store,
            config,
        }
    }

    pub fn issue(&self, user: &UserRecord) -> String {
        self.signer.issue(user.id, user.token_generation)
    }

    /// Signs a value handed to a client for one purpose (see [`TokenSigner::sign`]).
    pub fn sign(&self, purpose: &str, payload: &str) -> String {
        self.signer.sign(purpose, payload)
    }

    /// The payload of a value signed by [`Auth::sign`] for `purpose`, if authentic.
    pub fn verify_signed(&self, purpose: &str, signed: &str) -> Option<String> {
        self.signer.verify_signed(purpose, signed)
    }

    /// Checks a token from `Authorization` (bare, `Bot …` or `Bearer …`) or IDENTIFY.
    /// The signature check is pure; the account status comes from the cache (one store read per
    /// user per process lifetime).
    pub async fn authenticate(&self, raw: &str) -> Result<Caller, ApiError> {
        let token = raw
            .strip_prefix("Bot ")
            .or_else(|| raw.strip_prefix("Bearer "))
            .unwrap_or(raw)
            .trim();
        let claims = self.signer.verify(token).ok_or(ApiError::Unauthorized)?;
        let config = self.config.get();
        let max_age = config.security.token_max_age_secs;
        if max_age > 0 && claims.issued_at_secs + max_age < token::now_secs() {
            return Err(ApiError::Unauthorized);
        }
        let status = self
            .status(claims.user_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if status.disabled || status.token_generation != claims.generation {
            return Err(ApiError::Unauthorized);
        }
        let config_admin = config
            .security
            .admin_user_ids
            .iter()
            .any(|id| id == &claims.user_id.to_string());
        Ok(Caller {
            user_id: claims.user_id,
            bot: status.bot,
            admin: status.admin || config_admin,
            oauth: None,
        })
    }

    /// Checks an `Authorization` header of a REST request: an account token as
    /// [`Auth::authenticate`] does, or an OAuth2 access token (`Bearer …` that is not a signed
    /// account token), looked up by its hash. An OAuth2 caller is never an instance admin: a
    /// grant to an application must not carry the user's administration rights.
    pub async fn authenticate_request(&self, raw: &str) -> Result<Caller, ApiError> {
        let Some(bearer) = raw.strip_prefix("Bearer ").map(str::trim) else {
            return self.authenticate(raw).await;
        };
        if self.signer.verify(bearer).is_some() {
            return self.authenticate(raw).await;
        }
        let record = self
            .store
            .get_oauth_token(&oauth::token_hash(bearer))
            .await
            .map_err(ApiError::internal)?
            .filter(|t| {
                t.kind == crate::model::OAuthTokenKind::Access
                    && !t.expired(crate::model::timestamp::Timestamp::now())
            })
            .ok_or(ApiError::Unauthorized)?;
        let status = self
            .status(record.user_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if status.disabled {
            return Err(ApiError::Unauthorized);
        }
        Ok(Caller {
            user_id: record.user_id,
            bot: status.bot,
            admin: false,
            oauth: Some(OAuthGrant {
                application: record.application_id,
                scopes: record.scopes(),
                expires_at: record.expires_at,
            }),
        })
    }

    async fn status(&self, user: UserId) -> Result<Option<AccountStatus>, ApiError> {
        if let Some(s) = self.accounts.get(&user) {
            return Ok(Some(*s));
        }
        let record = self
            .store
            .get_user(user)
            .await
            .map_err(ApiError::internal)?;
        Ok(record.map(|u| {
            let status = AccountStatus::from(&u);
            self.accounts.insert(user, status);
            status
        }))
    }

    /// Updates the cached status after an account change was persisted.
    pub fn refresh(&self, user: &UserRecord) {
        self.accounts.insert(user.id, AccountStatus::from(user));
    }
}
