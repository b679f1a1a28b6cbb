//! Issuing and checking OAuth2 grants: the authorization code the consent step hands out, the
//! access/refresh pair the token endpoint returns, revocation. Shared by the routes of
//! `/oauth2/*`; only hashes of tokens reach the store.

use serde::Serialize;

use crate::app::App;
use crate::auth::oauth::{new_token, token_hash};
use crate::error::ApiError;
use crate::id::{ApplicationId, UserId};
use crate::model::timestamp::Timestamp;
use crate::model::{OAuthScopes, OAuthTokenKind, OAuthTokenRecord};

/// Discord's access token response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

fn after_secs(secs: u64) -> Timestamp {
    let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    Timestamp::from_millis(Timestamp::now().millis().saturating_add(ms))
}

/// Stores a new authorization code for `user`'s consent and returns it.
pub async fn issue_code(
    app: &App,
    application: ApplicationId,
    user: UserId,
    scopes: OAuthScopes,
    redirect_uri: &str,
) -> Result<String, ApiError> {
    let code = new_token();
    let ttl = app.config().get().security.oauth2_code_ttl_secs;
    app.store()
        .put_oauth_token(&OAuthTokenRecord {
            token_hash: token_hash(&code),
            kind: OAuthTokenKind::Code,
            application_id: application,
            user_id: user,
            scopes: scopes.into(),
            expires_at: Some(after_secs(ttl)),
            redirect_uri: Some(redirect_uri.to_string()),
            paired_hash: None,
        })
        .await?;
    Ok(code)
}

/// Stores an access token (and, with `refresh`, its refresh token) and returns the response.
pub async fn issue_tokens(
    app: &App,
    application: ApplicationId,
    user: UserId,
    scopes: OAuthScopes,
    refresh: bool,
) -> Result<TokenResponse, ApiError> {
    let ttl = app.config().get().security.oauth2_access_token_ttl_secs;
    let access = new_token();
    let refresh_token = refresh.then(new_token);
    let record = |kind, hash: String, paired: Option<String>, expires_at| OAuthTokenRecord {
        token_hash: hash,
        kind,
        application_id: application,
        user_id: user,
        scopes: scopes.into(),
        expires_at,
        redirect_uri: None,
        paired_hash: paired,
    };
    if let Some(r) = &refresh_token {
        app.store()
            .put_oauth_token(&record(
                OAuthTokenKind::Refresh,
                token_hash(r),
                Some(token_hash(&access)),
                None,
            ))
            .await?;
    }
    app.store()
        .put_oauth_token(&record(
            OAuthTokenKind::Access,
            token_hash(&access),
            refresh_token.as_deref().map(token_hash),
            Some(after_secs(ttl)),
        ))
        .await?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        scope: scopes.joined(),
    })
}

/// A token of `kind` issued to `application`, still valid (not taken).
pub async fn find(
    app: &App,
    token: &str,
    kind: OAuthTokenKind,
    application: ApplicationId,
) -> Result<Option<OAuthTokenRecord>, ApiError> {
    Ok(app
        .store()
        .get_oauth_token(&token_hash(token))
        .await?
        .filter(|t| {
            t.kind == kind && t.application_id == application && !t.expired(Timestamp::now())
        }))
}

/// Revokes a token and the other half of its pair. Whether anything was revoked.
pub async fn revoke(app: &App, token: &str, application: ApplicationId) -> Result<(), ApiError> {
    let Some(t) = app.store().get_oauth_token(&token_hash(token)).await? else {
        return Ok(());
    };
    if t.application_id != application {
        // Another application's token: as if unknown (RFC 7009 answers 200 either way).
        return Ok(());
    }
    app.store().take_oauth_token(&t.token_hash).await?;
    if let Some(p) = &t.paired_hash {
        app.store().take_oauth_token(p).await?;
    }
    Ok(())
}
