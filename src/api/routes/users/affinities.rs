//! `/users/@me/affinities/*`: Discord's ranking of the users and guilds a user interacts with
//! most, which its client asks for at start-up (quick switcher, suggestions). Accord keeps no
//! interaction statistics, so both lists are empty — what Spacebar's server answers too, and a
//! shape the client accepts.

use axum::Router;
use axum::routing::get;
use serde::Serialize;

use crate::api::extract::{Json, UserAccount};

pub fn routes() -> Router<crate::app::App> {
    Router::new()
        .route("/users/@me/affinities/users", get(users))
        .route("/users/@me/affinities/guilds", get(guilds))
}

/// `GET /users/@me/affinities/users`'s body.
#[derive(Debug, Default, Serialize)]
pub struct UserAffinities {
    pub user_affinities: Vec<serde_json::Value>,
    pub inverse_user_affinities: Vec<serde_json::Value>,
}

/// `GET /users/@me/affinities/guilds`'s body.
#[derive(Debug, Default, Serialize)]
pub struct GuildAffinities {
    pub guild_affinities: Vec<serde_json::Value>,
}

/// `GET /users/@me/affinities/users`: no affinities are recorded.
async fn users(UserAccount(_caller): UserAccount) -> Json<UserAffinities> {
    Json(UserAffinities::default())
}

/// `GET /users/@me/affinities/guilds`: no affinities are recorded.
async fn guilds(UserAccount(_caller): UserAccount) -> Json<GuildAffinities> {
    Json(GuildAffinities::default())
}
