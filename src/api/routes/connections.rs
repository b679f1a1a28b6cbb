//! `/connections/{type}/*`: linking a third-party account through the provider's OAuth2 flow,
//! as Discord's client does it. `authorize` returns the provider URL to open, with a signed
//! `state` naming the user and the provider; the provider sends the browser back to the client,
//! which posts `code` and `state` to `callback`; the server exchanges the code (`oauth.rs`) and
//! the user actor stores the account. Providers come from `connections.providers` in the config.

pub mod oauth;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::user::UserMsg;
use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::config::ConnectionProvider;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::model::ConnectedAccountRecord;
use crate::model::connection::VISIBILITY_NONE;

/// What the `state` signature is for (see [`crate::auth::Auth::sign`]).
const STATE_PURPOSE: &str = "connection-state";
/// How long a user has to finish at the provider.
const STATE_TTL_SECS: u64 = 15 * 60;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/connections/{connection_type}/authorize", get(authorize))
        .route("/connections/{connection_type}/callback", post(callback))
}

/// An enabled provider; Discord's Unknown Provider (10010) for anything else, so disabled
/// providers look like absent ones.
pub fn provider(app: &App, kind: &str) -> Result<ConnectionProvider, ApiError> {
    app.config()
        .get()
        .connections
        .providers
        .get(kind)
        .filter(|p| p.enabled)
        .cloned()
        .ok_or_else(|| ApiError::coded(StatusCode::NOT_FOUND, 10010, "unknown-provider"))
}

/// The provider's configured redirect URI, or the client page `{web base}/connections/{type}`
/// (Discord's own redirect target), the web base being the API endpoint without `/api`.
fn redirect_uri(app: &App, kind: &str, p: &ConnectionProvider) -> String {
    if !p.redirect_uri.is_empty() {
        return p.redirect_uri.clone();
    }
    let api = app.api_endpoint();
    let base = api.strip_suffix("/api").unwrap_or(&api);
    format!("{base}/connections/{kind}")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Query of `GET /connections/{type}/authorize`; Discord's parameters are accepted and ignored.
#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
struct AuthorizeQuery {
    two_way_link_type: Option<String>,
    two_way_user_code: Option<String>,
    continuation: Option<bool>,
}

/// `GET /connections/{type}/authorize`: `{"url": …}`, the provider's authorization page with a
/// `state` signed for this user and provider that expires in 15 minutes.
async fn authorize(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(kind): Path<String>,
    Query(_q): Query<AuthorizeQuery>,
) -> Result<Json<Value>, ApiError> {
    let p = provider(&app, &kind)?;
    let nonce: u64 = rand::random();
    let payload = format!(
        "{}:{kind}:{}:{nonce:016x}",
        caller.user_id,
        now_secs() + STATE_TTL_SECS
    );
    let state = app.auth.sign(STATE_PURPOSE, &payload);
    let url = oauth::authorize_url(&p, &redirect_uri(&app, &kind, &p), &state)
        .map_err(ApiError::internal)?;
    Ok(Json(json!({"url": url})))
}

/// Body of `POST /connections/{type}/callback`, Discord's fields (the extra ones ignored).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    two_way_link_code: Option<String>,
    insecure: Option<bool>,
    friend_sync: Option<bool>,
    openid_params: Option<Value>,
}

/// Whether `state` is one this server signed for this user and provider, still valid.
fn state_is_valid(app: &App, caller: Caller, kind: &str, state: &str) -> bool {
    let Some(payload) = app.auth.verify_signed(STATE_PURPOSE, state) else {
        return false;
    };
    let mut parts = payload.split(':');
    let (Some(user), Some(k), Some(expires)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    user == caller.user_id.to_string()
        && k == kind
        && expires.parse::<u64>().is_ok_and(|e| e >= now_secs())
}

/// `POST /connections/{type}/callback {code, state}`: checks the state, exchanges the code at
/// the provider, reads the account, and links it to the caller. Returns the connection object
/// and sends USER_CONNECTIONS_UPDATE.
async fn callback(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(kind): Path<String>,
    Json(body): Json<Callback>,
) -> Result<Json<Value>, ApiError> {
    let p = provider(&app, &kind)?;
    let (code, state) = match (
        body.code.filter(|c| !c.is_empty()),
        body.state.filter(|s| !s.is_empty()),
    ) {
        (Some(code), Some(state)) => (code, state),
        (code, state) => {
            let mut errs = FieldErrors::default();
            if code.is_none() {
                errs.add("code", FieldError::Required);
            }
            if state.is_none() {
                errs.add("state", FieldError::Required);
            }
            return Err(ApiError::InvalidFormBody(errs));
        }
    };
    if !state_is_valid(&app, caller, &kind, &state) {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            50012,
            "invalid-oauth-state",
        ));
    }
    let linked = oauth::exchange(&p, &redirect_uri(&app, &kind, &p), &code)
        .await
        .map_err(|e| {
            tracing::warn!(provider = %kind, error = %e, "connection: provider exchange failed");
            ApiError::coded(StatusCode::BAD_REQUEST, 50025, "invalid-oauth-token")
        })?;
    let account = ConnectedAccountRecord {
        user_id: caller.user_id,
        kind,
        id: linked.id,
        name: linked.name,
        verified: true,
        visibility: VISIBILITY_NONE,
        show_activity: true,
        friend_sync: body.friend_sync.unwrap_or(false),
        revoked: false,
        integrations: Vec::new(),
        access_token: Some(linked.access_token),
    };
    let actor = app.services.user(caller.user_id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| UserMsg::LinkConnection {
            account: Box::new(account),
            reply,
        })
        .await?,
    ))
}
