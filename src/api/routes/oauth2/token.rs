//! `POST /oauth2/token` and `POST /oauth2/token/revoke`: the OAuth2 token endpoint, with
//! client authentication by HTTP Basic or by `client_id`/`client_secret` in the form (Discord
//! accepts both). Errors are RFC 6749's `{error, error_description}` objects, as Discord's are
//! on these two routes, not its usual `{code, message}`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::grants::{self, TokenResponse};
use crate::api::extract::Json;
use crate::app::App;
use crate::auth::oauth::token_hash;
use crate::error::ApiError;
use crate::id::ApplicationId;
use crate::model::{ApplicationRecord, OAuthScopes, OAuthTokenKind};

/// The token endpoint's failures (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request")]
    InvalidRequest,
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant")]
    InvalidGrant,
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope")]
    InvalidScope,
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error, key) = match self {
            Self::Api(e) => return e.into_response(),
            Self::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "oauth2-invalid-request",
            ),
            Self::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "oauth2-invalid-client",
            ),
            Self::InvalidGrant => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "oauth2-invalid-grant",
            ),
            Self::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "oauth2-unsupported-grant-type",
            ),
            Self::InvalidScope => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "oauth2-invalid-scope",
            ),
        };
        let body = json!({
            "error": error,
            "error_description": crate::i18n::t(key),
        });
        (status, axum::Json(body)).into_response()
    }
}

/// Every field either route takes; which are required depends on `grant_type`.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    client_id: Option<ApplicationId>,
    client_secret: Option<String>,
    /// Revocation: the token and, optionally, what kind it is (we find it by its hash anyway).
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// The application whose credentials came with the request (Basic first, then the form).
async fn client(
    app: &App,
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<ApplicationRecord, OAuthError> {
    let basic = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            Some((id.parse::<u64>().ok()?, secret.to_string()))
        });
    let (id, secret) = match basic {
        Some((id, secret)) => (ApplicationId::new(id), secret),
        None => match (form.client_id, &form.client_secret) {
            (Some(id), Some(secret)) => (id, secret.clone()),
            _ => return Err(OAuthError::InvalidClient),
        },
    };
    let a = app
        .store()
        .get_application(id)
        .await
        .map_err(ApiError::from)?
        .ok_or(OAuthError::InvalidClient)?;
    // Hashes are compared, so the comparison's timing says nothing about the secret.
    if a.client_secret_hash.as_deref() != Some(token_hash(&secret).as_str()) {
        return Err(OAuthError::InvalidClient);
    }
    Ok(a)
}

/// `POST /oauth2/token` (`application/x-www-form-urlencoded`): exchanges an authorization code
/// or a refresh token, or grants the application's owner a token (`client_credentials`).
pub async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Json<TokenResponse>, OAuthError> {
    let Form(form) = form.map_err(|_| OAuthError::InvalidRequest)?;
    let a = client(&app, &headers, &form).await?;
    let response = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let code = form.code.as_deref().ok_or(OAuthError::InvalidRequest)?;
            let grant = grants::find(&app, code, OAuthTokenKind::Code, a.id)
                .await?
                .ok_or(OAuthError::InvalidGrant)?;
            // The redirect URI must be given and be the one the code was issued for (Discord
            // requires it; RFC 6749 §4.1.3).
            if form.redirect_uri.is_none() || form.redirect_uri != grant.redirect_uri {
                return Err(OAuthError::InvalidGrant);
            }
            // Taken atomically: a code replayed concurrently is exchanged once.
            let grant = app
                .store()
                .take_oauth_token(&grant.token_hash)
                .await
                .map_err(ApiError::from)?
                .ok_or(OAuthError::InvalidGrant)?;
            grants::issue_tokens(&app, a.id, grant.user_id, grant.scopes(), true).await?
        }
        Some("refresh_token") => {
            let token = form
                .refresh_token
                .as_deref()
                .ok_or(OAuthError::InvalidRequest)?;
            let old = grants::find(&app, token, OAuthTokenKind::Refresh, a.id)
                .await?
                .ok_or(OAuthError::InvalidGrant)?;
            let old = app
                .store()
                .take_oauth_token(&old.token_hash)
                .await
                .map_err(ApiError::from)?
                .ok_or(OAuthError::InvalidGrant)?;
            // The access token of the old pair ends with it.
            if let Some(p) = &old.paired_hash {
                app.store()
                    .take_oauth_token(p)
                    .await
                    .map_err(ApiError::from)?;
            }
            grants::issue_tokens(&app, a.id, old.user_id, old.scopes(), true).await?
        }
        Some("client_credentials") => {
            let scopes = OAuthScopes::parse(form.scope.as_deref().unwrap_or("identify"))
                .map_err(|_| OAuthError::InvalidScope)?;
            // A grant without a user consenting: nothing that acts in guilds.
            if scopes.intersects(OAuthScopes::GUILDS_JOIN | OAuthScopes::BOT) || scopes.is_empty() {
                return Err(OAuthError::InvalidScope);
            }
            // The token is the owner's: a team application's is the team owner.
            let owner = match a.team_id {
                Some(team) => app
                    .store()
                    .get_team(team)
                    .await
                    .map_err(ApiError::from)?
                    .map(|t| t.owner_user_id)
                    .ok_or(OAuthError::InvalidClient)?,
                None => a.owner_id,
            };
            grants::issue_tokens(&app, a.id, owner, scopes, false).await?
        }
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
        None => return Err(OAuthError::InvalidRequest),
    };
    tracing::info!(application = %a.id, grant = ?form.grant_type, "oauth2 token issued");
    Ok(Json(response))
}

/// `POST /oauth2/token/revoke`: revokes an access or refresh token (and the other half of its
/// pair). 200 `{}` even for an unknown token, as RFC 7009 says.
pub async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Json<serde_json::Value>, OAuthError> {
    let Form(form) = form.map_err(|_| OAuthError::InvalidRequest)?;
    let a = client(&app, &headers, &form).await?;
    let token = form.token.as_deref().ok_or(OAuthError::InvalidRequest)?;
    grants::revoke(&app, token, a.id).await?;
    Ok(Json(json!({})))
}
