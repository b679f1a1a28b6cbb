//! Every REST route, one module per URL prefix (`channels/messages.rs` serves
//! `/channels/{id}/messages`).

pub mod admin;
pub mod applications;
pub mod auth;
pub mod channels;
pub mod connections;
pub mod gateway;
pub mod guilds;
pub mod interactions;
pub mod invites;
pub mod oauth2;
pub mod policies;
pub mod science;
pub mod soundboard;
pub mod stage_instances;
pub mod stickers;
pub mod teams;
pub mod users;
pub mod voice;
pub mod webhooks;

use axum::Router;

use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(auth::routes())
        .merge(applications::routes())
        .merge(oauth2::routes())
        .merge(teams::routes())
        .merge(connections::routes())
        .merge(users::routes())
        .merge(webhooks::routes())
        .merge(interactions::routes())
        .merge(guilds::routes())
        .merge(channels::routes())
        .merge(invites::routes())
        .merge(stickers::routes())
        .merge(gateway::routes())
        .merge(policies::routes())
        .merge(science::routes())
        .merge(voice::routes())
        .merge(stage_instances::routes())
        .merge(soundboard::routes())
        .merge(admin::routes())
        .route(
            "/openapi.json",
            axum::routing::get(super::openapi::document),
        )
}
