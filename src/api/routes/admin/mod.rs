//! `/admin/*`: instance administration (admins only).

pub mod audit;
pub mod config;
pub mod guilds;
pub mod health;
pub mod users;

use axum::Router;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(config::routes())
        .merge(audit::routes())
        .merge(health::routes())
        .merge(users::routes())
        .merge(guilds::routes())
}

pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.admin {
        Ok(())
    } else {
        Err(ApiError::coded(
            axum::http::StatusCode::FORBIDDEN,
            50013,
            "admin-required",
        ))
    }
}
