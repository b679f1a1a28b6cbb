//! `/voice/regions`: the voice regions of this instance, the same list every guild's
//! `/guilds/{id}/regions` answers (there is one voice "region": the instance itself).

use axum::Router;
use axum::routing::get;
use serde_json::Value;

use crate::api::extract::Json;
use crate::api::routes::guilds::regions::voice_regions;
use crate::app::App;
use crate::auth::Caller;

pub fn routes() -> Router<App> {
    Router::new().route("/voice/regions", get(regions))
}

/// `GET /voice/regions` (any token).
async fn regions(_caller: Caller) -> Json<Value> {
    Json(voice_regions())
}
