//! `/users/@me/library` and `/users/@me/entitlements`: the games and SKUs a user owns, which
//! Discord's client loads at start-up. Accord has no store, so a user owns nothing (Spacebar
//! answers the same).

use axum::Router;
use axum::routing::get;

use crate::api::extract::{Json, UserAccount};

pub fn routes() -> Router<crate::app::App> {
    Router::new()
        .route("/users/@me/library", get(library))
        .route("/users/@me/entitlements", get(entitlements))
}

/// `GET /users/@me/library`: no library applications.
async fn library(UserAccount(_caller): UserAccount) -> Json<Vec<serde_json::Value>> {
    Json(Vec::new())
}

/// `GET /users/@me/entitlements`: no entitlements.
async fn entitlements(UserAccount(_caller): UserAccount) -> Json<Vec<serde_json::Value>> {
    Json(Vec::new())
}
