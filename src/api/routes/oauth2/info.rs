//! What a bearer token can learn about its own grant: `GET /oauth2/@me`, `GET /oauth2/userinfo`,
//! and the (empty) signing keys of `GET /oauth2/keys`.

use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::extract::Json;
use crate::api::routes::applications::application_json;
use crate::app::App;
use crate::auth::{Caller, OAuthGrant};
use crate::error::{ApiError, Unknown};
use crate::model::OAuthScopes;

/// The grant of a bearer-token caller; account tokens have none (401, as on Discord).
fn grant(caller: &Caller) -> Result<OAuthGrant, ApiError> {
    caller.oauth.ok_or(ApiError::Unauthorized)
}

/// `GET /oauth2/@me`: the application, the scopes, the expiry, and (with `identify`) the user.
pub async fn me(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let g = grant(&caller)?;
    let a = app
        .store()
        .get_application(g.application)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let mut application = application_json(&app, &a).await?;
    if let Some(obj) = application.as_object_mut() {
        // A third party sees the application, not who is on its team.
        obj.remove("team");
    }
    let mut v = json!({
        "application": application,
        "scopes": g.scopes.names(),
        "expires": g.expires_at,
    });
    if g.scopes.contains(OAuthScopes::IDENTIFY) {
        v["user"] = json!(app.services.users.public(caller.user_id).await?);
    }
    Ok(Json(v))
}

/// OpenID Connect's standard claims, as Discord's `GET /oauth2/userinfo` returns them.
#[derive(Debug, Serialize)]
pub struct UserInfo {
    sub: String,
    preferred_username: String,
    nickname: Option<String>,
    picture: String,
    locale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

/// `GET /oauth2/userinfo` (needs `identify`; `email` adds the address and whether it is
/// verified).
pub async fn userinfo(State(app): State<App>, caller: Caller) -> Result<Json<UserInfo>, ApiError> {
    let g = grant(&caller)?;
    let user = app
        .services
        .users
        .get(caller.user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let email = g.scopes.contains(OAuthScopes::EMAIL);
    // Discord's picture is always a URL: the avatar, or the default one of the new username
    // system (index `(id >> 22) % 6`).
    let cdn = app.cdn_endpoint();
    let picture = match &user.avatar {
        Some(hash) => format!("{cdn}/avatars/{}/{hash}.png", user.id),
        None => format!("{cdn}/embed/avatars/{}.png", (user.id.get() >> 22) % 6),
    };
    Ok(Json(UserInfo {
        sub: user.id.to_string(),
        preferred_username: user.username.clone(),
        nickname: user.global_name.clone(),
        picture,
        locale: user.locale.clone(),
        email: email.then(|| user.email.clone()).flatten(),
        email_verified: email.then_some(user.verified),
    }))
}

/// `GET /oauth2/keys`: the JSON Web Key Set id_tokens would be checked with. The `openid` scope
/// is not granted here (authorizing it fails with an invalid-scope error), so no id_token is ever
/// signed and the honest set is empty.
pub async fn keys() -> Json<Value> {
    Json(json!({"keys": []}))
}
