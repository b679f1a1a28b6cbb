//! `/users/@me/connections`: the user's connected accounts, owned by the user actor; every change
//! reaches the user's sessions as USER_CONNECTIONS_UPDATE. Linking one goes through
//! `/connections/{type}/authorize` and `…/callback` (`routes/connections.rs`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::user::{ConnectionPatch, UserMsg};
use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::error::ApiError;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/users/@me/connections", get(list))
        .route(
            "/users/@me/connections/{connection_type}/{connection_id}",
            axum::routing::patch(update).delete(remove),
        )
}

/// `GET /users/@me/connections`: every connected account, with its visibility settings (never
/// the provider's token).
async fn list(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    Ok(Json(
        ask(&app.services, &actor, UserMsg::Connections).await?,
    ))
}

/// `PATCH /users/@me/connections/{type}/{id}`: `visibility` (0/1: shown on the profile),
/// `show_activity`, `friend_sync`. Returns the connection.
async fn update(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((kind, id)): Path<(String, String)>,
    Json(patch): Json<ConnectionPatch>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| UserMsg::UpdateConnection {
            kind,
            id,
            patch,
            reply,
        })
        .await?,
    ))
}

/// `DELETE /users/@me/connections/{type}/{id}`: unlinks the account (the server forgets its
/// token too).
async fn remove(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((kind, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    ask(&app.services, &actor, |reply| UserMsg::RemoveConnection {
        kind,
        id,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
