//! What Discord's client reports and asks about itself: analytics (`POST /science`,
//! `POST /track`) and A/B experiment assignments (`GET /experiments`). Accord collects no
//! analytics — the events are accepted and dropped, so the client does not retry them — and
//! runs no experiments (empty assignments, as Spacebar answers).

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;

use crate::api::extract::Json;

pub fn routes() -> Router<crate::app::App> {
    Router::new()
        .route("/science", post(science))
        .route("/track", post(science))
        .route("/experiments", get(experiments))
}

/// `POST /science`, `POST /track`: 204, the body is not read (it is never stored).
async fn science() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// `GET /experiments`'s body: the client's experiment fingerprint and assignments.
#[derive(Debug, Default, Serialize)]
pub struct Experiments {
    pub fingerprint: String,
    pub assignments: Vec<serde_json::Value>,
    pub guild_experiments: Vec<serde_json::Value>,
}

/// `GET /experiments`: no experiments (with or without a token: the login screen asks too).
async fn experiments() -> Json<Experiments> {
    Json(Experiments::default())
}
