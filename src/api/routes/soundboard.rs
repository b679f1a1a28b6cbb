//! `/soundboard-default-sounds`: Discord's default soundboard sounds, which every guild may
//! play (no files: Accord carries no audio).

use axum::Router;
use axum::routing::get;
use serde_json::Value;

use crate::api::extract::Json;
use crate::app::App;
use crate::auth::Caller;

pub fn routes() -> Router<App> {
    Router::new().route("/soundboard-default-sounds", get(defaults))
}

/// `GET /soundboard-default-sounds` (any token).
async fn defaults(_caller: Caller) -> Json<Value> {
    Json(crate::model::soundboard::default_sounds())
}
