//! `/users/@me/settings`: the user's client settings (theme, locale, status, custom status…),
//! owned by the user actor; a change reaches every session as USER_SETTINGS_UPDATE.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value};

use crate::actors::ask;
use crate::actors::user::UserMsg;
use crate::api::extract::Json;
use crate::api::extract::UserAccount;
use crate::app::App;
use crate::error::ApiError;

pub fn routes() -> Router<App> {
    Router::new().route("/users/@me/settings", get(settings).patch(update))
}

/// `GET /users/@me/settings`
async fn settings(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    Ok(Json(ask(&app.services, &actor, UserMsg::Settings).await?))
}

/// `PATCH /users/@me/settings`: any subset of the settings object; unknown keys are ignored.
async fn update(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| UserMsg::UpdateSettings {
            patch,
            reply,
        })
        .await?,
    ))
}
